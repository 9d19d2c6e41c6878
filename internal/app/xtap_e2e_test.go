package app_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// b2bRule is a crossTenantAccessPolicyB2BSetting in Graph's wire form:
// the users and groups side and the applications side, each allowed or
// blocked for its targets ("AllUsers", "AllApplications" or object ids).
func b2bRule(usersAccess string, users []string, appsAccess string, apps []string) map[string]any {
	targets := func(ids []string, kind string) []map[string]any {
		out := []map[string]any{}
		for _, id := range ids {
			typ := kind
			switch {
			case id == "AllUsers":
				typ = "user"
			case id == "AllApplications":
				typ = "application"
			case strings.HasPrefix(id, "group:"):
				id, typ = strings.TrimPrefix(id, "group:"), "group"
			}
			out = append(out, map[string]any{"target": id, "targetType": typ})
		}
		return out
	}
	return map[string]any{
		"usersAndGroups": map[string]any{"accessType": usersAccess, "targets": targets(users, "user")},
		"applications":   map[string]any{"accessType": appsAccess, "targets": targets(apps, "application")},
	}
}

var (
	allowAll = b2bRule("allowed", []string{"AllUsers"}, "allowed", []string{"AllApplications"})
	blockAll = b2bRule("blocked", []string{"AllUsers"}, "blocked", []string{"AllApplications"})
)

const partners = "/v1.0/policies/crossTenantAccessPolicy/partners"

// partner creates (or replaces) a's configuration for the partner tenant.
func (e *env) partner(a tenant, partnerID string, props map[string]any) {
	e.t.Helper()
	if r := e.call("GET", partners+"/"+partnerID, a.token, nil); r.status == 200 {
		e.mustCall(204, "DELETE", partners+"/"+partnerID, a.token, nil)
	}
	body := map[string]any{"tenantId": partnerID}
	for k, v := range props {
		body[k] = v
	}
	e.mustCall(201, "POST", partners, a.token, body)
}

// whatIf asks the resource tenant's what-if about a home user and an app.
func (e *env) whatIf(resource tenant, homeTenantID, userID, appID string) map[string]any {
	e.t.Helper()
	return e.mustCall(200, "POST", "/v1.0/policies/crossTenantAccessPolicy/evaluate", resource.token, map[string]any{
		"accessType": "b2bCollaboration", "homeTenantId": homeTenantID, "userId": userID, "appId": appID,
	}).body
}

// signInErrors lists the error codes of a tenant's sign-in log entries
// for the user principal name.
func (e *env) signInErrors(a tenant, upn string) []float64 {
	e.t.Helper()
	var out []float64
	filter := url.QueryEscape("userPrincipalName eq '" + upn + "'")
	for _, s := range e.mustCall(200, "GET", "/v1.0/auditLogs/signIns?$filter="+filter, a.token, nil).values() {
		out = append(out, s["status"].(map[string]any)["errorCode"].(float64))
	}
	return out
}

