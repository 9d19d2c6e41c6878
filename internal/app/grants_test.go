package app_test

import (
	"net/url"
	"sync"
	"testing"
)

// TestPermissionGrantIsUniquePerClientResourceAndPrincipal: as in Entra, a
// client holds one grant per resource for all principals and one per user;
// a second, whatever its scope, is 409 "Permission entry already exists."
// (scripts catch it and PATCH instead), also when sent at once.
func TestPermissionGrantIsUniquePerClientResourceAndPrincipal(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		app := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Tool"}).body
		sp := e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": app["appId"]}).body["id"].(string)
		graph := e.graphSP(a)
		user := e.addUser(a, "ana")
		all := map[string]any{"clientId": sp, "consentType": "AllPrincipals", "resourceId": graph, "scope": "openid"}
		one := map[string]any{"clientId": sp, "consentType": "Principal", "principalId": user, "resourceId": graph, "scope": "User.Read"}

		var wg sync.WaitGroup
		statuses := make(chan int, 4)
		for range 4 {
			wg.Go(func() { statuses <- e.call("POST", "/v1.0/oauth2PermissionGrants", a.token, all).status })
		}
		wg.Wait()
		close(statuses)
		created := 0
		for s := range statuses {
			switch s {
			case 201:
				created++
			case 409:
			default:
				t.Fatalf("concurrent grant: status %d", s)
			}
		}
		if created != 1 {
			t.Fatalf("%d grants created at once, want 1", created)
		}
		e.mustCall(201, "POST", "/v1.0/oauth2PermissionGrants", a.token, one)

		for _, body := range []map[string]any{
			{"clientId": sp, "consentType": "AllPrincipals", "resourceId": graph, "scope": "openid profile"},
			{"clientId": sp, "consentType": "Principal", "principalId": user, "resourceId": graph, "scope": "User.ReadBasic.All"},
		} {
			r := e.mustCall(409, "POST", "/v1.0/oauth2PermissionGrants", a.token, body)
			if msg := r.body["error"].(map[string]any)["message"]; r.errorCode() != "Request_MultipleObjectsWithSameKeyValue" || msg != "Permission entry already exists." {
				t.Errorf("duplicate grant: %s", r.raw)
			}
		}
		if n := len(e.mustCall(200, "GET", "/v1.0/oauth2PermissionGrants?$filter="+url.QueryEscape("clientId eq '"+sp+"'"), a.token, nil).values()); n != 2 {
			t.Errorf("%d grants, want 2", n)
		}

		// Another user's grant is another entry; a deleted grant frees its place.
		bob := e.addUser(a, "bob")
		e.mustCall(201, "POST", "/v1.0/oauth2PermissionGrants", a.token, map[string]any{"clientId": sp, "consentType": "Principal", "principalId": bob, "resourceId": graph, "scope": "User.Read"})
		for _, g := range e.mustCall(200, "GET", "/v1.0/oauth2PermissionGrants?$filter="+url.QueryEscape("consentType eq 'AllPrincipals'"), a.token, nil).values() {
			if g["clientId"] == sp {
				e.mustCall(204, "DELETE", "/v1.0/oauth2PermissionGrants/"+g["id"].(string), a.token, nil)
			}
		}
		e.mustCall(201, "POST", "/v1.0/oauth2PermissionGrants", a.token, all)
	})
}
