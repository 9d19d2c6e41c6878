package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/revocation"
	"github.com/gatehouse-id/gatehouse/internal/sessionpolicy"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Codes and refresh tokens.
//
// A sign-in's code and every refresh token descending from it share a state
// Family. Redemption reads the state, checks it, issues the new tokens and
// stores the next refresh token, and only then consumes the state it
// redeemed (ConsumeState, exactly once). A redemption that finds its state
// already consumed revokes the whole family. Because the winner stores its
// refresh token before it consumes, any loser's revocation comes after that
// store and deletes it too: a code or refresh token presented twice, even
// concurrently, leaves no refresh token of the family alive.

// CodeExchange redeems an authorization code (RFC 6749 §4.1.3, RFC 7636).
func (s *opServer) CodeExchange(ctx context.Context, r *op.ClientRequest[zoidc.AccessTokenRequest]) (*op.Response, error) {
	tid, client, err := s.grantContext(ctx, r.Client)
	if err != nil {
		return nil, err
	}
	st, g, err := s.p.readGrant(ctx, tid, kindCode, r.Data.Code, client,
		"AADSTS70008: The provided authorization code is invalid or has expired.",
		"AADSTS54005: OAuth2 Authorization code was already redeemed; every token issued from it is revoked.")
	if err != nil {
		return nil, err
	}
	if r.Data.RedirectURI != g.RedirectURI {
		return nil, invalidGrant("AADSTS500112: The redirect_uri does not match the one of the authorization request.")
	}
	switch {
	case g.CodeChallenge != "" && !verifyPKCE(g.CodeChallenge, r.Data.CodeVerifier):
		return nil, invalidGrant("AADSTS501481: The code_verifier does not match the code_challenge supplied in the authorization request.")
	case g.CodeChallenge == "" && r.Data.CodeVerifier != "":
		// A verifier for a code issued without a challenge means the
		// challenge was stripped somewhere (RFC 9700 §2.1.1).
		return nil, invalidGrant("code_verifier sent for a code issued without code_challenge")
	}
	nonce := g.Nonce
	next := g
	next.RedirectURI, next.CodeChallenge, next.Nonce = "", "", ""
	return s.p.redeem(ctx, tid, client, st, g, next, nonce, r.Form)
}

// RefreshToken redeems and rotates a refresh token. The user must still be
// allowed to sign in, with no session revocation since the sign-in, and the
// delegated permissions must still be granted.
func (s *opServer) RefreshToken(ctx context.Context, r *op.ClientRequest[zoidc.RefreshTokenRequest]) (_ *op.Response, err error) {
	var g grant
	defer func() { s.p.noteGrant(ctx, r.Client.GetID(), g, err) }()
	tid, client, err := s.grantContext(ctx, r.Client)
	if err != nil {
		return nil, err
	}
	st, g, err := s.p.readGrant(ctx, tid, kindRefresh, r.Data.RefreshToken, client,
		"AADSTS9002313: The refresh token is invalid or has expired.",
		"AADSTS70043: The refresh token was already used; every token of this sign-in is revoked.")
	if err != nil {
		return nil, err
	}
	granted, err := s.p.dir.GrantedScopes(ctx, tid, g.UserID, g.ClientID)
	if err != nil {
		return nil, serverError(fmt.Errorf("%w: reading consent: %w", errUnavailable, err))
	}
	if _, missing := (scopeRequest{Permissions: g.Permissions}).grant(granted); len(missing) > 0 {
		if err := s.p.revokeFamily(ctx, tid, st.Family); err != nil {
			return nil, serverError(err)
		}
		return nil, invalidGrant(fmt.Sprintf("AADSTS65001: The user or administrator has not consented to use the application with ID '%s'. Missing: %s.", g.ClientID, strings.Join(missing, " ")))
	}
	issue := g
	if len(r.Data.Scopes) > 0 {
		if issue, err = s.p.narrow(g, r.Data.Scopes); err != nil {
			return nil, err
		}
	}
	return s.p.redeem(ctx, tid, client, st, issue, g, "", r.Form)
}

func (s *opServer) grantContext(ctx context.Context, c op.Client) (string, *tokenClient, error) {
	tid, err := tenantFrom(ctx)
	if err != nil {
		return "", nil, serverError(err)
	}
	client, ok := c.(*tokenClient)
	if !ok {
		return "", nil, serverError(fmt.Errorf("oidc: unexpected client type %T", c))
	}
	return tid, client, nil
}

