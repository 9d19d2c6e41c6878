package oidc

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4/jwt"
)

// TestAppendJSONIsEncodingJSON: the claims and token answers written
// without reflection are byte for byte what encoding/json writes, for
// every member set or empty and for strings that need escaping.
func TestAppendJSONIsEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"", "a", "Zz9", "-._~:/?#[]@!$'()*+,;=% ", `"`, `\`, "<", ">", "&", "\x00", "\n", "\t", "\x1f", "\x7f",
		"é", "日本", "\u2028", "\u2029", "\xff", "\xc3", "😀", "https://login.example/t/v2.0", "0b7c5e1a-0000-4000-8000-000000000001"}
	str := func() string {
		if rng.IntN(4) == 0 {
			return ""
		}
		var b strings.Builder
		for range rng.IntN(5) + 1 {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	strs := func() []string {
		switch rng.IntN(4) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		v := make([]string, rng.IntN(3)+1)
		for i := range v {
			v[i] = str()
		}
		return v
	}
	date := func() *jwt.NumericDate {
		if rng.IntN(3) == 0 {
			return nil
		}
		d := jwt.NumericDate(rng.Int64N(1<<40) - 1<<20)
		return &d
	}
	num := func() int64 {
		if rng.IntN(3) == 0 {
			return 0
		}
		return rng.Int64N(1<<50) - 1<<40
	}
	for i := range 5000 {
		c := accessClaims{
			Claims:   jwt.Claims{Issuer: str(), Subject: str(), Audience: strs(), Expiry: date(), NotBefore: date(), IssuedAt: date(), ID: str()},
			TenantID: str(), ObjectID: str(), AuthorizedParty: str(), AuthorizedPartyACR: str(), AppID: str(), IDType: str(),
			Roles: strs(), Scopes: str(), Name: str(), PreferredUsername: str(), TokenID: str(), Version: str(), IdP: str(),
			AMR: strs(), SessionID: str(), IssuedAtMs: num(),
		}
		sameJSON(t, i, c)
		sameJSON(t, i, &tokenResponse{TokenType: str(), Scope: str(), ExpiresIn: num(), ExtExpiresIn: num(), AccessToken: str(),
			RefreshToken: str(), IDToken: str(), ClientInfo: str()})
	}
	sameJSON(t, -1, accessClaims{})
	sameJSON(t, -1, &tokenResponse{})
}

func sameJSON(t *testing.T, i int, v jsonAppender) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := marshalJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("case %d, %T:\n got %s\nwant %s", i, v, got, want)
	}
}

// TestTokenAnswerIsEncoderOutput: the token answer written without
// reflection is what json.Encoder wrote before, newline included.
func TestTokenAnswerIsEncoderOutput(t *testing.T) {
	resp := (&Provider{}).tokenResponse(tokenResponse{AccessToken: "a.b.c", Scope: "openid <x>"})
	var want bytes.Buffer
	if err := json.NewEncoder(&want).Encode(resp.Data); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	writeResponse(rec, resp)
	if got := rec.Body.String(); got != want.String() {
		t.Fatalf("got %q, want %q", got, want.String())
	}
	if h := rec.Header(); h.Get("Cache-Control") != "no-store" || h.Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v", h)
	}
}
