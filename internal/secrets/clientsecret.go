package secrets

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// clientSecretBytes is the entropy of a generated client secret (256 bits).
const clientSecretBytes = 32

// hintLength is how many leading characters of a secret Entra shows as its
// hint (passwordCredential.hint).
const hintLength = 3

// clientSecretDomain separates client-secret digests from any other SHA-256
// use, so a digest stored here can never be replayed as another kind of value.
const clientSecretDomain = "gatehouse client secret v1\x00"

// NewClientSecret returns a new application client secret and its hint. The
// secret is 256 random bits in unpadded base64url, so it survives form and
// Basic-auth encoding untouched; the hint is its first three characters, as
// Entra shows them.
func NewClientSecret() (secret string, hint string) {
	b := make([]byte, clientSecretBytes)
	rand.Read(b)
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, secret[:hintLength]
}

// HashSecret returns the verifier stored for a client secret. A single
// SHA-256 is right here because the secret itself carries 256 bits of
// entropy: there is nothing for a slow hash to protect against guessing.
func HashSecret(secret string) []byte {
	h := sha256.New()
	h.Write([]byte(clientSecretDomain))
	h.Write([]byte(secret))
	return h.Sum(nil)
}

// VerifySecret reports whether secret matches a verifier from HashSecret, in
// time independent of where the two differ.
func VerifySecret(hash []byte, secret string) bool {
	return subtle.ConstantTimeCompare(hash, HashSecret(secret)) == 1
}
