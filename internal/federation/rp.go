package federation

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/directory"
)

var (
	// ErrProviderFailed: the provider could not be asked (discovery,
	// network, its token endpoint refused the code — a replayed or expired
	// code, a wrong verifier). The person may try again.
	ErrProviderFailed = errors.New("federation: the identity provider did not answer as expected")
	// ErrRejected: the provider answered, but with an ID token this relying
	// party must not accept: another issuer or audience, a wrong nonce, a
	// bad signature, expired, or without the claims an identity needs.
	ErrRejected = errors.New("federation: the identity provider's ID token was rejected")
)

// discoveryTTL is how long a provider's discovery document is trusted
// before it is read again. Its signing keys are read again on their own
// whenever a token names a key not yet seen.
const discoveryTTL = 5 * time.Minute

// maxDiscovery bounds a discovery document read from a provider.
const maxDiscovery = 256 << 10

type discovered struct {
	provider *oidc.Provider
	at       time.Time
}

// rp is what one sign-in at a provider needs: where to send the person,
// how to redeem the code, and what to expect in the ID token.
type rp struct {
	kind                Kind
	issuer, discoveryAt string
	clientID, secret    string
	scopes              []string
	idp                 string
	tenantID            string // KindTenant, KindConsumers: the home tenant the token must name
	claims              func(standard string) string
}

// relyingParty resolves p into the client this deployment is at it. For a
// tenant of this deployment it is Gatehouse B2B, the deployment's own
// public client (PKCE, no secret); for a configured provider, the client
// the resource tenant registered there.
func (s *Service) relyingParty(ctx context.Context, resourceTenantID string, p Provider, withSecret bool) (rp, error) {
	switch p.Kind {
	case KindTenant, KindConsumers:
		if p.TenantID == "" {
			return rp{}, fmt.Errorf("federation: a %s provider without a tenant", p.Kind)
		}
		issuer := s.tenantIssuer(p.TenantID)
		return rp{kind: p.Kind, issuer: issuer, discoveryAt: issuer + "/.well-known/openid-configuration", clientID: directory.B2BAppID,
			scopes: []string{oidc.ScopeOpenID, "profile", "email"}, idp: issuer, tenantID: p.TenantID,
			claims: func(c string) string { return c }}, nil
	case KindOIDC:
		r, err := s.read(ctx, resourceTenantID, p.ID)
		if err != nil {
			return rp{}, err
		}
		out := rp{kind: KindOIDC, issuer: r.issuer(), discoveryAt: r.discoveryURL(), clientID: r.ClientID, scopes: r.scopes(), idp: r.idp(), claims: r.claimName}
		if withSecret {
			if out.secret, err = s.secret(ctx, resourceTenantID, r.ID); err != nil {
				return rp{}, err
			}
		}
		return out, nil
	}
	return rp{}, fmt.Errorf("federation: unknown provider kind %q", p.Kind)
}

func (s *Service) oauth2Config(r rp, provider *oidc.Provider) oauth2.Config {
	ep := provider.Endpoint()
	if r.secret == "" {
		// A public client names itself in the body (no Basic header).
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	return oauth2.Config{ClientID: r.clientID, ClientSecret: r.secret, Endpoint: ep, RedirectURL: s.RedirectURI(), Scopes: r.scopes}
}

// AuthCodeURL is where to send a person to authenticate at p for the
// resource tenant: an authorization code request with state, nonce and a
// PKCE S256 challenge of verifier, and the address they typed as
// login_hint.
func (s *Service) AuthCodeURL(ctx context.Context, resourceTenantID string, p Provider, state, nonce, verifier, loginHint string) (string, error) {
	if state == "" || nonce == "" || verifier == "" {
		return "", errors.New("federation: state, nonce and verifier are required")
	}
	r, err := s.relyingParty(ctx, resourceTenantID, p, false)
	if err != nil {
		return "", err
	}
	provider, err := s.discover(ctx, r)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	if loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	conf := s.oauth2Config(r, provider)
	return conf.AuthCodeURL(state, opts...), nil
}

// Exchange redeems the code p sent back (with the PKCE verifier of its
// request) and returns the identity its ID token vouches for, after
// checking that token: signed by p's keys, issued by p's exact issuer, to
// this client, not expired, with the nonce of the request.
func (s *Service) Exchange(ctx context.Context, resourceTenantID string, p Provider, code, verifier, nonce string) (Identity, error) {
	if code == "" || verifier == "" || nonce == "" {
		return Identity{}, fmt.Errorf("%w: code, verifier and nonce are required", ErrRejected)
	}
	r, err := s.relyingParty(ctx, resourceTenantID, p, true)
	if err != nil {
		return Identity{}, err
	}
	provider, err := s.discover(ctx, r)
	if err != nil {
		return Identity{}, err
	}
	conf := s.oauth2Config(r, provider)
	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, s.client), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: redeeming the code: %w", ErrProviderFailed, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, fmt.Errorf("%w: no ID token in the token response", ErrRejected)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: r.clientID, Now: s.now}).Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	var claims map[string]json.RawMessage
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	return identityFrom(r, idt.Issuer, nonce, claims)
}

