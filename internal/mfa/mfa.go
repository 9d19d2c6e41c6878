// Package mfa owns the second factor of a sign-in: the authentication
// methods users register for it — software OATH (TOTP) tokens and email
// one-time passcodes — from enrolment and confirmation to verification
// (one code per time step, wrong codes locking the factor for a while),
// listing and deletion, with their secrets sealed at rest; the tenant's
// requirement policy (Graph's identitySecurityDefaultsEnforcementPolicy);
// and the pure decision whether a sign-in must prove a second factor,
// given what it already proved here and, for a guest, at home.
//
// Methods are credentials of the user (store.Credential, one per method,
// its secret or address sealed with the master key under the tenant, user
// and method ids); the guard of a user's second factor (wrong codes, the
// TOTP steps already used) is one state locked for every check, so checks
// on any node are judged one after another.
package mfa

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// Method types, as Graph's authenticationMethod types are named without
// their "AuthenticationMethod" suffix.
const (
	TypeSoftwareOath = "softwareOath"
	TypeEmail        = "email"
	TypePassword     = "password"
)

// Graph's fixed ids: a user has one password and at most one email method.
const (
	EmailMethodID    = "3ddfcfc8-9383-446f-83cc-3ab9be4be18f"
	PasswordMethodID = "28c10230-6103-485e-b985-444c60001490"
)

// Credential types of the methods; the credential's key id is the
// method's id.
const (
	credTOTP  = "mfaSoftwareOath"
	credEmail = "mfaEmail"
)

// maxTOTPMethods bounds the authenticator apps one user registers.
const maxTOTPMethods = 5

// Method is a registered authentication method.
type Method struct {
	ID        string
	Type      string // TypeSoftwareOath, TypeEmail or TypePassword
	Email     string // the email method's address
	CreatedAt time.Time
}

var (
	// ErrWrongCode: the code is not a live code of the user's method. The
	// try was counted against the factor's lockout.
	ErrWrongCode = errors.New("mfa: wrong code")
	// ErrReplayed: a TOTP code of a time step already used; refused and
	// counted as wrong.
	ErrReplayed = errors.New("mfa: code already used")
	// ErrNoMethod: the user has no method of the kind asked for.
	ErrNoMethod = errors.New("mfa: no such method")
	// ErrNoAddress: the user has no address an email method could use.
	ErrNoAddress = errors.New("mfa: no email address to register")
	// ErrEnrolment: a TOTP enrolment that cannot be confirmed: tampered
	// with, of another user, or expired.
	ErrEnrolment = errors.New("mfa: enrolment invalid or expired")
)

// LockedError refuses a check while the user's second factor is locked
// after too many wrong codes; RetryAt is when it opens again.
type LockedError struct{ RetryAt time.Time }

func (e *LockedError) Error() string {
	return fmt.Sprintf("mfa: too many wrong codes; the second factor is locked until %s", e.RetryAt.UTC().Format(time.RFC3339))
}

// Codes issues and checks email one-time passcodes: internal/otp's *Codes.
type Codes interface {
	Issue(ctx context.Context, tx store.Tx, tenantID, purpose, address string) (string, error)
	Check(ctx context.Context, st store.Store, tenantID, purpose, address, code string) error
}

// Mailer enqueues an email in a transaction (the outbox).
type Mailer interface {
	Enqueue(ctx context.Context, tx store.Tx, tenantID string, m mail.Message) error
}

// Config wires a Service.
type Config struct {
	// Directory keeps the requirement policy (audited as the directory's
	// policies are) and the users; its store keeps the methods.
	Directory *directory.Service
	// Keys seals TOTP secrets and email addresses at rest.
	Keys   *secrets.Keyring
	Codes  Codes
	Mailer Mailer
	// Lockout is how wrong codes lock a user's second factor; zero:
	// DefaultLockout().
	Lockout lockout.Policy
	Now     func() time.Time // default time.Now
	Random  io.Reader        // TOTP secrets; default crypto/rand
	NewID   func() string    // method and audit ids; default uuid
}

// DefaultLockout: five wrong codes within fifteen minutes lock the second
// factor for five minutes; every wrong code after a lock locks it again
// for twice as long, up to an hour.
func DefaultLockout() lockout.Policy {
	return lockout.Policy{Threshold: 5, Window: 15 * time.Minute, Lock: 5 * time.Minute, MaxLock: time.Hour}
}

// Service is the second factor of a deployment. It is safe for concurrent use.
type Service struct {
	dir    *directory.Service
	st     store.Store
	keys   *secrets.Keyring
	codes  Codes
	mailer Mailer
	lock   lockout.Policy
	now    func() time.Time
	random io.Reader
	newID  func() string
}

// New checks cfg and returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.Directory == nil || cfg.Keys == nil || cfg.Codes == nil || cfg.Mailer == nil {
		return nil, errors.New("mfa: directory, keys, codes and mailer are required")
	}
	s := &Service{dir: cfg.Directory, st: cfg.Directory.Store(), keys: cfg.Keys, codes: cfg.Codes, mailer: cfg.Mailer,
		lock: cfg.Lockout, now: cfg.Now, random: cfg.Random, newID: cfg.NewID}
	if s.lock == (lockout.Policy{}) {
		s.lock = DefaultLockout()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.random == nil {
		s.random = rand.Reader
	}
	if s.newID == nil {
		s.newID = uuid.NewString
	}
	return s, nil
}

