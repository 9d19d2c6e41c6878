package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/revocation"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var _ authn.Protocol = (*Provider)(nil)

// Response modes of the authorization endpoint.
const (
	modeQuery    = "query"
	modeFragment = "fragment"
	modeFormPost = "form_post"
)

// Prompt values Entra accepts.
const (
	promptNone          = "none"
	promptLogin         = "login"
	promptConsent       = "consent"
	promptSelectAccount = "select_account"
)

// authRequest is a validated authorization request, stored while the user
// signs in.
type authRequest struct {
	ClientID    string       `json:"cid"`
	ClientName  string       `json:"cname,omitempty"`
	Publisher   string       `json:"pub,omitempty"`
	RedirectURI string       `json:"ru"`
	Public      bool         `json:"public,omitempty"`
	Mode        string       `json:"mode"`
	State       string       `json:"state,omitempty"`
	Nonce       string       `json:"nonce,omitempty"`
	Scopes      []string     `json:"scope"` // as requested, for the consent page
	Scope       scopeRequest `json:"sr"`
	Challenge   string       `json:"cc,omitempty"`
	Prompt      []string     `json:"prompt,omitempty"`
	MaxAge      *int64       `json:"max_age,omitempty"` // seconds
	LoginHint   string       `json:"login_hint,omitempty"`
	DomainHint  string       `json:"domain_hint,omitempty"`
	UILocales   []string     `json:"ui_locales,omitempty"`
	CreatedAt   time.Time    `json:"created"`
	// DeviceID is the device state a user code started this request for;
	// such a request is answered to the polling device, not redirected.
	DeviceID string `json:"dev,omitempty"`
	// AnyOrg is the tenant-independent endpoint ("organizations", "common")
	// the request was sent to, "" for a tenant's own endpoint. Bound says it
	// has been rehomed to the user's tenant.
	AnyOrg string `json:"any,omitempty"`
	Bound  bool   `json:"bound,omitempty"`
	// AdminConsent: sent to the admin consent endpoint; answered with the
	// outcome of consent for the organization, never a code.
	AdminConsent bool `json:"admin,omitempty"`
}

// unbound: sent to a tenant-independent endpoint and not yet rehomed.
func (a authRequest) unbound() bool { return a.AnyOrg != "" && !a.Bound }

// replyTo is where and how an authorization response goes. Issuer, when
// set, is sent as iss (RFC 9207): a client that talks to several
// authorization servers checks it, so a response a mix-up attacker
// relays from another issuer is refused.
type replyTo struct {
	RedirectURI, Mode, State, Issuer string
}

// responseIssuer is the iss of the answer to a request: the issuer of the
// discovery document the client used, which it compares iss with. That is
// the tenant's, or for a request sent to a tenant-independent endpoint
// (anyOrg) the templated issuer that endpoint publishes, also once the
// user's tenant is known.
func (p *Provider) responseIssuer(anyOrg, tenantID string) string {
	if anyOrg != "" {
		return p.templatedIssuer()
	}
	return p.issuer(tenantID)
}

// authorize serves GET and POST /{tenant}/oauth2/v2.0/authorize, where
// {tenant} may also be a tenant-independent endpoint. Until the client and
// its redirect URI are validated, errors are shown as a page (RFC 6749
// §4.1.2.1: never redirect to an unverified URI); after that they go back
// to the client in the requested response mode.
// requestClient reads a browser request's parameters and finds its client;
// on failure it has shown an error page (never a redirect: the redirect URI
// is not verified yet).
func (p *Provider) requestClient(w http.ResponseWriter, r *http.Request, t target) (url.Values, Client, bool) {
	params, err := requestParams(r)
	if err != nil {
		showError(w, r, http.StatusBadRequest, "AADSTS900144", "Invalid request: "+err.Error()+".")
		return nil, Client{}, false
	}
	client, ok := p.lookupClient(w, r, t, params.Get("client_id"))
	return params, client, ok
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request, t target) {
	params, client, ok := p.requestClient(w, r, t)
	if !ok {
		return
	}
	redirectURI := params.Get("redirect_uri")
	kind := classifyRedirect(client, redirectURI)
	if kind == redirectNone {
		showRedirectMismatch(w, r, client, redirectURI)
		return
	}

	to := replyTo{RedirectURI: redirectURI, Mode: params.Get("response_mode"), State: params.Get("state"), Issuer: p.responseIssuer(t.anyOrg, t.tenantID)}
	switch to.Mode {
	case "":
		to.Mode = modeQuery
	case modeQuery, modeFragment:
	case modeFormPost:
		if !strings.HasPrefix(redirectURI, "https://") && !strings.HasPrefix(redirectURI, "http://") {
			to.Mode = modeQuery
			p.replyError(w, r, to, authErr("invalid_request", "response_mode form_post needs an http or https redirect URI"))
			return
		}
	default:
		to.Mode = modeQuery
		p.replyError(w, r, to, authErr("invalid_request", "AADSTS900290: response_mode %q is not supported", params.Get("response_mode")))
		return
	}
	req, oerr := p.validateAuthRequest(params, client, kind)
	if oerr != nil {
		p.replyError(w, r, to, oerr)
		return
	}
	p.startPages(w, r, t, client, req, to)
}

