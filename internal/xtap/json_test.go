package xtap

import (
	"encoding/json"
	"testing"
)

// The bodies below are Graph's documented examples (graph-api.md §3.4 and
// the v1.0 API pages), so a change that drifts from Graph's wire form fails
// here.

// §3.4: POST a partner, and the 201 body Graph returns for it.
const (
	section34Request = `{"tenantId":"7b9e2c44-1a3f-4d5e-8c6b-0f1e2d3c4b5a",
 "b2bCollaborationInbound":{
   "usersAndGroups":{"accessType":"allowed","targets":[{"target":"AllUsers","targetType":"user"}]},
   "applications":{"accessType":"allowed","targets":[{"target":"3c8f1a90-5d2e-4b7a-9e61-2f0c4d8b7a15","targetType":"application"}]}},
 "inboundTrust":{"isMfaAccepted":true,"isCompliantDeviceAccepted":false,"isHybridAzureADJoinedDeviceAccepted":false},
 "automaticUserConsentSettings":{"inboundAllowed":true}}`
	section34Response = `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#policies/crossTenantAccessPolicy/partners/$entity",
 "tenantId":"7b9e2c44-1a3f-4d5e-8c6b-0f1e2d3c4b5a","isServiceProvider":null,"isInMultiTenantOrganization":false,
 "inboundTrust":{"isMfaAccepted":true,"isCompliantDeviceAccepted":false,"isHybridAzureADJoinedDeviceAccepted":false},
 "b2bCollaborationInbound":{"usersAndGroups":{"accessType":"allowed","targets":[{"target":"AllUsers","targetType":"user"}]},
   "applications":{"accessType":"allowed","targets":[{"target":"3c8f1a90-5d2e-4b7a-9e61-2f0c4d8b7a15","targetType":"application"}]}},
 "b2bCollaborationOutbound":null,"b2bDirectConnectInbound":null,"b2bDirectConnectOutbound":null,"tenantRestrictions":null,
 "automaticUserConsentSettings":{"inboundAllowed":true,"outboundAllowed":null}}`
)

// withoutContext drops @odata.context, which the Graph surface adds.
func withoutContext(t *testing.T, s string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "@odata.context")
	b, _ := json.Marshal(m)
	return string(b)
}

func TestPartnerCreateMatchesSection34Exactly(t *testing.T) {
	p := mustPartner(t, section34Request)
	got, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, got, withoutContext(t, section34Response))
}

func TestStoredPartnerRoundTrips(t *testing.T) {
	// What the integrator stores is json.Marshal(Partner), read back with
	// json.Unmarshal: it must come back the same, nulls and absences
	// included.
	for _, body := range []string{
		section34Request,
		`{"tenantId":"3d0f5dec-5d3d-455c-8016-e2af1ae4d31a",
		  "b2bDirectConnectOutbound":{"usersAndGroups":{"accessType":"blocked","targets":[{"target":"6f546279-4da5-4b53-a095-09ea0cef9971","targetType":"group"}]}},
		  "b2bDirectConnectInbound":{"applications":{"accessType":"allowed","targets":[{"target":"Office365","targetType":"application"}]}}}`,
		`{"tenantId":"9c5d131d-b1c3-4fc4-9e3f-c6557947d551","isServiceProvider":true,
		  "tenantRestrictions":{"devices":{"mode":"allowed","rule":"device.deviceAttribute2 -eq 'PrivilegedAccessWorkstation'"},
		    "usersAndGroups":{"accessType":"allowed","targets":[{"target":"AllUsers","targetType":"user"}]}},
		  "crossCloudMeetingConfiguration":{"inboundAllowed":null,"outboundAllowed":null},
		  "protectedContentSharing":{"inboundAllowed":true,"outboundAllowed":false},
		  "m365CollaborationInbound":{"users":{"accessType":"blocked","targets":[{"target":"AllUsers","targetType":"user"}]}},
		  "m365CollaborationOutbound":{"usersAndGroups":{"accessType":"allowed","targets":[{"target":"AllUsers","targetType":"user"}]}},
		  "appServiceConnectInbound":{"applications":{"accessType":"blocked","targets":[{"target":"AllApplications","targetType":"application"}]}}}`,
	} {
		p := mustPartner(t, body)
		first, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back Partner
		if err := json.Unmarshal(first, &back); err != nil {
			t.Fatal(err)
		}
		second, _ := json.Marshal(back)
		jsonEqual(t, second, string(first))
		// And the parser accepts what we write (a client may PATCH back
		// what it read).
		again, err := ParsePartner(first)
		if err != nil {
			t.Fatalf("ParsePartner(own output): %v", err)
		}
		third, _ := json.Marshal(again)
		jsonEqual(t, third, string(first))
	}
}

