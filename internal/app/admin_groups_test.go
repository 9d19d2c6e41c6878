package app_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// consoleUser creates a user who can sign in to the console (password
// "correct horse battery <alias>", not to be changed), holding roles.
func (e *env) consoleUser(t *testing.T, a tenant, alias string, roles ...string) string {
	t.Helper()
	u := newUser(alias, a.domain)
	u["passwordProfile"] = map[string]any{"password": "correct horse battery " + alias, "forceChangePasswordNextSignIn": false}
	id := e.mustCall(201, "POST", "/v1.0/users", a.token, u).body["id"].(string)
	for _, role := range roles {
		e.mustCall(204, "POST", "/v1.0/directoryRoles/"+role+"/members/$ref", a.token, map[string]any{"@odata.id": e.public + "/v1.0/directoryObjects/" + id})
	}
	return id
}

// related lists the ids of a Graph relationship (a group's members, say).
func (e *env) related(a tenant, path string) []string {
	var ids []string
	for _, o := range e.mustCall(200, "GET", path, a.token, nil).values() {
		ids = append(ids, o["id"].(string))
	}
	return ids
}

// auditedBy: the audit log holds activity on target (any target when "")
// initiated by the user.
func (e *env) auditedBy(t *testing.T, a tenant, user, activity, target string) {
	t.Helper()
	filter := "activityDisplayName eq '" + activity + "' and initiatedBy/user/id eq '" + user + "'"
	if target != "" {
		filter += " and targetResources/any(t: t/id eq '" + target + "')"
	}
	if len(e.audits(t, a.token, "directoryAudits", filter)) == 0 {
		t.Errorf("no audit record %q of %q by %s", activity, target, user)
	}
}

