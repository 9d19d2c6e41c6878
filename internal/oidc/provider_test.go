package oidc

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func getJSON(t *testing.T, u string, into any) (int, http.Header) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: content type %q, body %s", u, ct, body)
	}
	if err := json.Unmarshal(body, into); err != nil {
		t.Fatalf("GET %s: %v in %s", u, err, body)
	}
	return resp.StatusCode, resp.Header
}

func TestDiscovery(t *testing.T) {
	e := newEnv(t)
	_, srv := e.node(t)
	for _, segment := range []string{tenantA, "contoso.example", "Contoso.OnMicrosoft.Example"} {
		t.Run(segment, func(t *testing.T) {
			var doc map[string]any
			status, _ := getJSON(t, srv.URL+"/"+segment+"/v2.0/.well-known/openid-configuration", &doc)
			if status != http.StatusOK {
				t.Fatalf("status %d: %v", status, doc)
			}
			base := srv.URL + "/" + tenantA
			want := map[string]any{
				"issuer":                                           base + "/v2.0",
				"authorization_endpoint":                           base + "/oauth2/v2.0/authorize",
				"token_endpoint":                                   base + "/oauth2/v2.0/token",
				"userinfo_endpoint":                                base + "/oidc/userinfo",
				"end_session_endpoint":                             base + "/oauth2/v2.0/logout",
				"revocation_endpoint":                              base + "/oauth2/v2.0/revoke",
				"introspection_endpoint":                           base + "/oauth2/v2.0/introspect",
				"jwks_uri":                                         base + "/discovery/v2.0/keys",
				"response_types_supported":                         []any{"code"},
				"response_modes_supported":                         []any{"query", "fragment", "form_post"},
				"code_challenge_methods_supported":                 []any{"S256"},
				"grant_types_supported":                            []any{"authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"},
				"device_authorization_endpoint":                    base + "/oauth2/v2.0/devicecode",
				"scopes_supported":                                 []any{"openid", "profile", "email", "offline_access"},
				"token_endpoint_auth_methods_supported":            []any{"client_secret_post", "client_secret_basic", "private_key_jwt", "none"},
				"token_endpoint_auth_signing_alg_values_supported": []any{"RS256", "PS256"},
				"introspection_endpoint_auth_methods_supported":    []any{"client_secret_post", "client_secret_basic"},
				"id_token_signing_alg_values_supported":            []any{"RS256", "ES256"},
				"subject_types_supported":                          []any{"pairwise"},
				"request_uri_parameter_supported":                  false,
			}
			for k, v := range want {
				got, _ := json.Marshal(doc[k])
				exp, _ := json.Marshal(v)
				if string(got) != string(exp) {
					t.Errorf("%s = %s, want %s", k, got, exp)
				}
			}
			// Endpoints that are not served must not be advertised.
			for _, k := range []string{"check_session_iframe", "registration_endpoint", "pushed_authorization_request_endpoint"} {
				if _, ok := doc[k]; ok {
					t.Errorf("%s advertised but not served", k)
				}
			}
			claims, _ := doc["claims_supported"].([]any)
			for _, c := range []string{"tid", "oid", "roles", "idtyp", "ver", "preferred_username", "scp", "sid", "nonce"} {
				if !slices.Contains(claims, any(c)) {
					t.Errorf("claims_supported lacks %s", c)
				}
			}
		})
	}
}

func TestDiscoveryEndpointsAreServed(t *testing.T) {
	e := newEnv(t)
	_, srv := e.node(t)
	var doc zoidcDiscovery
	getJSON(t, srv.URL+"/contoso.example/v2.0/.well-known/openid-configuration", &doc)
	var set jose.JSONWebKeySet
	if status, _ := getJSON(t, doc.JwksURI, &set); status != http.StatusOK || len(set.Keys) == 0 {
		t.Fatalf("jwks_uri %s: status %d, %d keys", doc.JwksURI, status, len(set.Keys))
	}
	cfg := clientcredentials.Config{ClientID: appA, ClientSecret: e.secretA, TokenURL: doc.TokenEndpoint, Scopes: []string{srv.URL + "/.default"}}
	if _, err := cfg.Token(t.Context()); err != nil {
		t.Fatalf("token_endpoint %s: %v", doc.TokenEndpoint, err)
	}
}

