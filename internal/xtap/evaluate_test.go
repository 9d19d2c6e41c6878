package xtap

import (
	"fmt"
	"strings"
	"testing"
)

// The nine rows of Graph's "Interpreting the API response" table
// (crossTenantAccessPolicy overview, v1.0), JSON verbatim — row 6 spells
// its access type " blocked", with a leading space — with the table's
// names g1 and a1 replaced by GUIDs. want is the table's interpretation
// for (member of g1, a1), (member of g1, a2), (not in g1, a1), (not in g1,
// a2).
var graphNineRows = []struct {
	name, setting string
	want          [4]bool
}{
	{"1 block all users and all applications", `{
    "usersAndGroups": {"accessType": "blocked", "targets": [{"target": "AllUsers", "targetType": "user"}]},
    "applications": {"accessType": "blocked", "targets": [{"target": "AllApplications", "targetType": "application"}]}}`,
		[4]bool{false, false, false, false}},
	{"2 allow all users and all applications", `{
    "usersAndGroups": {"accessType": "allowed", "targets": [{"target": "AllUsers", "targetType": "user"}]},
    "applications": {"accessType": "allowed", "targets": [{"target": "AllApplications", "targetType": "application"}]}}`,
		[4]bool{true, true, true, true}},
	{"3 allow g1 to any app", `{
    "usersAndGroups": {"accessType": "allowed", "targets": [{"target": "g1", "targetType": "group"}]},
    "applications": {"accessType": "allowed", "targets": [{"target": "AllApplications", "targetType": "application"}]}}`,
		[4]bool{true, true, false, false}},
	{"4 allow only a1", `{
    "usersAndGroups": {"accessType": "allowed", "targets": [{"target": "AllUsers", "targetType": "user"}]},
    "applications": {"accessType": "allowed", "targets": [{"target": "a1", "targetType": "application"}]}}`,
		[4]bool{true, false, true, false}},
	{"5 allow g1, block a1", `{
    "usersAndGroups": {"accessType": "allowed", "targets": [{"target": "g1", "targetType": "group"}]},
    "applications": {"accessType": "blocked", "targets": [{"target": "a1", "targetType": "application"}]}}`,
		[4]bool{false, true, false, false}},
	{"6 block g1 from every application", `{
    "usersAndGroups": {"accessType": " blocked", "targets": [{"target": "g1", "targetType": "group"}]},
    "applications": {"accessType": "blocked", "targets": [{"target": "AllApplications", "targetType": "application"}]}}`,
		[4]bool{false, false, true, true}},
	{"7 block g1, allow only a1", `{
    "usersAndGroups": {"accessType": "blocked", "targets": [{"target": "g1", "targetType": "group"}]},
    "applications": {"accessType": "allowed", "targets": [{"target": "a1", "targetType": "application"}]}}`,
		[4]bool{false, false, true, false}},
	{"8 allow g1 to only a1", `{
    "usersAndGroups": {"accessType": "allowed", "targets": [{"target": "g1", "targetType": "group"}]},
    "applications": {"accessType": "allowed", "targets": [{"target": "a1", "targetType": "application"}]}}`,
		[4]bool{true, false, false, false}},
	{"9 block g1 from a1 only", `{
    "usersAndGroups": {"accessType": "blocked", "targets": [{"target": "g1", "targetType": "group"}]},
    "applications": {"accessType": "blocked", "targets": [{"target": "a1", "targetType": "application"}]}}`,
		[4]bool{false, true, true, true}},
}

func withIDs(s string) string {
	return strings.NewReplacer(`"g1"`, `"`+g1+`"`, `"a1"`, `"`+a1+`"`).Replace(s)
}

// position is where a B2B setting under test is placed.
type position struct {
	name     string
	partner  bool // in a partner configuration (else the default)
	inbound  bool // Contoso's inbound (else Fabrikam's outbound)
	wantCode int
}

var positions = []position{
	{"default inbound", false, true, ErrInboundPolicy},
	{"partner inbound", true, true, ErrInboundPolicy},
	{"default outbound", false, false, ErrOutboundPolicy},
	{"partner outbound", true, false, ErrOutboundPolicy},
}

const blockAll = `{"usersAndGroups":{"accessType":"blocked","targets":[{"target":"AllUsers","targetType":"user"}]},
  "applications":{"accessType":"blocked","targets":[{"target":"AllApplications","targetType":"application"}]}}`
const allowAll = `{"usersAndGroups":{"accessType":"allowed","targets":[{"target":"AllUsers","targetType":"user"}]},
  "applications":{"accessType":"allowed","targets":[{"target":"AllApplications","targetType":"application"}]}}`

