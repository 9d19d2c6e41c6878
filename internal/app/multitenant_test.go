package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Microsoft Graph's ids of the delegated permissions a multitenant app of
// these tests lists in requiredResourceAccess.
var signInPermissions = []string{
	"37f7f235-527c-4136-accd-4a02d197296e", // openid
	"14dad69e-099b-42c9-810b-d002981feec1", // profile
	"7427e0e9-2fba-42fe-b0c0-848c9e6a8182", // offline_access
	"e1fe6dd8-ba31-4d61-89e7-88639da4683d", // User.Read
}

// orgsApp is a multitenant confidential app, configured as its developer
// would against the organizations authority.
type orgsApp struct {
	conf  oauth2.Config
	appID string // the application's object id in its home tenant
}

// registerMultitenantApp registers a confidential web app for any
// organization (AzureADMultipleOrgs) in tenant a, and configures its client
// from the organizations discovery document.
func (e *env) registerMultitenantApp(t *testing.T, a tenant, name, callback string, scopes ...string) orgsApp {
	t.Helper()
	access := make([]any, len(signInPermissions))
	for i, id := range signInPermissions {
		access[i] = map[string]any{"id": id, "type": "Scope"}
	}
	app := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{
		"displayName": name, "signInAudience": "AzureADMultipleOrgs",
		"web":                    map[string]any{"redirectUris": []string{callback}},
		"requiredResourceAccess": []any{map[string]any{"resourceAppId": "00000003-0000-0000-c000-000000000000", "resourceAccess": access}},
	}).body
	secret := e.mustCall(200, "POST", "/v1.0/applications/"+app["id"].(string)+"/addPassword", a.token, map[string]any{}).body["secretText"].(string)
	var disco struct {
		Issuer                string `json:"issuer"`
		AuthorizationEndpoint string `json:"authorization_endpoint"`
		TokenEndpoint         string `json:"token_endpoint"`
		JWKSURI               string `json:"jwks_uri"`
	}
	r := e.call("GET", "/organizations/v2.0/.well-known/openid-configuration", "", nil)
	if r.status != 200 || json.Unmarshal([]byte(r.raw), &disco) != nil {
		t.Fatalf("organizations discovery: %d %s", r.status, r.raw)
	}
	want := e.url + "/organizations/oauth2/v2.0/"
	if disco.Issuer != e.url+"/{tenantid}/v2.0" || disco.AuthorizationEndpoint != want+"authorize" || disco.TokenEndpoint != want+"token" ||
		disco.JWKSURI != e.url+"/{tenantid}/discovery/v2.0/keys" {
		t.Fatalf("organizations discovery: %s", r.raw)
	}
	return orgsApp{
		conf: oauth2.Config{ClientID: app["appId"].(string), ClientSecret: secret, RedirectURL: callback, Scopes: scopes,
			Endpoint: oauth2.Endpoint{AuthURL: disco.AuthorizationEndpoint, TokenURL: disco.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams}},
		appID: app["id"].(string),
	}
}

// at is the app's client with the token endpoint of another authority.
func (a orgsApp) at(e *env, authority string) oauth2.Config {
	c := a.conf
	c.Endpoint.TokenURL = e.url + "/" + authority + "/oauth2/v2.0/token"
	return c
}

