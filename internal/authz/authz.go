// Package authz decides what a caller may do to whom in a tenant's
// directory, after Entra's own tables: who may reset passwords and change
// the sensitive properties of which users, who may assign directory roles
// and app roles, what Application.ReadWrite.OwnedBy reaches, and what
// members and guests may read by default. Each decision is a pure function
// of plain inputs (the caller, the target's directory roles, the tenant's
// authorization policy) that names the rule that decided and why; the
// directory loads those inputs and enforces the answer.
package authz

import (
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/caller"
)

// Decision is the outcome of one rule.
type Decision struct {
	Allowed bool
	Rule    string // the rule that decided, e.g. "user.password"
	Reason  string // why, for the caller and the log
}

func allow(rule, reason string) Decision { return Decision{Allowed: true, Rule: rule, Reason: reason} }
func deny(rule, reason string) Decision  { return Decision{Rule: rule, Reason: reason} }

// Directory role template ids, Entra's own.
const (
	GlobalAdministrator                   = "62e90394-69f5-4237-9190-012177145e10"
	PrivilegedRoleAdministrator           = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	PrivilegedAuthenticationAdministrator = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
	UserAdministrator                     = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	AuthenticationAdministrator           = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
	HelpdeskAdministrator                 = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	PasswordAdministrator                 = "966707d0-3269-4727-9be2-8c3a10f19b9d"
	GroupsAdministrator                   = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
	ApplicationAdministrator              = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	CloudApplicationAdministrator         = "158c047a-c907-4556-b7ef-446551a6b5f7"
	SecurityAdministrator                 = "194ae4cb-b126-40b2-bd5b-6091b380977d"
	GuestInviter                          = "95e79109-95c0-4d8e-aee3-d01accf2d47b"
	AuthenticationPolicyAdministrator     = "0526716b-113d-4c15-b2c8-68e3c22b9f80"
	ExternalIDUserFlowAdministrator       = "6e591065-9bad-43ed-90f3-e9424366d2f0"
	DirectoryReaders                      = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
	GlobalReader                          = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
	MessageCenterReader                   = "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b"
	ReportsReader                         = "4a5d8f65-41da-4de4-8968-e035b65339cf"
	SecurityReader                        = "5d6b6bb7-de71-4623-b4af-96380a352509"
)

// ConsentAdministrators are the roles that consent to delegated
// permissions for a whole organization (admin consent), as Entra's
// documentation names them; app roles, Microsoft Graph's above all, are
// AssignAppRole's decision.
var ConsentAdministrators = []string{GlobalAdministrator, PrivilegedRoleAdministrator, ApplicationAdministrator, CloudApplicationAdministrator}

// Graph permission names the rules check.
const (
	permDirectoryAsUser     = "Directory.AccessAsUser.All"
	permDirectoryReadWrite  = "Directory.ReadWrite.All"
	permUserReadWrite       = "User.ReadWrite.All"
	permPasswordProfile     = "User-PasswordProfile.ReadWrite.All"
	permAppRoleAssignment   = "AppRoleAssignment.ReadWrite.All"
	permApplicationAll      = "Application.ReadWrite.All"
	permApplicationOwnedBy  = "Application.ReadWrite.OwnedBy"
	permRoleManagementWrite = "RoleManagement.ReadWrite.Directory"
)

// permitted is where the assignment rules start: an application is decided
// by whether it holds perm; a signed-in user's token needs perm or also (as
// a delegated scope), and then its user's roles decide (decided false).
func permitted(rule string, c caller.Caller, perm, also string) (d Decision, decided bool) {
	switch {
	case c.AppOnly && c.HasPermission(perm):
		return allow(rule, "the application holds "+perm), true
	case c.AppOnly:
		return deny(rule, "the application needs "+perm), true
	case !c.HasPermission(perm, also):
		return deny(rule, "the token lacks "+perm+" or "+also), true
	}
	return Decision{}, false
}

// AssignDirectoryRole decides whether c may assign or remove a directory
// role. Only a Privileged Role Administrator or a Global Administrator
// assigns roles, so no other administrator can raise themselves by
// assigning a role they could not otherwise reach; an application needs
// RoleManagement.ReadWrite.Directory.
func AssignDirectoryRole(c caller.Caller) Decision {
	const rule = "role.assign"
	if d, decided := permitted(rule, c, permRoleManagementWrite, permDirectoryAsUser); decided {
		return d
	}
	if c.HasRole(GlobalAdministrator, PrivilegedRoleAdministrator) {
		return allow(rule, "a Privileged Role Administrator or Global Administrator assigns roles")
	}
	return deny(rule, "only a Privileged Role Administrator or Global Administrator assigns directory roles")
}

