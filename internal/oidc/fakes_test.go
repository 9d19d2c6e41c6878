package oidc

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/gatehouse-id/gatehouse/internal/sessionpolicy"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
	"github.com/gatehouse-id/gatehouse/internal/reqid"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// memStore is an in-memory store.Store with only the signing-key and state
// methods; any other Tx method panics through the nil embedded interface.
// Like PostgreSQL under READ COMMITTED, it does not serialise Update against
// Update, so two nodes can both decide to create a tenant's first key; each
// state operation is atomic on its own, as the store API promises.
type memStore struct {
	mu     sync.Mutex
	keys   map[string][]store.SigningKey
	states map[stateKey]store.State
	now    func() time.Time
	// writeListHook, when set, runs inside Update's ListSigningKeys after
	// the rows are read.
	writeListHook func()
	// fail, when set, makes View and Update fail.
	fail error
	// afterConsume, when set, runs after each successful ConsumeState,
	// outside the lock, to interleave another request at that point.
	afterConsume func(kind string)
}

type stateKey struct{ tenant, kind, id string }

func newMemStore(now func() time.Time) *memStore {
	return &memStore{keys: map[string][]store.SigningKey{}, states: map[stateKey]store.State{}, now: now}
}

func (s *memStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	if s.fail != nil {
		return s.fail
	}
	return fn(&memTx{s: s, write: true})
}

func (s *memStore) View(ctx context.Context, fn func(store.Tx) error) error {
	if s.fail != nil {
		return s.fail
	}
	return fn(&memTx{s: s})
}

func (s *memStore) Ping(context.Context) error { return nil }
func (s *memStore) Close() error               { return nil }

func (s *memStore) rows(tenantID string) []store.SigningKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]store.SigningKey(nil), s.keys[tenantID]...)
}

type memTx struct {
	store.Tx
	s     *memStore
	write bool
}

func (tx *memTx) ListSigningKeys(_ context.Context, tenantID string) ([]store.SigningKey, error) {
	rows := tx.s.rows(tenantID)
	if tx.write && tx.s.writeListHook != nil {
		tx.s.writeListHook()
	}
	return rows, nil
}

func (tx *memTx) AddSigningKey(_ context.Context, k store.SigningKey) error {
	if !tx.write {
		return errors.New("memStore: write in a read-only transaction")
	}
	tx.s.mu.Lock()
	defer tx.s.mu.Unlock()
	for _, o := range tx.s.keys[k.TenantID] {
		if o.KID == k.KID {
			return &store.ConflictError{Key: "kid"}
		}
	}
	tx.s.keys[k.TenantID] = append(tx.s.keys[k.TenantID], k)
	return nil
}

func (tx *memTx) DeleteSigningKey(_ context.Context, tenantID, kid string) error {
	if !tx.write {
		return errors.New("memStore: write in a read-only transaction")
	}
	tx.s.mu.Lock()
	defer tx.s.mu.Unlock()
	rows := tx.s.keys[tenantID]
	i := slices.IndexFunc(rows, func(k store.SigningKey) bool { return k.KID == kid })
	if i < 0 {
		return store.ErrNotFound
	}
	tx.s.keys[tenantID] = slices.Delete(rows, i, i+1)
	return nil
}

func (tx *memTx) live(k stateKey) (store.State, bool) {
	s, ok := tx.s.states[k]
	if !ok || !tx.s.now().Before(s.ExpiresAt) {
		return store.State{}, false
	}
	return s, true
}

func (tx *memTx) PutState(_ context.Context, s store.State) error {
	if !tx.write {
		return errors.New("memStore: write in a read-only transaction")
	}
	tx.s.mu.Lock()
	defer tx.s.mu.Unlock()
	k := stateKey{s.TenantID, s.Kind, s.ID}
	if _, ok := tx.live(k); ok {
		return &store.ConflictError{Key: "id"}
	}
	tx.s.states[k] = s
	return nil
}

