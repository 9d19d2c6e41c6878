// Package oidc is Gatehouse's OpenID provider: every tenant is an issuer laid
// out like Microsoft Entra's v2.0 endpoints (discovery, JWKS, token), with
// per-tenant signing keys sealed by the master keyring and stored through the
// store port. It issues app-only access tokens by the client_credentials
// grant and verifies access tokens for the Graph-shaped API. Protocol parsing,
// client authentication plumbing and RFC 6749 error responses come from
// zitadel/oidc's op package; this package owns tenancy, keys and claims.
package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Config configures a Provider.
type Config struct {
	// PublicURL is the deployment's external base URL without a trailing
	// slash, e.g. "https://id.example.com". It prefixes every issuer and
	// endpoint and is the audience of access tokens for the Graph API.
	PublicURL string
	// AccessTokenLifetime defaults to one hour.
	AccessTokenLifetime time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// KeyCacheTTL is how long a node trusts its in-memory copy of a tenant's
	// signing keys before re-reading them from the store, which bounds how
	// long a key added by another node stays unknown here. Defaults to one
	// minute.
	KeyCacheTTL time.Duration
}

const (
	defaultAccessTokenLifetime = time.Hour
	defaultKeyCacheTTL         = time.Minute
)

// Provider serves the per-tenant OpenID provider endpoints and verifies the
// access tokens it issued. It holds no per-request state: any number of
// Providers (nodes) can share one store.
type Provider struct {
	cfg     Config
	dir     Directory
	keys    *keyManager
	handler http.Handler // op's protocol handler, reached only through Register's tenant routes
}

// New returns a Provider over st (signing keys), dir (tenants and
// applications) and the master keyring that seals private keys.
func New(cfg Config, st store.Store, dir Directory, keys *secrets.Keyring) (*Provider, error) {
	if st == nil || dir == nil || keys == nil {
		return nil, errors.New("oidc: New needs a store, a directory and a keyring")
	}
	if err := checkPublicURL(cfg.PublicURL); err != nil {
		return nil, err
	}
	if cfg.AccessTokenLifetime == 0 {
		cfg.AccessTokenLifetime = defaultAccessTokenLifetime
	}
	if cfg.KeyCacheTTL == 0 {
		cfg.KeyCacheTTL = defaultKeyCacheTTL
	}
	if cfg.AccessTokenLifetime < 0 || cfg.KeyCacheTTL < 0 {
		return nil, errors.New("oidc: negative AccessTokenLifetime or KeyCacheTTL")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Provider{
		cfg:  cfg,
		dir:  dir,
		keys: newKeyManager(st, keys, cfg.Now, cfg.KeyCacheTTL, cfg.AccessTokenLifetime),
	}
	p.handler = op.RegisterServer(&opServer{p: p}, op.Endpoints{
		Token:   op.NewEndpoint(opTokenPath),
		JwksURI: op.NewEndpoint(opKeysPath),
	})
	return p, nil
}

func checkPublicURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("oidc: PublicURL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("oidc: PublicURL %q must be an http or https URL", s)
	case u.Host == "":
		return fmt.Errorf("oidc: PublicURL %q has no host", s)
	case strings.HasSuffix(s, "/"):
		return fmt.Errorf("oidc: PublicURL %q must not end with a slash", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return fmt.Errorf("oidc: PublicURL %q must not carry user info, a query or a fragment", s)
	}
	return nil
}

// Paths of op's handler. They are internal: clients use Entra's paths and the
// tenant router below rewrites to these.
const (
	opTokenPath = "/token"
	opKeysPath  = "/keys"
)

// Register adds the provider's routes to mux, which must serve PublicURL's
// path as its root:
//
//	GET  /{tenant}/v2.0/.well-known/openid-configuration
//	GET  /{tenant}/discovery/v2.0/keys
//	POST /{tenant}/oauth2/v2.0/token
//
// {tenant} is the tenant id or one of its verified domains.
func (p *Provider) Register(mux *http.ServeMux) {
	mux.Handle("GET /{tenant}/v2.0/.well-known/openid-configuration", p.tenantRoute(zoidc.DiscoveryEndpoint, invalidTenant))
	mux.Handle("GET /{tenant}/discovery/v2.0/keys", p.tenantRoute(opKeysPath, invalidTenant))
	mux.Handle("POST /{tenant}/oauth2/v2.0/token", p.tenantRoute(opTokenPath, zoidc.ErrInvalidRequest))
}

// tenantRoute puts a tenant-aware router in front of op. zitadel/oidc's
// endpoints hang off one issuer URL, but Entra's do not: the issuer is
// {tid}/v2.0 while the token endpoint is {tid}/oauth2/v2.0/token and the keys
// {tid}/discovery/v2.0/keys. So each Entra path is matched here, its {tenant}
// segment resolved to a tenant id (a domain becomes the GUID), the tenant and
// its issuer put in the request context (op.ContextWithIssuer, which op's own
// helpers read), and the request forwarded with its path rewritten to op's
// internal endpoint path. op then parses, authenticates and answers; the
// opServer methods find the tenant in the context. unknown makes the error
// for an unknown tenant: Entra answers invalid_tenant on metadata and
// invalid_request on the token endpoint.
func (p *Provider) tenantRoute(opPath string, unknown func() *zoidc.Error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		segment := r.PathValue("tenant")
		tid, err := p.dir.ResolveTenant(r.Context(), segment)
		if errors.Is(err, ErrUnknownTenant) {
			e := unknown().WithDescription("AADSTS90002: Tenant '%s' not found.", segment).WithParent(err)
			op.WriteError(w, r, op.NewStatusError(e, http.StatusBadRequest), nil)
			return
		}
		if err != nil {
			op.WriteError(w, r, serverError(fmt.Errorf("%w: resolving tenant: %w", errUnavailable, err)), nil)
			return
		}
		ctx := op.ContextWithIssuer(withTenant(r.Context(), tid), p.issuer(tid))
		r = r.WithContext(ctx) // a shallow copy: its URL may be replaced without touching the caller's
		u := *r.URL
		u.Path, u.RawPath = opPath, ""
		// OAuth parameters travel in the body (RFC 6749 §3.2), but op reads
		// r.Form, which merges in the query; dropping the query keeps a
		// secret sent in a URL (and so in access logs) from being honoured.
		u.RawQuery = ""
		r.URL = &u
		p.handler.ServeHTTP(w, r)
	})
}

// issuer is the tenant's issuer identifier; always the tenant id, however
// the tenant was addressed.
func (p *Provider) issuer(tenantID string) string {
	return p.cfg.PublicURL + "/" + tenantID + "/v2.0"
}

// tenantBase is the prefix of the tenant's OAuth endpoints.
func (p *Provider) tenantBase(tenantID string) string {
	return p.cfg.PublicURL + "/" + tenantID
}

type tenantKey struct{}

func withTenant(ctx context.Context, tenantID string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenantID)
}

// tenantFrom returns the tenant tenantRoute resolved. Every op endpoint is
// reached through tenantRoute, so a missing tenant is a routing bug, reported
// as a server error rather than served for no tenant.
func tenantFrom(ctx context.Context) (string, error) {
	tid, ok := ctx.Value(tenantKey{}).(string)
	if !ok || tid == "" {
		return "", errors.New("oidc: request reached op without a resolved tenant")
	}
	return tid, nil
}
