package mfa

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func TestEnrolmentShowsKeyURIAndQR(t *testing.T) {
	e := newEnv(t, openSQLite)
	en, err := e.svc.BeginTOTP(context.Background(), e.tenant, e.alice)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(en.URI)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("URI %q", en.URI)
	}
	// The tenant's name is the issuer (its ':' would split the label), the
	// UPN the account.
	if u.Path != "/Contoso Sales:alice@contoso.example" || u.Query().Get("issuer") != "Contoso Sales" || u.Query().Get("secret") != en.Secret {
		t.Errorf("label %q, query %v", u.Path, u.Query())
	}
	if q := u.Query(); q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Errorf("parameters %v", q)
	}
	if len(en.Secret) != 32 { // 160 bits in base32
		t.Errorf("secret of %d characters", len(en.Secret))
	}
	if !bytes.HasPrefix(en.QR, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("QR is not a PNG")
	}
	// Nothing is stored until the key is confirmed.
	if ms, err := e.svc.Methods(context.Background(), e.tenant, e.alice); err != nil || len(ms) != 0 {
		t.Fatalf("methods before confirmation: %v %v", ms, err)
	}
	if bytes.Contains([]byte(en.Token), []byte(en.Secret)) {
		t.Error("the enrolment token carries the secret in clear")
	}
	// The token shows the same key again, to its user only.
	again, err := e.svc.ShowTOTP(context.Background(), e.tenant, e.alice, en.Token)
	if err != nil || again.Secret != en.Secret || again.URI != en.URI {
		t.Fatalf("shown again: %+v %v", again, err)
	}
	if _, err := e.svc.ShowTOTP(context.Background(), e.tenant, e.bob, en.Token); !errors.Is(err, ErrEnrolment) {
		t.Fatalf("shown to another user: %v", err)
	}
}

func TestConfirmationNeedsAValidCodeOfTheKey(t *testing.T) {
	e := newEnv(t, openSQLite)
	ctx := context.Background()
	en, err := e.svc.BeginTOTP(ctx, e.tenant, e.alice)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := e.svc.BeginTOTP(ctx, e.tenant, e.alice)
	if _, err := e.svc.ConfirmTOTP(ctx, e.tenant, e.alice, en.Token, e.code(other.Secret, 0)); !errors.Is(err, ErrWrongCode) {
		t.Fatalf("another key's code: %v", err)
	}
	// An enrolment is the user's: Bob cannot confirm Alice's.
	if _, err := e.svc.ConfirmTOTP(ctx, e.tenant, e.bob, en.Token, e.code(en.Secret, 0)); !errors.Is(err, ErrEnrolment) {
		t.Fatalf("another user's enrolment: %v", err)
	}
	if ms, _ := e.svc.Methods(ctx, e.tenant, e.alice); len(ms) != 0 {
		t.Fatalf("a method without a valid code: %v", ms)
	}
	m, err := e.svc.ConfirmTOTP(ctx, e.tenant, e.alice, en.Token, e.code(en.Secret, 0))
	if err != nil || m.Type != TypeSoftwareOath {
		t.Fatalf("confirm: %v %v", m, err)
	}
	// The confirming code's step is used: it does not sign in again.
	if _, err := e.svc.VerifyTOTP(ctx, e.tenant, e.alice, e.code(en.Secret, 0)); !errors.Is(err, ErrReplayed) {
		t.Fatalf("the confirming code again: %v", err)
	}
	// An enrolment left too long expires.
	late, _ := e.svc.BeginTOTP(ctx, e.tenant, e.alice)
	e.clock.advance(31 * time.Minute)
	if _, err := e.svc.ConfirmTOTP(ctx, e.tenant, e.alice, late.Token, e.code(late.Secret, 0)); !errors.Is(err, ErrEnrolment) {
		t.Fatalf("an expired enrolment: %v", err)
	}
}

// The code window: a step either side of now, not two.
func TestCodeWindow(t *testing.T) {
	e := newEnv(t, openSQLite)
	_, secret := e.enrol(e.alice)
	for _, tc := range []struct {
		offset time.Duration
		ok     bool
	}{
		{-90 * time.Second, false}, {-60 * time.Second, false}, {-30 * time.Second, true}, {0, true},
		{30 * time.Second, true}, {60 * time.Second, false},
	} {
		step, ok := matchStep(secret, e.code(secret, tc.offset), e.clock.now())
		if ok != tc.ok {
			t.Errorf("a code %v away: accepted %v, want %v", tc.offset, ok, tc.ok)
		}
		if want := e.clock.now().Add(tc.offset).Unix() / 30; ok && step != want {
			t.Errorf("a code %v away matched step %d, want %d", tc.offset, step, want)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := matchStep(secret, bad, e.clock.now()); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestVerifyRefusesReplayAndEarlierSteps(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m, secret := e.enrol(e.alice)
		e.clock.advance(30 * time.Second)
		now := e.code(secret, 0)
		got, err := e.svc.VerifyTOTP(ctx, e.tenant, e.alice, now)
		if err != nil || got.ID != m.ID {
			t.Fatalf("a fresh code: %v %v", got, err)
		}
		if _, err := e.svc.VerifyTOTP(ctx, e.tenant, e.alice, now); !errors.Is(err, ErrReplayed) {
			t.Fatalf("the same code again: %v", err)
		}
		// The previous step is still in the window, but earlier than one used.
		if _, err := e.svc.VerifyTOTP(ctx, e.tenant, e.alice, e.code(secret, -30*time.Second)); !errors.Is(err, ErrReplayed) {
			t.Fatalf("an earlier step's code: %v", err)
		}
		// The next step's code is fine (a phone a little ahead).
		if _, err := e.svc.VerifyTOTP(ctx, e.tenant, e.alice, e.code(secret, 30*time.Second)); err != nil {
			t.Fatalf("the next step's code: %v", err)
		}
		if _, err := e.svc.VerifyTOTP(ctx, e.tenant, e.bob, now); !errors.Is(err, ErrNoMethod) {
			t.Fatalf("a user without a method: %v", err)
		}
	})
}

// Codes sent at once, to any node, are judged one after another: one
// sign-in gets through with a code, however many carry it; the others are
// replays, which count as wrong codes and so lock the factor after five.
func TestConcurrentCodeIsUsedOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		_, secret := e.enrol(e.alice)
		e.clock.advance(30 * time.Second)
		code := e.code(secret, 0)
		var wg sync.WaitGroup
		var mu sync.Mutex
		results := map[string]int{}
		for range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.svc.VerifyTOTP(context.Background(), e.tenant, e.alice, code)
				key := "ok"
				switch {
				case errors.Is(err, ErrReplayed):
					key = "replayed"
				case errors.As(err, new(*LockedError)):
					key = "locked"
				case err != nil:
					key = err.Error()
				}
				mu.Lock()
				results[key]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if results["ok"] != 1 || results["replayed"] != 5 || results["locked"] != 6 {
			t.Fatalf("outcomes %v", results)
		}
	})
}

