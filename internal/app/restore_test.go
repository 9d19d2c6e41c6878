package app_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
)

// TestRestoringAUserBringsBackItsRelationships: as in Entra, a restored
// user is back in its groups, directory roles and app role assignments,
// except those naming an object gone meanwhile; only a caller who could
// have deleted the user as it was may restore it with its roles; and a
// security group is deleted for good.
func TestRestoringAUserBringsBackItsRelationships(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		group := func(name string) string {
			return e.mustCall(201, "POST", "/v1.0/groups", a.token, map[string]any{"displayName": name, "mailEnabled": false, "mailNickname": name, "securityEnabled": true}).body["id"].(string)
		}
		u := e.addUser(a, "ulla")
		member, owned, doomed := group("member"), group("owned"), group("doomed")
		for _, g := range []string{member, doomed} {
			e.mustCall(204, "POST", "/v1.0/groups/"+g+"/members/$ref", a.token, e.ref(u))
		}
		e.mustCall(204, "POST", "/v1.0/groups/"+owned+"/owners/$ref", a.token, e.ref(u))
		e.mustCall(204, "POST", "/v1.0/directoryRoles/"+authz.DirectoryReaders+"/members/$ref", a.token, e.ref(u))
		const readerRole = "5b9d9a7e-3e8c-4a43-9c41-0d8e2f1f6a11"
		app := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Portal", "appRoles": []any{map[string]any{
			"id": readerRole, "allowedMemberTypes": []any{"User"}, "value": "Portal.Read", "displayName": "Reader", "description": "Reads", "isEnabled": true,
		}}}).body
		portal := e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": app["appId"]}).body["id"].(string)
		assignment := e.mustCall(201, "POST", "/v1.0/servicePrincipals/"+portal+"/appRoleAssignedTo", a.token,
			map[string]any{"principalId": u, "resourceId": portal, "appRoleId": readerRole}).body["id"].(string)

		e.mustCall(204, "DELETE", "/v1.0/users/"+u, a.token, nil)
		if m := e.mustCall(200, "GET", "/v1.0/groups/"+member+"/members", a.token, nil).values(); len(m) != 0 {
			t.Fatalf("a deleted user is still a member: %v", m)
		}
		// A security group is deleted permanently: never in deletedItems.
		e.mustCall(204, "DELETE", "/v1.0/groups/"+doomed, a.token, nil)
		e.mustCall(404, "GET", "/v1.0/directory/deletedItems/"+doomed, a.token, nil)
		e.mustCall(404, "POST", "/v1.0/directory/deletedItems/"+doomed+"/restore", a.token, nil)
		if l := e.mustCall(200, "GET", "/v1.0/directory/deletedItems/microsoft.graph.group", a.token, nil).values(); len(l) != 0 {
			t.Errorf("deleted security groups listed: %v", l)
		}

		e.mustCall(200, "POST", "/v1.0/directory/deletedItems/"+u+"/restore", a.token, nil)
		if got := ids(e.mustCall(200, "GET", "/v1.0/users/"+u+"/memberOf", a.token, nil).values()); !slices.Contains(got, member) || slices.Contains(got, doomed) {
			t.Errorf("memberOf after restore = %v, want %s and not the purged %s", got, member, doomed)
		}
		if got := ids(e.mustCall(200, "GET", "/v1.0/groups/"+owned+"/owners", a.token, nil).values()); !slices.Contains(got, u) {
			t.Errorf("owners after restore = %v", got)
		}
		filter := url.QueryEscape("principalId eq '" + u + "'")
		roles := e.mustCall(200, "GET", "/v1.0/roleManagement/directory/roleAssignments?$filter="+filter, a.token, nil).values()
		if len(roles) != 1 || roles[0]["roleDefinitionId"] != authz.DirectoryReaders {
			t.Errorf("role assignments after restore: %v", roles)
		}
		assigned := e.mustCall(200, "GET", "/v1.0/servicePrincipals/"+portal+"/appRoleAssignedTo", a.token, nil).values()
		if len(assigned) != 1 || assigned[0]["id"] != assignment || assigned[0]["principalId"] != u {
			t.Errorf("app role assignments after restore: %v", assigned)
		}
		// Restored once: deleting and restoring again gives the same back.
		e.mustCall(204, "DELETE", "/v1.0/users/"+u, a.token, nil)
		e.mustCall(200, "POST", "/v1.0/directory/deletedItems/"+u+"/restore", a.token, nil)
		if got := ids(e.mustCall(200, "GET", "/v1.0/users/"+u+"/memberOf", a.token, nil).values()); !slices.Contains(got, member) {
			t.Errorf("memberOf after a second restore = %v", got)
		}
		// A user whose service principal went away does not get its assignment back.
		e.mustCall(204, "DELETE", "/v1.0/users/"+u, a.token, nil)
		e.mustCall(204, "DELETE", "/v1.0/servicePrincipals/"+portal, a.token, nil)
		e.mustCall(200, "POST", "/v1.0/directory/deletedItems/"+u+"/restore", a.token, nil)
		e.mustCall(404, "GET", "/v1.0/servicePrincipals/"+portal+"/appRoleAssignedTo", a.token, nil)

		// A User Administrator may delete and restore plain users, but not
		// bring back a Global Administrator's role; a Global Administrator may.
		tool := e.delegatedTool(t, a, "User.ReadWrite.All")
		_, uaUPN := e.userWithRoles(a, "uadmin", authz.UserAdministrator)
		ua := tool.tokenFor(t, uaUPN, "correct horse battery uadmin")
		_, chiefUPN := e.userWithRoles(a, "chief", authz.GlobalAdministrator)
		chief := tool.tokenFor(t, chiefUPN, "correct horse battery chief")
		boss, _ := e.userWithRoles(a, "boss", authz.GlobalAdministrator)
		e.wantDenied(t, "DELETE", "/v1.0/users/"+boss, ua, nil)
		e.mustCall(204, "DELETE", "/v1.0/users/"+boss, chief, nil)
		e.wantDenied(t, "POST", "/v1.0/directory/deletedItems/"+boss+"/restore", ua, nil)
		e.mustCall(404, "GET", "/v1.0/users/"+boss, a.token, nil)
		plain := e.addUser(a, "plain")
		e.mustCall(204, "DELETE", "/v1.0/users/"+plain, ua, nil)
		e.mustCall(200, "POST", "/v1.0/directory/deletedItems/"+plain+"/restore", ua, nil)
		e.mustCall(200, "POST", "/v1.0/directory/deletedItems/"+boss+"/restore", chief, nil)
		filter = url.QueryEscape("principalId eq '" + boss + "'")
		if roles := e.mustCall(200, "GET", "/v1.0/roleManagement/directory/roleAssignments?$filter="+filter, a.token, nil).values(); len(roles) != 1 {
			t.Errorf("the Global Administrator's role after restore: %v", roles)
		}
	})
}
