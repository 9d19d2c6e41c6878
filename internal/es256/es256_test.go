package es256

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"sync"
	"testing"
)

func verify(t *testing.T, pub *ecdsa.PublicKey, digest *[32]byte, sig []byte) {
	t.Helper()
	if len(sig) != Size {
		t.Fatalf("signature of %d bytes, want %d", len(sig), Size)
	}
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		t.Fatalf("crypto/ecdsa refuses the signature %x", sig)
	}
}

// Signatures from several keys, across several refills of the pool, all
// verify with crypto/ecdsa, and none is verified by a key that did not make it.
func TestSignaturesVerify(t *testing.T) {
	var keys []*ecdsa.PrivateKey
	var signers []*Key
	for range 3 {
		k, s := newTestKey(t)
		keys, signers = append(keys, k), append(signers, s)
	}
	for i := range 3*batch + 5 {
		digest := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		k := i % len(keys)
		sig, err := signers[k].Sign([]byte("prefix"), &digest)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(sig, []byte("prefix")) {
			t.Fatalf("Sign did not append to dst: %q", sig)
		}
		sig = sig[len("prefix"):]
		verify(t, &keys[k].PublicKey, &digest, sig)
		other := keys[(k+1)%len(keys)]
		if ecdsa.Verify(&other.PublicKey, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			t.Fatal("another key's public key verifies the signature")
		}
		digest[0] ^= 1
		if ecdsa.Verify(&keys[k].PublicKey, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			t.Fatal("the signature verifies another digest")
		}
	}
}

// newTestKey is a fresh P-256 key and its Key.
func newTestKey(tb testing.TB) (*ecdsa.PrivateKey, *Key) {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	key, err := NewKey(k)
	if err != nil {
		tb.Fatal(err)
	}
	return k, key
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// With RFC 6979's k for its P-256/SHA-256 "sample" case (appendix A.2.5),
// the signature is the RFC's r and s, which crypto/ecdsa's deterministic
// signing also gives: the arithmetic, not only its verifiability, is ECDSA's.
func TestKnownAnswer(t *testing.T) {
	d := mustHex(t, "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721")
	kBytes := mustHex(t, "A6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60")
	want := mustHex(t, "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"+
		"F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8")
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("sample"))

	der, err := priv.Sign(nil, digest[:], crypto.SHA256) // RFC 6979 in crypto/ecdsa
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(&priv.PublicKey, digest[:], der) {
		t.Fatal("the RFC's key does not verify crypto/ecdsa's own signature")
	}
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rs.R.FillBytes(make([]byte, 32)), want[:32]) || !bytes.Equal(rs.S.FillBytes(make([]byte, 32)), want[32:]) {
		t.Fatalf("the vector is not crypto/ecdsa's RFC 6979 signature: %x", der)
	}

	nonces, err := makeNonces(1, func() (*ecdh.PrivateKey, error) { return ecdh.P256().NewPrivateKey(kBytes) })
	if err != nil {
		t.Fatal(err)
	}
	key, err := NewKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	sig, ok := key.signWith(nil, nonces[0], &digest)
	if !ok {
		t.Fatal("s = 0")
	}
	if !bytes.Equal(sig, want) {
		t.Fatalf("signature\n %x, want\n %x", sig, want)
	}
}

// A batch's inverses are each k's: k · k⁻¹ = 1 for every nonce of a batch
// of odd size, so that no position of Montgomery's trick goes unchecked.
func TestBatchInverses(t *testing.T) {
	var ks [][]byte
	draw := func() (*ecdh.PrivateKey, error) {
		k, err := ecdh.P256().GenerateKey(rand.Reader)
		if err == nil {
			ks = append(ks, k.Bytes())
		}
		return k, err
	}
	nonces, err := makeNonces(7, draw)
	if err != nil {
		t.Fatal(err)
	}
	if len(nonces) != 7 || len(ks) != 7 {
		t.Fatalf("%d nonces of %d ks, want 7", len(nonces), len(ks))
	}
	for i, nc := range nonces {
		k, err := NewKey(mustKey(t, ks[i]))
		if err != nil {
			t.Fatal(err)
		}
		if prod := clone(k.d).Mul(nc.kInv, order); prod.IsOne() != 1 {
			t.Fatalf("nonce %d: k · k⁻¹ = %x, not 1", i, prod.Bytes(order))
		}
	}
}

func mustKey(t *testing.T, d []byte) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Signers racing on the pool never share a nonce: every r differs.
func TestConcurrentSignersShareNoNonce(t *testing.T) {
	k, key := newTestKey(t)
	const workers, each = 8, 2 * batch
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				digest := sha256.Sum256([]byte{byte(w), byte(i)})
				sig, err := key.Sign(nil, &digest)
				if err != nil {
					t.Error(err)
					return
				}
				verify(t, &k.PublicKey, &digest, sig)
				mu.Lock()
				if seen[string(sig[:32])] {
					t.Errorf("r %x used twice", sig[:32])
				}
				seen[string(sig[:32])] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != workers*each {
		t.Fatalf("%d distinct r of %d signatures", len(seen), workers*each)
	}
}

func TestNewKeyRefusesOtherCurves(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewKey(k); err == nil {
		t.Fatal("a P-384 key was accepted")
	}
}

func BenchmarkSign(b *testing.B) {
	k, key := newTestKey(b)
	digest := sha256.Sum256([]byte("payload"))
	buf := make([]byte, 0, Size)
	b.Run("pool", func(b *testing.B) {
		for b.Loop() {
			if _, err := key.Sign(buf[:0], &digest); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("crypto-ecdsa-rfc6979", func(b *testing.B) {
		for b.Loop() {
			if _, err := k.Sign(nil, digest[:], crypto.SHA256); err != nil {
				b.Fatal(err)
			}
		}
	})
}
