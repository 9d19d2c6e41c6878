package app_test

import (
	"net/url"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/directory"
)

// graphSP is the object id of the tenant's Microsoft Graph service principal.
func (e *env) graphSP(a tenant) string {
	filter := url.QueryEscape("appId eq '" + directory.GraphAppID + "'")
	return e.mustCall(200, "GET", "/v1.0/servicePrincipals?$filter="+filter, a.token, nil).values()[0]["id"].(string)
}

// delegatedTool is an application every user of the tenant may use with
// scopes, consented for the organization as an administrator would.
type delegatedTool struct {
	rp       rp
	callback string
}

func (e *env) delegatedTool(t *testing.T, a tenant, scope string) delegatedTool {
	const cb = "https://tool.example/cb"
	tool := e.registerApp(t, a, "Tool", cb)
	sp := e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": tool.conf.ClientID}).body["id"].(string)
	e.mustCall(201, "POST", "/v1.0/oauth2PermissionGrants", a.token, map[string]any{
		"clientId": sp, "consentType": "AllPrincipals", "resourceId": e.graphSP(a), "scope": "openid " + scope,
	})
	tool.conf.Scopes = []string{"openid", scope}
	return delegatedTool{rp: tool, callback: cb}
}

// tokenFor signs upn in through the hosted pages and returns its access token.
func (d delegatedTool) tokenFor(t *testing.T, upn, password string) string {
	t.Helper()
	tok, _ := d.rp.codeFlow(t, newBrowser(t, d.callback), answersFor(upn, password))
	return tok.AccessToken
}

// userWithRoles creates a user holding the directory roles and returns its
// id and user principal name; it signs in with "correct horse battery {alias}".
func (e *env) userWithRoles(a tenant, alias string, roles ...string) (string, string) {
	id := e.addUser(a, alias)
	for _, r := range roles {
		e.mustCall(204, "POST", "/v1.0/directoryRoles/"+r+"/members/$ref", a.token, map[string]any{"@odata.id": e.url + "/v1.0/directoryObjects/" + id})
	}
	return id, alias + "@" + a.domain
}

func resetPassword(pw string) map[string]any {
	return map[string]any{"passwordProfile": map[string]any{"password": pw, "forceChangePasswordNextSignIn": true}}
}

func (e *env) wantDenied(t *testing.T, method, path, token string, body any) {
	t.Helper()
	if r := e.call(method, path, token, body); r.status != 403 || r.errorCode() != "Authorization_RequestDenied" {
		t.Errorf("%s %s: %d %s, want 403 Authorization_RequestDenied", method, path, r.status, r.raw)
	}
}