// TestAdminConsoleGroups: an administrator lists, searches, pages,
// creates, edits and deletes groups, adds and removes members and owners
// found by a search; each change is Graph's to see and in the audit log as
// theirs, and a refusal of the directory is shown on the page.
func TestAdminConsoleGroups(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		admin := e.userByUPN(t, a, a.created.Admin.UserPrincipalName)["id"].(string)
		bob := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("bob", a.domain)).body["id"].(string)
		c, home := e.consoleSignIn(t, a.id, a.created.Admin.UserPrincipalName, a.created.Admin.Password)
		base := "/admin/" + a.id + "/groups"
		if !strings.Contains(home.body, `href="`+base+`"`) {
			t.Error("no groups entry in the navigation")
		}

		r := c.post(base, url.Values{"displayName": {"Engineers"}, "mailNickname": {"eng"}, "description": {"Builders"}})
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, base+"/") {
			t.Fatalf("create: %d %q %.300s", r.status, r.location, r.body)
		}
		id := strings.TrimPrefix(r.location, base+"/")
		g := e.mustCall(200, "GET", "/v1.0/groups/"+id, a.token, nil).body
		if g["displayName"] != "Engineers" || g["securityEnabled"] != true || g["mailEnabled"] != false || g["description"] != "Builders" {
			t.Errorf("created group: %v", g)
		}
		e.auditedBy(t, a, admin, "Add group", id)
		// The directory's refusal is shown on the form, nothing created.
		if r := c.post(base, url.Values{"displayName": {"Bad"}, "mailNickname": {"has space"}}); r.status != 400 || !strings.Contains(r.body, `role="alert"`) || !strings.Contains(r.body, `value="Bad"`) {
			t.Errorf("refused create: %d %.300s", r.status, r.body)
		}

		if p := c.get(base + "?q=eng"); p.status != 200 || !strings.Contains(p.body, ">Engineers</a>") {
			t.Errorf("search: %d %.500s", p.status, p.body)
		}
		if p := c.get(base + "?q=nothing"); strings.Contains(p.body, ">Engineers</a>") {
			t.Error("the search finds what it should not")
		}
		for i := range 20 {
			e.mustCall(201, "POST", "/v1.0/groups", a.token, map[string]any{"displayName": "Team " + string(rune('a'+i)), "mailEnabled": false, "mailNickname": "t" + string(rune('a'+i)), "securityEnabled": true})
		}
		first := c.get(base)
		next := regexp.MustCompile(`href="(/admin/[^"]+after=[^"]+)"`).FindStringSubmatch(first.body)
		if first.status != 200 || next == nil {
			t.Fatalf("no next page: %d", first.status)
		}
		if second := c.get(html.UnescapeString(next[1])); second.status != 200 || strings.Count(second.body, "<tr>") < 2 {
			t.Errorf("second page: %d", second.status)
		}
		if r := c.get(base + "?after=forged"); r.status != 400 {
			t.Errorf("forged cursor: %d", r.status)
		}

		if r := c.post(base+"/"+id+"/edit", url.Values{"displayName": {"Engineering"}, "description": {""}}); r.status != http.StatusSeeOther {
			t.Fatalf("edit: %d %.300s", r.status, r.body)
		}
		if g := e.mustCall(200, "GET", "/v1.0/groups/"+id, a.token, nil).body; g["displayName"] != "Engineering" || g["description"] != nil {
			t.Errorf("edited: %v", g)
		}
		e.auditedBy(t, a, admin, "Update group", id)

		// Members and owners, found by a search on the group's page.
		page := c.get(base + "/" + id + "?find=bob")
		if page.status != 200 || !strings.Contains(page.body, `name="user" value="`+bob+`"`) || !strings.Contains(page.body, `action="`+base+"/"+id+`/addowner"`) {
			t.Fatalf("group page with a search: %d %.800s", page.status, page.body)
		}
		for _, action := range []string{"addmember", "addowner"} {
			if r := c.post(base+"/"+id+"/"+action, url.Values{"user": {bob}}); r.status != http.StatusSeeOther {
				t.Fatalf("%s: %d %.300s", action, r.status, r.body)
			}
		}
		if !slices.Contains(e.related(a, "/v1.0/groups/"+id+"/members"), bob) || !slices.Contains(e.related(a, "/v1.0/groups/"+id+"/owners"), bob) {
			t.Error("bob is not a member and owner")
		}
		e.auditedBy(t, a, admin, "Add member to group", id)
		e.auditedBy(t, a, admin, "Add owner to group", id)
		if p := c.get(base + "/" + id); strings.Count(p.body, `name="user" value="`+bob+`"`) != 2 {
			t.Errorf("the page does not list bob as member and owner")
		}
		// Adding twice is the directory's refusal, shown on the page.
		// Its search still searches the group's page.
		if r := c.post(base+"/"+id+"/addmember", url.Values{"user": {bob}}); r.status != 400 || !strings.Contains(r.body, `role="alert"`) ||
			!strings.Contains(r.body, `<form method="get" action="`+base+"/"+id+`" role="search"`) {
			t.Errorf("second add: %d %.800s", r.status, r.body)
		}
		for _, action := range []string{"removemember", "removeowner"} {
			if r := c.post(base+"/"+id+"/"+action, url.Values{"user": {bob}}); r.status != http.StatusSeeOther {
				t.Fatalf("%s: %d %.300s", action, r.status, r.body)
			}
		}
		if len(e.related(a, "/v1.0/groups/"+id+"/members")) != 0 || len(e.related(a, "/v1.0/groups/"+id+"/owners")) != 0 {
			t.Error("bob is still a member or owner")
		}
		e.auditedBy(t, a, admin, "Remove member from group", id)
		e.auditedBy(t, a, admin, "Remove owner from group", id)

		// Missing CSRF: refused, nothing changes.
		if r := c.post(base+"/"+id+"/addmember", url.Values{"user": {bob}, "csrf": {""}}); r.status != 403 {
			t.Errorf("no CSRF token: %d", r.status)
		}
		if len(e.related(a, "/v1.0/groups/"+id+"/members")) != 0 {
			t.Error("a post without the CSRF token added a member")
		}

		if r := c.post(base+"/"+id+"/delete", url.Values{}); r.status != http.StatusSeeOther || r.location != base {
			t.Fatalf("delete: %d %q", r.status, r.location)
		}
		e.mustCall(404, "GET", "/v1.0/groups/"+id, a.token, nil)
		e.auditedBy(t, a, admin, "Delete group", id)
		if r := c.get(base + "/" + id); r.status != 404 {
			t.Errorf("deleted group's page: %d", r.status)
		}
	})
}

