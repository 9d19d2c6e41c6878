package oidc

import (
	"context"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// Signing algorithms.
//
// A token issued to a client is signed with the client's algorithm
// (Client.SigningAlg or App.SigningAlg: the application tag
// "gatehouse:signingAlg=ES256"), else the tenant's (Config.TenantSigningAlg),
// else the deployment's (Config.SigningAlg), else RS256. The choice covers
// every token of the client, access and ID tokens alike, and is read at each
// issue, so changing it takes effect at the next token. A tenant has keys of
// each algorithm it has signed with; the JWKS publishes them all, and
// verification accepts exactly these algorithms, each only with a key made
// for it.

// signingAlgs are the algorithms tokens may be signed with.
var signingAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// parseSigningAlg reads an algorithm name as written in configuration or an
// application tag; "" is no choice.
func parseSigningAlg(s string) (jose.SignatureAlgorithm, error) {
	switch alg := jose.SignatureAlgorithm(s); alg {
	case "", jose.RS256, jose.ES256:
		return alg, nil
	default:
		return "", fmt.Errorf("oidc: signing algorithm %q is not supported; use RS256 or ES256", s)
	}
}

// tenantAlg is the algorithm of the tenant's tokens for clients that do not
// choose one.
func (p *Provider) tenantAlg(ctx context.Context, tenantID string) (jose.SignatureAlgorithm, error) {
	if p.cfg.TenantSigningAlg != nil {
		s, err := p.cfg.TenantSigningAlg(ctx, tenantID)
		if err != nil {
			return "", fmt.Errorf("%w: signing algorithm of tenant %s: %w", errUnavailable, tenantID, err)
		}
		alg, err := parseSigningAlg(s)
		if err != nil {
			return "", fmt.Errorf("tenant %s: %w", tenantID, err)
		}
		if alg != "" {
			return alg, nil
		}
	}
	return p.defaultAlg, nil
}

// signingAlg is the algorithm of tokens issued to a client whose own choice
// is clientAlg ("" for none).
func (p *Provider) signingAlg(ctx context.Context, tenantID, clientAlg string) (jose.SignatureAlgorithm, error) {
	alg, err := parseSigningAlg(clientAlg)
	if err != nil {
		return "", fmt.Errorf("client of tenant %s: %w", tenantID, err)
	}
	if alg != "" {
		return alg, nil
	}
	return p.tenantAlg(ctx, tenantID)
}
