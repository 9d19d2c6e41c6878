package graph

import (
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlite"
)

func TestAllowed(t *testing.T) {
	cases := []struct {
		name string
		p    Principal
		need permSet
		want bool
	}{
		{"app with the permission", Principal{AppOnly: true, Roles: []string{"User.Read.All"}}, readUsers, true},
		{"app with a broader permission", Principal{AppOnly: true, Roles: []string{"Directory.ReadWrite.All"}}, writeUsers, true},
		{"app with a read permission writing", Principal{AppOnly: true, Roles: []string{"User.Read.All"}}, writeUsers, false},
		{"app with another resource's permission", Principal{AppOnly: true, Roles: []string{"Group.ReadWrite.All"}}, readUsers, false},
		{"Directory.ReadWrite.All cannot write applications", Principal{AppOnly: true, Roles: []string{"Directory.ReadWrite.All"}}, writeApps, false},
		{"app with no roles", Principal{AppOnly: true}, readUsers, false},
		{"delegated read with a read scope", Principal{Scopes: []string{"User.Read.All"}}, readUsers, true},
		{"delegated read with only User.Read", Principal{Scopes: []string{"User.Read"}}, readUsers, false},
		{"delegated write needs an admin role", Principal{Scopes: []string{"User.ReadWrite.All"}}, writeUsers, false},
		{"delegated write by a User Administrator", Principal{Scopes: []string{"User.ReadWrite.All"}, DirectoryRoles: []string{authz.UserAdministrator}}, writeUsers, true},
		{"an admin role without the scope grants nothing", Principal{Scopes: []string{"User.Read"}, DirectoryRoles: []string{authz.GlobalAdministrator}}, writeUsers, false},
		{"roles claim of a delegated token is not an app permission", Principal{Roles: []string{"User.ReadWrite.All"}}, readUsers, false},
		{"app token cannot use /me", Principal{AppOnly: true, Roles: []string{"User.ReadWrite.All"}}, readMe, false},
		{"delegated /me", Principal{Scopes: []string{"User.Read"}}, readMe, true},
		{"permission names are exact", Principal{AppOnly: true, Roles: []string{"user.read.all"}}, readUsers, false},
		{"Application.ReadWrite.All grants no app role", Principal{AppOnly: true, Roles: []string{"Application.ReadWrite.All"}}, assignAppRoles, false},
		{"AppRoleAssignment.ReadWrite.All grants app roles", Principal{AppOnly: true, Roles: []string{"AppRoleAssignment.ReadWrite.All"}}, assignAppRoles, true},
		{"OwnedBy is admitted to application routes", Principal{AppOnly: true, Roles: []string{"Application.ReadWrite.OwnedBy"}}, writeApps, true},
		{"the password permission is admitted to user writes", Principal{AppOnly: true, Roles: []string{"User-PasswordProfile.ReadWrite.All"}}, writeUsers, true},
		{"a Helpdesk Administrator is admitted to user writes", Principal{Scopes: []string{"Directory.AccessAsUser.All"}, DirectoryRoles: []string{authz.HelpdeskAdministrator}}, writeUsers, true},
		{"a Privileged Role Administrator assigns roles", Principal{Scopes: []string{"Directory.AccessAsUser.All"}, DirectoryRoles: []string{authz.PrivilegedRoleAdministrator}}, writeRoles, true},
		{"a User Administrator assigns no role", Principal{Scopes: []string{"Directory.AccessAsUser.All"}, DirectoryRoles: []string{authz.UserAdministrator}}, writeRoles, false},
		{"an Application Administrator consents for the organization", Principal{Scopes: []string{"DelegatedPermissionGrant.ReadWrite.All"}, DirectoryRoles: []string{authz.ApplicationAdministrator}}, writeGrants, true},
		{"a Cloud Application Administrator consents for the organization", Principal{Scopes: []string{"Directory.AccessAsUser.All"}, DirectoryRoles: []string{authz.CloudApplicationAdministrator}}, writeGrants, true},
		{"a User Administrator consents for no one", Principal{Scopes: []string{"Directory.AccessAsUser.All"}, DirectoryRoles: []string{authz.UserAdministrator}}, writeGrants, false},
		{"a signed-in user without a role is admitted to application writes (the directory keeps them to their own)", Principal{Scopes: []string{"Application.ReadWrite.All"}}, writeApps, true},
		{"app reading audit logs", Principal{AppOnly: true, Roles: []string{"AuditLog.Read.All"}}, readAuditLogs, true},
		{"Directory.Read.All does not read audit logs", Principal{AppOnly: true, Roles: []string{"Directory.Read.All"}}, readAuditLogs, false},
		{"delegated audit read by a Reports Reader", Principal{Scopes: []string{"AuditLog.Read.All"}, DirectoryRoles: []string{authz.ReportsReader}}, readAuditLogs, true},
		{"delegated audit read by a Security Reader", Principal{Scopes: []string{"AuditLog.Read.All"}, DirectoryRoles: []string{authz.SecurityReader}}, readAuditLogs, true},
		{"delegated audit read by a User Administrator", Principal{Scopes: []string{"AuditLog.Read.All"}, DirectoryRoles: []string{authz.UserAdministrator}}, readAuditLogs, false},
		{"delegated audit read without the scope", Principal{Scopes: []string{"Directory.Read.All"}, DirectoryRoles: []string{authz.GlobalAdministrator}}, readAuditLogs, false},
	}
	for _, c := range cases {
		if got := allowed(c.p, c.need); got != c.want {
			t.Errorf("%s: allowed = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestAdmits: another surface asking about a request gets the admission of
// the route the request would reach, and false where admission depends on
// the object (deleted items) or there is no route.
func TestAdmits(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	dir, err := directory.New(st, directory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	a := New(dir, nil, Config{Logger: slog.New(slog.DiscardHandler)})
	a.Register(http.NewServeMux())
	helpdesk := Principal{Scopes: []string{"Directory.AccessAsUser.All"}, DirectoryRoles: []string{authz.HelpdeskAdministrator}}
	member := Principal{Scopes: []string{"Directory.AccessAsUser.All"}}
	reader := Principal{Scopes: []string{"AuditLog.Read.All"}, DirectoryRoles: []string{authz.ReportsReader}}
	cases := []struct {
		p            Principal
		method, path string
		want         bool
	}{
		{helpdesk, "PATCH", "/v1.0/users/u1", true},
		{member, "PATCH", "/v1.0/users/u1", false},
		{member, "GET", "/v1.0/users", true},
		{helpdesk, "POST", "/v1.0/directoryRoles/r/members/$ref", false},
		{reader, "GET", "/v1.0/auditLogs/directoryAudits", true},
		{helpdesk, "GET", "/v1.0/auditLogs/directoryAudits", false},
		{helpdesk, "POST", "/v1.0/directory/deletedItems/u1/restore", false},
		{helpdesk, "GET", "/v1.0/nothing/here", false},
	}
	for _, c := range cases {
		if got := a.Admits(c.p, c.method, c.path); got != c.want {
			t.Errorf("Admits(%v, %s %s) = %v, want %v", c.p.DirectoryRoles, c.method, c.path, got, c.want)
		}
	}
}
