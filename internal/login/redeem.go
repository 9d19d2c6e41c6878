package login

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// The redemption of an invitation, from the link in its email:
//
//	GET /redeem?ticket= ─► invite ─► (identity provider) ─► federation callback ─┐
//	                          └────► code ─────────────────────────────────────┴─► review ─► Redeem ─► inviteRedirectUrl
//
// The GET only shows the invitation: link scanners follow links in email,
// and nothing changes until the person presses Continue.

// stepInvite is the invitation as its link shows it.
const stepInvite step = "invite"

// kindRedemption is the state kind of redemptions in progress, one per
// browser and ticket, in the inviting tenant.
const kindRedemption = "redemption"

const (
	redemptionLifetime = time.Hour
	maxTicket          = 512
)

// redemption is a redemption in progress. The ticket is sealed with a key
// of the pages and the browser: Redeem needs it after the trip to the
// identity provider, and it must not be kept readable.
type redemption struct {
	Step       step                 `json:"step"`
	Ticket     []byte               `json:"ticket"`
	Invitation Invitation           `json:"invitation"`
	Identity   *federation.Identity `json:"identity,omitempty"`
}

// redeemVisit is one request to the redemption pages.
type redeemVisit struct {
	p       *Pages
	w       http.ResponseWriter
	r       *http.Request
	ctx     context.Context
	browser string
	loc     *locale
	// tenant and handle name the redemption: its forms post them as
	// "{tenant}.{handle}", and its state is found from them and the browser.
	tenant, handle string
}

func (p *Pages) newRedeemVisit(w http.ResponseWriter, r *http.Request, browser string) *redeemVisit {
	return &redeemVisit{p: p, w: w, r: r, ctx: r.Context(), browser: browser,
		loc: p.catalog.Locale(hostedpage.Lang(r))}
}

func redemptionHandle(browser, ticket string) string { return hashID("redemption", browser, ticket) }

func (rv *redeemVisit) stateID() string { return hashID("redemption state", rv.browser, rv.handle) }

// redeemGet shows an invitation (?ticket=) or the redemption's current
// step (?request=, where the return from the identity provider lands).
func (p *Pages) redeemGet(w http.ResponseWriter, r *http.Request) {
	browser, err := p.browserID(w, r)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	rv := p.newRedeemVisit(w, r, browser)
	q := r.URL.Query()
	if ticket := q.Get("ticket"); ticket != "" {
		rv.showInvitation(ticket)
		return
	}
	rd, ok := rv.load(q.Get("request"))
	if !ok {
		return
	}
	rv.render(http.StatusOK, rd, "")
}

// showInvitation shows the invitation a ticket stands for, changing nothing.
func (rv *redeemVisit) showInvitation(ticket string) {
	inv, err := rv.invitation(ticket)
	if err != nil {
		rv.fail(err)
		return
	}
	rv.tenant = inv.TenantID
	rv.renderStep(http.StatusOK, stepInvite, inv, ticket, "")
}

func (rv *redeemVisit) invitation(ticket string) (Invitation, error) {
	if len(ticket) > maxTicket {
		return Invitation{}, ErrInvitationInvalid
	}
	return rv.p.cfg.Guests.Invitation(rv.ctx, ticket)
}

func (p *Pages) redeemPost(w http.ResponseWriter, r *http.Request) {
	browser, ok := p.readForm(w, r)
	if !ok {
		return
	}
	rv := p.newRedeemVisit(w, r, browser)
	posted := step(r.PostForm.Get("step"))
	if posted == stepInvite {
		rv.start(r.PostForm.Get("request"))
		return
	}
	rd, ok := rv.load(r.PostForm.Get("request"))
	if !ok {
		return
	}
	if posted != rd.Step {
		rv.render(http.StatusOK, rd, "")
		return
	}
	switch rd.Step {
	case stepCode:
		rv.postCode(rd)
	case stepReview:
		rv.postReview(rd)
	default:
		rv.render(http.StatusOK, rd, "")
	}
}