// TestAdminConsoleGroupsOfAnotherTenant: another tenant's group is not
// found through the console, and nothing changes in it.
func TestAdminConsoleGroupsOfAnotherTenant(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	a := e.tenant("Contoso", "contoso.example")
	b := e.tenant("Fabrikam", "fabrikam.example")
	theirs := e.mustCall(201, "POST", "/v1.0/groups", b.token, map[string]any{"displayName": "Theirs", "mailEnabled": false, "mailNickname": "theirs", "securityEnabled": true}).body["id"].(string)
	mine := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("bob", a.domain)).body["id"].(string)
	c, _ := e.consoleSignIn(t, a.id, a.created.Admin.UserPrincipalName, a.created.Admin.Password)
	base := "/admin/" + a.id + "/groups/" + theirs
	if r := c.get(base); r.status != 404 {
		t.Errorf("B's group through A: %d", r.status)
	}
	for _, action := range []string{"edit", "addmember", "addowner", "delete"} {
		if r := c.post(base+"/"+action, url.Values{"displayName": {"Owned"}, "user": {mine}}); r.status != 404 {
			t.Errorf("%s B's group through A: %d %.200s", action, r.status, r.body)
		}
	}
	// Nor is B's user, to A's group or roles.
	victim := e.mustCall(201, "POST", "/v1.0/users", b.token, newUser("victim", b.domain)).body["id"].(string)
	ours := e.mustCall(201, "POST", "/v1.0/groups", a.token, map[string]any{"displayName": "Ours", "mailEnabled": false, "mailNickname": "ours", "securityEnabled": true}).body["id"].(string)
	if r := c.post("/admin/"+a.id+"/groups/"+ours+"/addmember", url.Values{"user": {victim}}); r.status != 404 {
		t.Errorf("B's user into A's group: %d", r.status)
	}
	if r := c.post("/admin/"+a.id+"/roles/"+authz.UserAdministrator+"/add", url.Values{"user": {victim}}); r.status != 404 {
		t.Errorf("B's user into A's role: %d", r.status)
	}
	if g := e.mustCall(200, "GET", "/v1.0/groups/"+theirs, b.token, nil).body; g["displayName"] != "Theirs" {
		t.Errorf("B's group changed: %v", g)
	}
	if len(e.related(b, "/v1.0/groups/"+theirs+"/members")) != 0 {
		t.Error("B's group got a member")
	}
}

