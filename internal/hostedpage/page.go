// Package hostedpage owns what every hosted page shares, whether the
// sign-in pages (login) or the provider's own (oidc) render it: the
// language a page is in (the user's choice before i18n's negotiation), the
// card's stylesheet, and the message
// card (errors, signed out, device sign-in done) with the ids an
// administrator needs to find the request in the logs.
package hostedpage

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/reqid"
)

//go:embed style.css card.html start.html messages/*.json
var files embed.FS

var (
	stylesheet = template.CSS(must(files.ReadFile("style.css")))
	catalog    = must(i18n.Load(files, "messages"))
	pages      = template.Must(template.New("card.html").Funcs(template.FuncMap{"stylesheet": Stylesheet}).ParseFS(files, "card.html", "start.html"))
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Stylesheet is the card's CSS, for a page's nonce'd style element.
func Stylesheet() template.CSS { return stylesheet }

// T is the message key in lang (English where lang has none), formatted
// with args.
func T(lang, key string, args ...any) string {
	return catalog.Locale(lang).T(key, args...)
}

// Card is what a message page says. Title "" is the generic "trouble
// signing you in"; Code is an Entra error code (AADSTS…), for an
// administrator to look up, "" when there is none.
type Card struct {
	Lang    string
	Title   string
	Message string
	Code    string
	// Brand is the branding of the tenant the page is for, nil for the
	// neutral card.
	Brand *Brand
}

// Brand is a tenant's branding on a card, as the sign-in pages checked it:
// the logo a same-origin or https address, the background a CSS colour,
// the links https.
type Brand struct {
	TenantName string
	LogoURL    string
	Background template.CSS
	Links      []Link
}

// Link is one of a tenant's footer links.
type Link struct{ URL, Text string }

// cardView is a Card as the template sees it.
type cardView struct {
	Card
	// Failed: the card answers a request that failed (an error status),
	// not one that ended as it should (signed out, device done).
	Failed        bool
	Nonce         string
	RequestID     string
	CorrelationID string
	Timestamp     string
}

func (v cardView) T(key string) string { return T(v.Lang, key) }

// Write answers with the card: the request's ids (the correlation id is
// the caller's client-request-id, else the request id, as Entra shows it)
// and the time in UTC, under a CSP that allows only the nonce'd style.
// Lang "" is negotiated from the request's Accept-Language.
func Write(w http.ResponseWriter, r *http.Request, status int, c Card) {
	if c.Lang == "" {
		c.Lang = Lang(r)
	}
	if c.Title == "" {
		c.Title = T(c.Lang, "title.error")
	}
	ids := reqid.From(r.Context())
	v := cardView{Card: c, Failed: status >= 400, Nonce: nonce(), RequestID: ids.Request, CorrelationID: ids.Client,
		Timestamp: time.Now().UTC().Format(time.RFC3339)}
	if v.CorrelationID == "" {
		v.CorrelationID = ids.Request
	}
	csp := policy(v.Nonce)
	if c.Brand != nil && c.Brand.LogoURL != "" {
		csp += "; img-src 'self' https:"
	}
	execute(w, r, status, "card.html", csp, v)
}

// policy is the CSP of a page that has nothing but its nonce'd style.
func policy(nonce string) string {
	return "default-src 'none'; style-src 'nonce-" + nonce + "'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
}

// execute renders one of the package's pages and answers with it.
func execute(w http.ResponseWriter, r *http.Request, status int, name, csp string, data any) {
	// A buffer first, so that a template error never leaves half a page
	// behind the status.
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		slog.ErrorContext(r.Context(), "hostedpage: rendering page", "page", name, "error", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	WriteHTML(w, status, csp, buf.Bytes())
}

// startView is what the start page renders.
type startView struct{ Lang, Nonce string }

func (v startView) T(key string) string { return T(v.Lang, key) }

// WriteStart answers with the start page: what this server is, and the
// way to the admin centre, in the browser's language.
func WriteStart(w http.ResponseWriter, r *http.Request) {
	v := startView{Lang: Lang(r), Nonce: nonce()}
	execute(w, r, http.StatusOK, "start.html", policy(v.Nonce), v)
}

// WriteNotFound answers with the card saying the page does not exist.
func WriteNotFound(w http.ResponseWriter, r *http.Request) {
	lang := Lang(r)
	Write(w, r, http.StatusNotFound, Card{Lang: lang, Title: T(lang, "title.notFound"), Message: T(lang, "notFound.text")})
}

// WriteHTML sends a rendered hosted page under csp, with the headers that
// keep every hosted page out of caches, frames and referrers.
func WriteHTML(w http.ResponseWriter, status int, csp string, page []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_, _ = w.Write(page)
}

// nonce is a fresh CSP nonce.
func nonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// LogoPathPrefix starts the address of every uploaded logo.
const LogoPathPrefix = "/branding/"

// LogoPath is the address at which browsers get a tenant's uploaded image:
// named by its digest, so a new image is a new address and each can be
// cached for good.
func LogoPath(tenantID, brandingID, prop, sha256, ext string) string {
	return LogoPathPrefix + url.PathEscape(tenantID) + "/" + url.PathEscape(brandingID) + "/" + url.PathEscape(prop) + "/" + sha256 + "." + ext
}
