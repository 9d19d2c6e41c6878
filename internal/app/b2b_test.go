package app_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// guestBrowser is a browser for the B2B pages: it keeps cookies, follows
// redirects among the deployments' nodes (a guest goes from the resource
// tenant's pages to their provider and back) and stops where it is sent
// anywhere else (the invitation's redirect URL, an application).
type guestBrowser struct {
	t     *testing.T
	c     *http.Client
	hosts []string
}

func newGuestBrowser(t *testing.T, nodes ...*env) *guestBrowser {
	jar, _ := cookiejar.New(nil)
	b := &guestBrowser{t: t}
	for _, n := range nodes {
		b.hosts = append(b.hosts, mustParse(t, n.url).Host)
	}
	b.c = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if !slices.Contains(b.hosts, req.URL.Host) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

// page is where a walk stands: a page of the nodes, or Away when a node
// sent the browser elsewhere.
type page struct {
	URL    *url.URL
	Status int
	Body   string
	Away   *url.URL
}

var (
	stepField = regexp.MustCompile(`<input type="hidden" name="step" value="([^"]*)">`)
	formTag   = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)">(.*?)</form>`)
	hiddenTag = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// Step is the page's sign-in step ("" on a page without one).
func (p page) Step() string {
	if m := stepField.FindStringSubmatch(p.Body); m != nil {
		return m[1]
	}
	return ""
}

func (b *guestBrowser) read(resp *http.Response, err error) page {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := page{URL: resp.Request.URL, Status: resp.StatusCode, Body: string(body)}
	if loc := resp.Header.Get("Location"); loc != "" {
		p.Away, _ = resp.Request.URL.Parse(loc)
	}
	return p
}

func (b *guestBrowser) open(u string) page { return b.read(b.c.Get(u)) }

// submit posts the first form of p that has every field named in fields,
// with its hidden inputs and fields.
func (b *guestBrowser) submit(p page, fields map[string]string) page {
	b.t.Helper()
	for _, f := range formTag.FindAllStringSubmatch(p.Body, -1) {
		if !everyField(f[2], fields) {
			continue
		}
		form := url.Values{}
		for _, h := range hiddenTag.FindAllStringSubmatch(f[2], -1) {
			form.Set(h[1], html.UnescapeString(h[2]))
		}
		for k, v := range fields {
			form.Set(k, v)
		}
		action, err := p.URL.Parse(html.UnescapeString(f[1]))
		if err != nil {
			b.t.Fatal(err)
		}
		return b.read(b.c.PostForm(action.String(), form))
	}
	b.t.Fatalf("no form on step %q of %s with fields %v: %.800s", p.Step(), p.URL, fields, p.Body)
	return page{}
}

func everyField(form string, fields map[string]string) bool {
	for k := range fields {
		if !strings.Contains(form, `name="`+k+`"`) {
			return false
		}
	}
	return true
}

// walk answers each page by its step until a node sends the browser
// away, and returns where to. A step answer returns the fields to post.
func (b *guestBrowser) walk(p page, answer func(step string, p page) map[string]string) *url.URL {
	b.t.Helper()
	var steps []string
	for range 20 {
		if p.Away != nil {
			return p.Away
		}
		step := p.Step()
		if p.Status != http.StatusOK || step == "" {
			b.t.Fatalf("after steps %v: %d at %s: %.1500s", steps, p.Status, p.URL, p.Body)
		}
		steps = append(steps, step)
		fields := answer(step, p)
		if fields == nil {
			b.t.Fatalf("no answer for step %q (after %v): %.1500s", step, steps, p.Body)
		}
		p = b.submit(p, fields)
	}
	b.t.Fatalf("the walk did not end: steps %v", steps)
	return nil
}

var (
	redeemLink = regexp.MustCompile(`https?://[^\s"<>]+/redeem\?ticket=[^\s"<>]+`)
	eightDigit = regexp.MustCompile(`\b\d{8}\b`)
)

// newest returns the text of the newest message to address.
func newest(t *testing.T, mp *mailtest.Server, address string, atLeast int) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var hits []mailtest.Summary
		for _, s := range mp.Messages(t) {
			if slices.ContainsFunc(s.To, func(a mailtest.Address) bool { return strings.EqualFold(a.Address, address) }) {
				hits = append(hits, s)
			}
		}
		if len(hits) >= atLeast {
			return mp.Message(t, hits[0].ID).Text
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d message(s) to %s, want %d", len(hits), address, atLeast)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// invite invites address to the tenant through Graph with an email.
func (e *env) invite(a tenant, address, redirect string) map[string]any {
	e.t.Helper()
	return e.mustCall(201, "POST", "/v1.0/invitations", a.token, map[string]any{
		"invitedUserEmailAddress": address, "inviteRedirectUrl": redirect, "sendInvitationMessage": true,
	}).body
}

// redeemURL reads the redeem link of the invitation email to address and
// checks it is the one Graph answered.
func redeemURL(t *testing.T, mp *mailtest.Server, address string, inv map[string]any) string {
	t.Helper()
	link := html.UnescapeString(redeemLink.FindString(newest(t, mp, address, 1)))
	if link == "" || link != inv["inviteRedeemUrl"] {
		t.Fatalf("redeem link in the email %q, Graph's %q", link, inv["inviteRedeemUrl"])
	}
	return link
}

// guestState reads a guest's externalUserState and identities' issuers.
func (e *env) guestState(a tenant, id string) (string, []string) {
	e.t.Helper()
	u := e.mustCall(200, "GET", "/v1.0/users/"+id+"?$select=externalUserState,identities,userType,creationType", a.token, nil).body
	var issuers []string
	for _, i := range u["identities"].([]any) {
		issuers = append(issuers, i.(map[string]any)["issuer"].(string))
	}
	state, _ := u["externalUserState"].(string)
	return state, issuers
}

const welcome = "https://apps.contoso.example/welcome"

// TestB2BRedemptionEndToEnd: invitations sent through Graph are read back
// from a real SMTP server and redeemed through the pages by each identity
// the seed orders: (a) a home tenant of this deployment, (b) an OpenID
// provider the tenant configured for the domain (another Gatehouse
// deployment), (c) an email one-time passcode, (d) with passcodes off, a
// personal account made in the consumers tenant. Each ends Accepted at the
// invitation's redirect URL. Then the guest from (a) signs in to an app of
// the tenant and gets Entra's guest claims; blocking the guest's domain
// stops new invitations but not the guest (the seed's second example); and
// disabling the home account stops the guest's refreshes.
func TestB2BRedemptionEndToEnd(t *testing.T) {
	mp := mailtest.Start(t)
	for name, open := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			e := newNode(t, open(t), app.Config{SMTPURL: mp.SMTPURL, MailFrom: "invites@contoso.example"})
			contoso, fabrikam := e.tenant("Contoso", "contoso.example"), e.tenant("Fabrikam", "fabrikam.example")
			// Addresses unique per backend: both runs share one mailbox.
			tag := strings.ToLower(name)

			// (a) A home tenant of this deployment.
			ana := e.homeUser(fabrikam, "ana"+tag)
			anaAddr := "ana" + tag + "@fabrikam.example"
			anaPassword := "correct horse battery ana" + tag
			inv := e.invite(contoso, anaAddr, welcome)
			guest := inv["invitedUser"].(map[string]any)["id"].(string)
			if inv["status"] != "PendingAcceptance" || guest == ana {
				t.Fatalf("invitation %v", inv)
			}
			if state, _ := e.guestState(contoso, guest); state != "PendingAcceptance" {
				t.Fatalf("before redemption: %s", state)
			}
			// An application invited: the guest has no sponsor until one is named.
			if sponsors := e.mustCall(200, "GET", "/v1.0/users/"+guest+"/sponsors", contoso.token, nil).body["value"].([]any); len(sponsors) != 0 {
				t.Fatalf("sponsors of an app's invitation: %v", sponsors)
			}
			b := newGuestBrowser(t, e)
			password := func(user, pw string) func(string, page) map[string]string {
				return func(step string, p page) map[string]string {
					switch step {
					case "invite":
						return map[string]string{}
					case "username":
						return map[string]string{"username": user}
					case "password":
						return map[string]string{"password": pw}
					case "kmsi":
						return map[string]string{"stay": "no"}
					case "review", "consent":
						return map[string]string{"decision": "accept"}
					}
					return nil
				}
			}
			if away := b.walk(b.open(redeemURL(t, mp, anaAddr, inv)), password(anaAddr, anaPassword)); away.String() != welcome {
				t.Fatalf("redemption ended at %s", away)
			}
			state, issuers := e.guestState(contoso, guest)
			if state != "Accepted" || !slices.Contains(issuers, e.public+"/"+fabrikam.id+"/v2.0") {
				t.Fatalf("after redemption: %s %v", state, issuers)
			}
			// The link is spent.
			if p := newGuestBrowser(t, e).open(inv["inviteRedeemUrl"].(string)); p.Step() == "invite" {
				t.Fatal("a redeemed link shows its invitation again")
			}

			// The guest signs in to Contoso's app and gets guest claims.
			appID, secret, redirect := e.webApp(contoso, "Contoso app")
			claims, refresh := e.guestSignIn(t, newGuestBrowser(t, e), contoso, appID, secret, redirect, password(anaAddr, anaPassword))
			if claims["tid"] != contoso.id || claims["oid"] != guest || claims["idp"] != e.public+"/"+fabrikam.id+"/v2.0" ||
				claims["acct"] != float64(1) || claims["email"] != anaAddr || claims["email_verified"] != true {
				t.Fatalf("guest ID token %v", claims)
			}

			// (c) An email one-time passcode, for an address no one knows.
			sam := "sam." + tag + "@example.net"
			admin := e.mustCall(200, "GET", "/v1.0/users/"+contoso.created.Admin.UserPrincipalName, contoso.token, nil).body["id"].(string)
			inv = e.mustCall(201, "POST", "/v1.0/invitations", contoso.token, map[string]any{
				"invitedUserEmailAddress": sam, "inviteRedirectUrl": welcome, "sendInvitationMessage": true,
				"invitedUserSponsors": []map[string]any{{"id": admin}},
			}).body
			sponsors := e.mustCall(200, "GET", "/v1.0/users/"+inv["invitedUser"].(map[string]any)["id"].(string)+"/sponsors", contoso.token, nil).values()
			if len(sponsors) != 1 || sponsors[0]["id"] != admin || sponsors[0]["@odata.type"] != "#microsoft.graph.user" {
				t.Fatalf("sponsors %v", sponsors)
			}
			code := func(step string, p page) map[string]string {
				switch step {
				case "invite":
					return map[string]string{}
				case "code":
					return map[string]string{"code": eightDigit.FindString(newest(t, mp, sam, 2))}
				case "review":
					return map[string]string{"decision": "accept"}
				}
				return nil
			}
			sb := newGuestBrowser(t, e)
			if away := sb.walk(sb.open(redeemURL(t, mp, sam, inv)), code); away.String() != welcome {
				t.Fatalf("passcode redemption ended at %s", away)
			}
			state, issuers = e.guestState(contoso, inv["invitedUser"].(map[string]any)["id"].(string))
			if state != "Accepted" || !slices.Contains(issuers, "mail") {
				t.Fatalf("after passcode redemption: %s %v", state, issuers)
			}

			// (b) An OpenID provider configured for the domain: another
			// deployment, whose addresses no tenant here owns.
			idp := newEnv(t, storetest.SQLite(t, ""))
			northwind := idp.tenant("Northwind", "northwind-"+tag+".example")
			idp.homeUser(northwind, "carl")
			carl := "carl@" + northwind.domain
			nwApp := idp.mustCall(201, "POST", "/v1.0/applications", northwind.token, map[string]any{"displayName": "Contoso guests",
				"web": map[string]any{"redirectUris": []string{e.public + "/federation/callback"}}}).body
			nwSecret := idp.mustCall(200, "POST", "/v1.0/applications/"+nwApp["id"].(string)+"/addPassword", northwind.token, map[string]any{}).body["secretText"].(string)
			e.mustCall(201, "POST", "/v1.0/identity/identityProviders", contoso.token, map[string]any{
				"@odata.type": "#microsoft.graph.oidcIdentityProvider", "displayName": "Northwind", "clientId": nwApp["appId"],
				"issuer": idp.url + "/" + northwind.id + "/v2.0", "responseType": "code", "scope": "openid profile email",
				"domains":              []string{northwind.domain},
				"clientAuthentication": map[string]any{"@odata.type": "#microsoft.graph.oidcClientSecretAuthentication", "clientSecret": nwSecret},
			})
			inv = e.invite(contoso, carl, welcome)
			cb := newGuestBrowser(t, e, idp)
			away := cb.walk(cb.open(redeemURL(t, mp, carl, inv)), password(carl, "correct horse battery carl"))
			if away.String() != welcome {
				t.Fatalf("redemption at the OpenID provider ended at %s", away)
			}
			state, issuers = e.guestState(contoso, inv["invitedUser"].(map[string]any)["id"].(string))
			if state != "Accepted" || !slices.Contains(issuers, idp.url+"/"+northwind.id+"/v2.0") {
				t.Fatalf("after redemption at the OpenID provider: %s %v", state, issuers)
			}

			// (d) Passcodes off: a personal account in the consumers tenant.
			e.mustCall(204, "PATCH", "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/email", contoso.token,
				map[string]any{"@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration", "allowExternalIdToUseEmailOtp": "disabled"})
			pat := "pat." + tag + "@example.org"
			inv = e.invite(contoso, pat, welcome)
			personal := func(step string, p page) map[string]string {
				switch step {
				case "invite":
					return map[string]string{}
				case "username":
					return map[string]string{"action": "signup"}
				case "signup":
					return map[string]string{"username": pat}
				case "signupcode":
					return map[string]string{"code": eightDigit.FindString(newest(t, mp, pat, 2)), "displayName": "Pat",
						"new": "a personal passphrase 31", "confirm": "a personal passphrase 31"}
				case "kmsi":
					return map[string]string{"stay": "no"}
				case "review", "consent":
					return map[string]string{"decision": "accept"}
				}
				return nil
			}
			pb := newGuestBrowser(t, e)
			if away := pb.walk(pb.open(redeemURL(t, mp, pat, inv)), personal); away.String() != welcome {
				t.Fatalf("redemption with a personal account ended at %s", away)
			}
			state, issuers = e.guestState(contoso, inv["invitedUser"].(map[string]any)["id"].(string))
			if state != "Accepted" || !slices.Contains(issuers, e.public+"/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0") {
				t.Fatalf("after redemption with a personal account: %s %v", state, issuers)
			}

			// The seed's second example: Fabrikam blocked after Ana redeemed.
			e.mustCall(201, "POST", "/v1.0/policies/b2bManagementPolicies", contoso.token, map[string]any{
				"displayName": "B2BManagementPolicy", "isOrganizationDefault": true,
				"definition": []string{`{"B2BManagementPolicy":{"InvitationsAllowedAndBlockedDomainsPolicy":{"BlockedDomains":["fabrikam.example"]}}}`},
			})
			r := e.call("POST", "/v1.0/invitations", contoso.token, map[string]any{"invitedUserEmailAddress": "bea@fabrikam.example", "inviteRedirectUrl": welcome})
			if r.status/100 != 4 || !strings.Contains(r.raw, "fabrikam.example") {
				t.Fatalf("inviting a blocked domain: %d %s", r.status, r.raw)
			}
			if claims, _ := e.guestSignIn(t, newGuestBrowser(t, e), contoso, appID, secret, redirect, password(anaAddr, anaPassword)); claims["oid"] != guest {
				t.Fatalf("the existing guest after the block: %v", claims)
			}

			// Disabling the home account ends the guest's refreshes.
			if tok := e.refresh(contoso, appID, secret, refresh); tok.status != 200 {
				t.Fatalf("refresh before the home account was disabled: %d %s", tok.status, tok.raw)
			}
			e.mustCall(204, "PATCH", "/v1.0/users/"+ana, fabrikam.token, map[string]any{"accountEnabled": false})
			if tok := e.refresh(contoso, appID, secret, refresh); tok.status != 400 || tok.body["error"] != "invalid_grant" {
				t.Fatalf("refresh after the home account was disabled: %d %s", tok.status, tok.raw)
			}
		})
	}
}

