package oidc

import (
	"net/http"
	"strings"
)

// adminConsent serves the admin consent endpoint: GET
// /{tenant}/v2.0/adminconsent (v2, where scope is required) and
// /{tenant}/adminconsent (v1, where no scope means the permissions the
// registration lists, as ".default" does), with client_id, redirect_uri and
// state. {tenant} may be a tenant-independent endpoint, in which case the
// administrator's tenant is found from their username. An administrator
// signs in through the pages, which ask for consent on behalf of the whole
// organization and grant it; the browser then goes back to redirect_uri with
// admin_consent=True and the tenant id, or with an OAuth error. redirect_uri
// must be one the application registered: anything else gets an error page
// and no redirect.
func (p *Provider) adminConsent(v2 bool) func(http.ResponseWriter, *http.Request, target) {
	return func(w http.ResponseWriter, r *http.Request, t target) {
		params, client, ok := p.requestClient(w, r, t)
		if !ok {
			return
		}
		redirectURI := params.Get("redirect_uri")
		if !matchRedirectURI(client.registeredURIs(), redirectURI) {
			showRedirectMismatch(w, r, client, redirectURI)
			return
		}
		to := replyTo{RedirectURI: redirectURI, Mode: modeQuery, State: params.Get("state"), Issuer: p.responseIssuer(t.anyOrg, t.tenantID)}
		scopes := strings.Fields(params.Get("scope"))
		if !v2 && len(scopes) == 0 {
			scopes = []string{p.cfg.PublicURL + "/" + scopeDefault}
		}
		sr, err := p.parseScopes(scopes)
		if err != nil {
			p.replyError(w, r, to, asAuthError(err))
			return
		}
		req := authRequest{
			ClientID: client.AppID, ClientName: client.DisplayName, Publisher: client.PublisherDomain,
			Scopes: scopes, Scope: sr, UILocales: strings.Fields(params.Get("ui_locales")),
			CreatedAt: p.cfg.Now(), AdminConsent: true,
		}
		p.startPages(w, r, t, client, req, to)
	}
}
