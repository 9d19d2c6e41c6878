package directory

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// RoleDefinition is a built-in directory role. Its id is Entra's role
// template id, so scripts that assign roles by template id work unchanged.
type RoleDefinition struct {
	ID, DisplayName, Description string
	Actions                      []string
}

// Built-in role template ids.
const (
	RoleGlobalAdministrator      = authz.GlobalAdministrator
	RoleUserAdministrator        = authz.UserAdministrator
	RoleGuestInviter             = authz.GuestInviter
	RoleSecurityAdministrator    = authz.SecurityAdministrator
	RoleApplicationAdministrator = authz.ApplicationAdministrator
	RoleDirectoryReaders         = authz.DirectoryReaders
	// RoleExternalIdentityProviderAdministrator configures the identity
	// providers guests redeem and sign in with.
	RoleExternalIdentityProviderAdministrator = "be2f45a1-457d-42af-a067-6ec1fa63bc45"
)

// RoleDefinitions are the directory roles every tenant has.
var RoleDefinitions = []RoleDefinition{
	{RoleGlobalAdministrator, "Global Administrator", "Can manage all aspects of the directory and the services that use it.", []string{"microsoft.directory/allEntities/allProperties/allTasks"}},
	{authz.PrivilegedRoleAdministrator, "Privileged Role Administrator", "Can manage role assignments in Gatehouse, and all aspects of Privileged Identity Management.", []string{"microsoft.directory/roleAssignments/allProperties/allTasks", "microsoft.directory/roleDefinitions/allProperties/allTasks", "microsoft.directory/servicePrincipals/appRoleAssignedTo/update"}},
	{authz.PrivilegedAuthenticationAdministrator, "Privileged Authentication Administrator", "Can access to view, set and reset authentication method information for any user (admin or non-admin).", []string{"microsoft.directory/users/password/update", "microsoft.directory/users/basic/update", "microsoft.directory/users/disable", "microsoft.directory/users/enable", "microsoft.directory/users/delete", "microsoft.directory/users/restore", "microsoft.directory/users/userPrincipalName/update", "microsoft.directory/users/invalidateAllRefreshTokens"}},
	{RoleUserAdministrator, "User Administrator", "Can manage all aspects of users and groups, including resetting passwords for limited admins.", []string{"microsoft.directory/users/allProperties/allTasks", "microsoft.directory/groups/allProperties/allTasks"}},
	{authz.AuthenticationAdministrator, "Authentication Administrator", "Can access to view, set and reset authentication method information for any non-admin user.", []string{"microsoft.directory/users/password/update", "microsoft.directory/users/basic/update", "microsoft.directory/users/disable", "microsoft.directory/users/enable", "microsoft.directory/users/delete", "microsoft.directory/users/restore", "microsoft.directory/users/userPrincipalName/update", "microsoft.directory/users/invalidateAllRefreshTokens"}},
	{authz.HelpdeskAdministrator, "Helpdesk Administrator", "Can reset passwords for non-administrators and Helpdesk Administrators.", []string{"microsoft.directory/users/password/update", "microsoft.directory/users/invalidateAllRefreshTokens"}},
	{authz.PasswordAdministrator, "Password Administrator", "Can reset passwords for non-administrators and Password Administrators.", []string{"microsoft.directory/users/password/update"}},
	{authz.GroupsAdministrator, "Groups Administrator", "Members of this role can create/manage groups, create/manage groups settings like naming and expiration policies, and view groups activity and audit reports.", []string{"microsoft.directory/groups/allProperties/allTasks"}},
	{RoleGuestInviter, "Guest Inviter", "Can invite guest users independent of the 'members can invite guests' setting.", []string{"microsoft.directory/users/inviteGuest", "microsoft.directory/users/standard/read"}},
	{authz.AuthenticationPolicyAdministrator, "Authentication Policy Administrator", "Can create and manage the authentication methods policy, tenant-wide MFA settings, password protection policy, and verifiable credentials.", []string{"microsoft.directory/authenticationMethodsPolicy/allProperties/allTasks"}},
	{authz.ExternalIDUserFlowAdministrator, "External ID User Flow Administrator", "Can create and manage all aspects of user flows.", []string{"microsoft.directory/b2cUserFlow/allProperties/allTasks"}},
	{RoleSecurityAdministrator, "Security Administrator", "Can read security information and reports, and manage configuration in Gatehouse security features.", []string{"microsoft.directory/policies/allProperties/allTasks", "microsoft.directory/crossTenantAccessPolicy/allProperties/allTasks"}},
	{RoleApplicationAdministrator, "Application Administrator", "Can create and manage all aspects of app registrations and enterprise apps.", []string{"microsoft.directory/applications/allProperties/allTasks", "microsoft.directory/servicePrincipals/allProperties/allTasks"}},
	{authz.CloudApplicationAdministrator, "Cloud Application Administrator", "Can create and manage all aspects of app registrations and enterprise apps except App Proxy.", []string{"microsoft.directory/applications/allProperties/allTasks", "microsoft.directory/servicePrincipals/allProperties/allTasks"}},
	{RoleDirectoryReaders, "Directory Readers", "Can read basic directory information.", []string{"microsoft.directory/users/standard/read", "microsoft.directory/groups/standard/read"}},
	{authz.SecurityReader, "Security Reader", "Can read security information and reports in Gatehouse.", []string{"microsoft.directory/auditLogs/allProperties/read", "microsoft.directory/signInReports/allProperties/read", "microsoft.directory/policies/standard/read"}},
	{authz.GlobalReader, "Global Reader", "Can read everything that a Global Administrator can, but not update anything.", []string{"microsoft.directory/allEntities/allProperties/read"}},
	{authz.MessageCenterReader, "Message Center Reader", "Can read messages and updates for their organization in Message Center only.", []string{"microsoft.office365.messageCenter/messages/read"}},
	{RoleExternalIdentityProviderAdministrator, "External Identity Provider Administrator", "Can configure identity providers for use in direct federation.", []string{"microsoft.directory/domains/federation/update", "microsoft.directory/identityProviders/allProperties/allTasks"}},
	{authz.ReportsReader, "Reports Reader", "Can read sign-in and audit reports.", []string{"microsoft.directory/auditLogs/allProperties/read", "microsoft.directory/signInReports/allProperties/read"}},
}

