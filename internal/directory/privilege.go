package directory

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// The directory enforces authz's decisions for the caller a request's
// context carries (see internal/caller); work without a caller is the
// system's own and is not restricted. What protects a target is read in the
// transaction that makes the change.

// enforce turns a refusal into Graph's 403 Authorization_RequestDenied,
// with the reason.
func enforce(d authz.Decision) error {
	if d.Allowed {
		return nil
	}
	return usererr.WithCode(usererr.Forbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation: %s.", d.Reason)
}

// checkUserChange decides a change to the user userID ("" for a new one) by
// the request's caller.
func (s *Service) checkUserChange(ctx context.Context, tx store.Tx, tenantID, userID string, change authz.UserChange) error {
	c, ok := caller.From(ctx)
	if !ok {
		return nil
	}
	var target authz.UserTarget
	if userID != "" {
		// Every commit takes the tenant's row to number its changes, so
		// holding it from here on keeps a role assignment or a
		// role-assignable group membership from committing between this
		// decision and the write it allows.
		if err := tx.LockTenant(ctx, tenantID); err != nil {
			return err
		}
		var err error
		if target, err = userTarget(ctx, tx, tenantID, userID); err != nil {
			return err
		}
	}
	return enforce(authz.ChangeUser(c, target, change))
}

// userTarget gathers what protects an account: its directory roles and its
// membership or ownership of role-assignable groups.
func userTarget(ctx context.Context, tx store.Tx, tenantID, userID string) (authz.UserTarget, error) {
	var t authz.UserTarget
	as, err := roleAssignmentsWhere(ctx, tx, tenantID, "principalId", userID)
	if err != nil {
		return t, err
	}
	for _, a := range as {
		t.Roles = append(t.Roles, str(a.Doc, "roleDefinitionId"))
	}
	for _, rel := range []string{RelMembers, RelOwners} {
		groups, err := related(ctx, tx, tenantID, store.Related{ID: userID, Rel: rel, Reverse: true})
		if err != nil {
			return t, err
		}
		t.InRoleAssignableGroup = t.InRoleAssignableGroup || slices.ContainsFunc(groups, func(g Object) bool { return g.Doc["isAssignableToRole"] == true })
	}
	return t, nil
}

// related lists every live object on the other side of a relationship; a
// deleted object has none (its links went with it).
func related(ctx context.Context, tx store.Tx, tenantID string, r store.Related) ([]Object, error) {
	out, err := every(store.Query{}, func(q store.Query) (store.Page, error) { return tx.ListRelated(ctx, tenantID, r, q) })
	if isNotFound(err) {
		return nil, nil
	}
	return out, err
}

// checkRemoval decides deleting, restoring or purging obj.
func (s *Service) checkRemoval(ctx context.Context, tx store.Tx, tenantID string, obj Object) error {
	switch obj.Kind {
	case KindUser:
		return s.checkUserChange(ctx, tx, tenantID, obj.ID, authz.UserChange{Delete: true})
	case KindApplication, KindServicePrincipal:
		return s.checkAppManagement(ctx, tx, tenantID, obj, false)
	case KindRoleAssignment:
		return checkDirectoryRoleChange(ctx)
	case KindGroup:
		return checkGroupChange(ctx, obj.Doc)
	}
	return nil
}

// propertiesOf names the top-level properties of a normalized patch.
func propertiesOf(patch Doc) []string {
	out := make([]string, 0, len(patch))
	for k := range patch {
		out = append(out, k)
	}
	return out
}

// checkDirectoryRoleChange decides an assignment or removal of a directory role.
func checkDirectoryRoleChange(ctx context.Context) error {
	c, ok := caller.From(ctx)
	if !ok {
		return nil
	}
	return enforce(authz.AssignDirectoryRole(c))
}

// checkGroupChange decides a change to a group, which only matters for one
// that can hold directory roles.
func checkGroupChange(ctx context.Context, group Doc) error {
	c, ok := caller.From(ctx)
	if !ok || group["isAssignableToRole"] != true {
		return nil
	}
	return enforce(authz.ManageRoleAssignableGroup(c))
}

// checkGroupMembers decides adding or removing a member of group: its
// owners may, as administrators may.
func checkGroupMembers(ctx context.Context, tx store.Tx, tenantID string, group Object) error {
	c, ok := caller.From(ctx)
	if !ok {
		return nil
	}
	// Held to commit, so an owner removed meanwhile cannot still change
	// the members on the strength of an ownership read before.
	if err := tx.LockTenant(ctx, tenantID); err != nil {
		return err
	}
	owners, err := ownerIDs(ctx, tx, tenantID, group.ID)
	if err != nil {
		return err
	}
	return enforce(authz.ChangeGroupMembers(c, authz.GroupTarget{Owners: owners, RoleAssignable: group.Doc["isAssignableToRole"] == true}))
}

// checkAppRoleChange decides a grant or revocation of an app role of the
// resource service principal to a principal that is an application
// (toApplication) or a user or group.
func checkAppRoleChange(ctx context.Context, tx store.Tx, tenantID string, resource Object, toApplication bool) error {
	c, ok := caller.From(ctx)
	if !ok {
		return nil
	}
	if err := tx.LockTenant(ctx, tenantID); err != nil {
		return err
	}
	owners, err := ownerIDs(ctx, tx, tenantID, resource.ID)
	if err != nil {
		return err
	}
	return enforce(authz.AssignAppRole(c, authz.AppRoleGrant{
		ResourceIsGraph: str(resource.Doc, "appId") == GraphAppID, ResourceOwners: owners, ToApplication: toApplication,
	}))
}

// ownerIDs are the object ids of an object's owners.
func ownerIDs(ctx context.Context, tx store.Tx, tenantID, id string) ([]string, error) {
	objs, err := related(ctx, tx, tenantID, store.Related{ID: id, Rel: RelOwners})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.ID)
	}
	return out, nil
}

