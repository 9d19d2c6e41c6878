package oidc

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestCodeFlowWithGoOIDC runs the authorization code flow of a confidential
// web app as a third-party relying party would: go-oidc discovers the
// tenant, x/oauth2 makes the PKCE S256 request and redeems the code, and
// go-oidc verifies the ID token against the tenant's published keys.
func TestCodeFlowWithGoOIDC(t *testing.T) {
	f := newFlow(t)
	ctx := t.Context()
	// Real time for go-oidc's expiry checks: the provider's clock follows it.
	f.clock.set(time.Now().Truncate(time.Second))
	provider, err := gooidc.NewProvider(ctx, f.srv.URL+"/"+tenantA+"/v2.0")
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{
		ClientID: webApp, ClientSecret: f.secretW, RedirectURL: webRedirect,
		Endpoint: provider.Endpoint(),
		Scopes:   []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess, f.srv.URL + "/User.Read"},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-xyz", gooidc.Nonce("nonce-abc"), oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("login_hint", "alice@contoso.example"))
	resp, body := f.browse(t, authURL)
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || back.Scheme+"://"+back.Host+back.Path != webRedirect {
		t.Fatalf("authorize: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if got := back.Query().Get("state"); got != "state-xyz" {
		t.Fatalf("state %q", got)
	}
	if req := f.pages.last(); req.LoginHint != "alice@contoso.example" || req.ClientName != "Web" || req.Publisher != "web.example" || req.RedirectURI != webRedirect {
		t.Fatalf("pending request seen by the pages: %+v", req)
	}

	tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("client_info", "1"))
	if err != nil {
		t.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&gooidc.Config{ClientID: webApp}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc rejects the ID token: %v", err)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	var c map[string]any
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"nonce": "nonce-abc", "tid": tenantA, "oid": userAlice, "ver": "2.0", "aud": webApp,
		"preferred_username": "alice@contoso.example", "name": "Alice Liddell", "email": "alice@contoso.example",
		"sid": "session-1", "auth_time": float64(f.clock.now().Unix()),
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("ID token %s = %v, want %v", k, c[k], v)
		}
	}
	sub, _ := c["sub"].(string)
	if len(sub) != 43 || sub == userAlice || sub != f.p.pairwiseSubject(tenantA, userAlice, webApp) {
		t.Errorf("sub %q is not Alice's pairwise subject for the web app", sub)
	}
	if sub == f.p.pairwiseSubject(tenantA, userAlice, spaApp) {
		t.Error("sub is the same for two applications")
	}
	if amr, _ := json.Marshal(c["amr"]); string(amr) != `["pwd","mfa"]` {
		t.Errorf("amr %s", amr)
	}
	if roles, _ := json.Marshal(c["roles"]); string(roles) != `["Reader"]` {
		t.Errorf("roles %s", roles)
	}
	if uti, _ := c["uti"].(string); len(uti) < 22 {
		t.Errorf("uti %q", uti)
	}

	// client_info for MSAL.
	ci, _ := tok.Extra("client_info").(string)
	raw, err := base64.RawURLEncoding.DecodeString(ci)
	if err != nil || string(raw) != `{"uid":"`+userAlice+`","utid":"`+tenantA+`"}` {
		t.Errorf("client_info %q → %s (%v)", ci, raw, err)
	}

	// The access token is for the API, delegated, with the granted scopes.
	at, err := f.p.VerifyAccessToken(ctx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if !at.Delegated || at.IDType != "user" || at.ObjectID != userAlice || at.Subject != sub || at.AppID != webApp || at.TenantID != tenantA || len(at.Roles) != 0 {
		t.Fatalf("access token %+v", at)
	}
	if got := strings.Fields(at.Scopes); !slices.Contains(got, "User.Read") || slices.Contains(got, "Mail.Read") || slices.Contains(got, "offline_access") {
		t.Fatalf("scp %q: want the requested, granted permission only", at.Scopes)
	}
	claims := verifyWithJWKS(t, f.srv.URL+"/"+tenantA+"/discovery/v2.0/keys", tok.AccessToken)
	if claims["aud"] != f.srv.URL || claims["azp"] != webApp || claims["name"] != "Alice Liddell" || claims["uti"] != claims["jti"] {
		t.Fatalf("access token claims %v", claims)
	}
	if amr, _ := json.Marshal(claims["amr"]); string(amr) != `["pwd","mfa"]` {
		t.Errorf("access token amr %s", amr)
	}

	// userinfo, as go-oidc fetches it.
	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	var uic map[string]any
	ui.Claims(&uic)
	if ui.Subject != sub || ui.Email != "alice@contoso.example" || uic["oid"] != userAlice || uic["tid"] != tenantA || uic["preferred_username"] != "alice@contoso.example" {
		t.Fatalf("userinfo %v", uic)
	}

	// Refresh through x/oauth2: a new access token and a rotated refresh token.
	old := tok.RefreshToken
	tok.Expiry = time.Now().Add(-time.Minute)
	fresh, err := conf.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == "" || fresh.RefreshToken == old {
		t.Fatal("refresh did not rotate")
	}
	rid, _ := fresh.Extra("id_token").(string)
	idt2, err := provider.Verifier(&gooidc.Config{ClientID: webApp}).Verify(ctx, rid)
	if err != nil || idt2.Subject != sub || idt2.Nonce != "" {
		t.Fatalf("refreshed ID token: %v", err)
	}
	// A refresh keeps how the user authenticated, in both tokens.
	var rc map[string]any
	_ = idt2.Claims(&rc)
	if amr, _ := json.Marshal(rc["amr"]); string(amr) != `["pwd","mfa"]` || rc["auth_time"] != c["auth_time"] {
		t.Errorf("refreshed ID token amr %s, auth_time %v", amr, rc["auth_time"])
	}
	if amr, _ := json.Marshal(verifyWithJWKS(t, f.srv.URL+"/"+tenantA+"/discovery/v2.0/keys", fresh.AccessToken)["amr"]); string(amr) != `["pwd","mfa"]` {
		t.Errorf("refreshed access token amr %s", amr)
	}
	// The used refresh token is spent, and its replay revokes the new one.
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: old}).Token(); err == nil {
		t.Fatal("a used refresh token was accepted")
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token(); err == nil {
		t.Fatal("the refresh token family survived a replay")
	}
}

