package oidc

import (
	"slices"
	"strings"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
)

// OpenID Connect scopes. They ask for ID-token claims and a refresh token;
// every other scope names a delegated permission of the resource API.
const (
	scopeOpenID        = "openid"
	scopeProfile       = "profile"
	scopeEmail         = "email"
	scopeOfflineAccess = "offline_access"

	scopeDefault = ".default"
)

var oidcScopes = []string{scopeOpenID, scopeProfile, scopeEmail, scopeOfflineAccess}

// scopeRequest is a parsed scope parameter. The only resource is the Graph
// API at PublicURL, so its permissions may be named bare ("User.Read") or
// with the resource prefix ("{PublicURL}/User.Read"), as Entra accepts for
// Microsoft Graph; "{PublicURL}/.default" asks for everything granted.
type scopeRequest struct {
	OIDC        []string // requested OpenID scopes, in oidcScopes order
	Permissions []string // requested delegated permissions, bare
	Default     bool     // .default: every granted permission
}

// Bounds on a scope parameter, as Entra has: a request names a few
// permissions, and the request is stored until the user signs in.
const (
	maxScopes    = 100
	maxScopeText = 4 << 10 // bytes, separators not counted
)

// parseScopes reads a scope parameter. Permissions of other resources are
// refused rather than ignored: a client asking for them would otherwise get
// a token that silently lacks them. Its work is linear in the input, which
// is also bounded: anyone may send an authorization request.
func (p *Provider) parseScopes(scopes []string) (scopeRequest, error) {
	var req scopeRequest
	if len(scopes) == 0 {
		return req, zoidc.ErrInvalidRequest().WithDescription("AADSTS900144: The request body must contain the following parameter: 'scope'.")
	}
	text := 0
	for _, s := range scopes {
		text += len(s)
	}
	if len(scopes) > maxScopes || text > maxScopeText {
		return req, zoidc.ErrInvalidScope().WithDescription("AADSTS70011: The provided value for the input parameter 'scope' is not valid: at most %d scopes of %d bytes in all may be requested.", maxScopes, maxScopeText)
	}
	oidc := make([]bool, len(oidcScopes))
	seen := make(map[string]bool, len(scopes)) // permissions, case-folded
	for _, s := range scopes {
		if i := slices.Index(oidcScopes, s); i >= 0 {
			oidc[i] = true
			continue
		}
		name := strings.TrimPrefix(s, p.cfg.PublicURL+"/")
		if name == "/"+scopeDefault { // Entra reads "{resource}//.default" as the resource's .default
			name = scopeDefault
		}
		if name == "" || strings.ContainsAny(name, "/: \t") {
			return req, zoidc.ErrInvalidScope().WithDescription("AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope %q does not exist.", s)
		}
		if name == scopeDefault {
			req.Default = true
			continue
		}
		// Permission names compare case-insensitively, as in Entra.
		if key := strings.ToLower(name); !seen[key] {
			seen[key] = true
			req.Permissions = append(req.Permissions, name)
		}
	}
	for i, s := range oidcScopes {
		if oidc[i] {
			req.OIDC = append(req.OIDC, s)
		}
	}
	if req.Default && len(req.Permissions) > 0 {
		return req, zoidc.ErrInvalidScope().WithDescription("AADSTS70011: The provided value for the input parameter 'scope' is not valid. '.default' cannot be combined with other resource scopes.")
	}
	return req, nil
}

// grant resolves the request against the permissions granted: all of them
// for .default, else each requested one, spelled as granted (permission
// names compare case-insensitively, as in Entra). missing lists requested
// permissions that are not granted.
func (s scopeRequest) grant(granted []string) (scp, missing []string) {
	if s.Default {
		return slices.Clone(granted), nil
	}
	for _, want := range s.Permissions {
		i := slices.IndexFunc(granted, func(g string) bool { return strings.EqualFold(g, want) })
		if i < 0 {
			missing = append(missing, want)
			continue
		}
		scp = append(scp, granted[i])
	}
	return scp, missing
}

// tokenScopes is what a delegated access token's scp carries, as Entra's do:
// the granted permissions and the OpenID scopes that ask for claims.
func tokenScopes(oidc, permissions []string) []string {
	out := slices.Clone(permissions)
	for _, s := range oidc {
		if s != scopeOfflineAccess {
			out = append(out, s)
		}
	}
	return out
}