// place builds the two tenants with setting at pos for access. The other
// direction allows everything (direct connect is blocked by default). A
// setting in a partner configuration sits over a default that blocks
// everything, proving the partner's wins; a setting in the default sits
// beside a partner configuration for an unrelated tenant that allows
// everything, proving that one does not leak.
func place(t testing.TB, pos position, access AccessType, setting string) world {
	t.Helper()
	prop := "b2bCollaboration"
	if access == B2BDirectConnect {
		prop = "b2bDirectConnect"
	}
	homeDef := mustDefault(t, fmt.Sprintf(`{"%sOutbound":%s}`, prop, allowAll))
	resDef := mustDefault(t, fmt.Sprintf(`{"%sInbound":%s}`, prop, allowAll))
	var homeP, resP []Partner
	dir, def, other := "Outbound", &homeDef, &homeP
	partnerFor := contoso
	if pos.inbound {
		dir, def, other = "Inbound", &resDef, &resP
		partnerFor = fabrikam
	}
	if pos.partner {
		*def = mustDefault(t, fmt.Sprintf(`{"%s%s":%s}`, prop, dir, blockAll))
		*other = append(*other, mustPartner(t, fmt.Sprintf(`{"tenantId":%q,"%s%s":%s}`, partnerFor, prop, dir, setting)))
	} else {
		*def = mustDefault(t, fmt.Sprintf(`{"%s%s":%s}`, prop, dir, setting))
		*other = append(*other, mustPartner(t, fmt.Sprintf(`{"tenantId":%q,"%s%s":%s}`, northwind, prop, dir, allowAll)))
	}
	return newWorld(homeDef, homeP, resDef, resP)
}

// checkOutcome checks a result against the expected decision at pos.
func checkOutcome(t *testing.T, name string, r Result, pos position, want bool) {
	t.Helper()
	layer := LayerHomeOutbound
	if pos.inbound {
		layer = LayerResourceInbound
	}
	if r.Allowed() != want {
		t.Errorf("%s: decision %s, want allowed=%v\n%s", name, r.Decision, want, reasons(r))
		return
	}
	wantPrefix := "default/"
	if pos.partner {
		wantPrefix = "partners/"
	}
	for _, l := range r.Layers() {
		if l.Reason == "" {
			t.Errorf("%s: layer %s has no reason", name, l.Layer)
		}
		if l.Layer == layer && !strings.HasPrefix(l.Rule, wantPrefix) {
			t.Errorf("%s: rule %q, want it from %s", name, l.Rule, wantPrefix)
		}
	}
	if want {
		if r.ErrorCode != 0 {
			t.Errorf("%s: allowed with error code %d", name, r.ErrorCode)
		}
		return
	}
	if r.DecidingLayer != layer || r.ErrorCode != pos.wantCode {
		t.Errorf("%s: decided by %s with %d, want %s with %d", name, r.DecidingLayer, r.ErrorCode, layer, pos.wantCode)
	}
}

func reasons(r Result) string {
	var b strings.Builder
	for _, l := range r.Layers() {
		fmt.Fprintf(&b, "  %s %s %s: %s\n", l.Layer, l.Decision, l.Rule, l.Reason)
	}
	return b.String()
}

func TestGraphNineRows(t *testing.T) {
	requests := [4]struct{ user, app string }{{u2, a1}, {u2, a2}, {u3, a1}, {u3, a2}}
	for _, row := range graphNineRows {
		for _, pos := range positions {
			for _, access := range []AccessType{B2BCollaboration, B2BDirectConnect} {
				w := place(t, pos, access, withIDs(row.setting))
				for i, rq := range requests {
					r := Evaluate(w.input(access, rq.user, rq.app))
					name := fmt.Sprintf("row %s, %s, %s, user %s app %s", row.name, pos.name, access, rq.user[:8], rq.app[:8])
					checkOutcome(t, name, r, pos, row.want[i])
				}
			}
		}
	}
}

// expect is Graph's §3.3 rule written independently of the evaluator:
// with at least one side allowed, an allowed side admits only its targets
// and a blocked side all but its targets, and both must admit; with both
// sides blocked only the intersection is denied. No application means "is
// some application allowed": a1 may be listed, a2 stands for every
// application that is not.
func expect(uAcc, uT, aAcc, aT, user, app string) bool {
	if app == "" {
		return expect(uAcc, uT, aAcc, aT, user, a1) || expect(uAcc, uT, aAcc, aT, user, a2)
	}
	inU := uT == AllUsers || uT == u1 && user == u1 || uT == g1 && user == u2
	inA := aT == AllApplications || aT == app
	if uAcc == Allowed || aAcc == Allowed {
		return (uAcc == Allowed) == inU && (aAcc == Allowed) == inA
	}
	return !(inU && inA)
}

func targetJSON(t string) string {
	switch t {
	case AllUsers:
		return `{"target":"AllUsers","targetType":"user"}`
	case AllApplications:
		return `{"target":"AllApplications","targetType":"application"}`
	case u1:
		return `{"target":"` + u1 + `","targetType":"user"}`
	case g1:
		return `{"target":"` + g1 + `","targetType":"group"}`
	}
	return `{"target":"` + t + `","targetType":"application"}`
}

