// Package authn holds what the OpenID provider (internal/oidc) and the hosted
// sign-in pages (internal/login) hand each other: the authorization request a
// user is asked to sign in for, and the authentication that completes it.
// It has types and the two small interfaces, no behaviour.
package authn

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
)

// Errors of Protocol.StartDevice the device login page tells the user about.
var (
	// ErrInvalidUserCode: the code is unknown, expired or already used.
	ErrInvalidUserCode = errors.New("invalid or expired user code")
	// ErrTooManyUserCodes: too many wrong codes were entered lately.
	ErrTooManyUserCodes = errors.New("too many wrong user codes; try again later")
)

// Request is an authorization request waiting for the user, as the pages
// need it. The provider has validated everything protocol-related (client,
// redirect URI, PKCE, scopes) before a Request exists.
type Request struct {
	ID          string
	TenantID    string // the tenant whose endpoint received the request
	ClientID    string
	ClientName  string // the application's display name, for the pages
	Publisher   string // the application's publisher domain
	Scopes      []string
	Prompt      []string       // none, login, consent, select_account
	MaxAge      *time.Duration // nil when the client sent none
	LoginHint   string
	DomainHint  string
	UILocales   []string
	RedirectURI string // shown on the consent page, never redirected to by the pages
	CreatedAt   time.Time
	// Device: the request comes from a device code the user entered (RFC
	// 8628); the client runs on another device and RedirectURI is empty.
	// Pages may warn the user to continue only if they started the sign-in
	// themselves.
	Device bool
	// AnyOrganization: the request was sent to a tenant-independent endpoint
	// (organizations, common), so a work account of any tenant may sign in.
	// The pages find the user's tenant from the username (home-realm
	// discovery) and Rehome the request there; a request already rehomed
	// may be rehomed again when the user turns out to be of yet another
	// tenant.
	AnyOrganization bool
	// Unbound: an AnyOrganization request not yet rehomed. TenantID is the
	// endpoint's name ("organizations"), which is no tenant: the pages keep
	// no state for it, show the neutral branding, and ask only for the
	// username before calling Rehome.
	Unbound bool
	// AdminConsent: the request asks an administrator to consent for the
	// whole organization (the admin consent endpoint). The pages always show
	// the consent page and, on acceptance, grant consent tenant-wide before
	// calling Finish; the client receives no code, only the outcome.
	AdminConsent bool
}

// Authentication is a signed-in user, handed back to complete a Request.
type Authentication struct {
	TenantID string    // the user's tenant
	UserID   string    // the user's object id there
	AuthTime time.Time // when the user last entered credentials
	// AMR are the authentication methods this tenant accepts as proved,
	// e.g. ["pwd"], or ["pwd","otp","mfa"] after a second factor; they
	// become the amr claim of ID and access tokens.
	AMR       []string
	SessionID string // the SSO session, becomes the sid claim
	// IdP is the issuer of the identity provider that authenticated a
	// guest (their home tenant's issuer, an OpenID provider's, or "mail"
	// for an email one-time passcode); "" for the tenant's own users. It
	// becomes the idp claim.
	IdP string
	// HomeTenantID and HomeObjectID name a guest's account in their home
	// tenant when it is a tenant of this deployment: MSAL's client_info
	// carries them, as Entra's does for guests.
	HomeTenantID, HomeObjectID string
	// HomeAMR is a guest's home ID token's amr as the home provider said
	// it, trusted or not; AMR holds what this tenant accepted of it. The
	// grant keeps it, so a decision at refresh (cross-tenant inbound
	// trust) can weigh MFA done at home again.
	HomeAMR []string
}

