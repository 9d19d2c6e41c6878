package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2/clientcredentials"
)

// headerAlg is the alg of a compact JWS.
func headerAlg(t *testing.T, raw string) string {
	t.Helper()
	jws, err := jose.ParseSigned(raw, signingAlgs)
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Header.Algorithm
}

// jwksKinds fetches a JWKS and returns its keys' "kty/alg", and fails on
// any private member.
func jwksKinds(t *testing.T, u string) []string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &doc) != nil {
		t.Fatalf("JWKS %d %s", resp.StatusCode, raw)
	}
	var out []string
	for _, k := range doc.Keys {
		if k["kty"] == "EC" && (k["crv"] != "P-256" || k["use"] != "sig") {
			t.Errorf("EC key %v", k)
		}
		for _, private := range []string{"d", "p", "q"} {
			if _, ok := k[private]; ok {
				t.Errorf("published key has private member %q", private)
			}
		}
		out = append(out, k["kty"].(string)+"/"+k["alg"].(string))
	}
	slices.Sort(out)
	return out
}

// verifyAnyWithJWKS verifies raw against the JWKS as a resource server
// accepting RS256 and ES256 would, and returns its claims.
func verifyAnyWithJWKS(t *testing.T, jwksURL, raw string) map[string]any {
	t.Helper()
	var set jose.JSONWebKeySet
	getJSON(t, jwksURL, &set)
	tok, err := jwt.ParseSigned(raw, signingAlgs)
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 || keys[0].Algorithm != tok.Headers[0].Algorithm {
		t.Fatalf("kid %q matches %d published keys", tok.Headers[0].KeyID, len(keys))
	}
	var claims map[string]any
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		t.Fatalf("signature: %v", err)
	}
	return claims
}

// TestES256ByDeployment: with SigningAlg ES256 every tenant signs with P-256
// keys, and publishes only those.
func TestES256ByDeployment(t *testing.T) {
	e := newEnv(t)
	mux := http.NewServeMux()
	srv := newServer(t, mux)
	cfg := e.config(srv.URL)
	cfg.SigningAlg = "ES256"
	p, err := New(cfg, e.st, e.dir, e.ring)
	if err != nil {
		t.Fatal(err)
	}
	p.Register(mux)
	if got := jwksKinds(t, srv.URL+"/"+tenantA+"/discovery/v2.0/keys"); !slices.Equal(got, []string{"EC/ES256"}) {
		t.Fatalf("JWKS before any token: %v", got)
	}
	cc := clientcredentials.Config{ClientID: appA, ClientSecret: e.secretA, TokenURL: srv.URL + "/" + tenantA + "/oauth2/v2.0/token", Scopes: []string{srv.URL + "/.default"}}
	tok, err := cc.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if alg := headerAlg(t, tok.AccessToken); alg != "ES256" {
		t.Fatalf("access token alg %s", alg)
	}
	if c := verifyAnyWithJWKS(t, srv.URL+"/"+tenantA+"/discovery/v2.0/keys", tok.AccessToken); c["oid"] != spA || c["idtyp"] != "app" {
		t.Fatalf("claims %v", c)
	}
	if at, err := p.VerifyAccessToken(t.Context(), tok.AccessToken); err != nil || at.ObjectID != spA {
		t.Fatalf("VerifyAccessToken: %+v, %v", at, err)
	}
	if got := jwksKinds(t, srv.URL+"/"+tenantA+"/discovery/v2.0/keys"); !slices.Equal(got, []string{"EC/ES256"}) {
		t.Fatalf("JWKS: %v", got)
	}
}