// ManageRoleAssignableGroup decides a change to a group that can hold
// directory roles (creating one, its properties, members or owners):
// whoever changes its membership hands out its roles, so it takes what
// assigning roles takes.
func ManageRoleAssignableGroup(c caller.Caller) Decision {
	d := AssignDirectoryRole(c)
	d.Rule = "group.roleAssignable"
	return d
}

// AppRoleGrant is a grant or revocation of an app role of a resource
// service principal.
type AppRoleGrant struct {
	// ResourceIsGraph: the resource is Microsoft Graph, whose app roles are
	// directory permissions.
	ResourceIsGraph bool
	// ResourceOwners are the object ids of the resource service
	// principal's owners.
	ResourceOwners []string
	// ToApplication: the principal is a service principal (granting an
	// application permission), not a user or group.
	ToApplication bool
}

// AssignAppRole decides whether c may grant or revoke an app role of a
// resource service principal. Application.ReadWrite.All is not enough, as in
// Graph: an app that could grant app roles could grant itself any
// permission. Granting Microsoft Graph's own app roles to a principal is
// granting directory permissions, so a delegated caller needs a Privileged
// Role Administrator or Global Administrator for it. An owner of an
// enterprise application (its service principal) assigns users and groups,
// guests too, to it without an administrator role, as in Entra; granting an
// application permission to another application stays an administrator's.
func AssignAppRole(c caller.Caller, g AppRoleGrant) Decision {
	const rule = "appRole.assign"
	if d, decided := permitted(rule, c, permAppRoleAssignment, permDirectoryAsUser); decided {
		return d
	}
	if c.HasRole(GlobalAdministrator, PrivilegedRoleAdministrator) {
		return allow(rule, "a Privileged Role Administrator or Global Administrator grants any app role")
	}
	if g.ResourceIsGraph {
		return deny(rule, "only a Privileged Role Administrator or Global Administrator grants Microsoft Graph's app roles")
	}
	if c.HasRole(ApplicationAdministrator, CloudApplicationAdministrator) {
		return allow(rule, "an Application or Cloud Application Administrator grants roles of other APIs")
	}
	if slices.Contains(g.ResourceOwners, c.ObjectID) && c.ObjectID != "" {
		if g.ToApplication {
			return deny(rule, "an owner of the application assigns users and groups to it, not permissions to other applications")
		}
		return allow(rule, "an owner of the application assigns users and groups to it")
	}
	return deny(rule, "granting app roles needs an application administrator role or ownership of the application")
}

// ManageApplication decides whether c may change (or, with create, register)
// an application or service principal whose owners are given. An app holding
// only Application.ReadWrite.OwnedBy reaches the apps it owns, and owns what
// it creates. A signed-in user manages what they own, as in Entra, and an
// application administrator everything.
func ManageApplication(c caller.Caller, owners []string, create bool) Decision {
	const rule = "application.manage"
	if !c.AppOnly {
		switch {
		case c.HasRole(GlobalAdministrator, ApplicationAdministrator, CloudApplicationAdministrator):
			return allow(rule, "an application administrator manages every application")
		case create:
			return deny(rule, "registering applications needs an application administrator role")
		case slices.Contains(owners, c.ObjectID):
			return allow(rule, "the signed-in user owns the application")
		}
		return deny(rule, "managing an application needs an application administrator role or its ownership")
	}
	switch {
	case c.HasPermission(permApplicationAll):
		return allow(rule, "the application holds "+permApplicationAll)
	case !c.HasPermission(permApplicationOwnedBy):
		return deny(rule, "managing applications needs "+permApplicationAll+" or "+permApplicationOwnedBy)
	case create:
		return allow(rule, permApplicationOwnedBy+" registers applications it then owns")
	case slices.Contains(owners, c.ObjectID):
		return allow(rule, "the calling application owns this one")
	}
	return deny(rule, permApplicationOwnedBy+" reaches only applications the caller owns")
}