// signIn runs the code flow through the browser and returns the code and
// its PKCE verifier.
func (a orgsApp) signIn(t *testing.T, b *browser, answers map[string]string) (code, verifier string) {
	t.Helper()
	verifier = oauth2.GenerateVerifier()
	back := b.signIn(a.conf.AuthCodeURL("st-orgs", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-orgs")), answers)
	if back.Get("state") != "st-orgs" || back.Get("code") == "" {
		t.Fatalf("back at the app with %v", back)
	}
	return back.Get("code"), verifier
}

// verifyMultitenant checks an ID token the way a multitenant app must. The
// organizations discovery publishes the templated issuer
// {base}/{tenantid}/v2.0, which go-oidc cannot take: it compares the issuer
// as a literal string. Rather than turning the issuer check off
// (oidc.InsecureIssuerURLContext), the test does what Microsoft.Identity.Web
// does: it reads tid from the token (unverified, only to choose), builds the
// verifier from that tenant's own discovery document, whose issuer is
// concrete, and so checks signature, issuer, audience and expiry exactly;
// then it checks tid is a tenant it expected.
func (e *env) verifyMultitenant(t *testing.T, clientID, raw, wantTenant string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var unverified struct {
		Tid string `json:"tid"`
	}
	if err != nil || json.Unmarshal(payload, &unverified) != nil || unverified.Tid != wantTenant {
		t.Fatalf("ID token of tenant %q, want %s", unverified.Tid, wantTenant)
	}
	provider, err := oidc.NewProvider(context.Background(), e.url+"/"+unverified.Tid+"/v2.0")
	if err != nil {
		t.Fatal(err)
	}
	id, err := provider.Verifier(&oidc.Config{ClientID: clientID}).Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := id.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// addUser creates a user of the tenant who signs in with "correct horse
// battery {alias}" and returns its object id.
func (e *env) addUser(a tenant, alias string) string {
	u := newUser(alias, a.domain)
	u["passwordProfile"] = map[string]any{"password": "correct horse battery " + alias, "forceChangePasswordNextSignIn": false}
	return e.mustCall(201, "POST", "/v1.0/users", a.token, u).body["id"].(string)
}

func answersFor(upn, password string) map[string]string {
	return map[string]string{"username": upn, "password": password, "stay": "yes", "decision": "accept"}
}

// servicePrincipal is the app's principal in the tenant, nil when it has none.
func (e *env) servicePrincipal(a tenant, clientID string) map[string]any {
	for _, sp := range e.mustCall(200, "GET", "/v1.0/servicePrincipals", a.token, nil).values() {
		if sp["appId"] == clientID {
			return sp
		}
	}
	return nil
}

func TestMultitenantSignInThroughOrganizations(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		b := e.tenant("Fabrikam", "fabrikam.example")
		bea := e.addUser(b, "bea")
		const cb = "https://saas.example/cb"
		app := e.registerMultitenantApp(t, a, "Contoso SaaS", cb, "openid", "profile", "offline_access", "User.Read")
		ctx := context.Background()

		// Bea of Fabrikam signs in to Contoso's app without naming her tenant;
		// she consents for herself, which creates the app's principal in B.
		br := newBrowser(t, cb)
		code, verifier := app.signIn(t, br, answersFor("bea@"+b.domain, "correct horse battery bea"))
		if !slices.Equal(br.pages, []string{"username", "password", "stay", "decision"}) {
			t.Errorf("pages %v", br.pages)
		}
		// A code from Fabrikam is not Contoso's to redeem, even by the app
		// authenticating in its home tenant; trying leaves the code intact.
		e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": app.conf.ClientID})
		toA := app.at(e, a.id)
		if _, err := toA.Exchange(ctx, code, oauth2.VerifierOption(verifier)); !isInvalidGrant(err) {
			t.Fatalf("code redeemed at another tenant's endpoint: %v", err)
		}
		tok, err := app.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		claims := e.verifyMultitenant(t, app.conf.ClientID, tok.Extra("id_token").(string), b.id)
		if claims["iss"] != e.url+"/"+b.id+"/v2.0" || claims["oid"] != bea || claims["preferred_username"] != "bea@"+b.domain {
			t.Errorf("ID token claims: %v", claims)
		}
		// The access token is Fabrikam's: it reads Bea's own profile there.
		if me := e.mustCall(200, "GET", "/v1.0/me", tok.AccessToken, nil).body; me["id"] != bea {
			t.Errorf("/me: %v", me)
		}

		sp := e.servicePrincipal(b, app.conf.ClientID)
		if sp == nil || sp["appOwnerOrganizationId"] != a.id {
			t.Fatalf("service principal in Fabrikam: %v", sp)
		}

		// Refresh works at organizations and at Fabrikam's own endpoint.
		fresh, err := app.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatalf("refresh at organizations: %v", err)
		}
		toB := app.at(e, b.id)
		fresh, err = toB.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token()
		if err != nil {
			t.Fatalf("refresh at Fabrikam: %v", err)
		}

		// Fabrikam's administrator revokes the consent: refresh ends.
		for _, g := range e.mustCall(200, "GET", "/v1.0/oauth2PermissionGrants", b.token, nil).values() {
			if g["clientId"] == sp["id"] {
				e.mustCall(204, "DELETE", "/v1.0/oauth2PermissionGrants/"+g["id"].(string), b.token, nil)
			}
		}
		if _, err := app.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token(); !isInvalidGrant(err) {
			t.Fatalf("refresh after the grant was revoked: %v", err)
		}

		// The revocation ended the browser's session for the app too: Bea
		// signs in again, through organizations, and consents again.
		app.signIn(t, br, answersFor("bea@"+b.domain, "correct horse battery bea"))
		if !slices.Equal(br.pages, []string{"username", "password", "stay", "decision"}) {
			t.Errorf("sign-in after the revocation showed %v", br.pages)
		}
	})
}

