package b2b

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/xtap"
)

// Mailer enqueues an email in a transaction (the outbox): it is sent only
// if the transaction commits.
type Mailer interface {
	Enqueue(ctx context.Context, tx store.Tx, tenantID string, m mail.Message) error
}

// Codes issues and checks email one-time passcodes: internal/otp's
// *Codes, with its errors.
type Codes interface {
	// Issue replaces any live code of the address and returns a new one;
	// *otp.TooManyError past the send limit.
	Issue(ctx context.Context, tx store.Tx, tenantID, purpose, address string) (string, error)
	// Check returns nil exactly once for the live code of the address,
	// otp.ErrWrongCode or otp.ErrNoCode when the code is no good.
	Check(ctx context.Context, st store.Store, tenantID, purpose, address, code string) error
}

// Providers finds the identity provider a tenant configured for an email
// domain (internal/federation).
type Providers interface {
	ForDomain(ctx context.Context, tenantID, domain string) (federation.Provider, bool, error)
}

// Config wires a Service.
type Config struct {
	Directory *directory.Service
	Mailer    Mailer
	Codes     Codes
	Providers Providers
	// PublicURL is the deployment's base URL (no trailing slash): redeem
	// links and tenant issuers are under it.
	PublicURL string
	Now       func() time.Time
	Random    io.Reader
	NewID     func() string
	// Logger reports what cannot be returned (a delivery that could not be
	// audited); discarded when nil.
	Logger *slog.Logger
}

// Service is B2B collaboration: invitations, redemption and guests'
// sign-in.
type Service struct {
	dir       *directory.Service
	mailer    Mailer
	codes     Codes
	providers Providers
	publicURL string
	now       func() time.Time
	random    io.Reader
	newID     func() string
	log       *slog.Logger
	xtap      *xtap.Service
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Directory == nil || cfg.Mailer == nil || cfg.Codes == nil || cfg.Providers == nil {
		return nil, errors.New("b2b: directory, mailer, codes and providers are required")
	}
	if cfg.PublicURL == "" {
		return nil, errors.New("b2b: the public URL is required")
	}
	s := &Service{dir: cfg.Directory, mailer: cfg.Mailer, codes: cfg.Codes, providers: cfg.Providers,
		publicURL: strings.TrimSuffix(cfg.PublicURL, "/"),
		now:       cfg.Now, random: cfg.Random, newID: cfg.NewID, log: cfg.Logger,
		xtap: xtap.NewService(cfg.Directory)}
	if s.now == nil {
		s.now = time.Now
	}
	if s.random == nil {
		s.random = rand.Reader
	}
	if s.newID == nil {
		s.newID = uuid.NewString
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Errors of redemption and guest sign-in. Each is one answer for several
// causes, so that a probe learns nothing it should not.
var (
	// ErrInvitationInvalid: the ticket is unknown, expired, used, tampered
	// with, of another tenant, or its guest is gone.
	ErrInvitationInvalid = errors.New("b2b: the invitation is invalid or has expired")
	// ErrWrongIdentity: the identity does not prove the invited address,
	// or the guest redeemed with another identity.
	ErrWrongIdentity = errors.New("b2b: this account is not the one the invitation was sent to")
	// ErrDomainBlocked: the organization no longer admits guests of the
	// address's domain.
	ErrDomainBlocked = errors.New("b2b: the organization does not allow guests from this domain")
	// ErrNotGuest: the identity is no user of the tenant (AADSTS50020).
	ErrNotGuest = errors.New("b2b: the account is not in the organization")
	// ErrBadCode: the one-time passcode is wrong, used or expired.
	ErrBadCode = errors.New("b2b: the code is wrong or has expired")
)

// Invitation is what the redemption page shows about a ticket.
type Invitation struct {
	TenantID, TenantName, InvitedEmail, InviterName, PrivacyURL string
}

// Route says where an address signs in: exactly one of OTP, Member or
// Provider.Kind != "".
type Route struct {
	OTP, Member bool
	Provider    federation.Provider
}

// Redeemed is an accepted invitation.
type Redeemed struct {
	TenantID, UserID, RedirectURL string
}

// Guest is the guest user an identity signs in as.
type Guest struct {
	UserID, UserPrincipalName, DisplayName string
	// Pending: the guest has not redeemed yet; the identity proves the
	// invited address, so it may accept now (AcceptPending).
	Pending bool
}

// Organization is a tenant a person belongs to.
type Organization struct {
	TenantID, Name string
	// UserID is the person's account there: their own at home, their
	// guest account elsewhere.
	UserID string
	Home   bool
}

// External user states (user.externalUserState).
const (
	statePending  = "PendingAcceptance"
	stateAccepted = "Accepted"
)

// TenantIssuer is the issuer of a tenant of this deployment, as
// federation names its identities.
func (s *Service) TenantIssuer(tenantID string) string {
	return s.publicURL + "/" + tenantID + "/v2.0"
}

// homeTenantOf parses a tenant of this deployment out of its issuer.
func (s *Service) homeTenantOf(issuer string) (string, bool) {
	rest, ok := strings.CutPrefix(issuer, s.publicURL+"/")
	if !ok {
		return "", false
	}
	tid, ok := strings.CutSuffix(rest, "/v2.0")
	return tid, ok && tid != "" && !strings.Contains(tid, "/")
}
