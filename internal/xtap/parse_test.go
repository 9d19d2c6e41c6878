package xtap

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// wantInvalid checks err is a user-safe Invalid error whose message
// contains want.
func wantInvalid(t *testing.T, name string, err error, want string) {
	t.Helper()
	var ue *usererr.Error
	if !errors.As(err, &ue) || ue.Kind != usererr.Invalid {
		t.Errorf("%s: got %v, want a usererr Invalid error", name, err)
		return
	}
	if !strings.Contains(ue.Message, want) {
		t.Errorf("%s: message %q does not contain %q", name, ue.Message, want)
	}
}

func TestPartnerValidation(t *testing.T) {
	const tid = `"tenantId":"` + fabrikam + `"`
	tc := func(users, apps string) string {
		return `{` + tid + `,"b2bCollaborationInbound":{"usersAndGroups":` + users + `,"applications":` + apps + `}}`
	}
	okApps := `{"accessType":"allowed","targets":[{"target":"AllApplications","targetType":"application"}]}`
	okUsers := `{"accessType":"allowed","targets":[{"target":"AllUsers","targetType":"user"}]}`
	for _, c := range []struct{ name, body, want string }{
		{"not an object", `[1]`, "must be a JSON object"},
		{"not JSON", `{"tenantId":`, "not valid JSON"},
		{"no tenantId", `{}`, "Property 'tenantId' is required"},
		{"null tenantId", `{"tenantId":null}`, "Property 'tenantId' is required"},
		{"tenantId not a GUID", `{"tenantId":"fabrikam.example"}`, "is not a valid tenant id"},
		{"tenantId a number", `{"tenantId":5}`, "Property 'tenantId' must be a string"},
		{"unknown property", `{` + tid + `,"blockServiceProviderOutboundAccess":true}`, "Property 'blockServiceProviderOutboundAccess' does not exist on type 'microsoft.graph.crossTenantAccessPolicyConfigurationPartner'"},
		{"unknown nested", `{` + tid + `,"inboundTrust":{"isCompliantNetworkAccepted":true}}`, "'inboundTrust.isCompliantNetworkAccepted' does not exist on type 'microsoft.graph.crossTenantAccessPolicyInboundTrust'"},
		{"trust not boolean", `{` + tid + `,"inboundTrust":{"isMfaAccepted":"yes"}}`, "'inboundTrust.isMfaAccepted' must be true or false"},
		{"empty B2B setting", `{` + tid + `,"b2bCollaborationInbound":{}}`, "must set usersAndGroups, applications or both"},
		{"no accessType", tc(`{"targets":[{"target":"AllUsers","targetType":"user"}]}`, okApps), "'b2bCollaborationInbound.usersAndGroups.accessType' is required"},
		{"bad accessType", tc(`{"accessType":"denied","targets":[{"target":"AllUsers","targetType":"user"}]}`, okApps), "Invalid value 'denied' for property 'b2bCollaborationInbound.usersAndGroups.accessType'"},
		{"unknownFutureValue", tc(`{"accessType":"unknownFutureValue","targets":[{"target":"AllUsers","targetType":"user"}]}`, okApps), "use allowed or blocked"},
		{"no targets", tc(`{"accessType":"allowed"}`, okApps), "must list at least one target (a user, a group or AllUsers)"},
		{"empty targets", tc(okUsers, `{"accessType":"allowed","targets":[]}`), "must list at least one target (an application, AllApplications or Office365)"},
		{"null targets", tc(okUsers, `{"accessType":"allowed","targets":null}`), "cannot be null"},
		{"AllUsers as group", tc(`{"accessType":"allowed","targets":[{"target":"AllUsers","targetType":"group"}]}`, okApps), "target AllUsers goes with targetType user"},
		{"app target among users", tc(`{"accessType":"allowed","targets":[{"target":"AllApplications","targetType":"application"}]}`, okApps), "is an application target"},
		{"Office365 among users", tc(`{"accessType":"allowed","targets":[{"target":"Office365","targetType":"user"}]}`, okApps), "is an application target"},
		{"group among apps", tc(okUsers, `{"accessType":"allowed","targets":[{"target":"`+g1+`","targetType":"group"}]}`), "must have targetType application"},
		{"AllUsers among apps", tc(okUsers, `{"accessType":"allowed","targets":[{"target":"AllUsers","targetType":"application"}]}`), "AllUsers is a user target"},
		{"target not a GUID", tc(`{"accessType":"allowed","targets":[{"target":"g1","targetType":"group"}]}`, okApps), "Invalid value 'g1' for property 'b2bCollaborationInbound.usersAndGroups.targets[0].target'"},
		{"bad targetType", tc(`{"accessType":"allowed","targets":[{"target":"`+u1+`","targetType":"servicePrincipal"}]}`, okApps), "use user, group or application"},
		{"no targetType", tc(`{"accessType":"allowed","targets":[{"target":"`+u1+`"}]}`, okApps), "targets[0].targetType' is required"},
		{"unknown target property", tc(`{"accessType":"allowed","targets":[{"target":"`+u1+`","targetType":"user","displayName":"x"}]}`, okApps), "does not exist on type 'microsoft.graph.crossTenantAccessPolicyTarget'"},
		{"devices without rule", `{` + tid + `,"tenantRestrictions":{"devices":{"mode":"allowed"}}}`, "'tenantRestrictions.devices.rule' is required"},
		{"devices bad mode", `{` + tid + `,"tenantRestrictions":{"devices":{"mode":"include","rule":"x"}}}`, "use allowed or blocked"},
		{"consent not boolean", `{` + tid + `,"automaticUserConsentSettings":{"inboundAllowed":1}}`, "must be true, false or null"},
		{"inline identitySynchronization", `{` + tid + `,"identitySynchronization":{"userSyncInbound":{"isSyncAllowed":true}}}`, "PUT /policies/crossTenantAccessPolicy/partners/{tenantId}/identitySynchronization"},
		{"m365 wrong side", `{` + tid + `,"m365CollaborationInbound":{"usersAndGroups":` + okUsers + `}}`, "does not exist on type 'microsoft.graph.crossTenantAccessPolicyM365CollaborationInboundSetting'"},
	} {
		_, err := ParsePartner([]byte(c.body))
		wantInvalid(t, c.name, err, c.want)
	}
}

