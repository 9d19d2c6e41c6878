package oidc

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestAuthorizeRefusesUnregisteredRedirects: a redirect URI that differs
// from a registered one in any way gets an error page and is never
// redirected to, whatever else the request says.
func TestAuthorizeRefusesUnregisteredRedirects(t *testing.T) {
	f := newFlow(t)
	v := oauth2.GenerateVerifier()
	tests := []struct {
		name, client, uri string
	}{
		{"extra path", webApp, webRedirect + "/evil"},
		{"path prefix", webApp, strings.TrimSuffix(webRedirect, "/callback")},
		{"query added", webApp, webRedirect + "?next=https://evil.example"},
		{"empty query", webApp, webRedirect + "?"},
		{"fragment", webApp, webRedirect + "#x"},
		{"trailing slash", webApp, webRedirect + "/"},
		{"scheme", webApp, strings.Replace(webRedirect, "https://", "http://", 1)},
		{"host", webApp, strings.Replace(webRedirect, "web.example", "web.example.evil.example", 1)},
		{"host case", webApp, strings.Replace(webRedirect, "web.example", "WEB.example", 1)},
		{"port", webApp, strings.Replace(webRedirect, "web.example", "web.example:443", 1)},
		{"userinfo", webApp, strings.Replace(webRedirect, "https://", "https://web.example@", 1)},
		{"percent-encoded", webApp, strings.Replace(webRedirect, "callback", "c%61llback", 1)},
		{"spa port", spaApp, "http://localhost:5174/"},
		{"spa no slash", spaApp, "http://localhost:5173"},
		{"registered query dropped", legacyApp, "https://legacy.example/cb"},
		{"registered query changed", legacyApp, "https://legacy.example/cb?tenant=fabrikam"},
		{"another app's URI", webApp, spaRedirect},
		{"missing", webApp, ""},
		{"unknown client", "99999999-0000-4000-8000-000000000000", webRedirect},
		{"missing client", "", webRedirect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Errors that would otherwise be redirected must not be either.
			for _, extra := range []url.Values{nil, {"response_type": {"token"}}, {"response_mode": {"form_post"}}, {"scope": {"https://other.example/x"}}} {
				if extra == nil {
					extra = url.Values{}
				}
				extra.Set("client_id", tt.client)
				extra.Set("redirect_uri", tt.uri)
				for _, method := range []string{http.MethodGet, http.MethodPost} {
					u := f.authorizeURL(tenantA, webApp, webRedirect, v, extra)
					var resp *http.Response
					var err error
					if method == http.MethodPost {
						base, query, _ := strings.Cut(u, "?")
						form, _ := url.ParseQuery(query)
						resp, err = noRedirects.PostForm(base, form)
					} else {
						resp, err = noRedirects.Get(u)
					}
					if err != nil {
						t.Fatal(err)
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
						t.Fatalf("%s %v: %d Location %q", method, extra, resp.StatusCode, resp.Header.Get("Location"))
					}
					if strings.Contains(string(body), "<form") || strings.Contains(string(body), "<script") {
						t.Fatalf("error page submits or scripts:\n%s", body)
					}
				}
			}
		})
	}
	if n := f.st.liveStates(tenantA, kindAuthRequest); n != 0 {
		t.Fatalf("%d authorization requests stored for refused redirect URIs", n)
	}
}

