// Package login owns Gatehouse's hosted sign-in pages: the sign-in state
// machine (username, home-realm discovery, password, first-sign-in password
// change, "stay signed in?", account picker, consent, and consent for the
// whole organization), with requests sent to the tenant-independent
// organizations endpoint moved to the tenant the username belongs to, the browser's SSO
// sessions and their cookies, CSRF protection, smart lockout through
// internal/lockout, localisation and tenant branding. The pages are
// server-rendered and work without JavaScript. They serve authorization
// requests of the OpenID provider through authn.Protocol and implement
// authn.Sessions for its logout endpoint.
//
// With Guests configured they also serve B2B collaboration: guests signing
// in to a tenant that invited them with the identity they were invited
// with (through the Federation relying party, or a one-time passcode sent
// to their address), the redemption of invitations, "my organizations",
// and the federation callback these share; and personal accounts created
// in the deployment's consumers tenant.
//
// With SecondFactor configured they ask a second factor (a TOTP code, or a
// code sent by email) after the first when the tenant requires one,
// register the user's first method when they have none, step up SSO
// sessions that lack one, and serve the account's "security info".
package login

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/revocation"
	"github.com/gatehouse-id/gatehouse/internal/sessionpolicy"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var (
	// ErrBadCredentials is every sign-in failure a user may learn about:
	// unknown account, wrong password, disabled account alike.
	ErrBadCredentials = errors.New("login: bad credentials")
	// ErrNoUser: the user no longer exists or may no longer sign in.
	ErrNoUser = errors.New("login: no such enabled user")
)

// Directory is what the pages need from the directory.
type Directory interface {
	// SignIn checks a username (a UPN, or a sign-in name of the tenant's
	// local identities) and password in one step, taking the same time
	// whether or not the account exists; every failure is ErrBadCredentials.
	SignIn(ctx context.Context, tenantID, username, password string) (User, error)
	// User returns an existing, enabled user, else ErrNoUser; SSO sessions
	// of users that are gone or disabled end.
	User(ctx context.Context, tenantID, userID string) (User, error)
	// ChangePassword replaces the password on a first sign-in. A wrong
	// current password is ErrBadCredentials; a password the policy refuses
	// is a *usererr.Error whose message is shown to the user.
	ChangePassword(ctx context.Context, tenantID, userID, current, next string) error
	// HomeTenant finds the tenant that has verified domain (lower-case);
	// "" and no error when no tenant has.
	HomeTenant(ctx context.Context, domain string) (tenantID string, err error)
	// MissingConsent returns the permissions among scopes that the user has
	// not yet granted to the client; none when consent is complete.
	MissingConsent(ctx context.Context, tenantID, userID, clientID string, scopes []string) ([]Permission, error)
	// CheckConsent tells whether the user may consent to scopes for
	// themselves: nil, or a *usererr.Error of kind Forbidden when only an
	// administrator may grant them, which the pages say before asking.
	CheckConsent(ctx context.Context, tenantID, userID string, scopes []string) error
	// GrantConsent records the user's consent to scopes for the client,
	// refused as CheckConsent would.
	GrantConsent(ctx context.Context, tenantID, userID, clientID string, scopes []string) error
	// ConsentPermissions describes the permissions scopes ask the tenant
	// for on the client's behalf, ".default" standing for those the
	// client's registration lists.
	ConsentPermissions(ctx context.Context, tenantID, clientID string, scopes []string) ([]Permission, error)
	// GrantAdminConsent records the user's consent to scopes for the client
	// on behalf of every user of the tenant. Only an administrator may: for
	// anyone else it is a *usererr.Error of kind Forbidden, whose message is
	// shown, and nothing is granted.
	GrantAdminConsent(ctx context.Context, tenantID, userID, clientID string, scopes []string) error
	// CheckAdminConsent tells whether the user may consent on behalf of
	// the organization: nil, or a *usererr.Error of kind Forbidden, which
	// the pages say before asking, as for CheckConsent.
	CheckAdminConsent(ctx context.Context, tenantID, userID string) error
	// Branding returns the tenant's sign-in branding for a language
	// ("en", "sv", "it", "pl"); zero fields mean the neutral default.
	Branding(ctx context.Context, tenantID, locale string) (Branding, error)
	// RecordSignIn notes a completed interactive sign-in (Graph's
	// signInActivity); requestID names the authorization request.
	RecordSignIn(ctx context.Context, tenantID, userID, requestID string) error
	// SessionPolicy returns the tenant's session lifetime policy.
	SessionPolicy(ctx context.Context, tenantID string) (sessionpolicy.Policy, error)
}

