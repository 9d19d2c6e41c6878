package oidc

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const testPublicURL = "https://id.example.test"

// tenantPrivateKey opens the tenant's current signing key from the store,
// as only a holder of the master key could.
func tenantPrivateKey(t *testing.T, e *env, tenantID string) (*rsa.PrivateKey, string) {
	t.Helper()
	rows := e.st.rows(tenantID)
	if len(rows) != 1 {
		t.Fatalf("tenant %s has %d keys", tenantID, len(rows))
	}
	der, err := e.ring.Open(rows[0].PrivateSealed, keyAAD(tenantID, rows[0].KID))
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey), rows[0].KID
}

func signWith(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func b64json(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestVerifyAccessTokenRejects(t *testing.T) {
	e := newEnv(t)
	p := e.nodeAt(t, testPublicURL)
	ctx := t.Context()
	// Both tenants get keys.
	for _, tid := range []string{tenantA, tenantB} {
		if _, err := p.keys.signer(ctx, tid, jose.RS256); err != nil {
			t.Fatal(err)
		}
	}
	privA, kidA := tenantPrivateKey(t, e, tenantA)
	now := e.clock.now()

	claims := func(mod func(*accessClaims)) accessClaims {
		c := accessClaims{
			Claims: jwt.Claims{
				Issuer: testPublicURL + "/" + tenantA + "/v2.0", Subject: spA, Audience: jwt.Audience{testPublicURL},
				IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour)), ID: "id",
			},
			TenantID: tenantA, ObjectID: spA, AppID: appA, IDType: "app", Roles: []string{"User.Read.All"}, TokenID: "id", Version: "2.0",
		}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	signA := func(mod func(*accessClaims)) string { return signWith(t, jose.RS256, privA, kidA, claims(mod)) }

	// The sanity case: a hand-made token with the right key and claims passes,
	// so every rejection below is caused by its one defect.
	if _, err := p.VerifyAccessToken(ctx, signA(nil)); err != nil {
		t.Fatalf("well-formed token rejected: %v", err)
	}

	pubJWK, _ := json.Marshal(jose.JSONWebKey{Key: &privA.PublicKey, KeyID: kidA, Algorithm: "RS256", Use: "sig"})
	pubDER, _ := x509.MarshalPKIXPublicKey(&privA.PublicKey)
	hs256 := func(secret []byte) string {
		signingInput := b64json(map[string]string{"alg": "HS256", "kid": kidA, "typ": "JWT"}) + "." + b64json(claims(nil))
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(signingInput))
		return signingInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)

	tests := []struct {
		name string
		raw  string
	}{
		{"alg none", b64json(map[string]string{"alg": "none", "kid": kidA, "typ": "JWT"}) + "." + b64json(claims(nil)) + "."},
		{"HS256 keyed with the public JWK", hs256(pubJWK)},
		{"HS256 keyed with the public key DER", hs256(pubDER)},
		{"PS256 with the right key", signWith(t, jose.PS256, privA, kidA, claims(nil))},
		{"RS512 with the right key", signWith(t, jose.RS512, privA, kidA, claims(nil))},
		{"unknown kid", signWith(t, jose.RS256, stranger, "not-a-published-kid", claims(nil))},
		{"right kid, other key", signWith(t, jose.RS256, stranger, kidA, claims(nil))},
		{"no kid", signWith(t, jose.RS256, privA, "", claims(nil))},
		{"wrong audience", signA(func(c *accessClaims) { c.Audience = jwt.Audience{"https://graph.microsoft.com"} })},
		{"extra audience", signA(func(c *accessClaims) { c.Audience = jwt.Audience{testPublicURL, "https://other.example"} })},
		{"wrong issuer", signA(func(c *accessClaims) { c.Issuer = testPublicURL + "/" + tenantB + "/v2.0" })},
		{"issuer by domain", signA(func(c *accessClaims) { c.Issuer = testPublicURL + "/contoso.example/v2.0" })},
		{"expired", signA(func(c *accessClaims) { c.Expiry = jwt.NewNumericDate(now.Add(-2 * time.Minute)) })},
		{"not yet valid", signA(func(c *accessClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(5 * time.Minute)) })},
		{"issued in the future", signA(func(c *accessClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(5 * time.Minute)) })},
		{"no exp", signA(func(c *accessClaims) { c.Expiry = nil })},
		{"no oid", signA(func(c *accessClaims) { c.ObjectID = "" })},
		{"tenant A's key, tenant B's tid", signA(func(c *accessClaims) {
			c.TenantID = tenantB
			c.Issuer = testPublicURL + "/" + tenantB + "/v2.0"
		})},
		{"tid not a GUID", signA(func(c *accessClaims) { c.TenantID = "contoso.example" })},
		{"tid of a tenant without keys", signA(func(c *accessClaims) { c.TenantID = "33333333-3333-4333-8333-333333333333" })},
		{"garbage", "not a token"},
		{"two parts", "eyJhbGciOiJSUzI1NiJ9.e30"},
		{"oversized", signA(func(c *accessClaims) { c.Roles = []string{strings.Repeat("R", maxTokenSize)} })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, err := p.VerifyAccessToken(ctx, tt.raw)
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("VerifyAccessToken = %+v, %v; want ErrInvalidToken", at, err)
			}
			if len(tt.raw) > 30 && strings.Contains(err.Error(), tt.raw) {
				t.Fatal("error contains the token")
			}
		})
	}
	if e.st.keys["33333333-3333-4333-8333-333333333333"] != nil || p.keys.cached("33333333-3333-4333-8333-333333333333") != nil {
		t.Fatal("a token naming a tenant without keys created keys or a cache entry")
	}
}