// start begins the redemption after Continue: the invited address is
// routed to where its owner authenticates.
func (rv *redeemVisit) start(ticket string) {
	inv, err := rv.invitation(ticket)
	if err != nil {
		rv.fail(err)
		return
	}
	rv.tenant, rv.handle = inv.TenantID, redemptionHandle(rv.browser, ticket)
	sealed, err := rv.p.sealTicket(rv.browser, rv.handle, []byte(ticket))
	if err != nil {
		rv.fail(err)
		return
	}
	rd := redemption{Step: stepInvite, Ticket: sealed, Invitation: inv}
	route, err := rv.p.cfg.Guests.Route(rv.ctx, inv.TenantID, inv.InvitedEmail)
	if ue, ok := usererr.As(err); ok {
		rv.message(http.StatusForbidden, inv, "title.invitation", ue.Message)
		return
	}
	if err != nil {
		rv.fail(err)
		return
	}
	switch {
	case route.Provider.Kind != "":
		if err := rv.save(rd); err != nil {
			rv.fail(err)
			return
		}
		t := trip{Purpose: purposeRedeem, Provider: route.Provider, Redemption: rv.handle}
		if err := rv.p.federate(rv.ctx, rv.w, rv.r, rv.browser, inv.TenantID, t, inv.InvitedEmail); err != nil {
			rv.fail(err)
		}
	case route.OTP:
		rd.Step = stepCode
		rv.sendCode(rd)
	default:
		// An address of the tenant's own domains is a member's: there is
		// nothing to redeem.
		rv.p.cfg.Logger.InfoContext(rv.ctx, "invitation routes to a member", "tenant", inv.TenantID)
		rv.fail(ErrInvitationInvalid)
	}
}

func (rv *redeemVisit) sendCode(rd redemption) {
	err := rv.p.cfg.Guests.SendCode(rv.ctx, rv.tenant, rd.Invitation.InvitedEmail)
	wait, limited := tooManyCodes(err)
	if ue, ok := usererr.As(err); ok && !limited {
		rv.message(http.StatusForbidden, rd.Invitation, "title.invitation", ue.Message)
		return
	}
	if err != nil && !limited {
		rv.fail(err)
		return
	}
	if err := rv.save(rd); err != nil {
		rv.fail(err)
		return
	}
	if limited {
		rv.w.Header().Set("Retry-After", retryAfter(wait))
		rv.render(http.StatusTooManyRequests, rd, rv.loc.T("error.tooManyCodes"))
		return
	}
	rv.render(http.StatusOK, rd, "")
}

func (rv *redeemVisit) postCode(rd redemption) {
	if rv.r.PostForm.Get("action") == "resend" {
		rv.sendCode(rd)
		return
	}
	code := strings.TrimSpace(rv.r.PostForm.Get("code"))
	if code == "" || len(code) > 32 {
		rv.render(http.StatusOK, rd, rv.loc.T("error.code"))
		return
	}
	if rv.p.throttled(rv.r) {
		rv.w.Header().Set("Retry-After", retryAfter(rv.p.cfg.ClientRate.Every))
		rv.render(http.StatusTooManyRequests, rd, rv.loc.T("error.throttled"))
		return
	}
	id, err := rv.p.cfg.Guests.CheckCode(rv.ctx, rv.tenant, rd.Invitation.InvitedEmail, code)
	if errors.Is(err, ErrBadCode) {
		rv.p.chargeFailure(rv.r)
		rv.render(http.StatusOK, rd, rv.loc.T("error.code"))
		return
	}
	if err != nil {
		rv.fail(err)
		return
	}
	rv.proved(rd, id, func(rd redemption) { rv.render(http.StatusOK, rd, "") })
}

// proved goes on with a redemption once the identity is proved: the
// cross-tenant access settings may refuse it; when both tenants redeem
// automatically, without the consent page; otherwise the page is shown
// (review saves the redemption at that step first).
func (rv *redeemVisit) proved(rd redemption, id federation.Identity, review func(redemption)) {
	ct, ok := rv.crossTenant(rd, id)
	if !ok {
		return
	}
	rd.Step, rd.Identity = stepReview, &id
	if ct.AutomaticRedemption {
		rv.redeem(rd, id)
		return
	}
	if err := rv.save(rd); err != nil {
		rv.fail(err)
		return
	}
	review(rd)
}

// crossTenant applies the cross-tenant access settings to the identity
// redeeming rd; when they refuse, it logs the refusal, shows it (the
// invitation stays pending) and reports false.
func (rv *redeemVisit) crossTenant(rd redemption, id federation.Identity) (CrossTenant, bool) {
	ct, err := rv.p.cfg.Guests.CrossTenantAccess(rv.ctx, rv.tenant, id, "")
	if err != nil {
		rv.fail(err)
		return ct, false
	}
	if !ct.Refused {
		return ct, true
	}
	rv.p.noteCrossTenantRefusal(rv.ctx, rv.r, rv.tenant, authn.Request{TenantID: rv.tenant}, identityName(id), id, ct)
	rv.message(http.StatusForbidden, rd.Invitation, "title.error", rv.loc.T(ct.messageKey(), rd.Invitation.TenantName))
	return ct, false
}

