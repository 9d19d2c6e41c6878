package graphsdk_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/policies"
)

const (
	xtapHomeDomain     = "home.xtap.graphsdk.test"
	xtapPartnerDomain  = "partner.xtap.graphsdk.test"
	xtapPartnerName    = "XTAP SDK Partner"
	xtapSyncName       = "Partner user sync"
	xtapCloudEndpoint  = "gatehouse.partner.example"
	xtapExpandSync     = "identitySynchronization"
	unknownPartnerID   = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
	allowedEverywhere  = "usersAndGroups=allowed[AllUsers/user] applications=allowed[AllApplications/application]"
	blockedEverywhere  = "usersAndGroups=blocked[AllUsers/user] applications=blocked[AllApplications/application]"
	inheritedB2BRender = "(null: inherits the default)"
)

// TestCrossTenantAccessSDK drives cross-tenant access settings with the
// SDK's typed request builders, as an admin's script would: the default
// configuration (read, change, reset), the lookup of a partner tenant by
// domain, and a partner configuration with its identity synchronization
// policy through create, read, list, change and delete. It has its own
// server and tenants, so changing the default cannot disturb the other
// tests' invitations.
func TestCrossTenantAccessSDK(t *testing.T) {
	gh := buildGatehouse(t)
	home := gh.createTenant(t, "XTAP SDK Home", xtapHomeDomain)
	partner := gh.createTenant(t, xtapPartnerName, xtapPartnerDomain)
	base := gh.serve(t)

	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	client := newGraphClient(t, base, home)
	partnerClient := newGraphClient(t, base, partner)

	t.Run("Container", func(t *testing.T) { testXTAPContainer(ctx, t, client) })
	t.Run("Default", func(t *testing.T) { testXTAPDefault(ctx, t, client, home.TenantID) })

	var partnerID string
	if !t.Run("FindTenantInformation", func(t *testing.T) {
		partnerID = testFindTenantInformation(ctx, t, client, partnerClient, partner)
	}) {
		t.FailNow()
	}
	t.Run("Partner", func(t *testing.T) { testXTAPPartner(ctx, t, client, partnerID) })

	t.Run("UnknownPartner", func(t *testing.T) {
		_, err := client.Policies().CrossTenantAccessPolicy().Partners().
			ByCrossTenantAccessPolicyConfigurationPartnerTenantId(unknownPartnerID).Get(ctx, nil)
		assertODataError(t, err, []int{404}, "Request_ResourceNotFound")
	})
}

// testXTAPContainer reads the policy singleton and round-trips its one
// writable property.
func testXTAPContainer(ctx context.Context, t *testing.T, client *msgraphsdk.GraphServiceClient) {
	rb := client.Policies().CrossTenantAccessPolicy()
	got, err := rb.Get(ctx, nil)
	if err != nil {
		t.Fatalf("GET /policies/crossTenantAccessPolicy: %s", describe(err))
	}
	if name := deref(got.GetDisplayName()); name != "CrossTenantAccessPolicy" {
		t.Errorf("displayName = %q, want CrossTenantAccessPolicy", name)
	}
	if eps := got.GetAllowedCloudEndpoints(); len(eps) != 0 {
		t.Errorf("allowedCloudEndpoints = %v on a new tenant, want none", eps)
	}

	for _, want := range [][]string{{xtapCloudEndpoint}, {}} {
		body := models.NewCrossTenantAccessPolicy()
		body.SetAllowedCloudEndpoints(want)
		if _, err := rb.Patch(ctx, body, nil); err != nil {
			t.Fatalf("PATCH /policies/crossTenantAccessPolicy allowedCloudEndpoints=%v: %s", want, describe(err))
		}
		got, err := rb.Get(ctx, nil)
		if err != nil {
			t.Fatalf("GET /policies/crossTenantAccessPolicy: %s", describe(err))
		}
		if eps := got.GetAllowedCloudEndpoints(); fmt.Sprint(eps) != fmt.Sprint(want) {
			t.Errorf("after PATCH allowedCloudEndpoints=%v, GET returned %v", want, eps)
		}
	}
}