// TestEveryCombination covers default/partner × inbound/outbound ×
// collaboration/direct connect × allowed/blocked users × AllUsers / a
// listed user / a listed group × allowed/blocked applications ×
// AllApplications / a listed application, each for a listed user, a member
// of the listed group and someone else, on a listed application, another
// application and none.
func TestEveryCombination(t *testing.T) {
	n := 0
	for _, pos := range positions {
		for _, access := range []AccessType{B2BCollaboration, B2BDirectConnect} {
			for _, uAcc := range []string{Allowed, Blocked} {
				for _, uT := range []string{AllUsers, u1, g1} {
					for _, aAcc := range []string{Allowed, Blocked} {
						for _, aT := range []string{AllApplications, a1} {
							setting := fmt.Sprintf(`{"usersAndGroups":{"accessType":%q,"targets":[%s]},"applications":{"accessType":%q,"targets":[%s]}}`,
								uAcc, targetJSON(uT), aAcc, targetJSON(aT))
							w := place(t, pos, access, setting)
							for _, user := range []string{u1, u2, u3} {
								for _, app := range []string{a1, a2, ""} {
									r := Evaluate(w.input(access, user, app))
									name := fmt.Sprintf("%s %s users %s %s apps %s %s; user %s app %q", pos.name, access, uAcc, uT, aAcc, aT, user[:8], app)
									checkOutcome(t, name, r, pos, expect(uAcc, uT, aAcc, aT, user, app))
									n++
								}
							}
						}
					}
				}
			}
		}
	}
	if n != 4*2*2*3*2*2*9 {
		t.Fatalf("ran %d cases", n)
	}
}

func TestMissingSideCoversEverything(t *testing.T) {
	// Graph's own create example sets only one side of a B2B setting.
	// "Block g1" alone blocks g1 from every application; "allow a1" alone
	// lets everyone use only a1.
	home := mustDefault(t, `{"b2bDirectConnectOutbound":`+allowAll+`}`)
	res := mustDefault(t, `{"b2bDirectConnectInbound":`+allowAll+`}`)
	w := newWorld(home, []Partner{mustPartner(t, `{"tenantId":"`+contoso+`",
	  "b2bDirectConnectOutbound":{"usersAndGroups":{"accessType":"blocked","targets":[{"target":"`+g1+`","targetType":"group"}]}}}`)},
		res, []Partner{mustPartner(t, `{"tenantId":"`+fabrikam+`",
	  "b2bDirectConnectInbound":{"applications":{"accessType":"allowed","targets":[{"target":"`+a1+`","targetType":"application"}]}}}`)})
	for _, c := range []struct {
		user, app string
		want      bool
		layer     string
	}{
		{u2, a1, false, LayerHomeOutbound},
		{u2, "", false, LayerHomeOutbound},
		{u3, a1, true, ""},
		{u3, a2, false, LayerResourceInbound},
		{u1, "", true, ""},
	} {
		r := Evaluate(w.input(B2BDirectConnect, c.user, c.app))
		if r.Allowed() != c.want || !c.want && r.DecidingLayer != c.layer {
			t.Errorf("user %s app %q: %s by %s, want allowed=%v by %s\n%s", c.user[:8], c.app, r.Decision, r.DecidingLayer, c.want, c.layer, reasons(r))
		}
	}
}

func TestMissingSideImposesNothing(t *testing.T) {
	// The other two one-sided forms: "allow g1" alone lets g1 use every
	// application; "block a1" alone keeps everyone from a1 only.
	for _, c := range []struct {
		name, inbound string
		want          map[[2]string]bool
	}{
		{"allow g1 alone", `{"usersAndGroups":{"accessType":"allowed","targets":[{"target":"` + g1 + `","targetType":"group"}]}}`,
			map[[2]string]bool{{u2, a1}: true, {u2, a2}: true, {u2, ""}: true, {u3, a1}: false, {u3, ""}: false}},
		{"block a1 alone", `{"applications":{"accessType":"blocked","targets":[{"target":"` + a1 + `","targetType":"application"}]}}`,
			map[[2]string]bool{{u2, a1}: false, {u3, a1}: false, {u3, a2}: true, {u3, ""}: true}},
	} {
		w := newWorld(SystemDefault(), nil, SystemDefault(), []Partner{mustPartner(t, `{"tenantId":"`+fabrikam+`","b2bCollaborationInbound":`+c.inbound+`}`)})
		for rq, want := range c.want {
			if r := Evaluate(w.input(B2BCollaboration, rq[0], rq[1])); r.Allowed() != want {
				t.Errorf("%s, user %s app %q: %s\n%s", c.name, rq[0][:8], rq[1], r.Decision, reasons(r))
			}
		}
	}
}