// TestAuthorizeErrorsGoBackToTheClient: once the client and redirect URI
// are known, errors are redirected with state in the response mode.
func TestAuthorizeErrorsGoBackToTheClient(t *testing.T) {
	f := newFlow(t)
	v := oauth2.GenerateVerifier()
	tests := []struct {
		name   string
		client string
		uri    string
		extra  url.Values
		code   string
	}{
		{"no PKCE, confidential", webApp, webRedirect, url.Values{"code_challenge": {""}, "code_challenge_method": {""}}, "invalid_request"},
		{"no PKCE, public", spaApp, spaRedirect, url.Values{"code_challenge": {""}, "code_challenge_method": {""}}, "invalid_request"},
		{"plain PKCE", spaApp, spaRedirect, url.Values{"code_challenge": {v}, "code_challenge_method": {"plain"}}, "invalid_request"},
		{"PKCE without method", spaApp, spaRedirect, url.Values{"code_challenge_method": {""}}, "invalid_request"},
		{"malformed challenge", spaApp, spaRedirect, url.Values{"code_challenge": {"short"}}, "invalid_request"},
		{"implicit", spaApp, spaRedirect, url.Values{"response_type": {"token"}}, "unsupported_response_type"},
		{"hybrid", spaApp, spaRedirect, url.Values{"response_type": {"code id_token"}}, "unsupported_response_type"},
		{"no response_type", spaApp, spaRedirect, url.Values{"response_type": {""}}, "invalid_request"},
		{"other resource", spaApp, spaRedirect, url.Values{"scope": {"openid https://graph.microsoft.com/User.Read"}}, "invalid_scope"},
		{".default with others", spaApp, spaRedirect, url.Values{"scope": {"openid .default User.Read"}}, "invalid_scope"},
		{"no scope", spaApp, spaRedirect, url.Values{"scope": {""}}, "invalid_request"},
		{"too many scopes", spaApp, spaRedirect, url.Values{"scope": {"openid " + manyScopes(maxScopes)}}, "invalid_scope"},
		{"unknown prompt", spaApp, spaRedirect, url.Values{"prompt": {"always"}}, "invalid_request"},
		{"prompt none and login", spaApp, spaRedirect, url.Values{"prompt": {"none login"}}, "invalid_request"},
		{"bad max_age", spaApp, spaRedirect, url.Values{"max_age": {"-1"}}, "invalid_request"},
		{"request object", spaApp, spaRedirect, url.Values{"request": {"x.y.z"}}, "request_not_supported"},
		{"unknown response_mode", spaApp, spaRedirect, url.Values{"response_mode": {"web_message"}}, "invalid_request"},
		{"form_post to a custom scheme", spaApp, "ms-app://callback", url.Values{"response_mode": {"form_post"}}, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := noRedirects.Get(f.authorizeURL(tenantA, tt.client, tt.uri, v, tt.extra))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			u, _ := url.Parse(loc)
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, tt.uri+"?") || u.Query().Get("error") != tt.code || u.Query().Get("state") != "st-123" || u.Query().Has("code") {
				t.Fatalf("got %d %q, want a redirect with error=%s", resp.StatusCode, loc, tt.code)
			}
		})
	}
	// The opted-out app may skip PKCE, and its registered query is kept.
	code := f.code(t, tenantA, legacyApp, legacyRedirect, "", nil)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {legacyRedirect}}
	wantGrantError(t, f.token(t, tenantA, form, legacyApp, f.secretW), 401, "invalid_client")
	if tr := f.token(t, tenantA, form, legacyApp, f.secretL); tr.status != http.StatusOK {
		t.Fatalf("PKCE-optional app: %+v", tr)
	}
}

