package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Tenant-independent endpoints.
//
// Entra's "organizations" admits a work account of any tenant and "common"
// adds personal Microsoft accounts; Gatehouse has no consumer accounts, so
// both mean any work account. They serve discovery (with the templated
// issuer), the authorization endpoint and the token endpoint. A request
// sent to them belongs to no tenant until the user names their account: the
// pages find the tenant from the username's domain and Rehome the request
// there, and from then on it is that tenant's request, answered by that
// tenant's issuer with that tenant's keys.
//
// Codes and refresh tokens name their tenant (newGrantSecret), so the
// tenant-independent token endpoint knows where a grant is kept. Such a
// grant can also be redeemed at its tenant's own token endpoint, as Entra
// allows: that is the tenant that issued it, and the client must
// authenticate there as anywhere. At any other tenant's endpoint it is not
// found, because grants are stored, and looked up, per tenant.

// anyOrgEndpoint reports whether a path segment is a tenant-independent
// endpoint, and its canonical name.
func anyOrgEndpoint(segment string) (string, bool) {
	switch s := strings.ToLower(segment); s {
	case "organizations", "common":
		return s, true
	}
	return "", false
}

// target is where a browser-facing request was sent: a tenant, or a
// tenant-independent endpoint.
type target struct {
	tenantID string
	anyOrg   string // "organizations" or "common"; tenantID is then ""
}

// templatedIssuer is the issuer tenant-independent discovery publishes,
// verbatim with its braces as Entra's does: validators put the token's tid
// in place of {tenantid}.
func (p *Provider) templatedIssuer() string {
	return p.cfg.PublicURL + "/{tenantid}/v2.0"
}

// newGrantSecret is a code or refresh token of the tenant: its tenant id, a
// dot and 256 random bits. The tenant id is no secret (every token the
// grant leads to carries it as tid), and the store id is the hash of the
// whole string, so a grant is found only in the tenant it names.
func newGrantSecret(tenantID string) string {
	return tenantID + "." + newSecret()
}

// grantTenant is the tenant a code or refresh token names; false when it
// names none (one from before grants named their tenant, or not ours).
func grantTenant(secret string) (string, bool) {
	tid, _, ok := strings.Cut(secret, ".")
	if !ok || !isTenantID(tid) {
		return "", false
	}
	return tid, true
}

// isTenantID: tenant ids are GUIDs in their 36-character form.
func isTenantID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

type anyOrgKey struct{}

// anyOrgFrom returns the tenant-independent endpoint a discovery request
// was sent to.
func anyOrgFrom(ctx context.Context) (string, bool) {
	ep, ok := ctx.Value(anyOrgKey{}).(string)
	return ep, ok && ep != ""
}

// anyOrgRoute serves op's endpoints under a tenant-independent endpoint:
// discovery, and the token endpoint for codes and refresh tokens, sent to
// the tenant the grant names. The rest are per tenant.
func (p *Provider) anyOrgRoute(w http.ResponseWriter, r *http.Request, endpoint, opPath string) {
	switch opPath {
	case zoidc.DiscoveryEndpoint:
		ctx := op.ContextWithIssuer(context.WithValue(r.Context(), anyOrgKey{}, endpoint), p.templatedIssuer())
		p.forward(w, r.WithContext(ctx), opPath)
	case opTokenPath:
		p.anyOrgToken(w, r)
	default:
		e := zoidc.ErrInvalidRequest().WithDescription("the /%s endpoint serves discovery, authorization and tokens; use the tenant's own endpoint %s/{tenant}/… for this request", endpoint, p.cfg.PublicURL)
		op.WriteError(w, r, op.NewStatusError(e, http.StatusBadRequest), nil)
	}
}

