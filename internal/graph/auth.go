package graph

import (
	"context"
	"net/http"
	"slices"
	"strings"
)

// Principal is the verified caller of a request.
type Principal struct {
	TenantID string
	ObjectID string
	AppID    string
	AppOnly  bool     // an app-only token (idtyp "app")
	Roles    []string // application permissions
	Scopes   []string // delegated permissions
}

// TokenVerifier validates a bearer access token issued for the Graph API.
type TokenVerifier interface {
	VerifyAccessToken(ctx context.Context, raw string) (Principal, error)
}

type principalKey struct{}

func principalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
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
		if err != nil {
			a.log.InfoContext(r.Context(), "graph: token rejected", "err", err)
			w.Header().Set("WWW-Authenticate", `Bearer realm="", error="invalid_token"`)
			writeError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience, issuer, signature or lifetime.")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// permission sets: a route needs any one of its set.
type permSet []string

var (
	readUsers    = permSet{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	writeUsers   = permSet{"User.ReadWrite.All", "Directory.ReadWrite.All"}
	readGroups   = permSet{"Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	writeGroups  = permSet{"Group.ReadWrite.All", "Directory.ReadWrite.All"}
	readApps     = permSet{"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	writeApps    = permSet{"Application.ReadWrite.All"}
	readRoles    = permSet{"RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", "Directory.Read.All", "Directory.ReadWrite.All"}
	writeRoles   = permSet{"RoleManagement.ReadWrite.Directory"}
	readOrg      = permSet{"Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	writeOrg     = permSet{"Organization.ReadWrite.All"}
	readDomains  = permSet{"Domain.Read.All", "Domain.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	writeDomains = permSet{"Domain.ReadWrite.All"}
	readObjects  = permSet{"Directory.Read.All", "Directory.ReadWrite.All", "User.Read.All", "User.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All", "Application.Read.All", "Application.ReadWrite.All"}
)

// allowed decides whether a caller holds one of the permissions a route
// needs. App-only tokens carry application permissions in roles. Delegated
// tokens are refused until delegated access (scopes combined with the
// signed-in user's directory roles) exists, so no scope alone ever grants
// directory-wide access.
func allowed(p Principal, need permSet) bool {
	if !p.AppOnly {
		return false
	}
	return slices.ContainsFunc(p.Roles, func(r string) bool { return slices.Contains(need, r) })
}

func (a *API) require(need permSet, h http.HandlerFunc) http.Handler {
	return a.authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowed(principalFrom(r.Context()), need) {
			writeError(w, r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
			return
		}
		h(w, r)
	}))
}