// Protocol is what the pages need from the provider.
type Protocol interface {
	// PendingRequest returns a request that is still waiting for sign-in.
	PendingRequest(ctx context.Context, tenantID, requestID string) (Request, error)
	// Finish completes the request for a signed-in, consenting user: the
	// provider issues the code and sends the browser back to the client.
	Finish(w http.ResponseWriter, r *http.Request, tenantID, requestID string, a Authentication)
	// Deny ends the request with an OAuth error code (access_denied,
	// login_required, consent_required, interaction_required,
	// account_selection_required) sent back to the client.
	Deny(w http.ResponseWriter, r *http.Request, tenantID, requestID, code, description string)
	// StartDevice takes the user code a user typed on the device login
	// page. A valid code becomes a pending request and the browser is
	// redirected to the sign-in pages for it; Finish and Deny then answer
	// the device, not a redirect URI. An invalid, expired or used code, or
	// one entered after too many wrong ones, is returned as an error for the
	// page to show, and nothing is written to w.
	StartDevice(w http.ResponseWriter, r *http.Request, tenantID, userCode string) error
	// Rehome moves an AnyOrganization request (addressed by the tenantID it
	// was given under) to userTenantID, the tenant of the user signing in,
	// where the rest of the sign-in runs and whose issuer answers the
	// client. The request returned replaces the old one, which is no longer
	// pending. A request that is not AnyOrganization, or no longer pending,
	// is ErrRequestGone; an unknown tenant is an error too.
	Rehome(ctx context.Context, tenantID, requestID, userTenantID string) (Request, error)
}

// ErrRequestGone: Rehome was asked to move a request that is not pending
// or was not sent to a tenant-independent endpoint.
var ErrRequestGone = errors.New("no such pending request for any organization")

// Sessions is what the provider needs from the pages: ending the browser's
// sign-in session on RP-initiated logout, and asking the user first when
// the logout request could have come from any site.
type Sessions interface {
	// SignOut ends the browser's sessions in the tenant and clears their cookies.
	SignOut(w http.ResponseWriter, r *http.Request, tenantID string) error
	// ConfirmSignOut shows a page asking the user whether to sign out of
	// the tenant, whose form posts fields back to action with a token that
	// binds it to this browser.
	ConfirmSignOut(w http.ResponseWriter, r *http.Request, tenantID, action string, fields url.Values)
	// SignOutConfirmed reports whether a POST (its form already parsed)
	// carries that page's token for this browser.
	SignOutConfirmed(r *http.Request) bool
	// Brand is the tenant's branding, in the browser's language, for a
	// message card the protocol shows (device sign-in done, signed out);
	// nil: the neutral card.
	Brand(r *http.Request, tenantID string) *hostedpage.Brand
}

// SignIn is one sign-in attempt for the tenant's sign-in log: a user at the
// pages (Interactive) or a client at the token endpoint. ErrorCode is 0 for
// success, else Entra's AADSTS code.
type SignIn struct {
	TenantID                                   string
	UserID, UserPrincipalName, UserDisplayName string
	// AppID and AppDisplayName name the client; ServicePrincipalID is set
	// when the client signed in as itself (client credentials).
	AppID, AppDisplayName, ServicePrincipalID string
	IPAddress, UserAgent                      string
	CorrelationID                             string // the authorization or token request
	Interactive                               bool
	ErrorCode                                 int
	FailureReason                             string
	// HomeTenantID is the tenant of the user's home account: a guest's home
	// tenant when it is a tenant of this deployment. ResourceTenantID is
	// the tenant signed in to. Both are TenantID when empty.
	HomeTenantID, ResourceTenantID string
	// CrossTenantAccessType is Graph's signIn crossTenantAccessType:
	// AccessB2BCollaboration for a guest's sign-in, AccessNone (the
	// default when empty) for one that crossed no tenant boundary.
	CrossTenantAccessType string
}

// Graph's crossTenantAccessType values of the sign-ins Gatehouse records.
const (
	AccessNone             = "none"
	AccessB2BCollaboration = "b2bCollaboration"
)

// SignInLog records sign-ins, successful or not. Recording is a report,
// never a gate: it cannot fail a sign-in, and reports its own errors.
type SignInLog interface {
	RecordSignIn(ctx context.Context, s SignIn)
}

// Failure is why a sign-in failed, with Entra's AADSTS code, for the
// sign-in log; the pages show users nothing more than "incorrect".
type Failure struct {
	Code   int
	Reason string
}

func (f *Failure) Error() string { return f.Reason }

// FailureOf returns the Failure err carries, if any.
func FailureOf(err error) (*Failure, bool) {
	var f *Failure
	ok := errors.As(err, &f)
	return f, ok
}