// TestCrossTenantAccessEndToEnd walks issue 8's cases through Graph and
// the hosted pages, and asks the what-if about each: the answer it gives
// must be what the sign-in did.
func TestCrossTenantAccessEndToEnd(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		contoso, fabrikam, northwind := e.tenant("Contoso", "contoso.example"), e.tenant("Fabrikam", "fabrikam.example"), e.tenant("Northwind", "northwind.example")
		ana, ben, nia := e.homeUser(fabrikam, "ana"), e.homeUser(fabrikam, "ben"), e.homeUser(northwind, "nia")
		g := e.mustCall(201, "POST", "/v1.0/groups", fabrikam.token, map[string]any{"displayName": "Partners", "mailEnabled": false,
			"mailNickname": "partners", "securityEnabled": true}).body["id"].(string)
		e.mustCall(204, "POST", "/v1.0/groups/"+g+"/members/$ref", fabrikam.token, map[string]any{"@odata.id": e.public + "/v1.0/directoryObjects/" + ana})
		appID, secret, redirect := e.webApp(contoso, "Contoso app")

		// Each guest redeems by the link with the consent page, as by default.
		type guest struct{ addr, pw, home, homeID, id string }
		guests := map[string]*guest{
			"ana": {"ana@fabrikam.example", "correct horse battery ana", fabrikam.id, ana, ""},
			"ben": {"ben@fabrikam.example", "correct horse battery ben", fabrikam.id, ben, ""},
			"nia": {"nia@northwind.example", "correct horse battery nia", northwind.id, nia, ""},
		}
		answers := func(g *guest, sawReview *bool) func(string, page) map[string]string {
			return func(step string, p page) map[string]string {
				switch step {
				case "invite":
					return map[string]string{}
				case "username":
					return map[string]string{"username": g.addr}
				case "password":
					return map[string]string{"password": g.pw}
				case "kmsi":
					return map[string]string{"stay": "no"}
				case "review":
					if sawReview != nil {
						*sawReview = true
					}
					return map[string]string{"decision": "accept"}
				case "consent":
					return map[string]string{"decision": "accept"}
				}
				return nil
			}
		}
		for _, name := range []string{"ana", "ben", "nia"} {
			g := guests[name]
			inv := e.mustCall(201, "POST", "/v1.0/invitations", contoso.token, map[string]any{"invitedUserEmailAddress": g.addr, "inviteRedirectUrl": welcome}).body
			g.id = inv["invitedUser"].(map[string]any)["id"].(string)
			var reviewed bool
			b := newGuestBrowser(t, e)
			if away := b.walk(b.open(inv["inviteRedeemUrl"].(string)), answers(g, &reviewed)); away.String() != welcome || !reviewed {
				t.Fatalf("%s's redemption ended at %s (consent page shown: %v)", name, away, reviewed)
			}
		}

		// signIn signs a guest in to Contoso's app: the refresh token, or
		// the refusal page's error code.
		signIn := func(g *guest) (refresh string, refused string) {
			t.Helper()
			b := newGuestBrowser(t, e)
			q := url.Values{"client_id": {appID}, "response_type": {"code"}, "redirect_uri": {redirect}, "scope": {"openid offline_access"},
				"state": {"s"}, "nonce": {"n"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
			p := b.open(e.url + "/" + contoso.id + "/oauth2/v2.0/authorize?" + q.Encode())
			for range 10 {
				if p.Away != nil {
					return p.Away.Query().Get("code"), ""
				}
				if p.Status == 403 {
					for _, code := range []string{"500212", "500213"} {
						if strings.Contains(p.Body, code) {
							return "", code
						}
					}
					t.Fatalf("refusal page without an AADSTS code: %.1500s", p.Body)
				}
				fields := answers(g, nil)(p.Step(), p)
				if fields == nil {
					t.Fatalf("step %q: %d %.1500s", p.Step(), p.Status, p.Body)
				}
				p = b.submit(p, fields)
			}
			t.Fatal("the sign-in did not end")
			return "", ""
		}
		check := func(label string, g *guest, want string) {
			t.Helper()
			code, refused := signIn(g)
			if refused != want || (want == "") != (code != "") {
				t.Errorf("%s: %s's sign-in refused with %q (code %q), want %q", label, g.addr, refused, code, want)
			}
			verdict := e.whatIf(contoso, g.home, g.homeID, appID)
			wantDecision := "allowed"
			if want != "" {
				wantDecision = "blocked"
			}
			gotCode := ""
			if c, ok := verdict["errorCode"].(float64); ok {
				gotCode = fmt.Sprint(int(c))
			}
			if verdict["decision"] != wantDecision || gotCode != want {
				t.Errorf("%s: the what-if says %v for %s, the sign-in %q", label, verdict, g.addr, want)
			}
		}

		// Everyone may come by default.
		for _, name := range []string{"ana", "ben", "nia"} {
			check("defaults", guests[name], "")
		}

		// Fabrikam blocks outbound to Contoso: refused at home's word, at
		// sign-in and at the next refresh; each tenant logs its side.
		code, _ := signIn(guests["ana"])
		tok := e.form("/"+contoso.id+"/oauth2/v2.0/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {appID}, "client_secret": {secret},
			"code": {code}, "redirect_uri": {redirect}, "code_verifier": {"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}})
		if tok.status != 200 {
			t.Fatalf("code redemption: %d %s", tok.status, tok.raw)
		}
		e.partner(fabrikam, contoso.id, map[string]any{"b2bCollaborationOutbound": blockAll})
		check("home outbound blocked", guests["ana"], "500212")
		if r := e.refresh(contoso, appID, secret, tok.body["refresh_token"].(string)); r.status != 400 || !strings.Contains(r.raw, "AADSTS500212") {
			t.Errorf("refresh after the home tenant blocked outbound: %d %s", r.status, r.raw)
		}
		check("home outbound blocked", guests["nia"], "")
		e.mustCall(204, "DELETE", partners+"/"+contoso.id, fabrikam.token, nil)
		check("home outbound partner removed", guests["ana"], "")

		// Contoso lets in only Fabrikam's group.
		e.partner(contoso, fabrikam.id, map[string]any{"b2bCollaborationInbound": b2bRule("allowed", []string{"group:" + g}, "allowed", []string{"AllApplications"})})
		check("inbound group only", guests["ana"], "")
		check("inbound group only", guests["ben"], "500213")
		check("inbound group only", guests["nia"], "")

		// Contoso blocks everyone by default but lets Northwind in.
		e.mustCall(204, "DELETE", partners+"/"+fabrikam.id, contoso.token, nil)
		e.mustCall(204, "PATCH", "/v1.0/policies/crossTenantAccessPolicy/default", contoso.token, map[string]any{"b2bCollaborationInbound": blockAll})
		e.partner(contoso, northwind.id, map[string]any{"b2bCollaborationInbound": allowAll})
		check("default blocks, partner allows", guests["nia"], "")
		check("default blocks, partner allows", guests["ana"], "500213")
		e.mustCall(204, "POST", "/v1.0/policies/crossTenantAccessPolicy/default/resetToSystemDefault", contoso.token, nil)
		check("default reset", guests["ana"], "")

		// Each tenant logged its side of the refusals.
		hasCode := func(codes []float64, want float64) bool {
			for _, c := range codes {
				if c == want {
					return true
				}
			}
			return false
		}
		if !hasCode(e.signInErrors(fabrikam, "ana@fabrikam.example"), 500212) {
			t.Errorf("Fabrikam's log of Ana: %v, want a 500212", e.signInErrors(fabrikam, "ana@fabrikam.example"))
		}
		if err := e.app.FlushSignIns(context.Background()); err != nil {
			t.Fatal(err)
		}
		var refreshLogged bool
		for _, s := range e.mustCall(200, "GET", "/v1.0/auditLogs/signIns", fabrikam.token, nil).values() {
			refreshLogged = refreshLogged || s["isInteractive"] == false && s["userId"] == ana && s["status"].(map[string]any)["errorCode"] == float64(500212)
		}
		if !refreshLogged {
			t.Error("Fabrikam's log has no refused refresh of Ana's")
		}
		if !hasCode(e.signInErrors(contoso, "ben@fabrikam.example"), 500213) {
			t.Errorf("Contoso's log of Ben: %v, want a 500213", e.signInErrors(contoso, "ben@fabrikam.example"))
		}

		// Automatic redemption on both sides: no consent page.
		e.partner(fabrikam, contoso.id, map[string]any{"automaticUserConsentSettings": map[string]any{"outboundAllowed": true}})
		e.partner(contoso, fabrikam.id, map[string]any{"automaticUserConsentSettings": map[string]any{"inboundAllowed": true}})
		cleo := &guest{"cleo@fabrikam.example", "correct horse battery cleo", fabrikam.id, e.homeUser(fabrikam, "cleo"), ""}
		inv := e.mustCall(201, "POST", "/v1.0/invitations", contoso.token, map[string]any{"invitedUserEmailAddress": cleo.addr, "inviteRedirectUrl": welcome}).body
		var reviewed bool
		b := newGuestBrowser(t, e)
		if away := b.walk(b.open(inv["inviteRedeemUrl"].(string)), answers(cleo, &reviewed)); away.String() != welcome || reviewed {
			t.Errorf("redemption with automatic redemption on both sides ended at %s, consent page shown: %v", away, reviewed)
		}
		if v := e.whatIf(contoso, fabrikam.id, cleo.homeID, appID); !layerSays(v, "automaticRedemption", "allowed") {
			t.Errorf("what-if of automatic redemption: %v", v)
		}

		// The seed's first example: adatum.example on the block list while
		// cross-tenant access allows everyone: nobody can invite Adatum
		// users, and the what-if says the invitation layer decided.
		adatum := e.tenant("Adatum", "adatum.example")
		e.partner(contoso, adatum.id, map[string]any{"b2bCollaborationInbound": allowAll})
		e.mustCall(201, "POST", "/v1.0/policies/b2bManagementPolicies", contoso.token, map[string]any{
			"displayName": "B2BManagementPolicy", "isOrganizationDefault": true,
			"definition": []string{`{"B2BManagementPolicy":{"InvitationsAllowedAndBlockedDomainsPolicy":{"BlockedDomains":["adatum.example","fabrikam.example"]}}}`},
		})
		if r := e.call("POST", "/v1.0/invitations", contoso.token, map[string]any{"invitedUserEmailAddress": "ada@adatum.example", "inviteRedirectUrl": welcome}); r.status != 403 && r.status != 400 {
			t.Errorf("inviting a blocked domain that cross-tenant access allows: %d %s", r.status, r.raw)
		}
		v := e.mustCall(200, "POST", "/v1.0/policies/crossTenantAccessPolicy/evaluate", contoso.token, map[string]any{
			"accessType": "b2bCollaboration", "invitedUserEmailAddress": "ada@adatum.example"}).body
		if v["decision"] != "blocked" || v["decidingLayer"] != "externalCollaborationSettings" || v["errorCode"] != nil || !layerSays(v, "resourceInbound", "allowed") {
			t.Errorf("what-if of inviting Adatum: %v", v)
		}
		// The seed's second example: Fabrikam allowed in cross-tenant
		// access, then fabrikam.example blocked (above): no new Fabrikam
		// invitations, but the Fabrikam guests already in keep signing in.
		e.partner(contoso, fabrikam.id, map[string]any{"b2bCollaborationInbound": allowAll})
		if r := e.call("POST", "/v1.0/invitations", contoso.token, map[string]any{"invitedUserEmailAddress": "dan@fabrikam.example", "inviteRedirectUrl": welcome}); r.status/100 != 4 {
			t.Errorf("inviting Fabrikam after the block: %d %s", r.status, r.raw)
		}
		check("a blocked domain's existing guest", guests["ana"], "")
	})
}

// layerSays reports whether the what-if's layer decided so.
func layerSays(verdict map[string]any, layer, decision string) bool {
	layers, _ := verdict["layers"].([]any)
	for _, l := range layers {
		if m, _ := l.(map[string]any); m["layer"] == layer {
			return m["decision"] == decision
		}
	}
	return false
}

// TestCrossTenantChangeOnAnotherNode: a change of the settings made
// through one node applies at once to the guests of another node of the
// same deployment: its next refresh and its what-if see it.
func TestCrossTenantChangeOnAnotherNode(t *testing.T) {
	for name, open := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			st := nopClose{open(t)}
			keys := t.TempDir() // one master key for the deployment
			a := newNode(t, st, app.Config{DataDir: keys})
			b := newNode(t, st, app.Config{DataDir: keys, PublicURL: a.public})
			contoso, fabrikam := a.tenant("Contoso", "contoso.example"), a.tenant("Fabrikam", "fabrikam.example")
			ana := a.homeUser(fabrikam, "ana")
			inv := a.mustCall(201, "POST", "/v1.0/invitations", contoso.token, map[string]any{"invitedUserEmailAddress": "ana@fabrikam.example", "inviteRedirectUrl": welcome}).body
			fields := func(step string, p page) map[string]string {
				switch step {
				case "invite":
					return map[string]string{}
				case "username":
					return map[string]string{"username": "ana@fabrikam.example"}
				case "password":
					return map[string]string{"password": "correct horse battery ana"}
				case "kmsi":
					return map[string]string{"stay": "no"}
				case "review", "consent":
					return map[string]string{"decision": "accept"}
				}
				return nil
			}
			br := newGuestBrowser(t, a)
			if away := br.walk(br.open(inv["inviteRedeemUrl"].(string)), fields); away.String() != welcome {
				t.Fatalf("redemption ended at %s", away)
			}
			appID, secret, redirect := a.webApp(contoso, "Contoso app")
			_, refresh := a.guestSignIn(t, newGuestBrowser(t, a), contoso, appID, secret, redirect, fields)

			// Through node b, Contoso lets nobody from Fabrikam in.
			b.partner(contoso, fabrikam.id, map[string]any{"b2bCollaborationInbound": blockAll})
			if r := a.refresh(contoso, appID, secret, refresh); r.status != 400 || !strings.Contains(r.raw, "AADSTS500213") {
				t.Errorf("refresh at node a after the change at node b: %d %s", r.status, r.raw)
			}
			if v := a.whatIf(contoso, fabrikam.id, ana, appID); v["errorCode"] != float64(500213) {
				t.Errorf("what-if at node a: %v", v)
			}
		})
	}
}