func TestNoApplicationAndOffice365(t *testing.T) {
	for _, c := range []struct {
		name, inbound string
		user          string
		want          bool
	}{
		{"allowed list naming an app lets the user reach it", `{"usersAndGroups":{"accessType":"allowed","targets":[{"target":"AllUsers","targetType":"user"}]},
		  "applications":{"accessType":"allowed","targets":[{"target":"` + a1 + `","targetType":"application"}]}}`, u3, true},
		{"Office365 alone names nothing of this deployment", `{"usersAndGroups":{"accessType":"allowed","targets":[{"target":"AllUsers","targetType":"user"}]},
		  "applications":{"accessType":"allowed","targets":[{"target":"Office365","targetType":"application"}]}}`, u3, false},
		{"blocked AllApplications leaves nothing", `{"usersAndGroups":{"accessType":"allowed","targets":[{"target":"AllUsers","targetType":"user"}]},
		  "applications":{"accessType":"blocked","targets":[{"target":"AllApplications","targetType":"application"}]}}`, u3, false},
		{"blocked a1 leaves the rest", `{"usersAndGroups":{"accessType":"allowed","targets":[{"target":"AllUsers","targetType":"user"}]},
		  "applications":{"accessType":"blocked","targets":[{"target":"` + a1 + `","targetType":"application"}]}}`, u3, true},
		{"row 9: g1 blocked only from a1 may still redeem", `{"usersAndGroups":{"accessType":"blocked","targets":[{"target":"` + g1 + `","targetType":"group"}]},
		  "applications":{"accessType":"blocked","targets":[{"target":"` + a1 + `","targetType":"application"}]}}`, u2, true},
		{"row 6: g1 blocked from everything may not", `{"usersAndGroups":{"accessType":"blocked","targets":[{"target":"` + g1 + `","targetType":"group"}]},
		  "applications":{"accessType":"blocked","targets":[{"target":"AllApplications","targetType":"application"}]}}`, u2, false},
	} {
		w := newWorld(SystemDefault(), nil, mustDefault(t, `{"b2bCollaborationInbound":`+c.inbound+`}`), nil)
		r := Evaluate(w.input(B2BCollaboration, c.user, ""))
		if r.Allowed() != c.want {
			t.Errorf("%s: %s\n%s", c.name, r.Decision, reasons(r))
		}
	}
	// Office365 never matches a Gatehouse application, allowed or blocked.
	w := newWorld(SystemDefault(), nil, mustDefault(t, `{"b2bCollaborationInbound":{"applications":{"accessType":"blocked","targets":[{"target":"Office365","targetType":"application"}]}}}`), nil)
	if r := Evaluate(w.input(B2BCollaboration, u3, a1)); !r.Allowed() {
		t.Errorf("blocked Office365 blocked a Gatehouse app\n%s", reasons(r))
	}
}

