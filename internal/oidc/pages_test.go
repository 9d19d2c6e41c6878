package oidc

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
	"github.com/gatehouse-id/gatehouse/internal/hostedpage/cardtest"
)

// TestPagesAreTheCard: every page the provider shows a browser instead of
// redirecting it is hostedpage's card, with the request's ids, the time
// and the browser's language.
func TestPagesAreTheCard(t *testing.T) {
	tests := []struct {
		name string
		// open returns the URL the browser opens on a fresh deployment.
		open func(t *testing.T, f *flow) string
		want cardtest.Want
	}{
		{"bad redirect URI", func(t *testing.T, f *flow) string {
			return f.authorizeURL(tenantA, spaApp, "https://evil.example/cb", oauth2.GenerateVerifier(), nil)
		}, cardtest.Want{Status: 400, Code: "AADSTS50011", Text: "https://evil.example/cb"}},
		{"unknown client", func(t *testing.T, f *flow) string {
			return f.authorizeURL(tenantA, "99999999-0000-4000-8000-000000000009", spaRedirect, oauth2.GenerateVerifier(), nil)
		}, cardtest.Want{Status: 400, Code: "AADSTS700016"}},
		{"no client_id", func(t *testing.T, f *flow) string {
			return f.authorizeURL(tenantA, "", spaRedirect, oauth2.GenerateVerifier(), nil)
		}, cardtest.Want{Status: 400, Code: "AADSTS900144"}},
		{"unknown tenant", func(t *testing.T, f *flow) string {
			return f.authorizeURL("nowhere.example", spaApp, spaRedirect, oauth2.GenerateVerifier(), nil)
		}, cardtest.Want{Status: 400, Code: "AADSTS90002", Text: "nowhere.example"}},
		{"too large", func(t *testing.T, f *flow) string {
			return f.authorizeURL(tenantA, spaApp, spaRedirect, "v", url.Values{"scope": {manyScopes(20000)}})
		}, cardtest.Want{Status: 413}},
		{"store unavailable", func(t *testing.T, f *flow) string {
			f.dir.fail = errors.New("db gone")
			return f.authorizeURL(tenantA, spaApp, spaRedirect, oauth2.GenerateVerifier(), nil)
		}, cardtest.Want{Status: 503, Text: "title.unavailable"}},
		{"signed out", func(t *testing.T, f *flow) string {
			idToken := f.spaTokens(t).IDToken
			return f.srv.URL + "/" + tenantA + "/oauth2/v2.0/logout?" + url.Values{"id_token_hint": {idToken}}.Encode()
		}, cardtest.Want{Status: 200, Text: "title.signedOut"}},
		{"device sign-in done", func(t *testing.T, f *flow) string {
			return f.srv.URL + "/" + tenantA + "/devicelogin?" + url.Values{"code": {f.spaDevice(t).UserCode}}.Encode()
		}, cardtest.Want{Status: 200, Text: "title.deviceDone"}},
		{"device sign-in declined", func(t *testing.T, f *flow) string {
			f.pages.setDeny("access_denied")
			return f.srv.URL + "/" + tenantA + "/devicelogin?" + url.Values{"code": {f.spaDevice(t).UserCode}}.Encode()
		}, cardtest.Want{Status: 200, Text: "title.deviceDeclined"}},
	}
	for _, tt := range tests {
		for _, lang := range []struct{ accept, want, client string }{{"", "en", ""}, {"pl-PL,sv;q=0.5", "pl", "caller-7"}} {
			t.Run(tt.name+"/"+lang.want, func(t *testing.T) {
				f := newFlow(t)
				u := tt.open(t, f)
				want := tt.want
				want.Lang, want.Client, want.Since = lang.want, lang.client, time.Now()
				if key := want.Text; key != "" && hostedpage.T(lang.want, key) != "" {
					want.Text = hostedpage.T(lang.want, key)
				}
				header := http.Header{}
				if lang.accept != "" {
					header.Set("Accept-Language", lang.accept)
				}
				if lang.client != "" {
					header.Set("client-request-id", lang.client)
				}
				resp, body := f.browseWith(t, u, header)
				cardtest.Check(t, resp, body, want)
			})
		}
	}
}