func TestPublicClientFlows(t *testing.T) {
	tests := []struct {
		name string
		mode string
	}{
		{"query", ""},
		{"fragment", "fragment"},
		{"form_post", "form_post"},
		{"by domain", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow(t)
			v := oauth2.GenerateVerifier()
			segment := tenantA
			if tt.name == "by domain" {
				segment = "contoso.example"
			}
			extra := url.Values{}
			if tt.mode != "" {
				extra.Set("response_mode", tt.mode)
			}
			resp, body := f.browse(t, f.authorizeURL(segment, spaApp, spaRedirect, v, extra))
			var params url.Values
			switch tt.mode {
			case "form_post":
				params = checkFormPost(t, resp, body, spaRedirect)
			case "fragment":
				loc := resp.Header.Get("Location")
				before, frag, ok := strings.Cut(loc, "#")
				if resp.StatusCode != http.StatusFound || !ok || before != spaRedirect {
					t.Fatalf("fragment response %d %q", resp.StatusCode, loc)
				}
				params, _ = url.ParseQuery(frag)
			default:
				loc := resp.Header.Get("Location")
				if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, spaRedirect+"?") {
					t.Fatalf("query response %d %q", resp.StatusCode, loc)
				}
				u, _ := url.Parse(loc)
				params = u.Query()
			}
			if params.Get("state") != "st-123" || params.Get("code") == "" {
				t.Fatalf("response parameters %v", params)
			}
			tr := f.redeemSPA(t, tenantA, params.Get("code"), v)
			if tr.status != http.StatusOK || tr.IDToken == "" || tr.RefreshToken == "" || tr.ClientInfo != "" {
				t.Fatalf("redeem %+v", tr)
			}
			r2 := f.refreshSPA(t, tenantA, tr.RefreshToken)
			if r2.status != http.StatusOK || r2.RefreshToken == tr.RefreshToken {
				t.Fatalf("refresh %+v", r2)
			}
		})
	}
}

// checkFormPost checks a form_post response page: a form posting exactly
// the response to the redirect URI, submitted by the one script the CSP
// allows, with a button for browsers without scripts. It returns the
// hidden fields.
func checkFormPost(t *testing.T, resp *http.Response, body, action string) url.Values {
	t.Helper()
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get("Location") != "" {
		t.Fatalf("form_post: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	_, nonce, ok := strings.Cut(csp, "script-src 'nonce-")
	nonce, _, _ = strings.Cut(nonce, "'")
	if !ok || len(nonce) < 16 || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP %q", csp)
	}
	if strings.Count(body, "<script") != 1 || !strings.Contains(body, `<script nonce="`+nonce+`">`) {
		t.Fatalf("scripts in the page are not exactly the nonce'd one:\n%s", body)
	}
	if !strings.Contains(body, `<form method="post" action="`+action+`">`) || !strings.Contains(body, "<noscript>") || !strings.Contains(body, `<button type="submit">`) {
		t.Fatalf("form_post page:\n%s", body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Error("form_post page may be cached")
	}
	params := url.Values{}
	rest := body
	for {
		_, after, ok := strings.Cut(rest, `<input type="hidden" name="`)
		if !ok {
			return params
		}
		name, after, _ := strings.Cut(after, `" value="`)
		value, after, _ := strings.Cut(after, `"`)
		params.Add(name, value)
		rest = after
	}
}
