package mfa

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/otp"
)

func TestEmailMethodRegistrationAndUse(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		opts, err := e.svc.Options(ctx, e.tenant, e.alice, false)
		if err != nil || opts.RegisterEmail != "alice@contoso.example" || len(opts.Methods) != 0 {
			t.Fatalf("options: %+v %v", opts, err)
		}
		if _, err := e.svc.SendRegistrationCode(ctx, e.tenant, e.bob, "en"); !errors.Is(err, ErrNoAddress) {
			t.Fatalf("a user without an address: %v", err)
		}
		addr, err := e.svc.SendRegistrationCode(ctx, e.tenant, e.alice, "sv")
		if err != nil || addr != "alice@contoso.example" {
			t.Fatalf("registration code: %q %v", addr, err)
		}
		if e.mail.msgs[0].Language != "sv" || !strings.Contains(e.mail.msgs[0].Text, "säkerhetskod") {
			t.Errorf("message %+v", e.mail.msgs[0])
		}
		code := e.mail.lastCode(t, addr)
		if _, err := e.svc.ConfirmEmail(ctx, e.tenant, e.alice, "00000000"); !errors.Is(err, ErrWrongCode) {
			t.Fatalf("a wrong registration code: %v", err)
		}
		// A registration code is no sign-in code, nor the reverse.
		if _, err := e.svc.VerifyEmailCode(ctx, e.tenant, e.alice, code); !errors.Is(err, ErrNoMethod) {
			t.Fatalf("a sign-in code before registration: %v", err)
		}
		m, err := e.svc.ConfirmEmail(ctx, e.tenant, e.alice, code)
		if err != nil || m.ID != EmailMethodID || m.Email != addr {
			t.Fatalf("confirm: %+v %v", m, err)
		}
		if opts, _ := e.svc.Options(ctx, e.tenant, e.alice, false); opts.RegisterEmail != "" || len(opts.Methods) != 1 {
			t.Fatalf("options after registration: %+v", opts)
		}
		// Email as the first factor (a guest's passcode) is no second factor.
		if opts, _ := e.svc.Options(ctx, e.tenant, e.alice, true); opts.RegisterEmail != "" || len(opts.Methods) != 0 {
			t.Fatalf("options when email was the first factor: %+v", opts)
		}

		if err := e.svc.SendEmailCode(ctx, e.tenant, e.alice, "it"); err != nil {
			t.Fatal(err)
		}
		code = e.mail.lastCode(t, addr)
		if _, err := e.svc.VerifyEmailCode(ctx, e.tenant, e.alice, code); err != nil {
			t.Fatalf("the sign-in code: %v", err)
		}
		if _, err := e.svc.VerifyEmailCode(ctx, e.tenant, e.alice, code); !errors.Is(err, ErrWrongCode) {
			t.Fatalf("the code again: %v", err)
		}
		if err := e.svc.SendEmailCode(ctx, e.tenant, e.bob, "en"); !errors.Is(err, ErrNoMethod) {
			t.Fatalf("a user without an email method: %v", err)
		}
	})
}

// Wrong email codes count against the same lockout as TOTP codes, and a
// locked factor sends no code.
func TestWrongEmailCodesLock(t *testing.T) {
	e := newEnv(t, openSQLite)
	ctx := context.Background()
	addr, _ := e.svc.SendRegistrationCode(ctx, e.tenant, e.alice, "en")
	if _, err := e.svc.ConfirmEmail(ctx, e.tenant, e.alice, e.mail.lastCode(t, addr)); err != nil {
		t.Fatal(err)
	}
	// Three codes, a few wrong tries each (internal/otp voids a code
	// after five of its own).
	wrong := 0
	for range 3 {
		if err := e.svc.SendEmailCode(ctx, e.tenant, e.alice, "en"); err != nil {
			t.Fatalf("after %d wrong codes: %v", wrong, err)
		}
		for range 2 {
			if wrong == 5 {
				break
			}
			_, err := e.svc.VerifyEmailCode(ctx, e.tenant, e.alice, "12345678")
			if !errors.Is(err, ErrWrongCode) {
				t.Fatalf("wrong code %d: %v", wrong+1, err)
			}
			wrong++
		}
	}
	var locked *LockedError
	if err := e.svc.SendEmailCode(ctx, e.tenant, e.alice, "en"); !errors.As(err, &locked) {
		t.Fatalf("sending while locked: %v", err)
	}
	e.clock.advance(5 * time.Minute)
	if err := e.svc.SendEmailCode(ctx, e.tenant, e.alice, "en"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.VerifyEmailCode(ctx, e.tenant, e.alice, e.mail.lastCode(t, addr)); err != nil {
		t.Fatalf("the right code after the lock: %v", err)
	}
	// The address's own send limit still holds (internal/otp).
	var too *otp.TooManyError
	for i := range 10 {
		if err := e.svc.SendEmailCode(ctx, e.tenant, e.alice, "en"); errors.As(err, &too) {
			return
		} else if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	t.Fatal("no send limit")
}

func TestRemoveMethodIsAudited(t *testing.T) {
	e := newEnv(t, openSQLite)
	ctx := context.Background()
	m, _ := e.enrol(e.alice)
	if err := e.svc.RemoveMethod(ctx, e.tenant, e.alice, "not-a-method"); !errors.Is(err, ErrNoMethod) {
		t.Fatalf("removing a method the user lacks: %v", err)
	}
	// Bob cannot remove Alice's method through his own account.
	if err := e.svc.RemoveMethod(ctx, e.tenant, e.bob, m.ID); !errors.Is(err, ErrNoMethod) {
		t.Fatalf("removing another user's method: %v", err)
	}
	if err := e.svc.RemoveMethod(ctx, e.tenant, e.alice, m.ID); err != nil {
		t.Fatal(err)
	}
	if ms, _ := e.svc.Methods(ctx, e.tenant, e.alice); len(ms) != 0 {
		t.Fatalf("methods after removal: %v", ms)
	}
	recs := e.audits()
	names := []string{}
	for _, r := range recs {
		names = append(names, r.ActivityDisplayName)
	}
	if !slices.Contains(names, "User registered security info") || !slices.Contains(names, "User deleted security info") {
		t.Fatalf("audit records %v", names)
	}
	for _, r := range recs {
		if r.LoggedByService != "Authentication Methods" || r.InitiatedBy.User == nil || r.InitiatedBy.User.ID != e.alice ||
			r.TargetResources[0].ID != e.alice || r.TargetResources[0].UserPrincipalName != "alice@contoso.example" {
			t.Errorf("record %+v", r)
		}
	}
}