// lookupClient finds the client a browser-facing request names: one usable
// in the tenant, or for a tenant-independent endpoint a multitenant one
// wherever it is registered. When there is none it shows the user an error
// page and returns false.
func (p *Provider) lookupClient(w http.ResponseWriter, r *http.Request, t target, clientID string) (Client, bool) {
	if clientID == "" {
		showError(w, r, http.StatusBadRequest, "AADSTS900144", "The request must contain the parameter 'client_id'.")
		return Client{}, false
	}
	var client Client
	var err error
	if t.anyOrg != "" {
		client, err = p.dir.MultitenantClient(r.Context(), clientID)
	} else {
		client, err = p.dir.Client(r.Context(), t.tenantID, clientID)
	}
	switch {
	case errors.Is(err, ErrNotMultitenant):
		showError(w, r, http.StatusBadRequest, "AADSTS50194", fmt.Sprintf("Application '%s' is not configured as a multi-tenant application. Usage of the /%s endpoint is not supported for such applications. Use a tenant-specific endpoint or configure the application to be multi-tenant.", clientID, t.anyOrg))
	case errors.Is(err, ErrInvalidClient):
		showError(w, r, http.StatusBadRequest, "AADSTS700016", fmt.Sprintf("Application with identifier '%s' was not found in the directory.", clientID))
	case err != nil:
		p.showUnavailable(w, r, fmt.Errorf("looking up client: %w", err))
	default:
		return client, true
	}
	return Client{}, false
}

func showRedirectMismatch(w http.ResponseWriter, r *http.Request, client Client, redirectURI string) {
	showError(w, r, http.StatusBadRequest, "AADSTS50011", fmt.Sprintf("The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'.", redirectURI, client.AppID))
}

// startPages stores a validated request and sends the browser to the sign-in
// pages for it. A request to a tenant-independent endpoint belongs to no
// tenant until the pages Rehome it, but states live in a tenant: it waits
// in its application's home tenant, under an id that names that tenant so
// the pages' /{endpoint}/login can find it.
func (p *Provider) startPages(w http.ResponseWriter, r *http.Request, t target, client Client, req authRequest, to replyTo) {
	req.Mode, req.State, req.RedirectURI = to.Mode, to.State, to.RedirectURI
	tid, id, segment := t.tenantID, newSecret(), t.tenantID
	if t.anyOrg != "" {
		req.AnyOrg, tid, segment = t.anyOrg, client.HomeTenantID, t.anyOrg
		id = tid + "." + id
	}
	if err := p.putState(r.Context(), tid, kindAuthRequest, id, "", "", req, authRequestLifetime); err != nil {
		slog.ErrorContext(r.Context(), "oidc: storing authorization request", "tenant", tid, "error", err)
		p.replyError(w, r, to, unavailableAuth(err))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, p.cfg.PublicURL+"/"+segment+pathLogin+"?"+url.Values{"request": {id}}.Encode(), http.StatusFound)
}

// authRequestLifetime is how long a user has to sign in.
const authRequestLifetime = 15 * time.Minute