// User is a user as the pages need it.
type User struct {
	ID, TenantID, UserPrincipalName, DisplayName string
	MustChangePassword                           bool
}

// Permission is a delegated permission as shown on the consent page.
type Permission struct{ Value, Description string }

// Branding is a tenant's company branding on the sign-in pages.
type Branding struct {
	TenantName      string
	LogoURL         string // https only; others are not shown
	BackgroundColor string // #rgb or #rrggbb; others fall back to the default
	SignInText      string
	// The tenant's links (https only; others are not shown): account
	// reset on the password step, terms of use and privacy in the footer
	// of every page. A text "" is the page's own wording.
	ResetURL, ResetText, TermsURL, TermsText, PrivacyURL, PrivacyText string
	// UploadedLogo is the address on this server of the tenant's uploaded
	// logo (hostedpage.LogoPath), shown before LogoURL; others are not shown.
	UploadedLogo string
}

// Config configures the pages.
type Config struct {
	// PublicURL is how browsers reach this deployment, e.g.
	// https://login.example.com. It decides the cookies: on https they are
	// __Host- prefixed and Secure; on plain http (development only) they
	// carry neither, because browsers and Go clients drop Secure cookies on
	// http and refuse __Host- cookies that are not Secure. Either way they
	// are HttpOnly, SameSite=Lax and Path=/.
	PublicURL string
	// Key (at least 32 bytes, secret, the same on every node) signs CSRF
	// tokens and familiar-browser cookies.
	Key       []byte
	Store     store.Store
	Directory Directory
	Protocol  authn.Protocol
	// Revocations is the node's view of revocation facts, which end SSO
	// sessions for the clients they cover; nil: a view of the pages' own.
	Revocations *revocation.View

	Lockout lockout.Policy      // zero: lockout.DefaultPolicy()
	Spray   lockout.SprayPolicy // zero: lockout.DefaultSprayPolicy()
	// ClientRate throttles password attempts per client address, in each
	// node's memory. Zero: a burst of 20, then one every 3 seconds.
	ClientRate lockout.Rate
	// ClientIP names the client of a request; default the connection's
	// remote address. Behind a reverse proxy, supply one that trusts it.
	ClientIP func(*http.Request) string
	// SignInLog records every interactive sign-in, successful or failed;
	// nil records none.
	SignInLog authn.SignInLog

	// Guests enables B2B collaboration on the pages: guests signing in
	// with the identity they were invited with, the redemption of
	// invitations and "my organizations". Nil: none of it, and users of
	// other tenants are told they have no account here.
	Guests Guests
	// Federation sends guests to their identity providers; nil: guests
	// can only prove their address with a one-time passcode.
	Federation Federation
	// ConsumersTenantID is the deployment's tenant of personal accounts,
	// whose username page offers to create one (through Accounts); "" for
	// none.
	ConsumersTenantID string
	// Accounts creates personal accounts in the consumers tenant; nil
	// offers no sign-up.
	Accounts Accounts
	// SecondFactor asks for a second factor when the tenant requires one,
	// registers methods, and serves {tenant}/securityinfo; nil: passwords
	// (and guests' identities) alone, as before multifactor existed.
	SecondFactor SecondFactor

	PersistentSession time.Duration // "stay signed in": sliding lifetime, default 90 days
	BrowserSession    time.Duration // otherwise: sliding lifetime, default 24 hours

	Now    func() time.Time // default time.Now
	Random io.Reader        // default crypto/rand
	Logger *slog.Logger     // default slog.Default()
}

// Pages serves the sign-in pages. It is safe for concurrent use.
type Pages struct {
	cfg      Config
	base     string // PublicURL's path, without a trailing slash
	cookies  cookieNames
	secure   bool
	csrfKey  []byte
	knownKey []byte
	fedKey   []byte // derives PKCE verifiers and nonces from federation states
	sealKey  []byte // seals redeem tickets kept between the redemption pages
	catalog  i18n.Catalog
	tmpl     *template.Template
	limiter  *lockout.Limiter
	cop      *http.CrossOriginProtection
}

var _ authn.Sessions = (*Pages)(nil)

