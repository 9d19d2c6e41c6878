package app_test

import (
	"context"
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/pagewalk"
)

// browser walks the hosted pages and insists on being sent back to callback.
type browser struct {
	t        *testing.T
	walker   *pagewalk.Browser
	client   *http.Client
	callback string
	pages    []string
}

func newBrowser(t *testing.T, callback string) *browser {
	w := pagewalk.New(nil)
	return &browser{t: t, walker: w, client: w.Client, callback: callback}
}

// signIn returns the query of the redirect back to the application.
func (b *browser) signIn(authURL string, answers map[string]string) url.Values {
	b.t.Helper()
	back, err := b.walker.SignIn(authURL, answers)
	b.pages = b.walker.Steps
	if err != nil {
		b.t.Fatal(err)
	}
	if !strings.HasPrefix(back.String(), b.callback) {
		b.t.Fatalf("sent to %s, not back to %s", back, b.callback)
	}
	return back.Query()
}

type rp struct {
	conf     oauth2.Config
	verifier *oidc.IDTokenVerifier
	appID    string // object id of the application
}

// registerApp creates a confidential web app and returns a relying party for it.
func (e *env) registerApp(t *testing.T, a tenant, name, callback string, scopes ...string) rp {
	app := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": name, "web": map[string]any{"redirectUris": []string{callback}}}).body
	secret := e.mustCall(200, "POST", "/v1.0/applications/"+app["id"].(string)+"/addPassword", a.token, map[string]any{}).body["secretText"].(string)
	provider, err := oidc.NewProvider(context.Background(), e.url+"/"+a.id+"/v2.0")
	if err != nil {
		t.Fatal(err)
	}
	clientID := app["appId"].(string)
	return rp{
		conf:     oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: callback, Scopes: scopes},
		verifier: provider.Verifier(&oidc.Config{ClientID: clientID}),
		appID:    app["id"].(string),
	}
}

// codeFlow runs authorization code + PKCE through the browser and redeems the code.
func (r rp) codeFlow(t *testing.T, b *browser, answers map[string]string, extra ...oauth2.AuthCodeOption) (*oauth2.Token, *oidc.IDToken) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-0S6_WzA2Mj")}, extra...)
	back := b.signIn(r.conf.AuthCodeURL("st-123", opts...), answers)
	if back.Get("state") != "st-123" || back.Get("code") == "" {
		t.Fatalf("back at the app with %v", back)
	}
	tok, err := r.conf.Exchange(context.Background(), back.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if id.Nonce != "n-0S6_WzA2Mj" {
		t.Fatalf("nonce %q", id.Nonce)
	}
	return tok, id
}

