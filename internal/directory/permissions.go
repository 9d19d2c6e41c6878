package directory

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// GraphAppID is the appId of Microsoft Graph; every tenant has a service
// principal for it whose app roles are the API's application permissions, so
// granting one is an ordinary app role assignment, as in Entra.
const GraphAppID = "00000003-0000-0000-c000-000000000000"

// Permission is one application permission of the Graph API.
type Permission struct {
	ID, Value, Description string
}

// GraphPermissions are the application permissions the management API checks,
// with Microsoft Graph's own ids so existing grant scripts work unchanged.
var GraphPermissions = []Permission{
	{"df021288-bdef-4463-88db-98f22de89214", "User.Read.All", "Read all users' full profiles"},
	{"741f803b-c850-494e-b5df-cde7c675a1ca", "User.ReadWrite.All", "Read and write all users' full profiles"},
	{"09850681-111b-4a89-9bed-3f2cae46d706", "User.Invite.All", "Invite guest users to the organization"},
	{"5b567255-7703-4780-807c-7be8301ae99b", "Group.Read.All", "Read all groups"},
	{"62a82d76-70ea-41e2-9197-370581804d09", "Group.ReadWrite.All", "Read and write all groups"},
	{"9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "Application.Read.All", "Read all applications"},
	{"1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "Application.ReadWrite.All", "Read and write all applications"},
	{"7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Directory.Read.All", "Read directory data"},
	{"19dbc75e-c2e2-444c-a770-ec69d8559fc7", "Directory.ReadWrite.All", "Read and write directory data"},
	{"483bed4a-2ad3-4361-a73b-c83ccdbdc53c", "RoleManagement.Read.Directory", "Read all directory RBAC settings"},
	{"9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8", "RoleManagement.ReadWrite.Directory", "Read and write all directory RBAC settings"},
	{"dbb9058a-0e50-45d7-ae91-66909b5d4664", "Domain.Read.All", "Read domains"},
	{"7e05723c-0bb0-42da-be95-ae9f08a6e53c", "Domain.ReadWrite.All", "Read and write domains"},
	{"498476ce-e0fe-48b0-b801-37ba7e2685c6", "Organization.Read.All", "Read organization information"},
	{"292d869f-3427-49a8-9dab-8c70152b74e9", "Organization.ReadWrite.All", "Read and write organization information"},
	{"246dd0d5-5bd0-4def-940b-0421030a5b68", "Policy.Read.All", "Read your organization's policies"},
	{"338163d7-f101-4c92-94ba-ca46fe52447c", "Policy.ReadWrite.CrossTenantAccess", "Read and write your organization's cross tenant access policies"},
	{"8e8e4742-1d95-4f68-9d56-6ee75648c72a", "DelegatedPermissionGrant.ReadWrite.All", "Manage all delegated permission grants"},
	{"fb221be6-99f2-473f-bd32-01c6a0e9ca3b", "Policy.ReadWrite.Authorization", "Read and write your organization's authorization policy"},
	{"cc117bb9-00cf-4eb8-b580-ea2a878fe8f7", "User-PasswordProfile.ReadWrite.All", "Read and write all password profiles and reset user passwords"},
	{"06b708a9-e830-4db3-a914-8e69da51d44f", "AppRoleAssignment.ReadWrite.All", "Manage app permission grants and app role assignments"},
	{"18a4783c-866b-4cc7-a460-3d5e5662c884", "Application.ReadWrite.OwnedBy", "Manage apps that this app creates or owns"},
	{"be74164b-cff1-491c-8741-e671cb536e13", "Policy.ReadWrite.ApplicationConfiguration", "Read and write your organization's application configuration policies"},
	{"b0afded3-3588-46d8-8b3d-9842eff778da", "AuditLog.Read.All", "Read all audit log data"},
	{"dbaae8cf-10b5-4b86-a4a1-f871c94c6695", "GroupMember.ReadWrite.All", "Read and write all group memberships"},
	{"25f85f3c-f66c-4205-8cd5-de92dd7f0cec", "Policy.ReadWrite.AuthenticationFlows", "Read and write authentication flow policies"},
	{"29c18626-4985-4dcd-85c0-193eef327366", "Policy.ReadWrite.AuthenticationMethod", "Read and write all authentication method policies"},
	{"e321f0bb-e7f7-481e-bb28-e3b0b32d4bd0", "IdentityProvider.Read.All", "Read identity providers"},
	{"90db2b9a-d928-4d33-a4dd-8442ae3d41e4", "IdentityProvider.ReadWrite.All", "Read and write identity providers"},
	{"cac88765-0581-4025-9725-5ebc13f729ee", "CrossTenantInformation.ReadBasic.All", "Read cross-tenant basic information"},
	{"38d9df27-64da-44fd-b7c5-a6fbac20248f", "UserAuthenticationMethod.Read.All", "Read all users' authentication methods"},
	{"50483e42-d915-4231-9639-7fdb7fd190e5", "UserAuthenticationMethod.ReadWrite.All", "Read and write all users' authentication methods"},
	{"1c6e93a6-28e2-4cbb-9f64-1a46a821124d", "Policy.ReadWrite.SecurityDefaults", "Read and write your organization's security defaults policy"},
	{"01c0a623-fc9b-48e9-b794-0756f8e8f067", "Policy.ReadWrite.ConditionalAccess", "Read and write your organization's conditional access policies"},
}

// AutomationPermissions are granted to the automation app made with a tenant.
var AutomationPermissions = []string{
	"User.ReadWrite.All", "Group.ReadWrite.All", "Application.ReadWrite.All",
	"RoleManagement.ReadWrite.Directory", "Directory.Read.All",
	"Domain.ReadWrite.All", "Organization.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All",
	"Policy.Read.All", "Policy.ReadWrite.Authorization", "User-PasswordProfile.ReadWrite.All", "AppRoleAssignment.ReadWrite.All",
	"Policy.ReadWrite.ApplicationConfiguration",
	"AuditLog.Read.All",
	"Policy.ReadWrite.AuthenticationFlows", "Policy.ReadWrite.AuthenticationMethod",
	"IdentityProvider.ReadWrite.All",
	"User.Invite.All",
	"CrossTenantInformation.ReadBasic.All", "Policy.ReadWrite.CrossTenantAccess",
	"UserAuthenticationMethod.ReadWrite.All", "Policy.ReadWrite.SecurityDefaults",
}

func graphAppRoles() []any {
	roles := make([]any, 0, len(GraphPermissions))
	for _, p := range GraphPermissions {
		roles = append(roles, map[string]any{
			"id": p.ID, "value": p.Value, "displayName": p.Description, "description": "Allows the app to " + p.Description + " without a signed-in user.",
			"allowedMemberTypes": []any{"Application"}, "isEnabled": true, "origin": "Application",
		})
	}
	return roles
}

var appRoleAssignmentSpec = (&kindSpec{
	kind: KindAppRoleAssign, typeName: "appRoleAssignment", resource: "AppRoleAssignment",
	props: map[string]prop{
		"id":                   ro(tString),
		"appRoleId":            {typ: tGUID},
		"createdDateTime":      ro(tDateTime),
		"deletedDateTime":      ro(tDateTime),
		"principalDisplayName": ro(tString),
		"principalId":          {typ: tGUID},
		"principalType":        ro(tString),
		"resourceDisplayName":  ro(tString),
		"resourceId":           {typ: tGUID},
	},
	schema: &odata.Schema{Resource: "AppRoleAssignment", Properties: map[string]odata.Property{
		"principalId": {Name: "principalId", Type: odata.TypeGUID, Ops: ops("eq")},
		"resourceId":  {Name: "resourceId", Type: odata.TypeGUID, Ops: ops("eq")},
		"appRoleId":   {Name: "appRoleId", Type: odata.TypeGUID, Ops: ops("eq")},
	}},
}).init()

func eqFilter(prop, value string) odata.Expr {
	return odata.Compare{Op: "eq", Property: odata.Path{Segments: []string{prop}}, Value: odata.Literal{Kind: odata.LitString, Text: value}}
}

// assignmentsWhere lists every app role assignment with prop equal to value.
func assignmentsWhere(ctx context.Context, tx store.Tx, tenantID, prop, value string) ([]Object, error) {
	return every(store.Query{Schema: appRoleAssignmentSpec.schema, Filter: eqFilter(prop, value)}, func(q store.Query) (store.Page, error) {
		return tx.ListObjects(ctx, tenantID, KindAppRoleAssign, q)
	})
}

// every pages through a listing to its end.
func every(q store.Query, page func(store.Query) (store.Page, error)) ([]Object, error) {
	var out []Object
	q.Top = 999
	for {
		p, err := page(q)
		if err != nil {
			return nil, err
		}
		objs, err := toObjects(p.Objects)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
		if p.Next == "" {
			return out, nil
		}
		q.Cursor = p.Next
	}
}

// AssignAppRole grants an app role of a resource service principal to a
// principal, posted to the resource (POST /servicePrincipals/{id}/
// appRoleAssignedTo: byPrincipal false) or to the principal (POST
// /servicePrincipals|users|groups/{id}/appRoleAssignments: byPrincipal
// true); the body's resourceId or principalId must name the object of the
// URL, as in Graph.
func (s *Service) AssignAppRole(ctx context.Context, tenantID, id string, byPrincipal bool, body Doc) (Object, error) {
	d, err := appRoleAssignmentSpec.normalize(body)
	if err != nil {
		return Object{}, err
	}
	for _, req := range []string{"principalId", "resourceId", "appRoleId"} {
		if d[req] == nil {
			return Object{}, usererr.New(usererr.Invalid, "Property '%s' is required when creating the resource.", req)
		}
	}
	if byPrincipal && str(d, "principalId") != strings.ToLower(id) {
		return Object{}, usererr.New(usererr.Invalid, "The principalId in the body must be the object in the URL.")
	}
	if !byPrincipal && str(d, "resourceId") != strings.ToLower(id) {
		return Object{}, usererr.New(usererr.Invalid, "The resourceId in the body must be the service principal in the URL.")
	}
	var out Object
	err = s.st.Update(ctx, func(tx store.Tx) error {
		out, err = s.assignAppRole(ctx, tx, tenantID, str(d, "principalId"), str(d, "resourceId"), str(d, "appRoleId"))
		return err
	})
	return out, err
}

func (s *Service) assignAppRole(ctx context.Context, tx store.Tx, tenantID, principalID, resourceID, appRoleID string) (Object, error) {
	resource, err := s.load(ctx, tx, tenantID, KindServicePrincipal, resourceID)
	if err != nil {
		return Object{}, err
	}
	principal, err := s.findAny(ctx, tx, tenantID, principalID, []string{KindServicePrincipal, KindUser, KindGroup})
	// Decided before a missing principal is reported, as for a user or
	// group: a caller who may not assign learns nothing about ids.
	if err := checkAppRoleChange(ctx, tx, tenantID, resource, err == nil && principal.Kind == KindServicePrincipal); err != nil {
		return Object{}, err
	}
	if err != nil {
		return Object{}, err
	}
	memberType := "User"
	if principal.Kind == KindServicePrincipal {
		memberType = "Application"
	}
	if !roleAllows(resource.Doc, appRoleID, memberType) {
		return Object{}, usererr.New(usererr.Invalid, "Permission being assigned was not found on application.")
	}
	if err := tx.LockTenant(ctx, tenantID); err != nil { // one assignment per role, checked by reading
		return Object{}, err
	}
	existing, err := assignmentsWhere(ctx, tx, tenantID, "principalId", principalID)
	if err != nil {
		return Object{}, err
	}
	for _, a := range existing {
		if str(a.Doc, "resourceId") == resourceID && str(a.Doc, "appRoleId") == appRoleID {
			return Object{}, usererr.New(usererr.Invalid, "Permission being assigned already exists on the object.")
		}
	}
	principalType := map[string]string{KindServicePrincipal: "ServicePrincipal", KindUser: "User", KindGroup: "Group"}[principal.Kind]
	return s.insert(ctx, tx, tenantID, KindAppRoleAssign, Doc{
		"id": s.newID(), "appRoleId": appRoleID, "createdDateTime": s.timestamp(), "deletedDateTime": nil,
		"principalId": principal.ID, "principalType": principalType, "principalDisplayName": principal.Doc["displayName"],
		"resourceId": resource.ID, "resourceDisplayName": resource.Doc["displayName"],
	})
}

// roleAllows reports whether the resource principal sp defines an enabled
// app role appRoleID for memberType. A first-party application's roles are
// the deployment's current ones, not those its principal stored when the
// tenant was made, so a permission added since can be granted everywhere.
func roleAllows(sp Doc, appRoleID, memberType string) bool {
	if app, ok := firstPartyApp(str(sp, "appId"), ""); ok {
		sp = app.Doc
	}
	for _, r := range sliceOf(sp["appRoles"]) {
		m := mapOf(r)
		if str(m, "id") != appRoleID || m["isEnabled"] == false {
			continue
		}
		for _, t := range sliceOf(m["allowedMemberTypes"]) {
			if t == memberType {
				return true
			}
		}
	}
	return false
}

// ListAppRoleAssignments lists one page of the assignments granted to
// (byPrincipal) or granted on the object of a kind (a service principal,
// or as a principal a user or group) that q selects.
func (s *Service) ListAppRoleAssignments(ctx context.Context, tenantID, kind, id string, byPrincipal bool, q Query) (Page, error) {
	prop := "resourceId"
	if byPrincipal {
		prop = "principalId"
	}
	// "List permissions granted to applications" is among even guests' defaults.
	read := func(viewer) authz.Read { return authz.Read{Area: authz.AreaApps, Members: true} }
	return s.listWithin(ctx, tenantID, KindAppRoleAssign, q, false, read, func(tx store.Tx) (odata.Expr, error) {
		o, err := s.load(ctx, tx, tenantID, kind, id)
		if err != nil {
			return nil, err
		}
		return eqFilter(prop, o.ID), nil
	})
}

// RemoveAppRoleAssignment deletes an assignment granted on or to the
// object id (a service principal, user or group).
func (s *Service) RemoveAppRoleAssignment(ctx context.Context, tenantID, id, assignmentID string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		a, err := s.load(ctx, tx, tenantID, KindAppRoleAssign, assignmentID)
		if err != nil {
			return err
		}
		if str(a.Doc, "resourceId") != id && str(a.Doc, "principalId") != id {
			return notFound(assignmentID)
		}
		resource, err := s.load(ctx, tx, tenantID, KindServicePrincipal, str(a.Doc, "resourceId"))
		if err != nil {
			return err
		}
		if err := checkAppRoleChange(ctx, tx, tenantID, resource, str(a.Doc, "principalType") == "ServicePrincipal"); err != nil {
			return err
		}
		return translate(tx.DeleteObject(ctx, tenantID, KindAppRoleAssign, a.ID, 0), assignmentID)
	})
}