// testXTAPDefault reads the system default, blocks inbound B2B
// collaboration, reads that back, and resets.
func testXTAPDefault(ctx context.Context, t *testing.T, client *msgraphsdk.GraphServiceClient, tenantID string) {
	rb := client.Policies().CrossTenantAccessPolicy().DefaultEscaped()
	get := func(step string) models.CrossTenantAccessPolicyConfigurationDefaultable {
		t.Helper()
		d, err := rb.Get(ctx, nil)
		if err != nil {
			t.Fatalf("GET /policies/crossTenantAccessPolicy/default (%s): %s", step, describe(err))
		}
		return d
	}
	wantSystemDefault := func(step string, d models.CrossTenantAccessPolicyConfigurationDefaultable) {
		t.Helper()
		if !deref(d.GetIsServiceDefault()) {
			t.Errorf("%s: isServiceDefault = %v, want true", step, d.GetIsServiceDefault())
		}
		for _, c := range []struct {
			prop string
			got  models.CrossTenantAccessPolicyB2BSettingable
			want string
		}{
			{"b2bCollaborationInbound", d.GetB2bCollaborationInbound(), allowedEverywhere},
			{"b2bCollaborationOutbound", d.GetB2bCollaborationOutbound(), allowedEverywhere},
			{"b2bDirectConnectInbound", d.GetB2bDirectConnectInbound(), blockedEverywhere},
			{"b2bDirectConnectOutbound", d.GetB2bDirectConnectOutbound(), blockedEverywhere},
		} {
			if got := renderB2B(c.got); got != c.want {
				t.Errorf("%s: %s = %s, want %s", step, c.prop, got, c.want)
			}
		}
		if got := renderTrust(d.GetInboundTrust()); got != "mfa=false compliant=false hybrid=false" {
			t.Errorf("%s: inboundTrust = %s, want nothing trusted", step, got)
		}
		if got := renderConsent(d.GetAutomaticUserConsentSettings()); got != "inbound=false outbound=false" {
			t.Errorf("%s: automaticUserConsentSettings = %s, want inbound=false outbound=false", step, got)
		}
	}

	initial := get("new tenant")
	if id := deref(initial.GetId()); id != tenantID {
		t.Errorf("default id = %q, want the tenant's id %s", id, tenantID)
	}
	wantSystemDefault("new tenant", initial)

	body := models.NewCrossTenantAccessPolicyConfigurationDefault()
	body.SetB2bCollaborationInbound(b2bSetting(models.BLOCKED_CROSSTENANTACCESSPOLICYTARGETCONFIGURATIONACCESSTYPE))
	if _, err := rb.Patch(ctx, body, nil); err != nil {
		t.Fatalf("PATCH /policies/crossTenantAccessPolicy/default b2bCollaborationInbound blocked: %s", describe(err))
	}
	patched := get("after PATCH")
	if deref(patched.GetIsServiceDefault()) {
		t.Errorf("after PATCH: isServiceDefault = true, want false")
	}
	if got := renderB2B(patched.GetB2bCollaborationInbound()); got != blockedEverywhere {
		t.Errorf("after PATCH: b2bCollaborationInbound = %s, want %s", got, blockedEverywhere)
	}
	// PATCH replaces only what the body names.
	if got := renderB2B(patched.GetB2bCollaborationOutbound()); got != allowedEverywhere {
		t.Errorf("after PATCH: b2bCollaborationOutbound = %s, want it untouched (%s)", got, allowedEverywhere)
	}
	if got := renderB2B(patched.GetB2bDirectConnectInbound()); got != blockedEverywhere {
		t.Errorf("after PATCH: b2bDirectConnectInbound = %s, want it untouched (%s)", got, blockedEverywhere)
	}

	if err := rb.ResetToSystemDefault().Post(ctx, nil); err != nil {
		t.Fatalf("POST /policies/crossTenantAccessPolicy/default/resetToSystemDefault: %s", describe(err))
	}
	wantSystemDefault("after resetToSystemDefault", get("after resetToSystemDefault"))
}

