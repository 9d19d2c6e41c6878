package app_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/pagewalk"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// federatedSignIn walks a provider's sign-in pages from authURL and returns
// the query the provider sends back to the deployment's federation
// callback, which it does not follow (the callback is the pages' own).
func federatedSignIn(t *testing.T, b *pagewalk.Browser, authURL string, answers map[string]string) url.Values {
	t.Helper()
	back, err := b.SignIn(authURL, answers)
	if err != nil {
		t.Fatalf("signing in at the provider: %v (pages %v)", err, b.Steps)
	}
	if back.Path != directory.FederationCallbackPath {
		t.Fatalf("sent to %s, not to the federation callback", back)
	}
	return back.Query()
}

// fedBrowser is a browser that stops at the federation callback even on
// the provider's own host (a tenant of the same deployment).
func fedBrowser() *pagewalk.Browser {
	b := pagewalk.New(nil)
	b.Client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != via[0].URL.Host || req.URL.Path == directory.FederationCallbackPath {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return b
}

// homeUser creates a user of the tenant with mail on its verified domain.
func (e *env) homeUser(a tenant, alias string) string {
	u := newUser(alias, a.domain)
	u["passwordProfile"] = map[string]any{"password": "correct horse battery " + alias, "forceChangePasswordNextSignIn": false}
	u["mail"] = alias + "@" + a.domain
	return e.mustCall(201, "POST", "/v1.0/users", a.token, u).body["id"].(string)
}

// TestFederationAtAHomeTenant: a resource tenant sends a guest to their
// home tenant of the same deployment through Gatehouse B2B and gets back
// the home account, with no consent page at home; every way the answer
// could be forged or replayed is refused.
func TestFederationAtAHomeTenant(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		home, res := e.tenant("Fabrikam", "fabrikam.example"), e.tenant("Contoso", "contoso.example")
		alice := e.homeUser(home, "alice")
		fed := e.app.Federation()
		p := fed.TenantProvider(home.id, false)
		if p.Kind != federation.KindTenant || p.Issuer != e.public+"/"+home.id+"/v2.0" {
			t.Fatalf("provider %+v", p)
		}
		answers := map[string]string{"username": "alice@" + home.domain, "password": "correct horse battery alice", "stay": "no"}
		b := fedBrowser()
		// signIn runs one sign-in at home and returns its code.
		signIn := func(nonce, verifier string) string {
			t.Helper()
			u, err := fed.AuthCodeURL(ctx, res.id, p, "st."+nonce, nonce, verifier, "alice@"+home.domain)
			if err != nil {
				t.Fatal(err)
			}
			back := federatedSignIn(t, b, u, answers)
			if back.Get("state") != "st."+nonce || back.Get("code") == "" {
				t.Fatalf("back with %v", back)
			}
			return back.Get("code")
		}

		verifier := oauth2.GenerateVerifier()
		u, err := fed.AuthCodeURL(ctx, res.id, p, "st.n1", "n1", verifier, "alice@"+home.domain)
		if err != nil {
			t.Fatal(err)
		}
		q := mustParse(t, u).Query()
		if !strings.HasPrefix(u, e.public+"/"+home.id+"/oauth2/v2.0/authorize?") || q.Get("client_id") != directory.B2BAppID ||
			q.Get("redirect_uri") != e.public+"/federation/callback" || q.Get("code_challenge_method") != "S256" ||
			q.Get("code_challenge") != oauth2.S256ChallengeFromVerifier(verifier) || q.Get("nonce") != "n1" ||
			q.Get("login_hint") != "alice@"+home.domain || q.Get("scope") != "openid profile email" || q.Get("response_type") != "code" {
			t.Fatalf("authorization request %s", u)
		}
		back := federatedSignIn(t, b, u, answers)
		if slices.Contains(b.Steps, "decision") {
			t.Errorf("asked for consent at home: pages %v", b.Steps)
		}
		code := back.Get("code")
		id, err := fed.Exchange(ctx, res.id, p, code, verifier, "n1")
		if err != nil {
			t.Fatal(err)
		}
		if id.Issuer != p.Issuer || id.Subject != alice || id.HomeTenantID != home.id || id.HomeObjectID != alice || id.IdP != p.Issuer ||
			id.Email != "alice@"+home.domain || !id.EmailVerified || id.DisplayName != "User alice" || id.AuthTime.IsZero() || len(id.AMR) == 0 {
			t.Fatalf("identity %+v", id)
		}

		// The same code again: the home tenant refuses it.
		if _, err := fed.Exchange(ctx, res.id, p, code, verifier, "n1"); !errors.Is(err, federation.ErrProviderFailed) {
			t.Errorf("replayed code: %v", err)
		}
		// Another request's nonce.
		v := oauth2.GenerateVerifier()
		if _, err := fed.Exchange(ctx, res.id, p, signIn("n2", v), v, "n1"); !errors.Is(err, federation.ErrRejected) {
			t.Errorf("nonce of another request: %v", err)
		}
		// Another request's verifier.
		if _, err := fed.Exchange(ctx, res.id, p, signIn("n3", v), oauth2.GenerateVerifier(), "n3"); !errors.Is(err, federation.ErrProviderFailed) {
			t.Errorf("wrong PKCE verifier: %v", err)
		}
		// A token read hours later has expired.
		late := federation.New(federation.Config{Directory: e.app.Directory(), PublicURL: e.public, Now: func() time.Time { return time.Now().Add(3 * time.Hour) }})
		if _, err := late.Exchange(ctx, res.id, p, signIn("n4", v), v, "n4"); !errors.Is(err, federation.ErrRejected) || !strings.Contains(err.Error(), "expired") {
			t.Errorf("expired ID token: %v", err)
		}
		// Expecting Contoso as the home tenant, handed Fabrikam's token (its
		// code redeemed at Fabrikam's token endpoint): another issuer.
		swapped := federation.New(federation.Config{Directory: e.app.Directory(), PublicURL: e.public, HTTPClient: &http.Client{
			Transport: rewrite{from: "/" + res.id + "/oauth2/v2.0/token", to: "/" + home.id + "/oauth2/v2.0/token"}}})
		if _, err := swapped.Exchange(ctx, res.id, fed.TenantProvider(res.id, false), signIn("n5", v), v, "n5"); !errors.Is(err, federation.ErrRejected) {
			t.Errorf("ID token of another tenant: %v", err)
		}

		// A tenant that disables Gatehouse B2B keeps its users from being
		// guests elsewhere.
		sp := e.servicePrincipal(home, directory.B2BAppID)
		if sp == nil || sp["displayName"] != "Gatehouse B2B" || sp["appOwnerOrganizationId"] != directory.FirstPartyOwnerID {
			t.Fatalf("Gatehouse B2B principal at home: %v", sp)
		}
		e.mustCall(204, "PATCH", "/v1.0/servicePrincipals/"+sp["id"].(string), home.token, map[string]any{"accountEnabled": false})
		u, err = fed.AuthCodeURL(ctx, res.id, p, "st.n6", "n6", v, "")
		if err != nil {
			t.Fatal(err)
		}
		if back, err := fedBrowser().SignIn(u, answers); err == nil && back.Query().Get("code") != "" {
			t.Errorf("a code from a tenant that disabled Gatehouse B2B: %v", back)
		}
	})
}

