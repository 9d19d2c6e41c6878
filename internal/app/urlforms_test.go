package app_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
)

// TestSDKURLForms drives the spellings the Graph SDKs generate: delta()
// with parentheses, $deltaToken as the docs spell it, $deltatoken=latest,
// type casts with their $count, and alternate keys.
func TestSDKURLForms(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		b := e.tenant("Fabrikam", "fabrikam.example")
		eventual := []string{"ConsistencyLevel", "eventual"}

		// delta() pages and links back to delta(); $deltaToken (docs' case) replays.
		var deltaLink string
		for link := "/v1.0/users/delta()?$top=1"; link != ""; {
			r := e.mustCall(200, "GET", link, a.token, nil)
			link, _ = r.body["@odata.nextLink"].(string)
			deltaLink, _ = r.body["@odata.deltaLink"].(string)
		}
		if !strings.Contains(deltaLink, "/users/delta()?") {
			t.Fatalf("delta link: %q", deltaLink)
		}
		u := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("dee", a.domain)).body["id"].(string)
		docsSpelling := strings.Replace(deltaLink, "$deltatoken=", "$deltaToken=", 1)
		if vals := e.mustCall(200, "GET", docsSpelling, a.token, nil).values(); len(vals) != 1 || vals[0]["id"] != u {
			t.Fatalf("delta with $deltaToken: %v", vals)
		}
		// latest: no objects, only a link from now on.
		latest := e.mustCall(200, "GET", "/v1.0/groups/delta()?$deltatoken=latest", a.token, nil)
		if len(latest.values()) != 0 || latest.body["@odata.deltaLink"] == nil {
			t.Fatalf("latest: %s", latest.raw)
		}
		g := e.mustCall(201, "POST", "/v1.0/groups", a.token, map[string]any{"displayName": "Eng", "mailEnabled": false, "mailNickname": "eng", "securityEnabled": true}).body["id"].(string)
		if vals := e.mustCall(200, "GET", latest.body["@odata.deltaLink"].(string), a.token, nil).values(); len(vals) != 1 || vals[0]["id"] != g {
			t.Fatalf("after latest: %v", vals)
		}
		e.mustCall(400, "GET", "/v1.0/users/delta()?$deltatoken=nonsense", a.token, nil)

		// Type casts on members and memberOf, and their $count.
		inner := e.mustCall(201, "POST", "/v1.0/groups", a.token, map[string]any{"displayName": "Inner", "mailEnabled": false, "mailNickname": "inner", "securityEnabled": true}).body["id"].(string)
		for _, m := range []string{u, inner} {
			e.mustCall(204, "POST", "/v1.0/groups/"+g+"/members/$ref", a.token, map[string]any{"@odata.id": e.url + "/v1.0/directoryObjects/" + m})
		}
		e.mustCall(204, "POST", "/v1.0/groups/"+inner+"/members/$ref", a.token, map[string]any{"@odata.id": e.url + "/v1.0/directoryObjects/" + u})
		for path, want := range map[string]string{
			"/v1.0/groups/" + g + "/members/graph.user":            u,
			"/v1.0/groups/" + g + "/members/microsoft.graph.group": inner,
			"/v1.0/users/" + u + "/memberOf/graph.group":           g + "," + inner,
			"/v1.0/groups/" + inner + "/memberOf/graph.group":      g,
		} {
			var got []string
			for _, v := range e.mustCall(200, "GET", path, a.token, nil).values() {
				got = append(got, v["id"].(string))
			}
			if !sameSet(got, strings.Split(want, ",")) {
				t.Errorf("%s = %v, want %s", path, got, want)
			}
		}
		if vals := e.mustCall(200, "GET", "/v1.0/groups/"+g+"/members/graph.servicePrincipal", a.token, nil).values(); len(vals) != 0 {
			t.Errorf("service principal members: %v", vals)
		}
		for path, want := range map[string]string{
			"/v1.0/groups/" + g + "/members/$count":             "2",
			"/v1.0/groups/" + g + "/members/graph.user/$count":  "1",
			"/v1.0/users/" + u + "/memberOf/graph.group/$count": "2",
			"/v1.0/users/" + u + "/memberOf/$count":             "2",
		} {
			if r := e.mustCall(200, "GET", path, a.token, nil, eventual...); r.raw != want {
				t.Errorf("%s = %q, want %s", path, r.raw, want)
			}
		}
		if r := e.mustCall(400, "GET", "/v1.0/groups/"+g+"/members/$count", a.token, nil); r.errorCode() != "Request_BadRequest" {
			t.Errorf("$count without the header: %s", r.raw)
		}
		e.mustCall(400, "GET", "/v1.0/groups/"+g+"/members/graph.nonsense", a.token, nil)
		e.mustCall(404, "GET", "/v1.0/groups/"+g+"/members/graph.user", b.token, nil)
		e.mustCall(404, "GET", "/v1.0/groups/"+g+"/members/$count", b.token, nil, eventual...)

		// Deleted items by the SDK's cast segment.
		e.mustCall(204, "DELETE", "/v1.0/users/"+u, a.token, nil)
		deleted := e.mustCall(200, "GET", "/v1.0/directory/deletedItems/graph.user", a.token, nil)
		if vals := deleted.values(); len(vals) != 1 || vals[0]["id"] != u || !strings.HasSuffix(deleted.body["@odata.context"].(string), "deletedItems/microsoft.graph.user") {
			t.Errorf("deletedItems/graph.user: %s", deleted.raw)
		}
		e.mustCall(400, "GET", "/v1.0/directory/deletedItems/graph.domain", a.token, nil)
		if r := e.mustCall(200, "GET", "/v1.0/directory/deletedItems/graph.user/$count", a.token, nil, eventual...); r.raw != "1" {
			t.Errorf("deletedItems/graph.user/$count = %q, want 1", r.raw)
		}
		if r := e.mustCall(200, "GET", "/v1.0/directory/deletedItems/graph.user/$count", b.token, nil, eventual...); r.raw != "0" {
			t.Errorf("another tenant's deletedItems/graph.user/$count = %q, want 0", r.raw)
		}
		e.mustCall(400, "GET", "/v1.0/directory/deletedItems/graph.user/$count", a.token, nil)
		e.mustCall(400, "GET", "/v1.0/directory/deletedItems/graph.domain/$count", a.token, nil, eventual...)

		// Alternate keys: applications and service principals by appId,
		// directory roles by their template id.
		app := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Payroll"}).body
		appID := app["appId"].(string)
		byKey := "/v1.0/applications(appId='" + appID + "')"
		if got := e.mustCall(200, "GET", byKey, a.token, nil).body; got["id"] != app["id"] {
			t.Errorf("application by appId: %v", got)
		}
		if got := e.mustCall(200, "GET", "/v1.0/applications(appId=%27"+appID+"%27)?$select=displayName", a.token, nil).body; got["displayName"] != "Payroll" {
			t.Errorf("application by escaped appId: %v", got)
		}
		e.mustCall(204, "PATCH", byKey, a.token, map[string]any{"displayName": "Payroll 2"})
		if got := e.mustCall(200, "GET", "/v1.0/applications/"+app["id"].(string), a.token, nil).body; got["displayName"] != "Payroll 2" {
			t.Errorf("PATCH by appId: %v", got)
		}
		sp := e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": appID}).body
		if got := e.mustCall(200, "GET", "/v1.0/servicePrincipals(appId='"+appID+"')", a.token, nil).body; got["id"] != sp["id"] {
			t.Errorf("service principal by appId: %v", got)
		}
		e.mustCall(200, "GET", "/v1.0/servicePrincipals(appId='"+appID+"')/owners", a.token, nil)
		role := e.mustCall(200, "GET", "/v1.0/directoryRoles(roleTemplateId='"+directory.RoleGlobalAdministrator+"')", a.token, nil).body
		if role["roleTemplateId"] != directory.RoleGlobalAdministrator {
			t.Errorf("directory role by template id: %v", role)
		}
		e.mustCall(404, "GET", "/v1.0/applications(appId='"+appID+"')", b.token, nil)
		e.mustCall(404, "GET", "/v1.0/applications(appId='00000000-0000-0000-0000-000000000001')", a.token, nil)
		for _, bad := range []string{"/v1.0/applications(displayName='x')", "/v1.0/directoryRoles(appId='x')", "/v1.0/nonsense"} {
			if r := e.mustCall(400, "GET", bad, a.token, nil); r.errorCode() != "BadRequest" {
				t.Errorf("%s: %s", bad, r.raw)
			}
		}
		e.mustCall(401, "GET", byKey, "", nil)
		e.mustCall(204, "DELETE", "/v1.0/applications(appId='"+url.PathEscape(appID)+"')", a.token, nil)
		e.mustCall(404, "GET", "/v1.0/applications/"+app["id"].(string), a.token, nil)
	})
}
