package directory

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// A signed-in user reads the directory within Entra's default permissions
// for members and guests, as the tenant's authorizationPolicy sets them
// (authz.MayRead), whatever scopes the token carries. Every read of
// directory objects asks here first; applications and administrators are
// not restricted and cost no extra read.

// viewer is who reads, and how much.
type viewer struct {
	level authz.Level
	self  string // the signed-in user's object id
}

// viewerOf works out the request's viewer inside tx.
func viewerOf(ctx context.Context, tx store.Tx, tenantID string) (viewer, error) {
	c, ok := caller.From(ctx)
	if !ok || authz.Unrestricted(c) {
		return viewer{level: authz.ReadAll, self: c.ObjectID}, nil
	}
	userType := ""
	switch u, err := tx.GetObject(ctx, tenantID, KindUser, c.ObjectID); {
	case err == nil:
		d, err := toObject(u)
		if err != nil {
			return viewer{}, err
		}
		userType = str(d.Doc, "userType")
	case !isNotFound(err):
		return viewer{}, err
	default:
		// A token of a user who is gone reads nothing but itself.
		return viewer{level: authz.ReadRestricted, self: c.ObjectID}, nil
	}
	policy, err := authorizationPolicy(ctx, tx, tenantID)
	if err != nil {
		return viewer{}, err
	}
	readOthers := mapOf(policy.Doc["defaultUserRolePermissions"])["allowedToReadOtherUsers"] != false
	p := authz.Policy{GuestUserRoleID: str(policy.Doc, "guestUserRoleId"), AllowedToReadOtherUsers: readOthers}
	return viewer{level: authz.ReadLevelOf(c, userType, p), self: c.ObjectID}, nil
}

// areaOf is the part of the directory an object kind belongs to.
func areaOf(kind string) authz.Area {
	switch kind {
	case KindUser:
		return authz.AreaUsers
	case KindGroup:
		return authz.AreaGroups
	case KindApplication, KindServicePrincipal, KindAppRoleAssign:
		return authz.AreaApps
	case KindRoleAssignment:
		return authz.AreaRoleAssignments
	case KindPermissionGrant:
		return authz.AreaGrants
	case KindAuthorizationPolicy:
		return authz.AreaPolicies
	case KindOrganization:
		return authz.AreaOrganization
	}
	return authz.AreaNone
}

// mayRead decides one read for the request's caller and returns the viewer
// for trimming what is shown.
func mayRead(ctx context.Context, tx store.Tx, tenantID string, r func(v viewer) authz.Read) (viewer, error) {
	if r(viewer{}).Area == authz.AreaNone { // e.g. branding: no default restricts it, so no reads
		return viewer{level: authz.ReadAll}, nil
	}
	v, err := viewerOf(ctx, tx, tenantID)
	if err != nil {
		return v, err
	}
	return v, enforce(authz.MayRead(v.level, r(v)))
}

// listing is the read of a collection of a kind (lists, filters, counts, delta).
func listing(kind string) func(viewer) authz.Read {
	return func(viewer) authz.Read { return authz.Read{Area: areaOf(kind), List: true} }
}

// trim keeps only the properties v may see of each object.
func (v viewer) trim(objs []Object) {
	for _, o := range objs {
		keep := authz.VisibleProperties(v.level, areaOf(o.Kind), o.ID == v.self)
		if keep == nil {
			continue
		}
		for name := range o.Doc {
			if !slices.Contains(keep, name) {
				delete(o.Doc, name)
			}
		}
	}
}

// checkObjectRead decides reading one object the URL named by key, and trims it.
func checkObjectRead(ctx context.Context, tx store.Tx, tenantID, key string, obj Object) error {
	v, err := mayRead(ctx, tx, tenantID, func(v viewer) authz.Read {
		self := obj.ID == v.self
		// Naming another user by anything but its id is a search.
		return authz.Read{Area: areaOf(obj.Kind), Self: self, List: !self && !strings.EqualFold(key, obj.ID)}
	})
	if err == nil {
		v.trim([]Object{obj})
	}
	return err
}

// mayReadArea decides whether the request's caller may read an area of
// the directory at all, for what is no stored directory object (role
// definitions, policies).
func mayReadArea(ctx context.Context, tx store.Tx, tenantID string, area authz.Area) error {
	_, err := mayRead(ctx, tx, tenantID, func(viewer) authz.Read { return authz.Read{Area: area, List: true} })
	return err
}