func TestPasswordResetsFollowEntrasTable(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		tool := e.delegatedTool(t, a, "Directory.AccessAsUser.All")
		gaID := e.mustCall(200, "GET", "/v1.0/users/"+a.created.Admin.UserPrincipalName, a.token, nil).body["id"].(string)
		plain := e.addUser(a, "pat")
		ua2, _ := e.userWithRoles(a, "uma", authz.UserAdministrator)
		_, uaUPN := e.userWithRoles(a, "ulf", authz.UserAdministrator)
		_, hdUPN := e.userWithRoles(a, "hedda", authz.HelpdeskAdministrator)
		_, paaUPN := e.userWithRoles(a, "paula", authz.PrivilegedAuthenticationAdministrator)
		ua := tool.tokenFor(t, uaUPN, "correct horse battery ulf")
		hd := tool.tokenFor(t, hdUPN, "correct horse battery hedda")
		paa := tool.tokenFor(t, paaUPN, "correct horse battery paula")

		// A User Administrator cannot touch a Global Administrator's
		// password or sign-in, though it may edit the profile.
		e.wantDenied(t, "PATCH", "/v1.0/users/"+gaID, ua, resetPassword("a brand new passphrase 1"))
		e.wantDenied(t, "PATCH", "/v1.0/users/"+gaID, ua, map[string]any{"accountEnabled": false})
		e.wantDenied(t, "POST", "/v1.0/users/"+gaID+"/revokeSignInSessions", ua, map[string]any{})
		e.mustCall(204, "PATCH", "/v1.0/users/"+gaID, ua, map[string]any{"jobTitle": "Chief"})
		// Nor raise itself to one.
		uaID := e.mustCall(200, "GET", "/v1.0/me", ua, nil).body["id"].(string)
		e.wantDenied(t, "POST", "/v1.0/directoryRoles/"+authz.GlobalAdministrator+"/members/$ref", ua, map[string]any{"@odata.id": e.url + "/v1.0/directoryObjects/" + uaID})
		e.wantDenied(t, "POST", "/v1.0/roleManagement/directory/roleAssignments", ua, map[string]any{"principalId": uaID, "roleDefinitionId": authz.PrivilegedAuthenticationAdministrator, "directoryScopeId": "/"})

		// Role-assignable groups are guarded like roles: a User Administrator
		// neither joins one nor resets the password of someone in one.
		admins := e.mustCall(201, "POST", "/v1.0/groups", a.token, map[string]any{"displayName": "Admins", "mailEnabled": false, "mailNickname": "admins", "securityEnabled": true, "isAssignableToRole": true}).body["id"].(string)
		insider := e.addUser(a, "ingrid")
		e.mustCall(204, "POST", "/v1.0/groups/"+admins+"/members/$ref", a.token, map[string]any{"@odata.id": e.url + "/v1.0/directoryObjects/" + insider})
		e.wantDenied(t, "POST", "/v1.0/groups/"+admins+"/members/$ref", ua, map[string]any{"@odata.id": e.url + "/v1.0/directoryObjects/" + uaID})
		e.wantDenied(t, "PATCH", "/v1.0/users/"+insider, ua, resetPassword("a brand new passphrase 8"))
		e.mustCall(204, "PATCH", "/v1.0/users/"+plain, ua, resetPassword("a brand new passphrase 9"))

		// A Helpdesk Administrator resets a plain user's password, not a
		// User Administrator's, and changes nothing else.
		e.mustCall(204, "PATCH", "/v1.0/users/"+plain, hd, resetPassword("a brand new passphrase 2"))
		e.wantDenied(t, "PATCH", "/v1.0/users/"+ua2, hd, resetPassword("a brand new passphrase 3"))
		e.wantDenied(t, "PATCH", "/v1.0/users/"+plain, hd, map[string]any{"jobTitle": "Nope"})
		e.wantDenied(t, "POST", "/v1.0/users", hd, newUser("newbie", a.domain))

		// A Privileged Authentication Administrator resets anyone's.
		e.mustCall(204, "PATCH", "/v1.0/users/"+gaID, paa, resetPassword("a brand new passphrase 4"))
		e.mustCall(204, "PATCH", "/v1.0/users/"+ua2, paa, map[string]any{"accountEnabled": false})
	})
}

// appWith registers an application holding the Graph application
// permissions and returns its service principal id and an app-only token.
func (e *env) appWith(a tenant, name string, permissions ...string) (string, string) {
	app := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": name}).body
	sp := e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": app["appId"]}).body["id"].(string)
	graph := e.graphSP(a)
	for _, p := range permissions {
		e.mustCall(201, "POST", "/v1.0/servicePrincipals/"+graph+"/appRoleAssignedTo", a.token,
			map[string]any{"principalId": sp, "resourceId": graph, "appRoleId": graphPermissionID(e.t, p)})
	}
	secret := e.mustCall(200, "POST", "/v1.0/applications/"+app["id"].(string)+"/addPassword", a.token, map[string]any{}).body["secretText"].(string)
	return sp, e.token(a.id, app["appId"].(string), secret)
}

func graphPermissionID(t testing.TB, value string) string {
	for _, p := range directory.GraphPermissions {
		if p.Value == value {
			return p.ID
		}
	}
	t.Fatalf("no Graph permission %s", value)
	return ""
}