type zoidcDiscovery struct {
	Issuer        string `json:"issuer"`
	TokenEndpoint string `json:"token_endpoint"`
	JwksURI       string `json:"jwks_uri"`
}

func TestUnknownTenant(t *testing.T) {
	e := newEnv(t)
	_, srv := e.node(t)
	tests := []struct {
		name, method, path, code string
	}{
		{"discovery", http.MethodGet, "/nowhere.example/v2.0/.well-known/openid-configuration", "invalid_tenant"},
		{"keys", http.MethodGet, "/33333333-3333-4333-8333-333333333333/discovery/v2.0/keys", "invalid_tenant"},
		{"token", http.MethodPost, "/nowhere.example/oauth2/v2.0/token", "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if resp.StatusCode != http.StatusBadRequest || body.Error != tt.code || !strings.HasPrefix(body.Description, "AADSTS90002:") {
				t.Fatalf("got %d %+v, want 400 %s AADSTS90002", resp.StatusCode, body, tt.code)
			}
		})
	}
	if n := len(e.st.keys); n != 0 {
		t.Fatalf("unknown tenants caused %d key sets to be created", n)
	}
}

func TestFailsClosedWhenDirectoryOrStoreIsDown(t *testing.T) {
	tests := []struct {
		name  string
		fault func(*env)
		path  string
		form  url.Values
	}{
		{"directory down, discovery", func(e *env) { e.dir.fail = errors.New("db gone") }, "/" + tenantA + "/v2.0/.well-known/openid-configuration", nil},
		{"directory down, token", func(e *env) { e.dir.fail = errors.New("db gone") }, "/" + tenantA + "/oauth2/v2.0/token", url.Values{}},
		{"store down, keys", func(e *env) { e.st.fail = errors.New("db gone") }, "/" + tenantA + "/discovery/v2.0/keys", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			_, srv := e.node(t)
			tt.fault(e)
			var resp *http.Response
			var err error
			if tt.form != nil {
				resp, err = http.PostForm(srv.URL+tt.path, tt.form)
			} else {
				resp, err = http.Get(srv.URL + tt.path)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "temporarily_unavailable") {
				t.Fatalf("got %d %s, want 503 temporarily_unavailable", resp.StatusCode, body)
			}
			if strings.Contains(string(body), "db gone") {
				t.Fatalf("internal error leaked to the client: %s", body)
			}
		})
	}
}

func TestJWKS(t *testing.T) {
	e := newEnv(t)
	_, srv := e.node(t)
	resp, err := http.Get(srv.URL + "/fabrikam.example/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Keys) != 1 {
		t.Fatalf("%d keys, want the tenant's first key", len(doc.Keys))
	}
	k := doc.Keys[0]
	for name, want := range map[string]string{"kty": "RSA", "use": "sig", "alg": "RS256", "e": "AQAB"} {
		if k[name] != want {
			t.Errorf("%s = %v, want %s", name, k[name], want)
		}
	}
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		if _, ok := k[private]; ok {
			t.Errorf("published key has private member %q", private)
		}
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	if bits := set.Keys[0].Key.(interface{ Size() int }).Size() * 8; bits != 2048 {
		t.Errorf("RSA modulus is %d bits", bits)
	}
	rows := e.st.rows(tenantB)
	if len(rows) != 1 || rows[0].KID != k["kid"] {
		t.Fatalf("store holds %d keys for tenant B; published kid %v", len(rows), k["kid"])
	}
	if len(e.st.rows(tenantA)) != 0 {
		t.Fatal("tenant A got a key from tenant B's request")
	}
}

