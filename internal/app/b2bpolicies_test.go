package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/b2b"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

const (
	b2bPolicies = "/v1.0/policies/b2bManagementPolicies"
	emailOTP    = "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/email"
	flows       = "/v1.0/policies/authenticationFlowsPolicy"
)

// settings reads a tenant's external collaboration settings as the invite
// decision does.
func (e *env) settings(t *testing.T, a tenant) b2b.Settings {
	t.Helper()
	var s b2b.Settings
	err := e.app.Directory().View(context.Background(), func(tx store.Tx) error {
		var err error
		s, err = b2b.ReadSettings(context.Background(), tx, a.id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func definition(lists string, extra string) map[string]any {
	return map[string]any{"definition": []any{`{"B2BManagementPolicy":{"InvitationsAllowedAndBlockedDomainsPolicy":` + lists + extra + `}}`}}
}

func TestB2BManagementPolicy(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		if got := e.mustCall(200, "GET", b2bPolicies, a.token, nil).values(); len(got) != 0 {
			t.Fatalf("a new tenant has policies: %v", got)
		}
		if s := e.settings(t, a); len(s.AllowedDomains)+len(s.BlockedDomains) != 0 {
			t.Fatalf("a new tenant restricts domains: %+v", s)
		}

		// The seed's block list: adatum.example, written any case; a key
		// Gatehouse does not know survives.
		body := definition(`{"AllowedDomains":[],"BlockedDomains":["ADATUM.example","gmail.example","adatum.example"]}`,
			`,"PreviewPolicy":{"Features":["OneTimePasscode"]}`)
		body["displayName"] = "B2BManagementPolicy"
		created := e.mustCall(201, "POST", b2bPolicies, a.token, body)
		id := created.body["id"].(string)
		if created.header.Get("Location") == "" || created.body["isOrganizationDefault"] != true {
			t.Errorf("created: %v %s", created.header, created.raw)
		}
		def := created.body["definition"].([]any)[0].(string)
		if !strings.Contains(def, `"BlockedDomains":["adatum.example","gmail.example"]`) || !strings.Contains(def, `"PreviewPolicy":{"Features":["OneTimePasscode"]}`) {
			t.Errorf("definition stored as %s", def)
		}
		s := e.settings(t, a)
		if strings.Join(s.BlockedDomains, ",") != "adatum.example,gmail.example" || len(s.AllowedDomains) != 0 {
			t.Errorf("settings read %+v", s)
		}
		if d := b2b.CanInvite(s, b2b.Inviter{App: true}, "megan@adatum.example"); d.Allowed {
			t.Errorf("an Adatum user may be invited: %+v", d)
		}

		// One per tenant, also when two are created at once.
		r := e.call("POST", b2bPolicies, a.token, definition(`{"BlockedDomains":["x.example"]}`, ""))
		if r.status != 409 || r.errorCode() != "Request_MultipleObjectsWithSameKeyValue" {
			t.Errorf("second policy: %d %s", r.status, r.raw)
		}
		e.mustCall(200, "GET", b2bPolicies+"/"+id, a.token, nil)

		// Refused definitions leave the policy as it was.
		for name, bad := range map[string]map[string]any{
			"both lists":        definition(`{"AllowedDomains":["fabrikam.example"],"BlockedDomains":["adatum.example"]}`, ""),
			"wildcard":          definition(`{"BlockedDomains":["*.adatum.example"]}`, ""),
			"not a domain":      definition(`{"BlockedDomains":["adatum"]}`, ""),
			"list of numbers":   definition(`{"BlockedDomains":[1]}`, ""),
			"not JSON":          {"definition": []any{`{"B2BManagementPolicy":`}},
			"no policy object":  {"definition": []any{`{"Other":{}}`}},
			"two strings":       {"definition": []any{`{"B2BManagementPolicy":{}}`, `{}`}},
			"too long":          definition(`{"BlockedDomains":["`+strings.Repeat("a", 25000)+`.example"]}`, ""),
			"unknown property":  {"colour": "red"},
			"read-only id":      {"id": id},
			"wrong odata.type":  {"@odata.type": "#microsoft.graph.tokenLifetimePolicy"},
			"empty displayName": {"displayName": " "},
		} {
			if r := e.call("PATCH", b2bPolicies+"/"+id, a.token, bad); r.status != 400 {
				t.Errorf("%s: %d %s", name, r.status, r.raw)
			}
		}
		if s := e.settings(t, a); len(s.BlockedDomains) != 2 {
			t.Errorf("a refused change changed the policy: %+v", s)
		}

		// Switching to an allow list replaces the definition.
		patch := definition(`{"AllowedDomains":["Fabrikam.example"]}`, "")
		patch["@odata.type"] = "microsoft.graph.b2bManagementPolicy"
		e.mustCall(204, "PATCH", b2bPolicies+"/"+id, a.token, patch)
		s = e.settings(t, a)
		if strings.Join(s.AllowedDomains, ",") != "fabrikam.example" || len(s.BlockedDomains) != 0 {
			t.Errorf("after the switch: %+v", s)
		}

		// Every change is "… policy" on B2BManagementPolicy.
		recs := e.audits(t, a.token, "directoryAudits", "category eq 'Policy'")
		got := strings.Join(activities(recs), "|")
		if !strings.HasPrefix(got, "Update policy|Add policy") {
			t.Errorf("policy records: %s", got)
		}
		raw, _ := json.Marshal(recs[0]["targetResources"])
		if !strings.Contains(string(raw), `"displayName":"B2BManagementPolicy"`) || !strings.Contains(string(raw), "fabrikam.example") {
			t.Errorf("update record names %s", raw)
		}

		e.mustCall(204, "DELETE", b2bPolicies+"/"+id, a.token, nil)
		if r := e.call("GET", b2bPolicies+"/"+id, a.token, nil); r.status != 404 {
			t.Errorf("deleted policy: %d", r.status)
		}
		if got := activities(e.audits(t, a.token, "directoryAudits", "category eq 'Policy'")); got[0] != "Delete policy" {
			t.Errorf("deletion recorded as %v", got)
		}
		// Deleted, it may be made again; at once, only one is.
		var wg sync.WaitGroup
		statuses := make(chan int, 8)
		for range 8 {
			wg.Go(func() {
				statuses <- e.call("POST", b2bPolicies, a.token, definition(`{"BlockedDomains":["adatum.example"]}`, "")).status
			})
		}
		wg.Wait()
		close(statuses)
		made := 0
		for st := range statuses {
			if st == 201 {
				made++
			} else if st != 409 {
				t.Errorf("concurrent creation: %d", st)
			}
		}
		if n := len(e.mustCall(200, "GET", b2bPolicies, a.token, nil).values()); made != 1 || n != 1 {
			t.Errorf("%d created, %d listed", made, n)
		}

		// Tenants do not see each other's.
		b := e.tenant("Fabrikam", "fabrikam.example")
		if got := e.mustCall(200, "GET", b2bPolicies, b.token, nil).values(); len(got) != 0 {
			t.Errorf("Fabrikam sees %v", got)
		}
		if r := e.call("DELETE", b2bPolicies+"/"+id, b.token, nil); r.status != 404 {
			t.Errorf("Fabrikam deletes Contoso's policy: %d", r.status)
		}
	})
}

func TestEmailOTPAndSelfServiceSignUpSettings(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		admin := e.mustCall(200, "GET", "/v1.0/users/"+a.created.Admin.UserPrincipalName, a.token, nil).body["id"].(string)
		got := e.mustCall(200, "GET", emailOTP, a.token, nil).body
		if got["id"] != "Email" || got["state"] != "enabled" || got["allowExternalIdToUseEmailOtp"] != "default" {
			t.Errorf("default email method: %v", got)
		}
		if !e.settings(t, a).EmailOTP {
			t.Error("guests cannot use email passcodes by default")
		}
		// Docs' bodies carry @odata.type, with or without '#'.
		for _, typ := range []string{"#microsoft.graph.emailAuthenticationMethodConfiguration", "microsoft.graph.emailAuthenticationMethodConfiguration"} {
			e.mustCall(204, "PATCH", emailOTP, a.token, map[string]any{"@odata.type": typ, "allowExternalIdToUseEmailOtp": "disabled"})
		}
		if e.settings(t, a).EmailOTP {
			t.Error("email passcodes still on for guests")
		}
		e.mustCall(204, "PATCH", emailOTP, a.token, map[string]any{"excludeTargets": []any{map[string]any{"id": admin, "targetType": "user"}}})
		got = e.mustCall(200, "GET", emailOTP, a.token, nil).body
		if got["allowExternalIdToUseEmailOtp"] != "disabled" || len(got["excludeTargets"].([]any)) != 1 {
			t.Errorf("after two changes: %v", got)
		}
		for name, bad := range map[string]map[string]any{
			"unknown state":    {"allowExternalIdToUseEmailOtp": "sometimes"},
			"state":            {"state": "on"},
			"other type":       {"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration", "state": "enabled"},
			"target type":      {"excludeTargets": []any{map[string]any{"id": admin, "targetType": "device"}}},
			"target id":        {"excludeTargets": []any{map[string]any{"id": "all_users", "targetType": "user"}}},
			"unknown property": {"isSoftwareOathEnabled": true},
		} {
			if r := e.call("PATCH", emailOTP, a.token, bad); r.status != 400 {
				t.Errorf("%s: %d %s", name, r.status, r.raw)
			}
		}
		e.mustCall(204, "DELETE", emailOTP, a.token, nil)
		got = e.mustCall(200, "GET", emailOTP, a.token, nil).body
		if got["allowExternalIdToUseEmailOtp"] != "default" || len(got["excludeTargets"].([]any)) != 0 || !e.settings(t, a).EmailOTP {
			t.Errorf("after DELETE: %v", got)
		}
		e.mustCall(204, "PATCH", emailOTP, a.token, map[string]any{"state": "disabled"})

		f := e.mustCall(200, "GET", flows, a.token, nil).body
		if f["id"] != "authenticationFlowsPolicy" || f["selfServiceSignUp"].(map[string]any)["isEnabled"] != false || e.settings(t, a).SelfServiceSignUp {
			t.Errorf("default flows policy: %v", f)
		}
		e.mustCall(204, "PATCH", flows, a.token, map[string]any{"selfServiceSignUp": map[string]any{"isEnabled": true}})
		if !e.settings(t, a).SelfServiceSignUp {
			t.Error("self-service sign-up still off")
		}
		for name, bad := range map[string]map[string]any{
			"read-only name": {"displayName": "Mine"},
			"not a bool":     {"selfServiceSignUp": map[string]any{"isEnabled": "yes"}},
			"no isEnabled":   {"selfServiceSignUp": map[string]any{}},
			"unknown field":  {"selfServiceSignUp": map[string]any{"isEnabled": true, "flows": 1}},
		} {
			if r := e.call("PATCH", flows, a.token, bad); r.status != 400 {
				t.Errorf("%s: %d %s", name, r.status, r.raw)
			}
		}

		recs := e.audits(t, a.token, "directoryAudits", "category eq 'Policy'")
		raw, _ := json.Marshal(recs)
		for _, want := range []string{`"displayName":"Authentication flows policy"`, `"displayName":"Email"`, `"activityDisplayName":"Delete policy"`} {
			if !strings.Contains(string(raw), want) {
				t.Errorf("no record with %s", want)
			}
		}
	})
}

