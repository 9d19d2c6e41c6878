package oidc

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// TestClientCredentialsAnsweredAsOpWould sends the same token requests
// through the direct client_credentials path and through op's own token
// handler: each must get the same status and the same error, and the
// requests the direct path takes are exactly the plain ones.
func TestClientCredentialsAnsweredAsOpWould(t *testing.T) {
	f := newFlow(t)
	scope := f.srv.URL + "/.default"
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	cc := func(kv ...string) url.Values {
		return form(append([]string{"grant_type", "client_credentials"}, kv...)...)
	}
	cases := []struct {
		name   string
		form   url.Values
		basic  []string // raw user and password of a Basic header
		origin bool
		direct bool // the direct path answers it
	}{
		{name: "form secret", form: cc("scope", scope, "client_id", appA, "client_secret", f.secretA), direct: true},
		{name: "basic secret", form: cc("scope", scope), basic: []string{appA, url.QueryEscape(f.secretA)}, direct: true},
		{name: "wrong secret", form: cc("scope", scope, "client_id", appA, "client_secret", "nope"), direct: true},
		{name: "wrong basic secret", form: cc("scope", scope), basic: []string{appA, "nope"}, direct: true},
		{name: "unknown client", form: cc("scope", scope, "client_id", "00000000-0000-0000-0000-000000000000", "client_secret", "x"), direct: true},
		{name: "another tenant's client", form: cc("scope", scope, "client_id", webApp, "client_secret", f.secretW), direct: true},
		{name: "wrong scope", form: cc("scope", "https://graph.microsoft.com/.default", "client_id", appA, "client_secret", f.secretA), direct: true},
		{name: "two scopes", form: cc("scope", scope+" openid", "client_id", appA, "client_secret", f.secretA), direct: true},
		{name: "no scope", form: cc("client_id", appA, "client_secret", f.secretA)},
		{name: "empty scope", form: cc("scope", "", "client_id", appA, "client_secret", f.secretA)},
		{name: "scope twice", form: cc("scope", scope, "scope", scope, "client_id", appA, "client_secret", f.secretA)},
		{name: "secret twice", form: cc("scope", scope, "client_id", appA, "client_secret", "nope", "client_secret", f.secretA)},
		{name: "no secret", form: cc("scope", scope, "client_id", appA)},
		{name: "secret without id", form: cc("scope", scope, "client_secret", f.secretA)},
		{name: "basic and form secret", form: cc("scope", scope, "client_id", appA, "client_secret", f.secretA), basic: []string{appA, f.secretA}},
		{name: "basic and form id", form: cc("scope", scope, "client_id", appA), basic: []string{appA, url.QueryEscape(f.secretA)}},
		{name: "basic badly escaped", form: cc("scope", scope), basic: []string{appA, "%zz"}},
		{name: "assertion too", form: cc("scope", scope, "client_id", appA, "client_secret", f.secretA, "client_assertion", "x.y.z", "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")},
		{name: "assertion type only", form: cc("scope", scope, "client_id", appA, "client_secret", f.secretA, "client_assertion_type", "x")},
		{name: "from a browser", form: cc("scope", scope, "client_id", appA, "client_secret", f.secretA), origin: true},
		{name: "other grant", form: form("grant_type", "refresh_token", "refresh_token", "x", "client_id", appA, "client_secret", f.secretA, "scope", scope)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			request := func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/"+tenantA+"/oauth2/v2.0/token", strings.NewReader(c.form.Encode()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if c.basic != nil {
					r.SetBasicAuth(c.basic[0], c.basic[1])
				}
				if c.origin {
					r.Header.Set("Origin", "https://app.example")
				}
				ctx := op.ContextWithIssuer(withTenant(withPeer(r), tenantA), f.p.issuer(tenantA))
				r = r.WithContext(ctx)
				r.URL.Path = opTokenPath
				return r
			}
			direct, viaOp := httptest.NewRecorder(), httptest.NewRecorder()
			if handled := f.p.serveClientCredentials(direct, request()); handled != c.direct {
				t.Fatalf("the direct path answered: %v, want %v", handled, c.direct)
			}
			if !c.direct {
				return // op answers it, the same handler either way
			}
			f.p.handler.ServeHTTP(viaOp, request())
			if direct.Code != viaOp.Code {
				t.Fatalf("status %d, op's %d: %s / %s", direct.Code, viaOp.Code, direct.Body, viaOp.Body)
			}
			var got, want map[string]any
			if err := json.Unmarshal(direct.Body.Bytes(), &got); err != nil {
				t.Fatalf("direct answer %q: %v", direct.Body, err)
			}
			if err := json.Unmarshal(viaOp.Body.Bytes(), &want); err != nil {
				t.Fatalf("op's answer %q: %v", viaOp.Body, err)
			}
			for _, k := range []string{"error", "error_description", "token_type", "expires_in", "ext_expires_in"} {
				if got[k] != want[k] {
					t.Errorf("%s = %v, op's %v", k, got[k], want[k])
				}
			}
			if (got["access_token"] == nil) != (want["access_token"] == nil) {
				t.Errorf("access_token given: %v, by op: %v", got["access_token"] != nil, want["access_token"] != nil)
			}
			for _, h := range []string{"Content-Type", "Cache-Control", "Pragma", "WWW-Authenticate"} {
				if g, w := direct.Header().Get(h), viaOp.Header().Get(h); g != w {
					t.Errorf("%s: %q, op's %q", h, g, w)
				}
			}
			if tok, ok := got["access_token"].(string); ok {
				if _, err := f.p.VerifyAccessToken(t.Context(), tok); err != nil {
					t.Errorf("the direct path's token does not verify: %v", err)
				}
			}
		})
	}
}
