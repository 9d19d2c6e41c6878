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
)

// The provider's own pages are few and plain: an error page for requests
// that must not be redirected, the form_post response, and the signed-out
// page. They load nothing and allow no script but form_post's nonce'd one.
var pages = template.Must(template.New("pages").Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.}}</title></head>{{end}}

{{define "error"}}{{template "head" .Title}}
<body><main><h1>{{.Title}}</h1><p>{{.Message}}</p>{{if .Code}}<p>Error: {{.Code}}</p>{{end}}</main></body></html>
{{end}}

{{define "formpost"}}{{template "head" "Signing in"}}
<body><form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><p>Your browser does not run scripts. Continue to return to the application.</p><button type="submit">Continue</button></noscript>
</form>
<script nonce="{{.Nonce}}">document.forms[0].submit();</script>
</body></html>
{{end}}

{{define "device"}}{{template "head" .Title}}
<body><style nonce="{{.Nonce}}">main{max-width:32em;margin:3em auto;font-family:system-ui,sans-serif}</style>
<main><h1>{{.Title}}</h1><p>{{.Message}}</p></main></body></html>
{{end}}

{{define "signedout"}}{{template "head" "Signed out"}}
<body><main><h1>You have signed out</h1><p>It is a good idea to close all browser windows.</p></main></body></html>
{{end}}
`))

type errorPage struct {
	Title   string
	Message string
	Code    string // an Entra-style error code, for admins to look up
}

type formField struct{ Name, Value string }

// devicePage tells the user how a device sign-in ended; the browser has
// nowhere to go back to.
type devicePage struct {
	Title, Message, Nonce string
}

type formPostPage struct {
	Action string
	Fields []formField
	Nonce  string
}

// pageCSP forbids everything a page does not need; formAction and
// scriptNonce open exactly what form_post needs, styleNonce the one style
// block of the device pages.
func pageCSP(formAction, scriptNonce, styleNonce string) string {
	csp := "default-src 'none'; base-uri 'none'; frame-ancestors 'none'"
	if scriptNonce != "" {
		csp += "; script-src 'nonce-" + scriptNonce + "'"
	}
	if styleNonce != "" {
		csp += "; style-src 'nonce-" + styleNonce + "'"
	}
	if formAction != "" {
		csp += "; form-action " + formAction
	} else {
		csp += "; form-action 'none'"
	}
	return csp
}

// writePage renders a page with headers that keep it out of caches, frames
// and referrers. Rendering goes to a buffer first so that a template error
// never leaves half a page behind a 200.
func writePage(w http.ResponseWriter, r *http.Request, status int, name string, data any, csp string) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		slog.ErrorContext(r.Context(), "oidc: rendering page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// showError answers with an error page and never redirects: used when the
// client or its redirect URI is not trusted, or no request is left to
// answer.
func showError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	title := "Sorry, but we're having trouble signing you in."
	writePage(w, r, status, "error", errorPage{Title: title, Message: message, Code: code}, pageCSP("", "", ""))
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
	writePage(w, r, http.StatusOK, "formpost", page, pageCSP(u.Scheme+"://"+u.Host, page.Nonce, ""))
}

// writeDevicePage tells the user in the browser how the device sign-in
// ended.
func writeDevicePage(w http.ResponseWriter, r *http.Request, title, message string) {
	page := devicePage{Title: title, Message: message, Nonce: newNonce()}
	writePage(w, r, http.StatusOK, "device", page, pageCSP("", "", page.Nonce))
}

// newNonce is a fresh CSP nonce.
func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