// New checks cfg, fills in its defaults and returns the pages.
func New(cfg Config) (*Pages, error) {
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("login: public URL %q is not an absolute http(s) URL", cfg.PublicURL)
	}
	if len(cfg.Key) < 32 {
		return nil, errors.New("login: key must have at least 32 bytes")
	}
	if cfg.Store == nil || cfg.Directory == nil || cfg.Protocol == nil {
		return nil, errors.New("login: store, directory and protocol are required")
	}
	if cfg.Revocations == nil {
		cfg.Revocations = revocation.NewView(cfg.Store, nil)
	}
	if cfg.Lockout == (lockout.Policy{}) {
		cfg.Lockout = lockout.DefaultPolicy()
	}
	if cfg.Spray == (lockout.SprayPolicy{}) {
		cfg.Spray = lockout.DefaultSprayPolicy()
	}
	if cfg.ClientRate == (lockout.Rate{}) {
		cfg.ClientRate = lockout.Rate{Burst: 20, Every: 3 * time.Second}
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = caller.Address
	}
	if cfg.PersistentSession == 0 {
		cfg.PersistentSession = 90 * 24 * time.Hour
	}
	if cfg.BrowserSession == 0 {
		cfg.BrowserSession = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Random == nil {
		cfg.Random = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cat, err := loadCatalog()
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("page.html").Funcs(template.FuncMap{"stylesheet": hostedpage.Stylesheet}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("login: parsing templates: %w", err)
	}
	p := &Pages{
		cfg:      cfg,
		base:     strings.TrimSuffix(u.Path, "/"),
		secure:   u.Scheme == "https",
		csrfKey:  derive(cfg.Key, "csrf"),
		knownKey: derive(cfg.Key, "familiar browser"),
		fedKey:   derive(cfg.Key, "federation"),
		sealKey:  derive(cfg.Key, "redeem ticket"),
		catalog:  cat,
		tmpl:     tmpl,
		limiter:  lockout.NewLimiter(cfg.ClientRate),
		cop:      http.NewCrossOriginProtection(),
	}
	p.cookies = newCookieNames(p.secure)
	p.cop.SetDenyHandler(http.HandlerFunc(p.forbidden))
	return p, nil
}

// Register adds the pages' routes:
//
//	GET  {PublicURL path}/{tenant}/login?request={id}  the current step's page
//	POST {PublicURL path}/{tenant}/login               a step's form
//	GET  {PublicURL path}/{tenant}/devicelogin         the device code page
//	POST {PublicURL path}/{tenant}/devicelogin
//
// and, with Guests configured:
//
//	GET  {PublicURL path}/redeem?ticket={ticket}       an invitation (shown, never consumed)
//	POST {PublicURL path}/redeem                       a redemption step's form
//	GET  {PublicURL path}/{tenant}/myorganizations     the signed-in account's organizations
//	POST {PublicURL path}/{tenant}/myorganizations     sign in, or leave one
//	GET  {PublicURL path}/federation/callback          back from an identity provider
//
// and, with SecondFactor configured:
//
//	GET  {PublicURL path}/{tenant}/securityinfo        the signed-in account's second factors
//	POST {PublicURL path}/{tenant}/securityinfo        add, delete, or prove one first
func (p *Pages) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+p.base+"/{tenant}/login", p.get)
	mux.Handle("POST "+p.base+"/{tenant}/login", p.cop.Handler(http.HandlerFunc(p.post)))
	mux.HandleFunc("GET "+p.base+"/{tenant}/devicelogin", p.deviceGet)
	mux.Handle("POST "+p.base+"/{tenant}/devicelogin", p.cop.Handler(http.HandlerFunc(p.devicePost)))
	if p.cfg.SecondFactor != nil {
		mux.HandleFunc("GET "+p.base+"/{tenant}/securityinfo", p.infoGet)
		mux.Handle("POST "+p.base+"/{tenant}/securityinfo", p.cop.Handler(http.HandlerFunc(p.infoPost)))
	}
	if p.cfg.Guests == nil {
		return
	}
	mux.HandleFunc("GET "+p.base+"/redeem", p.redeemGet)
	mux.Handle("POST "+p.base+"/redeem", p.cop.Handler(http.HandlerFunc(p.redeemPost)))
	mux.HandleFunc("GET "+p.base+"/{tenant}/myorganizations", p.orgsGet)
	mux.Handle("POST "+p.base+"/{tenant}/myorganizations", p.cop.Handler(http.HandlerFunc(p.orgsPost)))
	if p.cfg.Federation != nil {
		mux.HandleFunc("GET "+p.base+"/federation/callback", p.federationCallback)
	}
}

// derive makes independent keys for each purpose from the one configured.
func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("gatehouse login: " + purpose))
	return m.Sum(nil)
}