func (tx *memTx) GetState(_ context.Context, tenantID, kind, id string) (store.State, error) {
	tx.s.mu.Lock()
	defer tx.s.mu.Unlock()
	s, ok := tx.live(stateKey{tenantID, kind, id})
	if !ok {
		return store.State{}, store.ErrNotFound
	}
	return s, nil
}

func (tx *memTx) ConsumeState(_ context.Context, tenantID, kind, id string) (store.State, error) {
	if !tx.write {
		return store.State{}, errors.New("memStore: write in a read-only transaction")
	}
	tx.s.mu.Lock()
	defer tx.s.mu.Unlock()
	k := stateKey{tenantID, kind, id}
	s, ok := tx.live(k)
	if !ok {
		return store.State{}, store.ErrNotFound
	}
	if s.ConsumedAt != nil {
		return s, store.ErrConsumed
	}
	now := tx.s.now()
	s.ConsumedAt = &now
	tx.s.states[k] = s
	if hook := tx.s.afterConsume; hook != nil {
		tx.s.mu.Unlock()
		hook(kind)
		tx.s.mu.Lock()
	}
	return s, nil
}

func (tx *memTx) DeleteStates(_ context.Context, tenantID string, f store.StateFilter) (int, error) {
	if !tx.write {
		return 0, errors.New("memStore: write in a read-only transaction")
	}
	if f == (store.StateFilter{}) {
		return 0, errors.New("memStore: empty state filter")
	}
	tx.s.mu.Lock()
	defer tx.s.mu.Unlock()
	n := 0
	for k, s := range tx.s.states {
		if k.tenant == tenantID && matchState(s, f) {
			delete(tx.s.states, k)
			n++
		}
	}
	return n, nil
}

func (tx *memTx) LockState(_ context.Context, s store.State) (store.State, error) {
	if !tx.write {
		return store.State{}, errors.New("memStore: write in a read-only transaction")
	}
	tx.s.mu.Lock()
	defer tx.s.mu.Unlock()
	k := stateKey{s.TenantID, s.Kind, s.ID}
	if old, ok := tx.live(k); ok {
		return old, nil
	}
	tx.s.states[k] = s
	return s, nil
}

func (tx *memTx) UpdateState(_ context.Context, s store.State) error {
	if !tx.write {
		return errors.New("memStore: write in a read-only transaction")
	}
	tx.s.mu.Lock()
	defer tx.s.mu.Unlock()
	k := stateKey{s.TenantID, s.Kind, s.ID}
	cur, ok := tx.live(k)
	switch {
	case !ok:
		return store.ErrNotFound
	case cur.ConsumedAt != nil:
		return store.ErrConsumed
	}
	cur.Data, cur.ExpiresAt = s.Data, s.ExpiresAt
	tx.s.states[k] = cur
	return nil
}

func (tx *memTx) ListStates(_ context.Context, tenantID string, f store.StateFilter) ([]store.State, error) {
	if f == (store.StateFilter{}) {
		return nil, errors.New("memStore: empty state filter")
	}
	tx.s.mu.Lock()
	defer tx.s.mu.Unlock()
	var out []store.State
	for k := range tx.s.states {
		if s, ok := tx.live(k); ok && k.tenant == tenantID && matchState(s, f) {
			out = append(out, s)
		}
	}
	return out, nil
}

func matchState(s store.State, f store.StateFilter) bool {
	return (f.Kind == "" || s.Kind == f.Kind) && (f.Family == "" || s.Family == f.Family) && (f.Subject == "" || s.Subject == f.Subject)
}

// liveStates counts the tenant's live, unconsumed states of a kind.
func (s *memStore) liveStates(tenantID, kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, st := range s.states {
		if k.tenant == tenantID && k.kind == kind && st.ConsumedAt == nil && s.now().Before(st.ExpiresAt) {
			n++
		}
	}
	return n
}

