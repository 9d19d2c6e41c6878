package app_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
)

// TestReadsScriptsUse: managers and direct reports, owned objects,
// membership checks, getByIds, /me's memberships and PATCH /me, and paging
// and filtering appRoleAssignedTo.
func TestReadsScriptsUse(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		b := e.tenant("Fabrikam", "fabrikam.example")
		boss, emp1, emp2 := e.addUser(a, "boss"), e.addUser(a, "emp1"), e.addUser(a, "emp2")

		// Manager and direct reports.
		for _, emp := range []string{emp1, emp2} {
			e.mustCall(204, "PUT", "/v1.0/users/"+emp+"/manager/$ref", a.token, e.ref(boss))
		}
		if m := e.mustCall(200, "GET", "/v1.0/users/"+emp1+"/manager", a.token, nil).body; m["id"] != boss || m["@odata.type"] != "#microsoft.graph.user" {
			t.Errorf("manager: %v", m)
		}
		if got := ids(e.mustCall(200, "GET", "/v1.0/users/"+boss+"/directReports", a.token, nil).values()); !sameSet(got, []string{emp1, emp2}) {
			t.Errorf("directReports = %v", got)
		}
		e.mustCall(204, "PUT", "/v1.0/users/"+emp1+"/manager/$ref", a.token, e.ref(emp2))
		if got := ids(e.mustCall(200, "GET", "/v1.0/users/"+boss+"/directReports", a.token, nil).values()); !slices.Equal(got, []string{emp2}) {
			t.Errorf("directReports after a new manager = %v", got)
		}
		e.mustCall(400, "PUT", "/v1.0/users/"+emp1+"/manager/$ref", a.token, e.ref(emp1))
		e.mustCall(404, "PUT", "/v1.0/users/"+emp1+"/manager/$ref", b.token, e.ref(emp2))
		e.mustCall(404, "GET", "/v1.0/users/"+emp1+"/manager", b.token, nil)
		e.mustCall(204, "DELETE", "/v1.0/users/"+emp1+"/manager/$ref", a.token, nil)
		e.mustCall(404, "DELETE", "/v1.0/users/"+emp1+"/manager/$ref", a.token, nil)
		e.mustCall(404, "GET", "/v1.0/users/"+emp1+"/manager", a.token, nil)

		// Owned objects.
		group := func(name string) string {
			return e.mustCall(201, "POST", "/v1.0/groups", a.token, map[string]any{"displayName": name, "mailEnabled": false, "mailNickname": name, "securityEnabled": true}).body["id"].(string)
		}
		g1, g2 := group("outer"), group("inner")
		e.mustCall(204, "POST", "/v1.0/groups/"+g1+"/owners/$ref", a.token, e.ref(emp1))
		app := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Owned"}).body["id"].(string)
		e.mustCall(204, "POST", "/v1.0/applications/"+app+"/owners/$ref", a.token, e.ref(emp1))
		if got := ids(e.mustCall(200, "GET", "/v1.0/users/"+emp1+"/ownedObjects", a.token, nil).values()); !sameSet(got, []string{g1, app}) {
			t.Errorf("ownedObjects = %v", got)
		}

		// Membership checks, nested groups and roles included.
		e.mustCall(204, "POST", "/v1.0/groups/"+g1+"/members/$ref", a.token, e.ref(g2))
		e.mustCall(204, "POST", "/v1.0/groups/"+g2+"/members/$ref", a.token, e.ref(emp2))
		e.mustCall(204, "POST", "/v1.0/directoryRoles/"+authz.DirectoryReaders+"/members/$ref", a.token, e.ref(emp2))
		strs := func(r reply) []string {
			var out []string
			for _, v := range r.body["value"].([]any) {
				out = append(out, v.(string))
			}
			return out
		}
		check := func(path string, body any, want ...string) {
			t.Helper()
			if got := strs(e.mustCall(200, "POST", path, a.token, body)); !sameSet(got, want) {
				t.Errorf("%s = %v, want %v", path, got, want)
			}
		}
		check("/v1.0/users/"+emp2+"/getMemberGroups", map[string]any{"securityEnabledOnly": true}, g1, g2)
		check("/v1.0/users/"+emp2+"/getMemberObjects", map[string]any{"securityEnabledOnly": false}, g1, g2, authz.DirectoryReaders)
		check("/v1.0/groups/"+g2+"/getMemberGroups", map[string]any{"securityEnabledOnly": false}, g1)
		check("/v1.0/users/"+emp2+"/checkMemberGroups", map[string]any{"groupIds": []any{g1, boss}}, g1)
		check("/v1.0/users/"+boss+"/checkMemberGroups", map[string]any{"groupIds": []any{g1}})
		e.mustCall(400, "POST", "/v1.0/users/"+emp2+"/getMemberGroups", a.token, map[string]any{})
		e.mustCall(400, "POST", "/v1.0/users/"+emp2+"/checkMemberGroups", a.token, map[string]any{"groupIds": []any{"nope"}})
		e.mustCall(404, "POST", "/v1.0/users/"+emp2+"/getMemberGroups", b.token, map[string]any{"securityEnabledOnly": true})

		// $expand: a user's manager, a group's members and owners.
		e.mustCall(204, "PUT", "/v1.0/users/"+emp1+"/manager/$ref", a.token, e.ref(boss))
		if m, _ := e.mustCall(200, "GET", "/v1.0/users/"+emp1+"?$expand=manager", a.token, nil).body["manager"].(map[string]any); m["id"] != boss || m["@odata.type"] != "#microsoft.graph.user" {
			t.Errorf("$expand=manager: %v", m)
		}
		if _, ok := e.mustCall(200, "GET", "/v1.0/users/"+boss+"?$expand=manager", a.token, nil).body["manager"]; ok {
			t.Errorf("$expand=manager of a user without one has a manager")
		}
		managers := map[string]any{}
		for _, u := range e.mustCall(200, "GET", "/v1.0/users?$expand=manager&$select=id", a.token, nil).values() {
			if m, ok := u["manager"].(map[string]any); ok {
				managers[u["id"].(string)] = m["id"]
			}
		}
		if len(managers) != 2 || managers[emp1] != boss || managers[emp2] != boss {
			t.Errorf("users?$expand=manager: %v", managers)
		}
		expanded := e.mustCall(200, "GET", "/v1.0/groups/"+g1+"?$expand=members,owners", a.token, nil).body
		if ms := ids(anyMaps(expanded["members"])); !slices.Equal(ms, []string{g2}) {
			t.Errorf("$expand=members: %v", expanded["members"])
		}
		if os := ids(anyMaps(expanded["owners"])); !slices.Equal(os, []string{emp1}) {
			t.Errorf("$expand=owners: %v", expanded["owners"])
		}
		for _, g := range e.mustCall(200, "GET", "/v1.0/groups?$expand=members", a.token, nil).values() {
			if _, ok := g["members"].([]any); !ok {
				t.Errorf("groups?$expand=members: %v", g)
			}
		}
		for _, bad := range []string{"/v1.0/users/" + emp1 + "?$expand=members", "/v1.0/groups/" + g1 + "?$expand=manager",
			"/v1.0/groups/" + g1 + "/members?$expand=members", "/v1.0/users?$expand=manager($select=id)"} {
			if r := e.call("GET", bad, a.token, nil); r.status != 400 || r.errorCode() != "Request_BadRequest" {
				t.Errorf("%s: %d %s", bad, r.status, r.raw)
			}
		}

		// getByIds, with and without types; another tenant finds nothing.
		missing := "00000000-0000-0000-0000-0000000000aa"
		byIDs := func(token string, body map[string]any) []string {
			return ids(e.mustCall(200, "POST", "/v1.0/directoryObjects/getByIds", token, body).values())
		}
		if got := byIDs(a.token, map[string]any{"ids": []any{emp1, g1, missing}}); !sameSet(got, []string{emp1, g1}) {
			t.Errorf("getByIds = %v", got)
		}
		if got := byIDs(a.token, map[string]any{"ids": []any{emp1, g1}, "types": []any{"user"}}); !slices.Equal(got, []string{emp1}) {
			t.Errorf("getByIds of users = %v", got)
		}
		if got := byIDs(b.token, map[string]any{"ids": []any{emp1, g1}}); len(got) != 0 {
			t.Errorf("getByIds across tenants = %v", got)
		}
		e.mustCall(400, "POST", "/v1.0/directoryObjects/getByIds", a.token, map[string]any{"ids": []any{emp1}, "types": []any{"domain"}})
		e.mustCall(400, "POST", "/v1.0/directoryObjects/getByIds", a.token, map[string]any{"ids": []any{}})

		// /me: memberships, membership checks and the user's own profile.
		tool := e.delegatedTool(t, a, "User.ReadWrite")
		me := tool.tokenFor(t, "emp2@"+a.domain, "correct horse battery emp2")
		if got := ids(e.mustCall(200, "GET", "/v1.0/me/memberOf", me, nil).values()); !sameSet(got, []string{g2, authz.DirectoryReaders}) {
			t.Errorf("/me/memberOf = %v", got)
		}
		if got := ids(e.mustCall(200, "GET", "/v1.0/me/transitiveMemberOf", me, nil).values()); !sameSet(got, []string{g1, g2, authz.DirectoryReaders}) {
			t.Errorf("/me/transitiveMemberOf = %v", got)
		}
		if got := strs(e.mustCall(200, "POST", "/v1.0/me/checkMemberGroups", me, map[string]any{"groupIds": []any{g1}})); !slices.Equal(got, []string{g1}) {
			t.Errorf("/me/checkMemberGroups = %v", got)
		}
		e.mustCall(204, "PATCH", "/v1.0/me", me, map[string]any{"officeLocation": "Building 7"})
		if got := e.mustCall(200, "GET", "/v1.0/users/"+emp2, a.token, nil).body; got["officeLocation"] != "Building 7" {
			t.Errorf("after PATCH /me: %v", got)
		}
		e.wantDenied(t, "PATCH", "/v1.0/me", me, map[string]any{"jobTitle": "Chief"})
		e.wantDenied(t, "PATCH", "/v1.0/me", me, map[string]any{"accountEnabled": false})
		e.mustCall(400, "PATCH", "/v1.0/me", a.token, map[string]any{"officeLocation": "Building 7"})
		e.mustCall(400, "GET", "/v1.0/me/memberOf", a.token, nil)

		// appRoleAssignedTo pages and filters.
		const readerRole = "5b9d9a7e-3e8c-4a43-9c41-0d8e2f1f6a11"
		portalApp := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Portal", "appRoles": []any{map[string]any{
			"id": readerRole, "allowedMemberTypes": []any{"User"}, "value": "Portal.Read", "displayName": "Reader", "description": "Reads", "isEnabled": true,
		}}}).body
		portal := e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": portalApp["appId"]}).body["id"].(string)
		assigned := "/v1.0/servicePrincipals/" + portal + "/appRoleAssignedTo"
		for _, u := range []string{boss, emp1, emp2} {
			e.mustCall(201, "POST", assigned, a.token, map[string]any{"principalId": u, "resourceId": portal, "appRoleId": readerRole})
		}
		var principals []string
		for link := assigned + "?$top=2"; link != ""; {
			r := e.mustCall(200, "GET", link, a.token, nil)
			if len(r.values()) > 2 {
				t.Fatalf("page over $top: %s", r.raw)
			}
			for _, v := range r.values() {
				principals = append(principals, v["principalId"].(string))
			}
			link, _ = r.body["@odata.nextLink"].(string)
		}
		if !sameSet(principals, []string{boss, emp1, emp2}) {
			t.Errorf("appRoleAssignedTo pages = %v", principals)
		}
		filtered := e.mustCall(200, "GET", assigned+"?$filter="+url.QueryEscape("principalId eq "+emp1), a.token, nil).values()
		if len(filtered) != 1 || filtered[0]["principalId"] != emp1 {
			t.Errorf("appRoleAssignedTo filtered: %v", filtered)
		}
	})
}

// anyMaps turns a decoded JSON array of objects into maps.
func anyMaps(v any) []map[string]any {
	var out []map[string]any
	list, _ := v.([]any)
	for _, o := range list {
		if m, ok := o.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
