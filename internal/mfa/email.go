package mfa

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Purposes of the email codes (internal/otp): a code to register an
// address is never a code to sign in with, nor the reverse.
const (
	purposeVerify   = "mfa"
	purposeRegister = "mfa register"
)

// emailAddress is the address an email method of acct uses: its mail
// (for a guest, the address they were invited with), else the first of
// its otherMails.
func emailAddress(acct account) string {
	if a := strings.TrimSpace(acct.Mail); a != "" {
		return strings.ToLower(a)
	}
	for _, a := range acct.OtherMails {
		if a = strings.TrimSpace(a); a != "" {
			return strings.ToLower(a)
		}
	}
	return ""
}

// Options is what the sign-in pages may offer a user for a second factor.
type Options struct {
	// Methods are the user's methods usable now, oldest first.
	Methods []Method
	// RegisterEmail is the address an email method could be registered
	// with; "" when there is none, one is registered, or email is this
	// sign-in's first factor.
	RegisterEmail string
}

// Options lists the user's usable methods and what they could register.
// emailFirstFactor: the sign-in's first factor was a code sent to the
// user's address (a guest's email one-time passcode), so another code
// sent there would prove the same factor twice: email is neither offered
// nor registrable.
func (s *Service) Options(ctx context.Context, tenantID, userID string, emailFirstFactor bool) (Options, error) {
	var out Options
	err := s.st.View(ctx, func(tx store.Tx) error {
		acct, err := loadAccount(ctx, tx, tenantID, userID)
		if err != nil {
			return err
		}
		ms, err := s.methods(ctx, tx, tenantID, userID, "")
		if err != nil {
			return err
		}
		hasEmail := false
		for _, m := range ms {
			if m.Type == TypeEmail {
				hasEmail = true
				if emailFirstFactor {
					continue
				}
			}
			out.Methods = append(out.Methods, m.Method)
		}
		if !hasEmail && !emailFirstFactor {
			out.RegisterEmail = emailAddress(acct)
		}
		return nil
	})
	return out, err
}

// SendEmailCode sends a sign-in code to the user's email method, in the
// page's language: ErrNoMethod without one, *LockedError while the second
// factor is locked, *otp.TooManyError past the address's send limit.
func (s *Service) SendEmailCode(ctx context.Context, tenantID, userID, lang string) error {
	if until, locked, err := s.Locked(ctx, tenantID, userID); err != nil {
		return err
	} else if locked {
		return &LockedError{RetryAt: until}
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		ms, err := s.methods(ctx, tx, tenantID, userID, TypeEmail)
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			return ErrNoMethod
		}
		return s.sendCode(ctx, tx, tenantID, purposeVerify, ms[0].Email, lang)
	})
}

// SendRegistrationCode sends a code to the address an email method would
// use (Options.RegisterEmail), proving the user receives mail there; it
// returns the address. ErrNoAddress when there is none.
func (s *Service) SendRegistrationCode(ctx context.Context, tenantID, userID, lang string) (string, error) {
	var address string
	err := s.st.Update(ctx, func(tx store.Tx) error {
		acct, err := loadAccount(ctx, tx, tenantID, userID)
		if err != nil {
			return err
		}
		if address = emailAddress(acct); address == "" {
			return ErrNoAddress
		}
		return s.sendCode(ctx, tx, tenantID, purposeRegister, address, lang)
	})
	return address, err
}

func (s *Service) sendCode(ctx context.Context, tx store.Tx, tenantID, purpose, address, lang string) error {
	t, err := tx.GetTenant(ctx, tenantID)
	if err != nil {
		return err
	}
	code, err := s.codes.Issue(ctx, tx, tenantID, purpose, address)
	if err != nil {
		return err
	}
	msg := codeEmail(t.DisplayName, address, code, lang)
	msg.MessageID = "<" + s.newID() + "@gatehouse>"
	msg.Report = mail.Report{Kind: "mfa", TenantID: tenantID}
	return s.mailer.Enqueue(ctx, tx, tenantID, msg)
}

