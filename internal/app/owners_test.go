package app_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
)

// ref is a $ref body naming a directory object.
func (e *env) ref(id string) map[string]any {
	return map[string]any{"@odata.id": e.url + "/v1.0/directoryObjects/" + id}
}

// A guest, by the hand of an administrator (invitations are b2b's).
func (e *env) guest(a tenant, alias string) string {
	g := newUser(alias, a.domain)
	g["userType"] = "Guest"
	return e.mustCall(201, "POST", "/v1.0/users", a.token, g).body["id"].(string)
}

func TestGroupOwnersManageMembersWithoutARole(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		tool := e.delegatedTool(t, a, "GroupMember.ReadWrite.All")
		olga, olgaUPN := e.userWithRoles(a, "olga")
		_, nilsUPN := e.userWithRoles(a, "nils")
		gus := e.guest(a, "gus")
		newGroup := func(name string, roles bool) string {
			g := map[string]any{"displayName": name, "mailEnabled": false, "mailNickname": name, "securityEnabled": true}
			if roles {
				g["isAssignableToRole"] = true
			}
			id := e.mustCall(201, "POST", "/v1.0/groups", a.token, g).body["id"].(string)
			e.mustCall(204, "POST", "/v1.0/groups/"+id+"/owners/$ref", a.token, e.ref(olga))
			return id
		}
		partners := newGroup("partners", false)
		admins := newGroup("admins", true)
		other := e.mustCall(201, "POST", "/v1.0/groups", a.token, map[string]any{"displayName": "Other", "mailEnabled": false, "mailNickname": "other", "securityEnabled": true}).body["id"].(string)
		owner := tool.tokenFor(t, olgaUPN, "correct horse battery olga")
		nils := tool.tokenFor(t, nilsUPN, "correct horse battery nils")

		// Refusals first: a member who owns nothing, a group Olga does not
		// own, a role-assignable group she does own, and the group's owners.
		e.wantDenied(t, "POST", "/v1.0/groups/"+partners+"/members/$ref", nils, e.ref(gus))
		e.wantDenied(t, "POST", "/v1.0/groups/"+other+"/members/$ref", owner, e.ref(gus))
		e.wantDenied(t, "POST", "/v1.0/groups/"+admins+"/members/$ref", owner, e.ref(gus))
		e.wantDenied(t, "POST", "/v1.0/groups/"+partners+"/owners/$ref", owner, e.ref(gus))

		// The owner adds the guest and removes them again.
		e.mustCall(204, "POST", "/v1.0/groups/"+partners+"/members/$ref", owner, e.ref(gus))
		members := ids(e.mustCall(200, "GET", "/v1.0/groups/"+partners+"/members", a.token, nil).values())
		if !slices.Contains(members, gus) {
			t.Fatalf("members %v", members)
		}
		e.wantDenied(t, "DELETE", "/v1.0/groups/"+partners+"/members/"+gus+"/$ref", nils, nil)
		added := e.audits(t, a.token, "directoryAudits", "activityDisplayName eq 'Add member to group' and initiatedBy/user/id eq '"+olga+"'")
		if len(added) != 1 {
			t.Errorf("the owner's addition is recorded %d times", len(added))
		}
		e.mustCall(204, "DELETE", "/v1.0/groups/"+partners+"/members/"+gus+"/$ref", owner, nil)
		if members := ids(e.mustCall(200, "GET", "/v1.0/groups/"+partners+"/members", a.token, nil).values()); slices.Contains(members, gus) {
			t.Errorf("still a member: %v", members)
		}

		// No longer an owner, no longer allowed.
		e.mustCall(204, "DELETE", "/v1.0/groups/"+partners+"/owners/"+olga+"/$ref", a.token, nil)
		e.wantDenied(t, "POST", "/v1.0/groups/"+partners+"/members/$ref", owner, e.ref(gus))

		// A User Administrator needs no ownership; an app needs a permission.
		_, uaUPN := e.userWithRoles(a, "ulf", authz.UserAdministrator)
		ua := tool.tokenFor(t, uaUPN, "correct horse battery ulf")
		e.mustCall(204, "POST", "/v1.0/groups/"+other+"/members/$ref", ua, e.ref(gus))
		_, members2 := e.appWith(a, "Membership sync", "GroupMember.ReadWrite.All")
		e.mustCall(204, "DELETE", "/v1.0/groups/"+other+"/members/"+gus+"/$ref", members2, nil)
		_, reader := e.appWith(a, "Reader", "Group.Read.All")
		e.wantDenied(t, "POST", "/v1.0/groups/"+other+"/members/$ref", reader, e.ref(gus))
	})
}