// fakeDir is a Directory of fixed tenants and apps. Secrets are kept as
// secrets.HashSecret verifiers, as the real directory keeps them.
type fakeDir struct {
	mu      sync.Mutex
	domains map[string]string // lower-case domain → tenant id
	tenants map[string]bool
	apps    map[string]fakeApp  // tenant id + "/" + client id
	clients map[string]Client   // tenant id + "/" + client id
	users   map[string]fakeUser // tenant id + "/" + user id
	grants  map[string][]string // tenant id + "/" + user id + "/" + client id
	// multi maps multitenant client ids to their home tenant.
	multi map[string]string
	// policy is every tenant's session policy; zero: sessionpolicy.Default.
	policy sessionpolicy.Policy
	fail   error
}

type fakeUser struct {
	User
	gone bool
}

type fakeApp struct {
	App
	hash     []byte
	disabled bool
}

func newFakeDir() *fakeDir {
	return &fakeDir{domains: map[string]string{}, tenants: map[string]bool{}, apps: map[string]fakeApp{},
		clients: map[string]Client{}, users: map[string]fakeUser{}, grants: map[string][]string{}, multi: map[string]string{}}
}

func (d *fakeDir) addTenant(id string, domains ...string) {
	d.tenants[id] = true
	for _, dom := range domains {
		d.domains[strings.ToLower(dom)] = id
	}
}

// addApp registers an app and returns a fresh secret for it.
func (d *fakeDir) addApp(tenantID string, app App) string {
	secret, _ := secrets.NewClientSecret()
	d.apps[tenantID+"/"+app.AppID] = fakeApp{App: app, hash: secrets.HashSecret(secret)}
	return secret
}

func (d *fakeDir) ResolveTenant(_ context.Context, segment string) (string, error) {
	if d.fail != nil {
		return "", d.fail
	}
	if d.tenants[segment] {
		return segment, nil
	}
	if id, ok := d.domains[strings.ToLower(segment)]; ok {
		return id, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownTenant, segment)
}

func (d *fakeDir) AuthenticateApp(_ context.Context, tenantID, clientID, clientSecret string) (App, error) {
	if d.fail != nil {
		return App{}, d.fail
	}
	a, ok := d.apps[tenantID+"/"+clientID]
	switch {
	case !ok:
		return App{}, fmt.Errorf("%w: no application %s in tenant", ErrInvalidClient, clientID)
	case a.disabled:
		return App{}, fmt.Errorf("%w: application disabled", ErrInvalidClient)
	case !secrets.VerifySecret(a.hash, clientSecret):
		return App{}, fmt.Errorf("%w: wrong secret", ErrInvalidClient)
	}
	return a.App, nil
}

// AuthenticateAppWithCertificate: the fake's applications hold no
// certificates (certificate authentication is tested end to end in
// internal/app).
func (d *fakeDir) AuthenticateAppWithCertificate(_ context.Context, tenantID, clientID string, verify func([]*x509.Certificate) error) (App, error) {
	if err := verify(nil); err != nil {
		return App{}, fmt.Errorf("%w: %v", ErrInvalidClient, err)
	}
	return App{}, fmt.Errorf("%w: no certificates", ErrInvalidClient)
}

func (d *fakeDir) Client(_ context.Context, tenantID, clientID string) (Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return Client{}, d.fail
	}
	c, ok := d.clients[tenantID+"/"+clientID]
	if !ok {
		return Client{}, fmt.Errorf("%w: no client %s", ErrInvalidClient, clientID)
	}
	return c, nil
}

func (d *fakeDir) MultitenantClient(_ context.Context, clientID string) (Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return Client{}, d.fail
	}
	if home, ok := d.multi[clientID]; ok {
		c := d.clients[home+"/"+clientID]
		c.HomeTenantID = home
		return c, nil
	}
	for key := range d.clients {
		if strings.HasSuffix(key, "/"+clientID) {
			return Client{}, ErrNotMultitenant
		}
	}
	return Client{}, fmt.Errorf("%w: no client %s", ErrInvalidClient, clientID)
}

func (d *fakeDir) User(_ context.Context, tenantID, userID, clientID string) (User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return User{}, d.fail
	}
	u, ok := d.users[tenantID+"/"+userID]
	if !ok || u.gone {
		return User{}, fmt.Errorf("%w: %s", ErrUserGone, userID)
	}
	return u.User, nil
}

