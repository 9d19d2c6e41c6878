package oidc

import (
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// FuzzRedirectURIMatch: the matcher accepts a redirect URI only when it is,
// byte for byte, a registered one, and always accepts a registered one.
func FuzzRedirectURIMatch(f *testing.F) {
	for _, seed := range [][2]string{
		{webRedirect, webRedirect},
		{webRedirect, webRedirect + "/"},
		{webRedirect, webRedirect + "?x=1"},
		{webRedirect, webRedirect + "#"},
		{webRedirect, "HTTPS://web.example/auth/callback"},
		{webRedirect, "https://web.example:443/auth/callback"},
		{webRedirect, "https://web.example/auth/./callback"},
		{webRedirect, "https://web.example/auth/callback%00"},
		{"http://localhost:5173/", "http://127.0.0.1:5173/"},
		{"http://localhost/", "http://localhost:1234/"},
		{"ms-app://callback", "ms-app://callback/"},
		{legacyRedirect, "https://legacy.example/cb?tenant=contoso&x=1"},
		{"https://a.example/cb#frag", "https://a.example/cb#frag"},
		{"", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, registered, candidate string) {
		if matchRedirectURI([]string{registered}, candidate) && candidate != registered {
			t.Fatalf("%q matched registered %q", candidate, registered)
		}
		c := Client{WebRedirectURIs: []string{registered}, SPARedirectURIs: []string{registered + "/"}, PublicRedirectURIs: []string{strings.ToUpper(registered)}}
		switch classifyRedirect(c, candidate) {
		case redirectWeb:
			if candidate != registered {
				t.Fatalf("%q classified as web URI %q", candidate, registered)
			}
		case redirectPublic:
			if candidate != registered+"/" && candidate != strings.ToUpper(registered) {
				t.Fatalf("%q classified as a public URI of %q", candidate, registered)
			}
		}
		if registered != "" && !strings.Contains(registered, "#") && !matchRedirectURI([]string{"other", registered}, registered) {
			t.Fatalf("registered %q does not match itself", registered)
		}
	})
}

// FuzzVerifyAccessToken: verification never panics and accepts no token
// but the ones issued, unchanged.
func FuzzVerifyAccessToken(f *testing.F) {
	e := newEnv(f)
	p := e.nodeAt(f, testPublicURL)
	ctx := f.Context()
	appToken, err := p.issueAppToken(ctx, tenantA, App{AppID: appA, ServicePrincipalID: spA, Roles: []string{"User.Read.All"}})
	if err != nil {
		f.Fatal(err)
	}
	ecToken, err := p.issueAppToken(ctx, tenantA, App{AppID: appA, ServicePrincipalID: spA, SigningAlg: "ES256"})
	if err != nil {
		f.Fatal(err)
	}
	userToken, err := p.issueUserTokens(ctx, tenantA, jose.RS256, grant{ClientID: spaApp, UserID: userAlice, OIDC: []string{scopeOpenID, scopeProfile}, Permissions: []string{"User.Read"}, AuthTime: e.clock.now()}, User{ObjectID: userAlice, TenantID: tenantA, DisplayName: "Alice"}, "n")
	if err != nil {
		f.Fatal(err)
	}
	valid := map[string]bool{appToken: true, ecToken: true, userToken.AccessToken: true}
	for tok := range valid {
		f.Add(tok)
		parts := strings.Split(tok, ".")
		f.Add(parts[0] + "." + parts[1] + ".")                                    // no signature
		f.Add(parts[0] + "." + parts[1] + "." + parts[2] + "=")                   // padded
		f.Add(parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-1] + "B") // last character changed
		f.Add(strings.Replace(tok, parts[1], b64json(map[string]any{"tid": tenantA}), 1))
		f.Add(`{"alg":"none"}.` + parts[1] + ".")
	}
	f.Add(userToken.IDToken)
	f.Add("")
	f.Add("..")
	f.Fuzz(func(t *testing.T, raw string) {
		at, err := p.VerifyAccessToken(ctx, raw)
		if err == nil && !valid[raw] {
			t.Fatalf("accepted a token that was not issued: %q → %+v", raw, at)
		}
		if err != nil && valid[raw] {
			t.Fatalf("rejected an issued token: %v", err)
		}
	})
}
