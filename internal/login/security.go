package login

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
)

// cookieNames are the pages' cookies, __Host- prefixed on https.
type cookieNames struct {
	browser    string // random per-browser id: anchors CSRF tokens and sign-in flows
	session    string // SSO sessions that end with the browser
	persistent string // SSO sessions the user chose to stay signed in to
	familiar   string // accounts that signed in successfully from this browser
	lang       string // the language the user chose with the switch
}

func newCookieNames(secure bool) cookieNames {
	prefix := ""
	if secure {
		prefix = "__Host-"
	}
	return cookieNames{
		browser:    prefix + "gh-browser",
		session:    prefix + "gh-sso",
		persistent: prefix + "gh-ssop",
		familiar:   prefix + "gh-known",
		lang:       prefix + hostedpage.LangCookie,
	}
}

const (
	browserLifetime  = 400 * 24 * time.Hour // the longest browsers keep a cookie
	familiarLifetime = 400 * 24 * time.Hour
	maxFamiliar      = 8 // accounts remembered per browser
	secretBytes      = secrets.TokenBytes
)

var b64 = base64.RawURLEncoding

// setCookie writes a cookie with the pages' attributes. maxAge 0 makes a
// browser-session cookie, negative deletes it.
func (p *Pages) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", Secure: p.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	switch {
	case maxAge < 0:
		c.Value, c.MaxAge = "", -1
	case maxAge > 0:
		c.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(w, c)
}

// randomString returns n random bytes, base64url-encoded.
func (p *Pages) randomString(n int) (string, error) { return secrets.NewToken(p.cfg.Random, n) }

// isSecret reports whether s is exactly what randomString(secretBytes)
// makes.
func isSecret(s string) bool { return secrets.IsToken(s, secretBytes) }

// browserID returns the browser's id, creating it (and its cookie) on the
// browser's first visit.
func (p *Pages) browserID(w http.ResponseWriter, r *http.Request) (string, error) {
	if id, ok := p.existingBrowserID(r); ok {
		return id, nil
	}
	id, err := p.randomString(secretBytes)
	if err != nil {
		return "", err
	}
	p.setCookie(w, p.cookies.browser, id, browserLifetime)
	return id, nil
}

func (p *Pages) existingBrowserID(r *http.Request) (string, bool) {
	c, err := r.Cookie(p.cookies.browser)
	if err != nil || !isSecret(c.Value) {
		return "", false
	}
	return c.Value, true
}

// csrfToken binds forms to the browser: a page on another site cannot read
// the browser cookie, so it cannot forge the token.
func (p *Pages) csrfToken(browserID string) string {
	return b64.EncodeToString(mac(p.csrfKey, "csrf", browserID))
}

// validCSRF checks a posted form's token against the browser's cookie.
func (p *Pages) validCSRF(r *http.Request) bool {
	id, ok := p.existingBrowserID(r)
	if !ok {
		return false
	}
	got, err := b64.DecodeString(r.PostForm.Get("csrf"))
	return err == nil && hmac.Equal(got, mac(p.csrfKey, "csrf", id))
}

// mac is an HMAC-SHA256 over NUL-separated parts.
func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return m.Sum(nil)
}

// hashID names a state by the hash of its parts, so a stored id never is,
// or leads back to, a secret or a username.
func hashID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}

// familiarToken marks an account as having signed in from this browser.
// It is a truncated MAC, so the cookie names no account and cannot be forged.
func (p *Pages) familiarToken(tenantID, username string) string {
	return b64.EncodeToString(mac(p.knownKey, tenantID, foldUsername(username))[:16])
}

func (p *Pages) familiarTokens(r *http.Request) []string {
	c, err := r.Cookie(p.cookies.familiar)
	if err != nil {
		return nil
	}
	toks := strings.Split(c.Value, ".")
	return toks[:min(len(toks), maxFamiliar)]
}

// isFamiliar reports whether username signed in from this browser before.
func (p *Pages) isFamiliar(r *http.Request, tenantID, username string) bool {
	want := []byte(p.familiarToken(tenantID, username))
	for _, t := range p.familiarTokens(r) {
		if hmac.Equal([]byte(t), want) {
			return true
		}
	}
	return false
}

// rememberFamiliar adds username to the browser's familiar accounts, most
// recent first, forgetting the oldest beyond maxFamiliar.
func (p *Pages) rememberFamiliar(w http.ResponseWriter, r *http.Request, tenantID, username string) {
	tok := p.familiarToken(tenantID, username)
	toks := slices.DeleteFunc(p.familiarTokens(r), func(t string) bool { return t == tok })
	toks = append([]string{tok}, toks...)
	p.setCookie(w, p.cookies.familiar, strings.Join(toks[:min(len(toks), maxFamiliar)], "."), familiarLifetime)
}

func foldUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// clientKey is what the per-client throttle counts by.
func (p *Pages) clientKey(r *http.Request) string { return lockout.ClientKey(p.cfg.ClientIP(r)) }

// PagePolicy is the Content-Security-Policy of a page rendered with nonce,
// without its framing rule: its own styles, https images, nothing else.
func PagePolicy(nonce string) string {
	return "default-src 'none'; style-src 'nonce-" + nonce + "'; img-src 'self' https: data:; base-uri 'none'"
}

// pageHeaders are set on every page the package renders (not on Finish and
// Deny, whose responses are the provider's): a nonce-based CSP with no
// script at all, and no framing. form-action is left out on purpose:
// browsers apply it to the redirect that follows a form post, and the
// forms' responses redirect to the client's redirect URI through Finish.
func pageHeaders(h http.Header, nonce string) {
	h.Set("Content-Security-Policy", PagePolicy(nonce)+"; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
}
