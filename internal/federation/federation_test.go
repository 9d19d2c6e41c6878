package federation

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

func claimsOf(t *testing.T, js string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestIdentityFrom: what an ID token, already verified for signature,
// issuer, audience and expiry, must still show before it is an identity.
func TestIdentityFrom(t *testing.T) {
	const iss = "https://id.example/t1/v2.0"
	tenant := rp{kind: KindTenant, clientID: "b2b", idp: iss, tenantID: "t1", claims: func(c string) string { return c }}
	consumers := tenant
	consumers.kind = KindConsumers
	google := rp{kind: KindOIDC, clientID: "g", idp: "google.com", claims: record{}.claimName}
	mapped := rp{kind: KindOIDC, clientID: "m", idp: "https://m.example", claims: record{InboundClaimMapping: map[string]any{"sub": "uid", "email_verified": "mail_ok"}}.claimName}
	for _, tc := range []struct {
		name   string
		rp     rp
		nonce  string
		claims string
		want   Identity // compared on Subject, HomeTenantID, Email, EmailVerified
		err    bool
	}{
		{"home account", tenant, "n", `{"nonce":"n","oid":"o1","tid":"t1","sub":"pairwise","email":"a@f.example","name":"A"}`,
			Identity{Subject: "o1", HomeTenantID: "t1", HomeObjectID: "o1", Email: "a@f.example", EmailVerified: true}, false},
		{"home account without email", tenant, "n", `{"nonce":"n","oid":"o1","tid":"t1"}`, Identity{Subject: "o1", HomeTenantID: "t1", HomeObjectID: "o1"}, false},
		{"home account without mail: its UPN", tenant, "n", `{"nonce":"n","oid":"o1","tid":"t1","preferred_username":"a@f.example"}`,
			Identity{Subject: "o1", HomeTenantID: "t1", HomeObjectID: "o1", Email: "a@f.example", EmailVerified: true}, false},
		{"personal account without mail: never its generated UPN", consumers, "n", `{"nonce":"n","oid":"o1","tid":"t1","preferred_username":"x1@consumers.example"}`,
			Identity{Subject: "o1", HomeTenantID: "t1", HomeObjectID: "o1"}, false},
		{"home account of another tenant", tenant, "n", `{"nonce":"n","oid":"o1","tid":"t2"}`, Identity{}, true},
		{"home token without oid", tenant, "n", `{"nonce":"n","tid":"t1","sub":"s"}`, Identity{}, true},
		{"wrong nonce", tenant, "n", `{"nonce":"m","oid":"o1","tid":"t1"}`, Identity{}, true},
		{"no nonce in the token", tenant, "n", `{"oid":"o1","tid":"t1"}`, Identity{}, true},
		{"no nonce expected", tenant, "", `{"nonce":"","oid":"o1","tid":"t1"}`, Identity{}, true},
		{"several audiences, azp another", google, "n", `{"nonce":"n","sub":"s","aud":["g","x"],"azp":"x"}`, Identity{}, true},
		{"several audiences, azp us", google, "n", `{"nonce":"n","sub":"s","aud":["g","x"],"azp":"g"}`, Identity{Subject: "s"}, false},
		{"email_verified true", google, "n", `{"nonce":"n","sub":"s","email":"a@gmail.com","email_verified":true}`, Identity{Subject: "s", Email: "a@gmail.com", EmailVerified: true}, false},
		{"email_verified false", google, "n", `{"nonce":"n","sub":"s","email":"a@gmail.com","email_verified":false}`, Identity{Subject: "s", Email: "a@gmail.com"}, false},
		{"email_verified missing", google, "n", `{"nonce":"n","sub":"s","email":"a@gmail.com"}`, Identity{Subject: "s", Email: "a@gmail.com"}, false},
		{"email_verified a string", google, "n", `{"nonce":"n","sub":"s","email":"a@gmail.com","email_verified":"true"}`, Identity{Subject: "s", Email: "a@gmail.com"}, false},
		{"email_verified 1", google, "n", `{"nonce":"n","sub":"s","email":"a@gmail.com","email_verified":1}`, Identity{Subject: "s", Email: "a@gmail.com"}, false},
		{"verified but no email", google, "n", `{"nonce":"n","sub":"s","email_verified":true}`, Identity{Subject: "s"}, false},
		{"no subject", google, "n", `{"nonce":"n","email":"a@gmail.com"}`, Identity{}, true},
		{"mapped claims", mapped, "n", `{"nonce":"n","sub":"ignored","uid":"u7","email":"a@m.example","mail_ok":true,"email_verified":false}`,
			Identity{Subject: "u7", Email: "a@m.example", EmailVerified: true}, false},
		{"mapped subject missing", mapped, "n", `{"nonce":"n","sub":"s"}`, Identity{}, true},
	} {
		got, err := identityFrom(tc.rp, iss, tc.nonce, claimsOf(t, tc.claims))
		if tc.err {
			if !errors.Is(err, ErrRejected) {
				t.Errorf("%s: %+v, %v; want rejected", tc.name, got, err)
			}
			continue
		}
		if err != nil || got.Subject != tc.want.Subject || got.HomeTenantID != tc.want.HomeTenantID || got.HomeObjectID != tc.want.HomeObjectID ||
			got.Email != tc.want.Email || got.EmailVerified != tc.want.EmailVerified || got.Issuer != iss || got.IdP != tc.rp.idp {
			t.Errorf("%s: %+v, %v", tc.name, got, err)
		}
	}
}

// TestParseNew: what a POST body becomes, and what it may not be.
func TestParseNew(t *testing.T) {
	secretAuth := map[string]any{"@odata.type": "microsoft.graph.oidcClientSecretAuthentication", "clientSecret": "s3"}
	oidc := func(extra map[string]any) map[string]any {
		b := map[string]any{"@odata.type": "#microsoft.graph.oidcIdentityProvider", "displayName": "X", "clientId": "c", "issuer": "https://x.example", "clientAuthentication": secretAuth}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	r, secret, err := parseNew(map[string]any{"@odata.type": "#microsoft.graph.socialIdentityProvider", "DisplayName": "G", "identityProviderType": "GOOGLE", "clientId": "c", "clientSecret": "s1"})
	if err != nil || r.Type != TypeSocial || r.IdentityProviderType != "Google" || r.DisplayName != "G" || secret != "s1" ||
		!slices.Equal(r.Domains, []string{"gmail.com", "googlemail.com"}) || r.issuer() != "https://accounts.google.com" || r.idp() != "google.com" {
		t.Fatalf("Google: %+v %q %v", r, secret, err)
	}
	r, _, err = parseNew(map[string]any{"@odata.type": "#microsoft.graph.socialIdentityProvider", "displayName": "F", "identityProviderType": "Facebook", "clientId": "c", "clientSecret": "s1"})
	if err != nil || len(r.Domains) != 0 || r.discoveryURL() != "https://www.facebook.com/.well-known/openid-configuration/" || r.idp() != "facebook.com" {
		t.Fatalf("Facebook: %+v %v", r, err)
	}
	r, secret, err = parseNew(oidc(map[string]any{"domains": []any{"A.example", "a.example", "b.example"}}))
	if err != nil || r.Type != TypeOIDC || secret != "s3" || r.ResponseType != "code" || r.Scope != "openid profile email" || r.idp() != "https://x.example" ||
		!slices.Equal(r.Domains, []string{"a.example", "b.example"}) || r.discoveryURL() != "https://x.example/.well-known/openid-configuration" {
		t.Fatalf("OIDC: %+v %q %v", r, secret, err)
	}
	if r, _, _ := parseNew(oidc(map[string]any{"issuer": "http://127.0.0.1:8080/t/v2.0"})); r.Issuer != "http://127.0.0.1:8080/t/v2.0" {
		t.Errorf("a loopback issuer for development: %+v", r)
	}
	for name, body := range map[string]map[string]any{
		"no type":               {"displayName": "X"},
		"base type":             {"@odata.type": "#microsoft.graph.identityProviderBase"},
		"legacy type":           {"@odata.type": "#microsoft.graph.identityProvider"},
		"no client id":          oidc(map[string]any{"clientId": nil}),
		"empty display name":    oidc(map[string]any{"displayName": " "}),
		"number as clientId":    oidc(map[string]any{"clientId": 7}),
		"ftp issuer":            oidc(map[string]any{"issuer": "ftp://x.example"}),
		"issuer with userinfo":  oidc(map[string]any{"issuer": "https://u@x.example"}),
		"relative issuer":       oidc(map[string]any{"issuer": "/x"}),
		"http well-known":       oidc(map[string]any{"wellKnownEndpoint": "http://x.example/.well-known/openid-configuration"}),
		"token response":        oidc(map[string]any{"responseType": "code,token"}),
		"annotation":            oidc(map[string]any{"@odata.id": "x"}),
		"unknown claim":         oidc(map[string]any{"inboundClaimMapping": map[string]any{"shoe_size": "s"}}),
		"domains not a list":    oidc(map[string]any{"domains": "a.example"}),
		"domain with a path":    oidc(map[string]any{"domains": []any{"a.example/x"}}),
		"single-label domain":   oidc(map[string]any{"domains": []any{"localhost"}}),
		"social without secret": {"@odata.type": "#microsoft.graph.socialIdentityProvider", "displayName": "G", "identityProviderType": "Google", "clientId": "c"},
		"social with issuer":    {"@odata.type": "#microsoft.graph.socialIdentityProvider", "displayName": "G", "identityProviderType": "Google", "clientId": "c", "clientSecret": "s", "issuer": "https://evil.example"},
	} {
		if body["clientId"] == nil {
			delete(body, "clientId")
		}
		if _, _, err := parseNew(body); !usererr.IsKind(err, usererr.Invalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestApplyPatch(t *testing.T) {
	r, _, err := parseNew(map[string]any{"@odata.type": "#microsoft.graph.oidcIdentityProvider", "displayName": "X", "clientId": "c", "issuer": "https://x.example",
		"clientAuthentication": map[string]any{"@odata.type": "#microsoft.graph.oidcClientSecretAuthentication", "clientSecret": "s"}})
	if err != nil {
		t.Fatal(err)
	}
	secret, set, err := apply(&r, map[string]any{"displayName": "Y"}, false)
	if err != nil || set || secret != "" || r.DisplayName != "Y" || r.ClientID != "c" {
		t.Fatalf("rename: %+v %v %v", r, set, err)
	}
	secret, set, err = apply(&r, map[string]any{"clientAuthentication": map[string]any{"@odata.type": "#microsoft.graph.oidcClientSecretAuthentication", "clientSecret": "t"}}, false)
	if err != nil || !set || secret != "t" {
		t.Fatalf("new secret: %v %v %v", secret, set, err)
	}
	for name, body := range map[string]map[string]any{
		"another type":       {"@odata.type": "#microsoft.graph.socialIdentityProvider"},
		"a social property":  {"identityProviderType": "Google"},
		"an empty client id": {"clientId": ""},
		"a null issuer":      {"issuer": nil},
		"an empty secret":    {"clientAuthentication": map[string]any{"@odata.type": "#microsoft.graph.oidcClientSecretAuthentication", "clientSecret": ""}},
	} {
		before := r
		if _, _, err := apply(&r, body, false); !usererr.IsKind(err, usererr.Invalid) {
			t.Errorf("%s: %v", name, err)
		}
		r = before
	}
}

func TestDomainTaken(t *testing.T) {
	google := record{ID: "Google-OAUTH", Domains: []string{"gmail.com", "googlemail.com"}}
	fab := record{ID: "f", Domains: []string{"fabrikam.example"}}
	for _, tc := range []struct {
		r    record
		want string
	}{
		{record{ID: "n", Domains: []string{"northwind.example"}}, ""},
		{record{ID: "n", Domains: []string{"northwind.example", "gmail.com"}}, "gmail.com"},
		{record{ID: "f", Domains: []string{"fabrikam.example", "fabrikam2.example"}}, ""}, // its own
		{record{ID: "n"}, ""},
	} {
		if got := domainTaken(tc.r, []record{google, fab}); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.r.Domains, got, tc.want)
		}
	}
}

// TestPresentNeverShowsSecrets: the stored record has no secret, and its
// Graph form masks where Graph shows one.
func TestPresentNeverShowsSecrets(t *testing.T) {
	social := record{Type: TypeSocial, ID: "Google-OAUTH", IdentityProviderType: "Google"}.present()
	oidc := record{Type: TypeOIDC, ID: "x", Issuer: "https://x.example"}.present()
	if social["clientSecret"] != MaskedSecret || oidc["clientAuthentication"].(map[string]any)["clientSecret"] != MaskedSecret {
		t.Fatalf("%v %v", social, oidc)
	}
	if b, _ := json.Marshal(record{}); strings.Contains(strings.ToLower(string(b)), "secret") {
		t.Fatalf("a stored record has room for a secret: %s", b)
	}
}

// TestLocalTransport: the deployment's own origin is served in-process by
// the node's handler; other origins, and another scheme or port of the same
// host, go to the network.
func TestLocalTransport(t *testing.T) {
	local := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Served", "in-process")
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, r.Method+" "+r.Host+" "+r.URL.RequestURI()+" "+string(body)+" tls="+map[bool]string{true: "yes", false: "no"}[r.TLS != nil])
	})
	var sent []string
	network := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent = append(sent, r.URL.String())
		return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("network")), Request: r}, nil
	})
	c := &http.Client{Transport: LocalTransport("https://ID.example/", local, network)}

	resp, err := c.Post("https://id.example/t1/oauth2/v2.0/token?x=1", "application/x-www-form-urlencoded", strings.NewReader("code=abc"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || resp.Header.Get("X-Served") != "in-process" || string(body) != "POST id.example /t1/oauth2/v2.0/token?x=1 code=abc tls=yes" ||
		resp.ContentLength != int64(len(body)) || resp.Status != "418 I'm a teapot" {
		t.Fatalf("own origin: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	// Another host, or the same host with another scheme or port: not the
	// deployment.
	others := []string{"https://other.example/x", "http://id.example/x", "https://id.example:8443/x"}
	for _, u := range others {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "network" {
			t.Errorf("%s: %q", u, body)
		}
	}
	if !slices.Equal(sent, others) {
		t.Errorf("sent to the network: %v", sent)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestDiscoveryIsCachedPerIssuer: a provider's discovery document is read
// once per issuer for a few minutes, a document naming another issuer is
// refused and not remembered, and a request without state, nonce or
// verifier is refused before anything is read.
func TestDiscoveryIsCachedPerIssuer(t *testing.T) {
	reads := map[string]int{}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tid := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
		reads[tid]++
		issuer := srv.URL + "/" + tid + "/v2.0"
		if tid == "liar" {
			issuer = srv.URL + "/someone-else/v2.0"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": issuer, "authorization_endpoint": srv.URL + "/" + tid + "/oauth2/v2.0/authorize",
			"token_endpoint": srv.URL + "/" + tid + "/oauth2/v2.0/token", "jwks_uri": srv.URL + "/" + tid + "/discovery/v2.0/keys"})
	}))
	defer srv.Close()
	now := time.Now()
	s := New(Config{PublicURL: srv.URL, HTTPClient: srv.Client(), Now: func() time.Time { return now }})
	ctx := t.Context()
	for range 3 {
		for _, tid := range []string{"t1", "t2"} {
			u, err := s.AuthCodeURL(ctx, "res", s.TenantProvider(tid, false), "st", "n", "v", "")
			if err != nil || !strings.HasPrefix(u, srv.URL+"/"+tid+"/oauth2/v2.0/authorize?") || strings.Contains(u, "login_hint") {
				t.Fatalf("%s: %s %v", tid, u, err)
			}
		}
	}
	if reads["t1"] != 1 || reads["t2"] != 1 {
		t.Errorf("discovery read %v times within its lifetime", reads)
	}
	now = now.Add(discoveryTTL)
	if _, err := s.AuthCodeURL(ctx, "res", s.TenantProvider("t1", false), "st", "n", "v", ""); err != nil || reads["t1"] != 2 {
		t.Errorf("discovery once stale: read %d times, %v", reads["t1"], err)
	}
	for range 2 {
		if _, err := s.AuthCodeURL(ctx, "res", s.TenantProvider("liar", false), "st", "n", "v", ""); !errors.Is(err, ErrRejected) {
			t.Errorf("discovery naming another issuer: %v", err)
		}
	}
	if reads["liar"] != 2 {
		t.Errorf("a refused discovery was remembered: read %d times", reads["liar"])
	}
	for _, args := range [][3]string{{"", "n", "v"}, {"st", "", "v"}, {"st", "n", ""}} {
		if _, err := s.AuthCodeURL(ctx, "res", s.TenantProvider("t3", false), args[0], args[1], args[2], ""); err == nil {
			t.Errorf("state, nonce, verifier %q: no error", args)
		}
	}
	if reads["t3"] != 0 {
		t.Errorf("discovery read for a request refused: %d", reads["t3"])
	}
}