// deleteAssignmentsOf removes every app role assignment, delegated
// permission grant and directory role assignment naming an object that is
// going away, so no grant outlives its holder, and returns them.
func (s *Service) deleteAssignmentsOf(ctx context.Context, tx store.Tx, tenantID, id string) ([]Object, error) {
	var removed []Object
	// Each listing is read after the last one's deletions, so a grant that
	// names id twice (an app assigned its own role) goes once.
	remove := func(grants []Object, err error) error {
		if err != nil {
			return err
		}
		for _, g := range grants {
			if err := tx.DeleteObject(ctx, tenantID, g.Kind, g.ID, 0); err != nil {
				return err
			}
		}
		removed = append(removed, grants...)
		return nil
	}
	for _, prop := range []string{"principalId", "resourceId"} {
		if err := remove(assignmentsWhere(ctx, tx, tenantID, prop, id)); err != nil {
			return nil, err
		}
	}
	for _, prop := range []string{"principalId", "clientId"} {
		err := remove(every(store.Query{Schema: permissionGrantSpec.schema, Filter: eqFilter(prop, id)}, func(q store.Query) (store.Page, error) {
			return tx.ListObjects(ctx, tenantID, KindPermissionGrant, q)
		}))
		if err != nil {
			return nil, err
		}
	}
	if err := remove(roleAssignmentsWhere(ctx, tx, tenantID, "principalId", id)); err != nil {
		return nil, err
	}
	return removed, nil
}

