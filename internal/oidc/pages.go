package oidc

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
)

// The provider's one page of its own is the form_post response; it loads
// nothing and allows no script but its nonce'd one. Its messages (errors
// for requests that must not be redirected, signed out, device sign-in
// done) are hostedpage's card.
var pages = template.Must(template.New("pages").Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.}}</title></head>{{end}}

{{define "formpost"}}{{template "head" "Signing in"}}
<body><form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><p>Your browser does not run scripts. Continue to return to the application.</p><button type="submit">Continue</button></noscript>
</form>
<script nonce="{{.Nonce}}">document.forms[0].submit();</script>
</body></html>
{{end}}

`))

type formField struct{ Name, Value string }

type formPostPage struct {
	Action string
	Fields []formField
	Nonce  string
}

// formPostCSP forbids everything form_post does not need: its one script
// and posting to the application's origin.
func formPostCSP(formAction, scriptNonce string) string {
	return "default-src 'none'; base-uri 'none'; frame-ancestors 'none'; script-src 'nonce-" + scriptNonce + "'; form-action " + formAction
}

// writePage renders a page and sends it as every hosted page is sent.
// Rendering goes to a buffer first so that a template error never leaves
// half a page behind a 200.
func writePage(w http.ResponseWriter, r *http.Request, status int, name string, data any, csp string) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		slog.ErrorContext(r.Context(), "oidc: rendering page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hostedpage.WriteHTML(w, status, csp, buf.Bytes())
}

// showError answers with an error page and never redirects: used when the
// client or its redirect URI is not trusted, or no request is left to
// answer.
func showError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	hostedpage.Write(w, r, status, hostedpage.Card{Message: message, Code: code})
}

// showMessage answers with a card whose title and text are hostedpage's
// messages titleKey and textKey, the text formatted with args, in the
// tenant's branding ("" for none).
func (p *Provider) showMessage(w http.ResponseWriter, r *http.Request, tenantID string, status int, titleKey, textKey string, args ...any) {
	lang := hostedpage.Lang(r)
	c := hostedpage.Card{Lang: lang, Title: hostedpage.T(lang, titleKey), Message: hostedpage.T(lang, textKey, args...)}
	if tenantID != "" {
		c.Brand = p.cfg.Sessions.Brand(r, tenantID)
	}
	hostedpage.Write(w, r, status, c)
}

// writeFormPost answers with a form that posts params to redirectURI,
// submitted by a nonce'd script, or by the user where scripts do not run.
func writeFormPost(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		showError(w, r, http.StatusBadRequest, "", "The application's redirect URI is not a valid URL.")
		return
	}
	page := formPostPage{Action: redirectURI, Nonce: newNonce()}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		for _, v := range params[k] {
			page.Fields = append(page.Fields, formField{Name: k, Value: v})
		}
	}
	writePage(w, r, http.StatusOK, "formpost", page, formPostCSP(u.Scheme+"://"+u.Host, page.Nonce))
}

// newNonce is a fresh CSP nonce.
func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