// readGrant finds the unconsumed code or refresh token secret of the tenant,
// issued to client. A consumed one is a replay: its family is revoked.
func (p *Provider) readGrant(ctx context.Context, tid, kind, secret string, client *tokenClient, invalid, replayed string) (store.State, grant, error) {
	st, err := p.getState(ctx, tid, kind, secretID(secret))
	if errors.Is(err, store.ErrNotFound) {
		return st, grant{}, invalidGrant(invalid)
	}
	if err != nil {
		return st, grant{}, serverError(err)
	}
	if st.ConsumedAt != nil {
		slog.WarnContext(ctx, "oidc: replayed grant; revoking its family", "tenant", tid, "kind", kind, "subject", st.Subject)
		if err := p.revokeReplayed(ctx, tid, st); err != nil {
			return st, grant{}, serverError(err)
		}
		return st, grant{}, invalidGrant(replayed)
	}
	g, err := decodeState[grant](st)
	if err != nil {
		return st, grant{}, serverError(err)
	}
	if g.ClientID != client.id {
		return st, grant{}, invalidGrant(fmt.Sprintf("%s It was issued to another client.", invalid))
	}
	if !g.Public && !client.authenticated() {
		return st, grant{}, invalidClient("AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", nil)
	}
	return st, g, nil
}

// narrow limits the tokens of a refresh to the scopes the request names,
// which must be among the grant's. The rotated refresh token keeps the
// whole grant.
func (p *Provider) narrow(g grant, scopes []string) (grant, error) {
	sr, err := p.parseScopes(scopes)
	if err != nil {
		return g, err
	}
	for _, s := range sr.OIDC {
		if !slices.Contains(g.OIDC, s) {
			return g, zoidc.ErrInvalidScope().WithDescription("AADSTS70000: scope %q was not granted to this refresh token", s)
		}
	}
	perms, missing := sr.grant(g.Permissions)
	if len(missing) > 0 {
		return g, zoidc.ErrInvalidScope().WithDescription("AADSTS70000: scope %q was not granted to this refresh token", missing[0])
	}
	g.OIDC, g.Permissions = sr.OIDC, perms
	return g, nil
}

// redeem issues tokens for the grant of from (a code or a refresh token),
// stores the next refresh token when offline_access was granted, and then
// consumes from. issue is what the new tokens carry; next is what the next
// refresh token stands for. The tokens are signed with the client's algorithm.
func (p *Provider) redeem(ctx context.Context, tid string, client *tokenClient, from store.State, issue, next grant, nonce string, form url.Values) (*op.Response, error) {
	alg, err := p.signingAlg(ctx, tid, client.alg)
	if err != nil {
		return nil, serverError(err)
	}
	u, err := p.dir.User(ctx, tid, issue.UserID, issue.ClientID)
	var denied *AccessDenied
	switch {
	case errors.Is(err, ErrUserGone):
		return nil, p.revokeWith(ctx, tid, from.Family, "AADSTS50057: The user account is disabled or deleted.")
	case errors.As(err, &denied):
		return nil, invalidGrant(denied.Description)
	case err != nil:
		return nil, serverError(fmt.Errorf("%w: reading user: %w", errUnavailable, err))
	case u.SessionsValidFrom.After(issue.AuthTime):
		return nil, p.revokeWith(ctx, tid, from.Family, "AADSTS50173: The provided grant has expired due to it being revoked; the user must sign in again.")
	}
	if _, revoked, err := p.grantRevoked(ctx, tid, issue); err != nil {
		return nil, serverError(fmt.Errorf("%w: reading revocations: %w", errUnavailable, err))
	} else if revoked {
		return nil, p.revokeWith(ctx, tid, from.Family, "AADSTS50173: The provided grant has expired due to it being revoked; the user must sign in again.")
	}
	// The session policy bounds refresh families: a code redeemed without
	// offline_access neither uses nor starts one, so it needs no read.
	offline := slices.Contains(next.OIDC, scopeOfflineAccess)
	var policy sessionpolicy.Policy
	if from.Kind == kindRefresh || offline {
		if policy, err = p.dir.SessionPolicy(ctx, tid); err != nil {
			return nil, serverError(fmt.Errorf("%w: reading the session policy: %w", errUnavailable, err))
		}
	}
	now := p.cfg.Now()
	// A refresh token was last used when it was issued: each use replaces it.
	if from.Kind == kindRefresh && !policy.Refresh.Allows(issue.AuthTime, from.CreatedAt, now) {
		return nil, p.revokeWith(ctx, tid, from.Family, "AADSTS700082: The refresh token has expired due to inactivity or its sign-in is older than the organization's session policy allows; the user must sign in again.")
	}
	tokens, err := p.issueUserTokens(ctx, tid, alg, issue, u, nonce)
	if err != nil {
		return nil, serverError(err)
	}
	resp := tokenResponse{AccessToken: tokens.AccessToken, IDToken: tokens.IDToken, Scope: strings.Join(tokenScopes(issue.OIDC, issue.Permissions), " ")}
	// The family ends at its maximum age however often it is refreshed; a
	// sign-in already that old gets no refresh token.
	if ttl := min(p.cfg.RefreshTokenLifetime, policy.Refresh.Expiry(next.AuthTime, now).Sub(now)); offline && ttl > 0 {
		rt := newGrantSecret(tid)
		if err := p.putState(ctx, tid, kindRefresh, secretID(rt), from.Family, next.UserID, next, ttl); err != nil {
			return nil, serverError(err)
		}
		resp.RefreshToken = rt
		resp.Scope += " " + scopeOfflineAccess
	}
	if _, err := p.consumeState(ctx, tid, from.Kind, from.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConsumed) {
			// Another redemption of the same secret got there first.
			if err := p.revokeReplayed(ctx, tid, from); err != nil {
				return nil, serverError(err)
			}
			return nil, invalidGrant("AADSTS54005: The grant was already redeemed; every token issued from it is revoked.")
		}
		return nil, serverError(err)
	}
	if form.Get("client_info") == "1" {
		resp.ClientInfo = clientInfo(u, issue)
	}
	p.noteIssued(ctx, tid, grantTypeOf(from.Kind))
	return p.tokenResponse(resp), nil
}

