package app_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/pagewalk"
)

// TestFirstPartyClientCannotBeHijacked replays a cross-tenant takeover
// through the hosted pages. Contoso's administrator tries to turn the CLI's
// public client into a multitenant one that sends codes to a redirect URI
// of theirs, then lures Fabrikam's administrator through /organizations.
// The CLI is the deployment's: Contoso has no registration of it to edit,
// only a principal it may disable; /organizations does not serve it, and
// Fabrikam's own endpoint knows only its loopback redirect URI.
func TestFirstPartyClientCannotBeHijacked(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		// Contoso comes first: its copy of the CLI was the one
		// /organizations used to find.
		attacker := e.tenant("Contoso", "contoso.example")
		victim := e.tenant("Fabrikam", "fabrikam.example")
		const evil = "https://evil.example/cb"
		cli := directory.CLIAppID

		apps := e.mustCall(200, "GET", "/v1.0/applications?$filter="+url.QueryEscape("appId eq '"+cli+"'"), attacker.token, nil).values()
		if len(apps) != 0 {
			t.Errorf("Contoso holds a registration of the CLI: %v", apps)
		}
		for _, a := range apps {
			if r := e.call("PATCH", "/v1.0/applications/"+a["id"].(string), attacker.token, map[string]any{
				"signInAudience": "AzureADMultipleOrgs", "publicClient": map[string]any{"redirectUris": []string{"http://localhost", evil}},
			}); r.status < 400 {
				t.Errorf("Contoso made the CLI multitenant with its redirect URI: %d", r.status)
			}
		}

		// Its principal: the publisher's properties are fixed, and it
		// cannot be deleted (nor Graph's, whose app roles define the
		// application permissions).
		sp := e.servicePrincipal(attacker, cli)
		if sp == nil {
			t.Fatal("Contoso has no principal of the CLI")
		}
		if sp["appOwnerOrganizationId"] != directory.FirstPartyOwnerID {
			t.Errorf("the CLI's principal in Contoso: %v", sp)
		}
		graph := e.servicePrincipal(attacker, "00000003-0000-0000-c000-000000000000")
		for _, c := range []struct {
			method, path string
			body         map[string]any
			status       int
		}{
			{"PATCH", "/v1.0/servicePrincipals/" + sp["id"].(string), map[string]any{"displayName": "Gatehouse CLI (official)"}, 403},
			{"PATCH", "/v1.0/servicePrincipals/" + sp["id"].(string), map[string]any{"homepage": evil}, 403},
			{"PATCH", "/v1.0/servicePrincipals/" + sp["id"].(string), map[string]any{"replyUrls": []string{evil}}, 400},
			{"DELETE", "/v1.0/servicePrincipals/" + sp["id"].(string), nil, 403},
			{"PATCH", "/v1.0/servicePrincipals/" + graph["id"].(string), map[string]any{"appRoles": []any{}}, 400},
			{"PATCH", "/v1.0/servicePrincipals/" + graph["id"].(string), map[string]any{"displayName": "Graph"}, 403},
			{"DELETE", "/v1.0/servicePrincipals/" + graph["id"].(string), nil, 403},
			{"POST", "/v1.0/applications", map[string]any{"displayName": "CLI", "appId": cli}, 400},
		} {
			if r := e.call(c.method, c.path, attacker.token, c.body); r.status != c.status {
				t.Errorf("%s %s %v: %d %s, want %d", c.method, c.path, c.body, r.status, r.raw, c.status)
			}
		}

		// Fabrikam's administrator follows Contoso's link: no code leaves
		// for the attacker's redirect URI, through /organizations or
		// through Fabrikam's own endpoint.
		for _, authority := range []string{"organizations", victim.id} {
			q := url.Values{"client_id": {cli}, "response_type": {"code"}, "redirect_uri": {evil}, "scope": {"openid profile offline_access"},
				"state": {"st"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
			back, err := pagewalk.New(nil).SignIn(e.url+"/"+authority+"/oauth2/v2.0/authorize?"+q.Encode(),
				answersFor(victim.created.Admin.UserPrincipalName, victim.created.Admin.Password))
			if err == nil {
				t.Fatalf("%s: Fabrikam's administrator was sent to %s", authority, back)
			}
			var page *pagewalk.Final
			want := map[string]string{"organizations": "AADSTS50194", victim.id: "AADSTS50011"}[authority]
			if !errors.As(err, &page) || page.Status != http.StatusBadRequest || !strings.Contains(page.Body, want) {
				t.Errorf("%s: %v, want an error page %s", authority, err, want)
			}
		}

		// Contoso may turn the CLI off for itself only.
		e.mustCall(204, "PATCH", "/v1.0/servicePrincipals/"+sp["id"].(string), attacker.token, map[string]any{"accountEnabled": false})
		for _, c := range []struct {
			tenant string
			status int
		}{{attacker.id, 401}, {victim.id, 200}} {
			resp, err := http.PostForm(e.url+"/"+c.tenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {cli}, "scope": {"openid"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("device code for the CLI in %s: %d, want %d", c.tenant, resp.StatusCode, c.status)
			}
		}
	})
}

// txtRecords is DNS as the tests publish it.
type txtRecords map[string][]string

func (r txtRecords) LookupTXT(_ context.Context, name string) ([]string, error) { return r[name], nil }

// TestIdentifierURIsAreUniqueAcrossTenants: a tenant may claim identifier
// URIs only in its own namespace, and one URI names one application in the
// deployment whatever its case, even after the domain it is under moved to
// another tenant.
func TestIdentifierURIsAreUniqueAcrossTenants(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.tenant("Contoso", "contoso.example")
		b := e.tenant("Fabrikam", "fabrikam.example")
		wantRefused := func(what string, r reply, conflict bool) {
			t.Helper()
			isConflict := strings.Contains(r.raw, `"target":"identifierUris"`) && strings.Contains(r.raw, `"code":"ObjectConflict"`)
			if r.status != 400 || isConflict != conflict {
				t.Errorf("%s: %d %s", what, r.status, r.raw)
			}
		}

		// Fabrikam cannot claim Contoso's namespace, by create or update.
		wantRefused("Fabrikam claiming Contoso's domain", e.call("POST", "/v1.0/applications", b.token,
			map[string]any{"displayName": "Impostor", "identifierUris": []string{"https://contoso.example/payroll"}}), false)
		own := e.mustCall(201, "POST", "/v1.0/applications", b.token, map[string]any{"displayName": "Own"}).body
		wantRefused("Fabrikam adding Contoso's domain", e.call("PATCH", "/v1.0/applications/"+own["id"].(string), b.token,
			map[string]any{"identifierUris": []string{"api://" + own["appId"].(string), "api://contoso.example/payroll"}}), false)

		// Contoso publishes an API under a domain it verified, then gives the
		// domain up; Fabrikam verifies it but cannot take the API's URI.
		const moving = "moving.example"
		dns := txtRecords{moving: {directory.VerificationRecord(a.id, moving)}}
		e.mustCall(201, "POST", "/v1.0/domains", a.token, map[string]any{"id": moving})
		if _, err := e.app.Directory().VerifyDomain(ctx, a.id, moving, dns); err != nil {
			t.Fatal(err)
		}
		e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Payroll", "identifierUris": []string{"https://api.moving.example/payroll"}})
		wantRefused("a second application of Contoso with the URI", e.call("POST", "/v1.0/applications", a.token,
			map[string]any{"displayName": "Payroll 2", "identifierUris": []string{"https://API.moving.example/Payroll"}}), true)
		e.mustCall(204, "DELETE", "/v1.0/domains/"+moving, a.token, nil)
		e.mustCall(201, "POST", "/v1.0/domains", b.token, map[string]any{"id": moving})
		dns[moving] = []string{directory.VerificationRecord(b.id, moving)}
		if _, err := e.app.Directory().VerifyDomain(ctx, b.id, moving, dns); err != nil {
			t.Fatal(err)
		}
		wantRefused("Fabrikam taking Contoso's URI under its new domain", e.call("POST", "/v1.0/applications", b.token,
			map[string]any{"displayName": "Payroll", "identifierUris": []string{"https://api.moving.example/payroll"}}), true)
		wantRefused("Fabrikam adding Contoso's URI", e.call("PATCH", "/v1.0/applications/"+own["id"].(string), b.token,
			map[string]any{"identifierUris": []string{"https://api.moving.example/payroll"}}), true)
		e.mustCall(201, "POST", "/v1.0/applications", b.token, map[string]any{"displayName": "Other", "identifierUris": []string{"https://api.moving.example/other"}})
	})
}