// TestES256ByClient: in a tenant that signs with RS256, an application that
// chose ES256 gets ES256 ID, access and refreshed tokens, which go-oidc
// verifies through discovery; other clients keep RS256, and the JWKS
// publishes both keys.
func TestES256ByClient(t *testing.T) {
	f := newFlow(t)
	f.clock.set(time.Now().Truncate(time.Second)) // go-oidc checks expiry by the real clock
	c := f.dir.clients[tenantA+"/"+spaApp]
	c.SigningAlg = "ES256"
	f.dir.clients[tenantA+"/"+spaApp] = c

	tr := f.spaTokens(t)
	for name, raw := range map[string]string{"ID": tr.IDToken, "access": tr.AccessToken} {
		if alg := headerAlg(t, raw); alg != "ES256" {
			t.Fatalf("%s token alg %s", name, alg)
		}
	}
	provider, err := gooidc.NewProvider(t.Context(), f.srv.URL+"/"+tenantA+"/v2.0")
	if err != nil {
		t.Fatal(err)
	}
	idt, err := provider.Verifier(&gooidc.Config{ClientID: spaApp}).Verify(t.Context(), tr.IDToken)
	if err != nil {
		t.Fatalf("go-oidc rejects the ES256 ID token: %v", err)
	}
	if err := idt.VerifyAccessToken(tr.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	if at, err := f.p.VerifyAccessToken(t.Context(), tr.AccessToken); err != nil || at.ObjectID != userAlice {
		t.Fatalf("VerifyAccessToken: %+v, %v", at, err)
	}
	if r := f.refreshSPA(t, tenantA, tr.RefreshToken); r.status != http.StatusOK || headerAlg(t, r.AccessToken) != "ES256" || headerAlg(t, r.IDToken) != "ES256" {
		t.Fatalf("refresh %+v", r)
	}

	// The tenant's own algorithm is unchanged for everyone else.
	app := f.token(t, tenantA, url.Values{"grant_type": {"client_credentials"}, "scope": {f.srv.URL + "/.default"}}, appA, f.secretA)
	if app.status != http.StatusOK || headerAlg(t, app.AccessToken) != "RS256" {
		t.Fatalf("client_credentials %+v", app)
	}
	if got := jwksKinds(t, f.srv.URL+"/"+tenantA+"/discovery/v2.0/keys"); !slices.Equal(got, []string{"EC/ES256", "RSA/RS256"}) {
		t.Fatalf("JWKS: %v", got)
	}
	for _, raw := range []string{tr.IDToken, app.AccessToken} {
		verifyAnyWithJWKS(t, f.srv.URL+"/"+tenantA+"/discovery/v2.0/keys", raw)
	}

	// An application's ES256 also applies to its app-only tokens.
	fa := f.dir.apps[tenantA+"/"+appA]
	fa.SigningAlg = "ES256"
	f.dir.apps[tenantA+"/"+appA] = fa
	app = f.token(t, tenantA, url.Values{"grant_type": {"client_credentials"}, "scope": {f.srv.URL + "/.default"}}, appA, f.secretA)
	if app.status != http.StatusOK || headerAlg(t, app.AccessToken) != "ES256" {
		t.Fatalf("client_credentials of an ES256 app %+v", app)
	}
}

// TestTenantSigningAlg: the per-tenant hook chooses each tenant's
// algorithm; its failure fails closed, and a value it cannot honour is an
// internal error rather than a silent fallback.
func TestTenantSigningAlg(t *testing.T) {
	e := newEnv(t)
	mux := http.NewServeMux()
	srv := newServer(t, mux)
	var (
		mu        sync.Mutex
		hookErr   error
		hookValue = "ES256"
	)
	setHook := func(v string, err error) {
		mu.Lock()
		defer mu.Unlock()
		hookValue, hookErr = v, err
	}
	cfg := e.config(srv.URL)
	cfg.TenantSigningAlg = func(_ context.Context, tid string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if tid == tenantB {
			return hookValue, hookErr
		}
		return "", nil
	}
	p, err := New(cfg, e.st, e.dir, e.ring)
	if err != nil {
		t.Fatal(err)
	}
	p.Register(mux)
	f := &flow{env: e, p: p, srv: srv}
	token := func(tid, app, secret string) tokenReply {
		return f.token(t, tid, url.Values{"grant_type": {"client_credentials"}, "scope": {srv.URL + "/.default"}}, app, secret)
	}
	if tr := token(tenantA, appA, e.secretA); tr.status != 200 || headerAlg(t, tr.AccessToken) != "RS256" {
		t.Fatalf("tenant A: %+v", tr)
	}
	if tr := token(tenantB, appB, e.secretB); tr.status != 200 || headerAlg(t, tr.AccessToken) != "ES256" {
		t.Fatalf("tenant B: %+v", tr)
	}
	if got := jwksKinds(t, srv.URL+"/"+tenantB+"/discovery/v2.0/keys"); !slices.Equal(got, []string{"EC/ES256"}) {
		t.Fatalf("tenant B's JWKS: %v", got)
	}

	setHook("ES256", errors.New("settings unavailable"))
	if tr := token(tenantB, appB, e.secretB); tr.status != http.StatusServiceUnavailable || tr.Error != "temporarily_unavailable" {
		t.Fatalf("hook failing: %+v", tr)
	}
	if resp, err := http.Get(srv.URL + "/" + tenantB + "/discovery/v2.0/keys"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("JWKS with the hook failing: %v %v", resp.StatusCode, err)
	}
	setHook("HS256", nil)
	if tr := token(tenantB, appB, e.secretB); tr.status != http.StatusInternalServerError || tr.AccessToken != "" {
		t.Fatalf("hook answering HS256: %+v", tr)
	}

	// An application asking for an algorithm that is not offered gets no token.
	fa := e.dir.apps[tenantA+"/"+appA]
	fa.SigningAlg = "PS256"
	e.dir.apps[tenantA+"/"+appA] = fa
	if tr := token(tenantA, appA, e.secretA); tr.status != http.StatusInternalServerError || tr.AccessToken != "" {
		t.Fatalf("app asking for PS256: %+v", tr)
	}
}

// openTenantKey opens the tenant's key of alg from the store, as only a holder
// of the master key could.
func openTenantKey(t *testing.T, e *env, tenantID string, alg jose.SignatureAlgorithm) (any, string) {
	t.Helper()
	for _, row := range e.st.rows(tenantID) {
		if row.Alg != string(alg) {
			continue
		}
		der, err := e.ring.Open(row.PrivateSealed, keyAAD(tenantID, row.KID))
		if err != nil {
			t.Fatal(err)
		}
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			t.Fatal(err)
		}
		return k, row.KID
	}
	t.Fatalf("tenant %s has no %s key", tenantID, alg)
	return nil, ""
}

