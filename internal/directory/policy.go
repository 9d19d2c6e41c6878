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
	var out Object
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = authorizationPolicy(ctx, tx, tenantID)
		return err
	})
	return out, err
}

func authorizationPolicy(ctx context.Context, tx store.Tx, tenantID string) (Object, error) {
	o, err := tx.GetObject(ctx, tenantID, KindAuthorizationPolicy, authorizationPolicyID)
	if isNotFound(err) {
		return Object{Kind: KindAuthorizationPolicy, ID: authorizationPolicyID, Doc: defaultAuthorizationPolicy()}, nil
	}
	if err != nil {
		return Object{}, err
	}
	return toObject(o)
}

// UpdateAuthorizationPolicy applies PATCH /policies/authorizationPolicy; the
// first change stores the policy, which until then is the default.
func (s *Service) UpdateAuthorizationPolicy(ctx context.Context, tenantID string, body Doc) error {
	patch, err := authorizationPolicySpec.normalize(body)
	if err != nil {
		return err
	}
	return s.updateWithRetry(ctx, 0, func(tx store.Tx) error {
		cur, err := authorizationPolicy(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		if cur.Version == 0 {
			_, err = s.insert(ctx, tx, tenantID, KindAuthorizationPolicy, merge(cur.Doc, patch))
			return err
		}
		_, err = s.replace(ctx, tx, tenantID, cur, merge(cur.Doc, patch))
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
