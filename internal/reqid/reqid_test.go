package reqid

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestClean(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"abc-123", "abc-123"},
		{"6f1c0c5e-4b8a-4a59-9d3e-0f2b7f3f4a11", "6f1c0c5e-4b8a-4a59-9d3e-0f2b7f3f4a11"},
		{strings.Repeat("a", MaxClientLen), strings.Repeat("a", MaxClientLen)},
		{strings.Repeat("a", MaxClientLen+1), ""},
		{"two words", ""},
		{"line\nbreak", ""},
		{"tab\t", ""},
		{"del\x7f", ""},
		{"é", ""},
		{"<script>", "<script>"}, // printable: escaping is the page's job
	} {
		if got := Clean(c.in); got != c.want {
			t.Errorf("Clean(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMiddlewareStampsAndCarriesIDs(t *testing.T) {
	var seen IDs
	h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = From(r.Context()) }))
	for _, c := range []struct{ sent, echoed string }{{"c-1", "c-1"}, {"", ""}, {"bad id", ""}} {
		req := httptest.NewRequest("GET", "/", nil)
		if c.sent != "" {
			req.Header.Set(ClientHeader, c.sent)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if _, err := uuid.Parse(rec.Header().Get(RequestHeader)); err != nil || seen.Request != rec.Header().Get(RequestHeader) {
			t.Errorf("request-id %q, context %q", rec.Header().Get(RequestHeader), seen.Request)
		}
		if rec.Header().Get(ClientHeader) != c.echoed || seen.Client != c.echoed {
			t.Errorf("client-request-id %q sent: echoed %q, context %q, want %q", c.sent, rec.Header().Get(ClientHeader), seen.Client, c.echoed)
		}
	}
	if From(t.Context()) != (IDs{}) {
		t.Error("ids outside a request")
	}
}