// webApp registers a confidential web application in the tenant.
func (e *env) webApp(a tenant, name string) (appID, secret, redirect string) {
	e.t.Helper()
	redirect = "https://app.contoso.example/callback"
	created := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": name,
		"web": map[string]any{"redirectUris": []string{redirect}}}).body
	secret = e.mustCall(200, "POST", "/v1.0/applications/"+created["id"].(string)+"/addPassword", a.token, map[string]any{}).body["secretText"].(string)
	return created["appId"].(string), secret, redirect
}

// guestSignIn runs an authorization code flow with PKCE at the tenant
// through the pages and returns the ID token's claims and the refresh token.
func (e *env) guestSignIn(t *testing.T, b *guestBrowser, a tenant, appID, secret, redirect string, answer func(string, page) map[string]string) (map[string]any, string) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	q := url.Values{"client_id": {appID}, "response_type": {"code"}, "redirect_uri": {redirect}, "scope": {"openid profile email offline_access"},
		"state": {"s1"}, "nonce": {"n1"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	away := b.walk(b.open(e.url+"/"+a.id+"/oauth2/v2.0/authorize?"+q.Encode()), answer)
	if !strings.HasPrefix(away.String(), redirect) || away.Query().Get("code") == "" {
		t.Fatalf("sign-in ended at %s", away)
	}
	tok := e.form("/"+a.id+"/oauth2/v2.0/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {appID}, "client_secret": {secret},
		"code": {away.Query().Get("code")}, "redirect_uri": {redirect}, "code_verifier": {verifier}})
	if tok.status != 200 {
		t.Fatalf("code redemption: %d %s", tok.status, tok.raw)
	}
	parts := strings.Split(tok.body["id_token"].(string), ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	rt, _ := tok.body["refresh_token"].(string)
	return claims, rt
}

func (e *env) refresh(a tenant, appID, secret, rt string) reply {
	return e.form("/"+a.id+"/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {appID}, "client_secret": {secret}, "refresh_token": {rt}})
}

// form posts a form to the node and decodes its JSON answer.
func (e *env) form(path string, v url.Values) reply {
	e.t.Helper()
	resp, err := http.PostForm(e.url+path, v)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// TestMyOrganizationsOfNoTenant: signing in to "my organizations" of a
// tenant that does not exist is a 404 page, not a server error.
func TestMyOrganizationsOfNoTenant(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	b := newGuestBrowser(t, e)
	p := b.open(e.url + "/0f0e0d0c-0b0a-4909-8807-060504030201/myorganizations")
	if p.Status != 200 || !strings.Contains(p.Body, `value="signin"`) {
		t.Fatalf("page %d: %.300s", p.Status, p.Body)
	}
	if p = b.submit(p, map[string]string{"action": "signin"}); p.Status != http.StatusNotFound || p.Away != nil {
		t.Fatalf("signing in to no tenant: %d %v %.300s", p.Status, p.Away, p.Body)
	}
}

// TestWhoCanInviteFromEachSeat: each allowInvitesFrom level, from the
// seat of an application, a Guest Inviter, a member and a guest, through
// Graph with their own tokens. A refusal creates no guest.
func TestWhoCanInviteFromEachSeat(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		tool := e.delegatedTool(t, a, "User.Invite.All")
		_, inviterUPN := e.userWithRoles(a, "ina", authz.GuestInviter)
		e.addUser(a, "mia")
		guest := newUser("gus", a.domain)
		guest["passwordProfile"] = map[string]any{"password": "correct horse battery gus", "forceChangePasswordNextSignIn": false}
		guest["userType"] = "Guest"
		e.mustCall(201, "POST", "/v1.0/users", a.token, guest)
		seats := []struct{ name, token string }{
			{"application", a.token},
			{"Guest Inviter", tool.tokenFor(t, inviterUPN, "correct horse battery ina")},
			{"member", tool.tokenFor(t, "mia@"+a.domain, "correct horse battery mia")},
			{"guest", tool.tokenFor(t, "gus@"+a.domain, "correct horse battery gus")},
		}
		for n, level := range []struct {
			from    string
			allowed []bool // by seat, in order
		}{
			{"everyone", []bool{true, true, true, true}},
			{"adminsGuestInvitersAndAllMembers", []bool{true, true, true, false}},
			{"adminsAndGuestInviters", []bool{true, true, false, false}},
			{"none", []bool{false, false, false, false}},
		} {
			e.mustCall(204, "PATCH", "/v1.0/policies/authorizationPolicy", a.token, map[string]any{"allowInvitesFrom": level.from})
			for i, seat := range seats {
				addr := fmt.Sprintf("l%d.s%d@partner.example", n, i)
				r := e.call("POST", "/v1.0/invitations", seat.token, map[string]any{"invitedUserEmailAddress": addr, "inviteRedirectUrl": welcome})
				switch {
				case level.allowed[i] && r.status != 201:
					t.Errorf("%s under %s: %d %s, want 201", seat.name, level.from, r.status, r.raw)
				case !level.allowed[i] && (r.status != 403 || r.errorCode() != "Authorization_RequestDenied"):
					t.Errorf("%s under %s: %d %s, want 403", seat.name, level.from, r.status, r.raw)
				case !level.allowed[i]:
					filter := url.QueryEscape("mail eq '" + addr + "'")
					if n := len(e.mustCall(200, "GET", "/v1.0/users?$filter="+filter, a.token, nil).values()); n != 0 {
						t.Errorf("%s under %s: a refused invitation left %d user(s)", seat.name, level.from, n)
					}
				}
			}
		}
	})
}