// testFindTenantInformation looks the partner up by domain and by id, as an
// admin does before configuring it, and returns its tenant id as found.
func testFindTenantInformation(ctx context.Context, t *testing.T, client, partnerClient *msgraphsdk.GraphServiceClient, partner tenantInfo) string {
	// The partner's own view of its default domain, to compare with what
	// the lookup tells another tenant.
	doms, err := partnerClient.Domains().Get(ctx, nil)
	if err != nil {
		t.Fatalf("GET /domains as the partner: %s", describe(err))
	}
	var wantDefault string
	for _, d := range doms.GetValue() {
		if deref(d.GetIsDefault()) {
			wantDefault = deref(d.GetId())
		}
	}
	if wantDefault == "" {
		t.Fatalf("the partner tenant lists no default domain")
	}

	byDomain, err := client.TenantRelationships().FindTenantInformationByDomainNameWithDomainName(ptr(xtapPartnerDomain)).Get(ctx, nil)
	if err != nil {
		t.Fatalf("GET /tenantRelationships/findTenantInformationByDomainName(domainName='%s'): %s", xtapPartnerDomain, describe(err))
	}
	checkTenantInformation(t, "by domain", byDomain, partner.TenantID, wantDefault)

	byID, err := client.TenantRelationships().FindTenantInformationByTenantIdWithTenantId(ptr(partner.TenantID)).Get(ctx, nil)
	if err != nil {
		t.Fatalf("GET /tenantRelationships/findTenantInformationByTenantId(tenantId='%s'): %s", partner.TenantID, describe(err))
	}
	checkTenantInformation(t, "by tenant id", byID, partner.TenantID, wantDefault)

	_, err = client.TenantRelationships().FindTenantInformationByDomainNameWithDomainName(ptr("nobody.xtap.graphsdk.test")).Get(ctx, nil)
	assertODataError(t, err, []int{404}, "Request_ResourceNotFound")

	return deref(byDomain.GetTenantId())
}

