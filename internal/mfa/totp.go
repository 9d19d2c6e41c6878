package mfa

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"io"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// TOTP parameters: what every authenticator app understands (RFC 6238's
// defaults, Google Authenticator's only ones), with a 160-bit secret as
// RFC 4226 recommends.
const (
	period     = 30 * time.Second
	digits     = otp.DigitsSix
	secretSize = 20
	// skew is how many steps before and after the current one a code may
	// be from: a phone's clock a little off, a code typed as it turns.
	skew = 1
	// enrolmentLifetime bounds the time between showing a new key and
	// confirming it with a first code.
	enrolmentLifetime = 30 * time.Minute
	qrSize            = 200
)

var codeOpts = hotp.ValidateOpts{Digits: digits, Algorithm: otp.AlgorithmSHA1}

// Enrolment is a new TOTP key shown to the user, not yet a method: it
// becomes one when ConfirmTOTP gets a valid code of it.
type Enrolment struct {
	// Secret is the key in base32, for typing into an app.
	Secret string
	// URI is the otpauth:// URI (issuer the tenant, account the UPN).
	URI string
	// QR is the URI as a PNG QR code.
	QR []byte
	// Token carries the secret sealed to the tenant and user until the
	// enrolment is confirmed; it is safe to keep in the sign-in flow.
	Token string
}

// enrolment is what Enrolment.Token seals.
type enrolment struct {
	Secret  string    `json:"secret"`
	Expires time.Time `json:"exp"`
}

// BeginTOTP draws a new key for the user. Nothing is stored: the key
// becomes a method only once confirmed, so an enrolment abandoned leaves
// nothing behind.
func (s *Service) BeginTOTP(ctx context.Context, tenantID, userID string) (Enrolment, error) {
	key := make([]byte, secretSize)
	if _, err := io.ReadFull(s.random, key); err != nil {
		return Enrolment{}, err
	}
	raw, err := json.Marshal(enrolment{Secret: base32NoPad.EncodeToString(key), Expires: s.now().Add(enrolmentLifetime)})
	if err != nil {
		return Enrolment{}, err
	}
	box, err := s.keys.Seal(raw, aad("enrolment", tenantID, userID, ""))
	if err != nil {
		return Enrolment{}, err
	}
	return s.ShowTOTP(ctx, tenantID, userID, base64.RawURLEncoding.EncodeToString(box))
}

var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

// ShowTOTP opens an enrolment's token again to show its key, link and QR
// code: the pages keep only the sealed token between requests, never the
// key. ErrEnrolment when it is not the user's or has expired.
func (s *Service) ShowTOTP(ctx context.Context, tenantID, userID, token string) (Enrolment, error) {
	secret, err := s.openEnrolment(tenantID, userID, token)
	if err != nil {
		return Enrolment{}, err
	}
	var acct account
	var issuer string
	err = s.st.View(ctx, func(tx store.Tx) error {
		if acct, err = loadAccount(ctx, tx, tenantID, userID); err != nil {
			return err
		}
		t, err := tx.GetTenant(ctx, tenantID)
		issuer = t.DisplayName
		return err
	})
	if err != nil {
		return Enrolment{}, err
	}
	// The issuer and account are the label's two halves, split at ':'.
	issuer = strings.Join(strings.Fields(strings.ReplaceAll(issuer, ":", " ")), " ")
	if issuer == "" {
		issuer = tenantID
	}
	raw, err := base32NoPad.DecodeString(secret)
	if err != nil {
		return Enrolment{}, ErrEnrolment
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: acct.UPN, Period: uint(period / time.Second),
		Secret: raw, Digits: digits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return Enrolment{}, err
	}
	out := Enrolment{Secret: key.Secret(), URI: key.URL(), Token: token}
	// The QR code is a convenience: the key and the link serve without it.
	if img, err := key.Image(qrSize, qrSize); err == nil {
		var buf bytes.Buffer
		if png.Encode(&buf, img) == nil {
			out.QR = buf.Bytes()
		}
	}
	return out, nil
}

// openEnrolment returns the secret of an unexpired enrolment of the user.
func (s *Service) openEnrolment(tenantID, userID, token string) (string, error) {
	box, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", ErrEnrolment
	}
	raw, err := s.keys.Open(box, aad("enrolment", tenantID, userID, ""))
	if err != nil {
		return "", ErrEnrolment
	}
	var e enrolment
	if json.Unmarshal(raw, &e) != nil || !s.now().Before(e.Expires) || e.Secret == "" {
		return "", ErrEnrolment
	}
	return e.Secret, nil
}

