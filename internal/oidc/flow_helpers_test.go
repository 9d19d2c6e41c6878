package oidc

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/reqid"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testPages stands in for the hosted sign-in pages at /{tenantId}/login: it
// reads the pending request and finishes it for Alice, or denies it as the
// real pages would (prompt=none without a session, or a set deny code).
type testPages struct {
	p     *Provider
	clock *clock

	// home is the tenant a request for any organization is rehomed to, as
	// the real pages do after home-realm discovery.
	home string

	mu        sync.Mutex
	deny      string // when set, Deny with this code
	noSession bool   // no browser session: prompt=none is denied login_required
	authAge   time.Duration
	guest     authn.Authentication // IdP and home account the pages finish with
	seen      []authn.Request
}

func (tp *testPages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tid := r.PathValue("tenant")
	req, err := tp.p.PendingRequest(r.Context(), tid, r.URL.Query().Get("request"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if req.Unbound {
		if req, err = tp.p.Rehome(r.Context(), tid, req.ID, tp.home); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		tid = req.TenantID
	}
	tp.mu.Lock()
	tp.seen = append(tp.seen, req)
	deny, noSession, age, guest := tp.deny, tp.noSession, tp.authAge, tp.guest
	tp.mu.Unlock()
	switch {
	case deny != "":
		tp.p.Deny(w, r, tid, req.ID, deny, "denied by the test pages")
	case noSession && slices.Contains(req.Prompt, "none"):
		tp.p.Deny(w, r, tid, req.ID, "login_required", "AADSTS50058: no session")
	default:
		tp.p.Finish(w, r, tid, req.ID, authn.Authentication{
			TenantID: tid, UserID: userAlice, AuthTime: tp.clock.now().Add(-age), AMR: []string{"pwd", "mfa"}, SessionID: "session-1",
			IdP: guest.IdP, HomeTenantID: guest.HomeTenantID, HomeObjectID: guest.HomeObjectID,
		})
	}
}

// deviceLogin stands in for the hosted page at /{tenantId}/devicelogin: it
// hands the typed code (here the code query parameter) to StartDevice and
// shows its error.
func deviceLogin(p *Provider, w http.ResponseWriter, r *http.Request) {
	err := p.StartDevice(w, r, r.PathValue("tenant"), r.URL.Query().Get("code"))
	switch {
	case err == nil:
	case errors.Is(err, ErrInvalidUserCode):
		http.Error(w, err.Error(), http.StatusBadRequest)
	case errors.Is(err, ErrTooManyUserCodes):
		http.Error(w, err.Error(), http.StatusTooManyRequests)
	default:
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
	}
}

func (tp *testPages) setDeny(code string) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.deny = code
}

// setGuest makes the pages finish as a guest authenticated by a.IdP, with
// a's home account.
func (tp *testPages) setGuest(a authn.Authentication) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.guest = a
}

func (tp *testPages) last() authn.Request {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.seen[len(tp.seen)-1]
}

// flow is a running deployment with sign-in pages.
type flow struct {
	*env
	p     *Provider
	srv   *httptest.Server
	pages *testPages
}

func newFlow(t testing.TB) *flow {
	t.Helper()
	return newFlowOn(t, newEnv(t), nil)
}

// newFlowOn starts a node over st (nil: the environment's memory store).
func newFlowOn(t testing.TB, e *env, st store.Store) *flow {
	t.Helper()
	mux := http.NewServeMux()
	// Every route is served behind reqid, as internal/app serves it.
	srv := httptest.NewServer(reqid.Middleware(mux))
	t.Cleanup(srv.Close)
	if st == nil {
		st = e.st
	}
	p, err := New(e.config(srv.URL), st, e.dir, e.ring)
	if err != nil {
		t.Fatal(err)
	}
	p.Register(mux)
	pages := &testPages{p: p, clock: e.clock, home: tenantB}
	mux.Handle("GET /{tenant}/login", pages)
	mux.HandleFunc("GET /{tenant}/devicelogin", func(w http.ResponseWriter, r *http.Request) {
		deviceLogin(p, w, r)
	})
	return &flow{env: e, p: p, srv: srv, pages: pages}
}

// noRedirects is a client that stops at every redirect, so tests see
// exactly where the server sends the browser.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// browse follows redirects within the deployment (authorize → login →
// Finish) and returns the first response that leaves it or is not a
// redirect, with its body read.
func (f *flow) browse(t testing.TB, u string) (*http.Response, string) {
	t.Helper()
	return f.browseWith(t, u, nil)
}

