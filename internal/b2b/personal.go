package b2b

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// signUpPurpose names the codes that prove an address for a new personal
// account, apart from guests' sign-in codes.
const signUpPurpose = "personalSignUp"

// SendSignUpCode sends a code proving email to someone creating a personal
// account in the consumers tenant, the fallback of guests without an
// organization when one-time passcodes are off. The code is sent whether
// or not an account has the address (the account's creation says so, after
// the code proved the address is theirs), so the page reveals nothing.
// Past the send limit it returns *otp.TooManyError.
func (s *Service) SendSignUpCode(ctx context.Context, tenantID, email string) error {
	if tenantID != directory.ConsumersTenantID {
		return usererr.New(usererr.Forbidden, "Personal accounts are created only in the consumers tenant.")
	}
	address := strings.ToLower(strings.TrimSpace(email))
	if CheckInvitedEmail(address) != nil {
		return usererr.New(usererr.Invalid, "Enter a valid email address.")
	}
	return s.dir.Update(ctx, func(tx store.Tx) error {
		code, err := s.codes.Issue(ctx, tx, tenantID, signUpPurpose, address)
		if err != nil {
			return err
		}
		msg := codeEmail("Personal account", address, code, s.messageID())
		msg.Report.Kind, msg.Report.TenantID = "otp", tenantID
		return s.mailer.Enqueue(ctx, tx, tenantID, msg)
	})
}

// CreatePersonalAccount uses the code SendSignUpCode sent and creates the
// account: ErrBadCode for a wrong, used or expired code; a usererr for a
// refused password or an address that has an account already.
func (s *Service) CreatePersonalAccount(ctx context.Context, tenantID, email, code, displayName, password string) (directory.Object, error) {
	if tenantID != directory.ConsumersTenantID {
		return directory.Object{}, usererr.New(usererr.Forbidden, "Personal accounts are created only in the consumers tenant.")
	}
	address := strings.ToLower(strings.TrimSpace(email))
	err := s.codes.Check(ctx, s.dir.Store(), tenantID, signUpPurpose, address, code)
	if errors.Is(err, otp.ErrWrongCode) || errors.Is(err, otp.ErrNoCode) {
		return directory.Object{}, ErrBadCode
	}
	if err != nil {
		return directory.Object{}, err
	}
	if strings.TrimSpace(displayName) == "" {
		displayName = address
	}
	u, err := s.dir.CreateEmailVerifiedUser(ctx, tenantID, address, displayName, password)
	if e, ok := usererr.As(err); ok && e.Target == "identities" {
		return directory.Object{}, usererr.New(usererr.Invalid, "An account with this email address exists already: sign in with it.")
	}
	return u, err
}
