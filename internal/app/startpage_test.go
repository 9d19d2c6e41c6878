package app_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// TestStartPageAndNotFound: / is a start page that says what the server is
// and leads to the admin centre; an unknown page is the not-found card in
// the browser's language; the API and the protocol endpoints keep their
// own errors.
func TestStartPageAndNotFound(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	a := e.tenant("Contoso", "contoso.example")

	start := e.call("GET", "/", "", nil, "Accept-Language", "sv")
	if start.status != 200 || !strings.Contains(start.raw, `<html lang="sv">`) || !strings.Contains(start.raw, `<a href="/admin">`) ||
		!strings.Contains(start.header.Get("Content-Type"), "text/html") || !strings.Contains(start.header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("start page: %d %v %.300s", start.status, start.header, start.raw)
	}

	for _, path := range []string{"/nowhere", "/" + a.id + "/nowhere", "/" + a.id + "/login/extra", "/a/b/c/d"} {
		r := e.call("GET", path, "", nil)
		if r.status != 404 || !strings.Contains(r.raw, `<main data-step="error">`) || !strings.Contains(r.raw, "Check the address") ||
			!strings.Contains(r.raw, `data-id="request"`) {
			t.Errorf("GET %s: %d %.300s", path, r.status, r.raw)
		}
	}

	// The API's and the protocol's answers stay theirs.
	if r := e.call("GET", "/v1.0/nowhere", a.token, nil); r.status < 400 || r.body == nil || strings.Contains(r.raw, "<html") {
		t.Errorf("API: %d %.200s", r.status, r.raw)
	}
	for _, path := range []string{"/" + a.id + "/oauth2/v2.0/nowhere", "/" + a.id + "/oauth2/v2.0/token", "/" + a.id + "/v2.0/nowhere"} {
		if r := e.call("GET", path, "", nil); r.status < 400 || strings.Contains(r.raw, "<html") {
			t.Errorf("GET %s: %d %.200s", path, r.status, r.raw)
		}
	}
	if r := e.call("POST", "/nowhere", "", "x"); r.status != 404 || strings.Contains(r.raw, "<html") {
		t.Errorf("POST to an unknown path: %d %.200s", r.status, r.raw)
	}
}

// TestSignedOutCardIsBranded: the protocol's own message card, here the
// one after signing out, carries the tenant's logo and links.
func TestSignedOutCardIsBranded(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	a := e.tenant("Contoso", "contoso.example")
	e.mustCall(204, "PATCH", "/v1.0/organization/"+a.id+"/branding", a.token, map[string]any{
		"bannerLogoRelativeUrl": "https://cdn.contoso.example/logo.png", "customPrivacyAndCookiesUrl": "https://contoso.example/privacy"})
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	endpoint := e.url + "/" + a.id + "/oauth2/v2.0/logout"
	resp, err := client.Get(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	confirm, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindStringSubmatch(string(confirm))
	if m == nil || !strings.Contains(string(confirm), "https://contoso.example/privacy") {
		t.Fatalf("the confirmation page: %d %s", resp.StatusCode, confirm)
	}
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(url.Values{"csrf": {html.UnescapeString(m[1])}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.url)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	card, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`<main data-step="message">`, `<img class="logo" src="https://cdn.contoso.example/logo.png" alt="Contoso">`,
		`<a href="https://contoso.example/privacy" rel="noopener noreferrer" target="_blank">Privacy and cookies</a>`} {
		if !strings.Contains(string(card), want) {
			t.Errorf("the signed-out card lacks %q:\n%s", want, card)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' https:") {
		t.Errorf("the card's CSP: %s", csp)
	}
}