func (d *fakeDir) GrantedScopes(_ context.Context, tenantID, userID, clientID string) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return nil, d.fail
	}
	return slices.Clone(d.grants[tenantID+"/"+userID+"/"+clientID]), nil
}

func (d *fakeDir) SessionPolicy(context.Context, string) (sessionpolicy.Policy, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return sessionpolicy.Policy{}, d.fail
	}
	if d.policy == (sessionpolicy.Policy{}) {
		return sessionpolicy.Default, nil
	}
	return d.policy, nil
}

func (d *fakeDir) setPolicy(p sessionpolicy.Policy) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.policy = p
}

func (d *fakeDir) setUser(tenantID string, mod func(*fakeUser)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u := d.users[tenantID+"/"+userAlice]
	mod(&u)
	d.users[tenantID+"/"+userAlice] = u
}

func (d *fakeDir) setGrants(tenantID, clientID string, scopes ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.grants[tenantID+"/"+userAlice+"/"+clientID] = scopes
}

// fakeSessions records sign-outs and clears a cookie, as the pages would.
type fakeSessions struct {
	mu       sync.Mutex
	signOuts []string // tenant ids
	fail     error
}

func (s *fakeSessions) SignOut(w http.ResponseWriter, _ *http.Request, tenantID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.signOuts = append(s.signOuts, tenantID)
	http.SetCookie(w, &http.Cookie{Name: "gh_session", Value: "", MaxAge: -1, Path: "/"})
	return nil
}

// fakeConfirmToken is what the fake confirmation page puts in its form.
const fakeConfirmToken = "confirmed-in-this-browser"

// ConfirmSignOut shows the fields the form would post back, and its action.
func (s *fakeSessions) ConfirmSignOut(w http.ResponseWriter, _ *http.Request, tenantID, action string, fields url.Values) {
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "confirm sign-out of %s: post %s to %s", tenantID, fields.Encode(), action)
}

func (s *fakeSessions) Brand(*http.Request, string) *hostedpage.Brand { return nil }

func (s *fakeSessions) SignOutConfirmed(r *http.Request) bool {
	return r.PostForm.Get("csrf") == fakeConfirmToken
}

func (s *fakeSessions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.signOuts)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const (
	tenantA = "11111111-1111-4111-8111-111111111111"
	tenantB = "22222222-2222-4222-8222-222222222222"
	appA    = "aaaaaaaa-0000-4000-8000-00000000000a"
	spA     = "aaaaaaaa-0000-4000-8000-0000000000a5"
	appB    = "bbbbbbbb-0000-4000-8000-00000000000b"
	spB     = "bbbbbbbb-0000-4000-8000-0000000000b5"
	appNone = "cccccccc-0000-4000-8000-00000000000c"
	spNone  = "cccccccc-0000-4000-8000-0000000000c5"

	// Interactive clients: a confidential web app (registered in tenant
	// A), a public SPA (multi-tenant: in both tenants), and a web app that
	// opted out of PKCE.
	webApp    = "dddddddd-0000-4000-8000-00000000000d"
	spaApp    = "eeeeeeee-0000-4000-8000-00000000000e"
	legacyApp = "ffffffff-0000-4000-8000-00000000000f"
	userAlice = "a11ce000-0000-4000-8000-000000000001"

	webRedirect    = "https://web.example/auth/callback"
	spaRedirect    = "http://localhost:5173/"
	legacyRedirect = "https://legacy.example/cb?tenant=contoso"
)