func TestExternalCollaborationPolicyPermissions(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		_, reader := e.appWith(a, "Auditor", "Policy.Read.All")
		_, flowsOnly := e.appWith(a, "Flows", "Policy.ReadWrite.AuthenticationFlows")
		_, methods := e.appWith(a, "Methods", "Policy.ReadWrite.AuthenticationMethod")
		_, appConfig := e.appWith(a, "Config", "Policy.ReadWrite.ApplicationConfiguration")
		for _, path := range []string{b2bPolicies, emailOTP, flows} {
			e.mustCall(200, "GET", path, reader, nil)
		}
		block := definition(`{"BlockedDomains":["adatum.example"]}`, "")
		e.wantDenied(t, "POST", b2bPolicies, reader, block)
		e.wantDenied(t, "POST", b2bPolicies, flowsOnly, block)
		e.wantDenied(t, "PATCH", emailOTP, reader, map[string]any{"state": "disabled"})
		e.wantDenied(t, "PATCH", emailOTP, flowsOnly, map[string]any{"state": "disabled"})
		e.wantDenied(t, "DELETE", emailOTP, reader, nil)
		e.wantDenied(t, "PATCH", flows, methods, map[string]any{"selfServiceSignUp": map[string]any{"isEnabled": true}})
		e.mustCall(201, "POST", b2bPolicies, appConfig, block)
		e.mustCall(204, "PATCH", emailOTP, methods, map[string]any{"state": "disabled"})
		e.mustCall(204, "PATCH", flows, flowsOnly, map[string]any{"selfServiceSignUp": map[string]any{"isEnabled": true}})

		// A signed-in member without an administrator role changes none of them.
		tool := e.delegatedTool(t, a, "Directory.AccessAsUser.All")
		_, upn := e.userWithRoles(a, "mo")
		member := tool.tokenFor(t, upn, "correct horse battery mo")
		e.wantDenied(t, "POST", b2bPolicies, member, block)
		e.wantDenied(t, "PATCH", emailOTP, member, map[string]any{"state": "enabled"})
		e.wantDenied(t, "PATCH", flows, member, map[string]any{"selfServiceSignUp": map[string]any{"isEnabled": false}})
	})
}