// TestVerifyAccessTokenRejectsAcrossAlgorithms: each key verifies only its
// own algorithm, and nothing but RS256 and ES256 is accepted.
func TestVerifyAccessTokenRejectsAcrossAlgorithms(t *testing.T) {
	e := newEnv(t)
	p := e.nodeAt(t, testPublicURL)
	ctx := t.Context()
	for _, alg := range signingAlgs {
		if _, err := p.keys.signer(ctx, tenantA, alg); err != nil {
			t.Fatal(err)
		}
	}
	ecPriv, ecKID := openTenantKey(t, e, tenantA, jose.ES256)
	rsaPriv, rsaKID := openTenantKey(t, e, tenantA, jose.RS256)
	now := e.clock.now()
	claims := accessClaims{
		Claims: jwt.Claims{
			Issuer: testPublicURL + "/" + tenantA + "/v2.0", Subject: spA, Audience: jwt.Audience{testPublicURL},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour)),
		},
		TenantID: tenantA, ObjectID: spA, AppID: appA, IDType: "app", Version: "2.0",
	}
	for _, ok := range []string{signWith(t, jose.ES256, ecPriv, ecKID, claims), signWith(t, jose.RS256, rsaPriv, rsaKID, claims)} {
		if _, err := p.VerifyAccessToken(ctx, ok); err != nil {
			t.Fatalf("well-formed token rejected: %v", err)
		}
	}
	strangerEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	strangerRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecPub := ecPriv.(*ecdsa.PrivateKey).Public()
	ecJWK, _ := json.Marshal(jose.JSONWebKey{Key: ecPub, KeyID: ecKID, Algorithm: "ES256", Use: "sig"})
	hs256 := func(secret []byte) string {
		signingInput := b64json(map[string]string{"alg": "HS256", "kid": ecKID, "typ": "JWT"}) + "." + b64json(claims)
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(signingInput))
		return signingInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}
	tests := []struct {
		name string
		raw  string
	}{
		{"ES256 by another key under the EC kid", signWith(t, jose.ES256, strangerEC, ecKID, claims)},
		{"ES256 under the RSA kid", signWith(t, jose.ES256, strangerEC, rsaKID, claims)},
		{"RS256 under the EC kid", signWith(t, jose.RS256, strangerRSA, ecKID, claims)},
		{"ES384", signWith(t, jose.ES384, p384, ecKID, claims)},
		{"alg none under the EC kid", b64json(map[string]string{"alg": "none", "kid": ecKID}) + "." + b64json(claims) + "."},
		{"HS256 keyed with the EC JWK", hs256(ecJWK)},
		{"unknown kid", signWith(t, jose.ES256, strangerEC, "not-a-kid", claims)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if at, err := p.VerifyAccessToken(ctx, tt.raw); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("VerifyAccessToken = %+v, %v; want ErrInvalidToken", at, err)
			}
		})
	}
}

// TestRotationPerAlgorithm: each algorithm's key rotates on its own schedule.
func TestRotationPerAlgorithm(t *testing.T) {
	e := newEnv(t)
	p := e.nodeAt(t, testPublicURL)
	t0 := e.clock.now()
	if _, err := p.keys.signer(t.Context(), tenantA, jose.RS256); err != nil {
		t.Fatal(err)
	}
	e.clock.advance(10 * 24 * time.Hour)
	if _, err := p.keys.signer(t.Context(), tenantA, jose.ES256); err != nil {
		t.Fatal(err)
	}
	count := func() map[string]int {
		n := map[string]int{}
		for _, r := range e.st.rows(tenantA) {
			n[r.Alg]++
		}
		return n
	}
	e.clock.set(t0.Add(defaultRotationInterval - defaultPrePublish))
	if err := p.RotateKeys(t.Context(), tenantA); err != nil {
		t.Fatal(err)
	}
	if n := count(); n["RS256"] != 2 || n["ES256"] != 1 {
		t.Fatalf("RS256 due: %v", n)
	}
	e.clock.advance(10 * 24 * time.Hour)
	if err := p.RotateKeys(t.Context(), tenantA); err != nil {
		t.Fatal(err)
	}
	if n := count(); n["RS256"] != 1 || n["ES256"] != 2 {
		t.Fatalf("ES256 due: %v", n)
	}
}

// newServer is an httptest server closed with the test.
func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