// browseWith is browse with header on every request (a browser's
// Accept-Language, a caller's client-request-id).
func (f *flow) browseWith(t testing.TB, u string, header http.Header) (*http.Response, string) {
	t.Helper()
	for range 5 {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		maps.Copy(req.Header, header)
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, f.srv.URL+"/") {
			return resp, string(body)
		}
		u = loc
	}
	t.Fatal("too many redirects")
	return nil, ""
}

// authorizeURL is an authorization request of client with PKCE S256 for
// verifier (none when verifier is empty); extra overrides parameters.
func (f *flow) authorizeURL(tenant, client, redirectURI, verifier string, extra url.Values) string {
	q := url.Values{
		"client_id": {client}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {"openid profile email offline_access User.Read"}, "state": {"st-123"}, "nonce": {"n-456"},
	}
	if verifier != "" {
		q.Set("code_challenge", oauth2.S256ChallengeFromVerifier(verifier))
		q.Set("code_challenge_method", "S256")
	}
	for k, v := range extra {
		if len(v) == 0 || v[0] == "" && len(v) == 1 {
			q.Del(k)
			continue
		}
		q[k] = v
	}
	return f.srv.URL + "/" + tenant + "/oauth2/v2.0/authorize?" + q.Encode()
}

// code runs an authorization request to its redirect back to the client
// and returns the code, checking the state came back.
func (f *flow) code(t testing.TB, tenant, client, redirectURI, verifier string, extra url.Values) string {
	t.Helper()
	resp, body := f.browse(t, f.authorizeURL(tenant, client, redirectURI, verifier, extra))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, redirectURI) {
		t.Fatalf("authorize: %d Location %q body %s", resp.StatusCode, loc, body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("error") != "" || q.Get("state") != "st-123" || q.Get("code") == "" {
		t.Fatalf("redirect back %s", loc)
	}
	return q.Get("code")
}

// tokenReply is a token endpoint answer, success or error.
type tokenReply struct {
	status           int
	AccessToken      string `json:"access_token"`
	IDToken          string `json:"id_token"`
	RefreshToken     string `json:"refresh_token"`
	Scope            string `json:"scope"`
	ClientInfo       string `json:"client_info"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// token posts to a tenant's token endpoint; basic, when set, is the client
// id and secret for Basic authentication.
func (f *flow) token(t testing.TB, tenant string, form url.Values, basic ...string) tokenReply {
	t.Helper()
	return f.post(t, tenant+"/oauth2/v2.0/token", form, basic...)
}

func (f *flow) post(t testing.TB, path string, form url.Values, basic ...string) tokenReply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/"+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := tokenReply{status: resp.StatusCode}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, raw)
	}
	return out
}

// redeemSPA redeems a code of the public SPA.
func (f *flow) redeemSPA(t testing.TB, tenant, code, verifier string) tokenReply {
	t.Helper()
	return f.token(t, tenant, url.Values{"grant_type": {"authorization_code"}, "client_id": {spaApp}, "code": {code}, "redirect_uri": {spaRedirect}, "code_verifier": {verifier}})
}

func (f *flow) refreshSPA(t testing.TB, tenant, rt string) tokenReply {
	t.Helper()
	return f.token(t, tenant, url.Values{"grant_type": {"refresh_token"}, "client_id": {spaApp}, "refresh_token": {rt}})
}

// spaTokens signs Alice in to the SPA of tenant A and redeems the code.
func (f *flow) spaTokens(t testing.TB) tokenReply {
	t.Helper()
	v := oauth2.GenerateVerifier()
	tr := f.redeemSPA(t, tenantA, f.code(t, tenantA, spaApp, spaRedirect, v, nil), v)
	if tr.status != http.StatusOK || tr.RefreshToken == "" {
		t.Fatalf("redeem: %+v", tr)
	}
	return tr
}

func wantGrantError(t testing.TB, tr tokenReply, status int, code string) {
	t.Helper()
	if tr.status != status || tr.Error != code || tr.AccessToken != "" || tr.RefreshToken != "" {
		t.Fatalf("got %d %s (%s) with tokens %v, want %d %s", tr.status, tr.Error, tr.ErrorDescription, tr.AccessToken != "", status, code)
	}
}
