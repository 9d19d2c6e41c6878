package oidc

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// memStore is an in-memory store.Store with only the signing-key methods;
// any other Tx method panics through the nil embedded interface. Like
// PostgreSQL under READ COMMITTED, it does not serialise Update against
// Update, so two nodes can both decide to create a tenant's first key.
type memStore struct {
	mu   sync.Mutex
	keys map[string][]store.SigningKey
	// writeListHook, when set, runs inside Update's ListSigningKeys after
	// the rows are read.
	writeListHook func()
	// fail, when set, makes View and Update fail.
	fail error
}

func newMemStore() *memStore { return &memStore{keys: map[string][]store.SigningKey{}} }

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

// fakeDir is a Directory of fixed tenants and apps. Secrets are kept as
// secrets.HashSecret verifiers, as the real directory keeps them.
type fakeDir struct {
	domains map[string]string // lower-case domain → tenant id
	tenants map[string]bool
	apps    map[string]fakeApp // tenant id + "/" + client id
	fail    error
}

type fakeApp struct {
	App
	hash     []byte
	disabled bool
}

func newFakeDir() *fakeDir {
	return &fakeDir{domains: map[string]string{}, tenants: map[string]bool{}, apps: map[string]fakeApp{}}
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
)

// env is a running deployment: one or more nodes over one store.
type env struct {
	st      *memStore
	dir     *fakeDir
	ring    *secrets.Keyring
	clock   *clock
	secretA string // appA's secret in tenant A
	secretB string // appB's secret in tenant B
	secretN string // appNone's secret in tenant A (no roles)
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ring, err := secrets.FromBase64(base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: newMemStore(), dir: newFakeDir(), ring: ring, clock: newClock()}
	e.dir.addTenant(tenantA, "contoso.example", "contoso.onmicrosoft.example")
	e.dir.addTenant(tenantB, "fabrikam.example")
	e.secretA = e.dir.addApp(tenantA, App{AppID: appA, ServicePrincipalID: spA, DisplayName: "Daemon A", Roles: []string{"User.Read.All", "User.ReadWrite.All"}})
	e.secretB = e.dir.addApp(tenantB, App{AppID: appB, ServicePrincipalID: spB, DisplayName: "Daemon B", Roles: []string{"User.Read.All"}})
	e.secretN = e.dir.addApp(tenantA, App{AppID: appNone, ServicePrincipalID: spNone, DisplayName: "No roles"})
	return e
}

// node starts a Provider over the environment's store, served at a fresh
// httptest server whose URL is the PublicURL.
func (e *env) node(t testing.TB) (*Provider, *httptest.Server) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p, err := New(Config{PublicURL: srv.URL, Now: e.clock.now}, e.st, e.dir, e.ring)
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
	p, err := New(Config{PublicURL: publicURL, Now: e.clock.now}, e.st, e.dir, e.ring)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMain silences the default logger: op logs every route it registers and
// every error response, which would bury test failures.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}
