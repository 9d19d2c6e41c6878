package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/authn"
)

// opServer implements op.Server for the machine-facing endpoints:
// discovery, keys, device authorization, the token endpoint
// (client_credentials, authorization_code, refresh_token, device_code),
// userinfo, revocation and introspection. Every other op.Server method is op.UnimplementedServer's,
// which answers unsupported_grant_type for other grants, and no route leads
// to the other endpoints.
type opServer struct {
	op.UnimplementedServer
	p *Provider
}

// claimsSupported are the claims this issuer's tokens carry.
var claimsSupported = []string{
	"aud", "iss", "iat", "nbf", "exp", "sub", "oid", "tid", "ver",
	"name", "preferred_username", "email", "email_verified", "amr", "auth_time", "nonce", "sid", "at_hash",
	"azp", "azpacr", "appid", "roles", "scp", "idtyp", "uti", "jti", "idp", "acct",
}

// tokenGrants are the grant types the token endpoint serves.
var tokenGrants = []zoidc.GrantType{zoidc.GrantTypeCode, zoidc.GrantTypeRefreshToken, zoidc.GrantTypeClientCredentials, zoidc.GrantTypeDeviceCode}

// publicGrants are the grants of a client that did not authenticate.
var publicGrants = []zoidc.GrantType{zoidc.GrantTypeCode, zoidc.GrantTypeRefreshToken, zoidc.GrantTypeDeviceCode}

// Discovery lists exactly what is served: a tenant's endpoints, or those of
// a tenant-independent endpoint.
func (s *opServer) Discovery(ctx context.Context, _ *op.Request[struct{}]) (*op.Response, error) {
	var d *zoidc.DiscoveryConfiguration
	if ep, ok := anyOrgFrom(ctx); ok {
		d = s.p.anyOrgDiscovery(ep)
	} else {
		tid, err := tenantFrom(ctx)
		if err != nil {
			return nil, serverError(err)
		}
		base := s.p.tenantBase(tid)
		d = s.p.discovery(s.p.issuer(tid), base, base+pathKeys)
		d.UserinfoEndpoint = base + pathUserinfo
		d.EndSessionEndpoint = base + pathLogout
		d.RevocationEndpoint = base + pathRevoke
		d.IntrospectionEndpoint = base + pathIntrospect
		d.DeviceAuthorizationEndpoint = base + pathDeviceCode
		d.GrantTypesSupported = tokenGrants
		d.RevocationEndpointAuthMethodsSupported = append(slices.Clone(secretMethods), zoidc.AuthMethodNone)
		d.IntrospectionEndpointAuthMethodsSupported = secretMethods
	}
	resp := op.NewResponse(discoveryDocument{DiscoveryConfiguration: d, AuthorizationResponseIssParameterSupported: true})
	resp.Header.Set("Cache-Control", "public, max-age=3600")
	return resp, nil
}

// discoveryDocument is zitadel's discovery document with what it lacks.
type discoveryDocument struct {
	*zoidc.DiscoveryConfiguration
	// Every authorization response names its issuer (RFC 9207).
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
}

// secretMethods are the ways a client authenticates with its secret.
var secretMethods = []zoidc.AuthMethod{zoidc.AuthMethodPost, zoidc.AuthMethodBasic}

// discovery is what every discovery document says: the issuer, the
// authorization and token endpoints under base, the keys, and the
// capabilities of the authorization endpoint and of the tokens.
func (p *Provider) discovery(issuer, base, jwksURI string) *zoidc.DiscoveryConfiguration {
	return &zoidc.DiscoveryConfiguration{
		Issuer:                                     issuer,
		AuthorizationEndpoint:                      base + pathAuthorize,
		TokenEndpoint:                              base + pathToken,
		JwksURI:                                    jwksURI,
		ScopesSupported:                            oidcScopes,
		ResponseTypesSupported:                     []string{string(zoidc.ResponseTypeCode)},
		ResponseModesSupported:                     []string{modeQuery, modeFragment, modeFormPost},
		SubjectTypesSupported:                      []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:           []string{string(jose.RS256), string(jose.ES256)},
		TokenEndpointAuthMethodsSupported:          append(slices.Clone(secretMethods), zoidc.AuthMethodPrivateKeyJWT, zoidc.AuthMethodNone),
		TokenEndpointAuthSigningAlgValuesSupported: []string{string(jose.RS256), string(jose.PS256)},
		CodeChallengeMethodsSupported:              []zoidc.CodeChallengeMethod{zoidc.CodeChallengeMethodS256},
		ClaimsSupported:                            claimsSupported,
	}
}

