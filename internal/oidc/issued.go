package oidc

import "context"

// The grant types TokenIssued names, as RFC 6749 and RFC 8628 spell them
// (the device code's URN shortened to its last part).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantDeviceCode        = "device_code"
	GrantClientCredentials = "client_credentials"
)

// grantTypeOf is the grant type of a redemption of a state of kind.
func grantTypeOf(kind string) string {
	switch kind {
	case kindCode:
		return GrantAuthorizationCode
	case kindRefresh:
		return GrantRefreshToken
	case kindDevice:
		return GrantDeviceCode
	}
	return kind
}

// noteIssued tells Config.TokenIssued of a token response.
func (p *Provider) noteIssued(ctx context.Context, tenantID, grantType string) {
	if p.cfg.TokenIssued != nil {
		p.cfg.TokenIssued(ctx, tenantID, grantType)
	}
}
