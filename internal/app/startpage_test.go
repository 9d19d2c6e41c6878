package app_test

import (
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