// redeemIdentity continues a redemption with the identity the provider
// proved (the federation callback), at the review page.
func (p *Pages) redeemIdentity(w http.ResponseWriter, r *http.Request, browser, tenantID, handle string, id federation.Identity) {
	rv := p.newRedeemVisit(w, r, browser)
	request := tenantID + "." + handle
	rd, ok := rv.load(request)
	if !ok {
		return
	}
	rv.proved(rd, id, func(redemption) {
		http.Redirect(w, r, p.base+"/redeem?request="+url.QueryEscape(request), http.StatusFound)
	})
}

func (rv *redeemVisit) postReview(rd redemption) {
	switch rv.r.PostForm.Get("decision") {
	case "accept":
		rv.accept(rd)
	case "cancel":
		// Declining changes nothing: the invitation stays pending.
		if err := rv.end(); err != nil {
			rv.fail(err)
			return
		}
		rv.message(http.StatusOK, rd.Invitation, "title.declined", rv.loc.T("redeem.declined", rd.Invitation.TenantName))
	default:
		rv.render(http.StatusOK, rd, "")
	}
}

// accept redeems the invitation with the identity proved, and sends the
// guest where the inviter wants them, signed in to the inviting tenant.
func (rv *redeemVisit) accept(rd redemption) {
	if rd.Identity == nil {
		rv.fail(errors.New("login: a redemption under review without an identity"))
		return
	}
	// The settings may have changed while the page was open.
	if _, ok := rv.crossTenant(rd, *rd.Identity); ok {
		rv.redeem(rd, *rd.Identity)
	}
}

// redeem redeems rd's invitation with the identity.
func (rv *redeemVisit) redeem(rd redemption, id federation.Identity) {
	ticket, err := rv.p.openTicket(rv.browser, rv.handle, rd.Ticket)
	if err != nil {
		rv.fail(fmt.Errorf("login: opening a redemption's ticket: %w", err))
		return
	}
	rv.redeemTicket(rd, string(ticket), id)
}

// redeemTicket redeems the invitation and sends the guest where the
// inviter wants them, signed in to the inviting tenant.
func (rv *redeemVisit) redeemTicket(rd redemption, ticket string, id federation.Identity) {
	red, err := rv.p.cfg.Guests.Redeem(rv.ctx, ticket, id)
	if errors.Is(err, ErrWrongIdentity) {
		// The invitation stays pending for the address it was sent to.
		rv.message(http.StatusForbidden, rd.Invitation, "title.error",
			rv.loc.T("error.wrongIdentity", identityName(id), rd.Invitation.InvitedEmail))
		return
	}
	if err != nil {
		rv.fail(err)
		return
	}
	if err := rv.end(); err != nil {
		rv.fail(err)
		return
	}
	g := guestFlow(rd.Invitation.InvitedEmail, Guest{UserID: red.UserID, DisplayName: id.DisplayName}, id, rv.p.cfg.Now())
	_, err = rv.p.startSession(rv.ctx, rv.w, rv.r, red.TenantID, sessionData{UserID: g.UserID, DisplayName: g.DisplayName,
		AuthTime: g.AuthTime, AMR: g.AMR, IdP: g.IdP, HomeTenantID: g.HomeTenantID, HomeObjectID: g.HomeObjectID, Email: g.Username, HomeAMR: g.HomeAMR})
	if err != nil {
		// The invitation is redeemed: without a session the guest signs in
		// at the application, which is all a session would have spared.
		rv.p.cfg.Logger.WarnContext(rv.ctx, "starting a session after a redemption", "tenant", red.TenantID, "err", err)
	}
	http.Redirect(rv.w, rv.r, red.RedirectURL, http.StatusFound)
}

// identityName names an identity as its owner would recognise it.
func identityName(id federation.Identity) string {
	if id.Email != "" {
		return id.Email
	}
	return id.DisplayName
}

