package oidc

import (
	"context"
	"errors"
)

var (
	// ErrUnknownTenant: the path segment names no tenant (neither its id nor
	// one of its verified domains).
	ErrUnknownTenant = errors.New("oidc: unknown tenant")
	// ErrInvalidClient: client authentication failed — unknown client, wrong
	// or expired secret, disabled application or service principal.
	ErrInvalidClient = errors.New("oidc: invalid client")
	// ErrInvalidToken: an access token presented to VerifyAccessToken is not
	// one this deployment issued and still honours. The wrapping error says why.
	ErrInvalidToken = errors.New("oidc: invalid access token")
)

// Directory is what the provider needs from the directory: tenant addressing
// and application authentication. Errors other than the sentinels above mean
// the directory could not answer, and the provider fails closed (503).
type Directory interface {
	// ResolveTenant maps a path segment (a tenant id or one of the tenant's
	// verified domain names, matched case-insensitively) to the tenant id.
	// When none matches, the error satisfies errors.Is(err, ErrUnknownTenant).
	ResolveTenant(ctx context.Context, segment string) (tenantID string, err error)
	// AuthenticateApp checks a confidential client's id and secret in the
	// tenant and returns the application's identity there. Every reason to
	// refuse satisfies errors.Is(err, ErrInvalidClient). Errors are logged,
	// so they must never contain the secret.
	AuthenticateApp(ctx context.Context, tenantID, clientID, clientSecret string) (App, error)
}

// App is an authenticated application as seen in one tenant.
type App struct {
	AppID              string   // the application (client) id
	ServicePrincipalID string   // the service principal's object id: the token's oid and sub
	DisplayName        string   // for logs and consent screens
	Roles              []string // application permissions granted in the tenant, e.g. "User.ReadWrite.All"
}