func TestWrongCodesLockTheFactor(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		_, secret := e.enrol(e.alice)
		e.clock.advance(30 * time.Second)
		wrong := "000000"
		if wrong == e.code(secret, 0) || wrong == e.code(secret, 30*time.Second) || wrong == e.code(secret, -30*time.Second) {
			wrong = "999999"
		}
		for i := range 5 {
			if _, err := e.svc.VerifyTOTP(ctx, e.tenant, e.alice, wrong); !errors.Is(err, ErrWrongCode) {
				t.Fatalf("wrong code %d: %v", i+1, err)
			}
		}
		// Locked: even the right code is refused, and not tried.
		_, err := e.svc.VerifyTOTP(ctx, e.tenant, e.alice, e.code(secret, 0))
		var locked *LockedError
		if !errors.As(err, &locked) || !locked.RetryAt.Equal(e.clock.now().Add(5*time.Minute)) {
			t.Fatalf("the right code while locked: %v", err)
		}
		if until, ok, err := e.svc.Locked(ctx, e.tenant, e.alice); err != nil || !ok || !until.Equal(locked.RetryAt) {
			t.Fatalf("Locked: %v %v %v", until, ok, err)
		}
		// Bob's factor is his own.
		if _, ok, _ := e.svc.Locked(ctx, e.tenant, e.bob); ok {
			t.Fatal("another user is locked")
		}
		e.clock.advance(5 * time.Minute)
		if _, err := e.svc.VerifyTOTP(ctx, e.tenant, e.alice, e.code(secret, 0)); err != nil {
			t.Fatalf("the right code after the lock: %v", err)
		}
		// A right code forgets the wrong ones: four more do not lock.
		for range 4 {
			_, _ = e.svc.VerifyTOTP(ctx, e.tenant, e.alice, wrong)
		}
		e.clock.advance(30 * time.Second)
		if _, err := e.svc.VerifyTOTP(ctx, e.tenant, e.alice, e.code(secret, 0)); err != nil {
			t.Fatalf("after four wrong codes: %v", err)
		}
	})
}

// Secrets rest sealed, bound to their user: the store holds no key in
// clear, and a sealed key copied to another user does not open.
func TestSecretsAreSealed(t *testing.T) {
	e := newEnv(t, openSQLite)
	ctx := context.Background()
	m, secret := e.enrol(e.alice)
	var cred store.Credential
	if err := e.st.View(ctx, func(tx store.Tx) error {
		cs, err := tx.ListCredentials(ctx, e.tenant, e.alice, credTOTP)
		if len(cs) == 1 {
			cred = cs[0]
		}
		return err
	}); err != nil || cred.KeyID != m.ID {
		t.Fatalf("credential %v: %v", cred, err)
	}
	raw, _ := decodeBase32(secret)
	if bytes.Contains(cred.Hash, []byte(secret)) || bytes.Contains(cred.Hash, raw) {
		t.Fatal("the credential holds the secret in clear")
	}
	if _, err := e.keys.Open(cred.Hash, aad("method", e.tenant, e.alice, m.ID)); err != nil {
		t.Fatalf("opening with the master key: %v", err)
	}
	// Copied to Bob, the sealed key does not open, and Bob has no working method.
	cred.ObjectID = e.bob
	if err := e.st.Update(ctx, func(tx store.Tx) error { return tx.PutCredential(ctx, cred) }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.VerifyTOTP(ctx, e.tenant, e.bob, e.code(secret, 30*time.Second)); err == nil {
		t.Fatal("a sealed secret copied to another user verified a code")
	}
}

func TestAtMostFiveApps(t *testing.T) {
	e := newEnv(t, openSQLite)
	for range maxTOTPMethods {
		e.enrol(e.alice)
		e.clock.advance(30 * time.Second)
	}
	en, _ := e.svc.BeginTOTP(context.Background(), e.tenant, e.alice)
	if _, err := e.svc.ConfirmTOTP(context.Background(), e.tenant, e.alice, en.Token, e.code(en.Secret, 0)); err == nil {
		t.Fatal("a sixth app")
	}
}

func decodeBase32(s string) ([]byte, error) {
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
}