// account is a user as this package needs it.
type account struct {
	ID, UPN, DisplayName, UserType, Mail string
	OtherMails                           []string
}

// Guest: the account is a guest of its tenant.
func (a account) Guest() bool { return strings.EqualFold(a.UserType, "Guest") }

// loadAccount reads a live user by object id.
func loadAccount(ctx context.Context, tx store.Tx, tenantID, userID string) (account, error) {
	o, err := tx.GetObject(ctx, tenantID, directory.KindUser, userID)
	if errors.Is(err, store.ErrNotFound) {
		return account{}, usererr.WithCode(usererr.NotFound, "Request_ResourceNotFound", "Resource '%s' does not exist or one of its queried reference-property objects are not present.", userID)
	}
	if err != nil {
		return account{}, err
	}
	var d struct {
		UPN         string   `json:"userPrincipalName"`
		DisplayName string   `json:"displayName"`
		UserType    string   `json:"userType"`
		Mail        string   `json:"mail"`
		OtherMails  []string `json:"otherMails"`
	}
	if err := json.Unmarshal(o.Data, &d); err != nil {
		return account{}, fmt.Errorf("mfa: user %s: %w", userID, err)
	}
	return account{ID: o.ID, UPN: d.UPN, DisplayName: d.DisplayName, UserType: d.UserType, Mail: d.Mail, OtherMails: d.OtherMails}, nil
}

// sealed is what a method's credential holds, sealed.
type sealed struct {
	Secret string `json:"secret,omitempty"` // a TOTP secret, base32
	Email  string `json:"email,omitempty"`
}

// aad binds a sealed method to its tenant, user and method: copied to
// another row, it does not open.
func aad(purpose, tenantID, userID, methodID string) []byte {
	return []byte("gatehouse mfa " + purpose + " v1\x00" + tenantID + "\x00" + userID + "\x00" + methodID)
}

func (s *Service) seal(tenantID, userID, methodID string, v sealed) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return s.keys.Seal(raw, aad("method", tenantID, userID, methodID))
}

func (s *Service) open(c store.Credential) (sealed, error) {
	raw, err := s.keys.Open(c.Hash, aad("method", c.TenantID, c.ObjectID, c.KeyID))
	if err != nil {
		return sealed{}, fmt.Errorf("mfa: method %s of user %s: %w", c.KeyID, c.ObjectID, err)
	}
	var v sealed
	return v, json.Unmarshal(raw, &v)
}

// stored is a method with its opened secret.
type stored struct {
	Method
	secret string
}

// methods reads the user's second-factor methods, oldest first; typ ""
// is both kinds.
func (s *Service) methods(ctx context.Context, tx store.Tx, tenantID, userID, typ string) ([]stored, error) {
	var out []stored
	for _, kind := range []struct{ cred, typ string }{{credTOTP, TypeSoftwareOath}, {credEmail, TypeEmail}} {
		if typ != "" && typ != kind.typ {
			continue
		}
		creds, err := tx.ListCredentials(ctx, tenantID, userID, kind.cred)
		if err != nil {
			return nil, err
		}
		for _, c := range creds {
			v, err := s.open(c)
			if err != nil {
				return nil, err
			}
			out = append(out, stored{Method: Method{ID: c.KeyID, Type: kind.typ, Email: v.Email, CreatedAt: c.CreatedAt}, secret: v.Secret})
		}
	}
	slices.SortStableFunc(out, func(a, b stored) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// Methods lists the user's second-factor methods, oldest first: what the
// sign-in pages offer. It decides nothing about who asks.
func (s *Service) Methods(ctx context.Context, tenantID, userID string) ([]Method, error) {
	var out []Method
	err := s.st.View(ctx, func(tx store.Tx) error {
		ms, err := s.methods(ctx, tx, tenantID, userID, "")
		for _, m := range ms {
			out = append(out, m.Method)
		}
		return err
	})
	return out, err
}

// HasMethod reports whether the user has registered a second factor.
func (s *Service) HasMethod(ctx context.Context, tenantID, userID string) (bool, error) {
	ms, err := s.Methods(ctx, tenantID, userID)
	return len(ms) > 0, err
}

// RemoveMethod deletes one of the user's methods on their own behalf (the
// pages' "security info"): ErrNoMethod when the user has none by that id.
func (s *Service) RemoveMethod(ctx context.Context, tenantID, userID, methodID string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		acct, err := loadAccount(ctx, tx, tenantID, userID)
		if err != nil {
			return err
		}
		return s.deleteMethod(ctx, tx, tenantID, acct, "", methodID, ErrNoMethod)
	})
}

// deleteMethod deletes a method of acct (of type typ, "" any) and audits
// it; notFound is what a missing method is.
func (s *Service) deleteMethod(ctx context.Context, tx store.Tx, tenantID string, acct account, typ, methodID string, notFound error) error {
	ms, err := s.methods(ctx, tx, tenantID, acct.ID, typ)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ms, func(m stored) bool { return strings.EqualFold(m.ID, methodID) })
	if i < 0 {
		return notFound
	}
	if err := tx.DeleteCredential(ctx, tenantID, acct.ID, ms[i].ID); err != nil {
		return err
	}
	return s.audit(ctx, tx, tenantID, acct, false, ms[i].Method)
}
