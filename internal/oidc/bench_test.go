package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// BenchmarkRS256Sign is the per-core ceiling of token issuance: one
// RSA-2048 PKCS#1 v1.5 signature over a typical app-only token.
func BenchmarkRS256Sign(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		b.Fatal(err)
	}
	signingInput := benchSigningInput("RS256")
	b.ReportAllocs()
	for b.Loop() {
		digest := sha256.Sum256(signingInput)
		if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkES256Sign is the same ceiling for ES256: one ECDSA P-256
// signature over the same token.
func BenchmarkES256Sign(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	signingInput := benchSigningInput("ES256")
	b.ReportAllocs()
	for b.Loop() {
		digest := sha256.Sum256(signingInput)
		if _, err := ecdsa.SignASN1(rand.Reader, key, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignerES256 is the whole compact JWS of a token as the token
// endpoint writes it: encoding, digest, signature and its JWS form.
func BenchmarkSignerES256(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	s, err := newSigner("kid", jose.ES256, key)
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"aud":"00000003-0000-0000-c000-000000000000","iss":"https://login.example/t/v2.0","iat":1700000000,"exp":1700003600}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.sign(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// benchSigningInput is the JWS signing input of a typical app-only token.
func benchSigningInput(alg string) []byte {
	now := time.Now()
	payload := b64json(accessClaims{
		Claims: jwt.Claims{
			Issuer: testPublicURL + "/" + tenantA + "/v2.0", Subject: spA, Audience: jwt.Audience{testPublicURL},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour)), ID: newTokenID(),
		},
		TenantID: tenantA, ObjectID: spA, AuthorizedParty: appA, AuthorizedPartyACR: "1", AppID: appA, IDType: "app",
		Roles: []string{"User.Read.All", "User.ReadWrite.All"}, TokenID: newTokenID(), Version: "2.0",
	})
	return []byte(b64json(map[string]string{"alg": alg, "kid": strings.Repeat("k", 43), "typ": "JWT"}) + "." + payload)
}

// BenchmarkClientCredentials is one full token request through the HTTP
// handler in process: routing, tenant resolution, form parsing, client
// authentication (fake directory, SHA-256 secret check), claims, signature
// and JSON response. The tenant's key is already cached.
func BenchmarkClientCredentials(b *testing.B) { benchClientCredentials(b, "RS256") }

// BenchmarkClientCredentialsES256 is BenchmarkClientCredentials in a
// deployment that signs with ES256.
func BenchmarkClientCredentialsES256(b *testing.B) { benchClientCredentials(b, "ES256") }

func benchClientCredentials(b *testing.B, alg string) {
	e := newEnv(b)
	mux := http.NewServeMux()
	p, err := New(Config{PublicURL: testPublicURL, Sessions: e.sessions, SigningAlg: alg}, e.st, e.dir, e.ring)
	if err != nil {
		b.Fatal(err)
	}
	p.Register(mux)
	body := url.Values{"grant_type": {"client_credentials"}, "scope": {testPublicURL + "/.default"}}.Encode()
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(appA+":"+e.secretA))
	request := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, testPublicURL+"/"+tenantA+"/oauth2/v2.0/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec
	}
	rec := request()
	if rec.Code != http.StatusOK {
		b.Fatalf("warm-up: %d %s", rec.Code, rec.Body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tr); err != nil {
		b.Fatal(err)
	}
	var header struct {
		Alg string `json:"alg"`
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.SplitN(tr.AccessToken, ".", 2)[0])
	if err := json.Unmarshal(raw, &header); err != nil || header.Alg != alg {
		b.Fatalf("warm-up token header %s, want alg %s", raw, alg)
	}
	b.ReportAllocs()
	for b.Loop() {
		if rec := request(); rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkES256SignParallel is BenchmarkRS256SignParallel for ES256.
func BenchmarkES256SignParallel(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte(strings.Repeat("x", 700)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ecdsa.SignASN1(rand.Reader, key, digest[:]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRS256SignParallel is the machine's signing ceiling: the same
// signature on every core at once.
func BenchmarkRS256SignParallel(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte(strings.Repeat("x", 700)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyAccessToken is what the Graph API, userinfo and
// introspection do with an access token before anything else: parse,
// resolve the key (cached), check the signature and claims, and, in the
// common case, check the revocations from the node's copy.
func BenchmarkVerifyAccessToken(b *testing.B) {
	e := newEnv(b)
	p := e.nodeAt(b, testPublicURL)
	raw, err := p.issueAppToken(b.Context(), tenantA, App{AppID: appA, ServicePrincipalID: spA, Roles: []string{"User.Read.All"}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.VerifyAccessToken(b.Context(), raw); err != nil {
			b.Fatal(err)
		}
	}
}
