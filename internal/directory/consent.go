package directory

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// KindPermissionGrant is a delegated permission grant (Graph oauth2PermissionGrant).
const KindPermissionGrant = "oauth2PermissionGrant"

// DelegatedPermission is a permission an application may exercise on behalf
// of a signed-in user. AdminOnly ones need an administrator's consent.
type DelegatedPermission struct {
	ID, Value, Description string
	AdminOnly              bool
}

// DelegatedPermissions are the delegated permissions of the Graph API, with
// Microsoft Graph's ids, and the OpenID Connect scopes users consent to.
var DelegatedPermissions = []DelegatedPermission{
	{"37f7f235-527c-4136-accd-4a02d197296e", "openid", "Sign you in", false},
	{"14dad69e-099b-42c9-810b-d002981feec1", "profile", "View your basic profile", false},
	{"64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "email", "View your email address", false},
	{"7427e0e9-2fba-42fe-b0c0-848c9e6a8182", "offline_access", "Maintain access to data you have given it access to", false},
	{"e1fe6dd8-ba31-4d61-89e7-88639da4683d", "User.Read", "Sign in and read your profile", false},
	{"b4e74841-8e56-480b-be8b-910348b18b4c", "User.ReadWrite", "Read and update your profile", false},
	{"b340eb25-3456-403f-be2f-af7a0d370277", "User.ReadBasic.All", "Read all users' basic profiles", false},
	{"a154be20-db9c-4678-8ab7-66f6cc099a59", "User.Read.All", "Read all users' full profiles", true},
	{"204e0828-b5ca-4ad8-b9f3-f32a958e7cc4", "User.ReadWrite.All", "Read and write all users' full profiles", true},
	{"63dd7cd9-b489-4adf-a28c-ac38b9a0f962", "User.Invite.All", "Invite guest users to the organization", true},
	{"5f8c59db-677d-491f-a6b8-5f174b11ec1d", "Group.Read.All", "Read all groups", true},
	{"4e46008b-f24c-477d-8fff-7bb4ec7aafe0", "Group.ReadWrite.All", "Read and write all groups", true},
	{"06da0dbc-49e2-44d2-8312-53f166ab848a", "Directory.Read.All", "Read directory data", true},
	{"0e263e50-5827-48a4-b97c-d940288653c7", "Directory.AccessAsUser.All", "Access the directory as you", true},
	{"84bccea3-f856-4a8a-967b-dbe0a3d53a64", "AppRoleAssignment.ReadWrite.All", "Manage app permission grants and app role assignments", true},
	{"e4c9e354-4dc5-45b8-9e7c-e1393b0b1a20", "AuditLog.Read.All", "Read audit log data", true},
	{"f81125ac-d3b7-4573-a3b2-7099cc39df9e", "GroupMember.ReadWrite.All", "Read and write group memberships", true},
	{"572fea84-0151-49b2-9301-11cb16974376", "Policy.Read.All", "Read your organization's policies", true},
	{"b27add92-efb2-4f16-84f5-8108ba77985c", "Policy.ReadWrite.ApplicationConfiguration", "Read and write your organization's application configuration policies", true},
	{"edb72de9-4252-4d03-a925-451deef99db7", "Policy.ReadWrite.AuthenticationFlows", "Read and write authentication flow policies", true},
	{"7e823077-d88e-468f-a337-e18f1f0e6c7c", "Policy.ReadWrite.AuthenticationMethod", "Read and write authentication method policies", true},
	{"43781733-b5a7-4d1b-98f4-e8edff23e1a9", "IdentityProvider.Read.All", "Read identity providers", true},
	{"f13ce604-1677-429f-90bd-8a10b9f01325", "IdentityProvider.ReadWrite.All", "Read and write identity providers", true},
	{"1f6b61c5-2f65-4135-9c9f-31c0f8d32b52", "UserAuthenticationMethod.Read", "Read your authentication methods", true},
	{"48971fc1-70d7-4245-af77-0beb29b53ee2", "UserAuthenticationMethod.ReadWrite", "Read and write your authentication methods", true},
	{"aec28ec7-4d02-4e8c-b864-50163aea77eb", "UserAuthenticationMethod.Read.All", "Read all users' authentication methods", true},
	{"b7887744-6746-4312-813d-72daeaee7e2d", "UserAuthenticationMethod.ReadWrite.All", "Read and write all users' authentication methods", true},
	{"0b2a744c-2abf-4f1e-ad7e-17a087e2be99", "Policy.ReadWrite.SecurityDefaults", "Read and write your organization's security defaults policy", true},
	{"ad902697-1014-4ef5-81ef-2b4301988e8c", "Policy.ReadWrite.ConditionalAccess", "Read and write your organization's conditional access policies", true},
	{"014b43d0-6ed4-4fc6-84dc-4b6f7bae7d85", "Policy.ReadWrite.CrossTenantAccess", "Read and write your organization's cross tenant access policies", true},
	{"81594d25-e88e-49cf-ac8c-fecbff49f994", "CrossTenantInformation.ReadBasic.All", "Read cross-tenant basic information", true},
}

// OpenIDScopes are the delegated permissions that concern sign-in itself, not
// the API: consent covers them, access tokens do not carry them.
var OpenIDScopes = []string{"openid", "profile", "email", "offline_access"}

func delegatedScopes() []any {
	out := make([]any, 0, len(DelegatedPermissions))
	for _, p := range DelegatedPermissions {
		typ := "User"
		if p.AdminOnly {
			typ = "Admin"
		}
		out = append(out, map[string]any{"id": p.ID, "value": p.Value, "type": typ, "isEnabled": true,
			"adminConsentDisplayName": p.Description, "userConsentDisplayName": p.Description})
	}
	return out
}

// ScopeName reduces a requested scope to a permission name: resource
// prefixes ("https://…/User.Read") are dropped, as the API has one resource.
func ScopeName(scope string) string {
	if i := strings.LastIndex(scope, "/"); i >= 0 {
		return scope[i+1:]
	}
	return scope
}

func findDelegated(value string) (DelegatedPermission, bool) {
	for _, p := range DelegatedPermissions {
		if strings.EqualFold(p.Value, value) {
			return p, true
		}
	}
	return DelegatedPermission{}, false
}

var permissionGrantSpec = (&kindSpec{
	kind: KindPermissionGrant, typeName: "oAuth2PermissionGrant", resource: "OAuth2PermissionGrant",
	props: map[string]prop{
		"id":          ro(tString),
		"clientId":    {typ: tGUID},
		"consentType": enum("AllPrincipals", "Principal"),
		"principalId": {typ: tGUID},
		"resourceId":  {typ: tGUID},
		"scope":       text(4000),
	},
	schema: &odata.Schema{Resource: "OAuth2PermissionGrant", Properties: map[string]odata.Property{
		"clientId":    {Name: "clientId", Type: odata.TypeString, Ops: ops("eq")},
		"principalId": {Name: "principalId", Type: odata.TypeString, Ops: ops("eq")},
		"resourceId":  {Name: "resourceId", Type: odata.TypeString, Ops: ops("eq")},
		"consentType": {Name: "consentType", Type: odata.TypeString, Ops: ops("eq")},
	}},
}).init()

// grantsFor reads the client's grants that hold for principalID: the one
// for all users and the principal's own (with principalID "", only the
// first). It asks for those alone: reading the client's grants and picking
// read only the first 999, so past that many users the rest were never
// found, and their consent, written again, would be a duplicate.
func grantsFor(ctx context.Context, tx store.Tx, tenantID, clientSPID, principalID string) ([]Object, error) {
	who := eqFilter("consentType", "AllPrincipals")
	if principalID != "" {
		who = odata.Logical{Op: "or", Left: who, Right: eqFilter("principalId", principalID)}
	}
	q := store.Query{Schema: permissionGrantSpec.schema, Filter: odata.Logical{Op: "and", Left: eqFilter("clientId", clientSPID), Right: who}}
	return every(q, func(q store.Query) (store.Page, error) { return tx.ListObjects(ctx, tenantID, KindPermissionGrant, q) })
}

// grantedTo is the union of the scopes consented for a client: for this user,
// and for all users of the tenant.
func grantedTo(grants []Object, userID string) []string {
	var out []string
	for _, g := range grants {
		if g.Doc["consentType"] == "AllPrincipals" || str(g.Doc, "principalId") == userID {
			for _, s := range strings.Fields(str(g.Doc, "scope")) {
				if !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// GrantedScopes lists the delegated permissions a user may let an application use:
// those granted, and those a first-party application is preauthorized for.
func (s *Service) GrantedScopes(ctx context.Context, tenantID, userID, appID string) ([]string, error) {
	var out []string
	err := s.st.View(ctx, func(tx store.Tx) error {
		sp, err := tx.GetObjectByAppID(ctx, tenantID, KindServicePrincipal, appID)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		grants, err := grantsFor(ctx, tx, tenantID, sp.ID, userID)
		out = grantedTo(grants, userID)
		return err
	})
	for _, p := range preconsented(appID) {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, err
}

// MissingConsent returns the requested permissions the user has not yet
// consented to for the application. Unknown scopes are refused; those a
// first-party application is preauthorized for are never missing.
func (s *Service) MissingConsent(ctx context.Context, tenantID, userID, appID string, scopes []string) ([]DelegatedPermission, error) {
	wanted, err := resolveScopes(scopes)
	if err != nil {
		return nil, err
	}
	granted, err := s.GrantedScopes(ctx, tenantID, userID, appID)
	if err != nil {
		return nil, err
	}
	var missing []DelegatedPermission
	for _, p := range wanted {
		if !slices.ContainsFunc(granted, func(g string) bool { return strings.EqualFold(g, p.Value) }) {
			missing = append(missing, p)
		}
	}
	return missing, nil
}

func resolveScopes(scopes []string) ([]DelegatedPermission, error) {
	var out []DelegatedPermission
	for _, sc := range scopes {
		name := ScopeName(sc)
		if name == ".default" {
			continue
		}
		p, ok := findDelegated(name)
		if !ok {
			return nil, usererr.WithCode(usererr.Invalid, "invalid_scope", "The scope '%s' does not exist.", sc)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// ErrAdminConsentRequired: a user asked to consent to a permission only an
// administrator may grant.
var ErrAdminConsentRequired = usererr.New(usererr.Forbidden, "This application needs permission to access resources in your organization that only an admin can grant. Ask an admin to grant permission to this app before you can use it.")

// GrantConsent records a user's consent to delegated permissions for an
// application, creating its service principal in the tenant if needed.
// Permissions that need an administrator's consent are granted only to a
// Global Administrator or an Application Administrator, and other users may
// consent only while the tenant's authorizationPolicy allows user consent.
func (s *Service) GrantConsent(ctx context.Context, tenantID, userID, appID string, scopes []string) error {
	ctx = actingUser(ctx, tenantID, userID)
	wanted, err := resolveScopes(scopes)
	if err != nil {
		return err
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		if err := mayConsent(ctx, tx, tenantID, userID, wanted); err != nil {
			return err
		}
		sp, err := s.ensureServicePrincipal(ctx, tx, tenantID, appID)
		if err != nil {
			return err
		}
		return s.upsertGrant(ctx, tx, tenantID, sp, "Principal", userID, wanted)
	})
}

// CheckUserConsent tells, before the user is asked, whether GrantConsent
// would accept their consent to scopes: nil, or ErrAdminConsentRequired or
// ErrUserConsentDisabled, so the pages say an administrator must approve
// rather than offer a consent that would be refused.
func (s *Service) CheckUserConsent(ctx context.Context, tenantID, userID string, scopes []string) error {
	wanted, err := resolveScopes(scopes)
	if err != nil {
		return err
	}
	return s.st.View(ctx, func(tx store.Tx) error {
		return mayConsent(ctx, tx, tenantID, userID, wanted)
	})
}

// mayConsent reads what userConsent decides on.
func mayConsent(ctx context.Context, tx store.Tx, tenantID, userID string, wanted []DelegatedPermission) error {
	admin, err := holdsRole(ctx, tx, tenantID, userID, RoleGlobalAdministrator, RoleApplicationAdministrator)
	if err != nil || admin {
		return err // an administrator's consent does not depend on the policy
	}
	policy, err := authorizationPolicy(ctx, tx, tenantID)
	if err != nil {
		return err
	}
	return userConsent(false, userConsentAllowed(policy.Doc), wanted)
}

// userConsent decides whether a user may consent to permissions for
// themselves: a Global or Application Administrator (admin) always; anyone
// else only to permissions that need no administrator, and only while the
// tenant's authorization policy lets users consent (allowed).
func userConsent(admin, allowed bool, wanted []DelegatedPermission) error {
	switch {
	case admin:
		return nil
	case slices.ContainsFunc(wanted, func(p DelegatedPermission) bool { return p.AdminOnly }):
		return ErrAdminConsentRequired
	case !allowed:
		return ErrUserConsentDisabled
	}
	return nil
}

// upsertGrant adds permissions to the application's grant of a consent type
// (for one principal, or AllPrincipals with principalID ""), creating the
// grant on the tenant's Graph principal when there is none.
func (s *Service) upsertGrant(ctx context.Context, tx store.Tx, tenantID string, sp Object, consentType, principalID string, wanted []DelegatedPermission) error {
	// One grant per client and principal, found by reading: under the lock.
	if err := tx.LockTenant(ctx, tenantID); err != nil {
		return err
	}
	grants, err := grantsFor(ctx, tx, tenantID, sp.ID, principalID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(grants, func(g Object) bool {
		return g.Doc["consentType"] == consentType && str(g.Doc, "principalId") == principalID
	})
	var scope []string
	if i >= 0 {
		scope = strings.Fields(str(grants[i].Doc, "scope"))
	}
	for _, p := range wanted {
		if !slices.Contains(scope, p.Value) {
			scope = append(scope, p.Value)
		}
	}
	note(tx, tenantID, consentRecord(sp, consentType, strings.Join(scope, " ")))
	if i >= 0 {
		next := merge(grants[i].Doc, nil)
		next["scope"] = strings.Join(scope, " ")
		_, err := s.replace(ctx, tx, tenantID, grants[i], next)
		return err
	}
	graph, err := tx.GetObjectByAppID(ctx, tenantID, KindServicePrincipal, GraphAppID)
	if err != nil {
		return err
	}
	grant := Doc{"id": s.newID(), "clientId": sp.ID, "consentType": consentType, "resourceId": graph.ID, "scope": strings.Join(scope, " ")}
	if principalID != "" {
		grant["principalId"] = principalID
	}
	_, err = s.insert(ctx, tx, tenantID, KindPermissionGrant, grant)
	return err
}

// ensureServicePrincipal returns the application's service principal in the
// tenant, creating it from the registration when consent is first given.
func (s *Service) ensureServicePrincipal(ctx context.Context, tx store.Tx, tenantID, appID string) (Object, error) {
	o, err := tx.GetObjectByAppID(ctx, tenantID, KindServicePrincipal, appID)
	if err == nil {
		return toObject(o)
	}
	if !isNotFound(err) {
		return Object{}, err
	}
	app, home, err := s.appFor(ctx, tx, tenantID, appID)
	if err != nil {
		return Object{}, err
	}
	// A multitenant application's principal names the tenant that owns it.
	return s.insertServicePrincipal(ctx, tx, tenantID, app.Doc, Doc{}, home)
}

// holdsRole reports whether a principal holds any of the roles tenant-wide.
func holdsRole(ctx context.Context, tx store.Tx, tenantID, principalID string, roles ...string) (bool, error) {
	as, err := roleAssignmentsWhere(ctx, tx, tenantID, "principalId", principalID)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(as, func(a Object) bool { return slices.Contains(roles, str(a.Doc, "roleDefinitionId")) }), nil
}

// DirectoryRolesOf lists the ids of the directory roles a principal holds.
func (s *Service) DirectoryRolesOf(ctx context.Context, tenantID, principalID string) ([]string, error) {
	var out []string
	err := s.st.View(ctx, func(tx store.Tx) error {
		as, err := roleAssignmentsWhere(ctx, tx, tenantID, "principalId", principalID)
		for _, a := range as {
			out = append(out, str(a.Doc, "roleDefinitionId"))
		}
		return err
	})
	return out, err
}

// CreatePermissionGrant creates a grant from a POST /oauth2PermissionGrants body.
func (s *Service) CreatePermissionGrant(ctx context.Context, tenantID string, body Doc) (Object, error) {
	d, err := permissionGrantSpec.normalize(body)
	if err != nil {
		return Object{}, err
	}
	for _, req := range []string{"clientId", "consentType", "resourceId", "scope"} {
		if d[req] == nil {
			return Object{}, usererr.New(usererr.Invalid, "Property '%s' is required when creating the resource.", req)
		}
	}
	if (d["consentType"] == "Principal") != (d["principalId"] != nil) {
		return Object{}, usererr.New(usererr.Invalid, "principalId is required for consentType Principal and not allowed for AllPrincipals.")
	}
	if _, err := resolveScopes(strings.Fields(str(d, "scope"))); err != nil {
		return Object{}, err
	}
	var out Object
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := s.load(ctx, tx, tenantID, KindServicePrincipal, str(d, "clientId")); err != nil {
			return err
		}
		resource, err := s.load(ctx, tx, tenantID, KindServicePrincipal, str(d, "resourceId"))
		if err != nil {
			return err
		}
		if str(resource.Doc, "appId") != GraphAppID {
			return usererr.New(usererr.Invalid, "Delegated permissions can be granted only on the Microsoft Graph service principal.")
		}
		if p := str(d, "principalId"); p != "" {
			if _, err := s.load(ctx, tx, tenantID, KindUser, p); err != nil {
				return err
			}
		}
		// A client holds one grant per resource and principal (or one for
		// all principals), as in Entra: a second is refused, not merged,
		// and the check reads under the lock so two at once cannot both pass.
		if err := tx.LockTenant(ctx, tenantID); err != nil {
			return err
		}
		same := odata.Logical{Op: "and", Left: eqFilter("clientId", str(d, "clientId")), Right: eqFilter("consentType", str(d, "consentType"))}
		grants, err := every(store.Query{Schema: permissionGrantSpec.schema, Filter: same}, func(q store.Query) (store.Page, error) {
			return tx.ListObjects(ctx, tenantID, KindPermissionGrant, q)
		})
		if err != nil {
			return err
		}
		if slices.ContainsFunc(grants, func(g Object) bool {
			return str(g.Doc, "resourceId") == str(d, "resourceId") && str(g.Doc, "principalId") == str(d, "principalId")
		}) {
			return usererr.New(usererr.Conflict, "Permission entry already exists.")
		}
		d["id"] = s.newID()
		out, err = s.insert(ctx, tx, tenantID, KindPermissionGrant, d)
		return err
	})
	return out, err
}

// UpdatePermissionGrant applies PATCH /oauth2PermissionGrants/{id} (scope only).
func (s *Service) UpdatePermissionGrant(ctx context.Context, tenantID, id string, body Doc, ifMatch int64) error {
	patch, err := permissionGrantSpec.normalize(body)
	if err != nil {
		return err
	}
	for k := range patch {
		if k != "scope" {
			return usererr.New(usererr.Invalid, "Only 'scope' can be changed on a permission grant.")
		}
	}
	if _, err := resolveScopes(strings.Fields(str(patch, "scope"))); err != nil {
		return err
	}
	return s.patch(ctx, tenantID, KindPermissionGrant, id, ifMatch, patch, func(tx store.Tx, cur Object, next Doc) error {
		// Taking a permission away ends what was issued with it, as
		// deleting the grant does.
		kept := strings.Fields(str(next, "scope"))
		for _, had := range strings.Fields(str(cur.Doc, "scope")) {
			if !slices.Contains(kept, had) {
				return s.revokeGrant(ctx, tx, tenantID, cur.Doc)
			}
		}
		return nil
	}, nil)
}
