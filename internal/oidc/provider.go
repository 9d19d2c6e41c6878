// Package oidc is Gatehouse's OpenID provider: every tenant is an issuer laid
// out like Microsoft Entra's v2.0 endpoints (discovery, JWKS, authorize,
// token, device code, userinfo, logout, revocation, introspection), with
// per-tenant signing keys (RS256 by default, ES256 by tenant or application)
// sealed by the master keyring, stored through the store port and rotated
// with pre-publication so any number of nodes agree on the signing key. It
// runs the authorization code flow with PKCE and the device authorization
// grant for the hosted sign-in pages (it implements authn.Protocol), also
// through the tenant-independent organizations and common endpoints for
// multitenant applications, serves Entra's admin consent endpoint, rotates
// refresh tokens with reuse detection, issues app-only tokens by the
// client_credentials grant, and verifies access tokens for the Graph-shaped
// API. Token-endpoint parsing, client-credential plumbing and RFC 6749 error
// responses come from zitadel/oidc's op package; this package owns tenancy,
// keys, codes, refresh tokens, claims and the browser-facing endpoints.
package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/revocation"
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
	// RefreshTokenLifetime is how long an unused refresh token stays valid;
	// every use replaces it with a new one. Defaults to 90 days, Entra's.
	RefreshTokenLifetime time.Duration
	// SigningAlg is the algorithm tenants sign tokens with, unless
	// TenantSigningAlg or the client chooses another: "RS256" (the default)
	// or "ES256".
	SigningAlg string
	// TenantSigningAlg, when set, returns a tenant's own signing algorithm
	// ("RS256", "ES256", or "" for SigningAlg). It is asked when the JWKS is
	// served and when a token is issued to a client that has no algorithm of
	// its own, so it should be cheap. An error fails the request closed.
	TenantSigningAlg func(ctx context.Context, tenantID string) (string, error)
	// KeyRotation sets how often tenants' signing keys are replaced.
	KeyRotation KeyRotation
	// Codes limits wrong device user codes; zero: lockout.DefaultCodePolicy().
	Codes lockout.CodePolicy
	// Revocations is the node's view of revocation facts, consulted by every
	// access-token check; nil: a view of the provider's own.
	Revocations *revocation.View
	// Sessions ends browser sign-in sessions on RP-initiated logout.
	// Required. The sign-in pages that implement it also need the Provider
	// (as their authn.Protocol); LateSessions breaks that cycle.
	Sessions authn.Sessions
	// SignInLog records non-interactive sign-ins (client credentials,
	// refresh tokens, device codes), successful or failed. It is called on
	// the token path, so it must not write synchronously; nil records none.
	SignInLog authn.SignInLog
	// TokenIssued is told of every token response, after its tokens are
	// issued, with the tenant and the grant type (GrantAuthorizationCode,
	// GrantRefreshToken, GrantDeviceCode, GrantClientCredentials), for the
	// operator's metrics. It runs on the token path, so it must be cheap;
	// nil: nobody is told.
	TokenIssued func(ctx context.Context, tenantID, grantType string)
}

// LateSessions lets a Provider be built before the pages it signs out
// through, which need the Provider themselves: set Sessions once they
// exist, before serving, e.g.
//
//	late := &oidc.LateSessions{}
//	p, _ := oidc.New(oidc.Config{Sessions: late}, …)
//	late.Sessions, _ = login.New(login.Config{Protocol: p, …})
type LateSessions struct{ authn.Sessions }

const (
	defaultAccessTokenLifetime  = time.Hour
	defaultKeyCacheTTL          = time.Minute
	defaultRefreshTokenLifetime = 90 * 24 * time.Hour

	// idTokenLifetime is Entra's, fixed.
	idTokenLifetime = time.Hour

	// pairwisePurpose names the key that makes pairwise subjects.
	pairwisePurpose = "gatehouse pairwise subject v1"
)

// Provider serves the per-tenant OpenID provider endpoints and verifies the
// access tokens it issued. It holds no per-request state: any number of
// Providers (nodes) can share one store.
type Provider struct {
	cfg  Config
	st   store.Store
	dir  Directory
	keys *keyManager
	// revocations is Config.Revocations, defaulted.
	revocations *revocation.View
	// defaultAlg is Config.SigningAlg, defaulted.
	defaultAlg jose.SignatureAlgorithm
	pairwise   []byte // HMAC key of pairwise subjects
	// userCodeKey is the HMAC key of device user codes' store ids.
	userCodeKey []byte
	handler     http.Handler // op's protocol handler, reached only through Register's tenant routes
}

