package login

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// stepSecurityInfo is "security info": the signed-in account's second
// factors, to add and delete. It acts for the browser's most recent SSO
// session in the tenant (a member's, or a guest's account there). While
// the account has a method, changing any needs a session that proved a
// second factor, or a code now (which then upgrades the session): a
// password alone must not be enough to swap the factor that protects it.
// The first method may be added with the password alone, as at a sign-in
// that asks to register.
const stepSecurityInfo step = "securityinfo"

// Modes of the security info page.
const (
	infoList      = ""
	infoAddApp    = "addapp"    // a new key shown, waiting for its first code
	infoAddEmail  = "addemail"  // a code sent to register the address
	infoEmailSent = "emailsent" // a code sent to verify with the email method
)

// infoSession is the session the page acts for.
func (p *Pages) infoSession(ctx context.Context, r *http.Request, tenantID string) (session, bool, error) {
	sessions, err := p.sessions(ctx, r, tenantID, "")
	if err != nil || len(sessions) == 0 {
		return session{}, false, err
	}
	return sessions[0], true, nil
}

func (p *Pages) infoGet(w http.ResponseWriter, r *http.Request) {
	browser, err := p.browserID(w, r)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	p.infoPage(w, r, browser, infoList, "", mfa.Enrolment{})
}

func (p *Pages) infoPost(w http.ResponseWriter, r *http.Request) {
	browser, ok := p.readForm(w, r)
	if !ok {
		return
	}
	ctx, tenantID := r.Context(), r.PathValue("tenant")
	if !validTenantID(tenantID) {
		p.errorPage(w, r, http.StatusNotFound, "error.request")
		return
	}
	loc := p.catalog.Locale(hostedpage.Lang(r))
	action := r.PostForm.Get("action")
	if action == "signin" {
		if p.cfg.Federation == nil {
			p.infoPage(w, r, browser, infoList, "", mfa.Enrolment{})
			return
		}
		err := p.federate(ctx, w, r, browser, tenantID, trip{Purpose: purposeSecurityInfo, Provider: p.tenantProvider(tenantID)}, "")
		switch {
		case errors.Is(err, federation.ErrProviderFailed):
			p.errorPage(w, r, http.StatusNotFound, "error.request")
		case err != nil:
			p.internalError(w, r, err)
		}
		return
	}
	s, found, err := p.infoSession(ctx, r, tenantID)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	if !found {
		p.infoPage(w, r, browser, infoList, "", mfa.Enrolment{})
		return
	}
	sf, user := p.cfg.SecondFactor, s.data.UserID
	methods, err := sf.Options(ctx, tenantID, user, s.data.IdP == federation.IssuerMail)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	verified := len(methods.Methods) == 0 || mfa.ProvesMFA(s.data.AMR)
	// A code typed on this page counts against the client like any other.
	code := mfaCode(r)
	codeAction := action == "verify" || action == "verifyemail" || action == "confirmapp" || action == "confirmemail"
	if codeAction && code == "" {
		p.infoPage(w, r, browser, infoList, loc.T("error.mfaCode"), mfa.Enrolment{})
		return
	}
	if codeAction && p.throttled(r) {
		w.Header().Set("Retry-After", retryAfter(p.cfg.ClientRate.Every))
		p.infoRender(w, r, browser, http.StatusTooManyRequests, infoList, loc.T("error.throttled"), mfa.Enrolment{})
		return
	}
	refused := func(err error) (string, bool) {
		var locked *mfa.LockedError
		switch {
		case errors.As(err, &locked):
			return loc.T("error.mfaLocked"), true
		case errors.Is(err, mfa.ErrWrongCode), errors.Is(err, mfa.ErrReplayed):
			p.chargeFailure(r)
			return loc.T("error.mfaCode"), true
		}
		if wait, ok := tooManyCodes(err); ok {
			w.Header().Set("Retry-After", retryAfter(wait))
			return loc.T("error.tooManyCodes"), true
		}
		if ue, ok := usererr.As(err); ok {
			return ue.Message, true
		}
		return "", false
	}
	var msg, mode string
	var en mfa.Enrolment
	switch {
	case action == "verify" && !verified:
		_, err = sf.VerifyTOTP(ctx, tenantID, user, code)
		if err == nil {
			err = p.upgradeSession(ctx, w, r, tenantID, s.sid, mfa.WithSecondFactor(s.data.AMR))
		}
	case action == "sendemail" && !verified:
		if err = sf.SendEmailCode(ctx, tenantID, user, loc.Lang); err == nil {
			mode = infoEmailSent
		}
	case action == "verifyemail" && !verified:
		_, err = sf.VerifyEmailCode(ctx, tenantID, user, code)
		if err == nil {
			err = p.upgradeSession(ctx, w, r, tenantID, s.sid, mfa.WithSecondFactor(s.data.AMR))
		}
	case !verified:
		// Every change below needs the second factor first.
	case action == "delete":
		err = sf.RemoveMethod(ctx, tenantID, user, r.PostForm.Get("method"))
		if errors.Is(err, mfa.ErrNoMethod) {
			err = nil // already gone: the list shows it
		}
	case action == "addapp":
		if en, err = sf.BeginTOTP(ctx, tenantID, user); err == nil {
			mode = infoAddApp
		}
	case action == "confirmapp":
		token := r.PostForm.Get("enrolment")
		_, err = sf.ConfirmTOTP(ctx, tenantID, user, token, code)
		if errors.Is(err, mfa.ErrWrongCode) {
			// Show the same key again to try another code.
			if en, err2 := sf.ShowTOTP(ctx, tenantID, user, token); err2 == nil {
				p.chargeFailure(r)
				p.infoPage(w, r, browser, infoAddApp, loc.T("error.mfaCode"), en)
				return
			}
		}
		if errors.Is(err, mfa.ErrEnrolment) {
			err, msg = nil, loc.T("error.mfaEnrolment")
		}
	case action == "addemail" && methods.RegisterEmail != "":
		if _, err = sf.SendRegistrationCode(ctx, tenantID, user, loc.Lang); err == nil {
			mode = infoAddEmail
		}
	case action == "confirmemail":
		_, err = sf.ConfirmEmail(ctx, tenantID, user, code)
		if errors.Is(err, mfa.ErrWrongCode) {
			p.chargeFailure(r)
			p.infoPage(w, r, browser, infoAddEmail, loc.T("error.code"), en)
			return
		}
	}
	if m, ok := refused(err); ok {
		msg, err = m, nil
	}
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	p.infoPage(w, r, browser, mode, msg, en)
}