func TestApplicationPermissionsFollowGraph(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		gaID := e.mustCall(200, "GET", "/v1.0/users/"+a.created.Admin.UserPrincipalName, a.token, nil).body["id"].(string)
		plain := e.addUser(a, "pat")
		graph := e.graphSP(a)

		// User.ReadWrite.All edits users but resets no password.
		_, users := e.appWith(a, "Provisioner", "User.ReadWrite.All")
		e.wantDenied(t, "PATCH", "/v1.0/users/"+plain, users, resetPassword("a brand new passphrase 5"))
		e.mustCall(204, "PATCH", "/v1.0/users/"+plain, users, map[string]any{"jobTitle": "Provisioned"})
		e.wantDenied(t, "PATCH", "/v1.0/users/"+gaID, users, map[string]any{"accountEnabled": false})

		// User-PasswordProfile.ReadWrite.All does, for non-administrators.
		_, resetter := e.appWith(a, "Resetter", "User-PasswordProfile.ReadWrite.All")
		e.mustCall(204, "PATCH", "/v1.0/users/"+plain, resetter, resetPassword("a brand new passphrase 6"))
		e.wantDenied(t, "PATCH", "/v1.0/users/"+gaID, resetter, resetPassword("a brand new passphrase 7"))

		// Application.ReadWrite.All cannot grant itself RoleManagement.ReadWrite.Directory.
		self, apps := e.appWith(a, "App manager", "Application.ReadWrite.All")
		e.wantDenied(t, "POST", "/v1.0/servicePrincipals/"+graph+"/appRoleAssignedTo", apps,
			map[string]any{"principalId": self, "resourceId": graph, "appRoleId": graphPermissionID(t, "RoleManagement.ReadWrite.Directory")})
		granted := e.mustCall(200, "GET", "/v1.0/servicePrincipals/"+self+"/appRoleAssignments", a.token, nil).values()
		if len(granted) != 1 {
			t.Errorf("the app holds %v", granted)
		}

		// Application.ReadWrite.OwnedBy manages what it owns and nothing else.
		other := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Someone else's"}).body["id"].(string)
		_, owned := e.appWith(a, "Owner", "Application.ReadWrite.OwnedBy")
		mine := e.mustCall(201, "POST", "/v1.0/applications", owned, map[string]any{"displayName": "Mine"}).body["id"].(string)
		e.mustCall(204, "PATCH", "/v1.0/applications/"+mine, owned, map[string]any{"displayName": "Still mine"})
		e.mustCall(200, "POST", "/v1.0/applications/"+mine+"/addPassword", owned, map[string]any{})
		e.wantDenied(t, "PATCH", "/v1.0/applications/"+other, owned, map[string]any{"displayName": "Taken over"})
		e.wantDenied(t, "POST", "/v1.0/applications/"+other+"/addPassword", owned, map[string]any{})
		e.wantDenied(t, "DELETE", "/v1.0/applications/"+other, owned, nil)
		e.mustCall(204, "DELETE", "/v1.0/applications/"+mine, owned, nil)
	})
}

