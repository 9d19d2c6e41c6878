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
