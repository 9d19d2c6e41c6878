package login

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/federation"
)

// Guests is what the pages need for B2B collaboration: invitations and
// their redemption, and guests signing in to the tenants that invited them.
// internal/b2b implements it (adapted in internal/app).
type Guests interface {
	// Invitation describes the invitation a redeem ticket stands for. Every
	// ticket that cannot be redeemed (unknown, expired, used, tampered
	// with, of another tenant) is the one error ErrInvitationInvalid.
	Invitation(ctx context.Context, ticket string) (Invitation, error)
	// Route tells where a person with the email address authenticates for
	// the tenant. Its answer has the same shape whether or not the address
	// belongs to a guest.
	Route(ctx context.Context, tenantID, email string) (Route, error)
	// SendCode sends an email one-time passcode to the address. It returns
	// nil whether or not a guest has the address, and ErrTooManyCodes past
	// the sending limit.
	SendCode(ctx context.Context, tenantID, email string) error
	// CheckCode checks a passcode SendCode sent and returns the identity it
	// proves (Issuer federation.IssuerMail); any failure is ErrBadCode.
	CheckCode(ctx context.Context, tenantID, email, code string) (federation.Identity, error)
	// Redeem accepts the invitation for the identity: ErrWrongIdentity
	// when the identity does not prove the invited address (the invitation
	// stays pending), ErrInvitationInvalid, ErrDomainBlocked.
	Redeem(ctx context.Context, ticket string, id federation.Identity) (Redeemed, error)
	// Guest finds the tenant's guest the identity signs in as:
	// ErrNotGuest when there is none (AADSTS50020), ErrWrongIdentity when
	// the identity may not sign in as the guest its address names.
	Guest(ctx context.Context, tenantID string, id federation.Identity) (Guest, error)
	// AcceptPending redeems a pending guest's invitation just in time, at
	// their first sign-in, once they accepted the permissions page.
	AcceptPending(ctx context.Context, tenantID, userID string, id federation.Identity) error
	// CrossTenantAccess applies cross-tenant access settings to an identity
	// that is an account of another tenant of this deployment, coming into
	// the tenant (to the client, or to no application when clientID is
	// empty): its home tenant must let it out and the tenant let it in.
	// Identities from elsewhere are allowed, without automatic redemption.
	CrossTenantAccess(ctx context.Context, tenantID string, id federation.Identity, clientID string) (CrossTenant, error)
	// Organizations lists the tenants a home account belongs to: its home
	// tenant and those it is a guest of.
	Organizations(ctx context.Context, homeTenantID, userID string) ([]Organization, error)
	// Leave removes the home account's guest account from the resource
	// tenant.
	Leave(ctx context.Context, homeTenantID, userID, resourceTenantID string) error
}

// Invitation is a pending invitation as the redemption pages show it.
type Invitation struct {
	TenantID, TenantName, InvitedEmail, InviterName, PrivacyURL string
}

// Route is where a person authenticates: exactly one of OTP, Member or a
// Provider (Provider.Kind != "") is set.
type Route struct {
	OTP, Member bool
	Provider    federation.Provider
}

// Redeemed is an accepted invitation: the guest's account and where the
// inviter wants them sent.
type Redeemed struct{ TenantID, UserID, RedirectURL string }

// Guest is a guest account of the resource tenant. Pending: the invitation
// has not been accepted yet.
type Guest struct {
	UserID, UserPrincipalName, DisplayName string
	Pending                                bool
}

// CrossTenant is the cross-tenant access settings' answer for a guest.
type CrossTenant struct {
	// Refused: Code is 500212 (the home tenant's outbound settings) or
	// 500213 (the tenant's inbound settings), Reason the deciding layer's
	// reason for the sign-in logs.
	Refused bool
	Code    int
	Reason  string
	// AutomaticRedemption: both tenants skip the consent page.
	AutomaticRedemption bool
}

// Organization is a tenant a home account belongs to.
type Organization struct {
	TenantID, Name string
	Home           bool
}

// Federation is the OpenID Connect relying party (internal/federation) the
// pages send guests through to their identity provider. The redirect URI
// is always {PublicURL}/federation/callback.
type Federation interface {
	AuthCodeURL(ctx context.Context, resourceTenantID string, p federation.Provider, state, nonce, verifier, loginHint string) (string, error)
	Exchange(ctx context.Context, resourceTenantID string, p federation.Provider, code, verifier, nonce string) (federation.Identity, error)
}

// Accounts creates personal accounts in the deployment's consumers tenant
// (self-service sign-up).
type Accounts interface {
	// SendSignUpCode sends a one-time passcode proving the address, with
	// the same answer whether or not an account already has it;
	// ErrTooManyCodes past the sending limit.
	SendSignUpCode(ctx context.Context, tenantID, email string) error
	// CreatePersonalAccount checks the passcode and creates the account:
	// ErrBadCode for a wrong or used code, a *usererr.Error (shown to the
	// person) for a password the policy refuses or an address already
	// taken.
	CreatePersonalAccount(ctx context.Context, tenantID, email, code, displayName, password string) (User, error)
}

var (
	// ErrInvitationInvalid: the ticket cannot be redeemed, for whatever reason.
	ErrInvitationInvalid = errors.New("login: invitation invalid or expired")
	// ErrWrongIdentity: the identity does not prove the invited address.
	ErrWrongIdentity = errors.New("login: identity does not match the invitation")
	// ErrNotGuest: the identity has no account in the tenant (AADSTS50020).
	ErrNotGuest = errors.New("login: not a user of the tenant")
	// ErrBadCode: a one-time passcode is wrong, expired or used.
	ErrBadCode = errors.New("login: wrong or expired code")
	// ErrDomainBlocked: the tenant's collaboration settings refuse the
	// address's domain.
	ErrDomainBlocked = errors.New("login: domain blocked by the tenant")
)

// ErrTooManyCodes: too many passcodes were sent to the address lately.
// Implementations return it as a value or a pointer; the pages accept both.
type ErrTooManyCodes struct{ RetryAfter time.Duration }

func (e ErrTooManyCodes) Error() string {
	return fmt.Sprintf("login: too many codes sent; retry after %s", e.RetryAfter)
}

// tooManyCodes returns how long to wait when err is ErrTooManyCodes.
func tooManyCodes(err error) (time.Duration, bool) {
	var v ErrTooManyCodes
	if errors.As(err, &v) {
		return v.RetryAfter, true
	}
	var p *ErrTooManyCodes
	if errors.As(err, &p) && p != nil {
		return p.RetryAfter, true
	}
	return 0, false
}
