package login

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/reqid"
)

const (
	tenantA = "tenant-a"
	tenantB = "tenant-b"
	client  = "app-1"
	alicePW = "correct horse"
)

var t0 = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

// harness is a server with the pages over fakes.
type harness struct {
	t     *testing.T
	clock *clock
	store *memStore
	dir   *fakeDirectory
	proto *fakeProtocol
	pages *Pages
	srv   *httptest.Server
	mux   *http.ServeMux
	next  int
	// B2B fakes (newB2BHarness).
	guests *fakeGuests
	fed    *fakeFederation
	log    *fakeSignInLog
}

type option func(*Config)

func withRandom(seed byte) option {
	return func(c *Config) { c.Random = rand.NewChaCha8([32]byte{seed}) }
}

func withClientRate(r lockout.Rate) option { return func(c *Config) { c.ClientRate = r } }

func newHarness(t *testing.T, tls bool, opts ...option) *harness {
	t.Helper()
	c := &clock{now: t0}
	h := &harness{t: t, clock: c, store: newMemStore(c), dir: newFakeDirectory(), proto: newFakeProtocol()}
	mux := http.NewServeMux()
	h.mux = mux
	// Every route is served behind reqid, as internal/app serves it.
	if tls {
		h.srv = httptest.NewTLSServer(reqid.Middleware(mux))
	} else {
		h.srv = httptest.NewServer(reqid.Middleware(mux))
	}
	t.Cleanup(h.srv.Close)
	cfg := Config{
		PublicURL: h.srv.URL, Key: []byte(strings.Repeat("k", 32)), Store: h.store, Directory: h.dir, Protocol: h.proto,
		ClientRate: lockout.Rate{Burst: 1000, Every: time.Millisecond}, Now: c.Now,
		Logger: slogDiscard(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.pages = p
	p.Register(mux)
	// The provider's logout endpoint, as far as the pages are concerned.
	mux.HandleFunc("GET /{tenant}/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := p.SignOut(w, r, r.PathValue("tenant")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "SIGNED OUT")
	})
	for _, u := range []fakeUser{
		{User: User{ID: "u-alice", TenantID: tenantA, UserPrincipalName: "alice@contoso.com", DisplayName: "Alice"}, password: alicePW},
		{User: User{ID: "u-bob", TenantID: tenantA, UserPrincipalName: "bob@contoso.com", DisplayName: "Bob"}, password: "bob's secret"},
		{User: User{ID: "u-new", TenantID: tenantA, UserPrincipalName: "newbie@contoso.com", DisplayName: "Newbie", MustChangePassword: true}, password: "initial-1"},
	} {
		h.dir.addUser(u)
	}
	h.dir.domains["contoso.com"] = tenantA
	h.dir.domains["fabrikam.com"] = tenantB
	for _, u := range []string{"u-alice", "u-bob", "u-new"} {
		h.dir.grant(tenantA, u, client, "openid", "profile")
	}
	return h
}

// request adds a pending authorization request for the client, asking for
// scopes already granted unless edit says otherwise, and returns its id.
func (h *harness) request(edit ...func(*authn.Request)) string {
	h.next++
	r := authn.Request{ID: "req-" + strings.Repeat("x", h.next), TenantID: tenantA, ClientID: client, ClientName: "Contoso Notes",
		Publisher: "contoso.com", Scopes: []string{"openid", "profile"}, RedirectURI: "https://notes.example/cb", CreatedAt: h.clock.Now()}
	for _, e := range edit {
		e(&r)
	}
	h.proto.add(r)
	return r.ID
}

// browser is one user agent with its own cookies.
type browser struct {
	t      *testing.T
	h      *harness
	c      *http.Client
	header http.Header
	last   *page
}

type page struct {
	status int
	body   string
	header http.Header
	set    []*http.Cookie
}

func (h *harness) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	// A copy: the server's client is shared, and each browser has its own jar.
	c := *h.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: h.t, h: h, c: &c, header: http.Header{}}
}

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	for k, v := range b.header {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	b.last = &page{status: resp.StatusCode, body: string(body), header: resp.Header, set: resp.Cookies()}
	return b.last
}

func (b *browser) get(path string) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.h.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// open follows the provider's redirect to the pages for a request.
func (b *browser) open(requestID string) *page {
	b.t.Helper()
	return b.get("/" + tenantA + "/login?request=" + url.QueryEscape(requestID))
}

// post sends a form as is.
func (b *browser) post(form url.Values) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.h.srv.URL+"/"+tenantA+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// submit posts the current page's form with its hidden fields plus fields.
func (b *browser) submit(fields ...string) *page {
	b.t.Helper()
	form := b.last.hidden(b.t)
	for i := 0; i+1 < len(fields); i += 2 {
		form.Set(fields[i], fields[i+1])
	}
	return b.post(form)
}

var (
	hiddenField = regexp.MustCompile(`<input type="hidden" name="(request|csrf|step)" value="([^"]*)">`)
	stepAttr    = regexp.MustCompile(`<main data-step="([a-z]+)">`)
	nonceAttr   = regexp.MustCompile(`<style nonce="([^"]+)">`)
)

func (p *page) hidden(t *testing.T) url.Values {
	t.Helper()
	form := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(p.body, 3) {
		form.Set(m[1], m[2])
	}
	if len(form) != 3 {
		t.Fatalf("page has no form (status %d):\n%s", p.status, p.body)
	}
	return form
}

// step is the page's step, or the provider's answer.
func (p *page) step() string {
	if m := stepAttr.FindStringSubmatch(p.body); m != nil {
		return m[1]
	}
	return p.body
}

func (b *browser) expect(p *page, step string) {
	b.t.Helper()
	if got := p.step(); got != step {
		b.t.Fatalf("at %q (status %d), want %q:\n%s", got, p.status, step, p.body)
	}
}

func (p *page) cookie(name string) *http.Cookie {
	for _, c := range p.set {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// signIn runs the interactive flow from the username page to Finish.
func (b *browser) signIn(requestID, username, password string, stay bool) outcome {
	b.t.Helper()
	b.expect(b.open(requestID), "username")
	return b.continueAtUsername(requestID, username, password, stay)
}

func (b *browser) continueAtUsername(requestID, username, password string, stay bool) outcome {
	b.t.Helper()
	b.expect(b.submit("username", username), "password")
	b.expect(b.submit("password", password), "kmsi")
	answer := "no"
	if stay {
		answer = "yes"
	}
	b.expect(b.submit("stay", answer), "FINISHED "+requestID)
	return b.outcome(requestID)
}

// toConsent signs in through the pages, not staying signed in, up to the
// consent page.
func (b *browser) toConsent(requestID, username, password string) {
	b.t.Helper()
	b.expect(b.open(requestID), "username")
	b.expect(b.submit("username", username), "password")
	b.expect(b.submit("password", password), "kmsi")
	b.expect(b.submit("stay", "no"), "consent")
}

func (b *browser) outcome(requestID string) outcome {
	b.t.Helper()
	o, ok := b.h.proto.outcome(requestID)
	if !ok {
		b.t.Fatalf("request %s has not ended", requestID)
	}
	return o
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }
