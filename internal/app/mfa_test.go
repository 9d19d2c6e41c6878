package app_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// movingClock is a node's clock a test moves forward: TOTP codes of one
// step are used once, so each sign-in needs a step of its own.
type movingClock struct{ offset atomic.Int64 }

func (c *movingClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *movingClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

var keyOnPage = regexp.MustCompile(`<p class="key">([A-Z2-7 ]+)</p>`)

// person signs in through the pages, answering each step, and registers
// (then uses) an authenticator app when asked: one app per tenant.
type person struct {
	t        *testing.T
	clock    *movingClock
	username string
	password string
	secrets  map[string]string // tenant id → TOTP secret
	steps    []string          // "tenant:step" of every page answered
	// wrong, when set, answers the next challenge with it (once).
	wrong string
}

func (p *person) answer(step string, pg page) map[string]string {
	p.t.Helper()
	tenantID := strings.Split(strings.TrimPrefix(pg.URL.Path, "/"), "/")[0]
	p.steps = append(p.steps, tenantID+":"+step)
	switch step {
	case "username":
		return map[string]string{"username": p.username}
	case "password":
		return map[string]string{"password": p.password}
	case "mfaregister":
		return map[string]string{"action": "totp"}
	case "mfatotp":
		m := keyOnPage.FindStringSubmatch(pg.Body)
		if m == nil || !strings.Contains(pg.Body, `src="data:image/png;base64,`) || !strings.Contains(pg.Body, `href="otpauth://totp/`) {
			p.t.Fatalf("the setup page shows no key, QR code or link: %.2000s", pg.Body)
		}
		p.secrets[tenantID] = strings.ReplaceAll(m[1], " ", "")
		return map[string]string{"code": p.code(tenantID)}
	case "mfa":
		if p.wrong != "" {
			w := p.wrong
			p.wrong = ""
			return map[string]string{"code": w}
		}
		return map[string]string{"code": p.code(tenantID)}
	case "kmsi":
		return map[string]string{"stay": "no"}
	case "review", "consent":
		return map[string]string{"decision": "accept"}
	}
	return nil
}

// code is the app's code for the tenant, of a step no sign-in used yet.
func (p *person) code(tenantID string) string {
	p.t.Helper()
	secret := p.secrets[tenantID]
	if secret == "" {
		p.t.Fatalf("no app registered in tenant %s", tenantID)
	}
	p.clock.advance(30 * time.Second)
	c, err := mfa.Code(secret, p.clock.now())
	if err != nil {
		p.t.Fatal(err)
	}
	return c
}

// did reports whether the person answered step in the tenant.
func (p *person) did(tenantID, step string) bool { return slices.Contains(p.steps, tenantID+":"+step) }

// codeFlow runs an authorization code flow with PKCE through the pages and
// returns the token response.
func (e *env) codeFlow(t *testing.T, b *guestBrowser, a tenant, appID, secret, redirect string, extra url.Values, answer func(string, page) map[string]string) reply {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	q := url.Values{"client_id": {appID}, "response_type": {"code"}, "redirect_uri": {redirect}, "scope": {"openid profile email offline_access"},
		"state": {"s1"}, "nonce": {"n1"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		q[k] = v
	}
	away := b.walk(b.open(e.url+"/"+a.id+"/oauth2/v2.0/authorize?"+q.Encode()), answer)
	if !strings.HasPrefix(away.String(), redirect) || away.Query().Get("code") == "" {
		t.Fatalf("sign-in ended at %s", away)
	}
	tok := e.form("/"+a.id+"/oauth2/v2.0/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {appID}, "client_secret": {secret},
		"code": {away.Query().Get("code")}, "redirect_uri": {redirect}, "code_verifier": {verifier}})
	if tok.status != 200 {
		t.Fatalf("code redemption: %d %s", tok.status, tok.raw)
	}
	return tok
}

// jwtClaims decodes a token's claims (the signature is the clients' to check).
func jwtClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func amrOf(t *testing.T, raw string) []string {
	t.Helper()
	var out []string
	for _, v := range jwtClaims(t, raw)["amr"].([]any) {
		out = append(out, v.(string))
	}
	return out
}

// eachMFABackend runs a test on a node of each backend whose clock the
// test moves.
func eachMFABackend(t *testing.T, test func(t *testing.T, e *env, clock *movingClock)) {
	for name, open := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			clock := &movingClock{}
			test(t, newNode(t, open(t), app.Config{Now: clock.now}), clock)
		})
	}
}