// infoPage renders the security info page, 200.
func (p *Pages) infoPage(w http.ResponseWriter, r *http.Request, browser, mode, errMsg string, en mfa.Enrolment) {
	p.infoRender(w, r, browser, http.StatusOK, mode, errMsg, en)
}

func (p *Pages) infoRender(w http.ResponseWriter, r *http.Request, browser string, status int, mode, errMsg string, en mfa.Enrolment) {
	ctx, tenantID := r.Context(), r.PathValue("tenant")
	if !validTenantID(tenantID) {
		p.errorPage(w, r, http.StatusNotFound, "error.request")
		return
	}
	loc := p.catalog.Locale(hostedpage.Lang(r))
	b, err := p.cfg.Directory.Branding(ctx, tenantID, loc.Lang)
	if err != nil {
		b = Branding{}
	}
	mv := &mfaView{Mode: mode}
	vw := &view{L: loc, Step: stepSecurityInfo, Title: loc.T("title.securityinfo"), CSRF: p.csrfToken(browser), Error: errMsg,
		Action: p.base + "/" + url.PathEscape(tenantID) + "/securityinfo", Brand: newBrandView(loc, b), MFA: mv}
	s, found, err := p.infoSession(ctx, r, tenantID)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	if !found {
		vw.OfferSignIn = p.cfg.Federation != nil
		p.renderPage(w, status, vw)
		return
	}
	vw.Identity = s.data.UPN
	if s.data.IdP != "" && s.data.Email != "" {
		vw.Identity = s.data.Email
	}
	// A guest who signs in with a passcode to their address cannot use
	// that address as a second factor too.
	opts, err := p.cfg.SecondFactor.Options(ctx, tenantID, s.data.UserID, s.data.IdP == federation.IssuerMail)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	for _, m := range opts.Methods {
		mv.Methods = append(mv.Methods, methodView{ID: m.ID, Name: loc.T("mfa.method." + m.Type), Detail: maskEmail(m.Email), Added: methodAdded(m.CreatedAt)})
		switch m.Type {
		case mfa.TypeSoftwareOath:
			mv.OfferTOTP = true
		case mfa.TypeEmail:
			mv.OfferEmail, mv.EmailTo = true, maskEmail(m.Email)
		}
	}
	mv.NeedsVerification = len(opts.Methods) > 0 && !mfa.ProvesMFA(s.data.AMR)
	mv.RegisterEmailTo = maskEmail(opts.RegisterEmail)
	if mode == infoAddApp {
		fillEnrolment(mv, en)
	}
	p.renderPage(w, status, vw)
}