// anyOrgToken finds the tenant of the code or refresh token in the form and
// hands the request to that tenant's token endpoint.
func (p *Provider) anyOrgToken(w http.ResponseWriter, r *http.Request) {
	fail := func(e *zoidc.Error, err error) {
		status := http.StatusBadRequest
		if err != nil {
			e, status = e.WithParent(err), http.StatusServiceUnavailable
		}
		op.WriteError(w, r, op.NewStatusError(e, status), nil)
	}
	// As tenantRoute does, the query is dropped before the form is read, so
	// parameters count only from the body.
	u := *r.URL
	u.RawQuery = ""
	r = r.WithContext(r.Context())
	r.URL = &u
	if err := r.ParseForm(); err != nil {
		fail(zoidc.ErrInvalidRequest().WithDescription("the request body is not a valid form"), nil)
		return
	}
	var secret, invalid string
	switch gt := zoidc.GrantType(r.PostForm.Get("grant_type")); gt {
	case zoidc.GrantTypeCode:
		secret, invalid = r.PostForm.Get("code"), "AADSTS70008: The provided authorization code is invalid or has expired."
	case zoidc.GrantTypeRefreshToken:
		secret, invalid = r.PostForm.Get("refresh_token"), "AADSTS9002313: The refresh token is invalid or has expired."
	default:
		fail(zoidc.ErrUnsupportedGrantType().WithDescription("grant_type %q needs a tenant-specific endpoint: %s/{tenant}%s", gt, p.cfg.PublicURL, pathToken), nil)
		return
	}
	// As at the authorization endpoint, only multitenant applications are
	// served here, whatever grant they present.
	clientID := r.PostForm.Get("client_id")
	if id, _, basic := r.BasicAuth(); basic {
		clientID, _ = url.QueryUnescape(id)
	}
	if _, err := p.dir.MultitenantClient(r.Context(), clientID); errors.Is(err, ErrNotMultitenant) {
		fail(zoidc.ErrUnauthorizedClient().WithDescription("AADSTS50194: Application '%s' is not configured as a multi-tenant application; use a tenant-specific endpoint.", clientID), nil)
		return
	} else if err != nil && !errors.Is(err, ErrInvalidClient) {
		fail(unavailableError(), err)
		return
	}
	tid, ok := grantTenant(secret)
	if !ok {
		fail(zoidc.ErrInvalidGrant().WithDescription("%s", invalid), nil)
		return
	}
	if got, err := p.dir.ResolveTenant(r.Context(), tid); errors.Is(err, ErrUnknownTenant) || err == nil && got != tid {
		fail(zoidc.ErrInvalidGrant().WithDescription("%s", invalid), nil)
		return
	} else if err != nil {
		fail(unavailableError(), err)
		return
	}
	ctx := op.ContextWithIssuer(withTenant(r.Context(), tid), p.issuer(tid))
	p.forward(w, r.WithContext(ctx), opTokenPath)
}

func unavailableError() *zoidc.Error {
	return &zoidc.Error{ErrorType: "temporarily_unavailable", Description: "the service is temporarily unavailable; retry later"}
}

// anyOrgDiscovery is the discovery document of a tenant-independent
// endpoint. Signing keys are per tenant, so jwks_uri is templated like the
// issuer: a validator reads the token's tid and fetches that tenant's keys
// (or its discovery document). Only what is served here is listed.
func (p *Provider) anyOrgDiscovery(endpoint string) *zoidc.DiscoveryConfiguration {
	d := p.discovery(p.templatedIssuer(), p.cfg.PublicURL+"/"+endpoint, p.cfg.PublicURL+"/{tenantid}"+pathKeys)
	d.GrantTypesSupported = []zoidc.GrantType{zoidc.GrantTypeCode, zoidc.GrantTypeRefreshToken}
	return d
}

// Rehome moves a request sent to a tenant-independent endpoint to the tenant
// of the user signing in (authn.Protocol). The move is one transaction: the
// old request is consumed and the new one, identical but bound to the
// user's tenant, stored there with the old one's expiry.
func (p *Provider) Rehome(ctx context.Context, tenantID, requestID, userTenantID string) (authn.Request, error) {
	home, unbound := requestHome(tenantID, requestID)
	tid, err := p.dir.ResolveTenant(ctx, userTenantID)
	if err != nil {
		return authn.Request{}, err
	}
	if tid != userTenantID {
		return authn.Request{}, fmt.Errorf("oidc: Rehome needs a tenant id, not %q", userTenantID)
	}
	id := newSecret()
	var req authRequest
	err = p.st.Update(ctx, func(tx store.Tx) error {
		s, err := tx.ConsumeState(ctx, home, kindAuthRequest, requestID)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConsumed) {
			return authn.ErrRequestGone
		}
		if err != nil {
			return err
		}
		if req, err = decodeState[authRequest](s); err != nil {
			return err
		}
		if req.AnyOrg == "" || req.unbound() != unbound {
			return authn.ErrRequestGone
		}
		req.Bound = true
		next, err := newState(tid, kindAuthRequest, id, "", "", req, p.cfg.Now(), s.ExpiresAt)
		if err != nil {
			return err
		}
		return tx.PutState(ctx, next)
	})
	if errors.Is(err, authn.ErrRequestGone) {
		return authn.Request{}, err
	}
	if err != nil {
		return authn.Request{}, storeErr(err)
	}
	return req.pending(id, tid), nil
}