// checkAppManagement decides a change to an application or service
// principal (create: registering a new application).
func (s *Service) checkAppManagement(ctx context.Context, tx store.Tx, tenantID string, obj Object, create bool) error {
	c, ok := caller.From(ctx)
	if !ok {
		return nil
	}
	var owners []string
	if !create {
		var err error
		if owners, err = appOwners(ctx, tx, tenantID, obj); err != nil {
			return err
		}
	}
	return enforce(authz.ManageApplication(c, owners, create))
}

// MayManageApplication refuses the request's caller who may not change the
// application or service principal (kind) id, as a change would be refused:
// pages ask it before offering a change.
func (s *Service) MayManageApplication(ctx context.Context, tenantID, kind, id string) error {
	return s.st.View(ctx, func(tx store.Tx) error {
		obj, err := s.load(ctx, tx, tenantID, kind, id)
		if err != nil {
			return err
		}
		return s.checkAppManagement(ctx, tx, tenantID, obj, false)
	})
}

// appOwners are the owners of an application, or of a service principal
// and of its application in this tenant.
func appOwners(ctx context.Context, tx store.Tx, tenantID string, obj Object) ([]string, error) {
	ids := []string{obj.ID}
	if obj.Kind == KindServicePrincipal {
		app, err := tx.GetObjectByAppID(ctx, tenantID, KindApplication, str(obj.Doc, "appId"))
		switch {
		case err == nil:
			ids = append(ids, app.ID)
		case !isNotFound(err):
			return nil, err
		}
	}
	var owners []string
	for _, id := range ids {
		o, err := ownerIDs(ctx, tx, tenantID, id)
		if err != nil {
			return nil, err
		}
		owners = append(owners, o...)
	}
	return owners, nil
}

// addCallerAsOwner makes whoever registers an application or service
// principal its owner, as Graph does: a signed-in user (who may then manage
// it without an administrator role) or an application (so that
// Application.ReadWrite.OwnedBy reaches what it created).
func addCallerAsOwner(ctx context.Context, tx store.Tx, tenantID, objectID string) error {
	c, ok := caller.From(ctx)
	if !ok || strings.TrimSpace(c.ObjectID) == "" {
		return nil
	}
	return tx.AddLink(ctx, tenantID, store.Link{SourceID: objectID, Rel: RelOwners, TargetID: c.ObjectID})
}
