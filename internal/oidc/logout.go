package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/go-jose/go-jose/v4/jwt"
)

// logout serves RP-initiated logout (OpenID Connect RP-Initiated Logout
// 1.0) at GET and POST /{tenant}/oauth2/v2.0/logout. The client is named by
// id_token_hint (an ID token this tenant issued, expired or not) and/or
// client_id. Without a verified id_token_hint any site could send the
// browser here, so the user is asked first (RP-Initiated Logout §2) on a
// page whose form posts back with a token bound to the browser, and only
// that post signs out. The browser's sessions in the tenant then end; it is
// sent on to post_logout_redirect_uri with state only when that URI is,
// byte for byte, one of the client's registered redirect URIs, and
// otherwise shown a signed-out page.
func (p *Provider) logout(w http.ResponseWriter, r *http.Request, tid string) {
	params, err := requestParams(r)
	if err != nil {
		showError(w, r, http.StatusBadRequest, "AADSTS900144", "Invalid request: "+err.Error()+".")
		return
	}
	clientID := params.Get("client_id")
	hinted := false
	if hint := params.Get("id_token_hint"); hint != "" {
		aud, err := p.verifyIDTokenHint(r.Context(), tid, hint)
		hinted = err == nil
		// A hint signed by a key retired since cannot be verified any more:
		// it is as good as none, and names no client, so the browser is sent
		// back only to a URI registered by a client_id given alongside.
		if errors.Is(err, errUnknownKey) {
			aud, err = clientID, nil
		}
		if errors.Is(err, ErrInvalidToken) {
			showError(w, r, http.StatusBadRequest, "AADSTS50034", "The id_token_hint is not an ID token issued by this tenant.")
			return
		}
		if err != nil {
			p.showUnavailable(w, r, err)
			return
		}
		if clientID != "" && aud != "" && clientID != aud {
			showError(w, r, http.StatusBadRequest, "AADSTS900144", "The client_id does not match the audience of the id_token_hint.")
			return
		}
		clientID = aud
	}
	if !hinted && !(r.Method == http.MethodPost && p.cfg.Sessions.SignOutConfirmed(r)) {
		fields := url.Values{}
		for _, k := range []string{"client_id", "post_logout_redirect_uri", "state"} {
			if v := params.Get(k); v != "" {
				fields.Set(k, v)
			}
		}
		p.cfg.Sessions.ConfirmSignOut(w, r, tid, p.tenantBase(tid)+pathLogout, fields)
		return
	}
	var back string
	if uri := params.Get("post_logout_redirect_uri"); uri != "" && clientID != "" {
		c, err := p.dir.Client(r.Context(), tid, clientID)
		switch {
		case err == nil && matchRedirectURI(c.registeredURIs(), uri):
			back = uri
		case err != nil && !errors.Is(err, ErrInvalidClient):
			p.showUnavailable(w, r, fmt.Errorf("looking up client: %w", err))
			return
		}
	}
	if err := p.cfg.Sessions.SignOut(w, r, tid); err != nil {
		p.showUnavailable(w, r, fmt.Errorf("signing out: %w", err))
		return
	}
	if back == "" {
		p.showMessage(w, r, tid, http.StatusOK, "title.signedOut", "signedOut.text")
		return
	}
	p.reply(w, r, replyTo{RedirectURI: back, Mode: modeQuery, State: params.Get("state")}, url.Values{})
}

// verifyIDTokenHint checks that hint is an ID token signed by the tenant and
// returns its audience, the client. Expiry is not checked: a hint is
// usually presented after its token expired (RP-Initiated Logout §2).
func (p *Provider) verifyIDTokenHint(ctx context.Context, tid, hint string) (string, error) {
	var c struct {
		jwt.Claims
		TenantID string `json:"tid"`
		IDType   string `json:"idtyp"`
	}
	signedBy, err := p.verifySigned(ctx, hint, &c)
	if err != nil {
		return "", err
	}
	switch {
	case signedBy != tid || c.TenantID != tid || c.Issuer != p.issuer(tid):
		return "", fmt.Errorf("%w: ID token of another tenant", ErrInvalidToken)
	case c.IDType != "" || len(c.Audience) != 1 || c.Audience[0] == "" || c.Audience[0] == p.cfg.PublicURL:
		return "", fmt.Errorf("%w: not an ID token", ErrInvalidToken)
	}
	return c.Audience[0], nil
}