func TestGuestsAndMembersReadWithinTheirDefaults(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		tool := e.delegatedTool(t, a, "Directory.Read.All")
		member := newUser("mia", a.domain)
		member["passwordProfile"] = map[string]any{"password": "correct horse battery mia", "forceChangePasswordNextSignIn": false}
		member["jobTitle"] = "Engineer"
		mia := e.mustCall(201, "POST", "/v1.0/users", a.token, member).body["id"].(string)
		guest := newUser("gus", a.domain)
		guest["passwordProfile"] = map[string]any{"password": "correct horse battery gus", "forceChangePasswordNextSignIn": false}
		guest["userType"] = "Guest"
		gus := e.mustCall(201, "POST", "/v1.0/users", a.token, guest).body["id"].(string)
		group := e.mustCall(201, "POST", "/v1.0/groups", a.token, map[string]any{"displayName": "Crew", "mailEnabled": false, "mailNickname": "crew", "securityEnabled": true}).body["id"].(string)
		e.mustCall(204, "POST", "/v1.0/groups/"+group+"/members/$ref", a.token, map[string]any{"@odata.id": e.url + "/v1.0/directoryObjects/" + gus})
		guestToken := tool.tokenFor(t, "gus@"+a.domain, "correct horse battery gus")
		memberToken := tool.tokenFor(t, "mia@"+a.domain, "correct horse battery mia")
		policy := func(p map[string]any) { e.mustCall(204, "PATCH", "/v1.0/policies/authorizationPolicy", a.token, p) }

		// enumerations list users (or reveal them) beside other, a user who is not the caller.
		enumerations := func(other string) []string {
			return []string{
				"/v1.0/users", "/v1.0/users?$filter=" + url.QueryEscape("startsWith(displayName,'User')"), "/v1.0/users/delta",
				"/v1.0/roleManagement/directory/roleAssignments", "/v1.0/directoryRoles/" + authz.GlobalAdministrator + "/members",
				"/v1.0/oauth2PermissionGrants", "/v1.0/users/" + other + "/memberOf", "/v1.0/users/" + other,
			}
		}
		self := []string{"/v1.0/me", "/v1.0/users/" + gus, "/v1.0/users/gus@" + a.domain, "/v1.0/users/" + gus + "/memberOf", "/v1.0/directoryObjects/" + gus}

		// Guests the tenant treats as members read what members read.
		policy(map[string]any{"guestUserRoleId": authz.GuestSameAsMembers})
		e.mustCall(200, "GET", "/v1.0/users", guestToken, nil)
		e.mustCall(200, "GET", "/v1.0/roleManagement/directory/roleAssignments", guestToken, nil)

		// Limited guests (the default): no enumeration, no roles or grants,
		// other users' basic properties by id.
		policy(map[string]any{"guestUserRoleId": authz.GuestLimited})
		for _, path := range append(enumerations(mia)[:7], "/v1.0/groups", "/v1.0/directoryRoles", "/v1.0/roleManagement/directory/roleDefinitions", "/v1.0/users/mia@"+a.domain, "/v1.0/applications") {
			e.wantDenied(t, "GET", path, guestToken, nil)
		}
		for _, path := range append(self, "/v1.0/groups/"+group, "/v1.0/groups/"+group+"/members") {
			e.mustCall(200, "GET", path, guestToken, nil)
		}
		for _, path := range []string{"/v1.0/users/" + mia, "/v1.0/directoryObjects/" + mia} {
			if seen := e.mustCall(200, "GET", path, guestToken, nil).body; seen["displayName"] != "User mia" || seen["jobTitle"] != nil {
				t.Errorf("a guest sees %v at %s", seen, path)
			}
		}

		if seen := e.mustCall(200, "GET", "/v1.0/users/"+mia+"?$select=displayName,signInActivity", guestToken, nil).body; seen["signInActivity"] != nil {
			t.Errorf("a guest sees another user's sign-ins: %v", seen)
		}

		// Restricted guests read their own profile only.
		policy(map[string]any{"guestUserRoleId": authz.GuestRestricted})
		for _, path := range append(enumerations(mia), "/v1.0/directoryObjects/"+mia, "/v1.0/groups/"+group, "/v1.0/groups/"+group+"/members") {
			e.wantDenied(t, "GET", path, guestToken, nil)
		}
		for _, path := range self {
			e.mustCall(200, "GET", path, guestToken, nil)
		}
		full := e.mustCall(200, "GET", "/v1.0/organization", a.token, nil).values()[0]
		seen := e.mustCall(200, "GET", "/v1.0/organization", guestToken, nil).values()[0]
		if seen["displayName"] != "Contoso" || full["createdDateTime"] == nil || seen["createdDateTime"] != nil {
			t.Errorf("a restricted guest sees the organization as %v", seen)
		}

		// Members of a tenant that hides users from each other read only themselves.
		e.mustCall(200, "GET", "/v1.0/users", memberToken, nil)
		policy(map[string]any{"defaultUserRolePermissions": map[string]any{"allowedToReadOtherUsers": false}})
		for _, path := range append(enumerations(gus), "/v1.0/directoryObjects/"+gus, "/v1.0/groups/"+group+"/members") {
			e.wantDenied(t, "GET", path, memberToken, nil)
		}
		for _, path := range []string{"/v1.0/me", "/v1.0/users/" + mia, "/v1.0/groups", "/v1.0/roleManagement/directory/roleDefinitions"} {
			e.mustCall(200, "GET", path, memberToken, nil)
		}
		// Applications are not members: their permissions alone decide.
		e.mustCall(200, "GET", "/v1.0/users", a.token, nil)
	})
}