// New returns a Provider over st (signing keys), dir (tenants and
// applications) and the master keyring that seals private keys.
func New(cfg Config, st store.Store, dir Directory, keys *secrets.Keyring) (*Provider, error) {
	if st == nil || dir == nil || keys == nil {
		return nil, errors.New("oidc: New needs a store, a directory and a keyring")
	}
	if cfg.Sessions == nil {
		return nil, errors.New("oidc: Config.Sessions is required for RP-initiated logout")
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
	if cfg.RefreshTokenLifetime == 0 {
		cfg.RefreshTokenLifetime = defaultRefreshTokenLifetime
	}
	if cfg.AccessTokenLifetime < 0 || cfg.KeyCacheTTL < 0 || cfg.RefreshTokenLifetime < 0 {
		return nil, errors.New("oidc: negative AccessTokenLifetime, KeyCacheTTL or RefreshTokenLifetime")
	}
	if cfg.KeyRotation.Interval == 0 {
		cfg.KeyRotation.Interval = defaultRotationInterval
	}
	if cfg.KeyRotation.PrePublish == 0 {
		cfg.KeyRotation.PrePublish = defaultPrePublish
	}
	if err := checkRotation(cfg.KeyRotation, cfg.KeyCacheTTL); err != nil {
		return nil, err
	}
	if cfg.Codes == (lockout.CodePolicy{}) {
		cfg.Codes = lockout.DefaultCodePolicy()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Revocations == nil {
		cfg.Revocations = revocation.NewView(st, nil)
	}
	alg, err := parseSigningAlg(cfg.SigningAlg)
	if err != nil {
		return nil, fmt.Errorf("oidc: Config.SigningAlg: %w", err)
	}
	if alg == "" {
		alg = jose.RS256
	}
	p := &Provider{
		cfg:         cfg,
		defaultAlg:  alg,
		st:          st,
		dir:         dir,
		revocations: cfg.Revocations,
		keys: newKeyManager(st, keys, cfg.Now, keyPolicy{
			ttl: cfg.KeyCacheTTL,
			// Tokens a key signed verify until they expire: the longest
			// lifetime, the verifier's leeway, and the nodes' clock skew.
			grace:      max(cfg.AccessTokenLifetime, idTokenLifetime) + verifyLeeway + nodeClockSkew,
			interval:   cfg.KeyRotation.Interval,
			prePublish: cfg.KeyRotation.PrePublish,
		}),
		pairwise:    keys.Derive(pairwisePurpose),
		userCodeKey: keys.Derive(userCodePurpose),
	}
	p.handler = op.RegisterServer(&opServer{p: p}, op.Endpoints{
		Token:               op.NewEndpoint(opTokenPath),
		JwksURI:             op.NewEndpoint(opKeysPath),
		Userinfo:            op.NewEndpoint(opUserinfoPath),
		Revocation:          op.NewEndpoint(opRevokePath),
		Introspection:       op.NewEndpoint(opIntrospectPath),
		DeviceAuthorization: op.NewEndpoint(opDevicePath),
	})
	return p, nil
}

// checkRotation refuses timings under which a successor could sign before
// every node and relying party has had the chance to fetch it.
func checkRotation(r KeyRotation, cacheTTL time.Duration) error {
	switch {
	case r.PrePublish <= cacheTTL+jwksMaxAge+nodeClockSkew:
		return fmt.Errorf("oidc: KeyRotation.PrePublish %s must exceed KeyCacheTTL plus %s", r.PrePublish, jwksMaxAge+nodeClockSkew)
	case r.Interval <= r.PrePublish:
		return fmt.Errorf("oidc: KeyRotation.Interval %s must exceed PrePublish %s", r.Interval, r.PrePublish)
	}
	return nil
}

// RotateKeys creates the tenant's signing keys that are due (successors to
// publish ahead of their activation) and deletes those no longer published.
// Issuing tokens and serving the JWKS do the same lazily; this is for
// housekeeping, so tenants with no traffic also rotate on time. A tenant
// without keys gets none. Safe to call from any number of nodes at once.
func (p *Provider) RotateKeys(ctx context.Context, tenantID string) error {
	return p.keys.rotate(ctx, tenantID)
}

// CheckSigningKeys unseals every stored signing key of the tenant with the
// master keyring. ErrSealedKey names the first that does not open: a node
// with that keyring could publish the tenant's keys but never sign.
func (p *Provider) CheckSigningKeys(ctx context.Context, tenantID string) error {
	return p.keys.check(ctx, tenantID)
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
	opTokenPath      = "/token"
	opKeysPath       = "/keys"
	opUserinfoPath   = "/userinfo"
	opRevokePath     = "/revoke"
	opIntrospectPath = "/introspect"
	opDevicePath     = "/devicecode"
)

// Entra's paths of a tenant's endpoints, after {PublicURL}/{tenant}.
const (
	pathDiscovery  = "/v2.0/.well-known/openid-configuration"
	pathKeys       = "/discovery/v2.0/keys"
	pathAuthorize  = "/oauth2/v2.0/authorize"
	pathToken      = "/oauth2/v2.0/token"
	pathLogout     = "/oauth2/v2.0/logout"
	pathRevoke     = "/oauth2/v2.0/revoke"
	pathIntrospect = "/oauth2/v2.0/introspect"
	pathUserinfo   = "/oidc/userinfo"
	pathDeviceCode = "/oauth2/v2.0/devicecode"
	// pathDeviceLogin is where the hosted pages ask for a device's user code.
	pathDeviceLogin = "/devicelogin"
	// pathLogin is where the hosted sign-in pages take over a request.
	pathLogin = "/login"
	// The admin consent endpoint, v2.0 and v1.0.
	pathAdminConsent   = "/v2.0/adminconsent"
	pathAdminConsentV1 = "/adminconsent"
)

// Register adds the provider's routes to mux, which must serve PublicURL's
// path as its root:
//
//	GET      /{tenant}/v2.0/.well-known/openid-configuration
//	GET      /{tenant}/discovery/v2.0/keys
//	GET|POST /{tenant}/oauth2/v2.0/authorize
//	POST     /{tenant}/oauth2/v2.0/token
//	GET|POST /{tenant}/oidc/userinfo
//	GET|POST /{tenant}/oauth2/v2.0/logout
//	POST     /{tenant}/oauth2/v2.0/revoke
//	POST     /{tenant}/oauth2/v2.0/introspect
//	POST     /{tenant}/oauth2/v2.0/devicecode
//	GET      /{tenant}/v2.0/adminconsent and /{tenant}/adminconsent
//
// {tenant} is the tenant id or one of its verified domains, or a
// tenant-independent endpoint, "organizations" or "common" (anyorg.go),
// which serves discovery, authorize, token and admin consent. The sign-in
// pages are expected at /{tenantId}/login?request={id} (and
// /organizations/login for requests not yet rehomed), and the page that
// takes a device's user code (calling StartDevice) at /{tenantId}/devicelogin.
//
// The machine-facing endpoints go through op. The authorization and logout
// endpoints are served here: they answer with pages and form_post bodies,
// set cookies through Sessions, and must never redirect to an unverified
// URI, none of which op.Server's Redirect-only results can express.
func (p *Provider) Register(mux *http.ServeMux) {
	api := func(opPath string, unknown func() *zoidc.Error) http.Handler {
		return bounded(maxRequestBytes, p.tenantRoute(opPath, unknown), tooLargeError)
	}
	page := func(h func(http.ResponseWriter, *http.Request, target), anyOrg bool) http.Handler {
		return bounded(maxPageRequestBytes, p.pageRoute(h, anyOrg), tooLargePage)
	}
	mux.Handle("GET /{tenant}"+pathDiscovery, api(zoidc.DiscoveryEndpoint, invalidTenant))
	mux.Handle("GET /{tenant}"+pathKeys, api(opKeysPath, invalidTenant))
	mux.Handle("POST /{tenant}"+pathToken, api(opTokenPath, zoidc.ErrInvalidRequest))
	mux.Handle("GET /{tenant}"+pathAdminConsent, page(p.adminConsent(true), true))
	mux.Handle("GET /{tenant}"+pathAdminConsentV1, page(p.adminConsent(false), true))
	logout := func(w http.ResponseWriter, r *http.Request, t target) { p.logout(w, r, t.tenantID) }
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		mux.Handle(m+" /{tenant}"+pathAuthorize, page(p.authorize, true))
		mux.Handle(m+" /{tenant}"+pathLogout, page(logout, false))
		mux.Handle(m+" /{tenant}"+pathUserinfo, api(opUserinfoPath, zoidc.ErrInvalidRequest))
	}
	mux.Handle("POST /{tenant}"+pathRevoke, api(opRevokePath, zoidc.ErrInvalidRequest))
	mux.Handle("POST /{tenant}"+pathIntrospect, api(opIntrospectPath, zoidc.ErrInvalidRequest))
	mux.Handle("POST /{tenant}"+pathDeviceCode, api(opDevicePath, zoidc.ErrInvalidRequest))
}

// How much of a request the protocol endpoints read. Anyone may send them,
// and a protocol request is small: a client assertion or a long state is a
// few kilobytes. Browser-facing requests are kept smaller still, since an
// authorization request is stored until the user signs in.
const (
	maxRequestBytes     = 64 << 10
	maxPageRequestBytes = 16 << 10
)

// bounded refuses a request whose query or declared body exceeds limit
// before anything is done for it, and cuts off a body without a declared
// length at limit (reading it then fails like a malformed form).
func bounded(limit int64, h http.Handler, refuse func(http.ResponseWriter, *http.Request, string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if int64(len(r.URL.RawQuery)) > limit || r.ContentLength > limit {
			refuse(w, r, fmt.Sprintf("The request is larger than the %d KB this endpoint accepts.", limit>>10))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h.ServeHTTP(w, r)
	})
}

func tooLargeError(w http.ResponseWriter, r *http.Request, msg string) {
	op.WriteError(w, r, op.NewStatusError(zoidc.ErrInvalidRequest().WithDescription("%s", msg), http.StatusRequestEntityTooLarge), nil)
}

func tooLargePage(w http.ResponseWriter, r *http.Request, msg string) {
	showError(w, r, http.StatusRequestEntityTooLarge, "", msg)
}

// pageRoute resolves the tenant of a browser-facing endpoint, answering
// with an error page when it cannot. anyOrg says whether the endpoint is
// also served for the tenant-independent endpoints.
func (p *Provider) pageRoute(h func(http.ResponseWriter, *http.Request, target), anyOrg bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		segment := r.PathValue("tenant")
		if ep, ok := anyOrgEndpoint(segment); ok {
			if !anyOrg {
				showError(w, r, http.StatusBadRequest, "AADSTS90002", fmt.Sprintf("This endpoint is not served for '%s': use the tenant's own endpoint.", ep))
				return
			}
			h(w, r, target{anyOrg: ep})
			return
		}
		tid, err := p.dir.ResolveTenant(r.Context(), segment)
		if errors.Is(err, ErrUnknownTenant) {
			showError(w, r, http.StatusBadRequest, "AADSTS90002", fmt.Sprintf("Tenant '%s' not found.", segment))
			return
		}
		if err != nil {
			p.showUnavailable(w, r, fmt.Errorf("resolving tenant: %w", err))
			return
		}
		h(w, r, target{tenantID: tid})
	})
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
		if ep, ok := anyOrgEndpoint(segment); ok {
			p.anyOrgRoute(w, r, ep, opPath)
			return
		}
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
		p.forward(w, r.WithContext(ctx), opPath)
	})
}

// forward hands a request, its tenant and issuer in its context, to op's
// endpoint at opPath.
func (p *Provider) forward(w http.ResponseWriter, r *http.Request, opPath string) {
	r = r.WithContext(withPeer(r)) // a shallow copy: its URL may be replaced without touching the caller's
	u := *r.URL
	u.Path, u.RawPath = opPath, ""
	// OAuth parameters travel in the body (RFC 6749 §3.2), but op reads
	// r.Form, which merges in the query; dropping the query keeps a
	// secret sent in a URL (and so in access logs) from being honoured.
	u.RawQuery = ""
	r.URL = &u
	if opPath == opTokenPath && p.serveClientCredentials(w, r) {
		return
	}
	p.handler.ServeHTTP(w, r)
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
