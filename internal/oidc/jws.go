package oidc

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// signer signs tokens with one of a tenant's keys: the compact JWS
// serialisation (RFC 7515 §7.1) of RS256 or ES256 over a payload. Writing
// it directly, with the protected header encoded once per key, saves the
// generic JOSE library a third of what signing an ES256 token cost beside
// the signature itself; tokens are verified with that library as before.
type signer struct {
	kid string
	alg jose.SignatureAlgorithm
	key crypto.Signer // *rsa.PrivateKey for RS256, *ecdsa.PrivateKey on P-256 for ES256
	// header is the base64url encoding of the protected header.
	header string
}

// newSigner refuses a key that is not of alg.
func newSigner(kid string, alg jose.SignatureAlgorithm, key any) (*signer, error) {
	var priv crypto.Signer
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if alg != jose.RS256 {
			return nil, fmt.Errorf("an RSA key cannot sign %s", alg)
		}
		priv = k
	case *ecdsa.PrivateKey:
		if alg != jose.ES256 || k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("a %s ECDSA key cannot sign %s", k.Curve.Params().Name, alg)
		}
		priv = k
	default:
		return nil, fmt.Errorf("a %T cannot sign %s", key, alg)
	}
	// The members in the order go-jose wrote them, so that tokens look as
	// they always did.
	h, err := json.Marshal(struct {
		Alg jose.SignatureAlgorithm `json:"alg"`
		Kid string                  `json:"kid"`
		Typ string                  `json:"typ"`
	}{alg, kid, "JWT"})
	if err != nil {
		return nil, err
	}
	return &signer{kid: kid, alg: alg, key: priv, header: base64.RawURLEncoding.EncodeToString(h)}, nil
}

// es256Size is the length of an ES256 signature: R and S of P-256, 32
// bytes each, big-endian (RFC 7518 §3.4).
const es256Size = 64

// es256FromDER turns an ASN.1 ECDSA signature, SEQUENCE { r INTEGER,
// s INTEGER }, into JWS's R || S, each 32 bytes big-endian.
func es256FromDER(der []byte) ([]byte, error) {
	var seq, r, s cryptobyte.String
	in := cryptobyte.String(der)
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1(&r, asn1.INTEGER) || !seq.ReadASN1(&s, asn1.INTEGER) || !seq.Empty() {
		return nil, errors.New("oidc: signing: malformed ECDSA signature")
	}
	sig := make([]byte, es256Size)
	for i, n := range [][]byte{r, s} {
		n = bytes.TrimLeft(n, "\x00") // DER's sign byte
		if len(n) > es256Size/2 {
			return nil, errors.New("oidc: signing: ECDSA signature out of range")
		}
		copy(sig[(i+1)*es256Size/2-len(n):], n)
	}
	return sig, nil
}

// sign returns the compact JWS of payload.
func (s *signer) sign(payload []byte) (string, error) {
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(s.header)+2+enc.EncodedLen(len(payload))+enc.EncodedLen(512))
	buf = append(buf, s.header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	digest := sha256.Sum256(buf)
	var sig []byte
	switch k := s.key.(type) {
	case *ecdsa.PrivateKey:
		// The nonce is RFC 6979's, derived from the key and the digest with
		// HMAC-SHA-256 (a nil random source), rather than Go's hedged one,
		// whose HMAC-SHA-512 over fresh random bytes cost a fifth of the
		// signature more. Every payload signed here holds a fresh random
		// token id (uti, jti), so no two signatures share a digest and the
		// fault attacks that need one message signed twice do not apply;
		// and a signature no longer depends on the random source.
		der, err := k.Sign(nil, digest[:], crypto.SHA256)
		if err != nil {
			return "", fmt.Errorf("oidc: signing: %w", err)
		}
		if sig, err = es256FromDER(der); err != nil {
			return "", err
		}
	case *rsa.PrivateKey:
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:]); err != nil {
			return "", fmt.Errorf("oidc: signing: %w", err)
		}
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}
