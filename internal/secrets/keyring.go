// Package secrets owns Gatehouse's handling of secret material at rest: the
// master keyring that seals (encrypts) data such as token-signing keys, the
// generation and verification of application client secrets, and argon2id
// password hashing with bounded concurrency. Nothing in this package logs or
// formats secret values.
package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// masterKeySize is the AES-256 key length.
const masterKeySize = 32

// sealVersion is the first byte of every sealed blob. A new layout gets a new
// version; Open rejects versions it does not know instead of guessing.
const sealVersion = 1

// keyIDSize is how many bytes of the key fingerprint a sealed blob carries, so
// that a keyring holding several master keys (after a rotation) can tell which
// one sealed it without trial decryption.
const keyIDSize = 4

// headerSize is version + key id.
const headerSize = 1 + keyIDSize

// ErrOpen reports a sealed blob that cannot be opened: corrupted, truncated,
// sealed under another master key, or bound to different associated data.
var ErrOpen = errors.New("secrets: cannot open sealed data")

// Keyring holds the master key that seals secrets at rest with AES-256-GCM.
// It is safe for concurrent use.
type Keyring struct {
	id   [keyIDSize]byte
	aead cipher.AEAD
	prk  []byte // HKDF pseudorandom key for Derive; never the master key itself
}

// FromBase64 builds a keyring from a base64-encoded 32-byte master key, as
// found in GATEHOUSE_MASTER_KEY or in the key file. Standard and URL-safe
// alphabets, padded or not, are accepted; surrounding white space is ignored.
func FromBase64(s string) (*Keyring, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		key, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(key) != masterKeySize {
			// Never echo the key: only its length helps the operator.
			return nil, fmt.Errorf("secrets: master key is %d bytes, want %d", len(key), masterKeySize)
		}
		return newKeyring(key)
	}
	return nil, errors.New("secrets: master key is not valid base64")
}

// LoadOrCreate reads the master key file at path, or creates it with a fresh
// random key (mode 0600, parent directory 0700 if missing) when it does not
// exist. A key file readable or writable by group or others is refused: the
// master key protects every signing key of the deployment.
func LoadOrCreate(path string) (*Keyring, error) {
	k, err := load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := create(path); err != nil {
		return nil, err
	}
	return load(path)
}

func load(path string) (*Keyring, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	// Windows has no POSIX permission bits; its ACLs are the operator's job.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secrets: master key file %s has mode %04o; it must not be accessible to group or others (chmod 600)", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := FromBase64(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// create writes a new key to a temporary file and hard-links it into place, so
// that a process racing to create the same file either publishes a complete
// key or finds the other's complete key; nobody ever reads a half-written file.
func create(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".master-key-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	key := make([]byte, masterKeySize)
	rand.Read(key)
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

func newKeyring(key []byte) (*Keyring, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	k := &Keyring{aead: aead, prk: hkdfExtract([]byte(deriveSalt), key)}
	// The id is derived from the key, so every node given the same key agrees
	// on it, and it reveals nothing usable about the key.
	sum := sha256.Sum256(append([]byte("gatehouse master key id\x00"), key...))
	copy(k.id[:], sum[:])
	return k, nil
}

// Seal encrypts plaintext and binds it to aad, which must be passed unchanged
// to Open. Callers put in aad what the blob belongs to (e.g. tenant and key
// id), so a sealed value copied into another row does not open there.
//
// Layout: version (1 byte) | key id (4 bytes) | nonce (12 bytes) | ciphertext+tag.
// The header is authenticated together with aad.
func (k *Keyring) Seal(plaintext, aad []byte) ([]byte, error) {
	ns := k.aead.NonceSize()
	out := make([]byte, headerSize+ns, headerSize+ns+len(plaintext)+k.aead.Overhead())
	out[0] = sealVersion
	copy(out[1:headerSize], k.id[:])
	rand.Read(out[headerSize:])
	return k.aead.Seal(out, out[headerSize:], plaintext, additionalData(out[:headerSize], aad)), nil
}

// Open decrypts a blob made by Seal with the same aad. Every failure wraps
// ErrOpen.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(sealed) < headerSize+ns+k.aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrOpen)
	}
	if sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: unknown format version %d", ErrOpen, sealed[0])
	}
	if !bytes.Equal(sealed[1:headerSize], k.id[:]) {
		return nil, fmt.Errorf("%w: sealed under master key %x, this keyring holds %x", ErrOpen, sealed[1:headerSize], k.id[:])
	}
	nonce := sealed[headerSize : headerSize+ns]
	pt, err := k.aead.Open(nil, nonce, sealed[headerSize+ns:], additionalData(sealed[:headerSize], aad))
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed (wrong associated data or corrupted)", ErrOpen)
	}
	return pt, nil
}

func additionalData(header, aad []byte) []byte {
	ad := make([]byte, 0, len(header)+len(aad))
	return append(append(ad, header...), aad...)
}

// deriveSalt separates Derive's keys from every other use of the master key.
const deriveSalt = "gatehouse keyring derive v1"

// Derive returns a 32-byte key for purpose, derived from the master key by
// HKDF-SHA256 (RFC 5869). Every node with the same master key derives the
// same key; keys for different purposes are independent, and none reveals
// the master key or the others. Purposes are fixed strings naming the use
// and its version, e.g. "gatehouse pairwise subject v1".
func (k *Keyring) Derive(purpose string) []byte {
	return hkdfExpand32(k.prk, []byte(purpose))
}

// hkdfExtract is HKDF-Extract with SHA-256.
func hkdfExtract(salt, ikm []byte) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write(ikm)
	return m.Sum(nil)
}

// hkdfExpand32 is HKDF-Expand with SHA-256 for an output of one hash
// length, which is the first block T(1) = HMAC(PRK, info || 0x01). With a
// fixed length the expansion cannot fail, unlike crypto/hkdf's general one.
func hkdfExpand32(prk, info []byte) []byte {
	m := hmac.New(sha256.New, prk)
	m.Write(info)
	m.Write([]byte{1})
	return m.Sum(nil)
}
