package app_test

import (
	"net/url"
	"testing"
)

// TestFindTenantInformation: an admin resolves a partner's domain or id
// to its tenant before configuring cross-tenant access, with Graph's
// functions; the lookup needs CrossTenantInformation.ReadBasic.All and
// tells nothing beyond the tenant's id, name and default domain.
func TestFindTenantInformation(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		contoso := e.tenant("Contoso", "contoso.example")
		fabrikam := e.tenant("Fabrikam", "fabrikam.example")
		fn := func(name, param, value string) string {
			return "/v1.0/tenantRelationships/" + url.PathEscape(name+"("+param+"='"+value+"')")
		}
		_, reader := e.appWith(contoso, "partner lookup", "CrossTenantInformation.ReadBasic.All")
		for _, path := range []string{
			fn("findTenantInformationByDomainName", "domainName", "FABRIKAM.example"),
			fn("findTenantInformationByTenantId", "tenantId", fabrikam.id),
		} {
			got := e.mustCall(200, "GET", path, reader, nil).body
			if got["tenantId"] != fabrikam.id || got["displayName"] != "Fabrikam" || got["defaultDomainName"] != "fabrikam.example" ||
				got["federationBrandName"] != nil || got["@odata.context"] != e.public+"/v1.0/$metadata#microsoft.graph.tenantInformation" || len(got) != 5 {
				t.Errorf("%s: %v", path, got)
			}
		}
		// A domain Fabrikam added but did not verify tells nothing.
		e.mustCall(201, "POST", "/v1.0/domains", fabrikam.token, map[string]any{"id": "unproven.example"})
		for _, c := range []struct{ path, code string }{
			{fn("findTenantInformationByDomainName", "domainName", "unproven.example"), "Request_ResourceNotFound"},
			{fn("findTenantInformationByDomainName", "domainName", "nowhere.example"), "Request_ResourceNotFound"},
			{fn("findTenantInformationByDomainName", "domainName", "o''brien.example"), "Request_ResourceNotFound"},
			{fn("findTenantInformationByTenantId", "tenantId", "6babcaad-604b-40ac-a9d7-9fd97c0b779f"), "Request_ResourceNotFound"},
			{fn("findTenantInformationByTenantId", "domainName", "fabrikam.example"), "Request_ResourceNotFound"},
			{"/v1.0/tenantRelationships/findTenantInformationByDomainName", "Request_ResourceNotFound"},
		} {
			if r := e.call("GET", c.path, reader, nil); r.status != 404 || r.errorCode() != c.code {
				t.Errorf("%s: %d %s", c.path, r.status, r.raw)
			}
		}
		if r := e.call("GET", fn("findTenantInformationByTenantId", "tenantId", "not-a-guid"), reader, nil); r.status != 400 {
			t.Errorf("a tenant id that is no GUID: %d %s", r.status, r.raw)
		}
		// Another app of the tenant, without the permission.
		_, other := e.appWith(contoso, "no lookup", "User.Read.All")
		if r := e.call("GET", fn("findTenantInformationByDomainName", "domainName", "fabrikam.example"), other, nil); r.status != 403 {
			t.Errorf("without CrossTenantInformation.ReadBasic.All: %d %s", r.status, r.raw)
		}
	})
}