// TestAdminConsoleRoles: an administrator reads the roles, assigns one to
// a user found by a search and removes it, audited as theirs; a User
// Administrator reads the roles but Graph admits them to no assignment,
// and the console refuses it.
func TestAdminConsoleRoles(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		admin := e.userByUPN(t, a, a.created.Admin.UserPrincipalName)["id"].(string)
		bob := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("bob", a.domain)).body["id"].(string)
		c, _ := e.consoleSignIn(t, a.id, a.created.Admin.UserPrincipalName, a.created.Admin.Password)
		base := "/admin/" + a.id + "/roles"
		if p := c.get(base); p.status != 200 || !strings.Contains(p.body, `href="`+base+"/"+authz.UserAdministrator+`"`) || !strings.Contains(p.body, "Global Administrator") {
			t.Fatalf("roles: %d %.500s", p.status, p.body)
		}
		role := base + "/" + authz.UserAdministrator
		if p := c.get(role + "?find=bob"); p.status != 200 || !strings.Contains(p.body, `name="user" value="`+bob+`"`) {
			t.Fatalf("role page with a search: %d %.500s", p.status, p.body)
		}
		if r := c.post(role+"/add", url.Values{"user": {bob}}); r.status != http.StatusSeeOther {
			t.Fatalf("assign: %d %.300s", r.status, r.body)
		}
		if !slices.Contains(e.related(a, "/v1.0/directoryRoles/"+authz.UserAdministrator+"/members"), bob) {
			t.Error("bob does not hold the role")
		}
		e.auditedBy(t, a, admin, "Add member to role", "")
		if p := c.get(role); !strings.Contains(p.body, "User bob") {
			t.Error("the role page does not list bob")
		}
		// The directory's refusal (held already) is shown.
		if r := c.post(role+"/add", url.Values{"user": {bob}}); r.status != 400 || !strings.Contains(r.body, `role="alert"`) {
			t.Errorf("second assignment: %d", r.status)
		}
		if r := c.post(role+"/remove", url.Values{"user": {bob}}); r.status != http.StatusSeeOther {
			t.Fatalf("remove: %d %.300s", r.status, r.body)
		}
		if slices.Contains(e.related(a, "/v1.0/directoryRoles/"+authz.UserAdministrator+"/members"), bob) {
			t.Error("bob still holds the role")
		}
		e.auditedBy(t, a, admin, "Remove member from role", "")
		if r := c.get(base + "/not-a-role"); r.status != 404 {
			t.Errorf("unknown role: %d", r.status)
		}

		e.consoleUser(t, a, "ua", authz.UserAdministrator)
		ua, _ := e.consoleSignIn(t, a.id, "ua@"+a.domain, "correct horse battery ua")
		p := ua.get("/admin/" + a.id + "/roles/" + authz.GlobalAdministrator + "?find=bob")
		if p.status != 200 || strings.Contains(p.body, "/add\"") {
			t.Errorf("a User Administrator's role page: %d", p.status)
		}
		if r := ua.post("/admin/"+a.id+"/roles/"+authz.GlobalAdministrator+"/add", url.Values{"user": {bob}}); r.status != 403 {
			t.Errorf("a User Administrator assigns Global Administrator: %d", r.status)
		}
		if slices.Contains(e.related(a, "/v1.0/directoryRoles/"+authz.GlobalAdministrator+"/members"), bob) {
			t.Fatal("a refused assignment was made")
		}
	})
}

