package oidc

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

func TestLogout(t *testing.T) {
	f := newFlow(t)
	idToken := f.spaTokens(t).IDToken
	appToken := f.token(t, tenantA, url.Values{"grant_type": {"client_credentials"}, "scope": {f.srv.URL + "/.default"}}, appA, f.secretA).AccessToken
	// A hint from tenant B, and one whose signature is broken.
	v := oauth2.GenerateVerifier()
	idTokenB := f.redeemSPA(t, tenantB, f.code(t, tenantB, spaApp, spaRedirect, v, nil), v).IDToken
	forged := idToken[:len(idToken)-4] + "AAAA"
	// A hint whose key is no longer published (retired and deleted).
	retired := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"retired-key","typ":"JWT"}`)) + idToken[strings.Index(idToken, "."):]

	tests := []struct {
		name     string
		params   url.Values
		status   int
		location string // "" = no redirect
		signOut  bool
		// confirm: no verified ID token names the client, so the user is
		// asked first and the outcome above follows the confirmation.
		confirm bool
	}{
		{"hint and registered URI", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {spaRedirect}, "state": {"s1"}}, 302, spaRedirect + "?state=s1", true, false},
		{"client_id and registered URI", url.Values{"client_id": {spaApp}, "post_logout_redirect_uri": {"ms-app://callback"}}, 302, "ms-app://callback", true, true},
		{"unregistered URI", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"https://evil.example/"}, "state": {"s"}}, 200, "", true, false},
		{"registered URI with extra path", url.Values{"client_id": {spaApp}, "post_logout_redirect_uri": {spaRedirect + "x"}}, 200, "", true, true},
		{"another app's URI", url.Values{"client_id": {spaApp}, "post_logout_redirect_uri": {webRedirect}}, 200, "", true, true},
		{"URI without a client", url.Values{"post_logout_redirect_uri": {spaRedirect}}, 200, "", true, true},
		{"unknown client", url.Values{"client_id": {"nobody"}, "post_logout_redirect_uri": {spaRedirect}}, 200, "", true, true},
		{"nothing", url.Values{}, 200, "", true, true},
		{"hint of another tenant", url.Values{"id_token_hint": {idTokenB}, "post_logout_redirect_uri": {spaRedirect}}, 400, "", false, false},
		{"forged hint", url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {spaRedirect}}, 400, "", false, false},
		{"hint of a retired key", url.Values{"id_token_hint": {retired}, "post_logout_redirect_uri": {spaRedirect}}, 200, "", true, true},
		{"hint of a retired key with client_id", url.Values{"id_token_hint": {retired}, "client_id": {spaApp}, "post_logout_redirect_uri": {spaRedirect}, "state": {"s2"}}, 302, spaRedirect + "?state=s2", true, true},
		{"access token as hint", url.Values{"id_token_hint": {appToken}, "post_logout_redirect_uri": {spaRedirect}}, 400, "", false, false},
		{"hint and other client_id", url.Values{"id_token_hint": {idToken}, "client_id": {webApp}, "post_logout_redirect_uri": {webRedirect}}, 400, "", false, false},
	}
	u := f.srv.URL + "/" + tenantA + "/oauth2/v2.0/logout"
	send := func(t *testing.T, method string, params url.Values) (*http.Response, string, bool) {
		t.Helper()
		before := f.sessions.count()
		var resp *http.Response
		var err error
		if method == http.MethodGet {
			resp, err = noRedirects.Get(u + "?" + params.Encode())
		} else {
			resp, err = noRedirects.PostForm(u, params)
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body), f.sessions.count() > before
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// What the confirmation posts back: the request without the
			// hint, which proved nothing.
			carried := url.Values{}
			for _, k := range []string{"client_id", "post_logout_redirect_uri", "state"} {
				if v := tt.params.Get(k); v != "" {
					carried.Set(k, v)
				}
			}
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				resp, body, signedOut := send(t, method, tt.params)
				if tt.confirm {
					// Any site can send the browser here: nothing happens
					// until the user confirms.
					if resp.StatusCode != http.StatusOK || signedOut || body != "confirm sign-out of "+tenantA+": post "+carried.Encode()+" to "+u {
						t.Fatalf("%s: %d signed out %v: %s", method, resp.StatusCode, signedOut, body)
					}
					continue
				}
				if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
					t.Fatalf("%s: %d Location %q, want %d %q\n%s", method, resp.StatusCode, resp.Header.Get("Location"), tt.status, tt.location, body)
				}
				if signedOut != tt.signOut {
					t.Fatalf("%s: signed out %v, want %v", method, signedOut, tt.signOut)
				}
				if tt.signOut && !strings.Contains(resp.Header.Get("Set-Cookie"), "gh_session=;") {
					t.Fatalf("%s: session cookie not cleared: %q", method, resp.Header.Get("Set-Cookie"))
				}
			}
			if !tt.confirm {
				return
			}
			carried.Set("csrf", fakeConfirmToken)
			resp, body, signedOut := send(t, http.MethodPost, carried)
			if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location || signedOut != tt.signOut {
				t.Fatalf("confirmed: %d Location %q signed out %v, want %d %q %v\n%s", resp.StatusCode, resp.Header.Get("Location"), signedOut, tt.status, tt.location, tt.signOut, body)
			}
		})
	}
	t.Run("expired hint", func(t *testing.T) {
		f.clock.advance(48 * time.Hour)
		defer f.clock.advance(-48 * time.Hour)
		resp, err := noRedirects.Get(f.srv.URL + "/contoso.example/oauth2/v2.0/logout?" + url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {spaRedirect}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != spaRedirect {
			t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

func TestUserinfo(t *testing.T) {
	f := newFlow(t)
	tr := f.spaTokens(t)
	appToken := f.token(t, tenantA, url.Values{"grant_type": {"client_credentials"}, "scope": {f.srv.URL + "/.default"}}, appA, f.secretA).AccessToken
	v := oauth2.GenerateVerifier()
	tokenB := f.redeemSPA(t, tenantB, f.code(t, tenantB, spaApp, spaRedirect, v, nil), v).AccessToken
	noOpenID := f.redeemSPA(t, tenantA, f.code(t, tenantA, spaApp, spaRedirect, v, url.Values{"scope": {"User.Read"}}), v).AccessToken
	profileOnly := f.redeemSPA(t, tenantA, f.code(t, tenantA, spaApp, spaRedirect, v, url.Values{"scope": {"openid"}}), v).AccessToken

	get := func(token, method string) (int, map[string]any) {
		var req *http.Request
		u := f.srv.URL + "/" + tenantA + "/oidc/userinfo"
		if method == http.MethodPost {
			req, _ = http.NewRequest(method, u, strings.NewReader(url.Values{"access_token": {token}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req, _ = http.NewRequest(method, u, nil)
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		status, m := get(tr.AccessToken, method)
		if status != 200 || m["oid"] != userAlice || m["tid"] != tenantA || m["name"] != "Alice Liddell" || m["email"] != "alice@contoso.example" || m["sub"] != f.p.pairwiseSubject(tenantA, userAlice, spaApp) {
			t.Fatalf("%s: %d %v", method, status, m)
		}
	}
	if status, m := get(profileOnly, http.MethodGet); status != 200 || m["name"] != nil || m["email"] != nil || m["oid"] != userAlice {
		t.Fatalf("openid only: %d %v", status, m)
	}
	for name, c := range map[string]struct {
		token  string
		status int
	}{
		"app-only token":    {appToken, 401},
		"other tenant":      {tokenB, 401},
		"ID token":          {tr.IDToken, 401},
		"refresh token":     {tr.RefreshToken, 401},
		"garbage":           {"x", 401},
		"no openid":         {noOpenID, 403},
		"mutated signature": {tr.AccessToken[:len(tr.AccessToken)-3] + "abc", 401},
	} {
		if status, m := get(c.token, http.MethodGet); status != c.status || m["oid"] != nil {
			t.Errorf("%s: %d %v, want %d", name, status, m, c.status)
		}
	}
	f.dir.setUser(tenantA, func(u *fakeUser) { u.gone = true })
	if status, _ := get(tr.AccessToken, http.MethodGet); status != 401 {
		t.Errorf("deleted user: %d", status)
	}
}

func TestRevocation(t *testing.T) {
	f := newFlow(t)
	revoke := func(form url.Values, basic ...string) tokenReply {
		return f.post(t, tenantA+"/oauth2/v2.0/revoke", form, basic...)
	}
	// A public client revokes its refresh token: the family is gone.
	tr := f.spaTokens(t)
	rotated := f.refreshSPA(t, tenantA, tr.RefreshToken)
	if r := revoke(url.Values{"client_id": {spaApp}, "token": {rotated.RefreshToken}, "token_type_hint": {"refresh_token"}}); r.status != 200 {
		t.Fatalf("revoke: %+v", r)
	}
	wantGrantError(t, f.refreshSPA(t, tenantA, rotated.RefreshToken), 400, "invalid_grant")

	// Unknown tokens, access tokens and other clients' tokens: 200, nothing revoked.
	tr = f.spaTokens(t)
	for name, form := range map[string]url.Values{
		"unknown":           {"client_id": {spaApp}, "token": {"nope"}},
		"access token":      {"client_id": {spaApp}, "token": {tr.AccessToken}},
		"other client":      {"client_id": {webApp}, "token": {tr.RefreshToken}},
		"other tenant's id": {"client_id": {spaApp}, "token": {tr.RefreshToken + "x"}},
	} {
		if r := revoke(form); r.status != 200 {
			t.Errorf("%s: %+v", name, r)
		}
	}
	if r := f.post(t, tenantB+"/oauth2/v2.0/revoke", url.Values{"client_id": {spaApp}, "token": {tr.RefreshToken}}); r.status != 200 {
		t.Fatalf("other tenant: %+v", r)
	}
	if r := f.refreshSPA(t, tenantA, tr.RefreshToken); r.status != 200 {
		t.Fatalf("a token was revoked by someone else's request: %+v", r)
	}
	// A confidential client's token needs the secret.
	v := oauth2.GenerateVerifier()
	code := f.code(t, tenantA, webApp, webRedirect, v, nil)
	web := f.token(t, tenantA, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webRedirect}, "code_verifier": {v}}, webApp, f.secretW)
	revoke(url.Values{"client_id": {webApp}, "token": {web.RefreshToken}})
	refreshWeb := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {web.RefreshToken}}
	next := f.token(t, tenantA, refreshWeb, webApp, f.secretW)
	if next.status != 200 {
		t.Fatalf("revoked without client authentication: %+v", next)
	}
	if r := revoke(url.Values{"token": {next.RefreshToken}}, webApp, f.secretW); r.status != 200 {
		t.Fatalf("revoke: %+v", r)
	}
	refreshWeb.Set("refresh_token", next.RefreshToken)
	wantGrantError(t, f.token(t, tenantA, refreshWeb, webApp, f.secretW), 400, "invalid_grant")
	if r := revoke(url.Values{"token": {"x"}}, webApp, "wrong"); r.status != 401 || r.Error != "invalid_client" {
		t.Fatalf("wrong secret: %+v", r)
	}
}

func TestIntrospection(t *testing.T) {
	f := newFlow(t)
	v := oauth2.GenerateVerifier()
	code := f.code(t, tenantA, webApp, webRedirect, v, nil)
	web := f.token(t, tenantA, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webRedirect}, "code_verifier": {v}}, webApp, f.secretW)
	spa := f.spaTokens(t)
	codeB := f.code(t, tenantB, spaApp, spaRedirect, v, nil)
	spaB := f.redeemSPA(t, tenantB, codeB, v)

	introspect := func(tenant, token string, basic ...string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/"+tenant+"/oauth2/v2.0/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if len(basic) == 2 {
			req.SetBasicAuth(basic[0], basic[1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		m := map[string]any{"status": float64(resp.StatusCode)}
		json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	at := introspect(tenantA, spa.AccessToken, webApp, f.secretW)
	if at["active"] != true || at["oid"] != userAlice || at["client_id"] != spaApp || at["tid"] != tenantA || at["token_type"] != "Bearer" || !strings.Contains(at["scope"].(string), "User.Read") {
		t.Fatalf("access token: %v", at)
	}
	rt := introspect(tenantA, web.RefreshToken, webApp, f.secretW)
	if rt["active"] != true || rt["token_type"] != "refresh_token" || rt["client_id"] != webApp || rt["sub"] != f.p.pairwiseSubject(tenantA, userAlice, webApp) {
		t.Fatalf("refresh token: %v", rt)
	}
	for name, m := range map[string]map[string]any{
		"another client's refresh token": introspect(tenantA, spa.RefreshToken, webApp, f.secretW),
		"other tenant's access token":    introspect(tenantA, spaB.AccessToken, webApp, f.secretW),
		"ID token":                       introspect(tenantA, spa.IDToken, webApp, f.secretW),
		"garbage":                        introspect(tenantA, "garbage", webApp, f.secretW),
	} {
		if m["active"] != false || len(m) != 2 {
			t.Errorf("%s: %v, want only active false", name, m)
		}
	}
	// A used refresh token is no longer active.
	f.token(t, tenantA, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {web.RefreshToken}}, webApp, f.secretW)
	if m := introspect(tenantA, web.RefreshToken, webApp, f.secretW); m["active"] != false {
		t.Errorf("used refresh token: %v", m)
	}
	if m := introspect(tenantA, spa.AccessToken); m["status"] != float64(400) || m["active"] != nil {
		t.Errorf("no client: %v, want 400", m)
	}
	for name, m := range map[string]map[string]any{
		"wrong secret":            introspect(tenantA, spa.AccessToken, webApp, "wrong"),
		"client of tenant A at B": introspect(tenantB, spaB.AccessToken, webApp, f.secretW),
	} {
		if m["status"] != float64(401) || m["active"] != nil {
			t.Errorf("%s: %v, want 401", name, m)
		}
	}
}

// TestIDTokenIsNotAnAccessToken: an ID token, even one whose audience is
// made to look like the API's, never verifies as an access token.
func TestIDTokenIsNotAnAccessToken(t *testing.T) {
	f := newFlow(t)
	tr := f.spaTokens(t)
	if _, err := f.p.VerifyAccessToken(t.Context(), tr.IDToken); err == nil {
		t.Fatal("ID token accepted as an access token")
	}
	priv, kid := tenantPrivateKey(t, f.env, tenantA)
	now := f.clock.now()
	forged := signWith(t, "RS256", priv, kid, idClaims{
		Claims:   jwt.Claims{Issuer: f.p.issuer(tenantA), Subject: "s", Audience: jwt.Audience{f.srv.URL}, Expiry: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now)},
		TenantID: tenantA, ObjectID: userAlice, Version: "2.0",
	})
	if _, err := f.p.VerifyAccessToken(t.Context(), forged); err == nil {
		t.Fatal("a token without idtyp was accepted as an access token")
	}
}