func TestIssueScenarios(t *testing.T) {
	const blockOut = `"b2bCollaborationOutbound":` + blockAll
	t.Run("Fabrikam blocks outbound to Contoso", func(t *testing.T) {
		w := newWorld(SystemDefault(), []Partner{mustPartner(t, `{"tenantId":"`+contoso+`",`+blockOut+`}`)}, SystemDefault(), nil)
		// Sign-in and refresh make the same call; both refuse with 500212.
		for _, app := range []string{a1, ""} {
			r := Evaluate(w.input(B2BCollaboration, u3, app))
			if r.Allowed() || r.ErrorCode != ErrOutboundPolicy || r.DecidingLayer != LayerHomeOutbound {
				t.Errorf("app %q: %s %d\n%s", app, r.Decision, r.ErrorCode, reasons(r))
			}
			if !strings.Contains(r.Layers()[1].Reason, "Fabrikam's outbound B2B collaboration settings for Contoso (partner configuration) block all users") {
				t.Errorf("reason: %s", r.Layers()[1].Reason)
			}
		}
		// Fabrikam users may still go to Northwind.
		in := w.input(B2BCollaboration, u3, a1)
		in.ResourceTenantID, in.ResourceTenantName, in.HomeOutbound = northwind, "Northwind", w.home.For(northwind)
		if r := Evaluate(in); !r.Allowed() {
			t.Errorf("Fabrikam to Northwind: %s\n%s", r.Decision, reasons(r))
		}
	})
	t.Run("Contoso allows in only Fabrikam's group G", func(t *testing.T) {
		w := newWorld(SystemDefault(), nil, SystemDefault(), []Partner{mustPartner(t, `{"tenantId":"`+fabrikam+`","b2bCollaborationInbound":{
		  "usersAndGroups":{"accessType":"allowed","targets":[{"target":"`+g1+`","targetType":"group"}]},
		  "applications":{"accessType":"allowed","targets":[{"target":"AllApplications","targetType":"application"}]}}}`)})
		if r := Evaluate(w.input(B2BCollaboration, u2, a1)); !r.Allowed() {
			t.Errorf("member of G refused\n%s", reasons(r))
		}
		r := Evaluate(w.input(B2BCollaboration, u3, a1))
		if r.Allowed() || r.ErrorCode != ErrInboundPolicy || r.Layers()[2].Rule != "partners/"+fabrikam+"/b2bCollaborationInbound/usersAndGroups" {
			t.Errorf("non-member: %s %d %s", r.Decision, r.ErrorCode, r.Layers()[2].Rule)
		}
		if !strings.Contains(r.Layers()[2].Reason, "neither listed nor in a listed group") {
			t.Errorf("reason: %s", r.Layers()[2].Reason)
		}
	})
	t.Run("default blocks all, a partner allows one tenant", func(t *testing.T) {
		w := newWorld(SystemDefault(), nil, mustDefault(t, `{"b2bCollaborationInbound":`+blockAll+`}`),
			[]Partner{mustPartner(t, `{"tenantId":"`+fabrikam+`","b2bCollaborationInbound":`+allowAll+`}`)})
		if r := Evaluate(w.input(B2BCollaboration, u3, a1)); !r.Allowed() {
			t.Errorf("Fabrikam refused\n%s", reasons(r))
		}
		in := w.input(B2BCollaboration, u3, a1)
		in.HomeTenantID, in.HomeTenantName, in.ResourceInbound = northwind, "Northwind", w.resource.For(northwind)
		r := Evaluate(in)
		if r.Allowed() || r.ErrorCode != ErrInboundPolicy || r.Layers()[2].Rule != "default/b2bCollaborationInbound/usersAndGroups+applications" {
			t.Errorf("Northwind: %s %d %s", r.Decision, r.ErrorCode, r.Layers()[2].Rule)
		}
		if !strings.Contains(r.Layers()[2].Reason, "or give Northwind a partner configuration that allows it") {
			t.Errorf("reason does not say how to open one tenant: %s", r.Layers()[2].Reason)
		}
	})
	t.Run("MFA trusted from Fabrikam only", func(t *testing.T) {
		w := newWorld(SystemDefault(), nil, SystemDefault(), []Partner{mustPartner(t, `{"tenantId":"`+fabrikam+`","inboundTrust":{"isMfaAccepted":true}}`)})
		in := w.input(B2BCollaboration, u3, a1)
		in.HomeClaims, in.Required = Claims{MFA: true}, Claims{MFA: true}
		r := Evaluate(in)
		if !r.Allowed() || r.ChallengeMFA || !r.Trusted.MFA || r.Layers()[3].Rule != "partners/"+fabrikam+"/inboundTrust" {
			t.Errorf("Fabrikam guest after TOTP at home: challenge=%v trusted=%+v\n%s", r.ChallengeMFA, r.Trusted, reasons(r))
		}
		in.HomeTenantID, in.HomeTenantName, in.ResourceInbound = northwind, "Northwind", w.resource.For(northwind)
		r = Evaluate(in)
		if !r.Allowed() || !r.ChallengeMFA || r.Trusted.MFA || r.Layers()[3].Decision != DecisionChallenge {
			t.Errorf("Northwind guest: challenge=%v\n%s", r.ChallengeMFA, reasons(r))
		}
		if !strings.Contains(r.Layers()[3].Reason, "does not accept MFA claims from Northwind") {
			t.Errorf("reason: %s", r.Layers()[3].Reason)
		}
	})
	t.Run("automatic redemption needs both sides", func(t *testing.T) {
		homeP := mustPartner(t, `{"tenantId":"`+contoso+`","automaticUserConsentSettings":{"outboundAllowed":true}}`)
		resP := mustPartner(t, `{"tenantId":"`+fabrikam+`","automaticUserConsentSettings":{"inboundAllowed":true}}`)
		w := newWorld(SystemDefault(), []Partner{homeP}, SystemDefault(), []Partner{resP})
		r := Evaluate(w.input(B2BCollaboration, u3, ""))
		if !r.AutomaticRedemption || r.Layers()[4].Decision != DecisionAllowed || !AutomaticRedemption(w.home.For(contoso), w.resource.For(fabrikam)) {
			t.Errorf("both sides on: %s", reasons(r))
		}
		w = newWorld(SystemDefault(), []Partner{homeP}, SystemDefault(), nil)
		r = Evaluate(w.input(B2BCollaboration, u3, ""))
		if r.AutomaticRedemption || r.Layers()[4].Decision != DecisionConsent || !strings.Contains(r.Layers()[4].Reason, "; Contoso's is not enabled") ||
			r.Layers()[4].Rule != "resourceInbound: default/automaticUserConsentSettings/inboundAllowed" {
			t.Errorf("home side only: %s", reasons(r))
		}
		if strings.Contains(r.Layers()[4].Reason, "Fabrikam's is not enabled") {
			t.Errorf("blames the side that enabled it: %s", r.Layers()[4].Reason)
		}
	})
}

// blockedDomain is the invitation layer's refusal of an address on the
// block list, as b2b.DomainAllowed words it (b2b imports this package, so
// the end-to-end test in internal/app drives the real one).
func blockedDomain(domain string) InvitationDecision {
	return InvitationDecision{Rule: "blockedDomains", Reason: "The domain " + domain + " is on the organization's block list."}
}

