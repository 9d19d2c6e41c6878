package app_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// TestIdentityProvidersAPI: /identity/identityProviders in Graph's shapes,
// client secrets write-only and sealed at rest, refusals in Graph's error
// format, every change audited.
func TestIdentityProvidersAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		const base = "/v1.0/identity/identityProviders"
		const googleSecret, oidcSecret, rotated = "g-secret-0451-do-not-show", "o-secret-2718-do-not-show", "o-secret-3141-rotated"

		r := e.mustCall(201, "POST", base, a.token, map[string]any{"@odata.type": "microsoft.graph.socialIdentityProvider",
			"displayName": "Google", "identityProviderType": "google", "clientId": "g-client", "clientSecret": googleSecret})
		g := r.body
		if g["@odata.type"] != federation.TypeSocial || g["id"] != "Google-OAUTH" || g["identityProviderType"] != "Google" || g["clientId"] != "g-client" ||
			g["clientSecret"] != federation.MaskedSecret || !slices.Equal(strs(g["domains"]), []string{"gmail.com", "googlemail.com"}) ||
			r.header.Get("Location") != e.public+base+"/Google-OAUTH" || g["@odata.context"] != e.public+"/v1.0/$metadata#identity/identityProviders/$entity" {
			t.Fatalf("created Google: %v %v", r.header, g)
		}
		if r := e.call("POST", base, a.token, map[string]any{"@odata.type": "#microsoft.graph.socialIdentityProvider",
			"displayName": "Google again", "identityProviderType": "Google", "clientId": "x", "clientSecret": "y"}); r.status != 409 {
			t.Errorf("a second Google provider: %d %s", r.status, r.raw)
		}
		oidcBody := map[string]any{"@odata.type": "#microsoft.graph.oidcIdentityProvider", "displayName": "Fabrikam", "clientId": "f-client",
			"issuer": "https://login.fabrikam.example/v2.0", "responseType": "code", "scope": "openid profile email", "domains": []string{"Fabrikam.example"},
			"clientAuthentication": map[string]any{"@odata.type": "#microsoft.graph.oidcClientSecretAuthentication", "clientSecret": oidcSecret},
			"inboundClaimMapping":  map[string]any{"sub": "uid", "email_verified": "mail_ok"}}
		o := e.mustCall(201, "POST", base, a.token, oidcBody).body
		id := o["id"].(string)
		auth, _ := o["clientAuthentication"].(map[string]any)
		if o["@odata.type"] != federation.TypeOIDC || o["issuer"] != "https://login.fabrikam.example/v2.0" || o["responseType"] != "code" ||
			o["wellKnownEndpoint"] != nil || !slices.Equal(strs(o["domains"]), []string{"fabrikam.example"}) || auth["clientSecret"] != federation.MaskedSecret ||
			auth["@odata.type"] != "#microsoft.graph.oidcClientSecretAuthentication" || o["inboundClaimMapping"].(map[string]any)["sub"] != "uid" {
			t.Fatalf("created OIDC provider: %v", o)
		}

		// Refusals, each a 400 in Graph's shape.
		for name, body := range map[string]map[string]any{
			"no @odata.type":       {"displayName": "x", "clientId": "x"},
			"an abstract type":     {"@odata.type": "#microsoft.graph.identityProviderBase", "displayName": "x"},
			"an unknown property":  with(oidcBody, "colour", "blue"),
			"an id":                with(oidcBody, "id", "mine"),
			"no issuer":            with(oidcBody, "issuer", nil),
			"an http issuer":       with(oidcBody, "issuer", "http://login.fabrikam.example"),
			"an issuer with query": with(oidcBody, "issuer", "https://login.fabrikam.example/?x=1"),
			"implicit flow":        with(oidcBody, "responseType", "id_token"),
			"no openid scope":      with(oidcBody, "scope", "profile email"),
			"no secret":            with(oidcBody, "clientAuthentication", map[string]any{"@odata.type": "#microsoft.graph.oidcClientSecretAuthentication"}),
			"a private key JWT":    with(oidcBody, "clientAuthentication", map[string]any{"@odata.type": "#microsoft.graph.oidcPrivateJwtKeyClientAuthentication"}),
			"a bad domain":         with(oidcBody, "domains", []string{"not a domain"}),
			"a social type":        {"@odata.type": "#microsoft.graph.socialIdentityProvider", "displayName": "x", "identityProviderType": "MySpace", "clientId": "x", "clientSecret": "y"},
		} {
			if r := e.call("POST", base, a.token, body); r.status != 400 || r.errorCode() != "Request_BadRequest" {
				t.Errorf("%s: %d %s", name, r.status, r.raw)
			}
		}
		// A domain routes to one provider.
		r = e.call("POST", base, a.token, with(with(oidcBody, "domains", []string{"GMAIL.com"}), "displayName", "Mail"))
		if details, _ := r.body["error"].(map[string]any)["details"].([]any); r.status != 400 || len(details) != 1 || details[0].(map[string]any)["target"] != "domains" {
			t.Errorf("a domain another provider claims: %d %s", r.status, r.raw)
		}

		list := e.mustCall(200, "GET", base, a.token, nil)
		if list.body["@odata.context"] != e.public+"/v1.0/$metadata#identity/identityProviders" || len(list.values()) != 2 {
			t.Fatalf("list: %s", list.raw)
		}
		types := e.mustCall(200, "GET", base+"/availableProviderTypes()", a.token, nil)
		if !slices.Equal(strs(types.body["value"]), []string{"Google", "Facebook", "OpenIDConnect"}) {
			t.Errorf("availableProviderTypes(): %s", types.raw)
		}
		if r := e.call("GET", base+"?$top=1", a.token, nil); r.status != 400 || r.errorCode() != "Request_UnsupportedQuery" {
			t.Errorf("$top: %d %s", r.status, r.raw)
		}

		e.mustCall(204, "PATCH", base+"/"+id, a.token, map[string]any{"displayName": "Fabrikam Ltd",
			"clientAuthentication": map[string]any{"@odata.type": "#microsoft.graph.oidcClientSecretAuthentication", "clientSecret": rotated}})
		if r := e.call("PATCH", base+"/Google-OAUTH", a.token, map[string]any{"identityProviderType": "Facebook"}); r.status != 400 {
			t.Errorf("changing the type: %d %s", r.status, r.raw)
		}
		got := e.mustCall(200, "GET", base+"/"+id, a.token, nil)
		if got.body["displayName"] != "Fabrikam Ltd" || got.body["clientId"] != "f-client" {
			t.Errorf("after PATCH: %s", got.raw)
		}
		e.mustCall(204, "DELETE", base+"/Google-OAUTH", a.token, nil)
		// Deleted for good, its sealed secret with it.
		err := e.app.Directory().View(context.Background(), func(tx store.Tx) error {
			if _, err := tx.GetDeletedObject(context.Background(), a.id, federation.KindIdentityProvider, "Google-OAUTH"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a deleted provider kept: %v", err)
			}
			creds, err := tx.ListCredentials(context.Background(), a.id, "Google-OAUTH", "")
			if len(creds) != 0 {
				t.Errorf("a deleted provider's secret kept: %d", len(creds))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []reply{e.call("GET", base+"/Google-OAUTH", a.token, nil), e.call("PATCH", base+"/nope", a.token, map[string]any{"displayName": "x"}), e.call("DELETE", base+"/nope", a.token, nil)} {
			if r.status != 404 || r.errorCode() != "Request_ResourceNotFound" {
				t.Errorf("an unknown provider: %d %s", r.status, r.raw)
			}
		}

		// No secret is ever shown, nor kept in clear: not in the
		// documents, not among the sealed credentials, not in the audit log.
		recs := e.audits(t, a.token, "directoryAudits", "category eq 'DirectoryManagement'")
		names := activities(recs)
		for _, want := range []string{"Add identity provider", "Update identity provider", "Delete identity provider"} {
			if !slices.Contains(names, want) {
				t.Errorf("audit log %v lacks %q", names, want)
			}
		}
		var shown strings.Builder
		for _, r := range []reply{list, got, types} {
			shown.WriteString(r.raw)
		}
		shown.WriteString(e.mustCall(200, "GET", "/v1.0/auditLogs/directoryAudits", a.token, nil).raw)
		sealed := 0
		err = e.app.Directory().View(context.Background(), func(tx store.Tx) error {
			for _, k := range []string{federation.KindIdentityProvider} {
				p, err := tx.ListObjects(context.Background(), a.id, k, store.Query{Top: 10})
				if err != nil {
					return err
				}
				for _, o := range p.Objects {
					shown.Write(o.Data)
					creds, err := tx.ListCredentials(context.Background(), a.id, o.ID, "")
					if err != nil {
						return err
					}
					for _, c := range creds {
						shown.Write(c.Hash)
						sealed++
					}
				}
			}
			return nil
		})
		if err != nil || sealed != 1 {
			t.Fatalf("sealed secrets of live providers: %d, %v", sealed, err)
		}
		for _, secret := range []string{googleSecret, oidcSecret, rotated} {
			if bytes.Contains([]byte(shown.String()), []byte(secret)) {
				t.Errorf("client secret %q readable", secret)
			}
		}
	})
}

