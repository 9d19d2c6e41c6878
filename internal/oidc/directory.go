package oidc

import (
	"context"
	"crypto/x509"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/sessionpolicy"
)

var (
	// ErrUnknownTenant: the path segment names no tenant (neither its id nor
	// one of its verified domains).
	ErrUnknownTenant = errors.New("oidc: unknown tenant")
	// ErrInvalidClient: client authentication failed — unknown client, wrong
	// or expired secret, disabled application or service principal.
	ErrInvalidClient = errors.New("oidc: invalid client")
	// ErrInvalidToken: an access token presented to VerifyAccessToken is not
	// one this deployment issued and still honours. The wrapping error says why.
	ErrInvalidToken = errors.New("oidc: invalid access token")
	// ErrUserGone: the user no longer exists in the tenant, is soft-deleted,
	// or is blocked from signing in (accountEnabled false).
	ErrUserGone = errors.New("oidc: user deleted or disabled")
	// ErrRequestNotFound: an authorization request id that is unknown,
	// expired, of another tenant, or already finished or denied.
	ErrRequestNotFound = errors.New("oidc: no such pending authorization request")
	// ErrNotMultitenant: an application asked for through a
	// tenant-independent endpoint admits only its own tenant's users.
	ErrNotMultitenant = errors.New("oidc: application is not multitenant")
)

// AccessDenied is a user the directory still has but a policy keeps out of
// this client now (a guest whose home tenant's or this tenant's
// cross-tenant access settings refuse). Description is the AADSTS text the
// client gets. Unlike ErrUserGone it revokes nothing: the policy may
// change back.
type AccessDenied struct{ Description string }

func (e *AccessDenied) Error() string { return "oidc: access denied: " + e.Description }

// Directory is what the provider needs from the directory: tenant
// addressing, application authentication and lookup, and the users who sign
// in with their consented permissions. Errors other than the sentinels above
// mean the directory could not answer, and the provider fails closed (503).
type Directory interface {
	// ResolveTenant maps a path segment (a tenant id or one of the tenant's
	// verified domain names, matched case-insensitively) to the tenant id.
	// When none matches, the error satisfies errors.Is(err, ErrUnknownTenant).
	ResolveTenant(ctx context.Context, segment string) (tenantID string, err error)
	// AuthenticateApp checks a confidential client's id and secret in the
	// tenant and returns the application's identity there. Every reason to
	// refuse satisfies errors.Is(err, ErrInvalidClient). Errors are logged,
	// so they must never contain the secret.
	AuthenticateApp(ctx context.Context, tenantID, clientID, clientSecret string) (App, error)
	// AuthenticateAppWithCertificate authenticates a confidential client by
	// a certificate of its application: verify gets the certificates the
	// application holds that are valid now and reports whether the
	// client's proof was made with one of them. Every refusal satisfies
	// errors.Is(err, ErrInvalidClient).
	AuthenticateAppWithCertificate(ctx context.Context, tenantID, clientID string, verify func([]*x509.Certificate) error) (App, error)
	// Client returns the application whose appId is clientID as it may sign
	// users in to the tenant: an application registered in the tenant, a
	// first-party one (the deployment's, such as the CLI), or a multi-tenant
	// one with a service principal there. When there is none,
	// or the application or its service principal is disabled, the error
	// satisfies errors.Is(err, ErrInvalidClient). It does not authenticate.
	Client(ctx context.Context, tenantID, clientID string) (Client, error)
	// MultitenantClient returns the multitenant application whose appId is
	// clientID wherever it is registered (Client.HomeTenantID), for a
	// request to a tenant-independent endpoint, before the user's tenant is
	// known. An unknown application gives an error satisfying
	// errors.Is(err, ErrInvalidClient); one that admits only its own
	// tenant's users, or a first-party one (it has no home tenant for the
	// request to wait in), ErrNotMultitenant.
	MultitenantClient(ctx context.Context, clientID string) (Client, error)
	// User returns the user who signs in to clientID, as the tenant knows
	// them now. A user who does not exist in the tenant, is deleted, or has
	// accountEnabled false gives an error satisfying errors.Is(err,
	// ErrUserGone). It is asked at sign-in and again at every code
	// redemption, refresh and userinfo request, so it should be cheap.
	User(ctx context.Context, tenantID, userID, clientID string) (User, error)
	// GrantedScopes returns the delegated permissions of the resource API
	// (the Graph API at PublicURL) that clientID may use on userID's behalf
	// in the tenant: the union of the user's own consent grant for the
	// client's service principal (oAuth2PermissionGrant with consentType
	// Principal) and the tenant-wide one (consentType AllPrincipals). Names
	// are bare permission values such as "User.Read", without the resource
	// prefix and without the OpenID scopes; nil when nothing is granted.
	GrantedScopes(ctx context.Context, tenantID, userID, clientID string) ([]string, error)
	// SessionPolicy returns the tenant's session lifetime policy, asked at
	// every code redemption and refresh.
	SessionPolicy(ctx context.Context, tenantID string) (sessionpolicy.Policy, error)
}

