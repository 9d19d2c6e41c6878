package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// accessClaims are the claims of an Entra v2.0 access token. App-only tokens
// leave scp empty; delegated tokens will set it.
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
	TokenID            string   `json:"uti,omitempty"`
	Version            string   `json:"ver"`
}

const (
	tokenVersion = "2.0"
	idTypeApp    = "app"
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
	s, err := p.keys.signer(ctx, tenantID)
	if err != nil {
		return "", err
	}
	now := p.cfg.Now()
	// uti is Entra's token identifier and jti the JWT one; a token has one
	// identity, so both carry the same random value.
	id := newTokenID()
	c := accessClaims{
		Claims: jwt.Claims{
			Issuer:    p.issuer(tenantID),
			Subject:   app.ServicePrincipalID,
			Audience:  jwt.Audience{p.cfg.PublicURL},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			Expiry:    jwt.NewNumericDate(now.Add(p.cfg.AccessTokenLifetime)),
			ID:        id,
		},
		TenantID:           tenantID,
		ObjectID:           app.ServicePrincipalID,
		AuthorizedParty:    app.AppID,
		AuthorizedPartyACR: acrSecret,
		AppID:              app.AppID,
		IDType:             idTypeApp,
		Roles:              app.Roles,
		TokenID:            id,
		Version:            tokenVersion,
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("oidc: encoding claims: %w", err)
	}
	return s.sign(payload)
}

func newTokenID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// AccessToken is a verified access token's identity and permissions.
type AccessToken struct {
	TenantID  string   // tid: the tenant the token is for
	ObjectID  string   // oid: the caller's object id in that tenant (service principal or user)
	Subject   string   // sub
	AppID     string   // appid: the client the token was issued to
	Roles     []string // roles: application permissions (app-only) or app roles
	Scopes    string   // scp: space-separated delegated permissions; empty for app-only tokens
	IDType    string   // idtyp: "app" for app-only tokens
	TokenID   string   // uti, for audit records
	ExpiresAt time.Time
}

// VerifyAccessToken checks an access token presented to the Graph API: an
// RS256 JWS signed by a key published for the tenant named in its tid claim,
// issued by that tenant's issuer for the audience PublicURL, and within its
// validity period (with a minute's leeway). Rejections wrap ErrInvalidToken
// with a reason fit for logs; the token itself is never part of an error. A
// store failure is returned as is, not as ErrInvalidToken, so the caller can
// answer 503 rather than 401.
func (p *Provider) VerifyAccessToken(ctx context.Context, raw string) (*AccessToken, error) {
	if len(raw) > maxTokenSize {
		return nil, fmt.Errorf("%w: token of %d bytes exceeds %d", ErrInvalidToken, len(raw), maxTokenSize)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{signingAlg})
	if err != nil {
		return nil, fmt.Errorf("%w: not a JWS signed with %s: %v", ErrInvalidToken, signingAlg, err)
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID == "" {
		return nil, fmt.Errorf("%w: header has no kid", ErrInvalidToken)
	}
	kid := tok.Headers[0].KeyID
	var unverified struct {
		TenantID string `json:"tid"`
	}
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, fmt.Errorf("%w: claims are not a JSON object: %v", ErrInvalidToken, err)
	}
	// Tenant ids are GUIDs; anything else is refused before it reaches the store.
	if _, err := uuid.Parse(unverified.TenantID); err != nil || len(unverified.TenantID) != 36 {
		return nil, fmt.Errorf("%w: tid %q is not a tenant id", ErrInvalidToken, unverified.TenantID)
	}
	tid := unverified.TenantID
	key, err := p.keys.verificationKey(ctx, tid, kid)
	if err != nil {
		return nil, err
	}
	if key.Algorithm != string(signingAlg) {
		return nil, fmt.Errorf("%w: key %q is a %s key", ErrInvalidToken, kid, key.Algorithm)
	}
	var c accessClaims
	if err := tok.Claims(key.Key, &c); err != nil {
		return nil, fmt.Errorf("%w: signature does not verify with key %q of tenant %s: %v", ErrInvalidToken, kid, tid, err)
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
	return &AccessToken{
		TenantID:  tid,
		ObjectID:  c.ObjectID,
		Subject:   c.Subject,
		AppID:     c.AppID,
		Roles:     c.Roles,
		Scopes:    c.Scopes,
		IDType:    c.IDType,
		TokenID:   c.TokenID,
		ExpiresAt: c.Expiry.Time(),
	}, nil
}
