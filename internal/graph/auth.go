package graph

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Principal is the verified caller of a request.
type Principal = caller.Caller

// TokenVerifier validates a bearer access token issued for the Graph API.
// An error marked store.ErrUnavailable means the token could not be checked
// (503); any other refuses it (401).
type TokenVerifier interface {
	VerifyAccessToken(ctx context.Context, raw string) (Principal, error)
}

func principalFrom(ctx context.Context) Principal {
	p, _ := caller.From(ctx)
	return p
}

// authenticate requires a valid bearer token; the tenant of every later
// store call comes from it and nowhere else.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || strings.TrimSpace(raw) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="", error="invalid_token"`)
			writeError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
			return
		}
		p, err := a.tokens.VerifyAccessToken(r.Context(), strings.TrimSpace(raw))
		if errors.Is(err, store.ErrUnavailable) {
			// The token could not be checked, which says nothing against
			// it: a 401 would make clients throw a good token away.
			a.unavailable(w, r, err)
			return
		}
		if err != nil {
			a.log.InfoContext(r.Context(), "graph: token rejected", "err", err)
			w.Header().Set("WWW-Authenticate", `Bearer realm="", error="invalid_token"`)
			writeError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience, issuer, signature or lifetime.")
			return
		}
		p.IPAddress = caller.Address(r)
		r = r.WithContext(caller.With(r.Context(), p))
		next.ServeHTTP(w, a.openSkipToken(r))
	})
}

// permSet is what admits a caller to a route: an app-only token with one of
// the application permissions in app, or a delegated token with one of the
// delegated permissions in delegated whose signed-in user also holds one of
// the directory roles in roles (none listed: any member may). Delegated
// access is the intersection of what the app was granted and what the user
// may do, as in Graph.
type permSet struct {
	app, delegated, roles []string
}