func TestPartnerCanonicalForms(t *testing.T) {
	// Enums and keywords are accepted in any case and returned in Graph's;
	// ids are lower-cased; annotations are ignored.
	p := mustPartner(t, `{"@odata.type":"#microsoft.graph.crossTenantAccessPolicyConfigurationPartner",
	  "tenantId":" `+strings.ToUpper(fabrikam)+` ","isInMultiTenantOrganization":true,
	  "b2bCollaborationInbound":{"@odata.type":"microsoft.graph.crossTenantAccessPolicyB2BSetting",
	    "usersAndGroups":{"accessType":"Blocked","targets":[{"target":"allusers","targetType":"USER"},{"target":"`+strings.ToUpper(g1)+`","targetType":"Group"}]},
	    "applications":{"accessType":"ALLOWED","targets":[{"target":"office365","targetType":"Application"}]}}}`)
	if p.TenantID != fabrikam || p.IsInMultiTenantOrganization {
		t.Errorf("tenantId %q, isInMultiTenantOrganization %v (read-only, must be ignored)", p.TenantID, p.IsInMultiTenantOrganization)
	}
	got, _ := json.Marshal(p.B2BCollaborationInbound)
	jsonEqual(t, got, `{"usersAndGroups":{"accessType":"blocked","targets":[{"target":"AllUsers","targetType":"user"},{"target":"`+g1+`","targetType":"group"}]},
	  "applications":{"accessType":"allowed","targets":[{"target":"Office365","targetType":"application"}]}}`)
}

