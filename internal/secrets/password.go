package secrets

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams is OWASP's argon2id baseline (m=19 MiB, t=2, p=1), which is
// also the floor NewPasswordHasher accepts.
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds for parameters read back from stored hashes: a stored hash decides
// how much memory Verify allocates, so absurd values are refused rather than
// obeyed.
const (
	maxMemory  = 1 << 21 // KiB (2 GiB)
	maxTime    = 64
	maxThreads = 64
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 128
)

// ErrMalformedHash reports a stored password hash that is not a PHC-style
// argon2id encoding this package can verify.
var ErrMalformedHash = errors.New("secrets: malformed password hash")

// PasswordHasher hashes and verifies passwords with argon2id. At most
// maxConcurrent derivations run at once, so memory use is bounded by
// maxConcurrent × Memory however many sign-ins arrive together; callers
// beyond that wait, or give up when their context ends.
type PasswordHasher struct {
	params Params
	slots  chan struct{}
}

// NewPasswordHasher returns a hasher producing hashes with p. p must be at
// least DefaultParams' memory and time cost. maxConcurrent < 1 means one
// derivation per CPU.
func NewPasswordHasher(p Params, maxConcurrent int) (*PasswordHasher, error) {
	if p.Memory < DefaultParams.Memory || p.Time < DefaultParams.Time || p.Threads < 1 {
		return nil, fmt.Errorf("secrets: argon2id parameters m=%d t=%d p=%d are below the minimum m=%d t=%d p=1",
			p.Memory, p.Time, p.Threads, DefaultParams.Memory, DefaultParams.Time)
	}
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	if maxConcurrent < 1 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	return &PasswordHasher{params: p, slots: make(chan struct{}, maxConcurrent)}, nil
}

func (p Params) check() error {
	switch {
	case p.Memory > maxMemory, p.Time < 1, p.Time > maxTime, p.Threads < 1, p.Threads > maxThreads:
		return fmt.Errorf("argon2id cost m=%d t=%d p=%d out of range", p.Memory, p.Time, p.Threads)
	case p.Memory < 8*uint32(p.Threads):
		return fmt.Errorf("argon2id memory %d KiB is below 8 KiB per thread", p.Memory)
	case p.SaltLen < minSaltLen, p.SaltLen > maxSaltLen:
		return fmt.Errorf("argon2id salt length %d out of range", p.SaltLen)
	case p.KeyLen < minKeyLen, p.KeyLen > maxKeyLen:
		return fmt.Errorf("argon2id key length %d out of range", p.KeyLen)
	}
	return nil
}

// Hash returns the PHC-style encoding of password under a fresh salt:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with salt and key in unpadded standard base64. It returns ctx's error if
// ctx ends while waiting for a slot.
func (h *PasswordHasher) Hash(ctx context.Context, password string) ([]byte, error) {
	salt := make([]byte, h.params.SaltLen)
	rand.Read(salt)
	// NFKC (NIST SP 800-63B 5.1.1.2), so one password typed with composed or
	// decomposed accents, or full-width forms, is one password.
	key, err := h.derive(ctx, norm.NFKC.String(password), salt, h.params)
	if err != nil {
		return nil, err
	}
	return encodeHash(h.params, salt, key), nil
}

// Verify reports whether password matches encoded. needsRehash is true when
// the password matched but encoded was made with weaker parameters than the
// hasher's current ones, so the caller should store a fresh Hash. err is
// ErrMalformedHash for an unusable encoding, or ctx's error.
func (h *PasswordHasher) Verify(ctx context.Context, encoded []byte, password string) (ok bool, needsRehash bool, err error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, false, err
	}
	normalised := norm.NFKC.String(password)
	got, err := h.derive(ctx, normalised, salt, p)
	if err != nil {
		return false, false, err
	}
	if subtle.ConstantTimeCompare(got, want) == 1 {
		return true, p.weakerThan(h.params), nil
	}
	if normalised == password {
		return false, false, nil
	}
	// A hash stored before passwords were normalised holds a non-NFKC
	// password as it was typed: it still verifies, once more, and is
	// replaced by the normalised form's hash.
	if got, err = h.derive(ctx, password, salt, p); err != nil {
		return false, false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, true, nil
}

func (p Params) weakerThan(q Params) bool {
	return p.Memory < q.Memory || p.Time < q.Time || p.SaltLen < q.SaltLen || p.KeyLen < q.KeyLen
}

// derive runs argon2id once a concurrency slot is free.
func (h *PasswordHasher) derive(ctx context.Context, password string, salt []byte, p Params) ([]byte, error) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.slots }()
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

var b64 = base64.RawStdEncoding

func encodeHash(p Params, salt, key []byte) []byte {
	return fmt.Appendf(nil, "$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func decodeHash(encoded []byte) (Params, []byte, []byte, error) {
	var p Params
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	f := strings.Split(string(encoded), "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: not an argon2id PHC string", ErrMalformedHash)
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: unsupported argon2 version %q", ErrMalformedHash, f[2])
	}
	costs := strings.Split(f[3], ",")
	if len(costs) != 3 {
		return p, nil, nil, fmt.Errorf("%w: parameters %q", ErrMalformedHash, f[3])
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(costs[i], name)
		if !ok {
			return p, nil, nil, fmt.Errorf("%w: parameters %q", ErrMalformedHash, f[3])
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, fmt.Errorf("%w: parameter %q", ErrMalformedHash, costs[i])
		}
		vals[i] = n
	}
	if vals[2] > maxThreads {
		return p, nil, nil, fmt.Errorf("%w: %d threads", ErrMalformedHash, vals[2])
	}
	salt, err := b64.DecodeString(f[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: salt encoding", ErrMalformedHash)
	}
	key, err := b64.DecodeString(f[5])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: key encoding", ErrMalformedHash)
	}
	p = Params{Memory: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2]), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	if err := p.check(); err != nil {
		return p, nil, nil, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	return p, salt, key, nil
}
