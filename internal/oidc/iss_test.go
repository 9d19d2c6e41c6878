package oidc

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// responseParams reads the parameters of an authorization response in any
// response mode.
func responseParams(t *testing.T, resp *http.Response, body, redirectURI string) url.Values {
	t.Helper()
	if resp.StatusCode == http.StatusOK {
		return checkFormPost(t, resp, body, redirectURI)
	}
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, redirectURI) {
		t.Fatalf("not an authorization response: %d %q", resp.StatusCode, loc)
	}
	if before, frag, ok := strings.Cut(loc, "#"); ok && before == redirectURI {
		q, _ := url.ParseQuery(frag)
		return q
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// Every authorization response, success or error, in every response mode,
// names its issuer (RFC 9207), so a client talking to several issuers can
// tell a mix-up attacker's response from the one it expects; discovery says
// so.
func TestAuthorizationResponsesCarryIss(t *testing.T) {
	f := newFlow(t)
	tenantIssuer := f.srv.URL + "/" + tenantA + "/v2.0"
	v := oauth2.GenerateVerifier()
	tests := []struct {
		name    string
		segment string
		extra   url.Values
		deny    string
		want    url.Values // parameters besides iss and state
		iss     string
	}{
		{name: "code, query", segment: tenantA, iss: tenantIssuer},
		{name: "code, fragment", segment: tenantA, extra: url.Values{"response_mode": {"fragment"}}, iss: tenantIssuer},
		{name: "code, form_post", segment: tenantA, extra: url.Values{"response_mode": {"form_post"}}, iss: tenantIssuer},
		{name: "code, by domain", segment: "contoso.example", iss: tenantIssuer},
		{name: "error at authorize", segment: tenantA, extra: url.Values{"prompt": {"always"}}, want: url.Values{"error": {"invalid_request"}}, iss: tenantIssuer},
		{name: "error, fragment", segment: tenantA, extra: url.Values{"response_mode": {"fragment"}, "scope": {""}}, want: url.Values{"error": {"invalid_request"}}, iss: tenantIssuer},
		{name: "denied by the pages", segment: tenantA, deny: "access_denied", want: url.Values{"error": {"access_denied"}}, iss: tenantIssuer},
		// At a tenant-independent endpoint, the issuer its discovery
		// publishes, also once the pages placed the user in a tenant.
		{name: "organizations, code", segment: "organizations", iss: f.srv.URL + "/{tenantid}/v2.0"},
		{name: "organizations, denied", segment: "organizations", deny: "access_denied", want: url.Values{"error": {"access_denied"}}, iss: f.srv.URL + "/{tenantid}/v2.0"},
		{name: "organizations, error at authorize", segment: "organizations", extra: url.Values{"prompt": {"always"}}, want: url.Values{"error": {"invalid_request"}}, iss: f.srv.URL + "/{tenantid}/v2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.pages.setDeny(tt.deny)
			resp, body := f.browse(t, f.authorizeURL(tt.segment, spaApp, spaRedirect, v, tt.extra))
			got := responseParams(t, resp, body, spaRedirect)
			if got.Get("iss") != tt.iss || got.Get("state") != "st-123" {
				t.Fatalf("iss %q state %q, want iss %q: %v", got.Get("iss"), got.Get("state"), tt.iss, got)
			}
			if tt.want == nil && got.Get("code") == "" {
				t.Fatalf("no code: %v", got)
			}
			for k := range tt.want {
				if got.Get(k) != tt.want.Get(k) {
					t.Fatalf("%s = %q, want %q", k, got.Get(k), tt.want.Get(k))
				}
			}
		})
	}
	f.pages.setDeny("")

	for _, segment := range []string{tenantA, "organizations"} {
		resp, err := http.Get(f.srv.URL + "/" + segment + "/v2.0/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		err = json.NewDecoder(resp.Body).Decode(&d)
		resp.Body.Close()
		if err != nil || d["authorization_response_iss_parameter_supported"] != true || d["issuer"] == nil {
			t.Errorf("%s discovery: %v %v", segment, err, d)
		}
	}
}