// load finds the redemption a form or link names ("{tenant}.{handle}")
// for this browser; on failure it has answered the request.
func (rv *redeemVisit) load(request string) (redemption, bool) {
	var rd redemption
	tenant, handle, ok := strings.Cut(request, ".")
	if !ok || !validTenantID(tenant) || len(handle) != 64 {
		rv.fail(ErrInvitationInvalid)
		return rd, false
	}
	rv.tenant, rv.handle = tenant, handle
	var st store.State
	err := rv.p.cfg.Store.View(rv.ctx, func(tx store.Tx) error {
		var err error
		st, err = tx.GetState(rv.ctx, tenant, kindRedemption, rv.stateID())
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		err = ErrInvitationInvalid
	}
	if err == nil {
		err = json.Unmarshal(st.Data, &rd)
	}
	if err != nil {
		rv.fail(err)
		return rd, false
	}
	return rd, true
}

func (rv *redeemVisit) save(rd redemption) error {
	data, err := json.Marshal(rd)
	if err != nil {
		return err
	}
	now := rv.p.cfg.Now()
	id := rv.stateID()
	return rv.p.cfg.Store.Update(rv.ctx, func(tx store.Tx) error {
		return putState(rv.ctx, tx, store.State{TenantID: rv.tenant, Kind: kindRedemption, ID: id, Family: id,
			Data: data, CreatedAt: now, ExpiresAt: now.Add(redemptionLifetime)})
	})
}

// end forgets the redemption.
func (rv *redeemVisit) end() error {
	return rv.p.cfg.Store.Update(rv.ctx, func(tx store.Tx) error {
		_, err := tx.DeleteStates(rv.ctx, rv.tenant, store.StateFilter{Kind: kindRedemption, Family: rv.stateID()})
		return err
	})
}

// fail answers with the page for err: one page for every invitation that
// cannot be redeemed, one for a blocked domain, else the internal error.
func (rv *redeemVisit) fail(err error) {
	switch {
	case errors.Is(err, ErrInvitationInvalid):
		rv.message(http.StatusBadRequest, Invitation{}, "title.invitation", rv.loc.T("error.invitation"))
	case errors.Is(err, ErrDomainBlocked):
		rv.message(http.StatusForbidden, Invitation{}, "title.invitation", rv.loc.T("error.domainBlocked"))
	default:
		rv.p.internalError(rv.w, rv.r, err)
	}
}

// render shows the redemption's current step. The invitation's own form
// (a redemption waiting for the identity provider, come back to) posts the
// ticket, as the link's page does.
func (rv *redeemVisit) render(status int, rd redemption, errMsg string) {
	request := rv.tenant + "." + rv.handle
	if rd.Step == stepInvite {
		ticket, err := rv.p.openTicket(rv.browser, rv.handle, rd.Ticket)
		if err != nil {
			rv.fail(fmt.Errorf("login: redemption state: %w", err))
			return
		}
		request = string(ticket)
	}
	rv.renderStep(status, rd.Step, rd.Invitation, request, errMsg)
}

func (rv *redeemVisit) renderStep(status int, st step, inv Invitation, request, errMsg string) {
	vw := rv.view(inv, st, "title."+string(st))
	vw.Error, vw.RequestID = errMsg, request
	if st == stepCode {
		vw.Identity = inv.InvitedEmail
	}
	rv.p.renderPage(rv.w, status, vw)
}

// message answers with the message card, in the inviting organization's
// branding when the invitation is known.
func (rv *redeemVisit) message(status int, inv Invitation, title, msg string) {
	c := hostedpage.Card{Lang: rv.loc.Lang, Title: rv.loc.T(title), Message: msg}
	if inv.TenantID != "" {
		c.Brand = rv.brand(inv).card()
	}
	hostedpage.Write(rv.w, rv.r, status, c)
}

func (rv *redeemVisit) view(inv Invitation, st step, title string) *view {
	p := rv.p
	return &view{L: rv.loc, Step: st, Title: rv.loc.T(title), CSRF: p.csrfToken(rv.browser), Action: p.base + "/redeem",
		Org: inv.TenantName, Inviter: inv.InviterName, Invited: inv.InvitedEmail, PrivacyURL: httpsURL(inv.PrivacyURL), Brand: rv.brand(inv)}
}

// brand is the inviting organization's branding, the neutral default when
// the invitation is not known.
func (rv *redeemVisit) brand(inv Invitation) brandView {
	var b Branding
	if inv.TenantID != "" {
		var err error
		if b, err = rv.p.cfg.Directory.Branding(rv.ctx, inv.TenantID, rv.loc.Lang); err != nil {
			// Branding is cosmetic: the neutral default serves as well.
			rv.p.cfg.Logger.WarnContext(rv.ctx, "loading branding", "tenant", inv.TenantID, "err", err)
		}
	}
	return newBrandView(rv.loc, b)
}

// sealTicket encrypts a ticket for this browser's redemption; the handle is
// bound in as associated data, so a sealed ticket opens only where it was
// kept.
func (p *Pages) sealTicket(browser, handle string, plain []byte) ([]byte, error) {
	aead, err := p.ticketAEAD(browser)
	if err != nil {
		return nil, err
	}
	return aead.Seal(nil, nil, plain, []byte(handle)), nil
}

func (p *Pages) openTicket(browser, handle string, sealed []byte) ([]byte, error) {
	aead, err := p.ticketAEAD(browser)
	if err != nil {
		return nil, err
	}
	return aead.Open(nil, nil, sealed, []byte(handle))
}

func (p *Pages) ticketAEAD(browser string) (cipher.AEAD, error) {
	block, err := aes.NewCipher(mac(p.sealKey, browser))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}