// AuthenticatedApp is a client that proved its secret, with the Graph
// application permissions granted to its service principal.
type AuthenticatedApp struct {
	AppID              string
	ServicePrincipalID string
	DisplayName        string
	Roles              []string
	SigningAlg         string // "" for the tenant's default
}

// ErrBadClient is returned for every client authentication failure alike, so
// a caller cannot tell an unknown client from a wrong secret.
var ErrBadClient = usererr.New(usererr.Forbidden, "Invalid client secret provided, or the client is unknown or disabled.")

// AuthenticateApp verifies a client's secret in a tenant and returns what its
// access token carries.
func (s *Service) AuthenticateApp(ctx context.Context, tenantID, clientID, secret string) (AuthenticatedApp, error) {
	presented := sha256.Sum256([]byte(secret))
	now := s.now()
	if head, ok := s.authCache.freshHead(tenantID, now); ok {
		if app, ok := s.authCache.lookup(tenantID, clientID, presented, head, now); ok {
			return app, nil
		}
	}
	var out AuthenticatedApp
	err := s.st.View(ctx, func(tx store.Tx) error {
		head, err := tx.HeadSeq(ctx, tenantID)
		if err != nil {
			return err
		}
		s.authCache.sawHead(tenantID, head, now)
		if app, ok := s.authCache.lookup(tenantID, clientID, presented, head, now); ok {
			out = app
			return nil
		}
		app, validUntil, err := s.authenticateApp(ctx, tx, tenantID, clientID, secret)
		if err != nil {
			return err
		}
		s.authCache.store(tenantID, clientID, presented, head, validUntil, app)
		out = app
		return nil
	})
	return out, err
}

