package login

import (
	"cmp"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// Guests sign in to a tenant that invited them with the identity they were
// invited with: the username page routes an address of another domain to
// its identity provider, or to a one-time passcode sent to it, and the
// identity that comes back is the tenant's guest (guestsWelcome):
//
//	username ─► (identity provider) ─► federation callback ─┐
//	   └──────► code ──────────────────────────────────────┴─► review (pending guest) ─► kmsi ─► …

// guestsWelcome tells whether the username page routes other domains'
// addresses to the guest sign-in: with Guests configured, for requests of
// one tenant, other than the consumers tenant whose accounts all have
// addresses of other domains.
func (v *visit) guestsWelcome() bool {
	return v.p.cfg.Guests != nil && !v.req.AnyOrganization && v.req.TenantID != v.p.cfg.ConsumersTenantID
}

// guestRoute continues a username of another domain where the tenant says
// its owner authenticates.
func (v *visit) guestRoute(f flow) {
	email := f.Username
	route, err := v.p.cfg.Guests.Route(v.ctx, v.req.TenantID, email)
	if ue, ok := usererr.As(err); ok {
		// The address is refused, or has no way to sign in here.
		v.show(f, ue.Message)
		return
	}
	if err != nil {
		v.fail(err)
		return
	}
	switch {
	case route.Member:
		v.advance(flow{Step: stepPassword, Username: email})
	case route.Provider.Kind != "":
		// The flow waits at the username page for the provider's answer.
		f.Step = stepUsername
		if err := v.save(f); err != nil {
			v.fail(err)
			return
		}
		t := trip{Purpose: purposeSignIn, Provider: route.Provider, RequestID: v.req.ID}
		if err := v.p.federate(v.ctx, v.w, v.r, v.browser, v.req.TenantID, t, email); err != nil {
			v.fail(err)
		}
	case route.OTP:
		v.sendCode(flow{Step: stepCode, Username: email})
	default:
		v.fail(errors.New("login: guest route names no way to authenticate"))
	}
}

// sendCode sends a passcode to the flow's address and shows the code page,
// the same page whether or not anyone has the address; past the sending
// limit the page says so, with 429 and Retry-After.
func (v *visit) sendCode(f flow) {
	err := v.p.cfg.Guests.SendCode(v.ctx, v.req.TenantID, f.Username)
	if ue, ok := usererr.As(err); ok {
		back := flow{Step: stepUsername, Username: f.Username}
		if err := v.save(back); err != nil {
			v.fail(err)
			return
		}
		v.show(back, ue.Message)
		return
	}
	v.showCodePage(f, err)
}

// showCodePage shows the page that takes a passcode just sent, or says
// with 429 and Retry-After that too many were sent lately; any other
// error of the sending fails the page.
func (v *visit) showCodePage(f flow, err error) {
	wait, limited := tooManyCodes(err)
	if err != nil && !limited {
		v.fail(err)
		return
	}
	if err := v.save(f); err != nil {
		v.fail(err)
		return
	}
	if limited {
		v.tooMany(f, wait, "error.tooManyCodes")
		return
	}
	v.show(f, "")
}

func (v *visit) postCode(f flow) {
	switch v.r.PostForm.Get("action") {
	case "back":
		v.advance(flow{Step: stepUsername, Username: f.Username})
		return
	case "resend":
		v.sendCode(f)
		return
	}
	code := strings.TrimSpace(v.r.PostForm.Get("code"))
	if code == "" || len(code) > 32 {
		v.show(f, v.loc.T("error.code"))
		return
	}
	if v.p.throttled(v.r) {
		v.tooMany(f, v.p.cfg.ClientRate.Every, "error.throttled")
		return
	}
	id, err := v.p.cfg.Guests.CheckCode(v.ctx, v.req.TenantID, f.Username, code)
	if errors.Is(err, ErrBadCode) {
		v.p.chargeFailure(v.r)
		v.show(f, v.loc.T("error.code"))
		return
	}
	if err != nil {
		v.fail(err)
		return
	}
	v.afterIdentity(f, id)
}

// afterIdentity continues a guest's sign-in with the identity their
// provider or passcode proved: as the tenant's guest it names, through
// the permissions page while the invitation is pending.
func (v *visit) afterIdentity(f flow, id federation.Identity) {
	g, err := v.p.cfg.Guests.Guest(v.ctx, v.req.TenantID, id)
	switch {
	case errors.Is(err, ErrNotGuest):
		name := cmp.Or(id.Email, f.Username)
		v.noteGuestFailure(name, id, 50020, "User account from identity provider does not exist in tenant and cannot access the application.")
		v.refuse(flow{Step: stepUsername, Username: f.Username},
			v.loc.T("error.otherTenant", name, cmp.Or(id.IdP, id.Issuer), v.req.TenantID, v.req.ClientID, v.req.ClientName))
		return
	case errors.Is(err, ErrWrongIdentity):
		v.noteGuestFailure(cmp.Or(id.Email, f.Username), id, 50020, "The identity does not prove the guest's address.")
		v.refuse(flow{Step: stepUsername, Username: f.Username}, v.loc.T("error.guestIdentity", cmp.Or(id.Email, id.DisplayName), f.Username))
		return
	case err != nil:
		v.fail(err)
		return
	}
	ct, ok := v.crossTenant(f, id)
	if !ok {
		return
	}
	next := guestFlow(f.Username, g, id, v.p.cfg.Now())
	switch {
	case g.Pending && !ct.AutomaticRedemption:
		next.Step, next.Identity = stepReview, &id
		v.advance(next)
		return
	case g.Pending && !v.acceptPending(next, id):
		return
	}
	v.gate(next)
}

// crossTenant applies the cross-tenant access settings to the identity
// signing in as f's guest; when they refuse, it logs the refusal and shows
// it, and reports false.
func (v *visit) crossTenant(f flow, id federation.Identity) (CrossTenant, bool) {
	ct, err := v.p.cfg.Guests.CrossTenantAccess(v.ctx, v.req.TenantID, id, v.req.ClientID)
	if err != nil {
		v.fail(err)
		return ct, false
	}
	if !ct.Refused {
		return ct, true
	}
	v.p.noteCrossTenantRefusal(v.ctx, v.r, v.req.TenantID, v.req, cmp.Or(id.Email, f.Username), id, ct)
	org := v.req.TenantID
	if b, err := v.p.cfg.Directory.Branding(v.ctx, v.req.TenantID, v.loc.Lang); err == nil && b.TenantName != "" {
		org = b.TenantName
	}
	v.refuse(flow{Step: stepUsername, Username: f.Username}, v.loc.T(ct.messageKey(), org))
	return ct, false
}

// messageKey names the page's text for a refusal: AADSTS500212 when the
// home tenant's settings refuse, 500213 when the resource tenant's do.
func (ct CrossTenant) messageKey() string {
	if ct.Code == 500212 {
		return "error.crossTenantOutbound"
	}
	return "error.crossTenantInbound"
}

// refuse stores the flow and shows it with a message, also when the
// visit would otherwise redirect: the message would not survive one.
func (v *visit) refuse(f flow, msg string) {
	if err := v.save(f); err != nil {
		v.fail(err)
		return
	}
	v.render(http.StatusForbidden, f, msg)
}

// guestFlow is the flow of a guest signed in with the identity, at the
// "stay signed in?" step. The tenant accepts the home provider's amr but
// its claim of MFA, which counts only if its inbound trust accepts it
// (decided at the gate); HomeAMR keeps the claim as it came.
func guestFlow(username string, g Guest, id federation.Identity, now time.Time) flow {
	at := id.AuthTime
	if at.IsZero() {
		at = now
	}
	amr := id.AMR
	if len(amr) == 0 && id.Issuer == federation.IssuerMail {
		amr = []string{"otp"}
	}
	return flow{Step: stepKMSI, Username: username, UserID: g.UserID, UPN: g.UserPrincipalName, DisplayName: g.DisplayName,
		AuthTime: at, AMR: mfa.AcceptedAMR(amr, false), HomeAMR: amr,
		IdP: cmp.Or(id.IdP, id.Issuer), HomeTenantID: id.HomeTenantID, HomeObjectID: id.HomeObjectID}
}

// postReview takes a pending guest's answer to the permissions the
// inviting organization asks for: accepting redeems the invitation.
func (v *visit) postReview(f flow) {
	switch v.r.PostForm.Get("decision") {
	case "accept":
		if f.Identity == nil {
			v.advance(flow{Step: stepUsername, Username: f.Username})
			return
		}
		// The settings may have changed while the page was open.
		id := *f.Identity
		if _, ok := v.crossTenant(f, id); !ok || !v.acceptPending(f, id) {
			return
		}
		f.Identity = nil
		v.gate(f)
	case "cancel":
		v.deny("access_denied", "AADSTS65004: User declined the permissions the organization asked for.")
	default:
		v.show(f, "")
	}
}

// acceptPending redeems f's pending guest invitation just in time and
// reports whether the sign-in goes on; when not, the page saying why was
// shown.
func (v *visit) acceptPending(f flow, id federation.Identity) bool {
	err := v.p.cfg.Guests.AcceptPending(v.ctx, v.req.TenantID, f.UserID, id)
	switch {
	case errors.Is(err, ErrWrongIdentity):
		v.noteGuestFailure(cmp.Or(id.Email, f.Username), id, 50020, "The identity does not prove the guest's address.")
		v.refuse(flow{Step: stepUsername, Username: f.Username}, v.loc.T("error.guestIdentity", cmp.Or(id.Email, id.DisplayName), f.Username))
		return false
	case errors.Is(err, ErrNotGuest):
		// No longer pending: an invitation reset, or accepted meanwhile.
		v.refuse(flow{Step: stepUsername, Username: f.Username},
			v.loc.T("error.otherTenant", f.Username, cmp.Or(id.IdP, id.Issuer), v.req.TenantID, v.req.ClientID, v.req.ClientName))
		return false
	case errors.Is(err, ErrDomainBlocked):
		v.refuse(flow{Step: stepUsername, Username: f.Username}, v.loc.T("error.domainBlocked"))
		return false
	case err != nil:
		v.fail(err)
		return false
	}
	return true
}

// noteGuestFailure records a guest's refused sign-in.
func (v *visit) noteGuestFailure(name string, id federation.Identity, code int, reason string) {
	s := authn.SignIn{UserPrincipalName: name, UserDisplayName: id.DisplayName, ErrorCode: code, FailureReason: reason}
	asGuest(&s, id.HomeTenantID)
	v.noteSignIn(s)
}

// asGuest marks a sign-in as a guest's, who crossed into the tenant from
// their home tenant when it is one of this deployment's (the resource
// tenant otherwise, as for members).
func asGuest(s *authn.SignIn, homeTenantID string) {
	s.CrossTenantAccessType, s.HomeTenantID = authn.AccessB2BCollaboration, homeTenantID
}