func TestPartnerPatchSemantics(t *testing.T) {
	p := mustPartner(t, `{"tenantId":"`+fabrikam+`","isServiceProvider":true,
	  "inboundTrust":{"isMfaAccepted":true},
	  "b2bCollaborationInbound":{"usersAndGroups":{"accessType":"allowed","targets":[{"target":"`+g1+`","targetType":"group"}]},
	    "applications":{"accessType":"allowed","targets":[{"target":"`+a1+`","targetType":"application"}]}},
	  "automaticUserConsentSettings":{"inboundAllowed":true,"outboundAllowed":true}}`)

	// Absent keeps; a present property replaces the whole top-level
	// property (the applications side is not kept from before).
	q, changed, err := PatchPartner(p, []byte(`{"b2bCollaborationInbound":{"usersAndGroups":{"accessType":"blocked","targets":[{"target":"`+g2+`","targetType":"group"}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(changed, []string{"b2bCollaborationInbound"}) {
		t.Errorf("changed %v", changed)
	}
	if q.B2BCollaborationInbound.Applications != nil || q.B2BCollaborationInbound.UsersAndGroups.Targets[0].Target != g2 {
		t.Errorf("not replaced whole: %+v", q.B2BCollaborationInbound)
	}
	if q.InboundTrust == nil || !q.InboundTrust.IsMfaAccepted || !isTrue(q.IsServiceProvider) {
		t.Error("an absent property changed")
	}
	// The original is untouched.
	if p.B2BCollaborationInbound.Applications == nil {
		t.Error("PatchPartner changed its input")
	}

	// Explicit null resets to inherit; for automaticUserConsentSettings
	// that is both members null.
	q, changed, err = PatchPartner(p, []byte(`{"inboundTrust":null,"b2bCollaborationInbound":null,"automaticUserConsentSettings":null,"isServiceProvider":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 4 || q.InboundTrust != nil || q.B2BCollaborationInbound != nil || q.IsServiceProvider != nil ||
		q.AutomaticUserConsentSettings.InboundAllowed != nil || q.AutomaticUserConsentSettings.OutboundAllowed != nil {
		t.Errorf("null did not reset: %+v", q)
	}
	s := Effective(SystemDefault(), &q)
	if s.B2BCollaborationInbound.From != FromDefault || s.InboundTrust.From != FromDefault || s.AutomaticRedemptionInbound.Value {
		t.Errorf("reset properties do not inherit: %+v", s)
	}

	// The key: repeating it is fine, changing it is not.
	if _, _, err := PatchPartner(p, []byte(`{"tenantId":"`+strings.ToUpper(fabrikam)+`"}`)); err != nil {
		t.Errorf("repeating tenantId: %v", err)
	}
	_, _, err = PatchPartner(p, []byte(`{"tenantId":"`+contoso+`"}`))
	wantInvalid(t, "changing tenantId", err, "cannot be changed")
	// isInMultiTenantOrganization is the service's.
	p.IsInMultiTenantOrganization = true
	q, changed, err = PatchPartner(p, []byte(`{"isInMultiTenantOrganization":false}`))
	if err != nil || !q.IsInMultiTenantOrganization || len(changed) != 0 {
		t.Errorf("isInMultiTenantOrganization: %v %v %v", q.IsInMultiTenantOrganization, changed, err)
	}
	// A bad property anywhere leaves nothing applied.
	_, _, err = PatchPartner(p, []byte(`{"inboundTrust":null,"nonsense":1}`))
	wantInvalid(t, "unknown property in PATCH", err, "'nonsense' does not exist")
}

func TestDefaultPatchSemantics(t *testing.T) {
	d := mustDefault(t, `{"b2bCollaborationInbound":`+blockAll+`,"inboundTrust":{"isMfaAccepted":true}}`)
	if d.IsServiceDefault {
		t.Error("customized default says isServiceDefault")
	}
	// Null puts the system default's value back (the default never has a
	// hole a partner would inherit).
	d2, changed, err := PatchDefault(d, []byte(`{"b2bCollaborationInbound":null,"inboundTrust":null}`))
	if err != nil || len(changed) != 2 {
		t.Fatal(changed, err)
	}
	sys := SystemDefault()
	a, _ := json.Marshal(d2.B2BCollaborationInbound)
	b, _ := json.Marshal(sys.B2BCollaborationInbound)
	if string(a) != string(b) || d2.InboundTrust.IsMfaAccepted {
		t.Errorf("null did not restore the system default: %s", a)
	}
	// Read-only: id and isServiceDefault ignored; automatic consent false
	// accepted and ignored, true refused.
	d3, changed, err := PatchDefault(d, []byte(`{"id":"x","isServiceDefault":true,"automaticUserConsentSettings":{"inboundAllowed":false,"outboundAllowed":null}}`))
	if err != nil || len(changed) != 0 || d3.IsServiceDefault {
		t.Errorf("read-only properties: %v %v %v", changed, err, d3.IsServiceDefault)
	}
	_, _, err = PatchDefault(d, []byte(`{"automaticUserConsentSettings":{"inboundAllowed":true}}`))
	wantInvalid(t, "automatic consent on the default", err, "enable automatic redemption on a partner configuration instead")
	_, _, err = PatchDefault(d, []byte(`{"tenantId":"`+fabrikam+`"}`))
	wantInvalid(t, "partner property on the default", err, "does not exist on type 'microsoft.graph.crossTenantAccessPolicyConfigurationDefault'")
	_, _, err = PatchDefault(d, []byte(`{"invitationRedemptionIdentityProviderConfiguration":{"primaryIdentityProviderPrecedenceOrder":["azureActiveDirectory"]}}`))
	wantInvalid(t, "no fallback", err, "fallbackIdentityProvider' is required")
	_, _, err = PatchDefault(d, []byte(`{"invitationRedemptionIdentityProviderConfiguration":{"primaryIdentityProviderPrecedenceOrder":["emailOneTimePasscode"],"fallbackIdentityProvider":"defaultConfiguredIdp"}}`))
	wantInvalid(t, "fallback as primary", err, "use azureActiveDirectory, externalFederation or socialIdentityProviders")
	_, _, err = PatchDefault(d, []byte(`{"invitationRedemptionIdentityProviderConfiguration":{"primaryIdentityProviderPrecedenceOrder":["azureActiveDirectory","AzureActiveDirectory"],"fallbackIdentityProvider":"defaultConfiguredIdp"}}`))
	wantInvalid(t, "duplicate primary", err, "lists azureActiveDirectory twice")

	// An empty PATCH changes nothing, so a service default stays one.
	d4, changed, err := PatchDefault(SystemDefault(), []byte(`{}`))
	if err != nil || len(changed) != 0 || !d4.IsServiceDefault {
		t.Errorf("empty PATCH: %v %v %v", changed, err, d4.IsServiceDefault)
	}
	// A stored default missing a property reads as the system default's.
	var stored Default
	if err := json.Unmarshal([]byte(`{"isServiceDefault":false,"b2bCollaborationInbound":`+blockAll+`}`), &stored); err != nil {
		t.Fatal(err)
	}
	s := Effective(stored, nil)
	if s.B2BCollaborationOutbound.Value.UsersAndGroups.AccessType != Allowed || s.B2BDirectConnectInbound.Value.UsersAndGroups.AccessType != Blocked {
		t.Errorf("holes not filled from the system default: %+v", s)
	}
}

func TestPolicyPatchValidation(t *testing.T) {
	p, changed, err := PatchPolicy(SystemPolicy(), []byte(`{"id":"other","displayName":"mine","allowedCloudEndpoints":["gatehouse.example.org"]}`))
	if err != nil || !slices.Equal(changed, []string{"allowedCloudEndpoints"}) || p.ID != PolicyID || p.DisplayName != PolicyDisplayName {
		t.Errorf("%+v %v %v", p, changed, err)
	}
	for _, c := range []struct{ name, body, want string }{
		{"null", `{"allowedCloudEndpoints":null}`, "cannot be null"},
		{"not a host", `{"allowedCloudEndpoints":["https://gatehouse.example.org/"]}`, "use the host name of the other deployment"},
		{"single label", `{"allowedCloudEndpoints":["localhost"]}`, "use the host name"},
		{"twice", `{"allowedCloudEndpoints":["a.example","A.example"]}`, "lists a.example twice"},
		{"unknown", `{"partners":[]}`, "does not exist on type 'microsoft.graph.crossTenantAccessPolicy'"},
	} {
		_, _, err := PatchPolicy(SystemPolicy(), []byte(c.body))
		wantInvalid(t, c.name, err, c.want)
	}
}

func TestIdentitySyncValidation(t *testing.T) {
	_, err := ParseIdentitySync(fabrikam, []byte(`{"tenantId":"`+contoso+`","userSyncInbound":{"isSyncAllowed":true}}`))
	wantInvalid(t, "other tenantId", err, "must be the partner's tenant id")
	if _, err := ParseIdentitySync(fabrikam, []byte(`{"tenantId":"`+fabrikam+`","userSyncInbound":{"isSyncAllowed":true}}`)); err != nil {
		t.Errorf("same tenantId: %v", err)
	}
	_, err = ParseIdentitySync(fabrikam, []byte(`{"userSyncInbound":{"isSyncAllowed":"true"}}`))
	wantInvalid(t, "string boolean", err, "must be true or false")
	_, err = ParseIdentitySync(fabrikam, []byte(`{"userSyncInbound":{"isSyncAllowed":true,"x":1}}`))
	wantInvalid(t, "unknown", err, "microsoft.graph.crossTenantUserSyncInbound")
}

func TestTenantIDAndAccessType(t *testing.T) {
	if id, err := TenantID(strings.ToUpper(fabrikam)); err != nil || id != fabrikam {
		t.Errorf("TenantID: %q %v", id, err)
	}
	_, err := TenantID("{" + fabrikam + "}")
	wantInvalid(t, "braced GUID", err, "not a valid tenant id")
	if a, err := ParseAccessType("B2BDirectConnect"); err != nil || a != B2BDirectConnect {
		t.Errorf("ParseAccessType: %q %v", a, err)
	}
	_, err = ParseAccessType("b2b")
	wantInvalid(t, "access type", err, "use b2bCollaboration or b2bDirectConnect")
}

func TestParseWhatIf(t *testing.T) {
	w, err := ParseWhatIf([]byte(`{"accessType":"B2BCollaboration","homeTenantId":"` + strings.ToUpper(fabrikam) + `","userId":"` + u1 + `","appId":"` + a1 + `"}`))
	if err != nil || w != (WhatIf{AccessType: B2BCollaboration, HomeTenantID: fabrikam, UserID: u1, AppID: a1}) {
		t.Errorf("%+v %v", w, err)
	}
	w, err = ParseWhatIf([]byte(`{"accessType":"b2bDirectConnect","invitedUserEmailAddress":"bob@fabrikam.example"}`))
	if err != nil || w.InvitedUserEmailAddress != "bob@fabrikam.example" || w.HomeTenantID != "" {
		t.Errorf("%+v %v", w, err)
	}
	for _, c := range []struct{ name, body, want string }{
		{"no access type", `{"homeTenantId":"` + fabrikam + `","userId":"` + u1 + `"}`, "'accessType' is required"},
		{"bad access type", `{"accessType":"guest","homeTenantId":"` + fabrikam + `","userId":"` + u1 + `"}`, "use b2bCollaboration or b2bDirectConnect"},
		{"nobody", `{"accessType":"b2bCollaboration","homeTenantId":"` + fabrikam + `"}`, "Give either 'userId'"},
		{"both", `{"accessType":"b2bCollaboration","homeTenantId":"` + fabrikam + `","userId":"` + u1 + `","invitedUserEmailAddress":"a@b.example"}`, "not both"},
		{"user without tenant", `{"accessType":"b2bCollaboration","userId":"` + u1 + `"}`, "'homeTenantId' is required"},
		{"user not a GUID", `{"accessType":"b2bCollaboration","homeTenantId":"` + fabrikam + `","userId":"bob"}`, "object id (a GUID)"},
		{"app not a GUID", `{"accessType":"b2bCollaboration","homeTenantId":"` + fabrikam + `","userId":"` + u1 + `","appId":"portal"}`, "appId (a GUID)"},
		{"not an address", `{"accessType":"b2bCollaboration","invitedUserEmailAddress":"bob"}`, "use an email address"},
		{"unknown", `{"accessType":"b2bCollaboration","userPrincipalName":"x"}`, "not one the evaluate request takes"},
		{"number", `{"accessType":1}`, "must be a string"},
	} {
		_, err := ParseWhatIf([]byte(c.body))
		wantInvalid(t, c.name, err, c.want)
	}
}