func TestCodeRedemptionErrors(t *testing.T) {
	f := newFlow(t)
	v := oauth2.GenerateVerifier()
	redeem := func(mod func(url.Values)) tokenReply {
		code := f.code(t, tenantA, spaApp, spaRedirect, v, nil)
		form := url.Values{"grant_type": {"authorization_code"}, "client_id": {spaApp}, "code": {code}, "redirect_uri": {spaRedirect}, "code_verifier": {v}}
		mod(form)
		return f.token(t, tenantA, form)
	}
	tests := []struct {
		name   string
		mod    func(url.Values)
		status int
		code   string
	}{
		{"missing verifier", func(f url.Values) { f.Del("code_verifier") }, 400, "invalid_grant"},
		{"wrong verifier", func(f url.Values) { f.Set("code_verifier", oauth2.GenerateVerifier()) }, 400, "invalid_grant"},
		{"challenge as verifier", func(f url.Values) { f.Set("code_verifier", oauth2.S256ChallengeFromVerifier(v)) }, 400, "invalid_grant"},
		{"verifier with a changed character", func(f url.Values) { f.Set("code_verifier", v[:len(v)-1]+string(v[len(v)-1]^1)) }, 400, "invalid_grant"},
		{"other redirect_uri", func(f url.Values) { f.Set("redirect_uri", "ms-app://callback") }, 400, "invalid_grant"},
		{"redirect_uri with slash", func(f url.Values) { f.Set("redirect_uri", spaRedirect+"/") }, 400, "invalid_grant"},
		{"other client", func(f url.Values) { f.Set("client_id", webApp) }, 400, "invalid_grant"},
		{"made-up code", func(f url.Values) { f.Set("code", newSecret()) }, 400, "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantGrantError(t, redeem(tt.mod), tt.status, tt.code)
		})
	}

	t.Run("confidential code without the secret", func(t *testing.T) {
		code := f.code(t, tenantA, webApp, webRedirect, v, nil)
		form := url.Values{"grant_type": {"authorization_code"}, "client_id": {webApp}, "code": {code}, "redirect_uri": {webRedirect}, "code_verifier": {v}}
		wantGrantError(t, f.token(t, tenantA, form), 401, "invalid_client")
		form.Del("client_id")
		if tr := f.token(t, tenantA, form, webApp, f.secretW); tr.status != http.StatusOK {
			t.Fatalf("with the secret: %+v", tr)
		}
	})
	t.Run("verifier for a code without challenge", func(t *testing.T) {
		code := f.code(t, tenantA, legacyApp, legacyRedirect, "", nil)
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {legacyRedirect}, "code_verifier": {v}}
		wantGrantError(t, f.token(t, tenantA, form, legacyApp, f.secretL), 400, "invalid_grant")
	})
	t.Run("expired code", func(t *testing.T) {
		code := f.code(t, tenantA, spaApp, spaRedirect, v, nil)
		f.clock.advance(codeLifetime + time.Second)
		defer f.clock.advance(-codeLifetime - time.Second)
		wantGrantError(t, f.redeemSPA(t, tenantA, code, v), 400, "invalid_grant")
	})
}

// TestCodeReplayRevokesTokens: a second redemption fails and revokes the
// refresh token the first one issued (RFC 6749 §4.1.2).
func TestCodeReplayRevokesTokens(t *testing.T) {
	f := newFlow(t)
	v := oauth2.GenerateVerifier()
	code := f.code(t, tenantA, spaApp, spaRedirect, v, nil)
	first := f.redeemSPA(t, tenantA, code, v)
	if first.status != http.StatusOK || first.RefreshToken == "" {
		t.Fatalf("first redemption %+v", first)
	}
	wantGrantError(t, f.redeemSPA(t, tenantA, code, v), 400, "invalid_grant")
	wantGrantError(t, f.refreshSPA(t, tenantA, first.RefreshToken), 400, "invalid_grant")
	wantGrantError(t, f.redeemSPA(t, tenantA, code, v), 400, "invalid_grant")
}

// TestParallelCodeRedemption: of 50 concurrent redemptions of one code
// exactly one succeeds, and since the code was replayed, no refresh token
// of it survives.
func TestParallelCodeRedemption(t *testing.T) {
	f := newFlow(t)
	v := oauth2.GenerateVerifier()
	code := f.code(t, tenantA, spaApp, spaRedirect, v, nil)
	const n = 50
	replies := make([]tokenReply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { replies[i] = f.redeemSPA(t, tenantA, code, v) })
	}
	wg.Wait()
	ok := 0
	for _, r := range replies {
		switch {
		case r.status == http.StatusOK && r.AccessToken != "":
			ok++
		case r.status != http.StatusBadRequest || r.Error != "invalid_grant":
			t.Errorf("unexpected reply %+v", r)
		}
	}
	if ok != 1 {
		t.Fatalf("%d redemptions succeeded, want exactly 1", ok)
	}
	if live := f.st.liveStates(tenantA, kindRefresh); live != 0 {
		t.Fatalf("%d refresh tokens alive after the code was replayed", live)
	}
}