func checkTenantInformation(t *testing.T, how string, got models.TenantInformationable, wantID, wantDefault string) {
	t.Helper()
	for _, c := range []struct{ prop, got, want string }{
		{"tenantId", deref(got.GetTenantId()), wantID},
		{"displayName", deref(got.GetDisplayName()), xtapPartnerName},
		{"defaultDomainName", deref(got.GetDefaultDomainName()), wantDefault},
	} {
		if c.got != c.want {
			t.Errorf("tenant information %s: %s = %q, want %q", how, c.prop, c.got, c.want)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// testXTAPPartner takes one partner configuration and its identity
// synchronization policy through their whole life.
func testXTAPPartner(ctx context.Context, t *testing.T, client *msgraphsdk.GraphServiceClient, partnerID string) {
	partners := client.Policies().CrossTenantAccessPolicy().Partners()
	item := partners.ByCrossTenantAccessPolicyConfigurationPartnerTenantId(partnerID)
	sync := item.IdentitySynchronization()

	// Create: trust the partner's MFA and let its users skip the consent
	// prompt on redemption.
	trust := models.NewCrossTenantAccessPolicyInboundTrust()
	trust.SetIsMfaAccepted(ptr(true))
	consent := models.NewInboundOutboundPolicyConfiguration()
	consent.SetInboundAllowed(ptr(true))
	body := models.NewCrossTenantAccessPolicyConfigurationPartner()
	body.SetTenantId(ptr(partnerID))
	body.SetInboundTrust(trust)
	body.SetAutomaticUserConsentSettings(consent)
	created, err := partners.Post(ctx, body, nil)
	if err != nil {
		t.Fatalf("POST /policies/crossTenantAccessPolicy/partners: %s", describe(err))
	}
	wantCreated := partnerView{
		tenantID: partnerID,
		trust:    "mfa=true compliant=false hybrid=false",
		consent:  "inbound=true outbound=null",
		collabIn: inheritedB2BRender, collabOut: inheritedB2BRender,
	}
	checkPartner(t, "POST response", created, wantCreated)

	_, err = partners.Post(ctx, body, nil)
	assertODataError(t, err, []int{409}, "Request_MultipleObjectsWithSameKeyValue")

	got, err := item.Get(ctx, nil)
	if err != nil {
		t.Fatalf("GET /policies/crossTenantAccessPolicy/partners/%s: %s", partnerID, describe(err))
	}
	checkPartner(t, "GET", got, wantCreated)
	listPartners(ctx, t, client, false, []partnerView{wantCreated})

	// Change: block outbound collaboration with this partner and trust
	// compliant devices as well; automatic consent is left as it was.
	trust = models.NewCrossTenantAccessPolicyInboundTrust()
	trust.SetIsMfaAccepted(ptr(true))
	trust.SetIsCompliantDeviceAccepted(ptr(true))
	patch := models.NewCrossTenantAccessPolicyConfigurationPartner()
	patch.SetInboundTrust(trust)
	patch.SetB2bCollaborationOutbound(b2bSetting(models.BLOCKED_CROSSTENANTACCESSPOLICYTARGETCONFIGURATIONACCESSTYPE))
	if _, err := item.Patch(ctx, patch, nil); err != nil {
		t.Fatalf("PATCH /policies/crossTenantAccessPolicy/partners/%s: %s", partnerID, describe(err))
	}
	wantPatched := wantCreated
	wantPatched.trust = "mfa=true compliant=true hybrid=false"
	wantPatched.collabOut = blockedEverywhere
	got, err = item.Get(ctx, nil)
	if err != nil {
		t.Fatalf("GET /policies/crossTenantAccessPolicy/partners/%s after PATCH: %s", partnerID, describe(err))
	}
	checkPartner(t, "GET after PATCH", got, wantPatched)

	// Identity synchronization: created with PUT, as Graph creates it.
	_, err = sync.Get(ctx, nil)
	assertODataError(t, err, []int{404}, "Request_ResourceNotFound")
	syncBody := models.NewCrossTenantIdentitySyncPolicyPartner()
	syncBody.SetDisplayName(ptr(xtapSyncName))
	inbound := models.NewCrossTenantUserSyncInbound()
	inbound.SetIsSyncAllowed(ptr(true))
	syncBody.SetUserSyncInbound(inbound)
	if _, err := sync.Put(ctx, syncBody, nil); err != nil {
		t.Fatalf("PUT …/partners/%s/identitySynchronization: %s", partnerID, describe(err))
	}
	checkSync(ctx, t, sync, partnerID, "after PUT", "isSyncAllowed=true")

	// PUT creates; Graph refuses a second PUT rather than replacing.
	_, err = sync.Put(ctx, syncBody, nil)
	assertODataError(t, err, []int{409}, "Request_MultipleObjectsWithSameKeyValue")

	syncPatch := models.NewCrossTenantIdentitySyncPolicyPartner()
	inbound = models.NewCrossTenantUserSyncInbound()
	inbound.SetIsSyncAllowed(ptr(false))
	syncPatch.SetUserSyncInbound(inbound)
	if err := patchIdentitySync(ctx, client, sync, syncPatch); err != nil {
		t.Fatalf("PATCH …/partners/%s/identitySynchronization: %s", partnerID, describe(err))
	}
	checkSync(ctx, t, sync, partnerID, "after PATCH", "isSyncAllowed=false")

	withSync := wantPatched
	withSync.sync = "isSyncAllowed=false"
	expanded, err := item.Get(ctx, &policies.CrossTenantAccessPolicyPartnersCrossTenantAccessPolicyConfigurationPartnerTenantItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &policies.CrossTenantAccessPolicyPartnersCrossTenantAccessPolicyConfigurationPartnerTenantItemRequestBuilderGetQueryParameters{Expand: []string{xtapExpandSync}},
	})
	if err != nil {
		t.Fatalf("GET …/partners/%s?$expand=%s: %s", partnerID, xtapExpandSync, describe(err))
	}
	checkPartner(t, "GET with $expand", expanded, withSync)
	listPartners(ctx, t, client, true, []partnerView{withSync})

	// Graph refuses to delete a partner whose identity synchronization
	// policy still exists; the partner must survive the attempt.
	err = item.Delete(ctx, nil)
	assertODataError(t, err, []int{400}, "Request_BadRequest")
	if _, err := item.Get(ctx, nil); err != nil {
		t.Fatalf("GET …/partners/%s after the refused DELETE: %s", partnerID, describe(err))
	}

	if err := sync.Delete(ctx, nil); err != nil {
		t.Fatalf("DELETE …/partners/%s/identitySynchronization: %s", partnerID, describe(err))
	}
	_, err = sync.Get(ctx, nil)
	assertODataError(t, err, []int{404}, "Request_ResourceNotFound")

	if err := item.Delete(ctx, nil); err != nil {
		t.Fatalf("DELETE /policies/crossTenantAccessPolicy/partners/%s: %s", partnerID, describe(err))
	}
	_, err = item.Get(ctx, nil)
	assertODataError(t, err, []int{404}, "Request_ResourceNotFound")
	listPartners(ctx, t, client, false, nil)
}

// patchIdentitySync sends PATCH …/identitySynchronization, Graph's update
// of that policy. msgraph-sdk-go v1 generates only Get, Put and Delete for
// this navigation property, so the request is the builder's own typed PUT
// request (URL, headers, serialized body) with the method changed, sent
// through the SDK's adapter: what a script does for a call the SDK lacks.
func patchIdentitySync(ctx context.Context, client *msgraphsdk.GraphServiceClient, rb *policies.CrossTenantAccessPolicyPartnersItemIdentitySynchronizationRequestBuilder, body models.CrossTenantIdentitySyncPolicyPartnerable) error {
	info, err := rb.ToPutRequestInformation(ctx, body, nil)
	if err != nil {
		return err
	}
	info.Method = abstractions.PATCH
	// Kiota maps error statuses by class: every 4xx and 5xx answer is
	// Graph's OData error.
	return client.GetAdapter().SendNoContent(ctx, info, abstractions.ErrorMappings{
		"4XX": odataerrors.CreateODataErrorFromDiscriminatorValue,
		"5XX": odataerrors.CreateODataErrorFromDiscriminatorValue,
	})
}

// partnerView is a partner configuration rendered for comparison; sync is
// "" when identitySynchronization is absent.
type partnerView struct {
	tenantID, trust, consent, collabIn, collabOut, sync string
}

func viewPartner(p models.CrossTenantAccessPolicyConfigurationPartnerable) partnerView {
	v := partnerView{
		tenantID:  deref(p.GetTenantId()),
		trust:     renderTrust(p.GetInboundTrust()),
		consent:   renderConsent(p.GetAutomaticUserConsentSettings()),
		collabIn:  renderB2B(p.GetB2bCollaborationInbound()),
		collabOut: renderB2B(p.GetB2bCollaborationOutbound()),
	}
	if s := p.GetIdentitySynchronization(); s != nil {
		v.sync = renderSyncInbound(s.GetUserSyncInbound())
	}
	return v
}

func checkPartner(t *testing.T, step string, got models.CrossTenantAccessPolicyConfigurationPartnerable, want partnerView) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: no partner configuration in the response", step)
	}
	if v := viewPartner(got); v != want {
		t.Errorf("%s: partner configuration\n got %+v\nwant %+v", step, v, want)
	}
	if sp := got.GetIsServiceProvider(); sp != nil {
		t.Errorf("%s: isServiceProvider = %v, never set so want null", step, *sp)
	}
}

