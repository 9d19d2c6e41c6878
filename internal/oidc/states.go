package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Kinds of short-lived state this package keeps in the store.
//
//	authreq  a validated authorization request waiting for sign-in; id random,
//	         consumed by Finish or Deny
//	code     an authorization code; id = SHA-256 of the code, consumed once
//	refresh  a refresh token; id = SHA-256 of the token, consumed on rotation
//
// and the device flow's kinds (device.go).
//
// Codes and refresh tokens of one sign-in share a Family, so a replay can
// revoke everything the sign-in led to, and carry the user as Subject.
const (
	kindAuthRequest = "authreq"
	kindCode        = "code"
	kindRefresh     = "refresh"
)

// secretBytes is the entropy of codes, refresh tokens and request ids.
const secretBytes = 32

// newSecret returns 256 random bits in base64url: a code, a refresh token,
// a family or request id.
func newSecret() string {
	b := make([]byte, secretBytes)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// secretID is the store id of a bearer secret: the secret itself is never
// stored, so a leaked table redeems nothing.
func secretID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// grant is what a code or a refresh token stands for: one user's sign-in to
// one client with the scopes granted then.
type grant struct {
	ClientID string `json:"cid"`
	// Public: issued through a public client's redirect URI, so redeemable
	// without client authentication.
	Public      bool      `json:"pub,omitempty"`
	UserID      string    `json:"uid"`
	OIDC        []string  `json:"oidc,omitempty"` // requested OpenID scopes
	Permissions []string  `json:"scp,omitempty"`  // granted delegated permissions
	AuthTime    time.Time `json:"at"`
	AMR         []string  `json:"amr,omitempty"`
	SessionID   string    `json:"sid,omitempty"`
	// A guest's sign-in: the identity provider that authenticated them
	// (the idp claim), and their home account when it is in this
	// deployment (MSAL's client_info). Refresh tokens keep them.
	IdP          string `json:"idp,omitempty"`
	HomeTenantID string `json:"htid,omitempty"`
	HomeObjectID string `json:"hoid,omitempty"`
	// HomeAMR is the guest's home token's amr (authn.Authentication).
	HomeAMR []string `json:"hamr,omitempty"`

	// Only in codes: what the redemption must repeat.
	RedirectURI   string `json:"ru,omitempty"`
	CodeChallenge string `json:"cc,omitempty"`
	Nonce         string `json:"nonce,omitempty"`
}

func (p *Provider) putState(ctx context.Context, tenantID, kind, id, family, subject string, data any, ttl time.Duration) error {
	now := p.cfg.Now()
	s, err := newState(tenantID, kind, id, family, subject, data, now, now.Add(ttl))
	if err != nil {
		return err
	}
	return storeErr(p.st.Update(ctx, func(tx store.Tx) error { return tx.PutState(ctx, s) }))
}

// newState encodes data into a state created at now.
func newState(tenantID, kind, id, family, subject string, data any, now, expires time.Time) (store.State, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return store.State{}, fmt.Errorf("oidc: encoding %s state: %w", kind, err)
	}
	return store.State{TenantID: tenantID, Kind: kind, ID: id, Family: family, Subject: subject, Data: raw, CreatedAt: now, ExpiresAt: expires}, nil
}

// getState reads a state, consumed or not. A missing state is
// store.ErrNotFound; other failures wrap errUnavailable.
func (p *Provider) getState(ctx context.Context, tenantID, kind, id string) (store.State, error) {
	var s store.State
	err := p.st.View(ctx, func(tx store.Tx) error {
		var err error
		s, err = tx.GetState(ctx, tenantID, kind, id)
		return err
	})
	return s, storeErr(err)
}

// consumeState uses a state once. store.ErrNotFound and store.ErrConsumed
// come back unwrapped for the caller to decide; other failures wrap
// errUnavailable.
func (p *Provider) consumeState(ctx context.Context, tenantID, kind, id string) (store.State, error) {
	var s store.State
	err := p.st.Update(ctx, func(tx store.Tx) error {
		var err error
		s, err = tx.ConsumeState(ctx, tenantID, kind, id)
		return err
	})
	return s, storeErr(err)
}

// revokeFamily deletes every code and refresh token of a sign-in.
func (p *Provider) revokeFamily(ctx context.Context, tenantID, family string) error {
	if family == "" {
		return errors.New("oidc: revoking a state family without an id")
	}
	return storeErr(p.st.Update(ctx, func(tx store.Tx) error {
		_, err := tx.DeleteStates(ctx, tenantID, store.StateFilter{Family: family})
		return err
	}))
}

// storeErr marks store failures as errUnavailable, leaving the store's
// answers about the state itself (not found, consumed) as they are.
func storeErr(err error) error {
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConsumed) {
		return err
	}
	return fmt.Errorf("%w: %w", errUnavailable, err)
}

func decodeState[T any](s store.State) (T, error) {
	var v T
	if err := json.Unmarshal(s.Data, &v); err != nil {
		return v, fmt.Errorf("oidc: decoding %s state: %w", s.Kind, err)
	}
	return v, nil
}