func TestClientCredentials(t *testing.T) {
	e := newEnv(t)
	p, srv := e.node(t)
	tests := []struct {
		name      string
		style     oauth2.AuthStyle
		segment   string
		clientID  string
		secret    string
		spID      string
		roles     []string
		scope     string
		wantRoles bool
	}{
		{"basic, by id", oauth2.AuthStyleInHeader, tenantA, appA, e.secretA, spA, []string{"User.Read.All", "User.ReadWrite.All"}, "/.default", true},
		{"post, by domain", oauth2.AuthStyleInParams, "contoso.example", appA, e.secretA, spA, []string{"User.Read.All", "User.ReadWrite.All"}, "/.default", true},
		{"trailing-slash resource", oauth2.AuthStyleInParams, tenantA, appA, e.secretA, spA, []string{"User.Read.All", "User.ReadWrite.All"}, "//.default", true},
		{"other tenant", oauth2.AuthStyleInHeader, tenantB, appB, e.secretB, spB, []string{"User.Read.All"}, "/.default", true},
		{"no roles", oauth2.AuthStyleInHeader, tenantA, appNone, e.secretN, spNone, nil, "/.default", false},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := clientcredentials.Config{
				ClientID:     tt.clientID,
				ClientSecret: tt.secret,
				TokenURL:     srv.URL + "/" + tt.segment + "/oauth2/v2.0/token",
				Scopes:       []string{srv.URL + tt.scope},
				AuthStyle:    tt.style,
			}
			tok, err := cfg.Token(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != "Bearer" || tok.Extra("expires_in") != 3600.0 || tok.Extra("ext_expires_in") != 3600.0 {
				t.Fatalf("token_type %q expires_in %v ext_expires_in %v", tok.TokenType, tok.Extra("expires_in"), tok.Extra("ext_expires_in"))
			}
			tid := tenantA
			if tt.clientID == appB {
				tid = tenantB
			}

			// Independently of VerifyAccessToken: go-jose against the JWKS.
			claims := verifyWithJWKS(t, srv.URL+"/"+tid+"/discovery/v2.0/keys", tok.AccessToken)
			now := e.clock.now().Unix()
			want := map[string]any{
				"iss": srv.URL + "/" + tid + "/v2.0", "aud": srv.URL, "tid": tid,
				"oid": tt.spID, "sub": tt.spID, "azp": tt.clientID, "appid": tt.clientID,
				"azpacr": "1", "idtyp": "app", "ver": "2.0",
				"iat": float64(now), "nbf": float64(now), "exp": float64(now + 3600),
			}
			for k, v := range want {
				if claims[k] != v {
					t.Errorf("claim %s = %v, want %v", k, claims[k], v)
				}
			}
			if _, ok := claims["scp"]; ok {
				t.Error("app-only token has scp")
			}
			if roles, ok := claims["roles"]; ok != tt.wantRoles {
				t.Errorf("roles present = %v (%v), want %v", ok, roles, tt.wantRoles)
			}
			uti, _ := claims["uti"].(string)
			jti, _ := claims["jti"].(string)
			if len(uti) < 22 || uti != jti || seen[uti] {
				t.Errorf("uti %q jti %q: want one fresh random identifier", uti, jti)
			}
			seen[uti] = true

			at, err := p.VerifyAccessToken(t.Context(), tok.AccessToken)
			if err != nil {
				t.Fatalf("VerifyAccessToken: %v", err)
			}
			wantAT := AccessToken{TenantID: tid, ObjectID: tt.spID, Subject: tt.spID, AppID: tt.clientID, Roles: tt.roles, IDType: "app", TokenID: uti, ExpiresAt: e.clock.now().Add(time.Hour)}
			if !equalAccessToken(*at, wantAT) {
				t.Fatalf("VerifyAccessToken = %+v, want %+v", *at, wantAT)
			}
		})
	}
}

func equalAccessToken(a, b AccessToken) bool {
	return a.TenantID == b.TenantID && a.ObjectID == b.ObjectID && a.Subject == b.Subject && a.AppID == b.AppID &&
		slices.Equal(a.Roles, b.Roles) && a.Scopes == b.Scopes && a.IDType == b.IDType && a.TokenID == b.TokenID &&
		a.ExpiresAt.Equal(b.ExpiresAt)
}