// FindRole returns a built-in role definition by id.
func FindRole(id string) (RoleDefinition, bool) {
	for _, r := range RoleDefinitions {
		if strings.EqualFold(r.ID, id) {
			return r, true
		}
	}
	return RoleDefinition{}, false
}

// doc renders a role definition as Graph's unifiedRoleDefinition.
func (r RoleDefinition) doc() Doc {
	actions := make([]any, len(r.Actions))
	for i, a := range r.Actions {
		actions[i] = a
	}
	return Doc{
		"id": r.ID, "templateId": r.ID, "displayName": r.DisplayName, "description": r.Description,
		"isBuiltIn": true, "isEnabled": true, "resourceScopes": []any{"/"}, "version": "1",
		"rolePermissions": []any{map[string]any{"allowedResourceActions": actions, "condition": nil}},
	}
}

// directoryRoleDoc renders a role as Graph's (activated) directoryRole.
func (r RoleDefinition) directoryRoleDoc() Doc {
	return Doc{"id": r.ID, "roleTemplateId": r.ID, "displayName": r.DisplayName, "description": r.Description, "deletedDateTime": nil}
}

var roleAssignmentSpec = (&kindSpec{
	kind: KindRoleAssignment, typeName: "unifiedRoleAssignment", resource: "UnifiedRoleAssignment",
	props: map[string]prop{
		"id":               ro(tString),
		"principalId":      {typ: tGUID},
		"roleDefinitionId": {typ: tGUID},
		"directoryScopeId": text(256),
		"appScopeId":       text(256),
		"condition":        ro(tString),
	},
	schema: &odata.Schema{Resource: "UnifiedRoleAssignment", Properties: map[string]odata.Property{
		"principalId":      {Name: "principalId", Type: odata.TypeString, Ops: ops("eq")},
		"roleDefinitionId": {Name: "roleDefinitionId", Type: odata.TypeString, Ops: ops("eq")},
		"directoryScopeId": {Name: "directoryScopeId", Type: odata.TypeString, Ops: ops("eq")},
	}},
}).init()

// errRoleHeld: the principal already holds the role tenant-wide.
var errRoleHeld = usererr.New(usererr.Invalid, "A conflicting object with one or more of the specified property values is present in the directory.")

func roleAssignmentsWhere(ctx context.Context, tx store.Tx, tenantID, prop, value string) ([]Object, error) {
	p, err := tx.ListObjects(ctx, tenantID, KindRoleAssignment, store.Query{Schema: roleAssignmentSpec.schema, Filter: eqFilter(prop, value), Top: 999})
	if err != nil {
		return nil, err
	}
	return toObjects(p.Objects)
}

