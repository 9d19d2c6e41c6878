package login

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/hostedpage/cardtest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestErrorPagesAreTheCard: the pages' errors are hostedpage's card, in the
// browser's language, with the request's ids and the time.
func TestErrorPagesAreTheCard(t *testing.T) {
	tests := []struct {
		name   string
		status int
		key    string
		do     func(h *harness, b *browser) *page
	}{
		{"unknown request", http.StatusBadRequest, "error.request", func(h *harness, b *browser) *page {
			return b.open("req-unknown")
		}},
		{"cross-site post", http.StatusForbidden, "error.forbidden", func(h *harness, b *browser) *page {
			b.expect(b.open(h.request()), "username")
			form := b.last.hidden(t)
			b.header.Set("Sec-Fetch-Site", "cross-site")
			return b.post(form)
		}},
		{"store unavailable", http.StatusServiceUnavailable, "error.internal", func(h *harness, b *browser) *page {
			b.expect(b.open(h.request()), "username")
			form := b.last.hidden(t)
			form.Set("username", "alice@contoso.com")
			h.store.fail = fmt.Errorf("reading state: %w", store.ErrUnavailable)
			return b.post(form)
		}},
	}
	for _, tt := range tests {
		for _, lang := range []struct{ accept, want, client string }{{"", "en", ""}, {"it-IT", "it", "caller-9"}} {
			t.Run(tt.name+"/"+lang.want, func(t *testing.T) {
				h := newHarness(t, false)
				b := h.browser()
				b.header.Set("Accept-Language", lang.accept)
				if lang.client != "" {
					b.header.Set("client-request-id", lang.client)
				}
				since := time.Now()
				p := tt.do(h, b)
				loc := h.pages.catalog.Locale(lang.want)
				cardtest.Check(t, &http.Response{StatusCode: p.status, Header: p.header}, p.body, cardtest.Want{
					Status: tt.status, Lang: lang.want, Client: lang.client, Since: since, Text: loc.T(tt.key),
				})
				if p.step() != "error" {
					t.Fatalf("step %q", p.step())
				}
			})
		}
	}
}
