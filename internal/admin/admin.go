// Package admin is the admin centre at {public URL}/admin: server-rendered
// pages (html/template, with the vendored htmx for partial updates) where a
// tenant's administrators manage it. It owns the console's sign-in (the
// tenant's own hosted pages, as a first-party relying party), its sessions,
// CSRF tokens and pages. Every action goes through the same domain services
// as Graph, for the caller its verified access token names, after the same
// admission Graph applies to the matching request; it decides nothing of
// its own about who may do what.
package admin

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/b2b"
	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/login"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/xtap"
)

//go:embed templates/*.html messages/*.json
var pageFS embed.FS

//go:embed static
var staticFS embed.FS

// TokenVerifier verifies an access token and names its caller exactly as
// the Graph API does (the same adapter serves both): a store failure is
// marked store.ErrUnavailable, anything else refuses the token.
type TokenVerifier interface {
	VerifyAccessToken(ctx context.Context, raw string) (caller.Caller, error)
}

// Admission is Graph's first layer (graph.API.Admits): whether it would
// admit a caller to a request. The console asks it before every read and
// action, naming the Graph request that does the same thing.
type Admission interface {
	Admits(p caller.Caller, method, path string) bool
}

// Config wires the console.
type Config struct {
	PublicURL string
	Directory *directory.Service
	B2B       *b2b.Service
	Audit     *audit.Log
	// CrossTenant serves the cross-tenant access page; nil: not offered.
	CrossTenant *xtap.Service
	// SignInPages renders the branding page's preview; nil: the page is
	// not offered.
	SignInPages *login.Pages
	// Policies serves the external collaboration settings page beside
	// the authorization policy; nil: the page is not offered.
	Policies  *b2b.Policies
	Tokens    TokenVerifier
	Admission Admission
	// Keys seals the tokens a session holds and the paging cursors pages
	// hand out.
	Keys *secrets.Keyring
	// HTTPClient reaches the deployment's own token endpoint (in-process).
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
	Random     io.Reader
}

// Console is the admin centre.
type Console struct {
	cfg     Config
	secure  bool
	cookies cookieNames
	pages   map[string]*template.Template
	catalog i18n.Catalog
}

// New builds the console.
func New(cfg Config) (*Console, error) {
	if cfg.Directory == nil || cfg.Tokens == nil || cfg.Admission == nil || cfg.Keys == nil || cfg.HTTPClient == nil {
		return nil, errors.New("admin: the directory, token verifier, admission, keys and HTTP client are required")
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Random == nil {
		cfg.Random = rand.Reader
	}
	cat, err := i18n.Load(pageFS, "messages")
	if err != nil {
		return nil, err
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	secure := strings.HasPrefix(cfg.PublicURL, "https://")
	return &Console{cfg: cfg, secure: secure, cookies: newCookieNames(secure), pages: pages, catalog: cat}, nil
}

// Handler serves everything under /admin. Every state-changing request
// must come from the console's own origin (http.CrossOriginProtection) and
// carry the session's CSRF token (checked where the session is read).
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	// Each file by name: a pattern for the folder would overlap
	// /admin/{tenant}/….
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/admin/static/", http.FileServerFS(static))
	for _, name := range []string{"htmx.min.js", "admin.css"} {
		mux.Handle("GET /admin/static/"+name, files)
	}
	mux.HandleFunc("GET /admin", c.start)
	mux.HandleFunc("GET /admin/{$}", c.start)
	mux.HandleFunc("GET /admin/callback", c.callback)
	mux.HandleFunc("GET /admin/{tenant}/signin", c.signIn)
	mux.Handle("POST /admin/{tenant}/signout", c.session(c.signOut))
	mux.Handle("GET /admin/{tenant}/{$}", c.session(c.overview))
	c.registerUsers(mux)
	c.registerCrossTenant(mux)
	c.registerLogs(mux)
	c.registerBranding(mux)
	c.registerApps(mux)
	c.registerGroups(mux)
	c.registerRoles(mux)
	c.registerCollab(mux)
	return http.NewCrossOriginProtection().Handler(c.languageSwitch(mux))
}

// store is the deployment's store, where sessions and sign-ins in progress
// are kept so that any node can serve the next request.
func (c *Console) store() store.Store { return c.cfg.Directory.Store() }
