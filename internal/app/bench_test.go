package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/pagewalk"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// BenchmarkTokenEndpoint is a client_credentials request through the whole
// node (routing, tenant resolution, client authentication against the real
// directory on SQLite, signing), in process, on every core: the tenant's
// automation app (RS256, the default) and an app that asks for ES256.
func BenchmarkTokenEndpoint(b *testing.B) {
	e := newEnv(b, storetest.SQLite(b, filepath.Join(b.TempDir(), "bench.db")))
	ten := e.tenant("Bench", "bench.example")
	ec := e.mustCall(201, "POST", "/v1.0/applications", ten.token, map[string]any{"displayName": "EC daemon", "tags": []string{"gatehouse:signingAlg=ES256"}}).body
	e.mustCall(201, "POST", "/v1.0/servicePrincipals", ten.token, map[string]any{"appId": ec["appId"]})
	ecSecret := e.mustCall(200, "POST", "/v1.0/applications/"+ec["id"].(string)+"/addPassword", ten.token, map[string]any{}).body["secretText"].(string)
	for _, c := range []struct{ alg, id, secret string }{
		{"RS256", ten.created.Auto.ClientID, ten.created.Auto.ClientSecret},
		{"ES256", ec["appId"].(string), ecSecret},
	} {
		b.Run(c.alg, func(b *testing.B) {
			body := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.id}, "client_secret": {c.secret}, "scope": {e.public + "/.default"}}.Encode()
			h := e.app.Handler()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, e.url+"/"+ten.id+"/oauth2/v2.0/token", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Errorf("status %d: %s", rec.Code, rec.Body)
						return
					}
				}
			})
		})
	}
}

// BenchmarkGraphRequest is an app-only GET /v1.0/users/{id} through the
// whole node in process (token verification, its revocation check, the
// directory read on SQLite), one request at a time; p50-µs is the median.
func BenchmarkGraphRequest(b *testing.B) {
	e := newEnv(b, storetest.SQLite(b, filepath.Join(b.TempDir(), "bench.db")))
	ten := e.tenant("Bench", "bench.example")
	id := e.addUser(ten, "alice")
	h := e.app.Handler()
	medianOf(b, func() {
		req := httptest.NewRequest(http.MethodGet, e.url+"/v1.0/users/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+ten.token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}

// BenchmarkRefreshTokenRequest is a refresh_token grant of a confidential
// client through the whole node in process on SQLite (client
// authentication, the grant's checks including revocations and the session
// policy, rotation, signing), one at a time; p50-µs is the median.
func BenchmarkRefreshTokenRequest(b *testing.B) {
	e := newEnv(b, storetest.SQLite(b, filepath.Join(b.TempDir(), "bench.db")))
	ten := e.tenant("Bench", "bench.example")
	e.addUser(ten, "alice")
	const cb = "https://bench.example/cb"
	app := e.mustCall(201, "POST", "/v1.0/applications", ten.token, map[string]any{"displayName": "Bench", "web": map[string]any{"redirectUris": []string{cb}}}).body
	secret := e.mustCall(200, "POST", "/v1.0/applications/"+app["id"].(string)+"/addPassword", ten.token, map[string]any{}).body["secretText"].(string)
	conf := oauth2.Config{ClientID: app["appId"].(string), ClientSecret: secret, RedirectURL: cb, Scopes: []string{"openid", "offline_access", "User.Read"},
		Endpoint: oauth2.Endpoint{AuthURL: e.url + "/" + ten.id + "/oauth2/v2.0/authorize", TokenURL: e.url + "/" + ten.id + "/oauth2/v2.0/token"}}
	verifier := oauth2.GenerateVerifier()
	back, err := pagewalk.New(nil).SignIn(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), answersFor("alice@"+ten.domain, "correct horse battery alice"))
	if err != nil {
		b.Fatal(err)
	}
	tok, err := conf.Exchange(context.Background(), back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		b.Fatal(err)
	}
	rt := tok.RefreshToken
	h := e.app.Handler()
	medianOf(b, func() {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {conf.ClientID}, "client_secret": {secret}}
		req := httptest.NewRequest(http.MethodPost, conf.Endpoint.TokenURL, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out struct {
			RefreshToken string `json:"refresh_token"`
		}
		if rec.Code != 200 || json.NewDecoder(rec.Body).Decode(&out) != nil || out.RefreshToken == "" {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		rt = out.RefreshToken
	})
}

// medianOf runs op b.N times and reports the median latency as p50-µs.
func medianOf(b *testing.B, op func()) {
	b.Helper()
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		op()
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
}
