package httpobs

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestObservationNamesThePatternNotThePath(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/users/{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") })
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		MarkPoll(r.Context())
		w.WriteHeader(http.StatusBadRequest)
	})
	mux.HandleFunc("GET /quiet", func(http.ResponseWriter, *http.Request) {})
	var got []Observation
	h := Middleware(mux, func(o Observation) { got = append(got, o) })
	for _, c := range []struct {
		method, path, route string
		status              int
		bytes               int64
		poll                bool
	}{
		{"GET", "/v1.0/users/alice@contoso.example?$select=id", "GET /v1.0/users/{id}", 200, 5, false},
		{"POST", "/contoso.example/oauth2/v2.0/token", "POST /{tenant}/oauth2/v2.0/token", 400, 0, true},
		{"GET", "/quiet", "GET /quiet", 200, 0, false},
		{"GET", "/no/such/thing", Unmatched, 404, 19, false},
		{"DELETE", "/quiet", Unmatched, 405, 19, false},
	} {
		got = nil
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(c.method, c.path, nil))
		if len(got) != 1 {
			t.Fatalf("%s %s: %d observations", c.method, c.path, len(got))
		}
		o := got[0]
		if o.Route != c.route || o.Status != c.status || o.Bytes != c.bytes || o.Poll != c.poll || o.Duration <= 0 {
			t.Errorf("%s %s: %+v, want route %q status %d bytes %d poll %v", c.method, c.path, o, c.route, c.status, c.bytes, c.poll)
		}
	}
}