// AssignRole creates a directory role assignment from a POST
// /roleManagement/directory/roleAssignments body.
func (s *Service) AssignRole(ctx context.Context, tenantID string, body Doc) (Object, error) {
	d, err := roleAssignmentSpec.normalize(body)
	if err != nil {
		return Object{}, err
	}
	for _, req := range []string{"principalId", "roleDefinitionId", "directoryScopeId"} {
		if d[req] == nil {
			return Object{}, usererr.New(usererr.Invalid, "Property '%s' is required when creating the resource.", req)
		}
	}
	var out Object
	err = s.st.Update(ctx, func(tx store.Tx) error {
		out, err = s.assignRole(ctx, tx, tenantID, str(d, "principalId"), str(d, "roleDefinitionId"), str(d, "directoryScopeId"))
		return err
	})
	return out, err
}

func (s *Service) assignRole(ctx context.Context, tx store.Tx, tenantID, principalID, roleID, scope string) (Object, error) {
	if err := checkDirectoryRoleChange(ctx); err != nil {
		return Object{}, err
	}
	role, ok := FindRole(roleID)
	if !ok {
		return Object{}, usererr.New(usererr.Invalid, "The role definition '%s' does not exist.", roleID)
	}
	if scope != "/" {
		return Object{}, usererr.New(usererr.Invalid, "Only the tenant-wide directory scope '/' is supported.")
	}
	principal, err := s.findAny(ctx, tx, tenantID, principalID, []string{KindUser, KindServicePrincipal, KindGroup})
	if err != nil {
		return Object{}, err
	}
	if principal.Kind == KindGroup && principal.Doc["isAssignableToRole"] != true {
		return Object{}, usererr.New(usererr.Invalid, "Only groups created with isAssignableToRole can be assigned directory roles.")
	}
	if err := tx.LockTenant(ctx, tenantID); err != nil { // one assignment per role, checked by reading
		return Object{}, err
	}
	existing, err := roleAssignmentsWhere(ctx, tx, tenantID, "principalId", principal.ID)
	if err != nil {
		return Object{}, err
	}
	for _, a := range existing {
		if str(a.Doc, "roleDefinitionId") == role.ID {
			return Object{}, errRoleHeld
		}
	}
	return s.insert(ctx, tx, tenantID, KindRoleAssignment, Doc{
		"id": s.newID(), "principalId": principal.ID, "roleDefinitionId": role.ID, "directoryScopeId": "/", "appScopeId": nil, "condition": nil,
	})
}

// RoleMembers lists the principals holding a role.
func (s *Service) RoleMembers(ctx context.Context, tenantID, roleID string) ([]Object, error) {
	if _, ok := FindRole(roleID); !ok {
		return nil, notFound(roleID)
	}
	var out []Object
	err := s.st.View(ctx, func(tx store.Tx) error {
		if _, err := mayRead(ctx, tx, tenantID, listing(KindRoleAssignment)); err != nil {
			return err
		}
		as, err := roleAssignmentsWhere(ctx, tx, tenantID, "roleDefinitionId", roleID)
		if err != nil {
			return err
		}
		for _, a := range as {
			o, err := s.findAny(ctx, tx, tenantID, str(a.Doc, "principalId"), []string{KindUser, KindServicePrincipal, KindGroup})
			if err != nil {
				return err
			}
			out = append(out, o)
		}
		return nil
	})
	return out, err
}

// RemoveRoleMember removes a principal's assignment of a role
// (DELETE /directoryRoles/{id}/members/{memberId}/$ref).
func (s *Service) RemoveRoleMember(ctx context.Context, tenantID, roleID, principalID string) error {
	if err := checkDirectoryRoleChange(ctx); err != nil {
		return err
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		as, err := roleAssignmentsWhere(ctx, tx, tenantID, "principalId", principalID)
		if err != nil {
			return err
		}
		for _, a := range as {
			if strings.EqualFold(str(a.Doc, "roleDefinitionId"), roleID) {
				return tx.DeleteObject(ctx, tenantID, KindRoleAssignment, a.ID, 0)
			}
		}
		return notFound(principalID)
	})
}

// AddRoleMember assigns a role tenant-wide (POST /directoryRoles/{id}/members/$ref).
func (s *Service) AddRoleMember(ctx context.Context, tenantID, roleID, principalID string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		_, err := s.assignRole(ctx, tx, tenantID, principalID, roleID, "/")
		if errors.Is(err, errRoleHeld) {
			return usererr.New(usererr.Invalid, "One or more added object references already exist for the following modified properties: 'members'.")
		}
		return err
	})
}