func (e *env) securityDefaults(a tenant, on bool) {
	e.t.Helper()
	e.mustCall(204, "PATCH", "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy", a.token, map[string]any{"isEnabled": on})
}

// TestMemberTOTPEndToEnd: with security defaults on, a member registers an
// authenticator app at their first sign-in and gets tokens whose amr says
// MFA, which a refresh keeps; later sign-ins ask for a code, refusing a
// wrong one, a used one, and every one once five were wrong; Graph lists
// and deletes the method, and refuses a caller without the permission.
func TestMemberTOTPEndToEnd(t *testing.T) {
	eachMFABackend(t, func(t *testing.T, e *env, clock *movingClock) {
		a := e.tenant("Contoso", "contoso.example")
		alice := e.homeUser(a, "alice")
		bob := e.homeUser(a, "bob")
		appID, secret, redirect := e.webApp(a, "Contoso app")
		// Off by default: a password is enough, and the token says so.
		alicePages := &person{t: t, clock: clock, username: "alice@" + a.domain, password: "correct horse battery alice", secrets: map[string]string{}}
		tok := e.codeFlow(t, newGuestBrowser(t, e), a, appID, secret, redirect, nil, alicePages.answer)
		if amr := amrOf(t, tok.body["id_token"].(string)); !slices.Equal(amr, []string{"pwd"}) {
			t.Fatalf("amr without security defaults: %v", amr)
		}
		policy := e.mustCall(200, "GET", "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy", a.token, nil).body
		if policy["isEnabled"] != false || policy["id"] != mfa.SecurityDefaultsID {
			t.Fatalf("policy %v", policy)
		}
		e.securityDefaults(a, true)
		if recs := e.mustCall(200, "GET", "/v1.0/auditLogs/directoryAudits?$filter="+url.QueryEscape("activityDisplayName eq 'Add policy'"), a.token, nil).values(); len(recs) != 1 ||
			recs[0]["targetResources"].([]any)[0].(map[string]any)["displayName"] != "Security Defaults" {
			t.Fatalf("policy audit %v", recs)
		}

		// The first sign-in registers an app; the tokens say MFA.
		alicePages.steps = nil
		tok = e.codeFlow(t, newGuestBrowser(t, e), a, appID, secret, redirect, nil, alicePages.answer)
		if !alicePages.did(a.id, "mfaregister") || !alicePages.did(a.id, "mfatotp") || alicePages.did(a.id, "mfa") {
			t.Fatalf("steps %v", alicePages.steps)
		}
		want := []string{"pwd", "otp", "mfa"}
		if amr := amrOf(t, tok.body["id_token"].(string)); !slices.Equal(amr, want) {
			t.Fatalf("ID token amr %v", amr)
		}
		if amr := amrOf(t, tok.body["access_token"].(string)); !slices.Equal(amr, want) {
			t.Fatalf("access token amr %v", amr)
		}
		fresh := e.refresh(a, appID, secret, tok.body["refresh_token"].(string))
		if fresh.status != 200 || !slices.Equal(amrOf(t, fresh.body["id_token"].(string)), want) || !slices.Equal(amrOf(t, fresh.body["access_token"].(string)), want) {
			t.Fatalf("refresh: %d %s", fresh.status, fresh.raw)
		}

		// A later sign-in asks for a code: a wrong one and a used one are
		// refused, a fresh one passes.
		b := newGuestBrowser(t, e)
		q := url.Values{"client_id": {appID}, "response_type": {"code"}, "redirect_uri": {redirect}, "scope": {"openid"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
		p := b.open(e.url + "/" + a.id + "/oauth2/v2.0/authorize?" + q.Encode())
		p = b.submit(p, map[string]string{"username": alicePages.username})
		p = b.submit(p, map[string]string{"password": alicePages.password})
		if p.Step() != "mfa" || !strings.Contains(p.Body, `autocomplete="one-time-code"`) {
			t.Fatalf("after the password: %s %.1500s", p.Step(), p.Body)
		}
		used, _ := mfa.Code(alicePages.secrets[a.id], clock.now())
		p = b.submit(p, map[string]string{"code": used})
		if p.Step() != "mfa" || !strings.Contains(p.Body, `role="alert"`) {
			t.Fatalf("a used code: %s %.1500s", p.Step(), p.Body)
		}
		p = b.submit(p, map[string]string{"code": wrongCode(alicePages.secrets[a.id], clock.now())})
		if p.Step() != "mfa" || !strings.Contains(p.Body, `role="alert"`) {
			t.Fatalf("a wrong code: %s %.1500s", p.Step(), p.Body)
		}
		p = b.submit(p, map[string]string{"code": alicePages.code(a.id)})
		if p.Step() != "kmsi" {
			t.Fatalf("a fresh code: %s %.1500s", p.Step(), p.Body)
		}
		failed := e.mustCall(200, "GET", "/v1.0/auditLogs/signIns?$filter="+url.QueryEscape("status/errorCode eq 500121"), a.token, nil).values()
		if len(failed) != 2 || failed[0]["userId"] != alice {
			t.Fatalf("failed second factors in the sign-in log: %v", failed)
		}

		// Five wrong codes lock the factor (the right code above forgot the
		// earlier ones): even the right code is refused until the lock ends.
		lb := newGuestBrowser(t, e)
		p = lb.open(e.url + "/" + a.id + "/oauth2/v2.0/authorize?" + q.Encode())
		p = lb.submit(p, map[string]string{"username": alicePages.username})
		p = lb.submit(p, map[string]string{"password": alicePages.password})
		for range 5 {
			p = lb.submit(p, map[string]string{"code": wrongCode(alicePages.secrets[a.id], clock.now())})
		}
		p = lb.submit(p, map[string]string{"code": alicePages.code(a.id)})
		if p.Step() != "mfa" || !strings.Contains(p.Body, "locked") {
			t.Fatalf("the right code while locked: %s %.1500s", p.Step(), p.Body)
		}
		clock.advance(5 * time.Minute)
		if p = lb.submit(p, map[string]string{"code": alicePages.code(a.id)}); p.Step() != "kmsi" {
			t.Fatalf("the right code after the lock: %s %.1500s", p.Step(), p.Body)
		}

		// Graph: the app of the tenant reads and deletes the method.
		methods := e.mustCall(200, "GET", "/v1.0/users/"+alice+"/authentication/methods", a.token, nil).values()
		if len(methods) != 2 || methods[0]["@odata.type"] != "#microsoft.graph.passwordAuthenticationMethod" ||
			methods[1]["@odata.type"] != "#microsoft.graph.softwareOathAuthenticationMethod" || methods[1]["secretKey"] != nil {
			t.Fatalf("methods %v", methods)
		}
		oath := methods[1]["id"].(string)
		if got := e.mustCall(200, "GET", "/v1.0/users/alice@"+a.domain+"/authentication/softwareOathMethods/"+oath, a.token, nil).body; got["id"] != oath {
			t.Fatalf("get %v", got)
		}
		// Alice's method is nothing of Bob's.
		if r := e.call("GET", "/v1.0/users/"+bob+"/authentication/softwareOathMethods/"+oath, a.token, nil); r.status != 404 {
			t.Fatalf("another user's method id: %d %s", r.status, r.raw)
		}
		if r := e.call("DELETE", "/v1.0/users/"+bob+"/authentication/softwareOathMethods/"+oath, a.token, nil); r.status != 404 {
			t.Fatalf("deleting another user's method id: %d %s", r.status, r.raw)
		}
		// The least privileged readers: a directory reader may not see methods.
		_, reader := e.appWith(a, "Directory reader", "User.Read.All", "Directory.Read.All")
		if r := e.call("GET", "/v1.0/users/"+alice+"/authentication/methods", reader, nil); r.status != 403 {
			t.Fatalf("a directory reader: %d %s", r.status, r.raw)
		}
		_, methodReader := e.appWith(a, "Method reader", "UserAuthenticationMethod.Read.All")
		e.mustCall(200, "GET", "/v1.0/users/"+alice+"/authentication/methods", methodReader, nil)
		if r := e.call("DELETE", "/v1.0/users/"+alice+"/authentication/softwareOathMethods/"+oath, methodReader, nil); r.status != 403 {
			t.Fatalf("deleting with Read.All: %d %s", r.status, r.raw)
		}
		if r := e.call("GET", "/v1.0/me/authentication/methods", a.token, nil); r.status != 400 {
			t.Fatalf("/me with an app-only token: %d %s", r.status, r.raw)
		}
		e.mustCall(204, "DELETE", "/v1.0/users/"+alice+"/authentication/softwareOathMethods/"+oath, a.token, nil)
		deleted := e.mustCall(200, "GET", "/v1.0/auditLogs/directoryAudits?$filter="+url.QueryEscape("activityDisplayName eq 'Admin deleted security info'"), a.token, nil).values()
		if len(deleted) != 1 || deleted[0]["loggedByService"] != "Authentication Methods" || deleted[0]["initiatedBy"].(map[string]any)["app"] == nil {
			t.Fatalf("deletion audit %v", deleted)
		}
		registered := e.mustCall(200, "GET", "/v1.0/auditLogs/directoryAudits?$filter="+url.QueryEscape("activityDisplayName eq 'User registered security info'"), a.token, nil).values()
		if len(registered) != 1 || registered[0]["initiatedBy"].(map[string]any)["user"].(map[string]any)["id"] != alice {
			t.Fatalf("registration audit %v", registered)
		}
		// Without a method, the next sign-in registers one again.
		alicePages.steps = nil
		e.codeFlow(t, newGuestBrowser(t, e), a, appID, secret, redirect, nil, alicePages.answer)
		if !alicePages.did(a.id, "mfaregister") {
			t.Fatalf("steps after the deletion %v", alicePages.steps)
		}
	})
}

// wrongCode is a six-digit code that is none of the window's.
func wrongCode(secret string, at time.Time) string {
	var window []string
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second, 60 * time.Second} {
		c, _ := mfa.Code(secret, at.Add(d))
		window = append(window, c)
	}
	for _, c := range []string{"000000", "111111", "222222", "333333", "444444"} {
		if !slices.Contains(window, c) {
			return c
		}
	}
	return "555555"
}

// TestSSOSessionStepsUp: a session that signed in with a password before
// security defaults were on is asked for a second factor by the next
// sign-in it would have completed alone; a silent request is refused with
// interaction_required (AADSTS50076); once the session has the factor,
// sign-ins from it need nothing more.
func TestSSOSessionStepsUp(t *testing.T) {
	eachMFABackend(t, func(t *testing.T, e *env, clock *movingClock) {
		a := e.tenant("Contoso", "contoso.example")
		e.homeUser(a, "carol")
		appID, secret, redirect := e.webApp(a, "Contoso app")
		carol := &person{t: t, clock: clock, username: "carol@" + a.domain, password: "correct horse battery carol", secrets: map[string]string{}}
		b := newGuestBrowser(t, e)
		e.codeFlow(t, b, a, appID, secret, redirect, nil, carol.answer)
		e.securityDefaults(a, true)

		verifier := oauth2.GenerateVerifier()
		silent := url.Values{"client_id": {appID}, "response_type": {"code"}, "redirect_uri": {redirect}, "scope": {"openid"}, "prompt": {"none"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
		p := b.open(e.url + "/" + a.id + "/oauth2/v2.0/authorize?" + silent.Encode())
		if p.Away == nil || p.Away.Query().Get("error") != "interaction_required" || !strings.Contains(p.Away.Query().Get("error_description"), "AADSTS50076") {
			t.Fatalf("a silent request from a session without MFA: %v %.500s", p.Away, p.Body)
		}
		carol.steps = nil
		tok := e.codeFlow(t, b, a, appID, secret, redirect, nil, carol.answer)
		if carol.did(a.id, "password") || !carol.did(a.id, "mfatotp") || carol.did(a.id, "kmsi") {
			t.Fatalf("steps of the step-up %v", carol.steps)
		}
		if amr := amrOf(t, tok.body["id_token"].(string)); !slices.Equal(amr, []string{"pwd", "otp", "mfa"}) {
			t.Fatalf("amr after the step-up %v", amr)
		}
		// The session carries the factor now: silent sign-ins work again.
		silent.Set("code_challenge", oauth2.S256ChallengeFromVerifier(verifier))
		p = b.open(e.url + "/" + a.id + "/oauth2/v2.0/authorize?" + silent.Encode())
		if p.Away == nil || p.Away.Query().Get("code") == "" {
			t.Fatalf("a silent request from the stepped-up session: %v %.500s", p.Away, p.Body)
		}
	})
}

// TestGuestMFATrust: security defaults on in every tenant. A Fabrikam guest
// who did TOTP at home signs in to Contoso, which trusts Fabrikam's MFA:
// no challenge, and the token says MFA. A Northwind guest who did the same
// at home is challenged by Contoso, which does not trust Northwind. When
// Contoso stops trusting Fabrikam, the guest's next sign-in from the same
// session is challenged too.
func TestGuestMFATrust(t *testing.T) {
	eachMFABackend(t, func(t *testing.T, e *env, clock *movingClock) {
		contoso, fabrikam, northwind := e.tenant("Contoso", "contoso.example"), e.tenant("Fabrikam", "fabrikam.example"), e.tenant("Northwind", "northwind.example")
		for _, a := range []tenant{contoso, fabrikam, northwind} {
			e.securityDefaults(a, true)
		}
		trustMFA := map[string]any{"inboundTrust": map[string]any{"isMfaAccepted": true, "isCompliantDeviceAccepted": false, "isHybridAzureADJoinedDeviceAccepted": false}}
		e.partner(contoso, fabrikam.id, trustMFA)
		e.homeUser(fabrikam, "ana")
		e.homeUser(northwind, "nina")
		for _, addr := range []string{"ana@fabrikam.example", "nina@northwind.example"} {
			e.mustCall(201, "POST", "/v1.0/invitations", contoso.token, map[string]any{"invitedUserEmailAddress": addr, "inviteRedirectUrl": welcome})
		}
		appID, secret, redirect := e.webApp(contoso, "Contoso app")

		ana := &person{t: t, clock: clock, username: "ana@fabrikam.example", password: "correct horse battery ana", secrets: map[string]string{}}
		ab := newGuestBrowser(t, e)
		tok := e.codeFlow(t, ab, contoso, appID, secret, redirect, nil, ana.answer)
		if !ana.did(fabrikam.id, "mfatotp") || ana.did(contoso.id, "mfaregister") || ana.did(contoso.id, "mfa") {
			t.Fatalf("Ana's steps %v", ana.steps)
		}
		claims := jwtClaims(t, tok.body["id_token"].(string))
		if amr := amrOf(t, tok.body["id_token"].(string)); !slices.Contains(amr, "mfa") || claims["acct"] != float64(1) || claims["tid"] != contoso.id {
			t.Fatalf("Ana's token at Contoso: amr %v, claims %v", amr, claims)
		}

		// The what-if says the same of each: MFA from Fabrikam is accepted,
		// from Northwind challenged.
		anaHome := e.mustCall(200, "GET", "/v1.0/users/ana@fabrikam.example", fabrikam.token, nil).body["id"].(string)
		ninaHome := e.mustCall(200, "GET", "/v1.0/users/nina@northwind.example", northwind.token, nil).body["id"].(string)
		if v := e.whatIf(contoso, fabrikam.id, anaHome, appID); v["decision"] != "allowed" || !layerSays(v, "inboundTrust", "allowed") {
			t.Errorf("what-if of Ana: %v", v)
		}
		if v := e.whatIf(contoso, northwind.id, ninaHome, appID); v["decision"] != "allowed" || !layerSays(v, "inboundTrust", "challenge") {
			t.Errorf("what-if of Nina: %v", v)
		}

		nina := &person{t: t, clock: clock, username: "nina@northwind.example", password: "correct horse battery nina", secrets: map[string]string{}}
		tok = e.codeFlow(t, newGuestBrowser(t, e), contoso, appID, secret, redirect, nil, nina.answer)
		if !nina.did(northwind.id, "mfatotp") || !nina.did(contoso.id, "mfatotp") {
			t.Fatalf("Nina's steps %v", nina.steps)
		}
		if amr := amrOf(t, tok.body["id_token"].(string)); !slices.Contains(amr, "mfa") {
			t.Fatalf("Nina's token at Contoso: amr %v", amr)
		}

		// Contoso withdraws its trust: Ana's session no longer carries MFA.
		e.mustCall(204, "PATCH", partners+"/"+fabrikam.id, contoso.token, map[string]any{"inboundTrust": nil})
		ana.steps = nil
		tok = e.codeFlow(t, ab, contoso, appID, secret, redirect, nil, ana.answer)
		if !ana.did(contoso.id, "mfatotp") {
			t.Fatalf("Ana's steps after the trust was withdrawn %v", ana.steps)
		}
		if amr := amrOf(t, tok.body["id_token"].(string)); !slices.Contains(amr, "mfa") || !slices.Contains(amr, "otp") {
			t.Fatalf("Ana's token after her own second factor: amr %v", amr)
		}
	})
}

// TestSecurityInfoPage: the signed-in account lists its methods on the
// security info page; deleting one needs the second factor first when the
// session proved only a password.
func TestSecurityInfoPage(t *testing.T) {
	clock := &movingClock{}
	e := newNode(t, storetest.SQLite(t, ""), app.Config{Now: clock.now})
	a := e.tenant("Contoso", "contoso.example")
	dave := e.homeUser(a, "dave")
	appID, secret, redirect := e.webApp(a, "Contoso app")
	d := &person{t: t, clock: clock, username: "dave@" + a.domain, password: "correct horse battery dave", secrets: map[string]string{}}
	b := newGuestBrowser(t, e)
	e.codeFlow(t, b, a, appID, secret, redirect, nil, d.answer)

	// A password session, no method: the first may be added.
	p := b.open(e.url + "/" + a.id + "/securityinfo")
	if p.Status != 200 || !strings.Contains(p.Body, `value="addapp"`) || !strings.Contains(p.Body, "dave@"+a.domain) {
		t.Fatalf("security info: %d %.1500s", p.Status, p.Body)
	}
	p = b.submit(p, map[string]string{"action": "addapp"})
	m := keyOnPage.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no key: %.1500s", p.Body)
	}
	d.secrets[a.id] = strings.ReplaceAll(m[1], " ", "")
	p = b.submit(p, map[string]string{"action": "confirmapp", "code": d.code(a.id)})
	// The session proved only a password: the method is listed, not
	// deletable until a code proves the factor.
	if strings.Contains(p.Body, `value="delete"`) || !strings.Contains(p.Body, `value="verify"`) {
		t.Fatalf("after adding the first method: %.2000s", p.Body)
	}
	methods := e.mustCall(200, "GET", "/v1.0/users/"+dave+"/authentication/softwareOathMethods", a.token, nil).values()
	if len(methods) != 1 {
		t.Fatalf("methods %v", methods)
	}
	// A wrong code proves nothing; the right one upgrades the session.
	p = b.submit(p, map[string]string{"action": "verify", "code": wrongCode(d.secrets[a.id], clock.now())})
	if strings.Contains(p.Body, `value="delete"`) || !strings.Contains(p.Body, `role="alert"`) {
		t.Fatalf("after a wrong code: %.2000s", p.Body)
	}
	p = b.submit(p, map[string]string{"action": "verify", "code": d.code(a.id)})
	if !strings.Contains(p.Body, `value="delete"`) {
		t.Fatalf("after the right code: %.2000s", p.Body)
	}
	p = b.submit(p, map[string]string{"action": "delete"})
	if strings.Contains(p.Body, `value="delete"`) {
		t.Fatalf("after the deletion: %.2000s", p.Body)
	}
	if methods := e.mustCall(200, "GET", "/v1.0/users/"+dave+"/authentication/methods", a.token, nil).values(); len(methods) != 1 {
		t.Fatalf("methods after the deletion %v", methods)
	}
	// Without a session, the page only offers to sign in.
	if p := newGuestBrowser(t, e).open(e.url + "/" + a.id + "/securityinfo"); !strings.Contains(p.Body, `value="signin"`) {
		t.Fatalf("without a session: %.800s", p.Body)
	}
}

// TestEmailSecondFactor: a member without an authenticator app registers
// their address as the second factor with a code sent there, and later
// sign-ins send a code to it.
func TestEmailSecondFactor(t *testing.T) {
	mp := mailtest.Start(t)
	for name, open := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			clock := &movingClock{}
			e := newNode(t, open(t), app.Config{Now: clock.now, SMTPURL: mp.SMTPURL, MailFrom: "security@contoso.example"})
			tag := strings.ToLower(name)
			a := e.tenant("Contoso", "contoso-"+tag+".example")
			e.homeUser(a, "erin")
			addr := "erin@" + a.domain
			e.securityDefaults(a, true)
			appID, secret, redirect := e.webApp(a, "Contoso app")
			sent := 0
			answer := func(step string, p page) map[string]string {
				switch step {
				case "username":
					return map[string]string{"username": addr}
				case "password":
					return map[string]string{"password": "correct horse battery erin"}
				case "mfaregister":
					if !strings.Contains(p.Body, "er•••@"+a.domain) {
						t.Fatalf("the registration page does not offer the address: %.1500s", p.Body)
					}
					return map[string]string{"action": "email"}
				case "mfaemail", "mfa":
					sent++
					return map[string]string{"code": eightDigit.FindString(newest(t, mp, addr, sent))}
				case "kmsi":
					return map[string]string{"stay": "no"}
				case "consent":
					return map[string]string{"decision": "accept"}
				}
				return nil
			}
			for range 2 {
				tok := e.codeFlow(t, newGuestBrowser(t, e), a, appID, secret, redirect, nil, answer)
				if amr := amrOf(t, tok.body["id_token"].(string)); !slices.Equal(amr, []string{"pwd", "otp", "mfa"}) {
					t.Fatalf("amr %v", amr)
				}
			}
			if sent != 2 {
				t.Fatalf("%d codes used", sent)
			}
			methods := e.mustCall(200, "GET", "/v1.0/users/"+addr+"/authentication/emailMethods", a.token, nil).values()
			if len(methods) != 1 || methods[0]["id"] != mfa.EmailMethodID || methods[0]["emailAddress"] != addr {
				t.Fatalf("email methods %v", methods)
			}
		})
	}
}