// verifyWithJWKS checks a token the way a third-party resource server
// would: fetch the JWKS, pick the key by kid, verify, decode.
func verifyWithJWKS(t *testing.T, jwksURL, raw string) map[string]any {
	t.Helper()
	var set jose.JSONWebKeySet
	getJSON(t, jwksURL, &set)
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	h := tok.Headers[0]
	if h.ExtraHeaders["typ"] != "JWT" || h.Algorithm != "RS256" {
		t.Fatalf("header typ %v alg %s", h.ExtraHeaders["typ"], h.Algorithm)
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q matches %d published keys", h.KeyID, len(keys))
	}
	var claims map[string]any
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		t.Fatalf("signature: %v", err)
	}
	return claims
}

func TestTokenErrors(t *testing.T) {
	e := newEnv(t)
	_, srv := e.node(t)
	e.dir.apps[tenantA+"/disabled"] = fakeApp{App: App{AppID: "disabled", ServicePrincipalID: "x"}, hash: e.dir.apps[tenantA+"/"+appA].hash, disabled: true}
	scope := srv.URL + "/.default"
	tests := []struct {
		name    string
		segment string
		form    url.Values
		basic   []string // client id, secret
		status  int
		code    string
	}{
		{"wrong secret, basic", tenantA, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}, []string{appA, e.secretB}, 401, "invalid_client"},
		{"wrong secret, post", tenantA, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "client_id": {appA}, "client_secret": {"nope"}}, nil, 401, "invalid_client"},
		{"app of another tenant", tenantB, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}, []string{appA, e.secretA}, 401, "invalid_client"},
		{"unknown client", tenantA, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}, []string{"unknown", e.secretA}, 401, "invalid_client"},
		{"disabled app", tenantA, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}, []string{"disabled", e.secretA}, 401, "invalid_client"},
		{"no secret", tenantA, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "client_id": {appA}}, nil, 401, "invalid_client"},
		{"client assertion", tenantA, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "client_id": {appA}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {"x.y.z"}}, nil, 401, "invalid_client"},
		{"two auth methods", tenantA, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "client_id": {appA}, "client_secret": {e.secretA}}, []string{appA, e.secretA}, 400, "invalid_request"},
		{"no client", tenantA, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}, nil, 400, "invalid_request"},
		{"missing scope", tenantA, url.Values{"grant_type": {"client_credentials"}}, []string{appA, e.secretA}, 400, "invalid_request"},
		{"delegated scope", tenantA, url.Values{"grant_type": {"client_credentials"}, "scope": {srv.URL + "/User.Read.All"}}, []string{appA, e.secretA}, 400, "invalid_scope"},
		{"openid", tenantA, url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}, []string{appA, e.secretA}, 400, "invalid_scope"},
		{"other resource", tenantA, url.Values{"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}}, []string{appA, e.secretA}, 400, "invalid_scope"},
		{"two scopes", tenantA, url.Values{"grant_type": {"client_credentials"}, "scope": {scope + " openid"}}, []string{appA, e.secretA}, 400, "invalid_scope"},
		{"missing grant_type", tenantA, url.Values{"scope": {scope}}, []string{appA, e.secretA}, 400, "invalid_request"},
		{"unknown code", tenantA, url.Values{"grant_type": {"authorization_code"}, "code": {"c"}, "redirect_uri": {"https://app.example/cb"}}, []string{appA, e.secretA}, 400, "invalid_grant"},
		{"unknown refresh token", tenantA, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"r"}}, []string{appA, e.secretA}, 400, "invalid_grant"},
		{"public client unknown", tenantA, url.Values{"grant_type": {"authorization_code"}, "code": {"c"}, "redirect_uri": {spaRedirect}, "client_id": {"nobody"}}, nil, 401, "invalid_client"},
		{"code without redirect_uri", tenantA, url.Values{"grant_type": {"authorization_code"}, "code": {"c"}, "client_id": {spaApp}}, nil, 400, "invalid_request"},
		{"password", tenantA, url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}}, []string{appA, e.secretA}, 400, "unsupported_grant_type"},
		{"jwt-bearer", tenantA, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"x.y.z"}}, nil, 400, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/"+tt.segment+"/oauth2/v2.0/token", strings.NewReader(tt.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.basic != nil {
				req.SetBasicAuth(url.QueryEscape(tt.basic[0]), url.QueryEscape(tt.basic[1]))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var body struct {
				Error       string `json:"error"`
				AccessToken string `json:"access_token"`
			}
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("body is not JSON: %s", raw)
			}
			if resp.StatusCode != tt.status || body.Error != tt.code || body.AccessToken != "" {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, raw, tt.status, tt.code)
			}
			for _, secret := range []string{e.secretA, e.secretB} {
				if strings.Contains(string(raw), secret) {
					t.Fatal("error response echoes a client secret")
				}
			}
		})
	}
}