func TestOrganizationsRefusals(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		b := e.tenant("Fabrikam", "fabrikam.example")
		e.addUser(b, "bea")
		const cb = "https://app.example/cb"

		// An app for its own tenant only is refused at organizations.
		single := e.registerApp(t, a, "Contoso only", cb, "openid")
		q := url.Values{"client_id": {single.conf.ClientID}, "response_type": {"code"}, "redirect_uri": {cb}, "scope": {"openid"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
		r := e.call("GET", "/organizations/oauth2/v2.0/authorize?"+q.Encode(), "", nil)
		if r.status != 400 || !strings.Contains(r.raw, "AADSTS50194") || r.header.Get("Location") != "" {
			t.Errorf("single-tenant app at organizations: %d %s", r.status, r.raw)
		}
		// Only codes and refresh tokens are served there.
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {a.created.Auto.ClientID}, "client_secret": {a.created.Auto.ClientSecret}, "scope": {e.public + "/.default"}}
		resp, err := http.PostForm(e.url+"/organizations/oauth2/v2.0/token", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("client_credentials at organizations: %d", resp.StatusCode)
		}

		// At Contoso's own endpoint, a user of Fabrikam who is no guest
		// there authenticates at home (as a guest would) and is then
		// refused (AADSTS50020): tenant-specific requests do not rehome.
		multi := e.registerMultitenantApp(t, a, "Contoso SaaS", cb, "openid")
		authURL := strings.Replace(multi.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), "/organizations/", "/"+a.id+"/", 1)
		gb := newGuestBrowser(t, e)
		p := gb.open(authURL)
		answers := map[string]map[string]string{"username": {"username": "bea@" + b.domain},
			"password": {"password": "correct horse battery bea"}, "kmsi": {"stay": "no"}}
		var steps []string
		for range 6 {
			fields, ok := answers[p.Step()]
			if !ok || p.Away != nil || strings.Contains(p.Body, "AADSTS50020") {
				break
			}
			steps = append(steps, p.Step())
			p = gb.submit(p, fields)
		}
		if p.Away != nil || !strings.Contains(p.Body, "AADSTS50020") || !slices.Contains(steps, "password") {
			t.Errorf("Fabrikam user at Contoso's endpoint, after %v: %v %.400s", steps, p.Away, p.Body)
		}
		// At organizations, a domain no tenant has is not found anywhere.
		if page := postUsername(t, newBrowser(t, cb).client, multi.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), "x@nowhere.example"); !strings.Contains(page, "AADSTS50034") {
			t.Errorf("unknown domain at organizations: %.400s", page)
		}
	})
}