// ConfirmTOTP makes an enrolment the user's method once code is a valid
// code of its key: the first code proves the app holds the key. The step
// of that code is used up, as any verified code's is. ErrWrongCode (not
// counted against the lockout: nothing is protected yet, and the pages
// throttle guessing) or ErrEnrolment when it cannot be confirmed.
func (s *Service) ConfirmTOTP(ctx context.Context, tenantID, userID, token, code string) (Method, error) {
	secret, err := s.openEnrolment(tenantID, userID, token)
	if err != nil {
		return Method{}, err
	}
	step, ok := matchStep(secret, code, s.now())
	if !ok {
		return Method{}, ErrWrongCode
	}
	m := Method{ID: s.newID(), Type: TypeSoftwareOath, CreatedAt: s.now().UTC()}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		acct, err := loadAccount(ctx, tx, tenantID, userID)
		if err != nil {
			return err
		}
		st, g, err := s.lockGuard(ctx, tx, tenantID, userID)
		if err != nil {
			return err
		}
		existing, err := s.methods(ctx, tx, tenantID, userID, TypeSoftwareOath)
		if err != nil {
			return err
		}
		if len(existing) >= maxTOTPMethods {
			return usererr.New(usererr.Invalid, "A user may register at most %d authenticator apps; delete one first.", maxTOTPMethods)
		}
		box, err := s.seal(tenantID, userID, m.ID, sealed{Secret: secret})
		if err != nil {
			return err
		}
		if err := tx.PutCredential(ctx, store.Credential{TenantID: tenantID, ObjectID: userID, KeyID: m.ID, Type: credTOTP,
			Hash: box, DisplayName: methodNames[TypeSoftwareOath], CreatedAt: m.CreatedAt}); err != nil {
			return err
		}
		s.useStep(&g, m.ID, step)
		if err := s.saveGuard(ctx, tx, st, g); err != nil {
			return err
		}
		return s.audit(ctx, tx, tenantID, acct, true, m)
	})
	if err != nil {
		return Method{}, err
	}
	return m, nil
}

// VerifyTOTP checks a code against the user's TOTP methods: the method
// whose key it is, when its step is later than the last one that method
// used. Every other code — wrong, or of a step already used (ErrReplayed)
// — counts against the user's lockout, under the guard's lock, so checks
// sent at once are judged one after another; while locked, every check is
// *LockedError and no key is tried. ErrNoMethod when the user has none.
func (s *Service) VerifyTOTP(ctx context.Context, tenantID, userID, code string) (Method, error) {
	var out Method
	var outcome error
	err := s.st.Update(ctx, func(tx store.Tx) error {
		outcome = nil
		ms, err := s.methods(ctx, tx, tenantID, userID, TypeSoftwareOath)
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			outcome = ErrNoMethod
			return nil
		}
		st, g, err := s.lockGuard(ctx, tx, tenantID, userID)
		if err != nil {
			return err
		}
		if outcome = s.refuse(g); outcome != nil {
			return nil
		}
		now := s.now()
		// Every method is tried, so the time taken does not tell which
		// key a code belongs to, or whether any does.
		found, replayed := -1, false
		var step int64
		for i, m := range ms {
			at, ok := matchStep(m.secret, code, now)
			switch {
			case !ok:
			case at <= g.Steps[m.ID]:
				replayed = true
			case found < 0:
				found, step = i, at
			}
		}
		if found < 0 {
			outcome = ErrWrongCode
			if replayed {
				outcome = ErrReplayed
			}
			g.Counter = s.lock.Failure(g.Counter, now)
			return s.saveGuard(ctx, tx, st, g)
		}
		out = ms[found].Method
		s.useStep(&g, out.ID, step)
		g.Counter = lockout.Counter{}
		return s.saveGuard(ctx, tx, st, g)
	})
	if err != nil {
		return Method{}, err
	}
	return out, outcome
}

// useStep records a method's step as used until it has left every
// verification window.
func (s *Service) useStep(g *guard, methodID string, step int64) {
	if g.Steps == nil {
		g.Steps = map[string]int64{}
	}
	g.Steps[methodID] = step
	until := time.Unix((step+skew+1)*int64(period/time.Second), 0)
	if until.After(g.StepsUntil) {
		g.StepsUntil = until
	}
}

// matchStep finds the time step within ±skew of now whose code is code,
// comparing every candidate in constant time.
func matchStep(secret, code string, now time.Time) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != digits.Length() {
		return 0, false
	}
	current := now.Unix() / int64(period/time.Second)
	var match int64
	found := 0
	for d := int64(-skew); d <= skew; d++ {
		step := current + d
		want, err := hotp.GenerateCodeCustom(secret, uint64(step), codeOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && found == 0 {
			match, found = step, 1
		}
	}
	return match, found == 1
}

// Code returns the TOTP code of a base32 secret at t: what an authenticator
// app shows. Tests and the load tool use it; sign-ins never do.
func Code(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: uint(period / time.Second), Digits: digits, Algorithm: otp.AlgorithmSHA1})
}