func (s *Service) authenticateApp(ctx context.Context, tx store.Tx, tenantID, clientID, secret string) (AuthenticatedApp, time.Time, error) {
	appObj, home, err := s.appFor(ctx, tx, tenantID, clientID)
	if usererr.IsKind(err, usererr.NotFound) {
		return AuthenticatedApp{}, time.Time{}, ErrBadClient
	}
	if err != nil {
		return AuthenticatedApp{}, time.Time{}, err
	}
	creds, err := clientSecrets(ctx, tx, appObj, home)
	if err != nil {
		return AuthenticatedApp{}, time.Time{}, err
	}
	validUntil, ok := validSecret(creds, secret, s.now())
	if !ok {
		return AuthenticatedApp{}, time.Time{}, ErrBadClient
	}
	app, err := s.authenticated(ctx, tx, tenantID, clientID, appObj)
	return app, validUntil, err
}

// authenticated is what the access token of a client that proved itself
// carries: its service principal in the tenant (enabled) and the Graph
// application permissions granted to it.
func (s *Service) authenticated(ctx context.Context, tx store.Tx, tenantID, clientID string, appObj Object) (AuthenticatedApp, error) {
	spObj, err := tx.GetObjectByAppID(ctx, tenantID, KindServicePrincipal, clientID)
	if isNotFound(err) {
		return AuthenticatedApp{}, ErrBadClient
	}
	if err != nil {
		return AuthenticatedApp{}, err
	}
	sp, err := toObject(spObj)
	if err != nil {
		return AuthenticatedApp{}, err
	}
	if sp.Doc["accountEnabled"] == false {
		return AuthenticatedApp{}, ErrBadClient
	}
	app := AuthenticatedApp{AppID: clientID, ServicePrincipalID: sp.ID, DisplayName: str(sp.Doc, "displayName"), SigningAlg: signingAlgOf(appObj.Doc)}
	app.Roles, err = s.grantedGraphRoles(ctx, tx, tenantID, sp.ID)
	return app, err
}

