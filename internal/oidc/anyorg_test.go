package oidc

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/authn"
)

func TestAnyOrgDiscovery(t *testing.T) {
	f := newFlow(t)
	for _, ep := range []string{"organizations", "common", "Organizations"} {
		resp, err := http.Get(f.srv.URL + "/" + ep + "/v2.0/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		err = json.NewDecoder(resp.Body).Decode(&d)
		resp.Body.Close()
		canon := strings.ToLower(ep)
		if err != nil || resp.StatusCode != http.StatusOK ||
			d["issuer"] != f.srv.URL+"/{tenantid}/v2.0" ||
			d["authorization_endpoint"] != f.srv.URL+"/"+canon+"/oauth2/v2.0/authorize" ||
			d["token_endpoint"] != f.srv.URL+"/"+canon+"/oauth2/v2.0/token" ||
			d["jwks_uri"] != f.srv.URL+"/{tenantid}/discovery/v2.0/keys" ||
			d["userinfo_endpoint"] != nil || d["device_authorization_endpoint"] != nil {
			t.Errorf("%s: %d %v %v", ep, resp.StatusCode, err, d)
		}
	}
	// What is per tenant is not served for any organization.
	for _, path := range []string{"/organizations/discovery/v2.0/keys", "/organizations/oauth2/v2.0/devicecode"} {
		resp, err := http.Post(f.srv.URL+path, "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if path == "/organizations/discovery/v2.0/keys" {
			resp, err = http.Get(f.srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
}

// TestAnyOrgCodeFlow: the SPA, registered in tenant A for any organization,
// signs in a user the pages place in tenant B. Everything the flow issues
// is tenant B's, and stays there.
func TestAnyOrgCodeFlow(t *testing.T) {
	f := newFlow(t)
	v := oauth2.GenerateVerifier()
	code := f.code(t, "organizations", spaApp, spaRedirect, v, nil)
	if !strings.HasPrefix(code, tenantB+".") {
		t.Fatalf("code %q does not name tenant B", code)
	}
	if req := f.pages.last(); req.TenantID != tenantB || !req.AnyOrganization || req.Unbound {
		t.Fatalf("the pages finished %+v", req)
	}
	// Tenant A, where the app is registered, does not have the code.
	wantGrantError(t, f.redeemSPA(t, tenantA, code, v), http.StatusBadRequest, "invalid_grant")
	tr := f.redeemSPA(t, "organizations", code, v)
	if tr.status != http.StatusOK || tr.RefreshToken == "" {
		t.Fatalf("redeem at organizations: %+v", tr)
	}
	var claims idClaims
	tok, err := jwt.ParseSigned(tr.IDToken, signingAlgs)
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil || claims.Issuer != f.p.issuer(tenantB) || claims.TenantID != tenantB {
		t.Fatalf("ID token iss %q tid %q (%v)", claims.Issuer, claims.TenantID, err)
	}
	at, err := f.p.VerifyAccessToken(t.Context(), tr.AccessToken)
	if err != nil || at.TenantID != tenantB {
		t.Fatalf("access token: %+v %v", at, err)
	}

	// Refresh tokens name tenant B too: they work at organizations and at
	// B's endpoint, not at A's.
	wantGrantError(t, f.refreshSPA(t, tenantA, tr.RefreshToken), http.StatusBadRequest, "invalid_grant")
	tr = f.refreshSPA(t, "organizations", tr.RefreshToken)
	if tr.status != http.StatusOK {
		t.Fatalf("refresh at organizations: %+v", tr)
	}
	tr = f.refreshSPA(t, tenantB, tr.RefreshToken)
	if tr.status != http.StatusOK {
		t.Fatalf("refresh at tenant B: %+v", tr)
	}

	// Grants that name no tenant, and other grants, are refused there.
	for _, form := range []url.Values{
		{"grant_type": {"refresh_token"}, "client_id": {spaApp}, "refresh_token": {"no-tenant-here"}},
		{"grant_type": {"authorization_code"}, "client_id": {spaApp}, "code": {"33333333-3333-4333-8333-333333333333.abc"}, "redirect_uri": {spaRedirect}},
	} {
		wantGrantError(t, f.token(t, "organizations", form), http.StatusBadRequest, "invalid_grant")
	}
	// Applications for one tenant are not served there, whatever they hold.
	wantGrantError(t, f.token(t, "organizations", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tenantA + ".abc"}}, webApp, f.secretW),
		http.StatusBadRequest, "unauthorized_client")
	wantGrantError(t, f.token(t, "organizations", url.Values{"grant_type": {"client_credentials"}, "client_id": {appA}, "client_secret": {f.secretA}, "scope": {f.srv.URL + "/.default"}}),
		http.StatusBadRequest, "unsupported_grant_type")
}

func TestAnyOrgRefusesSingleTenantApps(t *testing.T) {
	f := newFlow(t)
	resp, body := f.browse(t, f.authorizeURL("organizations", webApp, webRedirect, oauth2.GenerateVerifier(), nil))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "AADSTS50194") || resp.Header.Get("Location") != "" {
		t.Fatalf("single-tenant app at organizations: %d %s", resp.StatusCode, body)
	}
	resp, body = f.browse(t, f.authorizeURL("common", "99999999-0000-4000-8000-000000000009", webRedirect, oauth2.GenerateVerifier(), nil))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "AADSTS700016") {
		t.Fatalf("unknown app at common: %d %s", resp.StatusCode, body)
	}
}

// pendingID starts an authorization request and returns the id the pages
// get, without visiting them.
func (f *flow) pendingID(t *testing.T, authorizeURL string) (segment, id string) {
	t.Helper()
	resp, err := noRedirects.Get(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d %v", resp.StatusCode, resp.Header)
	}
	return strings.Split(loc.Path, "/")[1], loc.Query().Get("request")
}