func TestPartnerDocExamples(t *testing.T) {
	// POST /partners example and its (truncated) 201 body.
	p := mustPartner(t, `{
  "tenantId": "3d0f5dec-5d3d-455c-8016-e2af1ae4d31a",
  "b2bDirectConnectOutbound": {"usersAndGroups": {"accessType": "blocked",
      "targets": [{"target": "6f546279-4da5-4b53-a095-09ea0cef9971", "targetType": "group"}]}},
  "b2bDirectConnectInbound": {"applications": {"accessType": "allowed",
      "targets": [{"target": "Office365", "targetType": "application"}]}}}`)
	got, _ := json.Marshal(p)
	jsonContains(t, got, `{
  "tenantId": "3d0f5dec-5d3d-455c-8016-e2af1ae4d31a",
  "inboundTrust": null, "b2bCollaborationInbound": null, "b2bCollaborationOutbound": null,
  "b2bDirectConnectOutbound": {"usersAndGroups": {"accessType": "blocked",
      "targets": [{"target": "6f546279-4da5-4b53-a095-09ea0cef9971", "targetType": "group"}]}},
  "b2bDirectConnectInbound": {"applications": {"accessType": "allowed",
      "targets": [{"target": "Office365", "targetType": "application"}]}}}`)

	// GET /partners/{id} example: a partner with only direct connect
	// inbound set; automaticUserConsentSettings is an object of nulls.
	p = mustPartner(t, `{"tenantId":"9c5d131d-b1c3-4fc4-9e3f-c6557947d551",
	  "b2bDirectConnectInbound":{"usersAndGroups":{"accessType":"allowed","targets":[{"target":"AllUsers","targetType":"user"}]},
	    "applications":{"accessType":"allowed","targets":[{"target":"Office365","targetType":"application"}]}}}`)
	got, _ = json.Marshal(p)
	jsonContains(t, got, `{
  "tenantId": "9c5d131d-b1c3-4fc4-9e3f-c6557947d551",
  "inboundTrust": null,
  "automaticUserConsentSettings": {"inboundAllowed": null, "outboundAllowed": null},
  "b2bCollaborationInbound": null, "b2bCollaborationOutbound": null, "b2bDirectConnectOutbound": null,
  "b2bDirectConnectInbound": {
    "usersAndGroups": {"accessType": "allowed", "targets": [{"target": "AllUsers", "targetType": "user"}]},
    "applications": {"accessType": "allowed", "targets": [{"target": "Office365", "targetType": "application"}]}}}`)

	// PATCH examples: inbound trust, automatic consent.
	q, changed, err := PatchPartner(p, []byte(`{"inboundTrust":{"isMfaAccepted":true,"isCompliantDeviceAccepted":true,"isHybridAzureADJoinedDeviceAccepted":true}}`))
	if err != nil || len(changed) != 1 || changed[0] != "inboundTrust" {
		t.Fatalf("PATCH inboundTrust: %v %v", changed, err)
	}
	if q.InboundTrust == nil || !q.InboundTrust.IsMfaAccepted || !q.InboundTrust.IsCompliantDeviceAccepted || !q.InboundTrust.IsHybridAzureADJoinedDeviceAccepted {
		t.Errorf("inboundTrust not set: %+v", q.InboundTrust)
	}
	q, _, err = PatchPartner(q, []byte(`{"automaticUserConsentSettings":{"inboundAllowed":true,"outboundAllowed":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ = json.Marshal(q)
	jsonContains(t, got, `{"automaticUserConsentSettings":{"inboundAllowed":true,"outboundAllowed":true}}`)
}

// The v1.0 GET /default example (the service default), which the docs
// truncate: what it shows must be what SystemDefault writes.
const docsServiceDefault = `{
  "isServiceDefault": true,
  "inboundTrust": {"isMfaAccepted": false, "isCompliantDeviceAccepted": false, "isHybridAzureADJoinedDeviceAccepted": false},
  "b2bCollaborationOutbound": {
    "usersAndGroups": {"accessType": "allowed", "targets": [{"target": "AllUsers", "targetType": "user"}]},
    "applications": {"accessType": "allowed", "targets": [{"target": "AllApplications", "targetType": "application"}]}},
  "b2bCollaborationInbound": {
    "usersAndGroups": {"accessType": "allowed", "targets": [{"target": "AllUsers", "targetType": "user"}]},
    "applications": {"accessType": "allowed", "targets": [{"target": "AllApplications", "targetType": "application"}]}},
  "b2bDirectConnectOutbound": {
    "usersAndGroups": {"accessType": "blocked", "targets": [{"target": "AllUsers", "targetType": "user"}]},
    "applications": {"accessType": "blocked", "targets": [{"target": "AllApplications", "targetType": "application"}]}},
  "b2bDirectConnectInbound": {
    "usersAndGroups": {"accessType": "blocked", "targets": [{"target": "AllUsers", "targetType": "user"}]},
    "applications": {"accessType": "blocked", "targets": [{"target": "AllApplications", "targetType": "application"}]}}
}`

func TestSystemDefaultWireForm(t *testing.T) {
	got, err := json.Marshal(SystemDefault())
	if err != nil {
		t.Fatal(err)
	}
	jsonContains(t, got, docsServiceDefault)
	// The rest of the v1.0 properties, as a full response carries them.
	jsonContains(t, got, `{
	  "automaticUserConsentSettings": {"inboundAllowed": false, "outboundAllowed": false},
	  "tenantRestrictions": {"devices": null,
	    "usersAndGroups": {"accessType": "blocked", "targets": [{"target": "AllUsers", "targetType": "user"}]},
	    "applications": {"accessType": "blocked", "targets": [{"target": "AllApplications", "targetType": "application"}]}},
	  "invitationRedemptionIdentityProviderConfiguration": {
	    "primaryIdentityProviderPrecedenceOrder": ["azureActiveDirectory", "externalFederation", "socialIdentityProviders"],
	    "fallbackIdentityProvider": "defaultConfiguredIdp"}}`)
	var m map[string]any
	_ = json.Unmarshal(got, &m)
	for _, absent := range []string{"id", "m365CollaborationInbound", "m365CollaborationOutbound", "appServiceConnectInbound", "crossCloudMeetingConfiguration", "protectedContentSharing"} {
		if _, ok := m[absent]; ok {
			t.Errorf("%s present in the system default: %v", absent, m[absent])
		}
	}
}

func TestDefaultFullResponseRoundTrips(t *testing.T) {
	// A full customized default as Graph returns it, sparse and legacy
	// objects included: stored and read back, it is the same JSON.
	full := `{
	  "id": "5c027107-6ba7-42e7-9583-7df394bffd0a",
	  "isServiceDefault": false,
	  "inboundTrust": {"isMfaAccepted": true, "isCompliantDeviceAccepted": false, "isHybridAzureADJoinedDeviceAccepted": false},
	  "b2bCollaborationOutbound": {
	    "usersAndGroups": {"accessType": "blocked", "targets": [{"target": "0be493dc-cb56-4a53-936f-9cf64410b8b0", "targetType": "group"}]},
	    "applications": {"accessType": "blocked", "targets": [{"target": "AllApplications", "targetType": "application"}]}},
	  "b2bCollaborationInbound": {
	    "usersAndGroups": {"accessType": "allowed", "targets": [{"target": "AllUsers", "targetType": "user"}]},
	    "applications": {"accessType": "allowed", "targets": [{"target": "AllApplications", "targetType": "application"}]}},
	  "b2bDirectConnectOutbound": {
	    "usersAndGroups": {"accessType": "blocked", "targets": [{"target": "AllUsers", "targetType": "user"}]},
	    "applications": {"accessType": "blocked", "targets": [{"target": "AllApplications", "targetType": "application"}]}},
	  "b2bDirectConnectInbound": {
	    "usersAndGroups": {"accessType": "blocked", "targets": [{"target": "AllUsers", "targetType": "user"}]},
	    "applications": {"accessType": "blocked", "targets": [{"target": "AllApplications", "targetType": "application"}]}},
	  "crossCloudMeetingConfiguration": {"inboundAllowed": false, "outboundAllowed": false},
	  "automaticUserConsentSettings": {"inboundAllowed": false, "outboundAllowed": false},
	  "protectedContentSharing": {"inboundAllowed": true, "outboundAllowed": true},
	  "tenantRestrictions": {"devices": null,
	    "usersAndGroups": {"accessType": "blocked", "targets": [{"target": "AllUsers", "targetType": "user"}]},
	    "applications": {"accessType": "blocked", "targets": [{"target": "AllApplications", "targetType": "application"}]}},
	  "invitationRedemptionIdentityProviderConfiguration": {
	    "primaryIdentityProviderPrecedenceOrder": ["externalFederation", "azureActiveDirectory", "socialIdentityProviders"],
	    "fallbackIdentityProvider": "defaultConfiguredIdp"},
	  "m365CollaborationInbound": {"users": {"accessType": "blocked", "targets": [{"target": "AllUsers", "targetType": "user"}]}},
	  "m365CollaborationOutbound": {"usersAndGroups": {"accessType": "allowed", "targets": [{"target": "AllUsers", "targetType": "user"}]}},
	  "appServiceConnectInbound": {"applications": {"accessType": "blocked", "targets": [{"target": "AllApplications", "targetType": "application"}]}}
	}`
	var d Default
	if err := json.Unmarshal([]byte(full), &d); err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, got, full)

	// The same body PATCHed onto the system default (read-only id and
	// isServiceDefault ignored) yields the same configuration.
	p, _, err := PatchDefault(SystemDefault(), []byte(full))
	if err != nil {
		t.Fatalf("PATCH with a full GET body: %v", err)
	}
	p.ID = d.ID
	got, _ = json.Marshal(p)
	jsonEqual(t, got, full)
}

func TestDefaultDocPatchExamples(t *testing.T) {
	// Example 1: block outbound B2B collaboration for a group.
	d := mustDefault(t, `{"b2bCollaborationOutbound":{
	  "usersAndGroups":{"accessType":"blocked","targets":[{"target":"0be493dc-cb56-4a53-936f-9cf64410b8b0","targetType":"group"}]},
	  "applications":{"accessType":"blocked","targets":[{"target":"AllApplications","targetType":"application"}]}}}`)
	if d.IsServiceDefault {
		t.Error("a customized default still says isServiceDefault")
	}
	if g := d.B2BCollaborationOutbound.UsersAndGroups.Targets[0]; g.Target != "0be493dc-cb56-4a53-936f-9cf64410b8b0" || g.TargetType != TargetTypeGroup {
		t.Errorf("outbound users: %+v", g)
	}
	// Example 2 and 3: redemption order.
	d = mustDefault(t, `{"invitationRedemptionIdentityProviderConfiguration":{
	  "primaryIdentityProviderPrecedenceOrder":["externalFederation","azureActiveDirectory","socialIdentityProviders"],
	  "fallbackIdentityProvider":"emailOneTimePasscode"}}`)
	r := d.InvitationRedemptionIdentityProviderConfiguration
	if r.FallbackIdentityProvider != IdPEmailOneTimePasscode || r.PrimaryIdentityProviderPrecedenceOrder[0] != IdPExternalFederation {
		t.Errorf("redemption: %+v", r)
	}
	// Other properties untouched.
	got, _ := json.Marshal(d)
	jsonContains(t, got, `{"b2bCollaborationInbound":{
	  "usersAndGroups":{"accessType":"allowed","targets":[{"target":"AllUsers","targetType":"user"}]},
	  "applications":{"accessType":"allowed","targets":[{"target":"AllApplications","targetType":"application"}]}}}`)
}

func TestPolicyAndIdentitySyncExamples(t *testing.T) {
	p, changed, err := PatchPolicy(SystemPolicy(), []byte(`{"allowedCloudEndpoints":["microsoftonline.us","Partner.MicrosoftOnline.cn"]}`))
	if err != nil || len(changed) != 1 {
		t.Fatalf("PATCH policy: %v %v", changed, err)
	}
	got, _ := json.Marshal(p)
	jsonEqual(t, got, `{"id":"crossTenantAccessPolicy","deletedDateTime":null,"description":null,"displayName":"CrossTenantAccessPolicy",
	  "allowedCloudEndpoints":["microsoftonline.us","partner.microsoftonline.cn"]}`)
	got, _ = json.Marshal(SystemPolicy())
	jsonContains(t, got, `{"allowedCloudEndpoints":[]}`)

	s, err := ParseIdentitySync("7b9e2c44-1a3f-4d5e-8c6b-0f1e2d3c4b5a", []byte(`{"displayName":"Fabrikam","userSyncInbound":{"isSyncAllowed":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ = json.Marshal(s)
	jsonEqual(t, got, `{"tenantId":"7b9e2c44-1a3f-4d5e-8c6b-0f1e2d3c4b5a","displayName":"Fabrikam","userSyncInbound":{"isSyncAllowed":true}}`)
	s, _, err = PatchIdentitySync(s, []byte(`{"userSyncInbound":{"isSyncAllowed":false}}`))
	if err != nil || s.UserSyncInbound.IsSyncAllowed || s.DisplayName == nil || *s.DisplayName != "Fabrikam" {
		t.Errorf("PATCH identitySynchronization: %+v %v", s, err)
	}

	// $expand=identitySynchronization writes the child inline.
	part := mustPartner(t, `{"tenantId":"7b9e2c44-1a3f-4d5e-8c6b-0f1e2d3c4b5a"}`)
	part.IdentitySynchronization = &s
	got, _ = json.Marshal(part)
	jsonContains(t, got, `{"identitySynchronization":{"tenantId":"7b9e2c44-1a3f-4d5e-8c6b-0f1e2d3c4b5a","displayName":"Fabrikam","userSyncInbound":{"isSyncAllowed":false}}}`)
}

func TestResultWireForm(t *testing.T) {
	w := newWorld(mustDefault(t, `{"b2bCollaborationOutbound":{"usersAndGroups":{"accessType":"blocked","targets":[{"target":"AllUsers","targetType":"user"}]}}}`), nil, SystemDefault(), nil)
	r := Evaluate(w.input(B2BCollaboration, u1, a1))
	got, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(got, &m)
	if len(m) != 4 || m["decision"] != "blocked" || m["decidingLayer"] != "homeOutbound" || m["errorCode"] != float64(500212) {
		t.Errorf("what-if body: %s", got)
	}
	layers, _ := m["layers"].([]any)
	want := []string{"externalCollaborationSettings", "homeOutbound", "resourceInbound", "inboundTrust", "automaticRedemption"}
	if len(layers) != len(want) {
		t.Fatalf("layers: %s", got)
	}
	for i, l := range layers {
		lm := l.(map[string]any)
		if lm["layer"] != want[i] || len(lm) != 4 {
			t.Errorf("layer %d: %v", i, lm)
		}
	}

	// Allowed: errorCode is null, not absent and not 0.
	w = newWorld(SystemDefault(), nil, SystemDefault(), nil)
	got, _ = json.Marshal(Evaluate(w.input(B2BCollaboration, u1, a1)))
	m = nil
	_ = json.Unmarshal(got, &m)
	if v, ok := m["errorCode"]; !ok || v != nil || m["decision"] != "allowed" {
		t.Errorf("allowed what-if body: %s", got)
	}
}
