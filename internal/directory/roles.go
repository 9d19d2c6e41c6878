package directory

import (
	"context"
	"errors"
	"strings"

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
	RoleGlobalAdministrator      = "62e90394-69f5-4237-9190-012177145e10"
	RoleUserAdministrator        = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	RoleGuestInviter             = "95e79109-95c0-4d8e-aee3-d01accf2d47b"
	RoleSecurityAdministrator    = "194ae4cb-b126-40b2-bd5b-6091b380977d"
	RoleApplicationAdministrator = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	RoleDirectoryReaders         = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
)

// RoleDefinitions are the directory roles every tenant has.
var RoleDefinitions = []RoleDefinition{
	{RoleGlobalAdministrator, "Global Administrator", "Can manage all aspects of the directory and the services that use it.", []string{"microsoft.directory/allEntities/allProperties/allTasks"}},
	{RoleUserAdministrator, "User Administrator", "Can manage all aspects of users and groups, including resetting passwords for limited admins.", []string{"microsoft.directory/users/allProperties/allTasks", "microsoft.directory/groups/allProperties/allTasks"}},
	{RoleGuestInviter, "Guest Inviter", "Can invite guest users independent of the 'members can invite guests' setting.", []string{"microsoft.directory/users/inviteGuest", "microsoft.directory/users/standard/read"}},
	{RoleSecurityAdministrator, "Security Administrator", "Can read security information and reports, and manage configuration in Gatehouse security features.", []string{"microsoft.directory/policies/allProperties/allTasks", "microsoft.directory/crossTenantAccessPolicy/allProperties/allTasks"}},
	{RoleApplicationAdministrator, "Application Administrator", "Can create and manage all aspects of app registrations and enterprise apps.", []string{"microsoft.directory/applications/allProperties/allTasks", "microsoft.directory/servicePrincipals/allProperties/allTasks"}},
	{RoleDirectoryReaders, "Directory Readers", "Can read basic directory information.", []string{"microsoft.directory/users/standard/read", "microsoft.directory/groups/standard/read"}},
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

// Doc renders a role definition as Graph's unifiedRoleDefinition.
func (r RoleDefinition) Doc() Doc {
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

// DirectoryRoleDoc renders a role as Graph's (activated) directoryRole.
func (r RoleDefinition) DirectoryRoleDoc() Doc {
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