func TestVerifyAccessTokenLifetime(t *testing.T) {
	e := newEnv(t)
	p := e.nodeAt(t, testPublicURL)
	raw, err := p.issueAppToken(t.Context(), tenantA, App{AppID: appA, ServicePrincipalID: spA})
	if err != nil {
		t.Fatal(err)
	}
	issued := e.clock.now()
	tests := []struct {
		at    time.Duration // after issue
		valid bool
	}{
		{0, true},
		{time.Hour, true},                   // exp itself
		{time.Hour + 59*time.Second, true},  // within the leeway
		{time.Hour + 61*time.Second, false}, // past exp + leeway
		{-59 * time.Second, true},           // nbf - leeway
		{-61 * time.Second, false},          // before nbf - leeway
	}
	for _, tt := range tests {
		e.clock.advance(issued.Add(tt.at).Sub(e.clock.now()))
		_, err := p.VerifyAccessToken(t.Context(), raw)
		if tt.valid != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidToken)) {
			t.Fatalf("%s after issue: err = %v, want valid %v", tt.at, err, tt.valid)
		}
	}
}

func TestVerifyAccessTokenStoreDown(t *testing.T) {
	e := newEnv(t)
	issuer := e.nodeAt(t, testPublicURL)
	raw, err := issuer.issueAppToken(t.Context(), tenantA, App{AppID: appA, ServicePrincipalID: spA})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := issuer.VerifyAccessToken(t.Context(), raw); err != nil {
		t.Fatal(err)
	}
	verifier := e.nodeAt(t, testPublicURL) // a node that has not cached tenant A's keys
	e.st.fail = errors.New("db gone")
	_, err = verifier.VerifyAccessToken(t.Context(), raw)
	if err == nil || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("err = %v; a store outage must not look like a bad token", err)
	}
	// A node that cached the keys, and read the revocations moments ago,
	// keeps verifying (for revocation.MaxStale at most).
	if _, err := issuer.VerifyAccessToken(t.Context(), raw); err != nil {
		t.Fatalf("cached keys: %v", err)
	}
}
