package mfa

import (
	"context"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

func TestAccess(t *testing.T) {
	const self, other = "u-self", "u-other"
	user := func(scopes []string, roles ...string) caller.Caller {
		return caller.Caller{ObjectID: self, Scopes: scopes, DirectoryRoles: roles}
	}
	app := func(roles ...string) caller.Caller { return caller.Caller{ObjectID: "sp", AppOnly: true, Roles: roles} }
	plain, adminTarget := authz.UserTarget{}, authz.UserTarget{Roles: []string{authz.GlobalAdministrator}}
	groupTarget := authz.UserTarget{InRoleAssignableGroup: true}
	readAll, writeAll := []string{permReadAll}, []string{permReadWriteAll}
	for _, tc := range []struct {
		name   string
		c      caller.Caller
		target string
		t      authz.UserTarget
		write  bool
		ok     bool
	}{
		{"self reads with Read", user([]string{permRead}), self, plain, false, true},
		{"self cannot write with Read", user([]string{permRead}), self, plain, true, false},
		{"self writes with ReadWrite", user([]string{permReadWrite}), self, plain, true, true},
		{"self without the scope", user([]string{"User.Read"}), self, plain, false, false},
		{"another user with Read", user([]string{permReadWrite}), other, plain, false, false},
		{"another user without a role", user(readAll), other, plain, false, false},
		{"a Global Reader reads others", user(readAll, authz.GlobalReader), other, plain, false, true},
		{"a Global Reader does not write", user(writeAll, authz.GlobalReader), other, plain, true, false},
		{"a role but not the scope", user([]string{permReadWrite}, authz.GlobalAdministrator), other, plain, false, false},
		{"an Authentication Administrator changes a user", user(writeAll, authz.AuthenticationAdministrator), other, plain, true, true},
		{"an Authentication Administrator cannot change an administrator", user(writeAll, authz.AuthenticationAdministrator), other, adminTarget, true, false},
		{"an Authentication Administrator cannot change a role-assignable group's member", user(writeAll, authz.AuthenticationAdministrator), other, groupTarget, true, false},
		{"a Privileged Authentication Administrator changes an administrator", user(writeAll, authz.PrivilegedAuthenticationAdministrator), other, adminTarget, true, true},
		{"a User Administrator may not", user(writeAll, authz.UserAdministrator), other, plain, true, false},
		{"a Helpdesk Administrator may not", user(writeAll, authz.HelpdeskAdministrator), other, plain, true, false},
		{"an app reads with Read.All", app(permReadAll), other, adminTarget, false, true},
		{"an app cannot write with Read.All", app(permReadAll), other, plain, true, false},
		{"an app writes with ReadWrite.All", app(permReadWriteAll), other, adminTarget, true, true},
		{"an app with User.ReadWrite.All may not", app("User.ReadWrite.All", "Directory.ReadWrite.All"), other, plain, false, false},
	} {
		if d := access(tc.c, tc.target, tc.t, tc.write); d.Allowed != tc.ok || d.Reason == "" {
			t.Errorf("%s: %+v", tc.name, d)
		}
	}
}

func TestGraphMethodsOfUsers(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		m, _ := e.enrol(e.alice)
		bobs, _ := e.enrol(e.bob)
		alice := caller.With(context.Background(), caller.Caller{TenantID: e.tenant, ObjectID: e.alice, Scopes: []string{permReadWrite}})
		all, err := e.svc.ListUserMethods(alice, e.tenant, e.alice, "")
		if err != nil || len(all) != 2 || all[0].Type != TypePassword || all[0].ID != PasswordMethodID || all[1].ID != m.ID {
			t.Fatalf("Alice's methods: %+v %v", all, err)
		}
		if oath, err := e.svc.ListUserMethods(alice, e.tenant, "alice@contoso.example", TypeSoftwareOath); err != nil || len(oath) != 1 {
			t.Fatalf("by UPN and type: %+v %v", oath, err)
		}
		if got, err := e.svc.UserMethod(alice, e.tenant, e.alice, TypeSoftwareOath, m.ID); err != nil || got.ID != m.ID {
			t.Fatalf("get: %+v %v", got, err)
		}
		// Bob's method id under Alice is not found, and Alice may not
		// look at Bob's methods at all.
		if _, err := e.svc.UserMethod(alice, e.tenant, e.alice, "", bobs.ID); !usererr.IsKind(err, usererr.NotFound) {
			t.Fatalf("another user's method id: %v", err)
		}
		if err := e.svc.DeleteUserMethod(alice, e.tenant, e.alice, "", bobs.ID); !usererr.IsKind(err, usererr.NotFound) {
			t.Fatalf("deleting another user's method id: %v", err)
		}
		if _, err := e.svc.ListUserMethods(alice, e.tenant, e.bob, ""); !usererr.IsKind(err, usererr.Forbidden) {
			t.Fatalf("another user's methods: %v", err)
		}
		if _, err := e.svc.UserMethod(alice, e.tenant, e.alice, TypeEmail, m.ID); !usererr.IsKind(err, usererr.NotFound) {
			t.Fatalf("a method under another type: %v", err)
		}
		if err := e.svc.DeleteUserMethod(alice, e.tenant, e.alice, "", PasswordMethodID); !usererr.IsKind(err, usererr.Invalid) {
			t.Fatalf("deleting the password: %v", err)
		}

		// An Authentication Administrator deletes Bob's; the record says an admin did.
		admin := caller.With(context.Background(), caller.Caller{TenantID: e.tenant, ObjectID: e.adminID, Scopes: []string{permReadWriteAll},
			DirectoryRoles: []string{authz.AuthenticationAdministrator}})
		if err := e.svc.DeleteUserMethod(admin, e.tenant, e.bob, TypeSoftwareOath, bobs.ID); err != nil {
			t.Fatal(err)
		}
		if ms, _ := e.svc.Methods(context.Background(), e.tenant, e.bob); len(ms) != 0 {
			t.Fatalf("Bob's methods: %v", ms)
		}
		// The tenant's first admin is a Global Administrator: out of an
		// Authentication Administrator's reach.
		e.enrol(e.adminID)
		otherAdmin := caller.With(context.Background(), caller.Caller{TenantID: e.tenant, ObjectID: e.alice, Scopes: []string{permReadWriteAll},
			DirectoryRoles: []string{authz.AuthenticationAdministrator}})
		adminMethods, _ := e.svc.Methods(context.Background(), e.tenant, e.adminID)
		if err := e.svc.DeleteUserMethod(otherAdmin, e.tenant, e.adminID, "", adminMethods[0].ID); !usererr.IsKind(err, usererr.Forbidden) {
			t.Fatalf("an Authentication Administrator deleting a Global Administrator's method: %v", err)
		}
		found := false
		for _, r := range e.audits() {
			if r.ActivityDisplayName == "Admin deleted security info" && r.TargetResources[0].ID == e.bob && r.InitiatedBy.User.ID == e.adminID {
				found = true
			}
		}
		if !found {
			t.Fatalf("no \"Admin deleted security info\" record: %+v", e.audits())
		}
		if _, err := e.svc.ListUserMethods(alice, e.tenant, "nobody@contoso.example", ""); !usererr.IsKind(err, usererr.NotFound) {
			t.Fatalf("an unknown user: %v", err)
		}
		if _, err := e.svc.ListUserMethods(context.Background(), e.tenant, e.alice, ""); err == nil {
			t.Fatalf("no caller: %v", err)
		}
	})
}