func TestSignInWithGoOIDC(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		user := newUser("alice", a.domain)
		user["passwordProfile"] = map[string]any{"password": "correct horse battery alice", "forceChangePasswordNextSignIn": false}
		user["mail"] = "alice@" + a.domain
		alice := e.mustCall(201, "POST", "/v1.0/users", a.token, user).body["id"].(string)

		const cb1, cb2 = "https://app1.example/cb", "https://app2.example/cb"
		app1 := e.registerApp(t, a, "App One", cb1, "openid", "profile", "email", "offline_access", "User.Read")
		app2 := e.registerApp(t, a, "App Two", cb2, "openid", "profile")
		b := newBrowser(t, cb1)
		answers := map[string]string{"username": "alice@" + a.domain, "password": "correct horse battery alice", "stay": "yes", "decision": "accept"}

		tok, id := app1.codeFlow(t, b, answers)
		if !slices.Equal(b.pages, []string{"username", "password", "stay", "decision"}) {
			t.Errorf("pages %v", b.pages)
		}
		var claims struct {
			Tid, Oid, PreferredUsername, Name, Email, Ver, Sub string
		}
		if err := id.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		_ = id.Claims(&struct{}{})
		var raw map[string]any
		_ = id.Claims(&raw)
		if raw["tid"] != a.id || raw["oid"] != alice || raw["preferred_username"] != "alice@"+a.domain || raw["email"] != "alice@"+a.domain || raw["ver"] != "2.0" || raw["sub"] == alice {
			t.Errorf("ID token claims: %v", raw)
		}
		// The access token works on the API as the user.
		me := e.mustCall(200, "GET", "/v1.0/me", tok.AccessToken, nil).body
		if me["id"] != alice {
			t.Errorf("/me: %v", me)
		}
		activity := e.mustCall(200, "GET", "/v1.0/users/"+alice+"?$select=signInActivity", a.token, nil).body["signInActivity"].(map[string]any)
		if activity["lastSignInDateTime"] == nil || activity["lastSuccessfulSignInDateTime"] == nil {
			t.Errorf("signInActivity: %v", activity)
		}
		if r := e.call("GET", "/v1.0/users", tok.AccessToken, nil); r.status != 403 {
			t.Errorf("User.Read must not list users: %d", r.status)
		}

		// Refresh rotates; the old refresh token replayed revokes the family.
		old := tok.RefreshToken
		fresh, err := app1.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: old}).Token()
		if err != nil || fresh.RefreshToken == "" || fresh.RefreshToken == old {
			t.Fatalf("refresh: %v", err)
		}
		if _, err := app1.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: old}).Token(); !isInvalidGrant(err) {
			t.Fatalf("replayed refresh token: %v", err)
		}
		if _, err := app1.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token(); !isInvalidGrant(err) {
			t.Fatalf("the family survived a replay: %v", err)
		}

		// SSO: the same browser signs in to a second app without a password.
		b.callback = cb2
		app2.codeFlow(t, b, answers)
		if slices.Contains(b.pages, "password") || slices.Contains(b.pages, "username") {
			t.Errorf("SSO asked again: %v", b.pages)
		}
		// And silently to the first, which already has consent.
		b.callback = cb1
		app1.codeFlow(t, b, answers, oauth2.SetAuthURLParam("prompt", "none"))
		if len(b.pages) != 0 {
			t.Errorf("prompt=none showed pages %v", b.pages)
		}

		// Revoking the consent grant ends refresh.
		tok, _ = app1.codeFlow(t, b, answers)
		grants := e.mustCall(200, "GET", "/v1.0/oauth2PermissionGrants", a.token, nil).values()
		for _, g := range grants {
			if g["principalId"] == alice && strings.Contains(g["scope"].(string), "User.Read") {
				e.mustCall(204, "DELETE", "/v1.0/oauth2PermissionGrants/"+g["id"].(string), a.token, nil)
			}
		}
		if _, err := app1.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Error("refresh worked after the grant was revoked")
		}

		// Sign-out with the app's ID token ends the session at once: a
		// silent sign-in now needs a login.
		rawID, _ := tok.Extra("id_token").(string)
		logout := e.url + "/" + a.id + "/oauth2/v2.0/logout?" + url.Values{"id_token_hint": {rawID}, "post_logout_redirect_uri": {cb1}}.Encode()
		resp, err := b.client.Get(logout)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if !strings.HasPrefix(resp.Header.Get("Location"), cb1) {
			t.Errorf("logout did not return to the app: %d %v", resp.StatusCode, resp.Header)
		}
		b.callback = cb2
		verifier := oauth2.GenerateVerifier()
		back := b.signIn(app2.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "none")), nil)
		if back.Get("error") != "login_required" {
			t.Errorf("after sign-out, prompt=none gave %v", back)
		}
	})
}

func TestDelegatedWriteNeedsAnAdminRole(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		const cb = "https://admin-tool.example/cb"
		tool := e.registerApp(t, a, "Admin tool", cb, "openid", "User.ReadWrite.All")
		bob := newUser("bob", a.domain)
		bob["passwordProfile"] = map[string]any{"password": "correct horse battery bob", "forceChangePasswordNextSignIn": false}
		bobID := e.mustCall(201, "POST", "/v1.0/users", a.token, bob).body["id"].(string)

		// A member cannot consent to an admin-only permission: the app is told.
		member := newBrowser(t, cb)
		back := member.signIn(tool.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())),
			map[string]string{"username": "bob@" + a.domain, "password": "correct horse battery bob", "stay": "no", "decision": "accept"})
		if back.Get("error") != "access_denied" || !strings.Contains(back.Get("error_description"), "AADSTS90094") {
			t.Fatalf("member consenting to an admin-only permission: %v", back)
		}
		if g := e.mustCall(200, "GET", "/v1.0/oauth2PermissionGrants", a.token, nil).values(); len(g) != 0 {
			t.Fatalf("a grant was made: %v", g)
		}

		// The Global Administrator can, and then writes as themselves.
		admin := newBrowser(t, cb)
		answers := map[string]string{"username": a.created.Admin.UserPrincipalName, "password": a.created.Admin.Password, "stay": "no", "decision": "accept"}
		tok, _ := tool.codeFlow(t, admin, answers)
		e.mustCall(204, "PATCH", "/v1.0/users/"+bobID, tok.AccessToken, map[string]any{"jobTitle": "Promoted"})
		// Without the role the same scope writes nothing: remove the admin's role.
		adminID := e.mustCall(200, "GET", "/v1.0/me", tok.AccessToken, nil).body["id"].(string)
		e.mustCall(204, "DELETE", "/v1.0/directoryRoles/62e90394-69f5-4237-9190-012177145e10/members/"+adminID+"/$ref", a.token, nil)
		if r := e.call("PATCH", "/v1.0/users/"+bobID, tok.AccessToken, map[string]any{"jobTitle": "Again"}); r.status != 403 {
			t.Fatalf("write without an admin role: %d %s", r.status, r.raw)
		}
	})
}

