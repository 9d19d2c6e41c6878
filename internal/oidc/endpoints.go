package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// userInfo is the userinfo response: Entra's claims for the signed-in user,
// as far as the token's scopes allow.
type userInfo struct {
	Subject           string `json:"sub"`
	ObjectID          string `json:"oid"`
	TenantID          string `json:"tid"`
	Name              string `json:"name,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Email             string `json:"email,omitempty"`
	EmailVerified     bool   `json:"email_verified,omitempty"` // as in the ID token
}

// UserInfo answers for a delegated access token of this tenant that carries
// the openid scope, with the user as the directory knows them now.
func (s *opServer) UserInfo(ctx context.Context, r *op.Request[zoidc.UserInfoRequest]) (*op.Response, error) {
	tid, err := tenantFrom(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	at, err := s.p.VerifyAccessToken(ctx, r.Data.AccessToken)
	if errors.Is(err, ErrInvalidToken) {
		return nil, invalidToken("the access token is not valid", err)
	}
	if err != nil {
		return nil, serverError(fmt.Errorf("%w: verifying access token: %w", errUnavailable, err))
	}
	scopes := strings.Fields(at.Scopes)
	switch {
	case !at.Delegated:
		return nil, invalidToken("userinfo needs a token issued for a user", nil)
	case at.TenantID != tid:
		return nil, invalidToken("the access token was issued by another tenant", nil)
	case !slices.Contains(scopes, scopeOpenID):
		return nil, op.NewStatusError(&zoidc.Error{ErrorType: "insufficient_scope", Description: "userinfo needs the openid scope"}, http.StatusForbidden)
	}
	u, err := s.p.dir.User(ctx, tid, at.ObjectID, at.AppID)
	if denied := (*AccessDenied)(nil); errors.Is(err, ErrUserGone) || errors.As(err, &denied) {
		return nil, invalidToken("the user is disabled, deleted or no longer allowed in", err)
	}
	if err != nil {
		return nil, serverError(fmt.Errorf("%w: reading user: %w", errUnavailable, err))
	}
	info := userInfo{Subject: at.Subject, ObjectID: u.ObjectID, TenantID: tid}
	if slices.Contains(scopes, scopeProfile) {
		info.Name, info.PreferredUsername = u.DisplayName, u.PreferredUsername
	}
	if slices.Contains(scopes, scopeEmail) {
		info.Email, info.EmailVerified = u.Email, u.Email != ""
	}
	resp := op.NewResponse(info)
	resp.Header.Set("Cache-Control", "no-store")
	return resp, nil
}

// invalidToken is RFC 6750's error for a bearer token that is not accepted.
func invalidToken(description string, parent error) error {
	return op.NewStatusError(&zoidc.Error{ErrorType: "invalid_token", Description: description, Parent: parent}, http.StatusUnauthorized)
}

// Revocation revokes a refresh token and every token of its sign-in (RFC
// 7009). Access tokens are self-contained and expire by themselves. The
// answer is 200 whether or not anything was revoked, so it reveals nothing
// about tokens the caller does not hold; a token of another client, or of a
// confidential client that did not authenticate, is left alone.
func (s *opServer) Revocation(ctx context.Context, r *op.ClientRequest[zoidc.RevocationRequest]) (*op.Response, error) {
	tid, client, err := s.grantContext(ctx, r.Client)
	if err != nil {
		return nil, err
	}
	st, err := s.p.getState(ctx, tid, kindRefresh, secretID(r.Data.Token))
	if errors.Is(err, store.ErrNotFound) {
		return op.NewResponse(struct{}{}), nil
	}
	if err != nil {
		return nil, serverError(err)
	}
	g, err := decodeState[grant](st)
	if err != nil {
		return nil, serverError(err)
	}
	if g.ClientID == client.id && (g.Public || client.authenticated()) {
		if err := s.p.revokeFamily(ctx, tid, st.Family); err != nil {
			return nil, serverError(err)
		}
	}
	return op.NewResponse(struct{}{}), nil
}

// introspection is RFC 7662's response with Entra's tid and oid.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Expiry    int64  `json:"exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
	Subject   string `json:"sub,omitempty"`
	Audience  string `json:"aud,omitempty"`
	Issuer    string `json:"iss,omitempty"`
	TokenID   string `json:"jti,omitempty"`
	TenantID  string `json:"tid,omitempty"`
	ObjectID  string `json:"oid,omitempty"`
	IDType    string `json:"idtyp,omitempty"`
}

// Introspect tells an authenticated client of the tenant whether a token is
// active: an access token issued by this tenant, or a refresh token issued
// to the caller itself. Anything else is {"active": false}.
func (s *opServer) Introspect(ctx context.Context, r *op.Request[op.IntrospectionRequest]) (*op.Response, error) {
	tid, err := tenantFrom(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	cc := r.Data.ClientCredentials
	if cc.ClientAssertion != "" {
		return nil, invalidClient("client assertions (private_key_jwt) are not supported; authenticate with a client secret", nil)
	}
	app, err := s.p.dir.AuthenticateApp(ctx, tid, cc.ClientID, cc.ClientSecret)
	if errors.Is(err, ErrInvalidClient) {
		return nil, invalidClient("client authentication failed", err)
	}
	if err != nil {
		return nil, serverError(fmt.Errorf("%w: authenticating client: %w", errUnavailable, err))
	}
	out, err := s.p.introspect(ctx, tid, app.AppID, r.Data.Token)
	if err != nil {
		return nil, serverError(err)
	}
	resp := op.NewResponse(out)
	resp.Header.Set("Cache-Control", "no-store")
	return resp, nil
}

func (p *Provider) introspect(ctx context.Context, tid, clientID, token string) (introspection, error) {
	st, err := p.getState(ctx, tid, kindRefresh, secretID(token))
	switch {
	case err == nil && st.ConsumedAt == nil:
		g, err := decodeState[grant](st)
		if err != nil {
			return introspection{}, err
		}
		if g.ClientID != clientID {
			return introspection{}, nil
		}
		if _, revoked, err := p.grantRevoked(ctx, tid, g); err != nil {
			return introspection{}, fmt.Errorf("%w: reading revocations: %w", errUnavailable, err)
		} else if revoked {
			return introspection{}, nil
		}
		return introspection{
			Active: true, TokenType: "refresh_token", ClientID: g.ClientID,
			Scope:    strings.Join(append(tokenScopes(g.OIDC, g.Permissions), scopeOfflineAccess), " "),
			IssuedAt: st.CreatedAt.Unix(), Expiry: st.ExpiresAt.Unix(), Issuer: p.issuer(tid),
			Subject: p.pairwiseSubject(tid, g.UserID, g.ClientID), TenantID: tid, ObjectID: g.UserID,
		}, nil
	case err == nil, errors.Is(err, store.ErrNotFound):
	default:
		return introspection{}, err
	}
	at, err := p.VerifyAccessToken(ctx, token)
	if errors.Is(err, ErrInvalidToken) {
		return introspection{}, nil
	}
	if err != nil {
		return introspection{}, fmt.Errorf("%w: verifying access token: %w", errUnavailable, err)
	}
	if at.TenantID != tid {
		return introspection{}, nil
	}
	return introspection{
		Active: true, TokenType: zoidc.BearerToken, ClientID: at.AppID, Scope: at.Scopes,
		Expiry: at.ExpiresAt.Unix(), Subject: at.Subject, Audience: p.cfg.PublicURL, Issuer: p.issuer(tid),
		TokenID: at.TokenID, TenantID: tid, ObjectID: at.ObjectID, IDType: at.IDType,
	}, nil
}
