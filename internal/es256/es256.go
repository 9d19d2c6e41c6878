// Package es256 makes ECDSA signatures on P-256 over SHA-256 digests, as
// JWS's ES256 writes them (RFC 7518 §3.4: R || S, 32 bytes each), for the
// tokens Gatehouse issues on every token request.
//
// What it owns is where the per-signature nonces come from. ECDSA's
// signature is r = x(k·G) mod n and s = k⁻¹(e + r·d) mod n; k, r and k⁻¹
// do not depend on the message or the key. FIPS 186-4 allows k and k⁻¹ to
// be computed before the message is known, provided they stay secret and
// each serves one signature (§4.5, of DSA's per-message secret, which
// ECDSA's k is). The package keeps one pool of such
// nonces for the process and fills it a batch at a time, with one modular
// inversion for the whole batch (Montgomery's trick) instead of one per
// signature: crypto/ecdsa spent about a third of a signature on that
// inversion and on deriving the nonce. A signature is then two
// multiplications and an addition modulo n.
//
// The arithmetic is the standard library's and Filippo Valsorda's bigmod,
// the standalone copy of the constant-time modular arithmetic crypto/ecdsa
// uses: k·G and its x coordinate come from crypto/ecdh, which draws k
// uniformly from [1, n−1] with crypto/rand; the rest is constant-time
// bigmod. A nonce leaves the pool under its lock, so no two signatures
// share one.
//
// What a pool costs: a nonce made before a process's memory is copied (a
// VM snapshot restored twice) signs in both copies, and two signatures
// with one k give the key away. A node must not be cloned from a running
// one's memory; RFC 6979's nonces would not have that limit.
package es256

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"

	"filippo.io/bigmod"
)

// Size is the length of a signature: R and S, 32 bytes each, big-endian.
const Size = 64

// batch is how many nonces one refill makes. A refill costs its caller
// about batch × 15 µs (each nonce is one scalar multiplication) and saves
// every signature about 8 µs of inversion; past 32 the saving hardly grows
// while the refill's wait does.
const batch = 32

// order is n, the order of P-256's base point, as bigmod's modulus, and
// orderMinus2 the exponent that inverts modulo n (Fermat).
var order, orderMinus2 = func() (*bigmod.Modulus, []byte) {
	n := elliptic.P256().Params().N
	m, err := bigmod.NewModulus(n.Bytes())
	if err != nil {
		panic(err) // n is a constant: a failure here is a broken build
	}
	e := n.Bytes()
	// n ends in …2551: subtracting 2 borrows nothing.
	e[len(e)-1] -= 2
	return m, e
}()

// Key is a P-256 private key made ready to sign.
type Key struct {
	d *bigmod.Nat
}

// NewKey prepares k to sign; it refuses a key on another curve or out of
// range.
func NewKey(k *ecdsa.PrivateKey) (*Key, error) {
	if k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("es256: a %s key, not P-256", k.Curve.Params().Name)
	}
	b, err := k.Bytes()
	if err != nil {
		return nil, fmt.Errorf("es256: %w", err)
	}
	d, err := bigmod.NewNat().SetBytes(b, order)
	if err != nil || d.IsZero() == 1 {
		return nil, errors.New("es256: private key out of range")
	}
	return &Key{d: d}, nil
}

// Sign returns the signature of digest, a SHA-256 hash, appended to dst.
func (k *Key) Sign(dst []byte, digest *[32]byte) ([]byte, error) {
	for {
		nc, err := pool.take()
		if err != nil {
			return nil, err
		}
		if sig, ok := k.signWith(dst, nc, digest); ok {
			return sig, nil
		}
	}
}

// signWith appends the signature of digest with nc's k to dst; ok is false
// when s comes out 0, which is not a signature (FIPS 186-4 §6.3: take
// another k).
func (k *Key) signWith(dst []byte, nc nonce, digest *[32]byte) (sig []byte, ok bool) {
	// e is the digest as an integer: SHA-256 is as wide as n, so nothing is
	// cut off, and a digest at or above n is reduced once. Only a longer
	// input makes SetOverflowingBytes fail.
	e, _ := bigmod.NewNat().SetOverflowingBytes(digest[:], order)
	s := clone(nc.r).Mul(k.d, order).Add(e, order).Mul(nc.kInv, order)
	if s.IsZero() == 1 {
		return dst, false
	}
	dst = append(dst, nc.r.Bytes(order)...)
	return append(dst, s.Bytes(order)...), true
}

// nonce is what a signature needs of its k: r = x(k·G) mod n, and k⁻¹ mod n.
type nonce struct {
	r, kInv *bigmod.Nat
}

// pool holds the process's nonces; every Key draws from it, since a nonce
// does not depend on the key it signs with.
var pool noncePool

type noncePool struct {
	mu   sync.Mutex
	free []nonce
}

// take removes one nonce. When none is left it makes a batch, without the
// lock, so that signers meanwhile take what others add.
func (p *noncePool) take() (nonce, error) {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		nc := p.free[n-1]
		p.free[n-1] = nonce{}
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return nc, nil
	}
	p.mu.Unlock()
	made, err := makeNonces(batch, randomK)
	if err != nil {
		return nonce{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = append(p.free, made[1:]...)
	return made[0], nil
}

// randomK draws k uniformly from [1, n−1] and computes k·G.
func randomK() (*ecdh.PrivateKey, error) { return ecdh.P256().GenerateKey(rand.Reader) }

// makeNonces returns count nonces of the ks newK draws.
func makeNonces(count int, newK func() (*ecdh.PrivateKey, error)) ([]nonce, error) {
	ks := make([]*bigmod.Nat, 0, count)
	out := make([]nonce, 0, count)
	for len(out) < count {
		k, err := newK()
		if err != nil {
			return nil, fmt.Errorf("es256: making a nonce: %w", err)
		}
		kn, err := bigmod.NewNat().SetBytes(k.Bytes(), order)
		if err != nil {
			return nil, fmt.Errorf("es256: making a nonce: %w", err)
		}
		// The public key is 0x04 || x || y; x < p < 2n, so reducing once is
		// enough.
		r, err := bigmod.NewNat().SetOverflowingBytes(k.PublicKey().Bytes()[1:33], order)
		if err != nil {
			return nil, fmt.Errorf("es256: making a nonce: %w", err)
		}
		if r.IsZero() == 1 {
			continue // r = 0 is not a signature: draw another k
		}
		ks = append(ks, kn)
		out = append(out, nonce{r: r})
	}
	// Montgomery's trick: with prefix[i] = k₀·…·kᵢ₋₁ and inv = (k₀·…·kᵢ)⁻¹,
	// kᵢ⁻¹ = inv · prefix[i], and inv · kᵢ is the inverse one step down.
	// No k is 0 modulo the prime n, so neither is their product.
	prefix := make([]*bigmod.Nat, count)
	acc := bigmod.NewNat().SetUint(1).ExpandFor(order)
	for i, k := range ks {
		prefix[i] = acc
		acc = clone(acc).Mul(k, order)
	}
	inv := bigmod.NewNat().Exp(acc, orderMinus2, order)
	for i := count - 1; i >= 0; i-- {
		out[i].kInv = clone(inv).Mul(prefix[i], order)
		inv.Mul(ks[i], order)
	}
	return out, nil
}

// clone is a copy of x, which is reduced modulo n.
func clone(x *bigmod.Nat) *bigmod.Nat {
	return bigmod.NewNat().ExpandFor(order).Add(x, order)
}