// Keys publishes the tenant's keys of every algorithm, creating the tenant's
// first key of its algorithm if it has none, so that relying parties can
// fetch the JWKS before any token exists.
func (s *opServer) Keys(ctx context.Context, _ *op.Request[struct{}]) (*op.Response, error) {
	tid, err := tenantFrom(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	alg, err := s.p.tenantAlg(ctx, tid)
	if err != nil {
		return nil, serverError(err)
	}
	set, err := s.p.keys.published(ctx, tid, alg)
	if err != nil {
		return nil, serverError(err)
	}
	resp := op.NewResponse(set)
	// Short, so that a newly added key reaches relying parties quickly even
	// if they do not refetch on an unknown kid.
	resp.Header.Set("Cache-Control", "public, max-age=300")
	return resp, nil
}

// VerifyClient identifies the client of a token or revocation request. op
// has already taken the credentials from the Basic header or the form and
// refused requests that use both. A client that sends a secret is
// authenticated; one that sends only its client_id is a public client, which
// may redeem only what was issued through a public redirect URI (checked
// where the code or refresh token is read).
func (s *opServer) VerifyClient(ctx context.Context, r *op.Request[op.ClientCredentials]) (op.Client, error) {
	// op authenticates before dispatching on grant_type; refusing other
	// grants first keeps their answer unsupported_grant_type instead of an
	// authentication or unauthorized_client error.
	gt := zoidc.GrantType(r.Form.Get("grant_type"))
	if r.URL.Path == opTokenPath && !slices.Contains(tokenGrants, gt) {
		return nil, zoidc.ErrUnsupportedGrantType().WithDescription("grant_type %q is not supported", gt)
	}
	tid, err := tenantFrom(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	cc := r.Data
	if cc.ClientAssertion != "" {
		app, err := s.authenticateAssertion(ctx, tid, cc)
		if err != nil {
			return nil, err
		}
		return &tokenClient{id: app.AppID, app: &app, method: zoidc.AuthMethodPrivateKeyJWT, alg: app.SigningAlg}, nil
	}
	if cc.ClientSecret == "" {
		if gt == zoidc.GrantTypeClientCredentials {
			return nil, invalidClient("AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", nil)
		}
		c, err := s.p.dir.Client(ctx, tid, cc.ClientID)
		if errors.Is(err, ErrInvalidClient) {
			return nil, invalidClient(fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory.", cc.ClientID), err)
		}
		if err != nil {
			return nil, serverError(fmt.Errorf("%w: looking up client: %w", errUnavailable, err))
		}
		return &tokenClient{id: c.AppID, method: zoidc.AuthMethodNone, alg: c.SigningAlg}, nil
	}
	app, err := s.p.authenticateSecret(ctx, tid, cc.ClientID, cc.ClientSecret)
	if err != nil {
		return nil, err
	}
	method := zoidc.AuthMethodPost
	if _, _, basic := (&http.Request{Header: r.Header}).BasicAuth(); basic {
		method = zoidc.AuthMethodBasic
	}
	return &tokenClient{id: app.AppID, app: &app, method: method, alg: app.SigningAlg}, nil
}

// authenticateSecret authenticates a confidential client by its secret; a
// wrong one is a failed sign-in of the application.
func (p *Provider) authenticateSecret(ctx context.Context, tid, clientID, secret string) (App, error) {
	app, err := p.dir.AuthenticateApp(ctx, tid, clientID, secret)
	if errors.Is(err, ErrInvalidClient) {
		p.noteSignIn(ctx, authn.SignIn{TenantID: tid, AppID: clientID, ErrorCode: 7000215, FailureReason: "Invalid client secret provided."}, nil)
		return App{}, invalidClient("client authentication failed", err)
	}
	if err != nil {
		return App{}, serverError(fmt.Errorf("%w: authenticating client: %w", errUnavailable, err))
	}
	return app, nil
}

// ClientCredentialsExchange issues an app-only access token for the Graph
// API to the authenticated client.
func (s *opServer) ClientCredentialsExchange(ctx context.Context, r *op.ClientRequest[zoidc.ClientCredentialsRequest]) (*op.Response, error) {
	tid, err := tenantFrom(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	client, ok := r.Client.(*tokenClient)
	if !ok || client.app == nil {
		return nil, serverError(fmt.Errorf("oidc: client_credentials for unauthenticated client %T", r.Client))
	}
	t, err := s.p.clientCredentials(ctx, tid, *client.app, r.Data.Scope)
	if err != nil {
		return nil, err
	}
	return s.p.tokenResponse(t), nil
}

// clientCredentials is the client_credentials grant of an authenticated
// application: an app-only access token for the API the scope names.
func (p *Provider) clientCredentials(ctx context.Context, tid string, app App, scopes []string) (tokenResponse, error) {
	if err := p.checkAppScope(scopes); err != nil {
		return tokenResponse{}, err
	}
	token, err := p.issueAppToken(ctx, tid, app)
	if err != nil {
		return tokenResponse{}, serverError(err)
	}
	p.noteSignIn(ctx, authn.SignIn{TenantID: tid, AppID: app.AppID, AppDisplayName: app.DisplayName, ServicePrincipalID: app.ServicePrincipalID}, nil)
	p.noteIssued(ctx, tid, GrantClientCredentials)
	return tokenResponse{AccessToken: token}, nil
}

// tokenResponse is RFC 6749 §5.1's response with Entra's ext_expires_in,
// which MSAL reads, and client_info for MSAL's account cache.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// tokenResponse completes and wraps a token response.
func (p *Provider) tokenResponse(t tokenResponse) *op.Response {
	secs := int64(p.cfg.AccessTokenLifetime / time.Second)
	t.TokenType, t.ExpiresIn, t.ExtExpiresIn = zoidc.BearerToken, secs, secs
	resp := op.NewResponse(&t)
	// RFC 6749 §5.1: token responses must not be cached.
	resp.Header.Set("Cache-Control", "no-store")
	resp.Header.Set("Pragma", "no-cache")
	return resp
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

// tokenClient is the client of a token or revocation request in the form
// op's handlers inspect. app is set when the client authenticated with its
// secret; a public client has only its id. Redirect URIs, response types and
// ID-token settings are this package's business, not op's, so they are empty.
type tokenClient struct {
	id     string
	app    *App
	method zoidc.AuthMethod
	alg    string // the application's own signing algorithm, "" for the tenant's
}

// authenticated: the client proved it holds a secret of the application.
func (c *tokenClient) authenticated() bool { return c.app != nil }

func (c *tokenClient) GetID() string                       { return c.id }
func (c *tokenClient) RedirectURIs() []string              { return nil }
func (c *tokenClient) PostLogoutRedirectURIs() []string    { return nil }
func (c *tokenClient) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *tokenClient) AuthMethod() zoidc.AuthMethod        { return c.method }
func (c *tokenClient) ResponseTypes() []zoidc.ResponseType { return nil }
func (c *tokenClient) GrantTypes() []zoidc.GrantType {
	if c.authenticated() {
		return tokenGrants
	}
	return publicGrants
}
func (c *tokenClient) LoginURL(string) string               { return "" }
func (c *tokenClient) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (c *tokenClient) IDTokenLifetime() time.Duration       { return idTokenLifetime }
func (c *tokenClient) DevMode() bool                        { return false }
func (c *tokenClient) IsScopeAllowed(string) bool           { return false }
func (c *tokenClient) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *tokenClient) ClockSkew() time.Duration             { return 0 }
func (c *tokenClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return noScopes
}
func (c *tokenClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
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
		return op.NewStatusError(unavailableError().WithParent(err), http.StatusServiceUnavailable)
	}
	return op.NewStatusError(zoidc.ErrServerError().WithDescription("internal error").WithParent(err), http.StatusInternalServerError)
}
