package oidc

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// manyScopes is n distinct permission names.
func manyScopes(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("Perm%d.Read", i)
	}
	return strings.Join(s, " ")
}

// authorizeForm is the body of an authorization request of the SPA.
func authorizeForm(scope string) string {
	return url.Values{"client_id": {spaApp}, "redirect_uri": {spaRedirect}, "response_type": {"code"}, "scope": {scope},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}.Encode()
}

// largestState is the size of the largest state the store holds.
func (s *memStore) largestState() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, st := range s.states {
		n = max(n, len(st.Data))
	}
	return n
}

// TestOversizedRequestsAreRefused: a request larger than any protocol
// request needs is answered with an OAuth error before anything is done or
// stored for it, whether its size is declared or not.
func TestOversizedRequestsAreRefused(t *testing.T) {
	f := newFlow(t)
	huge := manyScopes(20000)
	authorize := f.srv.URL + "/" + tenantA + "/oauth2/v2.0/authorize"
	post := func(target string, body io.Reader) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, target, body)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	authForm := authorizeForm(huge)
	tests := []struct {
		name string
		do   func() *http.Response
		want int
	}{
		{"authorize by GET", func() *http.Response {
			resp, err := noRedirects.Get(f.authorizeURL(tenantA, spaApp, spaRedirect, "v", url.Values{"scope": {huge}}))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}, http.StatusRequestEntityTooLarge},
		{"authorize by POST", func() *http.Response { return post(authorize, strings.NewReader(authForm)) }, http.StatusRequestEntityTooLarge},
		// Without a declared length the body is cut off where the limit is.
		{"authorize by POST, chunked", func() *http.Response { return post(authorize, io.MultiReader(strings.NewReader(authForm))) }, http.StatusBadRequest},
		{"device code", func() *http.Response {
			return post(f.srv.URL+"/"+tenantA+"/oauth2/v2.0/devicecode", strings.NewReader(url.Values{"client_id": {spaApp}, "scope": {huge}}.Encode()))
		}, http.StatusRequestEntityTooLarge},
		{"token", func() *http.Response {
			return post(f.srv.URL+"/"+tenantA+"/oauth2/v2.0/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "client_id": {webApp}, "scope": {huge}}.Encode()))
		}, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if resp := tt.do(); resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	if n := f.st.largestState(); n > 4<<10 {
		t.Fatalf("a state of %d bytes was stored", n)
	}
	if n := f.st.liveStates(tenantA, kindAuthRequest); n != 0 {
		t.Fatalf("%d authorization requests were stored", n)
	}
	// The refusal is in OAuth's shape.
	wantGrantError(t, f.token(t, tenantA, url.Values{"grant_type": {"client_credentials"}, "scope": {huge}}, webApp, f.secretW), http.StatusRequestEntityTooLarge, "invalid_request")
}

func TestParseScopesBounds(t *testing.T) {
	p := &Provider{cfg: Config{PublicURL: "https://id.example"}}
	tests := []struct {
		name  string
		scope string
		err   string // the OAuth error, "" for none
		perms int
	}{
		{"the most scopes", "openid " + manyScopes(maxScopes-1), "", maxScopes - 1},
		{"one scope too many", "openid " + manyScopes(maxScopes), "invalid_scope", 0},
		{"twenty thousand", manyScopes(20000), "invalid_scope", 0},
		{"too much text", strings.Repeat("x", maxScopeText+1), "invalid_scope", 0},
		{"duplicates in any case", "User.Read user.read USER.READ https://id.example/User.Read", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sr, err := p.parseScopes(strings.Fields(tt.scope))
			if tt.err != "" {
				if e, ok := err.(*oidc.Error); !ok || string(e.ErrorType) != tt.err {
					t.Fatalf("error %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil || len(sr.Permissions) != tt.perms {
				t.Fatalf("%d permissions, error %v; want %d", len(sr.Permissions), err, tt.perms)
			}
		})
	}
}

// FuzzParseScopes: whatever a client sends, the parser answers within its
// bounds, and what it accepts is well formed.
func FuzzParseScopes(f *testing.F) {
	for _, seed := range []string{
		"openid profile email offline_access User.Read",
		"https://id.example/.default", "https://id.example//.default", ".default User.Read",
		"User.Read user.read", "https://other.example/x", "a:b", manyScopes(maxScopes + 1), "",
	} {
		f.Add(seed)
	}
	p := &Provider{cfg: Config{PublicURL: "https://id.example"}}
	f.Fuzz(func(t *testing.T, scope string) {
		scopes := strings.Fields(scope)
		sr, err := p.parseScopes(scopes)
		if err != nil {
			if _, ok := err.(*oidc.Error); !ok {
				t.Fatalf("error %v is not an OAuth error", err)
			}
			return
		}
		if len(scopes) > maxScopes || len(sr.Permissions)+len(sr.OIDC) > len(scopes) {
			t.Fatalf("%d scopes accepted as %+v", len(scopes), sr)
		}
		if sr.Default && len(sr.Permissions) > 0 {
			t.Fatalf(".default with permissions: %+v", sr)
		}
		seen := map[string]bool{}
		for _, perm := range sr.Permissions {
			if perm == "" || strings.ContainsAny(perm, "/: \t") || seen[strings.ToLower(perm)] {
				t.Fatalf("permission %q in %+v", perm, sr)
			}
			seen[strings.ToLower(perm)] = true
		}
		for i, s := range sr.OIDC {
			if !slices.Contains(scopes, s) || (i > 0 && slices.Index(oidcScopes, s) <= slices.Index(oidcScopes, sr.OIDC[i-1])) {
				t.Fatalf("OpenID scopes %v from %v", sr.OIDC, scopes)
			}
		}
	})
}

// BenchmarkAuthorizeTwentyThousandScopes is what an unauthenticated
// authorization request with 20,000 scopes costs; it used to take seconds
// and store 700 KB.
func BenchmarkAuthorizeTwentyThousandScopes(b *testing.B) {
	f := newFlow(b)
	form := authorizeForm(manyScopes(20000))
	for b.Loop() {
		resp, err := noRedirects.Post(f.srv.URL+"/"+tenantA+"/oauth2/v2.0/authorize", "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// BenchmarkParseScopesAtTheCap is the parser's worst accepted input.
func BenchmarkParseScopesAtTheCap(b *testing.B) {
	p := &Provider{cfg: Config{PublicURL: "https://id.example"}}
	scopes := strings.Fields(manyScopes(maxScopes))
	for b.Loop() {
		if _, err := p.parseScopes(scopes); err != nil {
			b.Fatal(err)
		}
	}
}
