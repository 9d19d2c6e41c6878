// Package app is Gatehouse's composition root: it opens the store, builds the
// domain services and the protocol and API surfaces over them, and assembles
// the HTTP handler a node serves. It holds no rules of its own.
package app

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/b2b"
	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/graph"
	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
	"github.com/gatehouse-id/gatehouse/internal/httpobs"
	"github.com/gatehouse-id/gatehouse/internal/httpresp"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/logging"
	"github.com/gatehouse-id/gatehouse/internal/login"
	"github.com/gatehouse-id/gatehouse/internal/metrics"
	"github.com/gatehouse-id/gatehouse/internal/oidc"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/outbox"
	"github.com/gatehouse-id/gatehouse/internal/passpolicy"
	"github.com/gatehouse-id/gatehouse/internal/reqid"
	"github.com/gatehouse-id/gatehouse/internal/revocation"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/sessionpolicy"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/postgres"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
	"github.com/gatehouse-id/gatehouse/internal/xtap"
)

// Config is a node's configuration.
type Config struct {
	Store     string // "sqlite:PATH" or "postgres://…"; empty: SQLite under DataDir
	DataDir   string // default ./gatehouse-data
	Addr      string // listen address
	PublicURL string // how clients reach this deployment; default http://Addr
	MasterKey string // base64 master key; empty: DataDir/master.key, created on first use
	// PasswordBlocklist is a file of breached passwords, one per line,
	// refused in addition to the built-in list.
	PasswordBlocklist string
	// Spray is how password sprays are slowed; zero: lockout.DefaultSprayPolicy().
	Spray lockout.SprayPolicy
	// AuditRetention is how long directory audit and sign-in records are
	// kept before housekeeping purges them; default DefaultAuditRetention.
	AuditRetention time.Duration
	Logger         *slog.Logger
	// StoreTimeout bounds every store transaction, so a hung database fails
	// requests with 503 instead of holding them (0: the store's default, 5 s).
	StoreTimeout time.Duration
	// PostgresMaxConns and PostgresConnLifetime size a PostgreSQL store's
	// pool on this node (0: 16 connections, kept until they fail).
	PostgresMaxConns     int
	PostgresConnLifetime time.Duration
	// SMTPURL is the SMTP server email is delivered to (see
	// mail.ParseSMTPURL); empty: the developer mailbox keeps it.
	SMTPURL string
	// MailFrom is the sender of email, "Name <address>" or an address;
	// empty: the from parameter of SMTPURL.
	MailFrom string
	// Now is the clock of tokens, keys, pages, housekeeping and the outbox;
	// time.Now when nil (tests move it).
	Now func() time.Time
	// Metrics says where /metrics is served and to whom.
	Metrics MetricsExposure
}

// MetricsExposure says who may read a node's metrics. They name tenants,
// routes and failure rates: an operator's business, not the public's.
type MetricsExposure int

const (
	// MetricsLocal (the default) serves GET /metrics on the node's
	// listener to callers on the same machine only (caller.Local); anyone
	// else is answered 404, as if there were none.
	MetricsLocal MetricsExposure = iota
	// MetricsPublic serves GET /metrics on the node's listener to anyone
	// who reaches it: for a node whose listener only trusted networks reach.
	MetricsPublic
	// MetricsSeparate serves no /metrics on the node's listener: the
	// operator serves MetricsHandler on a listener of its own.
	MetricsSeparate
)

// DefaultAuditRetention is Entra's retention of audit and sign-in logs
// (with a P1 licence).
const DefaultAuditRetention = 30 * 24 * time.Hour

