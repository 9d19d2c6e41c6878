package secrets

import (
	"crypto/rand"
	"strings"
	"testing"
	"testing/iotest"
)

func TestToken(t *testing.T) {
	tok, err := NewToken(rand.Reader, TokenBytes)
	if err != nil {
		t.Fatal(err)
	}
	if !IsToken(tok, TokenBytes) {
		t.Errorf("%q is not a token", tok)
	}
	for _, bad := range []string{"", tok[:len(tok)-1], tok + "A", tok[:10] + "\n" + tok[10:], strings.Replace(tok, tok[:1], "+", 1)} {
		if IsToken(bad, TokenBytes) {
			t.Errorf("%q taken for a token", bad)
		}
	}
	if IsToken(tok, 16) {
		t.Error("a 32-byte token taken for a 16-byte one")
	}
	if _, err := NewToken(iotest.ErrReader(iotest.ErrTimeout), 16); err == nil {
		t.Error("a failing source of randomness made a token")
	}
}
