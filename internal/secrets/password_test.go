package secrets

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

func TestClientSecret(t *testing.T) {
	s, hint := NewClientSecret()
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) < 32 {
		t.Fatalf("secret %d chars decodes to %d bytes (%v), want >= 32 url-safe bytes", len(s), len(raw), err)
	}
	if hint != s[:3] {
		t.Fatalf("hint %q is not the secret's first 3 characters", hint)
	}
	if other, _ := NewClientSecret(); other == s {
		t.Fatal("two secrets are equal")
	}
	h := HashSecret(s)
	other := []byte(s)
	other[len(other)-1] ^= 1 // differs in the last character only
	if bytes.Contains(h, []byte(s)) {
		t.Fatal("hash contains the secret")
	}
	tests := []struct {
		name   string
		hash   []byte
		secret string
		want   bool
	}{
		{"match", h, s, true},
		{"other secret", h, string(other), false},
		{"empty secret", h, "", false},
		{"truncated hash", h[:16], s, false},
		{"nil hash", nil, s, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifySecret(tt.hash, tt.secret); got != tt.want {
				t.Fatalf("VerifySecret = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewPasswordHasherRejectsWeakParams(t *testing.T) {
	tests := []struct {
		name string
		p    Params
	}{
		{"low memory", Params{Memory: 8192, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{"one pass", Params{Memory: 19456, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{"no threads", Params{Memory: 19456, Time: 2, Threads: 0, SaltLen: 16, KeyLen: 32}},
		{"short salt", Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 4, KeyLen: 32}},
		{"short key", Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewPasswordHasher(tt.p, 1); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestPasswordHashVerify(t *testing.T) {
	ctx := t.Context()
	h, err := NewPasswordHasher(DefaultParams, 2)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(enc), "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("encoding %q is not PHC argon2id with the default parameters", enc)
	}
	if again, _ := h.Hash(ctx, "correct horse"); bytes.Equal(enc, again) {
		t.Fatal("two hashes of one password are equal: salt not random")
	}

	// A hash made with weaker (older) parameters, as stored before an upgrade.
	weak := Params{Memory: 8192, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	salt := bytes.Repeat([]byte{3}, 16)
	key, err := h.derive(ctx, "old password", salt, weak)
	if err != nil {
		t.Fatal(err)
	}
	weakEnc := encodeHash(weak, salt, key)

	tests := []struct {
		name        string
		encoded     []byte
		password    string
		ok, rehash  bool
		malformedOK bool
	}{
		{"match", enc, "correct horse", true, false, false},
		{"mismatch", enc, "correct horse ", false, false, false},
		{"empty password", enc, "", false, false, false},
		{"weak params match", weakEnc, "old password", true, true, false},
		{"weak params mismatch", weakEnc, "wrong", false, false, false},
		{"bcrypt", []byte("$2a$10$abcdefghijklmnopqrstuu"), "x", false, false, true},
		{"argon2i", bytes.Replace(enc, []byte("argon2id"), []byte("argon2i"), 1), "x", false, false, true},
		{"old version", bytes.Replace(enc, []byte("v=19"), []byte("v=16"), 1), "x", false, false, true},
		{"huge memory", bytes.Replace(enc, []byte("m=19456"), []byte("m=4000000"), 1), "x", false, false, true},
		{"zero time", bytes.Replace(enc, []byte("t=2"), []byte("t=0"), 1), "x", false, false, true},
		{"params reordered", bytes.Replace(enc, []byte("m=19456,t=2"), []byte("t=2,m=19456"), 1), "x", false, false, true},
		{"bad salt", bytes.Replace(enc, []byte("p=1$"), []byte("p=1$!"), 1), "x", false, false, true},
		{"empty", nil, "x", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(ctx, tt.encoded, tt.password)
			if tt.malformedOK {
				if !errors.Is(err, ErrMalformedHash) {
					t.Fatalf("err = %v, want ErrMalformedHash", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.ok || rehash != tt.rehash {
				t.Fatalf("Verify = ok %v rehash %v, want %v %v", ok, rehash, tt.ok, tt.rehash)
			}
		})
	}
}

func TestPasswordHasherBoundsConcurrency(t *testing.T) {
	h, err := NewPasswordHasher(DefaultParams, 1)
	if err != nil {
		t.Fatal(err)
	}
	h.slots <- struct{}{} // the only slot is busy
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash with no free slot = %v, want deadline exceeded", err)
	}
	if _, _, err := h.Verify(ctx, []byte("$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "pw"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify with no free slot = %v, want deadline exceeded", err)
	}
	<-h.slots
	if _, err := h.Hash(t.Context(), "pw"); err != nil {
		t.Fatalf("Hash after the slot freed: %v", err)
	}
}

// BenchmarkArgon2idDefault measures one default-cost hash on one goroutine:
// the per-core ceiling of password sign-ins.
func BenchmarkArgon2idDefault(b *testing.B) {
	h, err := NewPasswordHasher(DefaultParams, 1)
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// Passwords are compared as NFKC (NIST SP 800-63B 5.1.1.2): the same
// password typed on keyboards that compose or decompose accents, or with
// full-width forms, matches. Hashes stored before normalisation, of ASCII
// passwords, still verify.
func TestPasswordsAreNFKCNormalised(t *testing.T) {
	ctx := t.Context()
	h, err := NewPasswordHasher(DefaultParams, 2)
	if err != nil {
		t.Fatal(err)
	}
	composed, err := h.Hash(ctx, "Caf\u00e9 au lait, s'il vous pla\u00eet")
	if err != nil {
		t.Fatal(err)
	}
	fullWidth, err := h.Hash(ctx, "\uff30\uff41\uff53\uff53 \ufb01ve 42")
	if err != nil {
		t.Fatal(err)
	}
	// Made by the hasher before normalisation existed.
	stored := []byte("$argon2id$v=19$m=19456,t=2,p=1$BwcHBwcHBwcHBwcHBwcHBw$ZvQvZ60szdXaTzdcxnlq2xo+XwbDKJULiogvIqTnCJg")
	tests := []struct {
		name     string
		encoded  []byte
		password string
		ok       bool
	}{
		{"same composition", composed, "Caf\u00e9 au lait, s'il vous pla\u00eet", true},
		{"decomposed accents", composed, "Cafe\u0301 au lait, s'il vous plai\u0302t", true},
		{"different accent", composed, "Cafe\u0300 au lait, s'il vous plai\u0302t", false},
		{"compatibility forms folded", fullWidth, "Pass five 42", true},
		{"case still matters", fullWidth, "pass five 42", false},
		{"stored ASCII hash", stored, "Correct Horse 42!", true},
		{"stored ASCII hash mismatch", stored, "correct horse 42!", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, _, err := h.Verify(ctx, tt.encoded, tt.password)
			if err != nil || ok != tt.ok {
				t.Fatalf("Verify = %v, %v; want %v", ok, err, tt.ok)
			}
		})
	}
}

// A hash stored before normalisation of a password that is not its own NFKC
// form (typed with a decomposed accent) still verifies as typed, and asks to
// be replaced; the normalised spelling does not match it, nor does a wrong
// password that happens to be non-NFKC.
func TestStoredNonNFKCHashStillVerifies(t *testing.T) {
	ctx := t.Context()
	h, err := NewPasswordHasher(DefaultParams, 2)
	if err != nil {
		t.Fatal(err)
	}
	const typed = "Cafe\u0301 crème 42"
	salt := bytes.Repeat([]byte{7}, 16)
	stored := encodeHash(DefaultParams, salt, argon2.IDKey([]byte(typed), salt, DefaultParams.Time, DefaultParams.Memory, DefaultParams.Threads, DefaultParams.KeyLen))
	ok, rehash, err := h.Verify(ctx, stored, typed)
	if err != nil || !ok || !rehash {
		t.Fatalf("as typed: ok %v rehash %v err %v; want a match that asks to be rehashed", ok, rehash, err)
	}
	if ok, _, err := h.Verify(ctx, stored, "Cafe\u0301 crème 43"); err != nil || ok {
		t.Fatalf("a wrong non-NFKC password: %v, %v", ok, err)
	}
	fresh, err := h.Hash(ctx, typed)
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := h.Verify(ctx, fresh, "Caf\u00e9 crème 42"); err != nil || !ok || rehash {
		t.Fatalf("the rehashed password in its composed spelling: %v %v %v", ok, rehash, err)
	}
}