// grantRevoked finds the revocation, if any, of what a code or refresh
// token stands for: its user, client or session, after the user
// authenticated.
func (p *Provider) grantRevoked(ctx context.Context, tid string, g grant) (revocation.Fact, bool, error) {
	return p.revocations.Revoked(ctx, tid, revocation.Subject{UserID: g.UserID, ClientID: g.ClientID, SessionID: g.SessionID, IssuedAt: g.AuthTime})
}

// revokeReplayed answers a code or refresh token presented twice: its
// family goes. A replayed code means the code was stolen, so the sign-in it
// came from ends too: its SSO session, and the access tokens issued to the
// client through that session (package revocation), in one transaction.
func (p *Provider) revokeReplayed(ctx context.Context, tid string, st store.State) error {
	if st.Kind != kindCode {
		return p.revokeFamily(ctx, tid, st.Family)
	}
	g, err := decodeState[grant](st)
	if err != nil {
		return err
	}
	err = p.st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.DeleteStates(ctx, tid, store.StateFilter{Family: st.Family}); err != nil {
			return err
		}
		return revocation.Record(ctx, tx, tid, revocation.Fact{At: p.cfg.Now(), UserID: g.UserID, ClientID: g.ClientID, SessionID: g.SessionID, Reason: "authorization code replayed"})
	})
	if err != nil {
		return storeErr(err)
	}
	p.revocations.Forget(tid)
	return nil
}

// revokeWith revokes a family and returns the invalid_grant saying why.
func (p *Provider) revokeWith(ctx context.Context, tid, family, description string) error {
	if err := p.revokeFamily(ctx, tid, family); err != nil {
		return serverError(err)
	}
	return invalidGrant(description)
}

// clientInfo is MSAL's client_info: base64url JSON of the home account's
// object and tenant ids, from which MSAL keys its token cache. A guest
// whose home account is in this deployment is known by it, as Entra does,
// so MSAL files their tokens of every tenant under one account.
func clientInfo(u User, g grant) string {
	uid, utid := u.ObjectID, u.TenantID
	if g.HomeTenantID != "" && g.HomeObjectID != "" {
		uid, utid = g.HomeObjectID, g.HomeTenantID
	}
	b, _ := json.Marshal(struct {
		UID  string `json:"uid"`
		UTID string `json:"utid"`
	}{uid, utid})
	return base64.RawURLEncoding.EncodeToString(b)
}

func invalidGrant(description string) error {
	return op.NewStatusError(zoidc.ErrInvalidGrant().WithDescription("%s", description), http.StatusBadRequest)
}
