package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-id/gatehouse/internal/revocation"
)

// accessClaims are the claims of an Entra v2.0 access token. App-only tokens
// carry roles and idtyp "app"; delegated (user) tokens carry scp and idtyp
// "user" (Entra's optional claim), and never the client's app roles, which
// mean nothing to the API.
type accessClaims struct {
	jwt.Claims                  // iss, sub, aud, exp, nbf, iat, jti
	TenantID           string   `json:"tid"`
	ObjectID           string   `json:"oid"`
	AuthorizedParty    string   `json:"azp,omitempty"`
	AuthorizedPartyACR string   `json:"azpacr,omitempty"` // how the client authenticated: "1" = client secret
	AppID              string   `json:"appid,omitempty"`
	IDType             string   `json:"idtyp,omitempty"`
	Roles              []string `json:"roles,omitempty"`
	Scopes             string   `json:"scp,omitempty"`
	Name               string   `json:"name,omitempty"`
	PreferredUsername  string   `json:"preferred_username,omitempty"`
	TokenID            string   `json:"uti,omitempty"`
	Version            string   `json:"ver"`
	// IdP is the issuer that authenticated a guest, as Entra's idp.
	IdP string `json:"idp,omitempty"`
	// AMR are a delegated token's authentication methods, as in the ID
	// token: an API decides on them too (MFA done or not). Entra puts amr
	// in v1.0 access tokens; Gatehouse's v2.0 ones carry it as well.
	AMR []string `json:"amr,omitempty"`
	// SessionID is the SSO session of a delegated token's sign-in, as in
	// Entra's access tokens: a revocation of the session reaches the token.
	SessionID string `json:"sid,omitempty"`
	// IssuedAtMs is iat in milliseconds, Gatehouse's own claim: a token and a
	// revocation within the same second are told apart by it (package
	// revocation), so one issued just after a revocation is not refused.
	IssuedAtMs int64 `json:"iat_ms,omitempty"`
}

// issuedAt is when the token was signed: iat_ms, or iat for a token without it.
func (c accessClaims) issuedAt() time.Time {
	if c.IssuedAtMs != 0 {
		return time.UnixMilli(c.IssuedAtMs)
	}
	if c.IssuedAt == nil {
		return time.Time{}
	}
	return c.IssuedAt.Time()
}