// VerifyEmailCode checks a code sent by SendEmailCode. The check is counted
// as wrong before it is made and given back when right, so the user's
// lockout bounds email codes as it bounds TOTP codes: *LockedError while
// locked, ErrWrongCode for a wrong, used or expired code.
func (s *Service) VerifyEmailCode(ctx context.Context, tenantID, userID, code string) (Method, error) {
	var m Method
	err := s.st.View(ctx, func(tx store.Tx) error {
		ms, err := s.methods(ctx, tx, tenantID, userID, TypeEmail)
		if len(ms) > 0 {
			m = ms[0].Method
		}
		return err
	})
	if err != nil {
		return Method{}, err
	}
	if m.ID == "" {
		return Method{}, ErrNoMethod
	}
	if err := s.reserve(ctx, tenantID, userID); err != nil {
		return Method{}, err
	}
	err = s.codes.Check(ctx, s.st, tenantID, purposeVerify, m.Email, code)
	if errors.Is(err, otp.ErrWrongCode) || errors.Is(err, otp.ErrNoCode) {
		return Method{}, ErrWrongCode
	}
	if err != nil {
		return Method{}, err
	}
	return m, s.succeeded(ctx, tenantID, userID)
}

// ConfirmEmail registers the email method once code is the one
// SendRegistrationCode sent: ErrWrongCode otherwise (internal/otp voids a
// code after a few wrong tries). A code that proves the address also
// proves this sign-in's second factor.
func (s *Service) ConfirmEmail(ctx context.Context, tenantID, userID, code string) (Method, error) {
	var acct account
	if err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		acct, err = loadAccount(ctx, tx, tenantID, userID)
		return err
	}); err != nil {
		return Method{}, err
	}
	address := emailAddress(acct)
	if address == "" {
		return Method{}, ErrNoAddress
	}
	err := s.codes.Check(ctx, s.st, tenantID, purposeRegister, address, code)
	if errors.Is(err, otp.ErrWrongCode) || errors.Is(err, otp.ErrNoCode) {
		return Method{}, ErrWrongCode
	}
	if err != nil {
		return Method{}, err
	}
	m := Method{ID: EmailMethodID, Type: TypeEmail, Email: address, CreatedAt: s.now().UTC()}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		box, err := s.seal(tenantID, userID, m.ID, sealed{Email: address})
		if err != nil {
			return err
		}
		// One email method per user, as in Graph: a second registration
		// replaces the first.
		if err := tx.PutCredential(ctx, store.Credential{TenantID: tenantID, ObjectID: userID, KeyID: m.ID, Type: credEmail,
			Hash: box, DisplayName: methodNames[TypeEmail], CreatedAt: m.CreatedAt}); err != nil {
			return err
		}
		return s.audit(ctx, tx, tenantID, acct, true, m)
	})
	if err != nil {
		return Method{}, err
	}
	return m, nil
}

// codeEmail renders the email carrying a second-factor code.
func codeEmail(org, to, code, lang string) mail.Message {
	org = strings.Join(strings.FieldsFunc(org, func(r rune) bool { return r == '\r' || r == '\n' || r == '\t' }), " ")
	t, ok := emailTexts[lang]
	if !ok {
		lang, t = "en", emailTexts["en"]
	}
	return mail.Message{
		From:     mail.Address{Name: org},
		To:       []mail.Address{{Address: to}},
		Subject:  strings.ReplaceAll(t.subject, "{org}", org),
		Text:     strings.ReplaceAll(strings.ReplaceAll(t.body, "{org}", org), "{code}", code),
		Language: lang,
	}
}

var emailTexts = map[string]struct{ subject, body string }{
	"en": {"{org} security code", "Your {org} security code is: {code}\n\nIt expires in 10 minutes. If you did not just sign in, someone may know your password: change it.\n"},
	"sv": {"{org} säkerhetskod", "Din säkerhetskod för {org} är: {code}\n\nDen upphör att gälla om 10 minuter. Om du inte just loggade in kan någon känna till ditt lösenord: byt det.\n"},
	"it": {"Codice di sicurezza di {org}", "Il tuo codice di sicurezza di {org} è: {code}\n\nScade tra 10 minuti. Se non hai appena eseguito l'accesso, qualcuno potrebbe conoscere la tua password: cambiala.\n"},
	"pl": {"Kod zabezpieczający {org}", "Twój kod zabezpieczający {org} to: {code}\n\nWygasa za 10 minut. Jeśli to nie Ty się logujesz, ktoś może znać Twoje hasło: zmień je.\n"},
}