func TestRevokeSignInSessions(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		u := newUser("carl", a.domain)
		u["passwordProfile"] = map[string]any{"password": "correct horse battery carl", "forceChangePasswordNextSignIn": false}
		id := e.mustCall(201, "POST", "/v1.0/users", a.token, u).body["id"].(string)
		const cb = "https://app.example/cb"
		app := e.registerApp(t, a, "App", cb, "openid", "offline_access", "User.Read")
		b := newBrowser(t, cb)
		tok, _ := app.codeFlow(t, b, map[string]string{"username": "carl@" + a.domain, "password": "correct horse battery carl", "stay": "yes", "decision": "accept"})

		r := e.mustCall(200, "POST", "/v1.0/users/"+id+"/revokeSignInSessions", a.token, map[string]any{})
		if r.body["value"] != true {
			t.Fatalf("revoke: %s", r.raw)
		}
		if _, err := app.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); !isInvalidGrant(err) {
			t.Errorf("refresh after revocation: %v", err)
		}
		back := b.signIn(app.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none")), nil)
		if back.Get("error") != "login_required" {
			t.Errorf("silent sign-in after revocation: %v", back)
		}
	})
}

func isInvalidGrant(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == "invalid_grant"
}

// A logout that no ID token vouches for could be sent by any site (logout
// CSRF): the user is asked, and only the confirmation posted from the page,
// with this browser's token, signs out.
func TestLogoutWithoutIDTokenAsksFirst(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		user := newUser("dana", a.domain)
		user["passwordProfile"] = map[string]any{"password": "correct horse battery dana", "forceChangePasswordNextSignIn": false}
		e.mustCall(201, "POST", "/v1.0/users", a.token, user)
		const cb = "https://app.example/cb"
		app := e.registerApp(t, a, "App", cb, "openid")
		b := newBrowser(t, cb)
		app.codeFlow(t, b, map[string]string{"username": "dana@" + a.domain, "password": "correct horse battery dana", "stay": "no", "decision": "accept"})
		stillSignedIn := func() bool {
			back := b.signIn(app.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none")), nil)
			return back.Get("code") != ""
		}

		endpoint := e.url + "/" + a.id + "/oauth2/v2.0/logout"
		params := url.Values{"client_id": {app.conf.ClientID}, "post_logout_redirect_uri": {cb}, "state": {"bye"}}
		page := func(resp *http.Response, err error) string {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" || !strings.Contains(string(body), `data-step="signout"`) {
				t.Fatalf("not the confirmation page: %d %v\n%s", resp.StatusCode, resp.Header, body)
			}
			return string(body)
		}
		confirm := page(b.client.Get(endpoint + "?" + params.Encode()))
		// Another site posting the logout, with or without a made-up token.
		for _, token := range []string{"", "forged"} {
			forged := url.Values{"csrf": {token}}
			for k, v := range params {
				forged[k] = v
			}
			req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(forged.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "https://evil.example")
			page(b.client.Do(req))
		}
		if !stillSignedIn() {
			t.Fatal("signed out without confirming")
		}

		// The user confirms: the page's form, as the browser posts it.
		action := regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindStringSubmatch(confirm)
		if action == nil || html.UnescapeString(action[1]) != endpoint {
			t.Fatalf("form action %v, want %s", action, endpoint)
		}
		form := url.Values{}
		for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(confirm, -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		if form.Get("csrf") == "" || form.Get("client_id") != app.conf.ClientID || form.Get("post_logout_redirect_uri") != cb || form.Get("state") != "bye" {
			t.Fatalf("confirmation form %v", form)
		}
		req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", e.url)
		resp, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != cb+"?state=bye" {
			t.Fatalf("confirmed logout: %d %q", resp.StatusCode, loc)
		}
		if stillSignedIn() {
			t.Fatal("still signed in after confirming")
		}
	})
}