// listPartners lists the partner configurations, optionally expanding
// identitySynchronization, and demands exactly want, in any order.
func listPartners(ctx context.Context, t *testing.T, client *msgraphsdk.GraphServiceClient, expand bool, want []partnerView) {
	t.Helper()
	var cfg *policies.CrossTenantAccessPolicyPartnersRequestBuilderGetRequestConfiguration
	if expand {
		cfg = &policies.CrossTenantAccessPolicyPartnersRequestBuilderGetRequestConfiguration{
			QueryParameters: &policies.CrossTenantAccessPolicyPartnersRequestBuilderGetQueryParameters{Expand: []string{xtapExpandSync}},
		}
	}
	page, err := client.Policies().CrossTenantAccessPolicy().Partners().Get(ctx, cfg)
	if err != nil {
		t.Fatalf("GET /policies/crossTenantAccessPolicy/partners (expand %v): %s", expand, describe(err))
	}
	if link := page.GetOdataNextLink(); link != nil {
		t.Errorf("partner listing has @odata.nextLink %q for %d partners", *link, len(want))
	}
	got := make(map[partnerView]int)
	for _, p := range page.GetValue() {
		got[viewPartner(p)]++
	}
	wantSet := make(map[partnerView]int)
	for _, w := range want {
		wantSet[w]++
	}
	if !maps.Equal(got, wantSet) {
		t.Errorf("GET /policies/crossTenantAccessPolicy/partners (expand %v):\n got %v\nwant %v", expand, got, wantSet)
	}
}

