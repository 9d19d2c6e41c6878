// Package app is Gatehouse's composition root: it opens the store, builds the
// domain services and the protocol and API surfaces over them, and assembles
// the HTTP handler a node serves. It holds no rules of its own.
package app

import (
	"context"
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
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/graph"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/login"
	"github.com/gatehouse-id/gatehouse/internal/oidc"
	"github.com/gatehouse-id/gatehouse/internal/passpolicy"
	"github.com/gatehouse-id/gatehouse/internal/revocation"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/sessionpolicy"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/postgres"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
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
	Spray  lockout.SprayPolicy
	Logger *slog.Logger
}

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
}

// OpenStore opens (and migrates) the store a URL names.
func OpenStore(ctx context.Context, storeURL, dataDir string) (store.Store, error) {
	if dataDir == "" {
		dataDir = "gatehouse-data"
	}
	switch {
	case storeURL == "":
		return sqlite.Open(ctx, filepath.Join(dataDir, "gatehouse.db"))
	case strings.HasPrefix(storeURL, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(storeURL, "sqlite:"), "//")
		if path == "" {
			return nil, errors.New("store: sqlite: needs a file path, e.g. sqlite:gatehouse-data/gatehouse.db")
		}
		return sqlite.Open(ctx, path)
	case strings.HasPrefix(storeURL, "postgres://"), strings.HasPrefix(storeURL, "postgresql://"):
		return postgres.Open(ctx, storeURL)
	}
	return nil, fmt.Errorf("store: unsupported store URL %q (use sqlite:PATH or postgres://…)", redact(storeURL))
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
// passwords of blocklistFile ("": the built-in list only).
func NewDirectory(st store.Store, blocklistFile string) (*directory.Service, error) {
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
	return directory.New(st, directory.Config{PasswordBlocklist: list})
}

// Server is one node: its store, services and HTTP handler.
type Server struct {
	cfg     Config
	st      store.Store
	dir     *directory.Service
	handler http.Handler
}

// New opens the store and assembles a node.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg.defaults()
	st, err := OpenStore(ctx, cfg.Store, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	srv, err := NewWithStore(cfg, st)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	return srv, nil
}

// NewWithStore assembles a node over an open store, which Close will close.
func NewWithStore(cfg Config, st store.Store) (*Server, error) {
	cfg.defaults()
	keys, err := loadKeyring(cfg)
	if err != nil {
		return nil, err
	}
	dir, err := NewDirectory(st, cfg.PasswordBlocklist)
	if err != nil {
		return nil, err
	}
	// The provider and the pages need each other: the pages complete the
	// provider's authorization requests, the provider ends the pages'
	// sessions on logout.
	sessions := &oidc.LateSessions{}
	// One view of the revocations per node, for tokens and sessions alike.
	revocations := revocation.NewView(st, nil)
	provider, err := oidc.New(oidc.Config{PublicURL: cfg.PublicURL, Sessions: sessions, Revocations: revocations}, st, oidcDirectory{dir}, keys)
	if err != nil {
		return nil, err
	}
	pages, err := login.New(login.Config{
		PublicURL: cfg.PublicURL, Key: keys.Derive("gatehouse login pages v1"), Store: st,
		Directory: loginDirectory{dir}, Protocol: provider, Spray: cfg.Spray, Logger: cfg.Logger, Revocations: revocations,
	})
	if err != nil {
		return nil, err
	}
	sessions.Sessions = pages
	api := graph.New(dir, tokenVerifier{provider, dir}, graph.Config{PublicURL: cfg.PublicURL, Logger: cfg.Logger, DNS: net.DefaultResolver})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			cfg.Logger.WarnContext(ctx, "not ready", "err", err)
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	provider.Register(mux)
	pages.Register(mux)
	// The API gets a mux of its own: its paths start with /v1.0/, which the
	// issuer's /{tenant}/… patterns would otherwise overlap.
	apiMux := http.NewServeMux()
	api.Register(apiMux)
	apiHandler := graph.WithRequestID(apiMux)
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1.0/") {
			apiHandler.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	return &Server{cfg: cfg, st: st, dir: dir, handler: secureHeaders(root, strings.HasPrefix(cfg.PublicURL, "https://"))}, nil
}

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

// Directory is the node's directory service.
func (s *Server) Directory() *directory.Service { return s.dir }

// Close releases the store.
func (s *Server) Close() error { return s.st.Close() }

// Bootstrap creates the first tenant when the deployment has none, and writes
// how to use it to w, once: its secrets are not kept anywhere in clear.
func (s *Server) Bootstrap(ctx context.Context, w io.Writer) error {
	n, err := s.dir.CountTenants(ctx)
	if err != nil || n > 0 {
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
type oidcDirectory struct{ dir *directory.Service }

func (d oidcDirectory) ResolveTenant(ctx context.Context, segment string) (string, error) {
	id, err := d.dir.ResolveTenant(ctx, segment)
	if usererr.IsKind(err, usererr.NotFound) {
		return "", fmt.Errorf("%w: %s", oidc.ErrUnknownTenant, segment)
	}
	return id, err
}

func (d oidcDirectory) AuthenticateApp(ctx context.Context, tenantID, clientID, secret string) (oidc.App, error) {
	app, err := d.dir.AuthenticateApp(ctx, tenantID, clientID, secret)
	if errors.Is(err, directory.ErrBadClient) {
		return oidc.App{}, oidc.ErrInvalidClient
	}
	if err != nil {
		return oidc.App{}, err
	}
	return oidc.App{AppID: app.AppID, ServicePrincipalID: app.ServicePrincipalID, DisplayName: app.DisplayName, Roles: app.Roles, SigningAlg: app.SigningAlg}, nil
}

func (d oidcDirectory) Client(ctx context.Context, tenantID, clientID string) (oidc.Client, error) {
	return toOIDCClient(d.dir.ClientByAppID(ctx, tenantID, clientID))
}

func (d oidcDirectory) MultitenantClient(ctx context.Context, clientID string) (oidc.Client, error) {
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

func (d oidcDirectory) User(ctx context.Context, tenantID, userID, clientID string) (oidc.User, error) {
	u, err := d.dir.TokenUserFor(ctx, tenantID, userID, clientID)
	if usererr.IsKind(err, usererr.NotFound) || (err == nil && !u.Enabled) {
		return oidc.User{}, oidc.ErrUserGone
	}
	if err != nil {
		return oidc.User{}, err
	}
	return oidc.User{ObjectID: u.ObjectID, TenantID: u.TenantID, DisplayName: u.DisplayName, PreferredUsername: u.UserPrincipalName,
		Email: u.Email, Guest: u.Guest, Roles: u.Roles, SessionsValidFrom: u.SessionsValidFrom}, nil
}

// GrantedScopes leaves out the OpenID scopes, which consent covers but the
// API does not serve.
func (d oidcDirectory) GrantedScopes(ctx context.Context, tenantID, userID, clientID string) ([]string, error) {
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

func (d oidcDirectory) SessionPolicy(ctx context.Context, tenantID string) (sessionpolicy.Policy, error) {
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