// identityFrom reads the identity out of an ID token's claims, already
// verified for signature, issuer, audience and expiry. It checks what
// go-oidc leaves to the caller: the nonce, the authorized party of a token
// with several audiences, and, for a tenant of this deployment, that the
// token names that tenant and an account in it.
func identityFrom(r rp, issuer, nonce string, claims map[string]json.RawMessage) (Identity, error) {
	str := func(name string) string {
		var s string
		if v, ok := claims[name]; ok && json.Unmarshal(v, &s) == nil {
			return s
		}
		return ""
	}
	if got := str("nonce"); nonce == "" || subtle.ConstantTimeCompare([]byte(got), []byte(nonce)) != 1 {
		return Identity{}, fmt.Errorf("%w: the nonce is not the request's", ErrRejected)
	}
	var aud []string
	if json.Unmarshal(claims["aud"], &aud) == nil && len(aud) > 1 && str("azp") != r.clientID {
		return Identity{}, fmt.Errorf("%w: issued to several audiences but authorized for another party", ErrRejected)
	}
	id := Identity{Issuer: issuer, IdP: r.idp, DisplayName: str(r.claims("name"))}
	var authTime int64
	if json.Unmarshal(claims["auth_time"], &authTime) == nil && authTime > 0 {
		id.AuthTime = time.Unix(authTime, 0).UTC()
	}
	var amr []string
	if json.Unmarshal(claims["amr"], &amr) == nil {
		id.AMR = amr
	}
	switch r.kind {
	case KindTenant, KindConsumers:
		// The home account is the key, not the pairwise sub: oid is the
		// same for every application, so the guest is one identity.
		oid, tid := str("oid"), str("tid")
		if oid == "" || tid != r.tenantID {
			return Identity{}, fmt.Errorf("%w: the token names tenant %q, not %q, or no account", ErrRejected, tid, r.tenantID)
		}
		id.Subject, id.HomeTenantID, id.HomeObjectID = oid, tid, oid
		// This deployment puts an email claim only where the address is
		// proven (a domain its tenant verified, or a proven mailbox).
		id.Email = str("email")
		if id.Email == "" && r.kind == KindTenant {
			// Without a mail, a work account's address is its user
			// principal name, which is always on a domain its tenant
			// verified (as Entra redeems an invitation sent to a UPN).
			// Not so in the consumers tenant, whose UPNs are generated.
			if upn := str("preferred_username"); strings.Contains(upn, "@") {
				id.Email = upn
			}
		}
		id.EmailVerified = id.Email != ""
	default:
		id.Subject = str(r.claims("sub"))
		if id.Subject == "" {
			return Identity{}, fmt.Errorf("%w: no subject", ErrRejected)
		}
		id.Email = str(r.claims("email"))
		id.EmailVerified = id.Email != "" && verifiedClaim(claims[r.claims("email_verified")])
	}
	return id, nil
}

// verifiedClaim is whether an email_verified claim vouches for the
// address: only the JSON literal true. "true" as a string, 1, or nothing
// leave the address unproven, so it cannot redeem an invitation sent to it.
func verifiedClaim(v json.RawMessage) bool {
	return strings.TrimSpace(string(v)) == "true"
}

// discover returns the provider's discovery, read at most every
// discoveryTTL per document. The document's issuer must be exactly the one
// configured: a provider cannot answer for another issuer.
func (s *Service) discover(ctx context.Context, r rp) (*oidc.Provider, error) {
	key := r.discoveryAt + "\x00" + r.issuer
	s.mu.Lock()
	d, ok := s.discovery[key]
	s.mu.Unlock()
	if ok && s.now().Sub(d.at) < discoveryTTL {
		return d.provider, nil
	}
	cfg, err := s.fetchDiscovery(ctx, r.discoveryAt)
	if err != nil {
		return nil, err
	}
	if cfg.IssuerURL != r.issuer {
		return nil, fmt.Errorf("%w: the discovery document at %s names issuer %q, not %q", ErrRejected, r.discoveryAt, cfg.IssuerURL, r.issuer)
	}
	if cfg.AuthURL == "" || cfg.TokenURL == "" || cfg.JWKSURL == "" {
		return nil, fmt.Errorf("%w: the discovery document at %s lacks an endpoint", ErrProviderFailed, r.discoveryAt)
	}
	provider := cfg.NewProvider(oidc.ClientContext(context.WithoutCancel(ctx), s.client))
	s.mu.Lock()
	s.discovery[key] = discovered{provider: provider, at: s.now()}
	for k, v := range s.discovery {
		if s.now().Sub(v.at) >= discoveryTTL {
			delete(s.discovery, k)
		}
	}
	s.mu.Unlock()
	return provider, nil
}

func (s *Service) fetchDiscovery(ctx context.Context, at string) (oidc.ProviderConfig, error) {
	var cfg oidc.ProviderConfig
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, at, nil)
	if err != nil {
		return cfg, fmt.Errorf("%w: %w", ErrProviderFailed, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return cfg, fmt.Errorf("%w: reading %s: %w", ErrProviderFailed, at, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscovery+1))
	switch {
	case err != nil:
		return cfg, fmt.Errorf("%w: reading %s: %w", ErrProviderFailed, at, err)
	case resp.StatusCode != http.StatusOK:
		return cfg, fmt.Errorf("%w: %s answered %s", ErrProviderFailed, at, resp.Status)
	case len(body) > maxDiscovery:
		return cfg, fmt.Errorf("%w: the discovery document at %s is too large", ErrProviderFailed, at)
	}
	if err := json.Unmarshal(body, &cfg); err != nil {
		return cfg, fmt.Errorf("%w: the discovery document at %s: %w", ErrProviderFailed, at, err)
	}
	cfg.Algorithms = slices.DeleteFunc(cfg.Algorithms, func(a string) bool { return a == "none" || strings.HasPrefix(a, "HS") })
	return cfg, nil
}