func TestApplicationOwnersAssignUsersWithoutARole(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		const readerRole = "5b9d9a7e-3e8c-4a43-9c41-0d8e2f1f6a11"
		app := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Portal", "appRoles": []any{map[string]any{
			"id": readerRole, "allowedMemberTypes": []any{"User", "Application"}, "value": "Portal.Read", "displayName": "Reader",
			"description": "Reads the portal", "isEnabled": true,
		}}}).body
		portal := e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": app["appId"]}).body["id"].(string)
		tool := e.delegatedTool(t, a, "AppRoleAssignment.ReadWrite.All")
		olga, olgaUPN := e.userWithRoles(a, "olga")
		_, nilsUPN := e.userWithRoles(a, "nils")
		gus := e.guest(a, "gus")
		owner := tool.tokenFor(t, olgaUPN, "correct horse battery olga")
		nils := tool.tokenFor(t, nilsUPN, "correct horse battery nils")
		grant := func(principal string) map[string]any {
			return map[string]any{"principalId": principal, "resourceId": portal, "appRoleId": readerRole}
		}
		assigned := "/v1.0/servicePrincipals/" + portal + "/appRoleAssignedTo"

		// Before Olga owns the portal she assigns no one.
		e.wantDenied(t, "POST", assigned, owner, grant(gus))
		e.mustCall(204, "POST", "/v1.0/servicePrincipals/"+portal+"/owners/$ref", a.token, e.ref(olga))
		owners := ids(e.mustCall(200, "GET", "/v1.0/servicePrincipals/"+portal+"/owners", a.token, nil).values())
		if !slices.Contains(owners, olga) {
			t.Fatalf("owners %v", owners)
		}

		// A member who owns nothing is refused, also about a principal
		// that does not exist (no probing ids).
		e.wantDenied(t, "POST", assigned, nils, grant(gus))
		e.wantDenied(t, "POST", assigned, nils, grant("00000000-0000-0000-0000-0000000000aa"))
		// The owner assigns the guest; she grants no application a permission.
		a1 := e.mustCall(201, "POST", assigned, owner, grant(gus)).body["id"].(string)
		other, _ := e.appWith(a, "Client", "User.Read.All")
		e.wantDenied(t, "POST", assigned, owner, grant(other))
		if r := e.call("POST", assigned, owner, grant("00000000-0000-0000-0000-0000000000aa")); r.status != 404 {
			t.Errorf("an owner assigning a missing principal: %d %s", r.status, r.raw)
		}
		filter := url.QueryEscape("activityDisplayName eq 'Add app role assignment grant to user' and initiatedBy/user/id eq '" + olga + "'")
		if recs := e.mustCall(200, "GET", "/v1.0/auditLogs/directoryAudits?$filter="+filter, a.token, nil).values(); len(recs) != 1 {
			t.Errorf("the owner's assignment is recorded %d times", len(recs))
		}
		// Only an owner or administrator removes it; Microsoft Graph's roles stay out of reach.
		e.wantDenied(t, "DELETE", assigned+"/"+a1, nils, nil)
		e.mustCall(204, "DELETE", assigned+"/"+a1, owner, nil)
		graph := e.graphSP(a)
		e.wantDenied(t, "POST", "/v1.0/servicePrincipals/"+graph+"/appRoleAssignedTo", owner,
			map[string]any{"principalId": olga, "resourceId": graph, "appRoleId": graphPermissionID(t, "User.Read.All")})
		// Nor does owning the portal let her name its owners.
		e.wantDenied(t, "POST", "/v1.0/servicePrincipals/"+portal+"/owners/$ref", owner, e.ref(gus))
	})
}