// App is an authenticated application as seen in one tenant.
type App struct {
	AppID              string   // the application (client) id
	ServicePrincipalID string   // the service principal's object id: the token's oid and sub
	DisplayName        string   // for logs and consent screens
	Roles              []string // application permissions granted in the tenant, e.g. "User.ReadWrite.All"
	// SigningAlg is the application's choice of token signing algorithm,
	// from its tag "gatehouse:signingAlg=ES256": "RS256", "ES256", or ""
	// for the tenant's. Any other value fails the token request.
	SigningAlg string
}

// Client is an application that signs users in, as registered. Redirect URIs
// are compared with the request's as exact strings, so the directory returns
// them exactly as registered, never normalised.
type Client struct {
	AppID           string
	DisplayName     string
	PublisherDomain string // the application's publisherDomain, shown on consent
	// HomeTenantID is the tenant the application is registered in.
	HomeTenantID string
	// WebRedirectURIs are the web platform's redirectUris (web.redirectUris):
	// codes sent there are redeemed by a confidential client with its secret.
	WebRedirectURIs []string
	// SPARedirectURIs (spa.redirectUris) and PublicRedirectURIs
	// (publicClient.redirectUris) belong to public clients, which cannot keep
	// a secret and redeem codes with PKCE alone.
	SPARedirectURIs    []string
	PublicRedirectURIs []string
	// Confidential: the application has at least one current client secret.
	Confidential bool
	// PKCEOptional: the application opted out of PKCE for its web redirect
	// URIs (application tag "gatehouse:pkceOptional"). Public clients always
	// need PKCE.
	PKCEOptional bool
	// SigningAlg is the application's choice of token signing algorithm,
	// as App.SigningAlg.
	SigningAlg string
	// AllowPublicClient is the application's isFallbackPublicClient ("Allow
	// public client flows"): it may use the device code flow without
	// PublicRedirectURIs. An application with PublicRedirectURIs may use it
	// in any case.
	AllowPublicClient bool
}

// User is a user signing in to an application in a tenant.
type User struct {
	ObjectID          string // the user's object id in the tenant: oid
	TenantID          string // tid
	DisplayName       string // name
	PreferredUsername string // the userPrincipalName: preferred_username
	// Email is the user's mail when the directory holds it as verified, and
	// "" otherwise: the email claim is only ever a verified address.
	Email string
	Guest bool // userType Guest: the acct claim is 1
	// Roles are the values of the client application's app roles assigned to
	// the user, directly or through groups: the ID token's roles claim.
	Roles []string
	// SessionsValidFrom is signInSessionsValidFromDateTime: sign-ins and
	// refresh tokens from before it are revoked. Zero when never set.
	SessionsValidFrom time.Time
}