// TestAdminConsoleExternalCollaboration: a Global Administrator changes
// the guest access level, who may invite, the domain list, the email
// passcode and self-service sign-up, each as Graph then reads it and
// audited as theirs; a User Administrator reads them with no form, and
// their post is refused.
func TestAdminConsoleExternalCollaboration(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		admin := e.userByUPN(t, a, a.created.Admin.UserPrincipalName)["id"].(string)
		c, home := e.consoleSignIn(t, a.id, a.created.Admin.UserPrincipalName, a.created.Admin.Password)
		base := "/admin/" + a.id + "/collaboration"
		if !strings.Contains(home.body, `href="`+base+`"`) {
			t.Error("no external collaboration entry in the navigation")
		}
		if p := c.get(base); p.status != 200 || !strings.Contains(p.body, `action="`+base+`/authorization"`) || !strings.Contains(p.body, `action="`+base+`/domains"`) {
			t.Fatalf("page: %d %.500s", p.status, p.body)
		}
		steps := []struct {
			section string
			form    url.Values
		}{
			{"authorization", url.Values{"guestUserRoleId": {directory.GuestRoleRestricted}, "allowInvitesFrom": {"adminsGuestInvitersAndAllMembers"}}},
			{"domains", url.Values{"mode": {"block"}, "domains": {"Rival.example\nspam.example"}}},
			{"emailotp", url.Values{"emailOtp": {"disabled"}}},
			{"signup", url.Values{"signUp": {"on"}}},
		}
		for _, s := range steps {
			if r := c.post(base+"/"+s.section, s.form); r.status != http.StatusSeeOther {
				t.Fatalf("%s: %d %.400s", s.section, r.status, r.body)
			}
		}
		ap := e.mustCall(200, "GET", "/v1.0/policies/authorizationPolicy", a.token, nil).body
		if ap["guestUserRoleId"] != directory.GuestRoleRestricted || ap["allowInvitesFrom"] != "adminsGuestInvitersAndAllMembers" || ap["allowedToSignUpEmailBasedSubscriptions"] != false {
			t.Errorf("authorization policy: %v", ap)
		}
		mgmt := e.mustCall(200, "GET", "/v1.0/policies/b2bManagementPolicies", a.token, nil).values()
		if len(mgmt) != 1 || !strings.Contains(mgmt[0]["definition"].([]any)[0].(string), `"BlockedDomains":["rival.example","spam.example"]`) {
			t.Errorf("B2B management policy: %v", mgmt)
		}
		if otp := e.mustCall(200, "GET", "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/email", a.token, nil).body; otp["allowExternalIdToUseEmailOtp"] != "disabled" {
			t.Errorf("email OTP: %v", otp)
		}
		if flows := e.mustCall(200, "GET", "/v1.0/policies/authenticationFlowsPolicy", a.token, nil).body; flows["selfServiceSignUp"].(map[string]any)["isEnabled"] != true {
			t.Errorf("flows: %v", flows)
		}
		var names []string
		for _, rec := range e.audits(t, a.token, "directoryAudits", "initiatedBy/user/id eq '"+admin+"'") {
			names = append(names, rec["activityDisplayName"].(string))
		}
		// The first change of a policy stores it: "Add …", as Entra words it.
		for _, want := range []string{"Add authorization policy", "Add policy"} {
			if !slices.Contains(names, want) {
				t.Errorf("no %q by the administrator among %v", want, names)
			}
		}
		p := c.get(base)
		if !strings.Contains(p.body, "rival.example\nspam.example") || !strings.Contains(p.body, `value="block" checked`) {
			t.Errorf("the page does not show the domain list: %.300s", p.body)
		}
		// Back to any domain: the list goes, the policy stays.
		if r := c.post(base+"/domains", url.Values{"mode": {"any"}}); r.status != http.StatusSeeOther {
			t.Fatalf("any domain: %d %.300s", r.status, r.body)
		}
		if def := e.mustCall(200, "GET", "/v1.0/policies/b2bManagementPolicies", a.token, nil).values()[0]["definition"].([]any)[0].(string); strings.Contains(def, "rival") {
			t.Errorf("the list stayed: %s", def)
		}
		// The directory's refusal is shown.
		if r := c.post(base+"/domains", url.Values{"mode": {"allow"}, "domains": {"not a domain"}}); r.status != 400 || !strings.Contains(r.body, `role="alert"`) {
			t.Errorf("bad domain: %d", r.status)
		}

		e.consoleUser(t, a, "ua", authz.UserAdministrator)
		ua, _ := e.consoleSignIn(t, a.id, "ua@"+a.domain, "correct horse battery ua")
		ro := ua.get(base)
		if ro.status != 200 || strings.Contains(ro.body, `method="post" action="`+base) || !strings.Contains(ro.body, `<dd id="invites-from">`) {
			t.Fatalf("a User Administrator's page: %d %.600s", ro.status, ro.body)
		}
		for _, s := range steps {
			if r := ua.post(base+"/"+s.section, url.Values{"guestUserRoleId": {directory.GuestRoleMember}, "allowInvitesFrom": {"everyone"}, "emailOtp": {"enabled"}, "mode": {"any"}}); r.status != 403 {
				t.Errorf("a User Administrator posts %s: %d", s.section, r.status)
			}
		}
		if ap := e.mustCall(200, "GET", "/v1.0/policies/authorizationPolicy", a.token, nil).body; ap["guestUserRoleId"] != directory.GuestRoleRestricted || ap["allowInvitesFrom"] != "adminsGuestInvitersAndAllMembers" {
			t.Errorf("a refused post changed the policy: %v", ap)
		}
	})
}

