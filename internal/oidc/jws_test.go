package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// TestSignerWritesWhatJOSEVerifies signs with the direct compact signer and
// verifies with go-jose, as relying parties' libraries would, and checks
// that the header is the one go-jose itself wrote.
func TestSignerWritesWhatJOSEVerifies(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte(`{"aud":"https://api.example","sub":"s","iat":1700000000}`)
	for _, c := range []struct {
		alg jose.SignatureAlgorithm
		key crypto.Signer
	}{{jose.RS256, rsaKey}, {jose.ES256, ecKey}} {
		t.Run(string(c.alg), func(t *testing.T) {
			s, err := newSigner("kid-1", c.alg, c.key)
			if err != nil {
				t.Fatal(err)
			}
			for range 20 { // ECDSA signatures vary: R or S with leading zero bytes must keep their length
				token, err := s.sign(payload)
				if err != nil {
					t.Fatal(err)
				}
				jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{c.alg})
				if err != nil {
					t.Fatalf("go-jose cannot parse %s: %v", token, err)
				}
				got, err := jws.Verify(c.key.Public())
				if err != nil || string(got) != string(payload) {
					t.Fatalf("verify: %q, %v", got, err)
				}
				if h := jws.Signatures[0].Protected; h.KeyID != "kid-1" || h.Algorithm != string(c.alg) || h.ExtraHeaders["typ"] != "JWT" {
					t.Fatalf("header %+v", h)
				}
			}
			ref, err := jose.NewSigner(jose.SigningKey{Algorithm: c.alg, Key: jose.JSONWebKey{Key: c.key, KeyID: "kid-1"}}, (&jose.SignerOptions{}).WithType("JWT"))
			if err != nil {
				t.Fatal(err)
			}
			jws, err := ref.Sign(payload)
			if err != nil {
				t.Fatal(err)
			}
			compact, _ := jws.CompactSerialize()
			if want := compact[:strings.IndexByte(compact, '.')]; s.header != want {
				h, _ := base64.RawURLEncoding.DecodeString(want)
				t.Errorf("header %s, go-jose wrote %s", s.header, h)
			}
		})
	}
}

func TestSignerRefusesMismatchedKeys(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := newSigner("k", jose.ES256, rsaKey); err == nil {
		t.Error("an RSA key signs ES256")
	}
	if _, err := newSigner("k", jose.ES256, p384); err == nil {
		t.Error("a P-384 key signs ES256")
	}
	if _, err := newSigner("k", jose.RS256, p256); err == nil {
		t.Error("an ECDSA key signs RS256")
	}
	if _, err := newSigner("k", jose.PS256, rsaKey); err == nil {
		t.Error("an RSA key signs PS256 as if it were RS256")
	}
}
