package secrets

import (
	"encoding/base64"
	"fmt"
	"io"
)

// TokenBytes is the entropy of the bearer secrets the surfaces hand out
// (session cookies, sign-in states, PKCE verifiers).
const TokenBytes = 32

var tokenEncoding = base64.RawURLEncoding

// NewToken returns n bytes read from random, base64url-encoded without
// padding.
func NewToken(random io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", fmt.Errorf("secrets: reading randomness: %w", err)
	}
	return tokenEncoding.EncodeToString(b), nil
}

// IsToken reports whether s is exactly what NewToken(_, n) makes. The
// encoding must be canonical: Go's decoder skips CR and LF, and a secret
// spelled two ways would be two different cookie values.
func IsToken(s string, n int) bool {
	b, err := tokenEncoding.DecodeString(s)
	return err == nil && len(b) == n && tokenEncoding.EncodeToString(b) == s
}