// The seed's examples of how the invitation layer and this one combine
// (PRODUCT.md §3).
func TestSeedExamples(t *testing.T) {
	open := newWorld(SystemDefault(), nil, SystemDefault(), nil)

	// Example 1: adatum.example is on the invitation block list while
	// cross-tenant access allows everyone: nobody can invite Adatum users.
	d := blockedDomain("adatum.example")
	in := open.input(B2BCollaboration, u3, "")
	in.HomeTenantID, in.HomeTenantName = adatum, "Adatum"
	in.Invitation = &d
	r := Evaluate(in)
	if r.Allowed() || r.DecidingLayer != LayerExternalCollaboration || r.ErrorCode != 0 || r.Layers()[0].Rule != "blockedDomains" {
		t.Errorf("example 1: %s by %s (%d)\n%s", r.Decision, r.DecidingLayer, r.ErrorCode, reasons(r))
	}
	if r.Layers()[1].Decision != DecisionAllowed || r.Layers()[2].Decision != DecisionAllowed {
		t.Errorf("example 1: cross-tenant layers should allow\n%s", reasons(r))
	}

	// Example 2: Fabrikam allowed in cross-tenant access, then
	// fabrikam.example put on the block list: no new invitations...
	w := newWorld(SystemDefault(), nil, mustDefault(t, `{"b2bCollaborationInbound":`+blockAll+`}`),
		[]Partner{mustPartner(t, `{"tenantId":"`+fabrikam+`","b2bCollaborationInbound":`+allowAll+`}`)})
	d = blockedDomain("fabrikam.example")
	in = w.input(B2BCollaboration, u3, "")
	in.Invitation = &d
	if r := Evaluate(in); r.Allowed() || r.DecidingLayer != LayerExternalCollaboration {
		t.Errorf("example 2, inviting: %s by %s", r.Decision, r.DecidingLayer)
	}
	// ...but existing Fabrikam guests keep signing in.
	in.Invitation = nil
	if r := Evaluate(in); !r.Allowed() || r.Layers()[0].Decision != DecisionNotApplicable {
		t.Errorf("example 2, existing guest: %s\n%s", r.Decision, reasons(r))
	}
	// And the most restrictive layer still wins the other way round: the
	// domain may be invited, but cross-tenant access refuses Northwind.
	d = InvitationDecision{Allowed: true, Rule: "blockedDomains", Reason: "The domain northwind.example is not on the block list."}
	in = w.input(B2BCollaboration, u3, "")
	in.HomeTenantID, in.HomeTenantName, in.ResourceInbound, in.Invitation = northwind, "Northwind", w.resource.For(northwind), &d
	if r := Evaluate(in); r.Allowed() || r.DecidingLayer != LayerResourceInbound || r.ErrorCode != ErrInboundPolicy || r.Layers()[0].Decision != DecisionAllowed {
		t.Errorf("invitable but refused inbound: %s by %s\n%s", r.Decision, r.DecidingLayer, reasons(r))
	}
}

func TestBothSidesRefuseReportsHomeFirst(t *testing.T) {
	w := newWorld(mustDefault(t, `{"b2bCollaborationOutbound":`+blockAll+`}`), nil, mustDefault(t, `{"b2bCollaborationInbound":`+blockAll+`}`), nil)
	r := Evaluate(w.input(B2BCollaboration, u1, a1))
	if r.DecidingLayer != LayerHomeOutbound || r.ErrorCode != ErrOutboundPolicy || r.Layers()[2].Decision != DecisionBlocked {
		t.Errorf("%s %d\n%s", r.DecidingLayer, r.ErrorCode, reasons(r))
	}
}

func TestUsersWhoseHomeIsNotATenant(t *testing.T) {
	w := newWorld(SystemDefault(), nil, mustDefault(t, `{"b2bCollaborationInbound":`+blockAll+`}`), nil)
	in := w.input(B2BCollaboration, u3, a1)
	in.HomeTenantID, in.HomeTenantName, in.HomeOutbound, in.ResourceInbound = "", "", nil, nil
	in.Required = Claims{MFA: true}
	// A social or one-time-passcode guest: cross-tenant settings do not
	// apply (even a default that blocks every tenant), MFA is challenged,
	// and there is a consent page.
	r := Evaluate(in)
	if !r.Allowed() || r.Layers()[1].Decision != DecisionNotApplicable || r.Layers()[2].Decision != DecisionNotApplicable ||
		!r.ChallengeMFA || r.Layers()[4].Decision != DecisionConsent || r.DecidingLayer != "" {
		t.Errorf("%s by %q\n%s", r.Decision, r.DecidingLayer, reasons(r))
	}
	// B2B direct connect needs a home tenant.
	in.AccessType = B2BDirectConnect
	if r := Evaluate(in); r.Allowed() || r.DecidingLayer != LayerResourceInbound {
		t.Errorf("direct connect without a home tenant: %s\n%s", r.Decision, reasons(r))
	}
}

func TestFailClosed(t *testing.T) {
	w := newWorld(SystemDefault(), nil, SystemDefault(), nil)

	in := w.input(B2BCollaboration, u3, a1)
	in.HomeOutbound = nil
	if r := Evaluate(in); r.Allowed() || r.ErrorCode != ErrOutboundPolicy {
		t.Errorf("unread home policy: %s", r.Decision)
	}
	in.HomeElsewhere = true // a tenant of another deployment enforces its own
	if r := Evaluate(in); !r.Allowed() || r.Layers()[1].Decision != DecisionNotApplicable || r.DecidingLayer != LayerResourceInbound {
		t.Errorf("home in another deployment: %s\n%s", r.Decision, reasons(r))
	}

	in = w.input(B2BCollaboration, u3, a1)
	in.ResourceInbound = nil
	if r := Evaluate(in); r.Allowed() || r.ErrorCode != ErrInboundPolicy {
		t.Errorf("unread resource policy: %s", r.Decision)
	}

	in = w.input("b2bSomethingElse", u3, a1)
	if r := Evaluate(in); r.Allowed() {
		t.Errorf("unknown access type allowed")
	}

	// A stored accessType we cannot read (written before a new enum member
	// existed, say) lets nobody in, with a reason saying so.
	bad := SystemDefault()
	bad.B2BCollaborationInbound = &B2BSetting{
		UsersAndGroups: &TargetConfiguration{AccessType: "unknownFutureValue", Targets: []Target{{AllUsers, TargetTypeUser}}},
		Applications:   &TargetConfiguration{AccessType: Allowed, Targets: []Target{{AllApplications, TargetTypeApplication}}},
	}
	w = newWorld(SystemDefault(), nil, bad, nil)
	if r := Evaluate(w.input(B2BCollaboration, u3, a1)); r.Allowed() || !strings.Contains(r.Layers()[2].Reason, "fail closed") {
		t.Errorf("unreadable accessType: %s\n%s", r.Decision, reasons(r))
	}
	// An unreadable target blocks everyone in a blocked list and admits
	// nobody extra in an allowed list.
	bad.B2BCollaborationInbound = &B2BSetting{
		UsersAndGroups: &TargetConfiguration{AccessType: Blocked, Targets: []Target{{"not-a-guid", TargetTypeGroup}}},
		Applications:   &TargetConfiguration{AccessType: Allowed, Targets: []Target{{AllApplications, TargetTypeApplication}}},
	}
	w = newWorld(SystemDefault(), nil, bad, nil)
	if r := Evaluate(w.input(B2BCollaboration, u3, a1)); r.Allowed() {
		t.Errorf("unreadable blocked target let a user in")
	}
	bad.B2BCollaborationInbound.UsersAndGroups.AccessType = Allowed
	w = newWorld(SystemDefault(), nil, bad, nil)
	if r := Evaluate(w.input(B2BCollaboration, u3, a1)); r.Allowed() {
		t.Errorf("unreadable allowed target admitted a user")
	}
}

