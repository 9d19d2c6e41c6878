package authz

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/caller"
)

func delegated(id string, scopes []string, roles ...string) caller.Caller {
	return caller.Caller{ObjectID: id, Scopes: scopes, DirectoryRoles: roles}
}

func TestGroupOwnersManageMembers(t *testing.T) {
	member := []string{"GroupMember.ReadWrite.All"}
	group := []string{"Group.ReadWrite.All"}
	plain := GroupTarget{Owners: []string{"owner", "co-owner"}}
	roles := GroupTarget{Owners: []string{"owner"}, RoleAssignable: true}
	cases := []struct {
		name string
		c    caller.Caller
		g    GroupTarget
		want bool
		rule string
	}{
		{"owner with GroupMember.ReadWrite.All", delegated("owner", member), plain, true, "group.members"},
		{"owner with Group.ReadWrite.All", delegated("co-owner", group), plain, true, "group.members"},
		{"owner acting as themselves", delegated("owner", []string{"Directory.AccessAsUser.All"}), plain, true, "group.members"},
		{"owner without a write scope", delegated("owner", []string{"Group.Read.All", "User.Read"}), plain, false, "group.members"},
		{"member who owns nothing", delegated("someone", member), plain, false, "group.members"},
		{"no object id is no owner", delegated("", member), GroupTarget{Owners: []string{""}}, false, "group.members"},
		{"Helpdesk Administrator who owns nothing", delegated("hd", group, HelpdeskAdministrator), plain, false, "group.members"},
		{"Guest Inviter who owns nothing", delegated("gi", group, GuestInviter), plain, false, "group.members"},
		{"User Administrator", delegated("ua", group, UserAdministrator), plain, true, "group.members"},
		{"Global Administrator", delegated("ga", member, GlobalAdministrator), plain, true, "group.members"},
		{"owner of a role-assignable group", delegated("owner", group), roles, false, "group.roleAssignable"},
		{"User Administrator and a role-assignable group", delegated("ua", []string{"Directory.AccessAsUser.All"}, UserAdministrator), roles, false, "group.roleAssignable"},
		{"Privileged Role Administrator and a role-assignable group", delegated("pra", []string{"Directory.AccessAsUser.All"}, PrivilegedRoleAdministrator), roles, true, "group.roleAssignable"},
		{"app with GroupMember.ReadWrite.All", app("GroupMember.ReadWrite.All"), plain, true, "group.members"},
		{"app with Directory.ReadWrite.All", app("Directory.ReadWrite.All"), plain, true, "group.members"},
		{"app with Group.Read.All", app("Group.Read.All"), plain, false, "group.members"},
		{"app that owns the group still needs a permission", caller.Caller{ObjectID: "owner", AppOnly: true}, plain, false, "group.members"},
		{"app with GroupMember.ReadWrite.All and a role-assignable group", app("GroupMember.ReadWrite.All", "Group.ReadWrite.All"), roles, false, "group.roleAssignable"},
	}
	for _, c := range cases {
		d := ChangeGroupMembers(c.c, c.g)
		if d.Allowed != c.want || d.Rule != c.rule || d.Reason == "" {
			t.Errorf("%s: %+v, want allowed %v by %s", c.name, d, c.want, c.rule)
		}
	}
}

func TestApplicationOwnersAssignUsers(t *testing.T) {
	scope := []string{"AppRoleAssignment.ReadWrite.All"}
	mine := AppRoleGrant{ResourceOwners: []string{"owner"}}
	cases := []struct {
		name string
		c    caller.Caller
		g    AppRoleGrant
		want bool
	}{
		{"owner assigns a user or group", delegated("owner", scope), mine, true},
		{"owner acting as themselves", delegated("owner", []string{"Directory.AccessAsUser.All"}), mine, true},
		{"owner without the scope", delegated("owner", []string{"User.Read"}), mine, false},
		{"owner granting a permission to an application", delegated("owner", scope), AppRoleGrant{ResourceOwners: []string{"owner"}, ToApplication: true}, false},
		{"owner of Microsoft Graph (none should be) grants nothing", delegated("owner", scope), AppRoleGrant{ResourceOwners: []string{"owner"}, ResourceIsGraph: true}, false},
		{"member who owns nothing", delegated("someone", scope), mine, false},
		{"User Administrator who owns nothing", delegated("ua", scope, UserAdministrator), mine, false},
		{"Application Administrator grants to applications", delegated("aa", scope, ApplicationAdministrator), AppRoleGrant{ToApplication: true}, true},
	}
	for _, c := range cases {
		d := AssignAppRole(c.c, c.g)
		if d.Allowed != c.want || d.Rule != "appRole.assign" || d.Reason == "" {
			t.Errorf("%s: %+v, want allowed %v", c.name, d, c.want)
		}
	}
}