var (
	formActionRe = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	hiddenRe     = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// postUsername opens the sign-in pages for authURL, submits the username
// and returns the page that answers.
func postUsername(t *testing.T, c *http.Client, authURL, username string) string {
	t.Helper()
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	action := formActionRe.FindStringSubmatch(string(body))
	if action == nil {
		t.Fatalf("no form: %.400s", body)
	}
	form := url.Values{"username": {username}}
	for _, m := range hiddenRe.FindAllStringSubmatch(string(body), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	next, _ := resp.Request.URL.Parse(html.UnescapeString(action[1]))
	req, _ := http.NewRequest(http.MethodPost, next.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", next.Scheme+"://"+next.Host)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	return html.UnescapeString(string(body))
}

func TestAdminConsent(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		b := e.tenant("Fabrikam", "fabrikam.example")
		e.addUser(b, "bea")
		e.addUser(b, "bo")
		const cb = "https://saas.example/cb"
		app := e.registerMultitenantApp(t, a, "Contoso SaaS", cb, "openid", "profile", "offline_access", "User.Read")
		consentURL := func(redirect string) string {
			return e.url + "/" + b.id + "/v2.0/adminconsent?" + url.Values{"client_id": {app.conf.ClientID}, "scope": {e.url + "/.default"},
				"redirect_uri": {redirect}, "state": {"st-admin"}}.Encode()
		}

		// A redirect URI the app did not register gets a page, never a redirect.
		r := e.call("GET", consentURL("https://evil.example/cb"), "", nil)
		if r.status != 400 || !strings.Contains(r.raw, "AADSTS50011") || r.header.Get("Location") != "" {
			t.Errorf("unregistered redirect URI: %d %s", r.status, r.raw)
		}

		// A member cannot consent for the organization: nothing is granted.
		back := newBrowser(t, cb).signIn(consentURL(cb), answersFor("bea@"+b.domain, "correct horse battery bea"))
		if back.Get("error") != "access_denied" || back.Get("state") != "st-admin" || back.Get("admin_consent") != "" {
			t.Errorf("member's admin consent: %v", back)
		}
		if sp := e.servicePrincipal(b, app.conf.ClientID); sp != nil {
			t.Errorf("a refused admin consent created %v", sp)
		}

		// Fabrikam's Global Administrator consents for everyone.
		admin := newBrowser(t, cb)
		back = admin.signIn(consentURL(cb), answersFor(b.created.Admin.UserPrincipalName, b.created.Admin.Password))
		if back.Get("admin_consent") != "True" || back.Get("tenant") != b.id || back.Get("state") != "st-admin" {
			t.Fatalf("admin consent: %v", back)
		}
		if !slices.Equal(admin.pages, []string{"username", "password", "stay", "decision"}) {
			t.Errorf("admin consent pages %v", admin.pages)
		}
		sp := e.servicePrincipal(b, app.conf.ClientID)
		if sp == nil || sp["appOwnerOrganizationId"] != a.id {
			t.Fatalf("service principal in Fabrikam: %v", sp)
		}
		var tenantWide []map[string]any
		for _, g := range e.mustCall(200, "GET", "/v1.0/oauth2PermissionGrants", b.token, nil).values() {
			if g["clientId"] == sp["id"] && g["consentType"] == "AllPrincipals" {
				tenantWide = append(tenantWide, g)
			}
		}
		if len(tenantWide) != 1 || tenantWide[0]["scope"] != "openid profile offline_access User.Read" {
			t.Fatalf("tenant-wide grants: %v", tenantWide)
		}

		// Any user of Fabrikam now signs in without being asked.
		bo := newBrowser(t, cb)
		code, verifier := app.signIn(t, bo, answersFor("bo@"+b.domain, "correct horse battery bo"))
		if !slices.Equal(bo.pages, []string{"username", "password", "stay"}) {
			t.Errorf("pages after admin consent: %v", bo.pages)
		}
		tok, err := app.conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if scp := e.verifyMultitenant(t, app.conf.ClientID, tok.Extra("id_token").(string), b.id)["tid"]; scp != b.id {
			t.Errorf("tid %v", scp)
		}
	})
}