func TestInboundTrust(t *testing.T) {
	trustAll := mustPartner(t, `{"tenantId":"`+fabrikam+`","inboundTrust":{"isMfaAccepted":true,"isCompliantDeviceAccepted":true,"isHybridAzureADJoinedDeviceAccepted":true},
	  "b2bDirectConnectInbound":`+allowAll+`}`)
	open := mustDefault(t, `{"b2bDirectConnectOutbound":`+allowAll+`,"b2bDirectConnectInbound":`+allowAll+`}`)
	for _, c := range []struct {
		name          string
		trusting      bool
		access        AccessType
		home, require Claims
		want          string
	}{
		{"nothing required", false, B2BCollaboration, Claims{}, Claims{}, DecisionAllowed},
		{"MFA untrusted: challenge", false, B2BCollaboration, Claims{MFA: true}, Claims{MFA: true}, DecisionChallenge},
		{"MFA trusted and done", true, B2BCollaboration, Claims{MFA: true}, Claims{MFA: true}, DecisionAllowed},
		{"MFA trusted, not done at home", true, B2BCollaboration, Claims{}, Claims{MFA: true}, DecisionChallenge},
		{"direct connect MFA untrusted: blocked", false, B2BDirectConnect, Claims{MFA: true}, Claims{MFA: true}, DecisionBlocked},
		{"direct connect MFA trusted", true, B2BDirectConnect, Claims{MFA: true}, Claims{MFA: true}, DecisionAllowed},
		{"compliant device untrusted: blocked", false, B2BCollaboration, Claims{CompliantDevice: true}, Claims{CompliantDevice: true}, DecisionBlocked},
		{"compliant device trusted", true, B2BCollaboration, Claims{CompliantDevice: true}, Claims{CompliantDevice: true}, DecisionAllowed},
		{"hybrid device trusted, not shown", true, B2BCollaboration, Claims{}, Claims{HybridJoinedDevice: true}, DecisionBlocked},
		{"device and MFA: device decides", false, B2BCollaboration, Claims{MFA: true}, Claims{MFA: true, CompliantDevice: true}, DecisionBlocked},
	} {
		var partners []Partner
		if c.trusting {
			partners = []Partner{trustAll}
		}
		w := newWorld(open, nil, open, partners)
		in := w.input(c.access, u3, a1)
		in.HomeClaims, in.Required = c.home, c.require
		r := Evaluate(in)
		l := r.Layers()[3]
		if l.Decision != c.want || l.Reason == "" {
			t.Errorf("%s: %s, want %s\n%s", c.name, l.Decision, c.want, reasons(r))
		}
		if c.want == DecisionBlocked && (r.Allowed() || r.DecidingLayer != LayerInboundTrust || r.ErrorCode != 0) {
			t.Errorf("%s: %s by %s (%d)", c.name, r.Decision, r.DecidingLayer, r.ErrorCode)
		}
		if r.ChallengeMFA != (c.want == DecisionChallenge) {
			t.Errorf("%s: ChallengeMFA %v", c.name, r.ChallengeMFA)
		}
		if got := TrustedClaims(in.ResourceInbound, c.home); got != r.Trusted {
			t.Errorf("%s: TrustedClaims %+v, result %+v", c.name, got, r.Trusted)
		}
	}
}

