package login

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// stepOrgs is "my organizations": the tenants the browser's account of a
// tenant belongs to, home first, with a way to leave those it is a guest of.
const stepOrgs step = "orgs"

// orgsAccount is the home account whose organizations the page lists.
type orgsAccount struct {
	home, user, name string
}

// account finds the home account of the browser's SSO session in the
// tenant (the most recent one): a member's own, a guest's home account when
// it is of this deployment. found is false without a session; a guest from
// elsewhere has no home account here and a zero home.
func (p *Pages) orgsAccount(ctx context.Context, r *http.Request, tenantID string) (acct orgsAccount, found bool, err error) {
	sessions, err := p.sessions(ctx, r, tenantID, "")
	if err != nil || len(sessions) == 0 {
		return acct, false, err
	}
	s := sessions[0]
	acct.name = s.data.UPN
	switch {
	case s.data.IdP == "":
		acct.home, acct.user = tenantID, s.data.UserID
	case s.data.HomeTenantID != "":
		acct.home, acct.user, acct.name = s.data.HomeTenantID, s.data.HomeObjectID, cmp.Or(s.data.Email, s.data.UPN)
	}
	return acct, true, nil
}

func (p *Pages) orgsGet(w http.ResponseWriter, r *http.Request) {
	browser, err := p.browserID(w, r)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	p.orgsPage(w, r, browser, http.StatusOK, "")
}

// orgsPost signs in (through the tenant's own sign-in, as an identity
// provider) or leaves an organization.
func (p *Pages) orgsPost(w http.ResponseWriter, r *http.Request) {
	browser, ok := p.readForm(w, r)
	if !ok {
		return
	}
	ctx, tenantID := r.Context(), r.PathValue("tenant")
	if !validTenantID(tenantID) {
		p.errorPage(w, r, http.StatusNotFound, "error.request")
		return
	}
	switch r.PostForm.Get("action") {
	case "signin":
		if p.cfg.Federation == nil {
			p.orgsPage(w, r, browser, http.StatusOK, "")
			return
		}
		err := p.federate(ctx, w, r, browser, tenantID, trip{Purpose: purposeOrgs, Provider: p.tenantProvider(tenantID)}, "")
		switch {
		case errors.Is(err, federation.ErrProviderFailed):
			// The tenant's own sign-in cannot be reached: no such tenant.
			p.errorPage(w, r, http.StatusNotFound, "error.request")
		case err != nil:
			p.internalError(w, r, err)
		}
	case "leave":
		acct, found, err := p.orgsAccount(ctx, r, tenantID)
		if err != nil {
			p.internalError(w, r, err)
			return
		}
		org := r.PostForm.Get("org")
		if !found || acct.home == "" || org == acct.home || !validTenantID(org) {
			p.orgsPage(w, r, browser, http.StatusOK, "")
			return
		}
		err = p.cfg.Guests.Leave(ctx, acct.home, acct.user, org)
		if errors.Is(err, ErrNotGuest) {
			// Already gone: the list shows it.
			err = nil
		}
		if ue, ok := usererr.As(err); ok {
			p.orgsPage(w, r, browser, http.StatusOK, ue.Message)
			return
		}
		if err != nil {
			p.internalError(w, r, err)
			return
		}
		p.orgsPage(w, r, browser, http.StatusOK, "")
	default:
		p.orgsPage(w, r, browser, http.StatusOK, "")
	}
}

// orgsPage lists the account's organizations, or offers to sign in.
func (p *Pages) orgsPage(w http.ResponseWriter, r *http.Request, browser string, status int, errMsg string) {
	ctx, tenantID := r.Context(), r.PathValue("tenant")
	if !validTenantID(tenantID) {
		p.errorPage(w, r, http.StatusNotFound, "error.request")
		return
	}
	loc := p.catalog.Locale(hostedpage.Lang(r))
	b, err := p.cfg.Directory.Branding(ctx, tenantID, loc.Lang)
	if err != nil {
		// An unknown tenant shows the neutral page, which can only offer
		// to sign in.
		b = Branding{}
	}
	vw := &view{L: loc, Step: stepOrgs, Title: loc.T("title.orgs"), CSRF: p.csrfToken(browser), Error: errMsg,
		Action: p.base + "/" + url.PathEscape(tenantID) + "/myorganizations", Brand: newBrandView(loc, b)}
	acct, found, err := p.orgsAccount(ctx, r, tenantID)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	switch {
	case !found:
		vw.OfferSignIn = p.cfg.Federation != nil
	case acct.home == "":
		vw.Identity, vw.Error = acct.name, loc.T("orgs.unavailable")
	default:
		orgs, err := p.cfg.Guests.Organizations(ctx, acct.home, acct.user)
		if err != nil {
			p.internalError(w, r, err)
			return
		}
		slices.SortStableFunc(orgs, func(a, b Organization) int {
			switch {
			case a.Home == b.Home:
				return 0
			case a.Home:
				return -1
			}
			return 1
		})
		vw.Identity, vw.Orgs = acct.name, orgs
	}
	p.renderPage(w, status, vw)
}