// TestFederationAtAnOpenIDProvider: a tenant configures another Gatehouse
// deployment as an OpenID Connect provider through Graph; guests of its
// domain sign in there. Its email claim comes with email_verified, and a
// token for another client or from an issuer the discovery does not name
// is refused.
func TestFederationAtAnOpenIDProvider(t *testing.T) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	master := base64.StdEncoding.EncodeToString(key)
	keys, err := secrets.FromBase64(master)
	if err != nil {
		t.Fatal(err)
	}
	for name, open := range storetest.Backends() {
		t.Run(name, func(t *testing.T) { testOpenIDProvider(t, newNode(t, open(t), app.Config{MasterKey: master}), keys) })
	}
}

func testOpenIDProvider(t *testing.T, rpEnv *env, keys *secrets.Keyring) {
	{
		ctx := context.Background()
		idpEnv := newEnv(t, storetest.SQLite(t, ""))
		fab := idpEnv.tenant("Fabrikam", "fabrikam.example")
		bob := idpEnv.homeUser(fab, "bob")
		callback := rpEnv.public + "/federation/callback"
		register := func(name string) (string, string) {
			app := idpEnv.mustCall(201, "POST", "/v1.0/applications", fab.token, map[string]any{"displayName": name, "web": map[string]any{"redirectUris": []string{callback}}}).body
			secret := idpEnv.mustCall(200, "POST", "/v1.0/applications/"+app["id"].(string)+"/addPassword", fab.token, map[string]any{}).body["secretText"].(string)
			return app["appId"].(string), secret
		}
		clientA, secretA := register("Contoso guests")
		clientB, secretB := register("Someone else")

		res := rpEnv.tenant("Contoso", "contoso.example")
		issuer := idpEnv.url + "/" + fab.id + "/v2.0"
		created := rpEnv.mustCall(201, "POST", "/v1.0/identity/identityProviders", res.token, map[string]any{
			"@odata.type": "#microsoft.graph.oidcIdentityProvider", "displayName": "Fabrikam", "clientId": clientA, "issuer": issuer,
			"responseType": "code", "scope": "openid profile email", "domains": []string{"fabrikam.example"},
			"clientAuthentication": map[string]any{"@odata.type": "#microsoft.graph.oidcClientSecretAuthentication", "clientSecret": secretA},
		}).body
		fed := rpEnv.app.Federation()
		p, ok, err := fed.ForDomain(ctx, res.id, "Fabrikam.example")
		if err != nil || !ok || p.Kind != federation.KindOIDC || p.ID != created["id"] || p.Issuer != issuer {
			t.Fatalf("provider for fabrikam.example: %+v %v %v", p, ok, err)
		}
		if _, ok, err := fed.ForDomain(ctx, res.id, "adatum.example"); ok || err != nil {
			t.Errorf("provider for adatum.example: %v %v", ok, err)
		}
		answers := map[string]string{"username": "bob@" + fab.domain, "password": "correct horse battery bob", "stay": "no", "decision": "accept"}
		b := fedBrowser()
		v := oauth2.GenerateVerifier()
		u, err := fed.AuthCodeURL(ctx, res.id, p, "st.1", "n1", v, "bob@"+fab.domain)
		if err != nil {
			t.Fatal(err)
		}
		back := federatedSignIn(t, b, u, answers)
		id, err := fed.Exchange(ctx, res.id, p, back.Get("code"), v, "n1")
		if err != nil {
			t.Fatal(err)
		}
		// Gatehouse as an OpenID provider vouches for the addresses it
		// gives (email_verified true): an address on a domain its tenant
		// verified.
		if id.Issuer != issuer || id.Subject == "" || id.Subject == bob || id.IdP != issuer || id.HomeTenantID != "" ||
			id.Email != "bob@"+fab.domain || !id.EmailVerified || id.DisplayName != "User bob" {
			t.Fatalf("identity %+v", id)
		}

		// A code issued to client B, redeemed with B's credentials, yields
		// an ID token for B, which is not this tenant's client.
		u, _ = fed.AuthCodeURL(ctx, res.id, p, "st.2", "n2", v, "")
		toB := mustParse(t, u)
		q := toB.Query()
		q.Set("client_id", clientB)
		toB.RawQuery = q.Encode()
		back = federatedSignIn(t, b, toB.String(), answers)
		other := federation.New(federation.Config{Directory: rpEnv.app.Directory(), Keys: keys, PublicURL: rpEnv.public,
			HTTPClient: &http.Client{Transport: asClient{id: clientB, secret: secretB}}})
		if _, err := other.Exchange(ctx, res.id, p, back.Get("code"), v, "n2"); !errors.Is(err, federation.ErrRejected) || !strings.Contains(err.Error(), "audience") {
			t.Errorf("ID token for another client: %v", err)
		}

		// A provider whose discovery names another issuer than configured.
		northwind := idpEnv.tenant("Northwind", "northwind.example")
		lying := rpEnv.mustCall(201, "POST", "/v1.0/identity/identityProviders", res.token, map[string]any{
			"@odata.type": "#microsoft.graph.oidcIdentityProvider", "displayName": "Not Fabrikam", "clientId": clientA, "issuer": issuer,
			"wellKnownEndpoint":    idpEnv.url + "/" + northwind.id + "/v2.0/.well-known/openid-configuration",
			"clientAuthentication": map[string]any{"@odata.type": "#microsoft.graph.oidcClientSecretAuthentication", "clientSecret": secretA},
		}).body
		lp, err := fed.Provider(ctx, res.id, lying["id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fed.AuthCodeURL(ctx, res.id, lp, "st.3", "n3", v, ""); !errors.Is(err, federation.ErrRejected) || !strings.Contains(err.Error(), "issuer") {
			t.Errorf("discovery of another issuer: %v", err)
		}
		// Another resource tenant cannot use Contoso's provider.
		other2 := rpEnv.tenant("Adatum", "adatum.example")
		if _, err := fed.AuthCodeURL(ctx, other2.id, p, "st.4", "n4", v, ""); !errors.Is(err, federation.ErrUnknownProvider) {
			t.Errorf("another tenant's provider: %v", err)
		}
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// rewrite sends requests for one path to another, on the same host.
type rewrite struct{ from, to string }

func (rw rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == rw.from {
		r = r.Clone(r.Context())
		r.URL.Path = rw.to
	}
	return http.DefaultTransport.RoundTrip(r)
}

// asClient redeems codes as another client: it replaces the client's
// credentials in token requests, in the body or the Basic header.
type asClient struct{ id, secret string }

func (c asClient) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/token") {
		return http.DefaultTransport.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	out := r.Clone(r.Context())
	if _, _, ok := r.BasicAuth(); ok {
		out.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(c.id)+":"+url.QueryEscape(c.secret))))
	} else {
		form.Set("client_id", c.id)
		form.Set("client_secret", c.secret)
	}
	enc := form.Encode()
	out.Body, out.ContentLength = io.NopCloser(strings.NewReader(enc)), int64(len(enc))
	return http.DefaultTransport.RoundTrip(out)
}
