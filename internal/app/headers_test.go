package app_test

import (
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app"
)

// Strict-Transport-Security goes on every response when the deployment is
// served over HTTPS, directly or behind a proxy that terminates TLS, and
// never over plain HTTP (RFC 6797 7.2).
func TestStrictTransportSecurityOverHTTPS(t *testing.T) {
	const hsts = "max-age=63072000; includeSubDomains"
	cases := []struct {
		name, publicURL string
		tls             bool
		want            string
	}{
		{"plain HTTP", "", false, ""},
		{"TLS on the listener", "", true, hsts},
		{"https public URL behind a proxy", "https://login.contoso.example", false, hsts},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(nil)
			publicURL := c.publicURL
			if publicURL == "" {
				publicURL = "http://" + srv.Listener.Addr().String()
			}
			st, err := app.OpenStore(t.Context(), "", t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			a, err := app.NewWithStore(app.Config{PublicURL: publicURL, DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)}, st)
			if err != nil {
				t.Fatal(err)
			}
			srv.Config.Handler = a.Handler()
			if c.tls {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			t.Cleanup(func() { srv.Close(); _ = a.Close() })
			for _, path := range []string{"/healthz", "/v1.0/users", "/common/v2.0/.well-known/openid-configuration", "/nope"} {
				resp, err := srv.Client().Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if got := resp.Header.Get("Strict-Transport-Security"); got != c.want {
					t.Errorf("%s: Strict-Transport-Security %q, want %q", path, got, c.want)
				}
			}
		})
	}
}
