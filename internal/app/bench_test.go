package app_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// BenchmarkTokenEndpoint is a client_credentials request through the whole
// node (routing, tenant resolution, client authentication against the real
// directory on SQLite, signing), in process, on every core.
func BenchmarkTokenEndpoint(b *testing.B) {
	e := newEnv(b, storetest.SQLite(b, filepath.Join(b.TempDir(), "bench.db")))
	ten := e.tenant("Bench", "bench.example")
	body := url.Values{"grant_type": {"client_credentials"}, "client_id": {ten.created.Auto.ClientID}, "client_secret": {ten.created.Auto.ClientSecret}, "scope": {e.url + "/.default"}}.Encode()
	h := e.app.Handler()
	b.ResetTimer()
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
}