// requestParams are the request's parameters: the query of a GET, the
// form body of a POST (OpenID Connect Core §3.1.2.1). A parameter sent
// twice is refused (RFC 6749 §3.1): which one a client meant cannot be known.
func requestParams(r *http.Request) (url.Values, error) {
	var params url.Values
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			return nil, errors.New("the request body is not a valid form")
		}
		params = r.PostForm
	} else {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, errors.New("the query string is malformed")
		}
		params = q
	}
	for k, v := range params {
		if len(v) > 1 {
			return nil, fmt.Errorf("the parameter %q was sent more than once", k)
		}
	}
	return params, nil
}

// validateAuthRequest checks everything after the client and redirect URI.
func (p *Provider) validateAuthRequest(params url.Values, client Client, kind redirectKind) (authRequest, *authError) {
	req := authRequest{
		ClientID: client.AppID, ClientName: client.DisplayName, Publisher: client.PublisherDomain,
		Public: kind == redirectPublic, Nonce: params.Get("nonce"),
		LoginHint: params.Get("login_hint"), DomainHint: params.Get("domain_hint"),
		UILocales: strings.Fields(params.Get("ui_locales")), CreatedAt: p.cfg.Now(),
	}
	if params.Has("request") {
		return req, authErr("request_not_supported", "AADSTS90015: the request parameter is not supported")
	}
	if params.Has("request_uri") {
		return req, authErr("request_uri_not_supported", "the request_uri parameter is not supported")
	}
	switch rt := params.Get("response_type"); rt {
	case "":
		return req, authErr("invalid_request", "AADSTS900144: The request must contain the parameter 'response_type'.")
	case string(zoidc.ResponseTypeCode):
	default:
		return req, authErr("unsupported_response_type", "AADSTS700054: response_type %q is not enabled for the application; only 'code' is supported.", rt)
	}
	if kind == redirectWeb && !client.Confidential {
		return req, authErr("unauthorized_client", "AADSTS7000218: the application has no client secret to redeem a code sent to a web redirect URI")
	}
	req.Scopes = strings.Fields(params.Get("scope"))
	sr, err := p.parseScopes(req.Scopes)
	if err != nil {
		return req, asAuthError(err)
	}
	req.Scope = sr

	challenge, method := params.Get("code_challenge"), params.Get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		return req, authErr("invalid_request", "code_challenge_method without code_challenge")
	case challenge == "" && (kind == redirectPublic || !client.PKCEOptional):
		return req, authErr("invalid_request", "AADSTS9002325: Proof Key for Code Exchange is required: send code_challenge with code_challenge_method S256.")
	case challenge != "" && method != string(zoidc.CodeChallengeMethodS256):
		// An absent method means plain (RFC 7636 §4.3), which protects nothing
		// once the authorization request is seen.
		return req, authErr("invalid_request", "code_challenge_method must be S256")
	case challenge != "" && !isS256Challenge(challenge):
		return req, authErr("invalid_request", "code_challenge is not a base64url SHA-256 value")
	}
	req.Challenge = challenge

	if pr := params.Get("prompt"); pr != "" {
		req.Prompt = strings.Fields(pr)
		for _, v := range req.Prompt {
			if !slices.Contains([]string{promptNone, promptLogin, promptConsent, promptSelectAccount}, v) {
				return req, authErr("invalid_request", "AADSTS90023: prompt %q is not supported", v)
			}
		}
		if slices.Contains(req.Prompt, promptNone) && len(req.Prompt) > 1 {
			return req, authErr("invalid_request", "prompt none cannot be combined with other values")
		}
	}
	if ma := params.Get("max_age"); ma != "" {
		n, err := strconv.ParseInt(ma, 10, 64)
		if err != nil || n < 0 {
			return req, authErr("invalid_request", "max_age must be a non-negative number of seconds")
		}
		req.MaxAge = &n
	}
	return req, nil
}

// isS256Challenge: a code_challenge made by S256 is exactly 43 base64url
// characters.
func isS256Challenge(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}

