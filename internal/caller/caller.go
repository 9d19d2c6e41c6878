// Package caller carries who is acting through a request's context: the
// verified principal of an API call (a signed-in user through an app, or an
// app on its own). Surfaces put it there after authenticating; domain
// packages read it to apply privilege rules and to name the initiator of
// what they record. Work with no caller (first start, the CLI's tenant
// create, housekeeping) is the system's own.
package caller

import (
	"context"
	"net"
	"net/http"
	"slices"
)

// Caller is the verified principal of a request.
type Caller struct {
	TenantID string
	// ObjectID is the signed-in user's object id for delegated tokens and
	// the client's service principal id for app-only tokens.
	ObjectID string
	AppID    string
	AppOnly  bool     // an app-only token (idtyp "app")
	Roles    []string // application permissions (app-only tokens)
	Scopes   []string // delegated permissions
	// DirectoryRoles are the role template ids the signed-in user holds
	// (delegated tokens only), read fresh for each request.
	DirectoryRoles []string
	// UserPrincipalName of the signed-in user (delegated tokens only).
	UserPrincipalName string
	// IPAddress is the client's address as this node saw it.
	IPAddress string
}

// HasRole reports whether a delegated caller's user holds any of the
// directory roles (template ids).
func (c Caller) HasRole(templateIDs ...string) bool {
	return !c.AppOnly && slices.ContainsFunc(c.DirectoryRoles, func(r string) bool { return slices.Contains(templateIDs, r) })
}

// HasPermission reports whether the caller holds any of the permissions:
// application permissions for app-only callers, delegated scopes otherwise.
func (c Caller) HasPermission(names ...string) bool {
	have := c.Scopes
	if c.AppOnly {
		have = c.Roles
	}
	return slices.ContainsFunc(have, func(p string) bool { return slices.Contains(names, p) })
}

type key struct{}

// With returns ctx carrying c.
func With(ctx context.Context, c Caller) context.Context { return context.WithValue(ctx, key{}, c) }

// From returns the caller ctx carries; ok is false for the system's own work.
func From(ctx context.Context) (c Caller, ok bool) {
	c, ok = ctx.Value(key{}).(Caller)
	return c, ok
}

// Address is the client's address of a request: the connection's peer.
// Forwarded headers are not trusted; no proxy in front of a node is
// configured to vouch for them.
func Address(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Local reports whether a request came from this machine, for someone on
// it: the connection's peer is a loopback address (forwarded headers are
// not believed), and the request names no forwarded client, which would
// mean a proxy on this machine passed it on for someone else.
func Local(r *http.Request) bool {
	ip := net.ParseIP(Address(r))
	proxied := r.Header.Get("Forwarded") != "" || r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("X-Real-Ip") != ""
	return ip != nil && ip.IsLoopback() && !proxied
}

// LocalOnly serves next to requests from this machine (Local) and answers
// everyone else 404, as if there were nothing there.
func LocalOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Local(r) {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