// TestAdminConsoleOwnerAddsGuest: a group's owner, with no role, reaches
// the group from "My groups and apps", adds a member, invites a guest by
// email into it and removes a member; a user who does not own it cannot,
// and when the tenant lets no member invite, B2B refuses the owner.
func TestAdminConsoleOwnerAddsGuest(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		alice := e.consoleUser(t, a, "alice")
		e.consoleUser(t, a, "mallory")
		bob := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("bob", a.domain)).body["id"].(string)
		group := e.mustCall(201, "POST", "/v1.0/groups", a.token, map[string]any{"displayName": "Alice's team", "mailEnabled": false, "mailNickname": "team", "securityEnabled": true}).body["id"].(string)
		e.mustCall(204, "POST", "/v1.0/groups/"+group+"/owners/$ref", a.token, map[string]any{"@odata.id": e.public + "/v1.0/directoryObjects/" + alice})
		base := "/admin/" + a.id + "/groups/" + group

		c, home := e.consoleSignIn(t, a.id, "alice@"+a.domain, "correct horse battery alice")
		if !strings.Contains(home.body, `href="`+base+`"`) {
			t.Fatalf("My groups and apps does not link the group: %.600s", home.body)
		}
		p := c.get(base + "?find=bob")
		if p.status != 200 || !strings.Contains(p.body, `action="`+base+`/inviteguest"`) || !strings.Contains(p.body, `action="`+base+`/addmember"`) ||
			strings.Contains(p.body, `/addowner"`) || strings.Contains(p.body, `/delete"`) {
			t.Fatalf("the owner's group page: %d %.800s", p.status, p.body)
		}
		if r := c.post(base+"/addmember", url.Values{"user": {bob}}); r.status != http.StatusSeeOther {
			t.Fatalf("owner adds a member: %d %.300s", r.status, r.body)
		}
		r := c.post(base+"/inviteguest", url.Values{"email": {"guest@partner.example"}, "displayName": {"Gus"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("owner invites a guest: %d %.300s", r.status, r.body)
		}
		var guest map[string]any
		for _, u := range e.mustCall(200, "GET", "/v1.0/users?$select=id,userType&$filter="+url.QueryEscape("mail eq 'guest@partner.example'"), a.token, nil).values() {
			guest = u
		}
		if guest == nil || guest["userType"] != "Guest" {
			t.Fatalf("no guest: %v", guest)
		}
		members := e.related(a, "/v1.0/groups/"+group+"/members")
		if !slices.Contains(members, bob) || !slices.Contains(members, guest["id"].(string)) {
			t.Errorf("members: %v", members)
		}
		e.auditedBy(t, a, alice, "Invite external user", guest["id"].(string))
		e.auditedBy(t, a, alice, "Add member to group", group)
		if r := c.post(base+"/removemember", url.Values{"user": {bob}}); r.status != http.StatusSeeOther {
			t.Fatalf("owner removes a member: %d", r.status)
		}
		if slices.Contains(e.related(a, "/v1.0/groups/"+group+"/members"), bob) {
			t.Error("bob is still a member")
		}
		// Owners are an administrator's to change.
		if r := c.post(base+"/addowner", url.Values{"user": {bob}}); r.status != 403 {
			t.Errorf("owner adds an owner: %d", r.status)
		}
		if r := c.get("/admin/" + a.id + "/groups"); r.status != 403 {
			t.Errorf("the groups list for a user without a role: %d", r.status)
		}

		m, _ := e.consoleSignIn(t, a.id, "mallory@"+a.domain, "correct horse battery mallory")
		for _, step := range []struct {
			action string
			form   url.Values
		}{{"addmember", url.Values{"user": {bob}}}, {"removemember", url.Values{"user": {guest["id"].(string)}}}, {"inviteguest", url.Values{"email": {"other@partner.example"}}}} {
			if r := m.post(base+"/"+step.action, step.form); r.status != 403 {
				t.Errorf("a non-owner %s: %d %.200s", step.action, r.status, r.body)
			}
		}
		if members := e.related(a, "/v1.0/groups/"+group+"/members"); len(members) != 1 || members[0] != guest["id"] {
			t.Errorf("a non-owner changed the members: %v", members)
		}
		if n := len(e.mustCall(200, "GET", "/v1.0/users?$filter="+url.QueryEscape("mail eq 'other@partner.example'"), a.token, nil).values()); n != 0 {
			t.Error("a refused invitation into the group invited the guest")
		}

		// The tenant lets no member invite: B2B refuses the owner, shown.
		e.mustCall(204, "PATCH", "/v1.0/policies/authorizationPolicy", a.token, map[string]any{"allowInvitesFrom": "adminsAndGuestInviters"})
		if r := c.post(base+"/inviteguest", url.Values{"email": {"third@partner.example"}}); r.status != 403 || !strings.Contains(r.body, `role="alert"`) {
			t.Errorf("invitation against the tenant's settings: %d %.300s", r.status, r.body)
		}
		if len(e.related(a, "/v1.0/groups/"+group+"/members")) != 1 {
			t.Error("a refused invitation added a member")
		}
	})
}