func (c *Config) defaults() {
	if c.DataDir == "" {
		c.DataDir = "gatehouse-data"
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.AuditRetention <= 0 {
		c.AuditRetention = DefaultAuditRetention
	}
}

// storeOptions are the settings of the store c names.
func (c Config) storeOptions() sqlstore.Options {
	return sqlstore.Options{Timeout: c.StoreTimeout, MaxConns: c.PostgresMaxConns, ConnLifetime: c.PostgresConnLifetime}
}

// OpenStore opens (and migrates) the store a URL names. opts is at most one
// Options; the pool size applies to PostgreSQL only.
func OpenStore(ctx context.Context, storeURL, dataDir string, opts ...sqlstore.Options) (store.Store, error) {
	o, err := sqlstore.OptionsOf(opts)
	if err != nil {
		return nil, err
	}
	path, err := sqlitePath(storeURL, dataDir)
	switch {
	case err != nil:
		return nil, err
	case path != "":
		return sqlite.Open(ctx, path, sqlite.Options{Timeout: o.Timeout})
	case strings.HasPrefix(storeURL, "postgres://"), strings.HasPrefix(storeURL, "postgresql://"):
		return postgres.Open(ctx, storeURL, o)
	}
	return nil, fmt.Errorf("store: unsupported store URL %q (use sqlite:PATH or postgres://…)", redact(storeURL))
}

// sqlitePath is the database file a store URL names, or "" when it names
// no SQLite store.
func sqlitePath(storeURL, dataDir string) (string, error) {
	if dataDir == "" {
		dataDir = "gatehouse-data"
	}
	switch {
	case storeURL == "":
		return filepath.Join(dataDir, "gatehouse.db"), nil
	case strings.HasPrefix(storeURL, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(storeURL, "sqlite:"), "//")
		if path == "" {
			return "", errors.New("store: sqlite: needs a file path, e.g. sqlite:gatehouse-data/gatehouse.db")
		}
		return path, nil
	}
	return "", nil
}

// redact drops credentials from a URL before it is shown.
func redact(u string) string {
	if at := strings.LastIndex(u, "@"); at >= 0 {
		if scheme := strings.Index(u, "://"); scheme >= 0 && scheme < at {
			return u[:scheme+3] + "…" + u[at:]
		}
	}
	return u
}

// NewDirectory builds the directory service over a store, refusing the
// passwords of blocklistFile ("": the built-in list only), for the
// deployment at publicURL ("" where no sign-in is served, as in the CLI).
func NewDirectory(st store.Store, blocklistFile, publicURL string) (*directory.Service, error) {
	list := passpolicy.NewBlocklist()
	if blocklistFile != "" {
		f, err := os.Open(blocklistFile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if _, err := list.Load(f); err != nil {
			return nil, err
		}
	}
	return directory.New(st, directory.Config{PasswordBlocklist: list, PublicURL: publicURL})
}

// Server is one node: its store, services and HTTP handler.
type Server struct {
	cfg      Config
	st       store.Store
	dir      *directory.Service
	provider *oidc.Provider
	signIns  *audit.Recorder
	fed      *federation.Service
	b2b      *b2b.Service
	mail     mailing
	// stopMail stops the node's outbox worker.
	stopMail func()
	handler  http.Handler
	metrics  *metrics.Metrics
	// draining: the node is shutting down and tells load balancers so.
	draining atomic.Bool
	// unlock releases the node's exclusive hold on a SQLite database.
	unlock func() error
}

// New opens the store and assembles a node that is fit to serve: it holds
// its SQLite database alone, and its master key opens every stored signing
// key. A node that could not sign would otherwise report ready and fail
// every token request.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg.defaults()
	unlock := func() error { return nil }
	if path, err := sqlitePath(cfg.Store, cfg.DataDir); err != nil {
		return nil, err
	} else if path != "" {
		if unlock, err = sqlite.Lock(path); err != nil {
			return nil, err
		}
	}
	st, err := OpenStore(ctx, cfg.Store, cfg.DataDir, cfg.storeOptions())
	if err != nil {
		return nil, errors.Join(err, unlock())
	}
	srv, err := NewWithStore(cfg, st)
	if err != nil {
		return nil, errors.Join(err, st.Close(), unlock())
	}
	srv.unlock = unlock
	if err := srv.checkSigningKeys(ctx); err != nil {
		// Close stops what the node started (the sign-in recorder) too.
		return nil, errors.Join(err, srv.Close())
	}
	return srv, nil
}

// tenantBatch is how many tenants a pass over all of them reads at once.
const tenantBatch = 500

// eachTenant calls fn for every tenant, reading them in batches.
func (s *Server) eachTenant(ctx context.Context, fn func(store.Tenant) error) error {
	for after := ""; ; {
		var page []store.Tenant
		err := s.st.View(ctx, func(tx store.Tx) error {
			var err error
			page, err = tx.ListTenants(ctx, after, tenantBatch)
			return err
		})
		if err != nil {
			return err
		}
		for _, t := range page {
			if err := fn(t); err != nil {
				return err
			}
		}
		if len(page) < tenantBatch {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// checkSigningKeys refuses a master key that cannot open the stored signing
// keys, naming how many tenants are affected and one of them.
func (s *Server) checkSigningKeys(ctx context.Context) error {
	var bad int
	var first error
	err := s.eachTenant(ctx, func(t store.Tenant) error {
		if err := s.provider.CheckSigningKeys(ctx, t.ID); errors.Is(err, oidc.ErrSealedKey) {
			bad++
			first = cmp.Or(first, err)
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("checking the stored signing keys: %w", err)
	}
	if bad > 0 {
		return fmt.Errorf("the master key cannot open the signing keys of %d tenant(s), so this node could not issue tokens; "+
			"start it with the master key the store was created with (GATEHOUSE_MASTER_KEY or master.key in --data-dir): %w", bad, first)
	}
	return nil
}

// NewWithStore assembles a node over an open store, which Close will close.
func NewWithStore(cfg Config, st store.Store) (*Server, error) {
	cfg.defaults()
	m := metrics.New()
	st = m.Store(st)
	m.WatchOutbox(st, cfg.Now, outbox.Topic)
	keys, err := loadKeyring(cfg)
	if err != nil {
		return nil, err
	}
	dir, err := NewDirectory(st, cfg.PasswordBlocklist, cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	mailing, err := newMailing(cfg, st, keys)
	if err != nil {
		return nil, err
	}
	// The provider and the pages need each other: the pages complete the
	// provider's authorization requests, the provider ends the pages'
	// sessions on logout.
	sessions := &oidc.LateSessions{}
	// One view of the revocations per node, for tokens and sessions alike.
	revocations := revocation.NewView(st, cfg.Now)
	signIns := audit.NewRecorder(st, audit.RecorderConfig{Logger: cfg.Logger, Now: cfg.Now})
	countedSignIns := m.SignInLog(signIns)
	// The provider asks the directory, and B2B (set below) whether a
	// guest's home account still stands.
	oidcDir := &oidcDirectory{dir: dir}
	provider, err := oidc.New(oidc.Config{PublicURL: cfg.PublicURL, Sessions: sessions, Revocations: revocations, Now: cfg.Now, SignInLog: countedSignIns,
		TokenIssued: m.TokenIssued}, st, oidcDir, keys)
	if err != nil {
		_ = signIns.Close(context.Background())
		return nil, err
	}
	// Federation reaches this deployment's own issuers through the node
	// itself (self is the node's handler, set below).
	var self http.Handler
	fed := federation.New(federation.Config{Directory: dir, Keys: keys, PublicURL: cfg.PublicURL, Now: cfg.Now, HTTPClient: &http.Client{
		Timeout:   15 * time.Second,
		Transport: federation.LocalTransport(cfg.PublicURL, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { self.ServeHTTP(w, r) }), nil),
	}})
	crossTenant := xtap.NewService(dir)
	guests, err := newGuests(cfg, dir, keys, mailing.mailer, fed)
	if err != nil {
		_ = signIns.Close(context.Background())
		return nil, err
	}
	oidcDir.guests = guests
	secondFactor, err := newMFA(cfg, dir, keys, mailing.mailer)
	if err != nil {
		_ = signIns.Close(context.Background())
		return nil, err
	}
	pages, err := login.New(login.Config{
		PublicURL: cfg.PublicURL, Key: keys.Derive("gatehouse login pages v1"), Store: st,
		Directory: loginDirectory{dir}, Protocol: provider, Spray: cfg.Spray, Logger: cfg.Logger, Revocations: revocations, Now: cfg.Now, SignInLog: countedSignIns,
		Guests: loginGuests{guests}, Federation: fed, ConsumersTenantID: directory.ConsumersTenantID, Accounts: loginAccounts{guests},
		SecondFactor: loginMFA{Service: secondFactor, dir: dir, trust: crossTenant},
	})
	if err != nil {
		_ = signIns.Close(context.Background())
		return nil, err
	}
	sessions.Sessions = pages
	policies := b2b.NewPolicies(dir)
	api := graph.New(dir, tokenVerifier{provider, dir}, graph.Config{PublicURL: cfg.PublicURL, Logger: cfg.Logger, DNS: net.DefaultResolver, Policies: policies,
		IdentityProviders: fed, Invitations: guests, MFA: secondFactor, CrossTenantAccess: crossTenant, WhatIf: guests,
		SkipTokenKey: keys.Derive("gatehouse graph skiptoken v1")})
	srv := &Server{cfg: cfg, st: st, dir: dir, provider: provider, signIns: signIns, fed: fed, b2b: guests, mail: mailing, metrics: m, unlock: func() error { return nil }}
	// The admin centre redeems its codes at the node's own token endpoint,
	// in-process, as federation reaches the deployment's issuers.
	console, err := admin.New(admin.Config{PublicURL: cfg.PublicURL, Directory: dir, B2B: guests, Audit: audit.NewLog(st), CrossTenant: crossTenant, SignInPages: pages, Policies: policies,
		Tokens: tokenVerifier{provider, dir}, Admission: api, Keys: keys, Logger: cfg.Logger, Now: cfg.Now,
		HTTPClient: &http.Client{Timeout: 15 * time.Second, Transport: federation.LocalTransport(cfg.PublicURL,
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { self.ServeHTTP(w, r) }), nil)}})
	if err != nil {
		_ = signIns.Close(context.Background())
		return nil, err
	}
	consoleHandler := console.Handler()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if srv.draining.Load() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			cfg.Logger.WarnContext(ctx, "not ready", "err", err)
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	switch cfg.Metrics {
	case MetricsLocal:
		mux.Handle("GET /metrics", caller.LocalOnly(m.Handler()))
	case MetricsPublic:
		mux.Handle("GET /metrics", m.Handler())
	}
	provider.Register(mux)
	pages.Register(mux)
	mailing.register(mux)
	// The API gets a mux of its own: its paths start with /v1.0/ (or /beta), which the
	// issuer's /{tenant}/… patterns would otherwise overlap.
	apiMux := http.NewServeMux()
	api.Register(apiMux)
	assets := brandingAssets(dir)
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if srv.draining.Load() {
			// Answer, then close: keep-alive clients reconnect through the
			// load balancer to another node. Closing idle connections
			// outright would race with requests already on their way.
			w.Header().Set("Connection", "close")
		}
		if strings.HasPrefix(r.URL.Path, "/v1.0/") || r.URL.Path == "/beta" || strings.HasPrefix(r.URL.Path, "/beta/") {
			apiMux.ServeHTTP(w, r)
			return
		}
		// The console has its own mux too: /admin/{tenant}/… would overlap
		// the issuer's /{tenant}/… patterns.
		if r.URL.Path == "/admin" || strings.HasPrefix(r.URL.Path, "/admin/") {
			consoleHandler.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, hostedpage.LogoPathPrefix) {
			assets.ServeHTTP(w, r)
			return
		}
		if browsing(r) {
			if r.URL.Path == "/" {
				hostedpage.WriteStart(w, r)
				return
			}
			if _, pattern := mux.Handler(r); pattern == "" {
				hostedpage.WriteNotFound(w, r)
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
	// Outermost the request's ids, which the observers below log; the
	// muxes below record the route pattern on the request httpobs passes.
	srv.handler = reqid.Middleware(httpobs.Middleware(
		secureHeaders(httpresp.RetryLater(root), strings.HasPrefix(cfg.PublicURL, "https://")),
		logging.AccessLog(cfg.Logger), m.ObserveRequest))
	self = srv.handler
	// Last: nothing after it can fail and leave the worker running.
	srv.stopMail = mailing.start(dir, guests)
	return srv, nil
}

// protocolSegments are the second segments of the issuer's protocol
// paths (/{tenant}/oauth2/…, /{tenant}/v2.0/…): their clients are programs,
// which get the protocol's own errors, never a page.
var protocolSegments = []string{"oauth2", "v2.0", "discovery", "oidc"}

// browsing reports whether r is a browser's page request outside the API,
// the console and the issuer's protocol endpoints: one the start page or
// the not-found card answers when nothing else does.
func browsing(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	segments := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return len(segments) < 2 || !slices.Contains(protocolSegments, segments[1])
}

// newGuests is the B2B service of a node, or of a command run beside the
// nodes: every one of them must derive the same passcode key.
func newGuests(cfg Config, dir *directory.Service, keys *secrets.Keyring, mailer b2b.Mailer, fed *federation.Service) (*b2b.Service, error) {
	return b2b.New(b2b.Config{Directory: dir, Mailer: mailer, Providers: fed, PublicURL: cfg.PublicURL, Now: cfg.Now, Logger: cfg.Logger,
		Codes: otp.New(keys.Derive("gatehouse otp v1"), otp.DefaultPolicy(), cfg.Now, nil)})
}

// Drain makes /readyz answer 503 "draining" from now on, so load balancers
// stop sending new work while in-flight requests finish.
func (s *Server) Drain() { s.draining.Store(true) }

func loadKeyring(cfg Config) (*secrets.Keyring, error) {
	if cfg.MasterKey != "" {
		return secrets.FromBase64(cfg.MasterKey)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	return secrets.LoadOrCreate(filepath.Join(cfg.DataDir, "master.key"))
}

// secureHeaders sets the headers every response carries. Served over HTTPS
// (publicHTTPS: clients reach the node through https, perhaps by a proxy
// that terminates TLS; or the connection itself is TLS), browsers are told
// to use nothing else for two years, subdomains included, so a network
// attacker cannot downgrade a later visit and read the session cookies.
// RFC 6797 forbids the header over plain HTTP, where it proves nothing.
func secureHeaders(next http.Handler, publicHTTPS bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if publicHTTPS || r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// Handler is the node's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// MetricsHandler serves the node's metrics to anyone who reaches it, for a
// listener of their own (MetricsSeparate).
func (s *Server) MetricsHandler() http.Handler { return s.metrics.Handler() }

// Directory is the node's directory service.
func (s *Server) Directory() *directory.Service { return s.dir }

// B2B is the node's B2B collaboration service: invitations and guests.
func (s *Server) B2B() *b2b.Service { return s.b2b }

// Federation is the node's relying party at other identity providers.
func (s *Server) Federation() *federation.Service { return s.fed }

// Mailer enqueues email in a store transaction; the node's outbox worker
// delivers it after the transaction commits.
func (s *Server) Mailer() *outbox.Mailer { return s.mail.mailer }

// Close stops the outbox worker (a delivery under way is finished and
// recorded), writes the sign-in records still buffered, then releases the
// store and the node's hold on it.
func (s *Server) Close() error {
	s.stopMail()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(s.signIns.Close(ctx), s.st.Close(), s.unlock())
}

// FlushSignIns writes the buffered non-interactive sign-in records now
// (they are otherwise written within a second).
func (s *Server) FlushSignIns(ctx context.Context) error { return s.signIns.Flush(ctx) }

// Bootstrap creates the first tenant when the deployment has none, and writes
// how to use it to w, once: its secrets are not kept anywhere in clear. A
// deployment with tenants gets, in each, the principals of first-party
// applications added since the tenant was made.
func (s *Server) Bootstrap(ctx context.Context, w io.Writer) error {
	n, err := s.dir.CountTenants(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		added, err := s.dir.AddMissingFirstPartyPrincipals(ctx)
		if added > 0 {
			s.cfg.Logger.InfoContext(ctx, "first-party applications' service principals added to existing tenants", "added", added)
		}
		return err
	}
	t, err := s.dir.CreateTenant(ctx, directory.NewTenant{DisplayName: "Gatehouse", Domain: "gatehouse.localhost", Type: store.TenantWorkforce})
	if err != nil {
		// Nodes starting together on an empty store race here; the first
		// tenant's domain is unique, so exactly one wins and the others see
		// its tenant and carry on without printing anything.
		if n, cerr := s.dir.CountTenants(ctx); cerr == nil && n > 0 {
			return nil
		}
		return err
	}
	base := s.cfg.PublicURL
	_, err = fmt.Fprintf(w, `
Gatehouse created its first tenant. These credentials are shown only now: store them safely.

  Tenant id            %s
  Global Administrator %s
  Password             %s
  Automation client id %s
  Client secret        %s

Get an app-only token and call the API:
  curl -s %s/%s/oauth2/v2.0/token -d grant_type=client_credentials \
    -d client_id=%s -d client_secret='%s' -d scope=%s/.default
  curl -s %s/v1.0/users -H "Authorization: Bearer $TOKEN"

`, t.TenantID, t.Admin.UserPrincipalName, t.Admin.Password, t.Auto.ClientID, t.Auto.ClientSecret,
		base, t.TenantID, t.Auto.ClientID, t.Auto.ClientSecret, base, base)
	return err
}

// oidcDirectory adapts the directory to what the OpenID provider asks of it.
type oidcDirectory struct {
	dir    *directory.Service
	guests *b2b.Service
}

func (d *oidcDirectory) ResolveTenant(ctx context.Context, segment string) (string, error) {
	id, err := d.dir.ResolveTenant(ctx, segment)
	if usererr.IsKind(err, usererr.NotFound) {
		return "", fmt.Errorf("%w: %s", oidc.ErrUnknownTenant, segment)
	}
	return id, err
}

func (d *oidcDirectory) AuthenticateApp(ctx context.Context, tenantID, clientID, secret string) (oidc.App, error) {
	return toOIDCApp(d.dir.AuthenticateApp(ctx, tenantID, clientID, secret))
}

func toOIDCApp(app directory.AuthenticatedApp, err error) (oidc.App, error) {
	if errors.Is(err, directory.ErrBadClient) {
		return oidc.App{}, oidc.ErrInvalidClient
	}
	if err != nil {
		return oidc.App{}, err
	}
	return oidc.App{AppID: app.AppID, ServicePrincipalID: app.ServicePrincipalID, DisplayName: app.DisplayName, Roles: app.Roles, SigningAlg: app.SigningAlg}, nil
}

func (d *oidcDirectory) AuthenticateAppWithCertificate(ctx context.Context, tenantID, clientID string, verify func([]*x509.Certificate) error) (oidc.App, error) {
	return toOIDCApp(d.dir.AuthenticateAppWithCertificate(ctx, tenantID, clientID, verify))
}

func (d *oidcDirectory) Client(ctx context.Context, tenantID, clientID string) (oidc.Client, error) {
	return toOIDCClient(d.dir.ClientByAppID(ctx, tenantID, clientID))
}

func (d *oidcDirectory) MultitenantClient(ctx context.Context, clientID string) (oidc.Client, error) {
	c, err := d.dir.MultitenantClient(ctx, clientID)
	if errors.Is(err, directory.ErrNotMultitenant) {
		return oidc.Client{}, fmt.Errorf("%w: %v", oidc.ErrNotMultitenant, err)
	}
	return toOIDCClient(c, err)
}

func toOIDCClient(c directory.Client, err error) (oidc.Client, error) {
	if usererr.IsKind(err, usererr.NotFound) || errors.Is(err, directory.ErrClientDisabled) {
		return oidc.Client{}, fmt.Errorf("%w: %v", oidc.ErrInvalidClient, err)
	}
	if err != nil {
		return oidc.Client{}, err
	}
	return oidc.Client{AppID: c.AppID, DisplayName: c.DisplayName, PublisherDomain: c.PublisherDomain, HomeTenantID: c.HomeTenantID,
		WebRedirectURIs: c.WebRedirectURIs, SPARedirectURIs: c.SPARedirectURIs, PublicRedirectURIs: c.PublicRedirectURIs,
		Confidential: c.Confidential, PKCEOptional: c.PKCEOptional, AllowPublicClient: c.AllowPublicClient, SigningAlg: c.SigningAlg}, nil
}

func (d *oidcDirectory) User(ctx context.Context, tenantID, userID, clientID string) (oidc.User, error) {
	u, err := d.dir.TokenUserFor(ctx, tenantID, userID, clientID)
	if usererr.IsKind(err, usererr.NotFound) || (err == nil && !u.Enabled) {
		return oidc.User{}, oidc.ErrUserGone
	}
	if err != nil {
		return oidc.User{}, err
	}
	if u.Guest {
		// A guest whose home account was deleted or disabled signs in and
		// refreshes no more, as their home tenant decided; nor one the
		// cross-tenant access settings of either tenant now keep out.
		home, access, err := d.guests.GuestAccess(ctx, tenantID, userID, clientID)
		switch {
		case err != nil:
			return oidc.User{}, err
		case !home.Active:
			return oidc.User{}, oidc.ErrUserGone
		case !access.Allowed():
			return oidc.User{}, &oidc.AccessDenied{Description: access.Description()}
		}
	}
	return oidc.User{ObjectID: u.ObjectID, TenantID: u.TenantID, DisplayName: u.DisplayName, PreferredUsername: u.UserPrincipalName,
		Email: u.Email, Guest: u.Guest, Roles: u.Roles, SessionsValidFrom: u.SessionsValidFrom}, nil
}

// GrantedScopes leaves out the OpenID scopes, which consent covers but the
// API does not serve.
func (d *oidcDirectory) GrantedScopes(ctx context.Context, tenantID, userID, clientID string) ([]string, error) {
	all, err := d.dir.GrantedScopes(ctx, tenantID, userID, clientID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range all {
		if !slices.Contains(directory.OpenIDScopes, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (d *oidcDirectory) SessionPolicy(ctx context.Context, tenantID string) (sessionpolicy.Policy, error) {
	return d.dir.SessionPolicy(ctx, tenantID)
}

// tokenVerifier adapts the provider's access-token checks to the Graph API.
type tokenVerifier struct {
	p   *oidc.Provider
	dir *directory.Service
}

func (v tokenVerifier) VerifyAccessToken(ctx context.Context, raw string) (graph.Principal, error) {
	t, err := v.p.VerifyAccessToken(ctx, raw)
	if err != nil {
		return graph.Principal{}, err
	}
	p := graph.Principal{TenantID: t.TenantID, ObjectID: t.ObjectID, AppID: t.AppID, AppOnly: t.IDType == "app", Roles: t.Roles, Scopes: strings.Fields(t.Scopes)}
	if !p.AppOnly {
		// What a delegated token may do also depends on the signed-in
		// user's directory roles, read fresh so a revoked role counts at once.
		if p.DirectoryRoles, err = v.dir.DirectoryRolesOf(ctx, t.TenantID, t.ObjectID); err != nil {
			return graph.Principal{}, err
		}
	}
	return p, nil
}
