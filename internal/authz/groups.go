package authz

import (
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/caller"
)

// Graph permissions that change a group's members.
const (
	permGroupReadWrite       = "Group.ReadWrite.All"
	permGroupMemberReadWrite = "GroupMember.ReadWrite.All"
)

// GroupTarget is a group whose members change.
type GroupTarget struct {
	// Owners are the object ids of the group's owners.
	Owners []string
	// RoleAssignable: the group can hold directory roles.
	RoleAssignable bool
}

// ChangeGroupMembers decides whether c may add or remove a member (a
// guest included) of the group g. As in Entra, a group's owners manage its
// members without an administrator role, with a delegated
// GroupMember.ReadWrite.All or Group.ReadWrite.All; so do User
// Administrators and Global Administrators. A role-assignable group's
// members hold its roles, so changing them stays what assigning roles
// takes, owner or not.
func ChangeGroupMembers(c caller.Caller, g GroupTarget) Decision {
	const rule = "group.members"
	if g.RoleAssignable {
		return ManageRoleAssignableGroup(c)
	}
	if c.AppOnly {
		if c.HasPermission(permGroupMemberReadWrite, permGroupReadWrite, permDirectoryReadWrite) {
			return allow(rule, "the application may change group memberships")
		}
		return deny(rule, "the application needs "+permGroupMemberReadWrite+" or "+permGroupReadWrite)
	}
	if !c.HasPermission(permGroupMemberReadWrite, permGroupReadWrite, permDirectoryAsUser) {
		return deny(rule, "the token lacks "+permGroupMemberReadWrite+" or "+permGroupReadWrite)
	}
	if c.HasRole(GlobalAdministrator, UserAdministrator) {
		return allow(rule, "a User Administrator or Global Administrator manages every group's members")
	}
	if c.ObjectID != "" && slices.Contains(g.Owners, c.ObjectID) {
		return allow(rule, "an owner of the group manages its members")
	}
	return deny(rule, "only the group's owners and User or Global Administrators change its members")
}