// TestReplayDuringRedemption replays a code at the worst moment: right
// after the first redemption consumed it, before that redemption answers.
// The replay's revocation must still reach the first redemption's refresh
// token, which exists only if it is stored before the code is consumed.
func TestReplayDuringRedemption(t *testing.T) {
	for _, kind := range []string{kindCode, kindRefresh} {
		t.Run(kind, func(t *testing.T) {
			f := newFlow(t)
			v := oauth2.GenerateVerifier()
			code := f.code(t, tenantA, spaApp, spaRedirect, v, nil)
			var first tokenReply
			if kind == kindRefresh {
				first = f.redeemSPA(t, tenantA, code, v)
			}
			var once sync.Once
			var replay tokenReply
			f.st.afterConsume = func(consumed string) {
				if consumed != kind {
					return
				}
				once.Do(func() {
					if kind == kindCode {
						replay = f.redeemSPA(t, tenantA, code, v)
					} else {
						replay = f.refreshSPA(t, tenantA, first.RefreshToken)
					}
				})
			}
			var winner tokenReply
			if kind == kindCode {
				winner = f.redeemSPA(t, tenantA, code, v)
			} else {
				winner = f.refreshSPA(t, tenantA, first.RefreshToken)
			}
			f.st.afterConsume = nil
			wantGrantError(t, replay, 400, "invalid_grant")
			if winner.status != http.StatusOK || winner.RefreshToken == "" {
				t.Fatalf("first redemption %+v", winner)
			}
			wantGrantError(t, f.refreshSPA(t, tenantA, winner.RefreshToken), 400, "invalid_grant")
		})
	}
}

func TestRefreshReplayRevokesFamily(t *testing.T) {
	f := newFlow(t)
	tr := f.spaTokens(t)
	r1 := tr.RefreshToken
	second := f.refreshSPA(t, tenantA, r1)
	if second.status != http.StatusOK {
		t.Fatalf("refresh %+v", second)
	}
	third := f.refreshSPA(t, tenantA, second.RefreshToken)
	if third.status != http.StatusOK {
		t.Fatalf("refresh %+v", third)
	}
	// Another sign-in of the same user is a different family and survives.
	other := f.spaTokens(t)

	wantGrantError(t, f.refreshSPA(t, tenantA, r1), 400, "invalid_grant")
	wantGrantError(t, f.refreshSPA(t, tenantA, third.RefreshToken), 400, "invalid_grant")
	if r := f.refreshSPA(t, tenantA, other.RefreshToken); r.status != http.StatusOK {
		t.Fatalf("an unrelated family was revoked: %+v", r)
	}
}

func TestParallelRefresh(t *testing.T) {
	f := newFlow(t)
	rt := f.spaTokens(t).RefreshToken
	const n = 20
	replies := make([]tokenReply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { replies[i] = f.refreshSPA(t, tenantA, rt) })
	}
	wg.Wait()
	for _, r := range replies {
		if r.status == http.StatusOK {
			if again := f.refreshSPA(t, tenantA, r.RefreshToken); again.status == http.StatusOK {
				t.Fatal("a refresh token survived concurrent reuse of its parent")
			}
		}
	}
	if live := f.st.liveStates(tenantA, kindRefresh); live != 0 {
		t.Fatalf("%d refresh tokens alive after concurrent reuse", live)
	}
}

func TestCrossTenantGrants(t *testing.T) {
	f := newFlow(t)
	v := oauth2.GenerateVerifier()
	code := f.code(t, tenantA, spaApp, spaRedirect, v, nil)
	wantGrantError(t, f.redeemSPA(t, tenantB, code, v), 400, "invalid_grant")
	wantGrantError(t, f.redeemSPA(t, "fabrikam.example", code, v), 400, "invalid_grant")
	tr := f.redeemSPA(t, tenantA, code, v)
	if tr.status != http.StatusOK {
		t.Fatalf("the code no longer works in its own tenant: %+v", tr)
	}
	wantGrantError(t, f.refreshSPA(t, tenantB, tr.RefreshToken), 400, "invalid_grant")
	if r := f.refreshSPA(t, tenantA, tr.RefreshToken); r.status != http.StatusOK {
		t.Fatalf("refresh in its own tenant: %+v", r)
	}
}