// TestCrossTenantAccessAPI: the settings' Graph surface from each seat:
// Policy.Read.All reads and cannot write, every refusal is Graph's error,
// and the audit log records each change.
func TestCrossTenantAccessAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		contoso, fabrikam := e.tenant("Contoso", "contoso.example"), e.tenant("Fabrikam", "fabrikam.example")
		const base = "/v1.0/policies/crossTenantAccessPolicy"
		def := e.mustCall(200, "GET", base+"/default", contoso.token, nil).body
		if def["isServiceDefault"] != true || def["@odata.context"] != e.public+"/v1.0/$metadata#policies/crossTenantAccessPolicy/default/$entity" {
			t.Fatalf("default: %v", def)
		}
		_, reader := e.appWith(contoso, "policy reader", "Policy.Read.All")
		e.mustCall(200, "GET", base+"/partners", reader, nil)
		for _, w := range []struct{ method, path string }{{"PATCH", base + "/default"}, {"POST", base + "/partners"}, {"POST", base + "/default/resetToSystemDefault"}} {
			if r := e.call(w.method, w.path, reader, map[string]any{"tenantId": fabrikam.id}); r.status != 403 {
				t.Errorf("%s %s with Policy.Read.All: %d %s", w.method, w.path, r.status, r.raw)
			}
		}
		_, nobody := e.appWith(contoso, "no policy", "User.Read.All")
		if r := e.call("GET", base+"/default", nobody, nil); r.status != 403 {
			t.Errorf("reading without Policy.Read.All: %d", r.status)
		}

		e.partner(contoso, fabrikam.id, map[string]any{"inboundTrust": map[string]any{"isMfaAccepted": true}})
		for _, c := range []struct {
			method, path string
			body         any
			status       int
		}{
			{"POST", base + "/partners", map[string]any{"tenantId": fabrikam.id}, 409},
			{"POST", base + "/partners", map[string]any{"tenantId": contoso.id}, 400},
			{"POST", base + "/partners", map[string]any{"tenantId": "not-a-guid"}, 400},
			{"POST", base + "/partners", map[string]any{"tenantId": fabrikam.id, "b2bCollaborationInbound": map[string]any{"usersAndGroups": map[string]any{"accessType": "sometimes"}}}, 400},
			{"PATCH", base + "/partners/" + fabrikam.id, map[string]any{"noSuchProperty": true}, 400},
			{"PATCH", base + "/partners/6babcaad-604b-40ac-a9d7-9fd97c0b779f", map[string]any{"isServiceProvider": true}, 404},
			{"GET", base + "/partners?$top=1", nil, 400},
			{"GET", base + "/partners/$count", nil, 400},
			{"PATCH", base + "/partners/" + fabrikam.id + "/identitySynchronization", map[string]any{"displayName": "x"}, 404},
			{"PATCH", base + "/default", map[string]any{"automaticUserConsentSettings": map[string]any{"inboundAllowed": true}}, 400},
			{"POST", base + "/evaluate", map[string]any{"accessType": "b2bCollaboration", "homeTenantId": fabrikam.id, "userId": "6babcaad-604b-40ac-a9d7-9fd97c0b779f"}, 404},
			{"POST", base + "/evaluate", map[string]any{"accessType": "sideways", "homeTenantId": fabrikam.id}, 400},
		} {
			if r := e.call(c.method, c.path, contoso.token, c.body); r.status != c.status || r.errorCode() == "" {
				t.Errorf("%s %s %v: %d %s, want %d", c.method, c.path, c.body, r.status, r.raw, c.status)
			}
		}
		// $select, as Graph documents it on partners.
		sel := e.mustCall(200, "GET", base+"/partners?$select=tenantId,inboundTrust", contoso.token, nil)
		if vs := sel.values(); len(vs) != 1 || len(vs[0]) != 2 || vs[0]["tenantId"] != fabrikam.id || vs[0]["inboundTrust"].(map[string]any)["isMfaAccepted"] != true {
			t.Errorf("partners with $select: %s", sel.raw)
		}
		if one := e.mustCall(200, "GET", base+"/partners/"+fabrikam.id+"?$select=tenantId", contoso.token, nil).body; len(one) != 2 || one["tenantId"] != fabrikam.id {
			t.Errorf("a partner with $select: %v", one)
		}
		if r := e.call("GET", base+"/partners?$select=nope", contoso.token, nil); r.status != 400 {
			t.Errorf("$select of no property: %d %s", r.status, r.raw)
		}
		// A partner with an identity synchronization policy is deleted
		// after it, as Graph requires.
		sync := base + "/partners/" + fabrikam.id + "/identitySynchronization"
		e.mustCall(204, "PUT", sync, contoso.token, map[string]any{"displayName": "Fabrikam", "userSyncInbound": map[string]any{"isSyncAllowed": true}})
		if r := e.call("PUT", sync, contoso.token, map[string]any{"userSyncInbound": map[string]any{"isSyncAllowed": true}}); r.status != 409 {
			t.Errorf("a second PUT of identitySynchronization: %d %s", r.status, r.raw)
		}
		got := e.mustCall(200, "GET", base+"/partners/"+fabrikam.id+"?$expand=identitySynchronization", contoso.token, nil).body
		if s, _ := got["identitySynchronization"].(map[string]any); s["displayName"] != "Fabrikam" {
			t.Errorf("expanded partner: %v", got)
		}
		if r := e.call("DELETE", base+"/partners/"+fabrikam.id, contoso.token, nil); r.status != 400 {
			t.Errorf("deleting a partner with identity synchronization: %d %s", r.status, r.raw)
		}
		e.mustCall(204, "DELETE", sync, contoso.token, nil)
		e.mustCall(204, "DELETE", base+"/partners/"+fabrikam.id, contoso.token, nil)
		if r := e.call("GET", base+"/partners/"+fabrikam.id, contoso.token, nil); r.status != 404 {
			t.Errorf("the deleted partner: %d %s", r.status, r.raw)
		}
		// Fabrikam's settings are its own.
		if ps := e.mustCall(200, "GET", base+"/partners", fabrikam.token, nil).values(); len(ps) != 0 {
			t.Errorf("Fabrikam sees partners %v", ps)
		}
		audits := e.mustCall(200, "GET", "/v1.0/auditLogs/directoryAudits?$filter="+url.QueryEscape("category eq 'Policy'"), contoso.token, nil).values()
		if len(audits) < 4 {
			t.Errorf("%d policy audit records for the changes, want at least 4 (add, add, delete, delete)", len(audits))
		}
	})
}
