package directory

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// KindAuthorizationPolicy is the tenant's authorizationPolicy singleton.
const KindAuthorizationPolicy = "authorizationPolicy"

const authorizationPolicyID = "authorizationPolicy"

// Role template ids a guest user may get (authorizationPolicy.guestUserRoleId).
const (
	GuestRoleMember     = authz.GuestSameAsMembers
	GuestRoleDefault    = authz.GuestLimited
	GuestRoleRestricted = authz.GuestRestricted
)

// UserConsentLowRisk is the permission grant policy that lets users consent
// to permissions that do not need an administrator.
const UserConsentLowRisk = "managePermissionGrantsForSelf.microsoft-user-default-low"

var authorizationPolicySpec = (&kindSpec{
	kind: KindAuthorizationPolicy, typeName: "authorizationPolicy", resource: "AuthorizationPolicy",
	props: map[string]prop{
		"id":                                     ro(tString),
		"displayName":                            ro(tString),
		"description":                            ro(tString),
		"allowInvitesFrom":                       enum("none", "adminsAndGuestInviters", "adminsGuestInvitersAndAllMembers", "everyone"),
		"guestUserRoleId":                        enum(GuestRoleMember, GuestRoleDefault, GuestRoleRestricted),
		"allowedToSignUpEmailBasedSubscriptions": {typ: tBool, notNull: true},
		"allowEmailVerifiedUsersToJoinOrganization": {typ: tBool, notNull: true},
		"allowedToUseSSPR":                          {typ: tBool, notNull: true},
		"blockMsolPowerShell":                       {typ: tBool},
		"allowUserConsentForRiskyApps":              {typ: tBool},
		"defaultUserRolePermissions": {typ: tObject, notNull: true, fields: map[string]prop{
			"allowedToCreateApps":                      {typ: tBool, notNull: true},
			"allowedToCreateSecurityGroups":            {typ: tBool, notNull: true},
			"allowedToCreateTenants":                   {typ: tBool},
			"allowedToReadBitlockerKeysForOwnedDevice": {typ: tBool},
			"allowedToReadOtherUsers":                  {typ: tBool, notNull: true},
			"permissionGrantPoliciesAssigned":          {typ: tStringList, maxItems: 20},
		}},
	},
}).init()

// defaultAuthorizationPolicy is the policy of a tenant nobody has changed.
func defaultAuthorizationPolicy() Doc {
	return Doc{
		"id": authorizationPolicyID, "displayName": "Authorization Policy",
		"description":      "Used to manage authorization related settings across the company.",
		"allowInvitesFrom": "everyone", "guestUserRoleId": GuestRoleDefault,
		"allowedToSignUpEmailBasedSubscriptions": true, "allowEmailVerifiedUsersToJoinOrganization": false,
		"allowedToUseSSPR": true, "blockMsolPowerShell": false, "allowUserConsentForRiskyApps": false,
		"defaultUserRolePermissions": map[string]any{
			"allowedToCreateApps": true, "allowedToCreateSecurityGroups": true, "allowedToCreateTenants": true,
			"allowedToReadBitlockerKeysForOwnedDevice": true, "allowedToReadOtherUsers": true,
			"permissionGrantPoliciesAssigned": []any{UserConsentLowRisk},
		},
	}
}

// AuthorizationPolicy returns the tenant's policy; it always exists.
func (s *Service) AuthorizationPolicy(ctx context.Context, tenantID string) (Object, error) {
	return s.readSingleton(ctx, tenantID, authorizationPolicy)
}

func authorizationPolicy(ctx context.Context, tx store.Tx, tenantID string) (Object, error) {
	return singleton(ctx, tx, tenantID, KindAuthorizationPolicy, authorizationPolicyID, defaultAuthorizationPolicy)
}

// UpdateAuthorizationPolicy applies PATCH /policies/authorizationPolicy; the
// first change stores the policy, which until then is the default.
func (s *Service) UpdateAuthorizationPolicy(ctx context.Context, tenantID string, body Doc) error {
	return s.updateSingleton(ctx, tenantID, authorizationPolicySpec, authorizationPolicy, body, nil)
}

// A singleton is a tenant's one object of a kind (a policy), which reads as
// its default until first changed.
func singleton(ctx context.Context, tx store.Tx, tenantID, kind, id string, defaults func() Doc) (Object, error) {
	o, err := tx.GetObject(ctx, tenantID, kind, id)
	if isNotFound(err) {
		return Object{Kind: kind, ID: id, Doc: defaults()}, nil
	}
	if err != nil {
		return Object{}, err
	}
	return toObject(o)
}

func (s *Service) readSingleton(ctx context.Context, tenantID string, read func(context.Context, store.Tx, string) (Object, error)) (Object, error) {
	var out Object
	err := s.st.View(ctx, func(tx store.Tx) error {
		if err := mayReadArea(ctx, tx, tenantID, authz.AreaPolicies); err != nil {
			return err
		}
		var err error
		out, err = read(ctx, tx, tenantID)
		return err
	})
	return out, err
}

// updateSingleton applies a PATCH body to a singleton; the first change
// stores it. check, when set, judges the whole document as it would be.
func (s *Service) updateSingleton(ctx context.Context, tenantID string, spec *kindSpec, read func(context.Context, store.Tx, string) (Object, error), body Doc, check func(Doc) error) error {
	patch, err := spec.normalize(body)
	if err != nil {
		return err
	}
	return s.updateWithRetry(ctx, 0, func(tx store.Tx) error {
		cur, err := read(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		next := merge(cur.Doc, patch)
		if check != nil {
			if err := check(next); err != nil {
				return err
			}
		}
		if cur.Version == 0 {
			_, err = s.insert(ctx, tx, tenantID, spec.kind, next)
			return err
		}
		_, err = s.replace(ctx, tx, tenantID, cur, next)
		return err
	})
}

// userConsentAllowed reports whether the tenant lets users consent for
// themselves to permissions that need no administrator.
func userConsentAllowed(policy Doc) bool {
	return len(sliceOf(mapOf(policy["defaultUserRolePermissions"])["permissionGrantPoliciesAssigned"])) > 0
}

// ErrUserConsentDisabled: the tenant's administrators turned user consent off.
var ErrUserConsentDisabled = usererr.New(usererr.Forbidden, "Your organization does not allow users to consent to applications. Ask an admin to grant permission to this app before you can use it.")
