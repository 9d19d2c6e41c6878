package authz

import (
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/caller"
)

// admin is a signed-in user holding role, with a token that may write users
// and reset passwords.
func admin(roles ...string) caller.Caller {
	return caller.Caller{ObjectID: "me", Scopes: []string{"Directory.AccessAsUser.All"}, DirectoryRoles: roles}
}

func app(perms ...string) caller.Caller {
	return caller.Caller{ObjectID: "sp", AppOnly: true, Roles: perms}
}

// Entra's "Who can reset passwords" table as published (tenant-scoped
// roles): for each target row, the columns that may reset its password.
// Transcribed from the documentation, not from the rules under test.
var resetTable = []struct {
	row    string
	target UserTarget
	by     []string
}{
	{"Auth Admin", UserTarget{Roles: []string{AuthenticationAdministrator}}, []string{AuthenticationAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Directory Readers", UserTarget{Roles: []string{DirectoryReaders}}, []string{PasswordAdministrator, HelpdeskAdministrator, AuthenticationAdministrator, UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Global Admin", UserTarget{Roles: []string{GlobalAdministrator}}, []string{PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Groups Admin", UserTarget{Roles: []string{GroupsAdministrator}}, []string{UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Guest Inviter", UserTarget{Roles: []string{GuestInviter}}, []string{PasswordAdministrator, HelpdeskAdministrator, AuthenticationAdministrator, UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Helpdesk Admin", UserTarget{Roles: []string{HelpdeskAdministrator}}, []string{HelpdeskAdministrator, UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Message Center Reader", UserTarget{Roles: []string{MessageCenterReader}}, []string{HelpdeskAdministrator, AuthenticationAdministrator, UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Password Admin", UserTarget{Roles: []string{PasswordAdministrator}}, []string{PasswordAdministrator, HelpdeskAdministrator, AuthenticationAdministrator, UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Privileged Auth Admin", UserTarget{Roles: []string{PrivilegedAuthenticationAdministrator}}, []string{PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Privileged Role Admin", UserTarget{Roles: []string{PrivilegedRoleAdministrator}}, []string{PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Reports Reader", UserTarget{Roles: []string{ReportsReader}}, []string{HelpdeskAdministrator, AuthenticationAdministrator, UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"User (no admin role)", UserTarget{}, []string{PasswordAdministrator, HelpdeskAdministrator, AuthenticationAdministrator, UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"User in a role-assignable group", UserTarget{InRoleAssignableGroup: true}, []string{PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"User Admin", UserTarget{Roles: []string{UserAdministrator}}, []string{UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"other built-in role (Application Admin)", UserTarget{Roles: []string{ApplicationAdministrator}}, []string{PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"other built-in role (Security Admin)", UserTarget{Roles: []string{SecurityAdministrator}}, []string{PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"two roles, one out of reach", UserTarget{Roles: []string{DirectoryReaders, HelpdeskAdministrator}}, []string{HelpdeskAdministrator, UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
}

var resetColumns = []string{PasswordAdministrator, HelpdeskAdministrator, AuthenticationAdministrator, UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}

func TestWhoCanResetPasswords(t *testing.T) {
	for _, row := range resetTable {
		for _, col := range resetColumns {
			want := slices.Contains(row.by, col)
			for _, prop := range []string{"passwordProfile", "mobilePhone", "otherMails", "businessPhones"} {
				d := ChangeUser(admin(col), row.target, UserChange{Properties: []string{prop}})
				if d.Allowed != want {
					t.Errorf("%s setting %s of %s: allowed %v, want %v (%s: %s)", roleSeats[col].name, prop, row.row, d.Allowed, want, d.Rule, d.Reason)
				}
			}
			// The same columns invalidate refresh tokens.
			if d := ChangeUser(admin(col), row.target, UserChange{RevokeSessions: true}); d.Allowed != want {
				t.Errorf("%s ending the sessions of %s: allowed %v, want %v", roleSeats[col].name, row.row, d.Allowed, want)
			}
		}
	}
}

// Entra's "Who can perform sensitive actions" table: its columns are the
// Authentication, User, Privileged Authentication and Global Administrator.
var sensitiveTable = []struct {
	row    string
	target UserTarget
	by     []string
}{
	{"Auth Admin", UserTarget{Roles: []string{AuthenticationAdministrator}}, []string{AuthenticationAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Directory Readers", UserTarget{Roles: []string{DirectoryReaders}}, []string{AuthenticationAdministrator, UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Global Admin", UserTarget{Roles: []string{GlobalAdministrator}}, []string{PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Groups Admin", UserTarget{Roles: []string{GroupsAdministrator}}, []string{UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Guest Inviter", UserTarget{Roles: []string{GuestInviter}}, []string{AuthenticationAdministrator, UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Helpdesk Admin", UserTarget{Roles: []string{HelpdeskAdministrator}}, []string{UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Message Center Reader", UserTarget{Roles: []string{MessageCenterReader}}, []string{AuthenticationAdministrator, UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Password Admin", UserTarget{Roles: []string{PasswordAdministrator}}, []string{AuthenticationAdministrator, UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Privileged Auth Admin", UserTarget{Roles: []string{PrivilegedAuthenticationAdministrator}}, []string{PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Privileged Role Admin", UserTarget{Roles: []string{PrivilegedRoleAdministrator}}, []string{PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"Reports Reader", UserTarget{Roles: []string{ReportsReader}}, []string{AuthenticationAdministrator, UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"User (no admin role)", UserTarget{}, []string{AuthenticationAdministrator, UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"User in a role-assignable group", UserTarget{InRoleAssignableGroup: true}, []string{PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"User Admin", UserTarget{Roles: []string{UserAdministrator}}, []string{UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
	{"other built-in role", UserTarget{Roles: []string{CloudApplicationAdministrator}}, []string{PrivilegedAuthenticationAdministrator, GlobalAdministrator}},
}

func TestWhoCanPerformSensitiveActions(t *testing.T) {
	// Helpdesk and Password Administrators are not columns: they change no
	// sensitive property beyond a password reset.
	columns := []string{AuthenticationAdministrator, UserAdministrator, PrivilegedAuthenticationAdministrator, GlobalAdministrator, HelpdeskAdministrator, PasswordAdministrator, GuestInviter, PrivilegedRoleAdministrator}
	for _, row := range sensitiveTable {
		for _, col := range columns {
			want := slices.Contains(row.by, col)
			for _, prop := range []string{"accountEnabled", "userPrincipalName", "identities", "mail", "onPremisesImmutableId"} {
				d := ChangeUser(admin(col), row.target, UserChange{Properties: []string{prop}})
				if d.Allowed != want {
					t.Errorf("role %s setting %s of %s: allowed %v, want %v (%s)", col, prop, row.row, d.Allowed, want, d.Reason)
				}
			}
			if d := ChangeUser(admin(col), row.target, UserChange{Delete: true}); d.Allowed != want {
				t.Errorf("role %s deleting %s: allowed %v, want %v", col, row.row, d.Allowed, want)
			}
		}
	}
}

func TestChangeUser(t *testing.T) {
	ga := UserTarget{Roles: []string{GlobalAdministrator}}
	plain := UserTarget{}
	cases := []struct {
		name   string
		c      caller.Caller
		target UserTarget
		change UserChange
		want   bool
		rule   string
	}{
		{"User Administrator resets a Global Administrator's password", admin(UserAdministrator), ga, UserChange{Properties: []string{"passwordProfile"}}, false, "user.password"},
		{"User Administrator updates a Global Administrator's job title", admin(UserAdministrator), ga, UserChange{Properties: []string{"jobTitle"}}, true, "user.basic"},
		{"User Administrator: a basic and a sensitive property of a Global Administrator", admin(UserAdministrator), ga, UserChange{Properties: []string{"jobTitle", "accountEnabled"}}, false, "user.sensitive"},
		{"Helpdesk cannot change a job title", admin(HelpdeskAdministrator), plain, UserChange{Properties: []string{"jobTitle"}}, false, "user.basic"},
		{"Helpdesk cannot disable a user", admin(HelpdeskAdministrator), plain, UserChange{Properties: []string{"accountEnabled"}}, false, "user.sensitive"},
		{"Helpdesk cannot create users", admin(HelpdeskAdministrator), plain, UserChange{Create: true}, false, "user.create"},
		{"Authentication Administrator cannot create users", admin(AuthenticationAdministrator), plain, UserChange{Create: true}, false, "user.create"},
		{"User Administrator creates users", admin(UserAdministrator), plain, UserChange{Create: true, Properties: []string{"passwordProfile", "accountEnabled"}}, true, "user.create"},
		{"Authentication Administrator cannot touch a Global Administrator's job title", admin(AuthenticationAdministrator), ga, UserChange{Properties: []string{"jobTitle"}}, false, "user.basic"},
		{"roles combine per operation", admin(HelpdeskAdministrator, GroupsAdministrator), plain, UserChange{Properties: []string{"passwordProfile"}}, true, "user.password"},
		{"a role outside the tables writes nothing", admin(ApplicationAdministrator), plain, UserChange{Properties: []string{"jobTitle"}}, false, "user.basic"},
		{"a delegated reset needs a password scope", caller.Caller{Scopes: []string{"User.ReadWrite.All"}, DirectoryRoles: []string{GlobalAdministrator}}, plain, UserChange{Properties: []string{"passwordProfile"}}, false, "user.password"},
		{"User-PasswordProfile.ReadWrite.All delegated resets", caller.Caller{Scopes: []string{"User-PasswordProfile.ReadWrite.All"}, DirectoryRoles: []string{HelpdeskAdministrator}}, plain, UserChange{Properties: []string{"passwordProfile"}}, true, "user.password"},
		{"User-PasswordProfile.ReadWrite.All delegated writes nothing else", caller.Caller{Scopes: []string{"User-PasswordProfile.ReadWrite.All"}, DirectoryRoles: []string{GlobalAdministrator}}, plain, UserChange{Properties: []string{"jobTitle"}}, false, "user.basic"},
		{"app: User.ReadWrite.All does not reset passwords", app("User.ReadWrite.All"), plain, UserChange{Properties: []string{"passwordProfile"}}, false, "user.password"},
		{"app: Directory.ReadWrite.All does not reset passwords", app("Directory.ReadWrite.All"), plain, UserChange{Properties: []string{"passwordProfile"}}, false, "user.password"},
		{"app: User-PasswordProfile.ReadWrite.All resets a member's", app("User-PasswordProfile.ReadWrite.All"), plain, UserChange{Properties: []string{"passwordProfile"}}, true, "user.password"},
		{"app: User-PasswordProfile.ReadWrite.All cannot reset an admin's", app("User-PasswordProfile.ReadWrite.All"), UserTarget{Roles: []string{HelpdeskAdministrator}}, UserChange{Properties: []string{"passwordProfile"}}, false, "user.password"},
		{"app: User-PasswordProfile.ReadWrite.All reaches a Directory Reader", app("User-PasswordProfile.ReadWrite.All"), UserTarget{Roles: []string{DirectoryReaders}}, UserChange{Properties: []string{"passwordProfile"}}, true, "user.password"},
		{"app: User-PasswordProfile.ReadWrite.All changes nothing else", app("User-PasswordProfile.ReadWrite.All"), plain, UserChange{Properties: []string{"displayName"}}, false, "user.basic"},
		{"app: User.ReadWrite.All creates users with a password", app("User.ReadWrite.All"), plain, UserChange{Create: true}, true, "user.create"},
		{"app: User.ReadWrite.All disables a member", app("User.ReadWrite.All"), plain, UserChange{Properties: []string{"accountEnabled"}}, true, "user.sensitive"},
		{"app: User.ReadWrite.All cannot disable an admin", app("User.ReadWrite.All"), ga, UserChange{Properties: []string{"accountEnabled"}}, false, "user.sensitive"},
		{"app: User.ReadWrite.All cannot delete an admin", app("User.ReadWrite.All"), ga, UserChange{Delete: true}, false, "user.sensitive"},
		{"app: User.ReadWrite.All renames an admin", app("User.ReadWrite.All"), ga, UserChange{Properties: []string{"displayName"}}, true, "user.basic"},
		{"a creation's properties need no more than creating", app("User.ReadWrite.All"), plain, UserChange{Create: true, Properties: []string{"passwordProfile", "accountEnabled"}}, true, "user.create"},
		{"app: User.ReadWrite.All ends a member's sessions", app("User.ReadWrite.All"), plain, UserChange{RevokeSessions: true}, true, "user.revokeSessions"},
		{"app: User.ReadWrite.All cannot end an admin's sessions", app("User.ReadWrite.All"), ga, UserChange{RevokeSessions: true}, false, "user.revokeSessions"},
		{"app: a read permission writes nothing", app("User.Read.All"), plain, UserChange{Properties: []string{"displayName"}}, false, "user.basic"},
		{"a member updates its own office", caller.Caller{Scopes: []string{"User.ReadWrite"}}, plain, UserChange{Self: true, Properties: []string{"officeLocation"}}, true, "user.self"},
		{"a member's own profile needs User.ReadWrite", caller.Caller{Scopes: []string{"User.Read"}}, plain, UserChange{Self: true, Properties: []string{"preferredLanguage"}}, false, "user.self"},
		{"a member cannot change its own job title", caller.Caller{Scopes: []string{"User.ReadWrite"}}, plain, UserChange{Self: true, Properties: []string{"officeLocation", "jobTitle"}}, false, "user.basic"},
		{"self service is not another user's profile", caller.Caller{Scopes: []string{"User.ReadWrite"}}, plain, UserChange{Properties: []string{"officeLocation"}}, false, "user.basic"},
		{"app: directory roles of an app token do not count", caller.Caller{AppOnly: true, DirectoryRoles: []string{GlobalAdministrator}}, plain, UserChange{Properties: []string{"displayName"}}, false, "user.basic"},
	}
	for _, c := range cases {
		d := ChangeUser(c.c, c.target, c.change)
		if d.Allowed != c.want || d.Rule != c.rule || d.Reason == "" {
			t.Errorf("%s: %+v, want allowed %v by %s", c.name, d, c.want, c.rule)
		}
	}
}

func TestAssignments(t *testing.T) {
	cases := []struct {
		name string
		d    Decision
		want bool
	}{
		{"Global Administrator assigns roles", AssignDirectoryRole(admin(GlobalAdministrator)), true},
		{"Privileged Role Administrator assigns roles", AssignDirectoryRole(admin(PrivilegedRoleAdministrator)), true},
		{"User Administrator cannot assign roles (itself Global Administrator)", AssignDirectoryRole(admin(UserAdministrator)), false},
		{"Privileged Authentication Administrator cannot assign roles", AssignDirectoryRole(admin(PrivilegedAuthenticationAdministrator)), false},
		{"a role without the scope assigns nothing", AssignDirectoryRole(caller.Caller{Scopes: []string{"User.Read"}, DirectoryRoles: []string{GlobalAdministrator}}), false},
		{"app with RoleManagement.ReadWrite.Directory", AssignDirectoryRole(app("RoleManagement.ReadWrite.Directory")), true},
		{"app with Directory.ReadWrite.All", AssignDirectoryRole(app("Directory.ReadWrite.All")), false},

		{"User Administrator cannot change a role-assignable group", ManageRoleAssignableGroup(admin(UserAdministrator)), false},
		{"Privileged Role Administrator changes a role-assignable group", ManageRoleAssignableGroup(admin(PrivilegedRoleAdministrator)), true},
		{"Group.ReadWrite.All cannot change a role-assignable group", ManageRoleAssignableGroup(app("Group.ReadWrite.All", "Directory.ReadWrite.All")), false},
		{"RoleManagement.ReadWrite.Directory changes a role-assignable group", ManageRoleAssignableGroup(app("RoleManagement.ReadWrite.Directory")), true},

		{"app with Application.ReadWrite.All cannot grant app roles", AssignAppRole(app("Application.ReadWrite.All"), AppRoleGrant{ResourceIsGraph: true}), false},
		{"app with Application.ReadWrite.All cannot grant other APIs' roles either", AssignAppRole(app("Application.ReadWrite.All", "Directory.ReadWrite.All"), AppRoleGrant{ResourceIsGraph: false}), false},
		{"app with AppRoleAssignment.ReadWrite.All grants", AssignAppRole(app("AppRoleAssignment.ReadWrite.All"), AppRoleGrant{ResourceIsGraph: true}), true},
		{"Application Administrator cannot grant Graph permissions", AssignAppRole(admin(ApplicationAdministrator), AppRoleGrant{ResourceIsGraph: true}), false},
		{"Cloud Application Administrator cannot grant Graph permissions", AssignAppRole(admin(CloudApplicationAdministrator), AppRoleGrant{ResourceIsGraph: true}), false},
		{"Application Administrator grants another API's roles", AssignAppRole(admin(ApplicationAdministrator), AppRoleGrant{ResourceIsGraph: false}), true},
		{"Privileged Role Administrator grants Graph permissions", AssignAppRole(admin(PrivilegedRoleAdministrator), AppRoleGrant{ResourceIsGraph: true}), true},
		{"User Administrator grants no app role", AssignAppRole(admin(UserAdministrator), AppRoleGrant{ResourceIsGraph: false}), false},

		{"Application.ReadWrite.All manages any application", ManageApplication(app("Application.ReadWrite.All"), nil, false), true},
		{"OwnedBy registers applications", ManageApplication(app("Application.ReadWrite.OwnedBy"), nil, true), true},
		{"OwnedBy manages an owned application", ManageApplication(app("Application.ReadWrite.OwnedBy"), []string{"x", "sp"}, false), true},
		{"OwnedBy cannot manage another application", ManageApplication(app("Application.ReadWrite.OwnedBy"), []string{"x"}, false), false},
		{"Application.Read.All manages nothing", ManageApplication(app("Application.Read.All"), []string{"sp"}, false), false},
		{"Directory.ReadWrite.All manages no application", ManageApplication(app("Directory.ReadWrite.All"), nil, true), false},
		{"Application Administrator manages applications", ManageApplication(admin(ApplicationAdministrator), nil, false), true},
		{"User Administrator manages no application", ManageApplication(admin(UserAdministrator), nil, true), false},
		{"a user manages an application they own", ManageApplication(caller.Caller{ObjectID: "u1", Scopes: []string{"Directory.AccessAsUser.All"}}, []string{"x", "u1"}, false), true},
		{"a user manages no one else's application", ManageApplication(caller.Caller{ObjectID: "u1", Scopes: []string{"Directory.AccessAsUser.All"}}, []string{"x"}, false), false},
		{"a user without a role registers nothing", ManageApplication(caller.Caller{ObjectID: "u1", Scopes: []string{"Directory.AccessAsUser.All"}}, nil, true), false},
	}
	for _, c := range cases {
		if c.d.Allowed != c.want || c.d.Rule == "" || c.d.Reason == "" {
			t.Errorf("%s: %+v, want allowed %v", c.name, c.d, c.want)
		}
	}
}

func TestReadLevelOf(t *testing.T) {
	member := caller.Caller{ObjectID: "u", Scopes: []string{"User.Read.All"}}
	open := Policy{GuestUserRoleID: GuestLimited, AllowedToReadOtherUsers: true}
	closed := Policy{GuestUserRoleID: GuestLimited, AllowedToReadOtherUsers: false}
	cases := []struct {
		name     string
		c        caller.Caller
		userType string
		p        Policy
		want     Level
	}{
		{"member", member, "Member", open, ReadAll},
		{"member, others hidden", member, "Member", closed, ReadOwnUser},
		{"guest, default role", member, "Guest", open, ReadLimited},
		{"guest, same as members", member, "Guest", Policy{GuestUserRoleID: GuestSameAsMembers, AllowedToReadOtherUsers: true}, ReadAll},
		{"guest as member, others hidden", member, "Guest", Policy{GuestUserRoleID: GuestSameAsMembers}, ReadOwnUser},
		{"guest, restricted", member, "Guest", Policy{GuestUserRoleID: GuestRestricted, AllowedToReadOtherUsers: true}, ReadRestricted},
		{"guest, unknown role fails closed", member, "Guest", Policy{GuestUserRoleID: "bogus", AllowedToReadOtherUsers: true}, ReadRestricted},
		{"guest holding a directory role", caller.Caller{DirectoryRoles: []string{DirectoryReaders}}, "Guest", Policy{GuestUserRoleID: GuestRestricted}, ReadAll},
		{"member admin, others hidden", caller.Caller{DirectoryRoles: []string{HelpdeskAdministrator}}, "Member", closed, ReadAll},
		{"application", caller.Caller{AppOnly: true}, "", closed, ReadAll},
	}
	for _, c := range cases {
		if got := ReadLevelOf(c.c, c.userType, c.p); got != c.want {
			t.Errorf("%s: level %d, want %d", c.name, got, c.want)
		}
	}
}

func TestMayRead(t *testing.T) {
	type row struct {
		read                              Read
		all, ownUser, limited, restricted bool
	}
	list := func(a Area) Read { return Read{Area: a, List: true} }
	byID := func(a Area) Read { return Read{Area: a} }
	cases := map[string]row{
		"list users":                 {list(AreaUsers), true, false, false, false},
		"another user by id":         {byID(AreaUsers), true, false, true, false},
		"self":                       {Read{Area: AreaUsers, Self: true}, true, true, true, true},
		"own memberships":            {Read{Area: AreaGroups, Members: true, Self: true}, true, true, true, true},
		"another user's memberships": {Read{Area: AreaUsers, Members: true}, true, false, false, false},
		"list groups":                {list(AreaGroups), true, true, false, false},
		"a group by id":              {byID(AreaGroups), true, true, true, false},
		"a group's members":          {Read{Area: AreaGroups, Members: true}, true, false, true, false},
		"list applications":          {list(AreaApps), true, true, false, false},
		"an application by id":       {byID(AreaApps), true, true, true, true},
		"role definitions":           {list(AreaRoleDefinitions), true, true, false, false},
		"role assignments":           {list(AreaRoleAssignments), true, false, false, false},
		"grants":                     {list(AreaGrants), true, false, false, false},
		"a grant by id":              {byID(AreaGrants), true, false, false, false},
		"policies":                   {byID(AreaPolicies), true, true, false, false},
		"deleted items":              {list(AreaDeleted), true, false, false, false},
		"organization":               {byID(AreaOrganization), true, true, true, true},
		"domains":                    {list(AreaNone), true, true, true, true},
	}
	for name, c := range cases {
		for level, want := range map[Level]bool{ReadAll: c.all, ReadOwnUser: c.ownUser, ReadLimited: c.limited, ReadRestricted: c.restricted} {
			if d := MayRead(level, c.read); d.Allowed != want || d.Reason == "" {
				t.Errorf("%s at level %d: %+v, want %v", name, level, d, want)
			}
		}
	}
}

func TestVisibleProperties(t *testing.T) {
	if p := VisibleProperties(ReadLimited, AreaUsers, false); slices.Contains(p, "mobilePhone") || !slices.Contains(p, "displayName") {
		t.Errorf("a guest sees %v of another user", p)
	}
	if p := VisibleProperties(ReadLimited, AreaUsers, true); p != nil {
		t.Errorf("a guest sees only %v of themself", p)
	}
	if p := VisibleProperties(ReadRestricted, AreaOrganization, false); slices.Contains(p, "technicalNotificationMails") || !slices.Contains(p, "displayName") {
		t.Errorf("a guest sees %v of the organization", p)
	}
	if p := VisibleProperties(ReadAll, AreaUsers, false); p != nil {
		t.Errorf("a member sees only %v", p)
	}
}
