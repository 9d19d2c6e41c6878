package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// signedIn is a user's sign-in to an application through the hosted pages:
// the browser holding its SSO session, the tokens, and the code they came from.
type signedIn struct {
	a       tenant
	app     rp
	userID  string
	upn, pw string
	browser *browser
	tok     *oauth2.Token
	code    string
	verif   string
}

const revocationCallback = "https://revocation.example/cb"

func (e *env) signInForRevocation(t *testing.T, name string) signedIn {
	t.Helper()
	a := e.tenant(name, strings.ToLower(name)+".example")
	s := signedIn{a: a, upn: "alice@" + a.domain, pw: "correct horse battery alice"}
	s.userID = e.addUser(a, "alice")
	s.app = e.registerApp(t, a, "Notes", revocationCallback, "openid", "profile", "offline_access", "User.Read")
	s.browser = newBrowser(t, revocationCallback)
	s.verif = oauth2.GenerateVerifier()
	back := s.browser.signIn(s.app.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(s.verif)), answersFor(s.upn, s.pw))
	s.code = back.Get("code")
	tok, err := s.app.conf.Exchange(context.Background(), s.code, oauth2.VerifierOption(s.verif))
	if err != nil {
		t.Fatal(err)
	}
	s.tok = tok
	return s
}

// accepted reports how node answers for the access token on Gatehouse's
// three resource surfaces: Graph /me, userinfo, and introspection (asked by
// the tenant's automation client). It fails the test on any other answer
// than accepted or refused, such as a 5xx.
func (n *env) accepted(t *testing.T, s signedIn, token string) (graph, userinfo, introspection bool) {
	t.Helper()
	switch r := n.call("GET", "/v1.0/me", token, nil); r.status {
	case 200:
		graph = true
	case 401:
	default:
		t.Fatalf("/me: %d %s", r.status, r.raw)
	}
	switch r := n.call("GET", "/"+s.a.id+"/oidc/userinfo", token, nil); r.status {
	case 200:
		userinfo = true
	case 401:
	default:
		t.Fatalf("userinfo: %d %s", r.status, r.raw)
	}
	form := url.Values{"token": {token}, "client_id": {s.a.created.Auto.ClientID}, "client_secret": {s.a.created.Auto.ClientSecret}}
	resp, err := http.PostForm(n.url+"/"+s.a.id+"/oauth2/v2.0/introspect", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var in struct {
		Active bool `json:"active"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&in) != nil {
		t.Fatalf("introspection: %d", resp.StatusCode)
	}
	return graph, userinfo, in.Active
}

// waitRefused polls node until every surface refuses the token: revocations
// reach each node within seconds, not at once.
func (n *env) waitRefused(t *testing.T, s signedIn, token, node string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, u, i := n.accepted(t, s, token)
		if !g && !u && !i {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: an access token issued before the revocation is still accepted: graph %v, userinfo %v, introspection %v", node, g, u, i)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRevocationEndsTokensAndSessions: each cause of revocation ends, at
// once, the refresh token and the silent use of the SSO session, and within
// seconds the access token issued before it on every resource surface of
// every node. The second node is only on PostgreSQL: SQLite is one process's.
func TestRevocationEndsTokensAndSessions(t *testing.T) {
	causes := []struct {
		name   string
		revoke func(t *testing.T, e *env, s signedIn)
	}{
		{"admin password reset", func(t *testing.T, e *env, s signedIn) {
			e.mustCall(204, "PATCH", "/v1.0/users/"+s.userID, s.a.token, map[string]any{
				"passwordProfile": map[string]any{"password": "a brand new passphrase 1", "forceChangePasswordNextSignIn": false},
			})
		}},
		{"own password change", func(t *testing.T, e *env, s signedIn) {
			e.mustCall(204, "PATCH", "/v1.0/users/"+s.userID, s.a.token, map[string]any{"passwordProfile": map[string]any{"forceChangePasswordNextSignIn": true}})
			// On another device the user signs in and changes the password.
			other := newBrowser(t, revocationCallback)
			answers := answersFor(s.upn, s.pw)
			answers["current"], answers["new"], answers["confirm"] = s.pw, "a brand new passphrase 2", "a brand new passphrase 2"
			back := other.signIn(s.app.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), answers)
			if back.Get("code") == "" {
				t.Fatalf("password change: pages %v, back %v", other.pages, back)
			}
		}},
		{"delegated grant deleted", func(t *testing.T, e *env, s signedIn) {
			for _, g := range e.mustCall(200, "GET", "/v1.0/oauth2PermissionGrants", s.a.token, nil).values() {
				if g["principalId"] == s.userID {
					e.mustCall(204, "DELETE", "/v1.0/oauth2PermissionGrants/"+g["id"].(string), s.a.token, nil)
				}
			}
		}},
		{"delegated grant narrowed", func(t *testing.T, e *env, s signedIn) {
			for _, g := range e.mustCall(200, "GET", "/v1.0/oauth2PermissionGrants", s.a.token, nil).values() {
				if g["principalId"] == s.userID {
					e.mustCall(204, "PATCH", "/v1.0/oauth2PermissionGrants/"+g["id"].(string), s.a.token, map[string]any{"scope": "openid profile offline_access"})
				}
			}
		}},
		{"service principal deleted", func(t *testing.T, e *env, s signedIn) {
			sp := e.servicePrincipal(s.a, s.app.conf.ClientID)
			e.mustCall(204, "DELETE", "/v1.0/servicePrincipals/"+sp["id"].(string), s.a.token, nil)
		}},
		{"code replayed", func(t *testing.T, e *env, s signedIn) {
			if _, err := s.app.conf.Exchange(context.Background(), s.code, oauth2.VerifierOption(s.verif)); !isInvalidGrant(err) {
				t.Fatalf("replayed code: %v", err)
			}
		}},
	}
	for backend, open := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			st := open(t)
			dataDir := t.TempDir()
			e := newNode(t, nopClose{st}, app.Config{DataDir: dataDir})
			var other *env
			if backend == "postgres" {
				// A second node of the deployment: its own caches, the
				// same store, master key and public URL.
				other = newNode(t, nopClose{st}, app.Config{DataDir: dataDir, PublicURL: e.url})
			}
			for i, c := range causes {
				t.Run(c.name, func(t *testing.T) {
					s := e.signInForRevocation(t, "Rev"+string(rune('a'+i)))
					for node, n := range map[string]*env{"first node": e, "second node": other} {
						if n == nil {
							continue
						}
						if g, u, in := n.accepted(t, s, s.tok.AccessToken); !g || !u || !in {
							t.Fatalf("%s before the revocation: graph %v, userinfo %v, introspection %v", node, g, u, in)
						}
					}

					c.revoke(t, e, s)

					if _, err := s.app.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: s.tok.RefreshToken}).Token(); err == nil {
						t.Error("the refresh token still works")
					}
					back := s.browser.signIn(s.app.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none")), nil)
					if back.Get("error") != "login_required" {
						t.Errorf("silent sign-in with the SSO session: %v", back)
					}
					e.waitRefused(t, s, s.tok.AccessToken, "first node")
					if other != nil {
						other.waitRefused(t, s, s.tok.AccessToken, "second node")
					}
				})
			}
		})
	}
}

// TestSessionLifetimePolicy: the tenant's policy is read and changed through
// Graph, refused when out of bounds, and bounds the refresh tokens issued
// after it: a refresh token lives no longer than the idle timeout.
func TestSessionLifetimePolicy(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		const path = "/v1.0/policies/sessionLifetimePolicy"
		got := e.mustCall(200, "GET", path, a.token, nil).body
		for k, want := range map[string]string{"signInSessionMaxAge": "P30D", "signInSessionIdleTimeout": "P30D", "refreshTokenMaxAge": "P30D", "refreshTokenIdleTimeout": "P30D"} {
			if got[k] != want {
				t.Errorf("default %s = %v, want %s", k, got[k], want)
			}
		}
		for _, bad := range []map[string]any{
			{"refreshTokenIdleTimeout": "P31D"}, // idle beyond the maximum age
			{"signInSessionMaxAge": "P1Y"},      // years vary in length
			{"refreshTokenMaxAge": "PT1M"},      // shorter than anyone can sign in
			{"signInSessionMaxAge": "P91D"},     // beyond what revocations are kept for
			{"refreshTokenMaxAge": 3600},        // not a duration
			{"signInSessionIdleTimeout": nil},   // required
			{"displayName": "Mine"},             // read-only
		} {
			if r := e.call("PATCH", path, a.token, bad); r.status != 400 {
				t.Errorf("PATCH %v: %d %s", bad, r.status, r.raw)
			}
		}
		aal2 := map[string]any{"signInSessionMaxAge": "PT12H", "signInSessionIdleTimeout": "PT30M", "refreshTokenMaxAge": "PT12H", "refreshTokenIdleTimeout": "PT30M"}
		e.mustCall(204, "PATCH", path, a.token, aal2)
		got = e.mustCall(200, "GET", path, a.token, nil).body
		for k, want := range aal2 {
			if got[k] != want {
				t.Errorf("%s = %v, want %s", k, got[k], want)
			}
		}

		e.addUser(a, "alice")
		app := e.registerApp(t, a, "Notes", revocationCallback, "openid", "offline_access", "User.Read")
		tok, _ := app.codeFlow(t, newBrowser(t, revocationCallback), answersFor("alice@"+a.domain, "correct horse battery alice"))
		form := url.Values{"token": {tok.RefreshToken}, "client_id": {app.conf.ClientID}, "client_secret": {app.conf.ClientSecret}}
		resp, err := http.PostForm(e.url+"/"+a.id+"/oauth2/v2.0/introspect", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var in struct {
			Active   bool  `json:"active"`
			IssuedAt int64 `json:"iat"`
			Expiry   int64 `json:"exp"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&in); err != nil || !in.Active {
			t.Fatalf("introspection: %d %+v %v", resp.StatusCode, in, err)
		}
		if life := time.Duration(in.Expiry-in.IssuedAt) * time.Second; life > 30*time.Minute {
			t.Errorf("the refresh token lives %s, past the 30-minute idle timeout", life)
		}
	})
}
