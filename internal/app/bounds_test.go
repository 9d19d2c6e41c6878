package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// TestUnauthenticatedWorkIsBounded: an authorization request naming 20,000
// scopes is refused in OAuth's shape with nothing stored, one naming too
// many scopes is sent back to the client as invalid_scope, and the largest
// request allowed stores a small row.
func TestUnauthenticatedWorkIsBounded(t *testing.T) {
	for name, open := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			e := newCluster(t, st, app.Config{})
			a := e.tenant("Contoso", "contoso.example")
			const cb = "https://app.example/cb"
			rp := e.registerApp(t, a, "App", cb, "openid")
			scopes := func(n int) string {
				s := make([]string, n)
				for i := range s {
					s[i] = fmt.Sprintf("Perm%d.Read", i)
				}
				return strings.Join(s, " ")
			}
			authorize := func(scope string) *http.Response {
				t.Helper()
				q := url.Values{"client_id": {rp.conf.ClientID}, "redirect_uri": {cb}, "response_type": {"code"}, "scope": {scope}, "state": {"s"},
					"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
				resp, err := noFollow.PostForm(e.url+"/"+a.id+"/oauth2/v2.0/authorize", q)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp
			}
			if resp := authorize(scopes(20000)); resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("20,000 scopes: %d", resp.StatusCode)
			}
			resp := authorize("openid " + scopes(100))
			if loc, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "invalid_scope" {
				t.Fatalf("101 scopes: %d %v", resp.StatusCode, resp.Header.Get("Location"))
			}
			if resp := authorize("openid " + scopes(99)); resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "/login?request=") {
				t.Fatalf("100 scopes: %d %v", resp.StatusCode, resp.Header.Get("Location"))
			}
			var stored []store.State
			err := st.View(context.Background(), func(tx store.Tx) error {
				var err error
				stored, err = tx.ListStates(context.Background(), a.id, store.StateFilter{Kind: "authreq"})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(stored) != 1 || len(stored[0].Data) > 8<<10 {
				t.Fatalf("%d authorization requests stored, want the one allowed, under 8 KB", len(stored))
			}
		})
	}
}

// noFollow stops at the first redirect.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestScriptRedirectURIsAreRefused: a redirect URI that would run script or
// open local content in the browser is refused on create and on PATCH, with
// Graph's 400 naming the property; public clients keep their private-use
// schemes.
func TestScriptRedirectURIsAreRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		wantRefused := func(r reply, uri string) {
			t.Helper()
			graphErr, _ := r.body["error"].(map[string]any)
			msg, _ := graphErr["message"].(string)
			if r.status != 400 || r.errorCode() != "Request_BadRequest" || !strings.Contains(msg, "redirectUris") {
				t.Errorf("%s: %d %s", uri, r.status, r.raw)
			}
		}
		bad := []string{"javascript://app.example/%0aalert(1)", "data://x/text/html,<script>alert(1)</script>", "vbscript://x/msgbox", "file://server/share/cb.html"}
		for _, part := range []string{"web", "spa", "publicClient"} {
			for _, uri := range bad {
				wantRefused(e.call("POST", "/v1.0/applications", a.token, map[string]any{"displayName": "App", part: map[string]any{"redirectUris": []string{uri}}}), uri)
			}
		}
		id := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Native",
			"publicClient": map[string]any{"redirectUris": []string{"com.example.app:/oauth2redirect"}}}).body["id"].(string)
		for _, part := range []string{"web", "spa", "publicClient"} {
			for _, uri := range bad {
				wantRefused(e.call("PATCH", "/v1.0/applications/"+id, a.token, map[string]any{part: map[string]any{"redirectUris": []string{uri}}}), uri)
			}
		}
		// A private-use scheme is for public clients only.
		wantRefused(e.call("PATCH", "/v1.0/applications/"+id, a.token, map[string]any{"web": map[string]any{"redirectUris": []string{"com.example.app:/oauth2redirect"}}}), "custom scheme on web")
		got := e.mustCall(200, "GET", "/v1.0/applications/"+id, a.token, nil).body
		if uris := got["publicClient"].(map[string]any)["redirectUris"].([]any); len(uris) != 1 || uris[0] != "com.example.app:/oauth2redirect" {
			t.Errorf("redirect URIs after the refused changes: %v", got)
		}
	})
}