func TestRehomeOnlyRequestsForAnyOrganization(t *testing.T) {
	f := newFlow(t)
	ctx := t.Context()
	segment, own := f.pendingID(t, f.authorizeURL(tenantA, spaApp, spaRedirect, oauth2.GenerateVerifier(), nil))
	if segment != tenantA {
		t.Fatalf("tenant request sent to %s", segment)
	}
	if _, err := f.p.Rehome(ctx, tenantA, own, tenantB); !errors.Is(err, authn.ErrRequestGone) {
		t.Fatalf("a tenant's request was rehomed: %v", err)
	}
	if _, err := f.p.PendingRequest(ctx, "organizations", own); !errors.Is(err, ErrRequestNotFound) {
		t.Fatalf("a tenant's request seen through organizations: %v", err)
	}

	segment, any := f.pendingID(t, f.authorizeURL("organizations", spaApp, spaRedirect, oauth2.GenerateVerifier(), nil))
	if segment != "organizations" {
		t.Fatalf("request for any organization sent to %s", segment)
	}
	// Unbound, it is found only through its endpoint, and never finishes.
	if _, err := f.p.PendingRequest(ctx, tenantA, any); !errors.Is(err, ErrRequestNotFound) {
		t.Fatalf("unbound request seen as its home tenant's: %v", err)
	}
	if _, err := f.p.Rehome(ctx, "organizations", any, "not-a-tenant"); err == nil {
		t.Fatal("rehomed to an unknown tenant")
	}
	req, err := f.p.Rehome(ctx, "organizations", any, tenantB)
	if err != nil || req.TenantID != tenantB || req.Unbound || !req.AnyOrganization || req.ID == any {
		t.Fatalf("Rehome: %+v %v", req, err)
	}
	if _, err := f.p.PendingRequest(ctx, "organizations", any); !errors.Is(err, ErrRequestNotFound) {
		t.Fatalf("the old request is still pending: %v", err)
	}
	// Bound, it may move on to yet another tenant.
	again, err := f.p.Rehome(ctx, tenantB, req.ID, tenantA)
	if err != nil || again.TenantID != tenantA {
		t.Fatalf("second Rehome: %+v %v", again, err)
	}

	// An unbound request the pages try to finish goes back as an error.
	_, unbound := f.pendingID(t, f.authorizeURL("organizations", spaApp, spaRedirect, oauth2.GenerateVerifier(), nil))
	rec := httptest.NewRecorder()
	f.p.Finish(rec, httptest.NewRequest(http.MethodGet, f.srv.URL+"/organizations/login", nil), "organizations", unbound,
		authn.Authentication{TenantID: tenantB, UserID: userAlice, AuthTime: f.clock.now()})
	if loc := rec.Header().Get("Location"); !strings.Contains(loc, "error=server_error") || strings.Contains(loc, "code=") {
		t.Fatalf("unbound request finished: %d %q", rec.Code, loc)
	}
}

func TestAdminConsentEndpoint(t *testing.T) {
	f := newFlow(t)
	consent := func(path string, q url.Values) (*http.Response, string) {
		return f.browse(t, f.srv.URL+"/"+tenantA+path+"?"+q.Encode())
	}
	q := url.Values{"client_id": {webApp}, "redirect_uri": {webRedirect}, "scope": {"User.Read"}, "state": {"st-adm"}}
	iss := f.srv.URL + "/" + tenantA + "/v2.0"
	cases := []struct {
		name, path string
		edit       url.Values
		want       url.Values // the redirect's query; nil: an error page
	}{
		{"granted", pathAdminConsent, nil, url.Values{"admin_consent": {"True"}, "tenant": {tenantA}, "state": {"st-adm"}, "iss": {iss}}},
		{"v1 without scope", pathAdminConsentV1, url.Values{"scope": nil}, url.Values{"admin_consent": {"True"}, "tenant": {tenantA}, "state": {"st-adm"}, "iss": {iss}}},
		{"v2 needs a scope", pathAdminConsent, url.Values{"scope": nil}, url.Values{"error": {"invalid_request"}, "state": {"st-adm"}, "iss": {iss}}},
		{"not granted", pathAdminConsent, url.Values{"scope": {"Files.Read"}}, url.Values{"error": {"consent_required"}, "state": {"st-adm"}, "iss": {iss}}},
		{"unregistered redirect URI", pathAdminConsent, url.Values{"redirect_uri": {"https://evil.example/cb"}}, nil},
		{"unknown client", pathAdminConsent, url.Values{"client_id": {"99999999-0000-4000-8000-000000000009"}}, nil},
	}
	for _, tc := range cases {
		params := url.Values{}
		for k, v := range q {
			params[k] = v
		}
		for k, v := range tc.edit {
			if v == nil {
				params.Del(k)
			} else {
				params[k] = v
			}
		}
		resp, body := consent(tc.path, params)
		loc := resp.Header.Get("Location")
		if tc.want == nil {
			if resp.StatusCode != http.StatusBadRequest || loc != "" {
				t.Errorf("%s: %d %q %s", tc.name, resp.StatusCode, loc, body)
			}
			continue
		}
		u, err := url.Parse(loc)
		if err != nil || !strings.HasPrefix(loc, webRedirect) {
			t.Errorf("%s: %d %q %s", tc.name, resp.StatusCode, loc, body)
			continue
		}
		got := u.Query()
		got.Del("error_description")
		if got.Encode() != tc.want.Encode() {
			t.Errorf("%s: back with %v, want %v", tc.name, got, tc.want)
		}
	}
}
