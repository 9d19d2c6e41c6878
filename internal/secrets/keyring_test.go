package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func testKeyring(t *testing.T, fill byte) *Keyring {
	t.Helper()
	k, err := FromBase64(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, masterKeySize)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestFromBase64(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, masterKeySize)
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"std padded", base64.StdEncoding.EncodeToString(raw), ""},
		{"std with newline", base64.StdEncoding.EncodeToString(raw) + "\n", ""},
		{"url unpadded", base64.RawURLEncoding.EncodeToString(raw), ""},
		{"short key", base64.StdEncoding.EncodeToString(raw[:16]), "16 bytes"},
		{"not base64", "!!!not-base64!!!", "not valid base64"},
		{"empty", "", "0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromBase64(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("FromBase64: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("FromBase64 error = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	k := testKeyring(t, 1)
	plain := []byte("private key bytes")
	aad := []byte("tenant-a\x00kid-1")
	sealed, err := k.Seal(plain, aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, plain) {
		t.Fatal("sealed blob contains the plaintext")
	}
	if sealed[0] != sealVersion {
		t.Fatalf("version byte = %d", sealed[0])
	}
	again, _ := k.Seal(plain, aad)
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of the same plaintext are identical: nonce reuse")
	}
	got, err := k.Open(sealed, aad)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}

	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	wrongVersion := bytes.Clone(sealed)
	wrongVersion[0] = 9
	wrongID := bytes.Clone(sealed)
	wrongID[1] ^= 1

	tests := []struct {
		name   string
		k      *Keyring
		sealed []byte
		aad    []byte
	}{
		{"other tenant's aad", k, sealed, []byte("tenant-b\x00kid-1")},
		{"no aad", k, sealed, nil},
		{"other master key", testKeyring(t, 2), sealed, aad},
		{"tampered ciphertext", k, flipped, aad},
		{"unknown version", k, wrongVersion, aad},
		{"tampered key id", k, wrongID, aad},
		{"truncated", k, sealed[:10], aad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.k.Open(tt.sealed, tt.aad); !errors.Is(err, ErrOpen) {
				t.Fatalf("Open error = %v, want ErrOpen", err)
			}
		})
	}
}

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "master.key")
	k1, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %04o, want 0600", fi.Mode().Perm())
	}
	k2, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := k1.Seal([]byte("x"), nil)
	if _, err := k2.Open(sealed, nil); err != nil {
		t.Fatalf("reloaded keyring cannot open what the first sealed: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the key file", len(entries))
	}
}

func TestLoadOrCreateRefusesOpenPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX permissions")
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660} {
		path := filepath.Join(t.TempDir(), "master.key")
		if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil { // umask may have narrowed it
			t.Fatal(err)
		}
		if _, err := LoadOrCreate(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("mode %04o: error = %v, want refusal", mode, err)
		}
	}
}

func TestLoadOrCreateRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	const n = 8
	rings := make([]*Keyring, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { rings[i], errs[i] = LoadOrCreate(path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("racer %d: %v", i, errs[i])
		}
		if rings[i].id != rings[0].id {
			t.Fatalf("racer %d ended with a different master key", i)
		}
	}
}

// TestHKDF checks the hand-written HKDF against RFC 5869 test case 1, whose
// first 32 bytes of output are the single block hkdfExpand32 computes.
func TestHKDF(t *testing.T) {
	ikm := bytes.Repeat([]byte{0x0b}, 22)
	salt := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	info := []byte{0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9}
	prk := hkdfExtract(salt, ikm)
	if got, want := hex.EncodeToString(prk), "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"; got != want {
		t.Fatalf("PRK %s, want %s", got, want)
	}
	if got, want := hex.EncodeToString(hkdfExpand32(prk, info)), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"; got != want {
		t.Fatalf("OKM %s, want %s", got, want)
	}
}

func TestDerive(t *testing.T) {
	a, a2, b := testKeyring(t, 1), testKeyring(t, 1), testKeyring(t, 2)
	x := a.Derive("purpose x")
	if len(x) != 32 {
		t.Fatalf("derived %d bytes", len(x))
	}
	if !bytes.Equal(x, a2.Derive("purpose x")) {
		t.Fatal("the same master key derives different keys")
	}
	if bytes.Equal(x, a.Derive("purpose y")) {
		t.Fatal("different purposes derive the same key")
	}
	if bytes.Equal(x, b.Derive("purpose x")) {
		t.Fatal("different master keys derive the same key")
	}
	if bytes.Equal(x, bytes.Repeat([]byte{1}, masterKeySize)) {
		t.Fatal("Derive returned the master key")
	}
}