// AuthenticateAppWithCertificate authenticates a client by a certificate
// of its application (keyCredentials): verify gets the certificates valid
// now and reports whether the client's proof (a signed client assertion)
// was made with one of them. Any refusal is ErrBadClient.
func (s *Service) AuthenticateAppWithCertificate(ctx context.Context, tenantID, clientID string, verify func([]*x509.Certificate) error) (AuthenticatedApp, error) {
	var out AuthenticatedApp
	err := s.st.View(ctx, func(tx store.Tx) error {
		appObj, _, err := s.appFor(ctx, tx, tenantID, clientID)
		if usererr.IsKind(err, usererr.NotFound) {
			return ErrBadClient
		}
		if err != nil {
			return err
		}
		if err := verify(currentCertificates(appObj.Doc, s.now())); err != nil {
			return ErrBadClient
		}
		out, err = s.authenticated(ctx, tx, tenantID, clientID, appObj)
		return err
	})
	return out, err
}

// validSecret checks the secret against every current credential; each
// comparison is constant-time and all are made, so timing reveals nothing. It
// returns when the matching credential expires (zero: never).
func validSecret(creds []store.Credential, secret string, now time.Time) (time.Time, bool) {
	ok := false
	var until time.Time
	for _, c := range creds {
		current := !now.Before(c.StartAt) && (c.EndAt.IsZero() || now.Before(c.EndAt))
		if secrets.VerifySecret(c.Hash, secret) && current {
			ok, until = true, c.EndAt
		}
	}
	return until, ok
}

// grantedGraphRoles maps a service principal's assignments on the Graph
// resource to permission names.
func (s *Service) grantedGraphRoles(ctx context.Context, tx store.Tx, tenantID, spID string) ([]string, error) {
	graph, err := tx.GetObjectByAppID(ctx, tenantID, KindServicePrincipal, GraphAppID)
	if err != nil {
		return nil, err
	}
	as, err := assignmentsWhere(ctx, tx, tenantID, "principalId", spID)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]string, len(GraphPermissions))
	for _, p := range GraphPermissions {
		byID[p.ID] = p.Value
	}
	var roles []string
	for _, a := range as {
		if str(a.Doc, "resourceId") == graph.ID {
			if v, ok := byID[str(a.Doc, "appRoleId")]; ok {
				roles = append(roles, v)
			}
		}
	}
	return roles, nil
}