func TestRefreshChecksTheUserAndConsent(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *flow)
	}{
		{"user deleted", func(f *flow) { f.dir.setUser(tenantA, func(u *fakeUser) { u.gone = true }) }},
		{"sessions revoked", func(f *flow) {
			f.dir.setUser(tenantA, func(u *fakeUser) { u.SessionsValidFrom = f.clock.now().Add(time.Second) })
		}},
		{"consent withdrawn", func(f *flow) { f.dir.setGrants(tenantA, spaApp, "Mail.Read") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow(t)
			tr := f.spaTokens(t)
			f.clock.advance(2 * time.Second)
			tt.change(f)
			wantGrantError(t, f.refreshSPA(t, tenantA, tr.RefreshToken), 400, "invalid_grant")
			if live := f.st.liveStates(tenantA, kindRefresh); live != 0 {
				t.Fatalf("%d refresh tokens left", live)
			}
		})
	}
}

func TestRefreshScopes(t *testing.T) {
	f := newFlow(t)
	tr := f.spaTokens(t)
	narrowed := f.token(t, tenantA, url.Values{"grant_type": {"refresh_token"}, "client_id": {spaApp}, "refresh_token": {tr.RefreshToken}, "scope": {"openid"}})
	if narrowed.status != http.StatusOK {
		t.Fatalf("narrowed refresh %+v", narrowed)
	}
	at, err := f.p.VerifyAccessToken(t.Context(), narrowed.AccessToken)
	if err != nil || at.Scopes != "openid" {
		t.Fatalf("narrowed token scp %q (%v)", at.Scopes, err)
	}
	// The rotated token still carries the whole grant; widening is refused.
	wide := f.token(t, tenantA, url.Values{"grant_type": {"refresh_token"}, "client_id": {spaApp}, "refresh_token": {narrowed.RefreshToken}, "scope": {"openid Mail.Read"}})
	wantGrantError(t, wide, 400, "invalid_scope")
	full := f.refreshSPA(t, tenantA, narrowed.RefreshToken)
	if at, err := f.p.VerifyAccessToken(t.Context(), full.AccessToken); err != nil || !strings.Contains(at.Scopes, "User.Read") {
		t.Fatalf("full refresh %+v %v", full, err)
	}
}

// TestNoOfflineAccessNoRefreshToken: a refresh token is issued only for
// offline_access.
func TestNoOfflineAccessNoRefreshToken(t *testing.T) {
	f := newFlow(t)
	v := oauth2.GenerateVerifier()
	code := f.code(t, tenantA, spaApp, spaRedirect, v, url.Values{"scope": {"openid " + f.srv.URL + "/.default"}})
	tr := f.redeemSPA(t, tenantA, code, v)
	if tr.status != http.StatusOK || tr.RefreshToken != "" || tr.IDToken == "" {
		t.Fatalf("%+v", tr)
	}
	at, err := f.p.VerifyAccessToken(t.Context(), tr.AccessToken)
	if err != nil || !strings.Contains(at.Scopes, "User.Read") || !strings.Contains(at.Scopes, "Mail.Read") {
		t.Fatalf(".default scp %q (%v)", at.Scopes, err)
	}
	// Without openid there is no ID token either.
	code = f.code(t, tenantA, spaApp, spaRedirect, v, url.Values{"scope": {"User.Read"}})
	if tr := f.redeemSPA(t, tenantA, code, v); tr.status != http.StatusOK || tr.IDToken != "" {
		t.Fatalf("%+v", tr)
	}
}