// env is a running deployment: one or more nodes over one store.
type env struct {
	st       *memStore
	dir      *fakeDir
	sessions *fakeSessions
	signIns  *fakeSignInLog
	ring     *secrets.Keyring
	clock    *clock
	secretA  string // appA's secret in tenant A
	secretB  string // appB's secret in tenant B
	secretN  string // appNone's secret in tenant A (no roles)
	secretW  string // webApp's secret in tenant A
	secretL  string // legacyApp's secret in tenant A
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ring, err := secrets.FromBase64(base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	c := newClock()
	e := &env{st: newMemStore(c.now), dir: newFakeDir(), sessions: &fakeSessions{}, signIns: &fakeSignInLog{}, ring: ring, clock: c}
	e.dir.addTenant(tenantA, "contoso.example", "contoso.onmicrosoft.example")
	e.dir.addTenant(tenantB, "fabrikam.example")
	e.secretA = e.dir.addApp(tenantA, App{AppID: appA, ServicePrincipalID: spA, DisplayName: "Daemon A", Roles: []string{"User.Read.All", "User.ReadWrite.All"}})
	e.secretB = e.dir.addApp(tenantB, App{AppID: appB, ServicePrincipalID: spB, DisplayName: "Daemon B", Roles: []string{"User.Read.All"}})
	e.secretN = e.dir.addApp(tenantA, App{AppID: appNone, ServicePrincipalID: spNone, DisplayName: "No roles"})

	e.secretW = e.dir.addApp(tenantA, App{AppID: webApp, ServicePrincipalID: "dddddddd-0000-4000-8000-0000000000d5", DisplayName: "Web"})
	e.dir.clients[tenantA+"/"+webApp] = Client{AppID: webApp, DisplayName: "Web", PublisherDomain: "web.example", WebRedirectURIs: []string{webRedirect}, Confidential: true}
	e.secretL = e.dir.addApp(tenantA, App{AppID: legacyApp, ServicePrincipalID: "ffffffff-0000-4000-8000-0000000000f5", DisplayName: "Legacy"})
	e.dir.clients[tenantA+"/"+legacyApp] = Client{AppID: legacyApp, DisplayName: "Legacy", WebRedirectURIs: []string{legacyRedirect}, Confidential: true, PKCEOptional: true}
	e.dir.multi[spaApp] = tenantA
	for _, tid := range []string{tenantA, tenantB} {
		e.dir.clients[tid+"/"+spaApp] = Client{AppID: spaApp, DisplayName: "SPA", SPARedirectURIs: []string{spaRedirect}, PublicRedirectURIs: []string{"ms-app://callback"}}
		e.dir.users[tid+"/"+userAlice] = fakeUser{User: User{
			ObjectID: userAlice, TenantID: tid, DisplayName: "Alice Liddell", PreferredUsername: "alice@contoso.example",
			Email: "alice@contoso.example", Roles: []string{"Reader"},
		}}
		for _, app := range []string{webApp, spaApp, legacyApp} {
			e.dir.grants[tid+"/"+userAlice+"/"+app] = []string{"User.Read", "Mail.Read"}
		}
	}
	return e
}

// node starts a Provider over the environment's store, served at a fresh
// httptest server whose URL is the PublicURL.
func (e *env) node(t testing.TB) (*Provider, *httptest.Server) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(reqid.Middleware(mux))
	t.Cleanup(srv.Close)
	p, err := New(e.config(srv.URL), e.st, e.dir, e.ring)
	if err != nil {
		t.Fatal(err)
	}
	p.Register(mux)
	return p, srv
}

// nodeAt is like node but with a fixed PublicURL and no HTTP server, for
// several nodes of one deployment.
func (e *env) nodeAt(t testing.TB, publicURL string) *Provider {
	t.Helper()
	p, err := New(e.config(publicURL), e.st, e.dir, e.ring)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) config(publicURL string) Config {
	return Config{PublicURL: publicURL, Now: e.clock.now, Sessions: e.sessions, SignInLog: e.signIns}
}

// fakeSignInLog keeps the sign-ins recorded.
type fakeSignInLog struct {
	mu  sync.Mutex
	all []authn.SignIn
}

func (l *fakeSignInLog) RecordSignIn(_ context.Context, s authn.SignIn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, s)
}

func (l *fakeSignInLog) last() authn.SignIn {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.all) == 0 {
		return authn.SignIn{}
	}
	return l.all[len(l.all)-1]
}

// TestMain silences the default logger: op logs every route it registers and
// every error response, which would bury test failures.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}
