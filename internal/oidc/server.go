package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// opServer implements op.Server for the endpoints this package serves:
// discovery, keys and the client_credentials grant. Every other op.Server
// method is op.UnimplementedServer's, which answers unsupported_grant_type
// for other grants and 404 for other endpoints, and no route leads to those
// endpoints anyway.
type opServer struct {
	op.UnimplementedServer
	p *Provider
}

// claimsSupported are the claims this issuer's tokens carry.
var claimsSupported = []string{
	"aud", "iss", "iat", "nbf", "exp", "sub", "oid", "tid",
	"azp", "azpacr", "appid", "roles", "idtyp", "ver", "uti", "jti",
}

// Discovery lists only what works today: the token endpoint with
// client_credentials and the keys. Authorization, userinfo and logout
// endpoints appear when they are served.
func (s *opServer) Discovery(ctx context.Context, _ *op.Request[struct{}]) (*op.Response, error) {
	tid, err := tenantFrom(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	base := s.p.tenantBase(tid)
	resp := op.NewResponse(&zoidc.DiscoveryConfiguration{
		Issuer:                            s.p.issuer(tid),
		TokenEndpoint:                     base + "/oauth2/v2.0/token",
		JwksURI:                           base + "/discovery/v2.0/keys",
		GrantTypesSupported:               []zoidc.GrantType{zoidc.GrantTypeClientCredentials},
		TokenEndpointAuthMethodsSupported: []zoidc.AuthMethod{zoidc.AuthMethodPost, zoidc.AuthMethodBasic},
		IDTokenSigningAlgValuesSupported:  []string{string(jose.RS256)},
		// The only subjects issued today are service principals' object ids,
		// the same for every resource. Entra's "pairwise" belongs to user
		// sign-in, which advertises it when it exists.
		SubjectTypesSupported: []string{"public"},
		ClaimsSupported:       claimsSupported,
	})
	resp.Header.Set("Cache-Control", "public, max-age=3600")
	return resp, nil
}

// Keys publishes the tenant's keys, creating the tenant's first key if it has
// none, so that relying parties can fetch the JWKS before any token exists.
func (s *opServer) Keys(ctx context.Context, _ *op.Request[struct{}]) (*op.Response, error) {
	tid, err := tenantFrom(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	set, err := s.p.keys.published(ctx, tid)
	if err != nil {
		return nil, serverError(err)
	}
	resp := op.NewResponse(set)
	// Short, so that a newly added key reaches relying parties quickly even
	// if they do not refetch on an unknown kid.
	resp.Header.Set("Cache-Control", "public, max-age=300")
	return resp, nil
}

// VerifyClient authenticates the client of a token request. op has already
// taken the credentials from the Basic header or the form and refused
// requests that use both.
func (s *opServer) VerifyClient(ctx context.Context, r *op.Request[op.ClientCredentials]) (op.Client, error) {
	// op authenticates before dispatching on grant_type; refusing other
	// grants first keeps their answer unsupported_grant_type instead of an
	// authentication or unauthorized_client error.
	if gt := zoidc.GrantType(r.Form.Get("grant_type")); gt != zoidc.GrantTypeClientCredentials {
		return nil, zoidc.ErrUnsupportedGrantType().WithDescription("grant_type %q is not supported", gt)
	}
	tid, err := tenantFrom(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	cc := r.Data
	if cc.ClientAssertion != "" {
		return nil, invalidClient("client assertions (private_key_jwt) are not supported; authenticate with a client secret", nil)
	}
	if cc.ClientSecret == "" {
		return nil, invalidClient("AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", nil)
	}
	app, err := s.p.dir.AuthenticateApp(ctx, tid, cc.ClientID, cc.ClientSecret)
	if errors.Is(err, ErrInvalidClient) {
		return nil, invalidClient("client authentication failed", err)
	}
	if err != nil {
		return nil, serverError(fmt.Errorf("%w: authenticating client: %w", errUnavailable, err))
	}
	method := zoidc.AuthMethodPost
	if _, _, basic := (&http.Request{Header: r.Header}).BasicAuth(); basic {
		method = zoidc.AuthMethodBasic
	}
	return &appClient{app: app, method: method}, nil
}

// ClientCredentialsExchange issues an app-only access token for the Graph
// API to the authenticated client.
func (s *opServer) ClientCredentialsExchange(ctx context.Context, r *op.ClientRequest[zoidc.ClientCredentialsRequest]) (*op.Response, error) {
	tid, err := tenantFrom(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	client, ok := r.Client.(*appClient)
	if !ok {
		return nil, serverError(fmt.Errorf("oidc: unexpected client type %T", r.Client))
	}
	if err := s.p.checkAppScope(r.Data.Scope); err != nil {
		return nil, err
	}
	token, err := s.p.issueAppToken(ctx, tid, client.app)
	if err != nil {
		return nil, serverError(err)
	}
	secs := int64(s.p.cfg.AccessTokenLifetime / time.Second)
	resp := op.NewResponse(&tokenResponse{
		TokenType:    zoidc.BearerToken,
		ExpiresIn:    secs,
		ExtExpiresIn: secs,
		AccessToken:  token,
	})
	// RFC 6749 §5.1: token responses must not be cached.
	resp.Header.Set("Cache-Control", "no-store")
	resp.Header.Set("Pragma", "no-cache")
	return resp, nil
}

// tokenResponse is RFC 6749 §5.1's response with Entra's ext_expires_in,
// which MSAL reads.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
}

// checkAppScope enforces Entra's rule for client_credentials: one scope, the
// resource's identifier followed by /.default. The only resource is the
// Graph API at PublicURL. Entra takes everything before the last slash as the
// resource identifier, so an identifier written with a trailing slash gives
// "{PublicURL}//.default", which names the same resource.
func (p *Provider) checkAppScope(scopes []string) error {
	if len(scopes) == 0 {
		return zoidc.ErrInvalidRequest().WithDescription("AADSTS900144: The request body must contain the following parameter: 'scope'.")
	}
	if len(scopes) == 1 && (scopes[0] == p.cfg.PublicURL+"/.default" || scopes[0] == p.cfg.PublicURL+"//.default") {
		return nil
	}
	return zoidc.ErrInvalidScope().WithDescription(
		"AADSTS1002012: The provided value for scope %q is not valid. Client credential flows must have a single scope value %s/.default.",
		zoidc.SpaceDelimitedArray(scopes).String(), p.cfg.PublicURL)
}

// appClient is an application authenticated at the token endpoint, in the
// form op's handlers inspect. It may use client_credentials and nothing
// else, so it has no redirect URIs, response types or ID-token settings;
// interactive clients are a different type.
type appClient struct {
	app    App
	method zoidc.AuthMethod
}

func (c *appClient) GetID() string                       { return c.app.AppID }
func (c *appClient) RedirectURIs() []string              { return nil }
func (c *appClient) PostLogoutRedirectURIs() []string    { return nil }
func (c *appClient) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *appClient) AuthMethod() zoidc.AuthMethod        { return c.method }
func (c *appClient) ResponseTypes() []zoidc.ResponseType { return nil }
func (c *appClient) GrantTypes() []zoidc.GrantType {
	return []zoidc.GrantType{zoidc.GrantTypeClientCredentials}
}
func (c *appClient) LoginURL(string) string               { return "" }
func (c *appClient) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (c *appClient) IDTokenLifetime() time.Duration       { return 0 }
func (c *appClient) DevMode() bool                        { return false }
func (c *appClient) IsScopeAllowed(string) bool           { return false }
func (c *appClient) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *appClient) ClockSkew() time.Duration             { return 0 }
func (c *appClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return noScopes
}
func (c *appClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return noScopes
}

func noScopes([]string) []string { return nil }

// errUnavailable marks failures of the store or the directory: the provider cannot
// answer now and says so with 503, failing closed.
var errUnavailable = errors.New("store or directory unavailable")

func invalidTenant() *zoidc.Error { return &zoidc.Error{ErrorType: "invalid_tenant"} }

func invalidClient(description string, parent error) error {
	return op.NewStatusError(zoidc.ErrInvalidClient().WithDescription("%s", description).WithParent(parent), http.StatusUnauthorized)
}

// serverError turns an internal failure into an OAuth error whose
// description reveals nothing internal; the cause stays in the parent,
// which op logs but does not send.
func serverError(err error) error {
	if errors.Is(err, errUnavailable) {
		e := &zoidc.Error{ErrorType: "temporarily_unavailable", Description: "the service is temporarily unavailable; retry later", Parent: err}
		return op.NewStatusError(e, http.StatusServiceUnavailable)
	}
	return op.NewStatusError(zoidc.ErrServerError().WithDescription("internal error").WithParent(err), http.StatusInternalServerError)
}
