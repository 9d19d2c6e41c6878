package app

import (
	"context"
	"errors"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/login"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
)

// newMFA is the second factor of a node: every node derives the same
// passcode key, apart from the guests' (a code to sign in with is no
// code to redeem with).
func newMFA(cfg Config, dir *directory.Service, keys *secrets.Keyring, mailer mfa.Mailer) (*mfa.Service, error) {
	return mfa.New(mfa.Config{Directory: dir, Keys: keys, Mailer: mailer, Now: cfg.Now,
		Codes: otp.New(keys.Derive("gatehouse mfa otp v1"), otp.DefaultPolicy(), cfg.Now, nil)})
}

// loginMFA adapts the second factor to the sign-in pages: it decides a
// sign-in's requirement from the tenant's policy, the user's roles and,
// for a guest, the tenant's inbound trust of their home tenant's MFA.
type loginMFA struct {
	*mfa.Service
	dir   *directory.Service
	trust mfa.InboundTrust // nil: home MFA is never trusted
}

var _ login.SecondFactor = loginMFA{}

func (m loginMFA) Gate(ctx context.Context, s login.MFASignIn) (login.MFAGate, error) {
	amr := s.AMR
	trusted := false
	// Inbound trust is Entra's between organizations: it speaks for a
	// guest's home tenant of this deployment, never for a social or OIDC
	// provider, and only about MFA the home token claims.
	if s.Guest && s.HomeTenantID != "" && mfa.ProvesMFA(s.HomeAMR) && m.trust != nil {
		var err error
		if trusted, err = m.trust.MFAAccepted(ctx, s.TenantID, s.HomeTenantID); err != nil {
			return login.MFAGate{}, err
		}
	}
	if trusted {
		for _, v := range s.HomeAMR {
			if !slices.Contains(amr, v) {
				amr = append(slices.Clone(amr), v)
			}
		}
	}
	p, err := m.Policy(ctx, s.TenantID)
	if err != nil {
		return login.MFAGate{}, err
	}
	u := mfa.Subject{Guest: s.Guest}
	if p.SecurityDefaults {
		// Roles name the rule; without a requirement they change nothing.
		if u.Roles, err = m.dir.DirectoryRolesOf(ctx, s.TenantID, s.UserID); err != nil {
			return login.MFAGate{}, err
		}
	}
	d := mfa.Decide(p, u, mfa.Proof{AMR: amr, HomeAMR: s.HomeAMR, HomeMFATrusted: trusted})
	return login.MFAGate{Challenge: d.Challenge(), AMR: amr, Reason: d.Rule + ": " + d.Reason}, nil
}

// SendEmailCode and SendRegistrationCode tell the pages of the send limit
// in their terms.
func (m loginMFA) SendEmailCode(ctx context.Context, tenantID, userID, lang string) error {
	return codeLimit(m.Service.SendEmailCode(ctx, tenantID, userID, lang))
}

func (m loginMFA) SendRegistrationCode(ctx context.Context, tenantID, userID, lang string) (string, error) {
	addr, err := m.Service.SendRegistrationCode(ctx, tenantID, userID, lang)
	return addr, codeLimit(err)
}

func codeLimit(err error) error {
	var too *otp.TooManyError
	if errors.As(err, &too) {
		return login.ErrTooManyCodes{RetryAfter: too.RetryAfter}
	}
	return err
}
