package login

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// kindFederation is the state kind of trips to an identity provider, one
// per trip, stored under the hash of the state parameter in the tenant the
// parameter names and consumed by the callback.
const kindFederation = "loginfed"

// federationLifetime bounds a trip to the identity provider: long enough
// to sign in there, short enough that a leaked state is soon worthless.
const federationLifetime = 15 * time.Minute

// purpose is what a trip to an identity provider resumes when it returns.
type purpose string

const (
	purposeSignIn purpose = "signin" // a guest's sign-in flow of an authorization request
	purposeRedeem purpose = "redeem" // a redemption of an invitation
	purposeOrgs   purpose = "orgs"   // "my organizations" of the tenant itself
	// purposeSecurityInfo: "security info" of the tenant itself.
	purposeSecurityInfo purpose = "securityinfo"
)

// trip is a federation state's data. It holds no secret: the PKCE
// verifier and the nonce are derived from the state parameter's secret,
// which only the browser has.
type trip struct {
	Purpose  purpose             `json:"purpose"`
	Browser  string              `json:"browser"` // hashID of the browser id that left
	Provider federation.Provider `json:"provider"`
	// RequestID names the authorization request (purposeSignIn);
	// Redemption the redemption's handle (purposeRedeem).
	RequestID  string `json:"requestId,omitempty"`
	Redemption string `json:"redemption,omitempty"`
}

func tripStateID(state string) string { return hashID("federation state", state) }

func browserHash(browser string) string { return hashID("browser", browser) }

// tripSecrets derives the PKCE verifier and the nonce of a trip from its
// state's secret: 43 base64url characters each, as RFC 7636 asks.
func (p *Pages) tripSecrets(secret string) (verifier, nonce string) {
	return b64.EncodeToString(mac(p.fedKey, "pkce verifier", secret)), b64.EncodeToString(mac(p.fedKey, "nonce", secret))
}

// federate sends the browser to the provider to authenticate for tenantID,
// and keeps what to resume when it returns.
func (p *Pages) federate(ctx context.Context, w http.ResponseWriter, r *http.Request, browser, tenantID string, t trip, loginHint string) error {
	if p.cfg.Federation == nil {
		return errors.New("login: a route to an identity provider, but no federation is configured")
	}
	secret, err := p.randomString(secretBytes)
	if err != nil {
		return err
	}
	state := tenantID + "." + secret
	t.Browser = browserHash(browser)
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	verifier, nonce := p.tripSecrets(secret)
	to, err := p.cfg.Federation.AuthCodeURL(ctx, tenantID, t.Provider, state, nonce, verifier, loginHint)
	if err != nil {
		return fmt.Errorf("login: federating to %s: %w", t.Provider.Issuer, err)
	}
	now := p.cfg.Now()
	id := tripStateID(state)
	err = p.cfg.Store.Update(ctx, func(tx store.Tx) error {
		return tx.PutState(ctx, store.State{TenantID: tenantID, Kind: kindFederation, ID: id, Family: id,
			Data: data, CreatedAt: now, ExpiresAt: now.Add(federationLifetime)})
	})
	if err != nil {
		return err
	}
	http.Redirect(w, r, to, http.StatusFound)
	return nil
}

// federationCallback takes the browser back from the identity provider:
// it checks and consumes the trip, has the code exchanged, and resumes
// what the trip was for. Every refusal is the same page, which says
// nothing about why: the state may come from anyone.
func (p *Pages) federationCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	state := q.Get("state")
	tenantID, secret, ok := strings.Cut(state, ".")
	browser, known := p.existingBrowserID(r)
	if !ok || !validTenantID(tenantID) || !isSecret(secret) || !known {
		p.errorPage(w, r, http.StatusBadRequest, "error.federation")
		return
	}
	var st store.State
	err := p.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		st, err = tx.ConsumeState(ctx, tenantID, kindFederation, tripStateID(state))
		return err
	})
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConsumed) {
		p.cfg.Logger.InfoContext(ctx, "federation callback refused", "tenant", tenantID, "err", err)
		p.errorPage(w, r, http.StatusBadRequest, "error.federation")
		return
	}
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	var t trip
	if err := json.Unmarshal(st.Data, &t); err != nil {
		p.internalError(w, r, fmt.Errorf("login: federation state: %w", err))
		return
	}
	// The trip is spent even when another browser brings it back: a
	// state that leaked serves no one.
	if !hmac.Equal([]byte(t.Browser), []byte(browserHash(browser))) {
		p.cfg.Logger.InfoContext(ctx, "federation callback from another browser", "tenant", tenantID)
		p.errorPage(w, r, http.StatusBadRequest, "error.federation")
		return
	}
	code := q.Get("code")
	if e := q.Get("error"); e != "" || code == "" {
		p.cfg.Logger.InfoContext(ctx, "identity provider sent no code", "tenant", tenantID, "error", e, "description", q.Get("error_description"))
		p.errorPage(w, r, http.StatusBadRequest, "error.federation")
		return
	}
	verifier, nonce := p.tripSecrets(secret)
	id, err := p.cfg.Federation.Exchange(ctx, tenantID, t.Provider, code, verifier, nonce)
	if err != nil {
		p.cfg.Logger.WarnContext(ctx, "federated sign-in failed", "tenant", tenantID, "provider", t.Provider.Issuer, "err", err)
		p.errorPage(w, r, http.StatusBadRequest, "error.federation")
		return
	}
	switch t.Purpose {
	case purposeSignIn:
		v, ok := p.openIn(w, r, browser, tenantID, t.RequestID)
		if !ok {
			return
		}
		v.redirect = true
		f, found, err := v.loadFlow()
		switch {
		case err != nil:
			v.fail(err)
		case !found:
			v.p.errorPage(w, r, http.StatusBadRequest, "error.request")
		default:
			v.afterIdentity(f, id)
		}
	case purposeRedeem:
		p.redeemIdentity(w, r, browser, tenantID, t.Redemption, id)
	case purposeOrgs:
		// The provider was this tenant's own sign-in, which left an SSO
		// session there: the page finds it now.
		http.Redirect(w, r, p.base+"/"+url.PathEscape(tenantID)+"/myorganizations", http.StatusFound)
	case purposeSecurityInfo:
		http.Redirect(w, r, p.base+"/"+url.PathEscape(tenantID)+"/securityinfo", http.StatusFound)
	default:
		p.internalError(w, r, fmt.Errorf("login: federation state for %q", t.Purpose))
	}
}

// tenantProvider is a tenant of this deployment as an identity provider,
// reached through the deployment's first-party client.
func (p *Pages) tenantProvider(tenantID string) federation.Provider {
	return federation.Provider{Kind: federation.KindTenant, TenantID: tenantID,
		Issuer: strings.TrimSuffix(p.cfg.PublicURL, "/") + "/" + tenantID + "/v2.0"}
}
