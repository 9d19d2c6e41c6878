package login

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/passpolicy"
)

// TestPasswordRulesShown: where a password is chosen (first-sign-in change,
// sign-up), the page states passpolicy's rules in its language before the
// field, and the field refers to them; where a password is only entered,
// it does not.
func TestPasswordRulesShown(t *testing.T) {
	h := newHarness(t, false)
	for _, lang := range i18n.Languages {
		loc := h.pages.catalog.Locale(lang)
		length := html.EscapeString(loc.T("rules.length", passpolicy.MinLength, passpolicy.MaxLength))
		for _, s := range []step{stepChange, stepSignUpCode, stepPassword, stepUsername} {
			rec := httptest.NewRecorder()
			req, _ := http.NewRequest(http.MethodGet, "/", nil)
			v := &visit{p: h.pages, w: rec, r: req, ctx: t.Context(), loc: loc,
				req: authn.Request{ID: "r", TenantID: tenantA, ClientName: "App", Scopes: []string{"openid"}}}
			v.show(flow{Step: s, Username: "alice@contoso.com"}, "")
			body := rec.Body.String()
			chosen := s == stepChange || s == stepSignUpCode
			rules, field := strings.Index(body, `<div id="rules"`), strings.Index(body, `<input id="new"`)
			if !chosen {
				if rules >= 0 {
					t.Fatalf("%s/%s: rules where no password is chosen", lang, s)
				}
				continue
			}
			if rules < 0 || field < rules || !strings.Contains(body, `aria-describedby="rules"`) {
				t.Fatalf("%s/%s: rules missing or after the field:\n%s", lang, s, body)
			}
			if !strings.Contains(body, length) || !strings.Contains(body, fmt.Sprint(passpolicy.MinLength)) {
				t.Fatalf("%s/%s: length rule %q missing:\n%s", lang, s, length, body)
			}
			for _, key := range []string{"rules.common", "rules.repetitive", "rules.context"} {
				if !strings.Contains(body, html.EscapeString(loc.T(key))) {
					t.Fatalf("%s/%s: %s missing", lang, s, key)
				}
			}
		}
	}
}
