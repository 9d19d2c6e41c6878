package hostedpage_test

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
	"github.com/gatehouse-id/gatehouse/internal/hostedpage/cardtest"
	"github.com/gatehouse-id/gatehouse/internal/reqid"
)

// serve renders card through reqid's middleware, as every route is served.
func serve(t *testing.T, status int, card hostedpage.Card, header http.Header) (*http.Response, string) {
	t.Helper()
	h := reqid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hostedpage.Write(w, r, status, card)
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	maps.Copy(req.Header, header)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name   string
		status int
		card   hostedpage.Card
		header http.Header
		want   cardtest.Want
		step   string
	}{
		{"error in the browser's language", http.StatusBadRequest, hostedpage.Card{Code: "AADSTS50011", Message: "bad redirect"},
			http.Header{"Accept-Language": {"sv-SE,en;q=0.5"}},
			cardtest.Want{Status: 400, Lang: "sv", Code: "AADSTS50011", Text: hostedpage.T("sv", "title.error")}, "error"},
		{"correlation id is the caller's", http.StatusServiceUnavailable, hostedpage.Card{Lang: "pl", Message: "down"},
			http.Header{"Client-Request-Id": {"caller-42"}, "Accept-Language": {"sv"}},
			cardtest.Want{Status: 503, Lang: "pl", Client: "caller-42", Text: "down"}, "error"},
		{"a refused client-request-id is not echoed", http.StatusBadRequest, hostedpage.Card{Message: "x"},
			http.Header{"Client-Request-Id": {"has space"}},
			cardtest.Want{Status: 400, Lang: "en"}, "error"},
		{"notice", http.StatusOK, hostedpage.Card{Lang: "it", Title: "Fatto", Message: "ok"}, nil,
			cardtest.Want{Status: 200, Lang: "it", Text: "Fatto"}, "message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.Since = time.Now()
			resp, body := serve(t, tt.status, tt.card, tt.header)
			cardtest.Check(t, resp, body, tt.want)
			if !strings.Contains(body, `<main data-step="`+tt.step+`">`) {
				t.Fatalf("not a %s card:\n%s", tt.step, body)
			}
		})
	}
}

// TestWriteEscapes: a message carries what a request said (a redirect URI,
// a client id); it is text on the page, never markup.
func TestWriteEscapes(t *testing.T) {
	resp, body := serve(t, http.StatusBadRequest, hostedpage.Card{Message: `<script>alert(1)</script>`, Code: `"><b>`}, nil)
	if resp.StatusCode != 400 || strings.Contains(body, "<script>") || strings.Contains(body, "<b>") ||
		!strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatalf("not escaped:\n%s", body)
	}
}
