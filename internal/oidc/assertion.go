package oidc

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Certificate client authentication (RFC 7523's private_key_jwt, as Entra
// takes it): the client signs a JWT with the private key of a certificate
// its application holds in keyCredentials, names the certificate by its
// thumbprint (x5t, or x5t#S256), and sends it as client_assertion. The
// assertion is accepted once: its jti is remembered until it expires, and it
// may not be valid for longer than maxAssertionLifetime, which bounds what
// is remembered.

const (
	assertionType        = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	kindAssertion        = "assertion" // a client assertion's jti, seen once
	maxAssertionLifetime = time.Hour
	assertionLeeway      = time.Minute // clock skew allowed on nbf and exp
)

var assertionAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.PS256}

type assertionClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	ID        string           `json:"jti"`
}

// authenticateAssertion checks the client assertion of a request to the
// tenant's token endpoint and returns the application it authenticates.
func (s *opServer) authenticateAssertion(ctx context.Context, tid string, cc *op.ClientCredentials) (App, error) {
	if cc.ClientAssertionType != assertionType {
		return App{}, invalidClient("AADSTS50027: client_assertion_type must be "+assertionType+".", nil)
	}
	tok, err := jwt.ParseSigned(cc.ClientAssertion, assertionAlgs)
	if err != nil || len(tok.Headers) != 1 {
		return App{}, invalidClient("AADSTS50027: The client assertion is not a JWT signed with RS256 or PS256.", err)
	}
	var c assertionClaims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		return App{}, invalidClient("AADSTS50027: The client assertion's claims are malformed.", err)
	}
	if c.Subject == "" || c.Issuer != c.Subject || (cc.ClientID != "" && cc.ClientID != c.Subject) {
		return App{}, invalidClient("AADSTS50027: The client assertion's iss and sub must both be the client_id.", nil)
	}
	if !s.p.isTokenEndpoint(ctx, tid, c.Audience) {
		return App{}, invalidClient("AADSTS50027: The client assertion's aud must be this tenant's token endpoint.", nil)
	}
	now := s.p.cfg.Now()
	if c.Expiry == nil || c.ID == "" {
		return App{}, invalidClient("AADSTS50027: The client assertion must carry exp and jti.", nil)
	}
	exp := c.Expiry.Time()
	if !now.Before(exp.Add(assertionLeeway)) || (c.NotBefore != nil && now.Add(assertionLeeway).Before(c.NotBefore.Time())) {
		return App{}, invalidClient("AADSTS700024: Client assertion is not within its valid time range.", nil)
	}
	if exp.Sub(now) > maxAssertionLifetime {
		return App{}, invalidClient(fmt.Sprintf("AADSTS700024: Client assertion is valid for more than %s.", maxAssertionLifetime), nil)
	}
	header := tok.Headers[0]
	var verifyErr error
	app, err := s.p.dir.AuthenticateAppWithCertificate(ctx, tid, c.Subject, func(certs []*x509.Certificate) error {
		cert := named(header, certs)
		if cert == nil {
			verifyErr = errors.New("no certificate of the application matches the assertion's x5t")
			return verifyErr
		}
		var verified assertionClaims
		verifyErr = tok.Claims(cert.PublicKey, &verified)
		return verifyErr
	})
	if errors.Is(err, ErrInvalidClient) {
		return App{}, invalidClient("AADSTS700027: Client assertion failed signature validation.", errors.Join(err, verifyErr))
	}
	if err != nil {
		return App{}, serverError(fmt.Errorf("%w: authenticating client: %w", errUnavailable, err))
	}
	// Only a verified assertion is remembered, so no one can spend
	// another client's jti.
	sum := sha256.Sum256([]byte(c.Subject + "\x00" + c.ID))
	st, err := newState(tid, kindAssertion, base64.RawURLEncoding.EncodeToString(sum[:]), "", c.Subject, struct{}{}, now, exp.Add(assertionLeeway))
	if err != nil {
		return App{}, serverError(err)
	}
	err = storeErr(s.p.st.Update(ctx, func(tx store.Tx) error { return tx.PutState(ctx, st) }))
	var conflict *store.ConflictError
	if errors.As(err, &conflict) {
		return App{}, invalidClient("AADSTS50027: The client assertion was already used; make a new one, with a new jti, for every request.", nil)
	}
	if err != nil {
		return App{}, serverError(err)
	}
	return app, nil
}

// named finds the certificate an assertion's header names by thumbprint.
func named(h jose.Header, certs []*x509.Certificate) *x509.Certificate {
	x5t, _ := h.ExtraHeaders["x5t"].(string)
	x5t256, _ := h.ExtraHeaders["x5t#S256"].(string)
	for _, cert := range certs {
		sha1Sum, sha256Sum := sha1.Sum(cert.Raw), sha256.Sum256(cert.Raw)
		if x5t256 != "" && same(x5t256, sha256Sum[:]) || x5t != "" && same(x5t, sha1Sum[:]) {
			return cert
		}
	}
	return nil
}

// same compares a base64url thumbprint (padded or not) with a digest.
func same(encoded string, digest []byte) bool {
	got, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(encoded, "="))
	return err == nil && subtle.ConstantTimeCompare(got, digest) == 1
}

// isTokenEndpoint reports whether an assertion's audience names the
// tenant's token endpoint, with the tenant as its id or as any name that
// resolves to it (a client configured with a domain authority).
func (p *Provider) isTokenEndpoint(ctx context.Context, tid string, aud jwt.Audience) bool {
	for _, a := range aud {
		rest, ok := strings.CutPrefix(a, p.cfg.PublicURL+"/")
		if !ok {
			continue
		}
		segment, ok := strings.CutSuffix(rest, "/oauth2/v2.0/token")
		if !ok || strings.Contains(segment, "/") {
			continue
		}
		if segment == tid {
			return true
		}
		if resolved, err := p.dir.ResolveTenant(ctx, segment); err == nil && resolved == tid {
			return true
		}
	}
	return false
}
