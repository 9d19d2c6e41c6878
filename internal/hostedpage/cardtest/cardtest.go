// Package cardtest checks, for tests of the packages that answer with
// hostedpage's card, that a response is the card a browser should see.
package cardtest

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
	"github.com/gatehouse-id/gatehouse/internal/reqid"
)

// Want is what the card must say. Client is the client-request-id the
// request sent ("" for none); Code is the error code shown ("" for none).
type Want struct {
	Status int
	Lang   string
	Code   string
	Client string
	// Text must appear in the page (its title or message, as text), ""
	// for any.
	Text string
	// Since is a time just before the request: the card's timestamp is
	// not earlier, nor later than the check.
	Since time.Time
}

var (
	cspNonce = regexp.MustCompile(`style-src 'nonce-([A-Za-z0-9_-]{22})'`)
	field    = regexp.MustCompile(`<dd data-id="([a-z]+)">(?:<time datetime="([^"]+)">)?([^<]*)`)
)

// Check fails t unless resp and its body are the card want describes.
func Check(t testing.TB, resp *http.Response, body string, want Want) {
	t.Helper()
	if resp.StatusCode != want.Status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, want.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	m := cspNonce.FindStringSubmatch(csp)
	if m == nil || !strings.HasPrefix(csp, "default-src 'none';") || strings.Contains(csp, "script-src") {
		t.Fatalf("CSP %q", csp)
	}
	if !strings.Contains(body, `<style nonce="`+m[1]+`">`) || !strings.Contains(body, string(hostedpage.Stylesheet())) {
		t.Fatalf("the card's stylesheet is missing or not under the CSP's nonce:\n%s", body)
	}
	if !strings.Contains(body, `<html lang="`+want.Lang+`">`) || !strings.Contains(body, hostedpage.T(want.Lang, "details.requestId")) {
		t.Fatalf("page is not in %s:\n%s", want.Lang, body)
	}
	if want.Text != "" && !strings.Contains(body, html.EscapeString(want.Text)) {
		t.Fatalf("page does not say %q:\n%s", want.Text, body)
	}
	got := map[string]string{}
	var stamp string
	for _, f := range field.FindAllStringSubmatch(body, -1) {
		got[f[1]] = f[3]
		if f[1] == "timestamp" {
			stamp = f[2]
		}
	}
	id := resp.Header.Get(reqid.RequestHeader)
	if id == "" || got["request"] != id {
		t.Fatalf("request id on the page %q, header %q", got["request"], id)
	}
	wantCorrelation := want.Client
	if wantCorrelation == "" {
		wantCorrelation = id
	}
	if got["correlation"] != wantCorrelation {
		t.Fatalf("correlation id %q, want %q", got["correlation"], wantCorrelation)
	}
	if got["code"] != want.Code {
		t.Fatalf("code %q, want %q", got["code"], want.Code)
	}
	ts, err := time.Parse(time.RFC3339, stamp)
	if err != nil || got["timestamp"] != stamp || !strings.HasSuffix(stamp, "Z") {
		t.Fatalf("timestamp %q (%q): %v", stamp, got["timestamp"], err)
	}
	if ts.Before(want.Since.Truncate(time.Second)) || ts.After(time.Now()) {
		t.Fatalf("timestamp %s, want between %s and now", ts, want.Since)
	}
}
