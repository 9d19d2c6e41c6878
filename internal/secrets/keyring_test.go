package secrets

import (
	"bytes"
	"encoding/base64"
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