func checkSync(ctx context.Context, t *testing.T, rb *policies.CrossTenantAccessPolicyPartnersItemIdentitySynchronizationRequestBuilder, partnerID, step, wantInbound string) {
	t.Helper()
	got, err := rb.Get(ctx, nil)
	if err != nil {
		t.Fatalf("GET …/partners/%s/identitySynchronization %s: %s", partnerID, step, describe(err))
	}
	for _, c := range []struct{ prop, got, want string }{
		{"tenantId", deref(got.GetTenantId()), partnerID},
		{"displayName", deref(got.GetDisplayName()), xtapSyncName},
		{"userSyncInbound", renderSyncInbound(got.GetUserSyncInbound()), wantInbound},
	} {
		if c.got != c.want {
			t.Errorf("identitySynchronization %s: %s = %q, want %q", step, c.prop, c.got, c.want)
		}
	}
}

// b2bSetting applies access to all users and all applications.
func b2bSetting(access models.CrossTenantAccessPolicyTargetConfigurationAccessType) models.CrossTenantAccessPolicyB2BSettingable {
	target := func(name string, typ models.CrossTenantAccessPolicyTargetType) models.CrossTenantAccessPolicyTargetConfigurationable {
		tg := models.NewCrossTenantAccessPolicyTarget()
		tg.SetTarget(ptr(name))
		tg.SetTargetType(ptr(typ))
		c := models.NewCrossTenantAccessPolicyTargetConfiguration()
		c.SetAccessType(ptr(access))
		c.SetTargets([]models.CrossTenantAccessPolicyTargetable{tg})
		return c
	}
	s := models.NewCrossTenantAccessPolicyB2BSetting()
	s.SetUsersAndGroups(target("AllUsers", models.USER_CROSSTENANTACCESSPOLICYTARGETTYPE))
	s.SetApplications(target("AllApplications", models.APPLICATION_CROSSTENANTACCESSPOLICYTARGETTYPE))
	return s
}

// renderB2B writes a B2B setting as one comparable line.
func renderB2B(s models.CrossTenantAccessPolicyB2BSettingable) string {
	if s == nil {
		return inheritedB2BRender
	}
	side := func(c models.CrossTenantAccessPolicyTargetConfigurationable) string {
		if c == nil {
			return "null"
		}
		access := "null"
		if a := c.GetAccessType(); a != nil {
			access = a.String()
		}
		targets := make([]string, 0, len(c.GetTargets()))
		for _, tg := range c.GetTargets() {
			typ := "null"
			if tt := tg.GetTargetType(); tt != nil {
				typ = tt.String()
			}
			targets = append(targets, deref(tg.GetTarget())+"/"+typ)
		}
		return access + "[" + strings.Join(targets, ",") + "]"
	}
	return "usersAndGroups=" + side(s.GetUsersAndGroups()) + " applications=" + side(s.GetApplications())
}

func renderTrust(tr models.CrossTenantAccessPolicyInboundTrustable) string {
	if tr == nil {
		return "null"
	}
	return fmt.Sprintf("mfa=%s compliant=%s hybrid=%s",
		renderBool(tr.GetIsMfaAccepted()), renderBool(tr.GetIsCompliantDeviceAccepted()), renderBool(tr.GetIsHybridAzureADJoinedDeviceAccepted()))
}

func renderConsent(c models.InboundOutboundPolicyConfigurationable) string {
	if c == nil {
		return "null"
	}
	return "inbound=" + renderBool(c.GetInboundAllowed()) + " outbound=" + renderBool(c.GetOutboundAllowed())
}

func renderSyncInbound(s models.CrossTenantUserSyncInboundable) string {
	if s == nil {
		return "null"
	}
	return "isSyncAllowed=" + renderBool(s.GetIsSyncAllowed())
}

func renderBool(b *bool) string {
	if b == nil {
		return "null"
	}
	return fmt.Sprint(*b)
}