func TestTokenEndpointRefusesGET(t *testing.T) {
	e := newEnv(t)
	_, srv := e.node(t)
	q := url.Values{"grant_type": {"client_credentials"}, "client_id": {appA}, "client_secret": {e.secretA}, "scope": {srv.URL + "/.default"}}
	resp, err := http.Get(srv.URL + "/" + tenantA + "/oauth2/v2.0/token?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET token endpoint: %d, want 405", resp.StatusCode)
	}
}

func TestTokenEndpointIgnoresQueryParameters(t *testing.T) {
	e := newEnv(t)
	_, srv := e.node(t)
	q := url.Values{"client_id": {appA}, "client_secret": {e.secretA}, "scope": {srv.URL + "/.default"}}
	resp, err := http.PostForm(srv.URL+"/"+tenantA+"/oauth2/v2.0/token?"+q.Encode(), url.Values{"grant_type": {"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("credentials in the query: %d, want 400", resp.StatusCode)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	e := newEnv(t)
	for _, u := range []string{"", "example.com", "ftp://example.com", "https://example.com/", "https://example.com?x=1", "https://user@example.com", "https://"} {
		if _, err := New(Config{PublicURL: u, Sessions: e.sessions}, e.st, e.dir, e.ring); err == nil {
			t.Errorf("PublicURL %q accepted", u)
		}
	}
	if _, err := New(Config{PublicURL: "https://id.example.com", Sessions: e.sessions}, nil, e.dir, e.ring); err == nil {
		t.Error("nil store accepted")
	}
	if _, err := New(Config{PublicURL: "https://id.example.com"}, e.st, e.dir, e.ring); err == nil {
		t.Error("nil Sessions accepted")
	}
	for _, cfg := range []Config{
		{SigningAlg: "HS256"}, {SigningAlg: "es256"}, {SigningAlg: "none"},
		{AccessTokenLifetime: -time.Second}, {RefreshTokenLifetime: -time.Second}, {KeyCacheTTL: -time.Second},
		{KeyRotation: KeyRotation{PrePublish: 5 * time.Minute}},                     // a relying party's cached JWKS may lack the successor
		{KeyRotation: KeyRotation{PrePublish: time.Hour}, KeyCacheTTL: time.Hour},   // so may a node's cache
		{KeyRotation: KeyRotation{Interval: 12 * time.Hour}},                        // shorter than the default pre-publication
		{KeyRotation: KeyRotation{Interval: -time.Hour, PrePublish: time.Hour}},     // negative
		{KeyRotation: KeyRotation{Interval: 2 * time.Hour, PrePublish: -time.Hour}}, // negative
	} {
		cfg.PublicURL, cfg.Sessions = "https://id.example.com", e.sessions
		if _, err := New(cfg, e.st, e.dir, e.ring); err == nil {
			t.Errorf("negative duration accepted: %+v", cfg)
		}
	}
}