// TestIdentityProvidersNeedTheirPermission: without IdentityProvider.*
// no caller reads or writes providers; Read.All only reads.
func TestIdentityProvidersNeedTheirPermission(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	a := e.tenant("Contoso", "contoso.example")
	const base = "/v1.0/identity/identityProviders"
	body := map[string]any{"@odata.type": "#microsoft.graph.socialIdentityProvider", "displayName": "Facebook", "identityProviderType": "Facebook", "clientId": "fb", "clientSecret": "s"}

	client := func(permission string) string {
		app := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "app " + permission}).body
		sp := e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": app["appId"]}).body
		if permission != "" {
			graph := e.servicePrincipal(a, directory.GraphAppID)
			role := ""
			for _, p := range directory.GraphPermissions {
				if p.Value == permission {
					role = p.ID
				}
			}
			e.mustCall(201, "POST", "/v1.0/servicePrincipals/"+graph["id"].(string)+"/appRoleAssignedTo", a.token,
				map[string]any{"principalId": sp["id"], "resourceId": graph["id"], "appRoleId": role})
		}
		secret := e.mustCall(200, "POST", "/v1.0/applications/"+app["id"].(string)+"/addPassword", a.token, map[string]any{}).body["secretText"].(string)
		return e.token(a.id, app["appId"].(string), secret)
	}
	none, reader := client(""), client("IdentityProvider.Read.All")
	for _, r := range []reply{e.call("GET", base, none, nil), e.call("POST", base, none, body), e.call("POST", base, reader, body)} {
		if r.status != 403 || r.errorCode() != "Authorization_RequestDenied" {
			t.Errorf("without the permission: %d %s", r.status, r.raw)
		}
	}
	e.mustCall(200, "GET", base, reader, nil)
	e.mustCall(201, "POST", base, a.token, body)
	if got := e.mustCall(200, "GET", base+"/Facebook-OAUTH", reader, nil).body; got["clientSecret"] != federation.MaskedSecret {
		t.Errorf("read with IdentityProvider.Read.All: %v", got)
	}
}

func strs(v any) []string {
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	return out
}

// with is body with one property set (nil: removed).
func with(body map[string]any, name string, v any) map[string]any {
	out := make(map[string]any, len(body)+1)
	for k, x := range body {
		out[k] = x
	}
	if v == nil {
		delete(out, name)
	} else {
		out[name] = v
	}
	return out
}