// verifyPKCE checks a code_verifier against the S256 challenge in constant
// time. RFC 7636 §4.1 allows 43 to 128 unreserved characters.
func verifyPKCE(challenge, verifier string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for _, c := range []byte(verifier) {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// authError is an error of the authorization endpoint, sent to the client
// (RFC 6749 §4.1.2.1). cause is for logs only.
type authError struct {
	code, description string
	cause             error
}

func (e *authError) Error() string { return e.code + ": " + e.description }

func authErr(code, format string, args ...any) *authError {
	return &authError{code: code, description: fmt.Sprintf(format, args...)}
}

// asAuthError turns an OAuth error made for the token endpoint (scope
// parsing is shared) into one for the authorization endpoint.
func asAuthError(err error) *authError {
	var e *zoidc.Error
	if errors.As(err, &e) {
		return &authError{code: string(e.ErrorType), description: e.Description, cause: err}
	}
	return internalAuth(err)
}

func internalAuth(err error) *authError {
	return &authError{code: "server_error", description: "internal error", cause: err}
}

// unavailableAuth is the error for a store or directory failure.
func unavailableAuth(err error) *authError {
	return &authError{code: "temporarily_unavailable", description: "the service is temporarily unavailable; retry later", cause: err}
}

// replyError sends an OAuth error to the client's validated redirect URI.
func (p *Provider) replyError(w http.ResponseWriter, r *http.Request, to replyTo, e *authError) {
	if e.cause != nil {
		level := slog.LevelInfo
		if e.code == "server_error" || e.code == "temporarily_unavailable" {
			level = slog.LevelError
		}
		slog.Log(r.Context(), level, "oidc: authorization error", "error", e.code, "cause", e.cause)
	}
	params := url.Values{"error": {e.code}}
	if e.description != "" {
		params.Set("error_description", e.description)
	}
	p.reply(w, r, to, params)
}

// reply sends an authorization response to the client in its response mode.
func (p *Provider) reply(w http.ResponseWriter, r *http.Request, to replyTo, params url.Values) {
	if to.State != "" {
		params.Set("state", to.State)
	}
	if to.Issuer != "" {
		params.Set("iss", to.Issuer)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	switch {
	case to.Mode == modeFormPost:
		writeFormPost(w, r, to.RedirectURI, params)
		return
	case to.Mode == modeFragment:
		w.Header().Set("Location", to.RedirectURI+"#"+params.Encode())
	case len(params) == 0:
		w.Header().Set("Location", to.RedirectURI)
	default:
		// The registered URI is kept byte for byte, its own query included.
		sep := "?"
		if strings.Contains(to.RedirectURI, "?") {
			sep = "&"
		}
		w.Header().Set("Location", to.RedirectURI+sep+params.Encode())
	}
	w.WriteHeader(http.StatusFound)
}

// showUnavailable is the page for a store or directory failure.
func (p *Provider) showUnavailable(w http.ResponseWriter, r *http.Request, err error) {
	slog.ErrorContext(r.Context(), "oidc: store or directory unavailable", "error", err)
	p.showMessage(w, r, "", http.StatusServiceUnavailable, "title.unavailable", "unavailable.text")
}

// PendingRequest returns a request that is still waiting for sign-in.
// Unknown, expired, finished and other tenants' requests are
// ErrRequestNotFound. A request sent to a tenant-independent endpoint is
// addressed by that endpoint's name until it is rehomed, and by its user's
// tenant after.
func (p *Provider) PendingRequest(ctx context.Context, tenantID, requestID string) (authn.Request, error) {
	home, unbound := requestHome(tenantID, requestID)
	s, err := p.getState(ctx, home, kindAuthRequest, requestID)
	if errors.Is(err, store.ErrNotFound) || err == nil && s.ConsumedAt != nil {
		return authn.Request{}, ErrRequestNotFound
	}
	if err != nil {
		return authn.Request{}, err
	}
	req, err := decodeState[authRequest](s)
	if err != nil {
		return authn.Request{}, err
	}
	if req.unbound() != unbound {
		return authn.Request{}, ErrRequestNotFound
	}
	return req.pending(requestID, tenantID), nil
}

// requestHome is the tenant that keeps the request the pages address as
// (segment, id): the tenant itself, or for a tenant-independent endpoint the
// application's home tenant named in the id (see startPages), in which case
// unbound is true.
func requestHome(segment, requestID string) (tenantID string, unbound bool) {
	if _, ok := anyOrgEndpoint(segment); !ok {
		return segment, false
	}
	home, _, _ := strings.Cut(requestID, ".")
	return home, true
}

// pending is the request as the pages see it, addressed as tenantID.
func (a authRequest) pending(id, tenantID string) authn.Request {
	out := authn.Request{
		ID: id, TenantID: tenantID, ClientID: a.ClientID, ClientName: a.ClientName, Publisher: a.Publisher,
		Scopes: a.Scopes, Prompt: a.Prompt, LoginHint: a.LoginHint, DomainHint: a.DomainHint,
		UILocales: a.UILocales, RedirectURI: a.RedirectURI, CreatedAt: a.CreatedAt,
		Device: a.DeviceID != "", AnyOrganization: a.AnyOrg != "", Unbound: a.unbound(), AdminConsent: a.AdminConsent,
	}
	if a.MaxAge != nil {
		d := time.Duration(*a.MaxAge) * time.Second
		out.MaxAge = &d
	}
	return out
}

// takeRequest consumes a pending request for Finish or Deny. When there is
// none left to answer, it shows the user an error page and returns false.
func (p *Provider) takeRequest(w http.ResponseWriter, r *http.Request, tenantID, requestID string) (authRequest, bool) {
	home, unbound := requestHome(tenantID, requestID)
	s, err := p.consumeState(r.Context(), home, kindAuthRequest, requestID)
	var req authRequest
	if err == nil {
		req, err = decodeState[authRequest](s)
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConsumed) || err == nil && req.unbound() != unbound {
		showError(w, r, http.StatusBadRequest, "AADSTS90014", "This sign-in request has expired or was already completed. Return to the application and sign in again.")
		return authRequest{}, false
	}
	if err != nil {
		p.showUnavailable(w, r, err)
		return authRequest{}, false
	}
	return req, true
}

// Deny ends the request with an OAuth error sent back to the client. Codes
// other than the ones the pages may send become server_error. A device's
// request is denied to the polling device as access_denied, whatever the
// code, with the description; the browser is shown a page.
func (p *Provider) Deny(w http.ResponseWriter, r *http.Request, tenantID, requestID, code, description string) {
	req, ok := p.takeRequest(w, r, tenantID, requestID)
	if !ok {
		return
	}
	if req.DeviceID != "" {
		p.answerDevice(w, r, tenantID, req, deviceResult{Description: description})
		return
	}
	if !slices.Contains([]string{"access_denied", "login_required", "consent_required", "interaction_required", "account_selection_required"}, code) {
		slog.ErrorContext(r.Context(), "oidc: Deny with an unknown error code", "code", code)
		code, description = "server_error", "internal error"
	}
	p.replyError(w, r, req.replyTo(p.responseIssuer(req.AnyOrg, tenantID)), &authError{code: code, description: description})
}

// replyTo is where the request is answered, by issuer.
func (a authRequest) replyTo(issuer string) replyTo {
	return replyTo{RedirectURI: a.RedirectURI, Mode: a.Mode, State: a.State, Issuer: issuer}
}

// codeLifetime bounds how long a code waits for redemption.
const codeLifetime = 5 * time.Minute

// Finish completes the request for a signed-in user: it checks the sign-in
// still satisfies the request (max_age, prompt=login, the user's
// revocations, consent), issues a single-use code and sends the browser
// back to the client. Failures of those checks go back to the client as
// OAuth errors, so a page that finishes too eagerly cannot bypass them.
// A device's request is completed for the polling device instead, and the
// browser is shown a page.
func (p *Provider) Finish(w http.ResponseWriter, r *http.Request, tenantID, requestID string, a authn.Authentication) {
	req, ok := p.takeRequest(w, r, tenantID, requestID)
	if !ok {
		return
	}
	if req.DeviceID != "" {
		p.finishDevice(w, r, tenantID, req, a)
		return
	}
	to := req.replyTo(p.responseIssuer(req.AnyOrg, tenantID))
	g, oerr := p.checkSignIn(r.Context(), tenantID, req, a)
	if oerr != nil {
		p.replyError(w, r, to, oerr)
		return
	}
	if req.AdminConsent {
		// The pages granted consent for the organization before finishing,
		// and checkSignIn found the permissions granted.
		p.reply(w, r, to, url.Values{"admin_consent": {"True"}, "tenant": {tenantID}})
		return
	}
	code := newGrantSecret(tenantID)
	if err := p.putState(r.Context(), tenantID, kindCode, secretID(code), newSecret(), a.UserID, g, codeLifetime); err != nil {
		slog.ErrorContext(r.Context(), "oidc: storing code", "tenant", tenantID, "error", err)
		p.replyError(w, r, to, unavailableAuth(err))
		return
	}
	p.reply(w, r, to, url.Values{"code": {code}})
}

// checkSignIn decides whether the authentication completes the request, and
// the grant it leads to.
func (p *Provider) checkSignIn(ctx context.Context, tenantID string, req authRequest, a authn.Authentication) (grant, *authError) {
	now := p.cfg.Now()
	switch {
	case req.unbound():
		return grant{}, internalAuth(errors.New("a request for any organization finishes before it was rehomed to the user's tenant"))
	case a.TenantID != tenantID || a.UserID == "":
		return grant{}, internalAuth(fmt.Errorf("authentication for user %q of tenant %q finishes a request of tenant %s", a.UserID, a.TenantID, tenantID))
	case a.AuthTime.IsZero() || a.AuthTime.After(now.Add(nodeClockSkew)):
		return grant{}, internalAuth(fmt.Errorf("authentication time %v is not in the past", a.AuthTime))
	case req.MaxAge != nil && now.Sub(a.AuthTime) > time.Duration(*req.MaxAge)*time.Second+nodeClockSkew:
		return grant{}, authErr("login_required", "AADSTS50058: the sign-in is older than max_age; the user must sign in again")
	case slices.Contains(req.Prompt, promptLogin) && a.AuthTime.Before(req.CreatedAt.Add(-nodeClockSkew)):
		return grant{}, authErr("login_required", "prompt=login: the user must enter credentials for this request")
	}
	u, err := p.dir.User(ctx, tenantID, a.UserID, req.ClientID)
	if errors.Is(err, ErrUserGone) {
		return grant{}, authErr("access_denied", "AADSTS50057: The user account is disabled or deleted.")
	}
	if denied := (*AccessDenied)(nil); errors.As(err, &denied) {
		return grant{}, authErr("access_denied", "%s", denied.Description)
	}
	if err != nil {
		return grant{}, unavailableAuth(err)
	}
	if u.SessionsValidFrom.After(a.AuthTime) {
		return grant{}, authErr("login_required", "AADSTS50133: the session was revoked; the user must sign in again")
	}
	if _, revoked, err := p.revocations.Revoked(ctx, tenantID, revocation.Subject{UserID: a.UserID, ClientID: req.ClientID, SessionID: a.SessionID, IssuedAt: a.AuthTime}); err != nil {
		return grant{}, unavailableAuth(err)
	} else if revoked {
		return grant{}, authErr("login_required", "AADSTS50133: the session was revoked; the user must sign in again")
	}
	policy, err := p.dir.SessionPolicy(ctx, tenantID)
	if err != nil {
		return grant{}, unavailableAuth(err)
	}
	if now.Sub(a.AuthTime) > policy.Session.MaxAge {
		return grant{}, authErr("login_required", "AADSTS50133: the sign-in is older than the organization's session policy allows; the user must sign in again")
	}
	if req.AnyOrg != "" {
		// The client was found without a tenant; whether the user's tenant
		// admits it (its service principal there is not disabled) is known
		// only now.
		_, err := p.dir.Client(ctx, tenantID, req.ClientID)
		if errors.Is(err, ErrInvalidClient) {
			return grant{}, authErr("unauthorized_client", "AADSTS7000112: Application '%s' is disabled in the user's organization.", req.ClientID)
		}
		if err != nil {
			return grant{}, unavailableAuth(err)
		}
	}
	granted, err := p.dir.GrantedScopes(ctx, tenantID, a.UserID, req.ClientID)
	if err != nil {
		return grant{}, unavailableAuth(err)
	}
	perms, missing := req.Scope.grant(granted)
	if len(missing) > 0 {
		return grant{}, authErr("consent_required", "AADSTS65001: The user or administrator has not consented to use the application with ID '%s'. Missing: %s.", req.ClientID, strings.Join(missing, " "))
	}
	return grant{
		ClientID: req.ClientID, Public: req.Public, UserID: a.UserID,
		OIDC: req.Scope.OIDC, Permissions: perms,
		AuthTime: a.AuthTime, AMR: a.AMR, SessionID: a.SessionID,
		IdP: a.IdP, HomeTenantID: a.HomeTenantID, HomeObjectID: a.HomeObjectID, HomeAMR: a.HomeAMR,
		RedirectURI: req.RedirectURI, CodeChallenge: req.Challenge, Nonce: req.Nonce,
	}, nil
}