// idClaims are the claims of an Entra v2.0 ID token.
type idClaims struct {
	jwt.Claims               // iss, sub (pairwise), aud (the client), exp, nbf, iat
	TenantID          string `json:"tid"`
	ObjectID          string `json:"oid"`
	Name              string `json:"name,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Email             string `json:"email,omitempty"`
	// EmailVerified is always true beside an email: the directory gives
	// only addresses the user proved (User.Email), and relying parties,
	// B2B federation among them, trust an address only when told so.
	EmailVerified   bool     `json:"email_verified,omitempty"`
	AMR             []string `json:"amr,omitempty"`
	AuthTime        int64    `json:"auth_time"`
	Nonce           string   `json:"nonce,omitempty"`
	SessionID       string   `json:"sid,omitempty"`
	Roles           []string `json:"roles,omitempty"`
	AccessTokenHash string   `json:"at_hash,omitempty"`
	TokenID         string   `json:"uti"`
	Version         string   `json:"ver"`
	IdP             string   `json:"idp,omitempty"` // the issuer that authenticated a guest
	Account         int      `json:"acct"`          // acctMember or acctGuest of the tenant
}

const (
	tokenVersion = "2.0"
	idTypeApp    = "app"
	acctMember   = 0
	acctGuest    = 1
	idTypeUser   = "user"
	acrSecret    = "1"

	// verifyLeeway absorbs clock differences between nodes and callers when
	// checking exp, nbf and iat.
	verifyLeeway = time.Minute

	// maxTokenSize bounds the work an unauthenticated caller can cause
	// before any signature is checked.
	maxTokenSize = 16 << 10
)

// issueAppToken signs an app-only access token for the Graph API.
func (p *Provider) issueAppToken(ctx context.Context, tenantID string, app App) (string, error) {
	alg, err := p.signingAlg(ctx, tenantID, app.SigningAlg)
	if err != nil {
		return "", err
	}
	now := p.cfg.Now()
	// uti is Entra's token identifier and jti the JWT one; a token has one
	// identity, so both carry the same random value.
	id := newTokenID()
	return p.signClaims(ctx, tenantID, alg, accessClaims{
		Claims:             p.registered(tenantID, app.ServicePrincipalID, p.cfg.PublicURL, id, now, p.cfg.AccessTokenLifetime),
		TenantID:           tenantID,
		ObjectID:           app.ServicePrincipalID,
		AuthorizedParty:    app.AppID,
		AuthorizedPartyACR: acrSecret,
		AppID:              app.AppID,
		IDType:             idTypeApp,
		Roles:              app.Roles,
		TokenID:            id,
		Version:            tokenVersion,
		IssuedAtMs:         now.UnixMilli(),
	})
}

// registered fills the registered JWT claims every token carries.
func (p *Provider) registered(tenantID, subject, audience, id string, now time.Time, lifetime time.Duration) jwt.Claims {
	return jwt.Claims{
		Issuer:    p.issuer(tenantID),
		Subject:   subject,
		Audience:  jwt.Audience{audience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		Expiry:    jwt.NewNumericDate(now.Add(lifetime)),
		ID:        id,
	}
}

// signClaims signs claims with the tenant's current key of alg.
func (p *Provider) signClaims(ctx context.Context, tenantID string, alg jose.SignatureAlgorithm, claims any) (string, error) {
	s, err := p.keys.signer(ctx, tenantID, alg)
	if err != nil {
		return "", err
	}
	payload, err := marshalJSON(claims)
	if err != nil {
		return "", fmt.Errorf("oidc: encoding claims: %w", err)
	}
	return s.sign(payload)
}

// pairwiseSubject is the user's sub for one application: stable for the
// pair, unlinkable across applications without the deployment's key, as
// Entra's pairwise sub is. The tenant is part of it because a guest is a
// different user in each tenant.
func (p *Provider) pairwiseSubject(tenantID, objectID, clientID string) string {
	m := hmac.New(sha256.New, p.pairwise)
	m.Write([]byte(tenantID + "\x00" + objectID + "\x00" + clientID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// userTokens are what a code redemption or a refresh issues.
type userTokens struct {
	AccessToken string
	IDToken     string // empty unless openid was granted
}

// issueUserTokens signs a delegated access token for the Graph API and, when
// the grant has openid, an ID token for the client. Profile claims follow
// the OpenID scopes: name and preferred_username with profile, email (only
// ever a verified one) with email. Both are signed with alg.
func (p *Provider) issueUserTokens(ctx context.Context, tenantID string, alg jose.SignatureAlgorithm, g grant, u User, nonce string) (userTokens, error) {
	now := p.cfg.Now()
	sub := p.pairwiseSubject(tenantID, u.ObjectID, g.ClientID)
	profile := slices.Contains(g.OIDC, scopeProfile)
	var name, username, email string
	if profile {
		name, username = u.DisplayName, u.PreferredUsername
	}
	if slices.Contains(g.OIDC, scopeEmail) {
		email = u.Email
	}
	atID := newTokenID()
	at, err := p.signClaims(ctx, tenantID, alg, accessClaims{
		Claims:            p.registered(tenantID, sub, p.cfg.PublicURL, atID, now, p.cfg.AccessTokenLifetime),
		TenantID:          tenantID,
		ObjectID:          u.ObjectID,
		AuthorizedParty:   g.ClientID,
		AppID:             g.ClientID,
		IDType:            idTypeUser,
		Scopes:            strings.Join(tokenScopes(g.OIDC, g.Permissions), " "),
		Name:              name,
		PreferredUsername: username,
		TokenID:           atID,
		Version:           tokenVersion,
		SessionID:         g.SessionID,
		IdP:               g.IdP,
		AMR:               g.AMR,
		IssuedAtMs:        now.UnixMilli(),
	})
	if err != nil {
		return userTokens{}, err
	}
	out := userTokens{AccessToken: at}
	if !slices.Contains(g.OIDC, scopeOpenID) {
		return out, nil
	}
	idID := newTokenID()
	c := idClaims{
		Claims:            p.registered(tenantID, sub, g.ClientID, "", now, idTokenLifetime),
		TenantID:          tenantID,
		ObjectID:          u.ObjectID,
		Name:              name,
		PreferredUsername: username,
		Email:             email,
		EmailVerified:     email != "",
		AMR:               g.AMR,
		AuthTime:          g.AuthTime.Unix(),
		Nonce:             nonce,
		SessionID:         g.SessionID,
		Roles:             u.Roles,
		AccessTokenHash:   halfHash(at),
		TokenID:           idID,
		Version:           tokenVersion,
		IdP:               g.IdP,
		Account:           acctMember,
	}
	if u.Guest {
		c.Account = acctGuest
	}
	if out.IDToken, err = p.signClaims(ctx, tenantID, alg, c); err != nil {
		return userTokens{}, err
	}
	return out, nil
}

// halfHash is at_hash for RS256 and ES256, whose hash is SHA-256: the left
// half of the SHA-256 of the value (OpenID Connect Core §3.1.3.6).
func halfHash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

func newTokenID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// verifySigned checks that raw is an RS256 or ES256 JWS signed by a key
// published for that algorithm by the tenant its tid claim names, and decodes its claims into c. It
// returns that tenant. Rejections wrap ErrInvalidToken; store failures are
// returned as they are.
func (p *Provider) verifySigned(ctx context.Context, raw string, c any) (string, error) {
	if len(raw) > maxTokenSize {
		return "", fmt.Errorf("%w: token of %d bytes exceeds %d", ErrInvalidToken, len(raw), maxTokenSize)
	}
	if err := canonicalCompact(raw); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	tok, err := jwt.ParseSigned(raw, signingAlgs)
	if err != nil {
		return "", fmt.Errorf("%w: not a JWS signed with %v: %v", ErrInvalidToken, signingAlgs, err)
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID == "" {
		return "", fmt.Errorf("%w: header has no kid", ErrInvalidToken)
	}
	kid := tok.Headers[0].KeyID
	var unverified struct {
		TenantID string `json:"tid"`
	}
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return "", fmt.Errorf("%w: claims are not a JSON object: %v", ErrInvalidToken, err)
	}
	// Tenant ids are GUIDs; anything else is refused before it reaches the store.
	if !isTenantID(unverified.TenantID) {
		return "", fmt.Errorf("%w: tid %q is not a tenant id", ErrInvalidToken, unverified.TenantID)
	}
	tid := unverified.TenantID
	key, err := p.keys.verificationKey(ctx, tid, kid)
	if err != nil {
		return "", err
	}
	// The key, not the token, says which algorithm it verifies: an RSA key
	// never checks an ES256 signature, nor the reverse.
	if alg := tok.Headers[0].Algorithm; key.Algorithm != alg {
		return "", fmt.Errorf("%w: %s token signed with %q, a %s key", ErrInvalidToken, alg, kid, key.Algorithm)
	}
	if err := tok.Claims(key.Key, c); err != nil {
		return "", fmt.Errorf("%w: signature does not verify with key %q of tenant %s: %v", ErrInvalidToken, kid, tid, err)
	}
	return tid, nil
}

// canonicalCompact refuses a compact JWS unless it is three segments of
// unpadded base64url in canonical form. Lenient decoding would let one token
// be spelled several ways (trailing bits of the last character), and a
// token's string is its identity for logs and replay checks.
func canonicalCompact(raw string) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a compact JWS: %d segments", len(parts))
	}
	for i, part := range parts {
		if _, err := base64.RawURLEncoding.Strict().DecodeString(part); err != nil {
			return fmt.Errorf("segment %d is not canonical base64url", i+1)
		}
	}
	return nil
}

// AccessToken is a verified access token's identity and permissions.
type AccessToken struct {
	TenantID string   // tid: the tenant the token is for
	ObjectID string   // oid: the caller's object id in that tenant (service principal or user)
	Subject  string   // sub
	AppID    string   // appid: the client the token was issued to
	Roles    []string // roles: application permissions (app-only) or app roles
	Scopes   string   // scp: space-separated delegated permissions (and OpenID scopes); empty for app-only tokens
	IDType   string   // idtyp: "app" for app-only tokens, "user" for delegated ones
	// Delegated: the token acts for the user ObjectID, with the client AppID
	// limited to Scopes; false for app-only tokens, which act with Roles.
	Delegated bool
	TokenID   string // uti, for audit records
	ExpiresAt time.Time
}

// VerifyAccessToken checks an access token presented to the Graph API: an
// RS256 or ES256 JWS signed by a key published for the tenant named in its tid claim,
// issued by that tenant's issuer for the audience PublicURL, and within its
// validity period (with a minute's leeway). Rejections wrap ErrInvalidToken
// with a reason fit for logs; the token itself is never part of an error. A
// store failure is returned as is, not as ErrInvalidToken, so the caller can
// answer 503 rather than 401.
func (p *Provider) VerifyAccessToken(ctx context.Context, raw string) (*AccessToken, error) {
	var c accessClaims
	tid, err := p.verifySigned(ctx, raw, &c)
	if err != nil {
		return nil, err
	}
	if want := p.issuer(tid); c.Issuer != want {
		return nil, fmt.Errorf("%w: issuer %q, want %q", ErrInvalidToken, c.Issuer, want)
	}
	if len(c.Audience) != 1 || c.Audience[0] != p.cfg.PublicURL {
		return nil, fmt.Errorf("%w: audience %q, want %q", ErrInvalidToken, []string(c.Audience), p.cfg.PublicURL)
	}
	if c.Expiry == nil {
		return nil, fmt.Errorf("%w: no exp", ErrInvalidToken)
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Time: p.cfg.Now()}, verifyLeeway); err != nil {
		return nil, fmt.Errorf("%w: %v (exp %s)", ErrInvalidToken, err, c.Expiry.Time().UTC().Format(time.RFC3339))
	}
	if c.ObjectID == "" || c.Subject == "" {
		return nil, fmt.Errorf("%w: no oid or sub", ErrInvalidToken)
	}
	// Every access token says whose it is; an ID token (which has no idtyp)
	// is never an access token, whatever its audience.
	if c.IDType != idTypeApp && c.IDType != idTypeUser {
		return nil, fmt.Errorf("%w: idtyp %q is not an access token's", ErrInvalidToken, c.IDType)
	}
	subject := revocation.Subject{ClientID: c.AppID, SessionID: c.SessionID, IssuedAt: c.issuedAt()}
	if c.IDType == idTypeUser {
		subject.UserID = c.ObjectID
	}
	// The view answers from memory; its error is the store's, not the token's.
	if f, revoked, err := p.revocations.Revoked(ctx, tid, subject); err != nil {
		return nil, err
	} else if revoked {
		return nil, fmt.Errorf("%w: revoked at %s (%s)", ErrInvalidToken, f.At.UTC().Format(time.RFC3339Nano), f.Reason)
	}
	return &AccessToken{
		TenantID:  tid,
		ObjectID:  c.ObjectID,
		Subject:   c.Subject,
		AppID:     c.AppID,
		Roles:     c.Roles,
		Scopes:    c.Scopes,
		IDType:    c.IDType,
		Delegated: c.IDType == idTypeUser,
		TokenID:   c.TokenID,
		ExpiresAt: c.Expiry.Time(),
	}, nil
}