func TestIDsCompareWithoutCase(t *testing.T) {
	w := newWorld(SystemDefault(), nil, SystemDefault(), []Partner{mustPartner(t, `{"tenantId":"`+strings.ToUpper(fabrikam)+`","b2bCollaborationInbound":{
	  "usersAndGroups":{"accessType":"allowed","targets":[{"target":"`+strings.ToUpper(g1)+`","targetType":"Group"}]},
	  "applications":{"accessType":"allowed","targets":[{"target":"`+a1+`","targetType":"application"}]}}}`)})
	in := w.input(B2BCollaboration, strings.ToUpper(u2), strings.ToUpper(a1))
	in.User.Groups = []string{strings.ToUpper(g2), strings.ToUpper(g1)}
	in.ResourceInbound = w.resource.For(strings.ToUpper(fabrikam))
	if r := Evaluate(in); !r.Allowed() || r.Layers()[2].Rule != "partners/"+fabrikam+"/b2bCollaborationInbound" {
		t.Errorf("%s\n%s", r.Decision, reasons(r))
	}
}

func TestCompiledCopies(t *testing.T) {
	c := Compile(contoso, SystemDefault(), nil)
	p := mustPartner(t, `{"tenantId":"`+fabrikam+`","b2bCollaborationInbound":`+blockAll+`}`)
	with := c.WithPartner(p)
	if c.Len() != 0 || with.Len() != 1 || with.Owner() != contoso {
		t.Fatalf("lengths %d %d", c.Len(), with.Len())
	}
	if c.For(fabrikam).HasPartner() || !with.For(fabrikam).HasPartner() {
		t.Error("WithPartner changed the original or did not add")
	}
	without := with.WithoutPartner(strings.ToUpper(fabrikam))
	if without.Len() != 0 || with.Len() != 1 {
		t.Error("WithoutPartner changed the original or did not remove")
	}
	// A settings value compiled on its own decides as the policy does.
	w := world{home: Compile(fabrikam, SystemDefault(), nil), resource: with}
	in := w.input(B2BCollaboration, u3, a1)
	want := Evaluate(in)
	in.ResourceInbound = CompileSettings(Effective(SystemDefault(), &p))
	if got := Evaluate(in); got.Decision != want.Decision || got.Layers()[2].Rule != want.Layers()[2].Rule {
		t.Errorf("CompileSettings: %s %s, want %s %s", got.Decision, got.Layers()[2].Rule, want.Decision, want.Layers()[2].Rule)
	}
}

func TestIDsSharingAKey(t *testing.T) {
	// Ids are searched by their first and last eight characters and then
	// compared whole, so ids that differ only in the middle must never be
	// mistaken for each other — as partners or as targets.
	p1 := "11111111-aaaa-4000-8000-000011111111"
	p2 := "11111111-bbbb-4000-8000-000011111111"
	p3 := "11111111-cccc-4000-8000-000011111111"
	if idKey(p1) != idKey(p2) || idKey(p2) != idKey(p3) {
		t.Fatal("the test ids do not share a key")
	}
	c := Compile(contoso, SystemDefault(), []Partner{
		mustPartner(t, `{"tenantId":"`+p1+`","b2bCollaborationInbound":`+blockAll+`}`),
		mustPartner(t, `{"tenantId":"`+p2+`"}`),
		mustPartner(t, `{"tenantId":"`+p3+`","inboundTrust":{"isMfaAccepted":true}}`),
	})
	if c.Len() != 3 || c.For(p1).collabIn.users.access != accessBlocked || c.For(p2).collabIn.users.access != accessAllowed ||
		!c.For(strings.ToUpper(p3)).InboundTrust().Value.IsMfaAccepted || c.For("11111111-dddd-4000-8000-000011111111").HasPartner() {
		t.Fatal("partners sharing a key are confused")
	}
	for _, gone := range []string{p1, p2, p3} {
		d := c.WithoutPartner(gone)
		if d.Len() != 2 || d.For(gone).HasPartner() {
			t.Errorf("WithoutPartner(%s) did not remove it", gone)
		}
		for _, kept := range []string{p1, p2, p3} {
			if kept != gone && (!d.For(kept).HasPartner() || !c.For(kept).HasPartner()) {
				t.Errorf("WithoutPartner(%s) lost %s", gone, kept)
			}
		}
	}
	// Replacing one in the middle of the chain keeps the others.
	r := c.WithPartner(mustPartner(t, `{"tenantId":"`+p2+`","b2bCollaborationInbound":`+blockAll+`}`))
	if r.Len() != 3 || r.For(p2).collabIn.users.access != accessBlocked || c.For(p2).collabIn.users.access != accessAllowed || !r.For(p3).InboundTrust().Value.IsMfaAccepted {
		t.Error("WithPartner over a shared key")
	}

	// As targets: a group sharing a key with the user's group is not it.
	w := newWorld(SystemDefault(), nil, SystemDefault(), []Partner{mustPartner(t, `{"tenantId":"`+fabrikam+`","b2bCollaborationInbound":{
	  "usersAndGroups":{"accessType":"allowed","targets":[{"target":"`+p1+`","targetType":"group"},{"target":"`+p3+`","targetType":"group"}]}}}`)})
	in := w.input(B2BCollaboration, u3, a1)
	in.User.Groups = []string{p2}
	if r := Evaluate(in); r.Allowed() {
		t.Errorf("a group sharing a key matched\n%s", reasons(r))
	}
	in.User.Groups = []string{p2, strings.ToUpper(p3)}
	if r := Evaluate(in); !r.Allowed() || !strings.Contains(r.Layers()[2].Reason, "members of group "+p3) {
		t.Errorf("the listed group did not match\n%s", reasons(r))
	}
}