// TestFinishChecks: what the pages finish must still satisfy the request.
func TestFinishChecks(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *flow)
		extra url.Values
		code  string
	}{
		{"prompt none without session", func(f *flow) { f.pages.noSession = true }, url.Values{"prompt": {"none"}}, "login_required"},
		{"pages deny", func(f *flow) { f.pages.deny = "access_denied" }, nil, "access_denied"},
		{"pages deny with an unknown code", func(f *flow) { f.pages.deny = "made_up" }, nil, "server_error"},
		{"max_age exceeded", func(f *flow) { f.pages.authAge = time.Hour }, url.Values{"max_age": {"600"}}, "login_required"},
		{"prompt login with an old sign-in", func(f *flow) { f.pages.authAge = time.Hour }, url.Values{"prompt": {"login"}}, "login_required"},
		{"sessions revoked after sign-in", func(f *flow) {
			f.pages.authAge = time.Hour
			f.dir.setUser(tenantA, func(u *fakeUser) { u.SessionsValidFrom = f.clock.now().Add(-time.Minute) })
		}, nil, "login_required"},
		{"user disabled", func(f *flow) { f.dir.setUser(tenantA, func(u *fakeUser) { u.gone = true }) }, nil, "access_denied"},
		{"not consented", func(f *flow) { f.dir.setGrants(tenantA, spaApp, "Mail.Read") }, nil, "consent_required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow(t)
			tt.setup(f)
			resp, _ := f.browse(t, f.authorizeURL(tenantA, spaApp, spaRedirect, oauth2.GenerateVerifier(), tt.extra))
			u, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || u == nil || !strings.HasPrefix(u.String(), spaRedirect+"?") || u.Query().Get("error") != tt.code || u.Query().Get("state") != "st-123" || u.Query().Has("code") {
				t.Fatalf("got %d %q, want error=%s", resp.StatusCode, resp.Header.Get("Location"), tt.code)
			}
			if n := f.st.liveStates(tenantA, kindCode); n != 0 {
				t.Fatalf("%d codes issued", n)
			}
		})
	}
	t.Run("prompt none with a session", func(t *testing.T) {
		f := newFlow(t)
		f.code(t, tenantA, spaApp, spaRedirect, oauth2.GenerateVerifier(), url.Values{"prompt": {"none"}})
		if got := f.pages.last().Prompt; len(got) != 1 || got[0] != "none" {
			t.Fatalf("prompt reached the pages as %v", got)
		}
	})
}

// TestRequestIsAnsweredOnce: a pending request can be finished or denied
// once; the pages cannot finish it again, or for another tenant.
func TestRequestIsAnsweredOnce(t *testing.T) {
	f := newFlow(t)
	resp, err := noRedirects.Get(f.authorizeURL(tenantA, spaApp, spaRedirect, oauth2.GenerateVerifier(), url.Values{"max_age": {"300"}, "ui_locales": {"fr de"}, "domain_hint": {"contoso.example"}}))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Path != "/"+tenantA+"/login" {
		t.Fatalf("authorize sent the browser to %q", resp.Header.Get("Location"))
	}
	id := loc.Query().Get("request")
	if _, err := f.p.PendingRequest(t.Context(), tenantB, id); !errors.Is(err, ErrRequestNotFound) {
		t.Fatalf("tenant B sees tenant A's request: %v", err)
	}
	req, err := f.p.PendingRequest(t.Context(), tenantA, id)
	if err != nil || req.MaxAge == nil || *req.MaxAge != 5*time.Minute || strings.Join(req.UILocales, ",") != "fr,de" || req.DomainHint != "contoso.example" || req.ClientID != spaApp {
		t.Fatalf("pending request %+v, %v", req, err)
	}
	get := func() *http.Response {
		resp, err := noRedirects.Get(f.srv.URL + "/" + tenantA + "/login?request=" + id)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get(); resp.StatusCode != http.StatusFound {
		t.Fatalf("first finish: %d", resp.StatusCode)
	}
	if _, err := f.p.PendingRequest(t.Context(), tenantA, id); !errors.Is(err, ErrRequestNotFound) {
		t.Fatalf("finished request still pending: %v", err)
	}
	// Finishing again (the pages' handler sees no pending request) issues nothing.
	if resp := get(); resp.StatusCode == http.StatusFound {
		t.Fatal("a finished request was finished again")
	}
}