var (
	userReaders  = []string{"User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.AccessAsUser.All"}
	groupReaders = []string{"Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.AccessAsUser.All"}
	dirReaders   = []string{"Directory.Read.All", "Directory.AccessAsUser.All"}
	userAdmins   = []string{authz.GlobalAdministrator, authz.UserAdministrator}
	globalAdmins = []string{authz.GlobalAdministrator}
	roleAdmins   = []string{authz.GlobalAdministrator, authz.PrivilegedRoleAdministrator}

	readUsers = permSet{app: []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}, delegated: userReaders}
	// writeUsers admits every seat that may change some user; which users
	// and properties is the directory's decision (authz.ChangeUser).
	writeUsers = permSet{
		app:       []string{"User.ReadWrite.All", "Directory.ReadWrite.All", "User-PasswordProfile.ReadWrite.All"},
		delegated: []string{"User.ReadWrite.All", "Directory.AccessAsUser.All", "User-PasswordProfile.ReadWrite.All"},
		roles: []string{authz.GlobalAdministrator, authz.UserAdministrator, authz.PrivilegedAuthenticationAdministrator,
			authz.AuthenticationAdministrator, authz.HelpdeskAdministrator, authz.PasswordAdministrator},
	}
	readGroups  = permSet{app: []string{"Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}, delegated: groupReaders}
	writeGroups = permSet{app: []string{"Group.ReadWrite.All", "Directory.ReadWrite.All"}, delegated: []string{"Group.ReadWrite.All", "Directory.AccessAsUser.All"}, roles: userAdmins}
	// writeGroupMembers admits a group's owners, who need no role: the
	// directory decides who may change which group's members
	// (authz.ChangeGroupMembers).
	writeGroupMembers = permSet{app: []string{"GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"},
		delegated: []string{"GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.AccessAsUser.All"}}
	readApps = permSet{app: []string{"Application.Read.All", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy", "Directory.Read.All", "Directory.ReadWrite.All"}, delegated: dirReaders}
	// writeApps admits Application.ReadWrite.OwnedBy, and signed-in users
	// without a role; the directory then keeps them to the applications
	// they own (authz.ManageApplication), as Entra keeps owners.
	writeApps = permSet{app: []string{"Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"}, delegated: []string{"Application.ReadWrite.All", "Directory.AccessAsUser.All"}}
	// assignAppRoles: granting app roles is not managing applications, as
	// in Graph. It admits an application's owners, who need no role: the
	// directory decides who grants which roles (authz.AssignAppRole).
	assignAppRoles = permSet{app: []string{"AppRoleAssignment.ReadWrite.All"}, delegated: []string{"AppRoleAssignment.ReadWrite.All", "Directory.AccessAsUser.All"}}
	readRoles      = permSet{app: []string{"RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", "Directory.Read.All", "Directory.ReadWrite.All"}, delegated: dirReaders}
	writeRoles     = permSet{app: []string{"RoleManagement.ReadWrite.Directory"}, delegated: []string{"Directory.AccessAsUser.All", "RoleManagement.ReadWrite.Directory"}, roles: roleAdmins}
	readOrg        = permSet{app: []string{"Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}, delegated: slices.Concat([]string{"User.Read"}, dirReaders)}
	writeOrg       = permSet{app: []string{"Organization.ReadWrite.All"}, delegated: []string{"Directory.AccessAsUser.All"}, roles: globalAdmins}
	readDomains    = permSet{app: []string{"Domain.Read.All", "Domain.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}, delegated: dirReaders}
	writeDomains   = permSet{app: []string{"Domain.ReadWrite.All"}, delegated: []string{"Directory.AccessAsUser.All"}, roles: globalAdmins}
	readGrants     = permSet{app: []string{"DelegatedPermissionGrant.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}, delegated: dirReaders}
	// writeGrants: delegated permission grants are what admin consent
	// writes, which Entra lets application administrators give as well as
	// privileged role administrators (app roles are another route's,
	// authz.AssignAppRole).
	writeGrants = permSet{app: []string{"DelegatedPermissionGrant.ReadWrite.All"}, delegated: []string{"DelegatedPermissionGrant.ReadWrite.All", "Directory.AccessAsUser.All"},
		roles: authz.ConsentAdministrators}
	readObjects = permSet{app: []string{"Directory.Read.All", "Directory.ReadWrite.All", "User.Read.All", "User.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All", "Application.Read.All", "Application.ReadWrite.All"}, delegated: slices.Concat(userReaders, groupReaders)}
	readPolicy  = permSet{app: []string{"Policy.Read.All", "Policy.ReadWrite.Authorization"}, delegated: []string{"Policy.Read.All", "Directory.AccessAsUser.All"}}
	writePolicy = permSet{app: []string{"Policy.ReadWrite.Authorization"}, delegated: []string{"Policy.ReadWrite.Authorization", "Directory.AccessAsUser.All"}, roles: globalAdmins}
	// The session lifetime policy is application configuration, as Graph's
	// token lifetime policies are.
	writeAppConfigPolicy = permSet{app: []string{"Policy.ReadWrite.ApplicationConfiguration"}, delegated: []string{"Directory.AccessAsUser.All"}, roles: globalAdmins}
	// inviteUsers admits every seat Graph lets invite; who may invite whom
	// is the tenant's invitation settings (b2b.CanInvite).
	inviteUsers = permSet{app: []string{"User.Invite.All", "User.ReadWrite.All", "Directory.ReadWrite.All"}, delegated: []string{"User.Invite.All", "User.ReadWrite.All", "Directory.AccessAsUser.All"}}
	readMe      = permSet{delegated: []string{"User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.AccessAsUser.All"}}
)

// allowed decides whether a caller may use a route (see permSet).
func allowed(p Principal, need permSet) bool {
	if p.AppOnly {
		return anyOf(p.Roles, need.app)
	}
	if !anyOf(p.Scopes, need.delegated) {
		return false
	}
	return len(need.roles) == 0 || anyOf(p.DirectoryRoles, need.roles)
}

func anyOf(have, want []string) bool {
	return slices.ContainsFunc(have, func(h string) bool { return slices.Contains(want, h) })
}

func (a *API) require(need permSet, h http.HandlerFunc) http.Handler {
	return admitted{need, a.authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.permitted(w, r, need) {
			h(w, r)
		}
	}))}
}

// admitted is a route's handler with what admits callers to it, so Admits
// can answer for the route without serving it.
type admitted struct {
	need permSet
	http.Handler
}

// Admits reports whether Graph admits p to a request (method, path under
// /v1.0/): the first of its two layers, the route's permissions and, for
// delegated writes, directory roles. The admin centre acts through the same
// services and asks this before it does, so it admits exactly whom Graph
// admits; the services then apply the rule. Routes that admit by the object
// they find (deleted items) and unknown ones answer false.
func (a *API) Admits(p Principal, method, path string) bool {
	r, err := http.NewRequest(method, path, nil)
	if err != nil || a.routes == nil {
		return false
	}
	h, _ := a.routes.Handler(r)
	route, ok := h.(admitted)
	return ok && allowed(p, route.need)
}
