package login

import (
	"bytes"
	"cmp"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/passpolicy"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// view is what the page template renders.
type view struct {
	L           *locale
	Step        step
	Title       string
	Nonce       string
	CSRF        string
	Action      string
	RequestID   string
	Brand       brandView
	App         string
	Publisher   string
	RedirectURI string
	Identity    string // the account being signed in, shown above the form
	Username    string // the username field's value
	Accounts    []accountView
	Permissions []Permission
	// AdminConsent: the consent asked is for the whole organization.
	AdminConsent bool
	// NeedsAdmin: the user may not consent to what is asked, only an
	// administrator can; the page says so and offers no Accept.
	NeedsAdmin bool
	Error      string
	// Fields are posted back as they came (the sign-out confirmation's).
	Fields []postField
	// B2B pages: the inviting organization, who invited, the address
	// invited, the organization's privacy statement (https only), and the
	// organizations of an account.
	Org, Inviter, Invited, PrivacyURL string
	Orgs                              []Organization
	// SignUp: the username page offers to create a personal account.
	SignUp bool
	// OfferSignIn: "my organizations" has no account yet and offers to
	// sign in.
	OfferSignIn bool
	// Back: the code page leads back to the username (in a sign-in, not in
	// a redemption, whose address is the invitation's).
	Back bool
	// MFA: the second factor's pages (mfa.go, securityinfo.go).
	MFA *mfaView
	// Switch: the language switch's links, on the sign-in flow's pages.
	Switch []langLink
}

// PasswordRules are the rules passpolicy enforces on a new password, in
// the page's language, shown before the user types one.
func (vw *view) PasswordRules() []string {
	return []string{
		vw.L.T("rules.length", passpolicy.MinLength, passpolicy.MaxLength),
		vw.L.T("rules.common"),
		vw.L.T("rules.repetitive"),
		vw.L.T("rules.context"),
	}
}

// langLink is one language of the switch: a link that shows the current
// step again in that language and keeps it for the rest of the flow.
type langLink struct {
	Lang, Name, URL string
	Current         bool
}

// langSwitch is the switch for the page at action of the request id.
func langSwitch(action, id, current string) []langLink {
	links := make([]langLink, len(i18n.Languages))
	for i, lang := range i18n.Languages {
		q := url.Values{"request": {id}, "lang": {lang}}
		links[i] = langLink{Lang: lang, Name: hostedpage.LanguageNames[lang], URL: action + "?" + q.Encode(), Current: lang == current}
	}
	return links
}

type postField struct{ Name, Value string }

type accountView struct{ SID, UPN, DisplayName string }

// brandView is Branding checked for the page: the colour and logo are used
// in CSS and a URL attribute, so only safe shapes pass.
type brandView struct {
	TenantName string
	LogoURL    string
	Background template.CSS
	SignInText string
	Reset      linkView
	Footer     []linkView
}

// linkView is one of the tenant's links, with its text in the page's
// language when the tenant gave none.
type linkView = hostedpage.Link

// card is the branding as a message card shows it.
func (bv brandView) card() *hostedpage.Brand {
	return &hostedpage.Brand{TenantName: bv.TenantName, LogoURL: bv.LogoURL, Background: bv.Background, Links: bv.Footer}
}

const defaultBackground = "#f2f2f2"

var colour = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

func newBrandView(loc *locale, b Branding) brandView {
	bv := brandView{TenantName: b.TenantName, SignInText: b.SignInText, Background: defaultBackground}
	if colour.MatchString(b.BackgroundColor) {
		bv.Background = template.CSS(b.BackgroundColor)
	}
	bv.LogoURL = httpsURL(b.LogoURL)
	if strings.HasPrefix(b.UploadedLogo, hostedpage.LogoPathPrefix) {
		bv.LogoURL = b.UploadedLogo
	}
	link := func(u, text, key string) linkView {
		if u = httpsURL(u); u == "" {
			return linkView{}
		}
		return linkView{URL: u, Text: cmp.Or(text, loc.T(key))}
	}
	bv.Reset = link(b.ResetURL, b.ResetText, "link.reset")
	for _, l := range []linkView{link(b.TermsURL, b.TermsText, "link.terms"), link(b.PrivacyURL, b.PrivacyText, "link.privacy")} {
		if l.URL != "" {
			bv.Footer = append(bv.Footer, l)
		}
	}
	return bv
}

// httpsURL returns s if it is an absolute https URL of sensible length,
// else "": other schemes do not belong in a page's links and images.
func httpsURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme == "https" && u.Host != "" && len(s) <= 2048 {
		return s
	}
	return ""
}

// show renders the flow's current step with status 200.
func (v *visit) show(f flow, errMsg string) { v.render(http.StatusOK, f, errMsg) }

// render renders the flow's current step.
func (v *visit) render(status int, f flow, errMsg string) {
	p := v.p
	vw := &view{
		L: v.loc, Step: f.Step, Title: v.loc.T("title." + string(f.Step)), Error: errMsg,
		CSRF: p.csrfToken(v.browser), Action: p.base + "/" + url.PathEscape(v.req.TenantID) + "/login",
		RequestID: v.req.ID, App: v.req.ClientName, Publisher: v.req.Publisher, RedirectURI: v.req.RedirectURI,
		Identity: f.UPN, Username: f.Username, AdminConsent: v.req.AdminConsent,
	}
	vw.Switch = langSwitch(vw.Action, v.req.ID, v.loc.Lang)
	if (vw.Identity == "" || f.IdP != "") && f.Step != stepUsername && f.Step != stepAccounts {
		// A guest knows themselves by the address they signed in with,
		// not by the tenant's name for their account.
		vw.Identity = f.Username
	}
	var b Branding
	if !v.req.Unbound {
		// Before the user's tenant is known, no tenant's branding applies.
		var err error
		if b, err = p.cfg.Directory.Branding(v.ctx, v.req.TenantID, v.loc.Lang); err != nil {
			// Branding is cosmetic: the neutral default serves as well.
			p.cfg.Logger.WarnContext(v.ctx, "loading branding", "tenant", v.req.TenantID, "err", err)
		}
	}
	vw.Brand = newBrandView(v.loc, b)
	switch {
	case f.Step == stepAccounts:
		sessions, err := p.sessions(v.ctx, v.r, v.req.TenantID, v.req.ClientID)
		if err != nil {
			v.fail(err)
			return
		}
		for _, s := range sessions {
			vw.Accounts = append(vw.Accounts, accountView{SID: s.sid, UPN: cmp.Or(s.data.Email, s.data.UPN), DisplayName: s.data.DisplayName})
		}
	case f.Step == stepConsent:
		var err error
		if vw.Permissions, err = v.consentPermissions(f); err == nil {
			vw.NeedsAdmin, err = v.needsAdmin(f)
		}
		if err != nil {
			v.fail(err)
			return
		}
		if vw.NeedsAdmin {
			vw.Title = v.loc.T("title.needsAdmin")
		}
	case f.Step == stepReview:
		vw.Org, vw.Invited = cmp.Or(b.TenantName, v.req.TenantID), f.Username
	case f.Step == stepUsername:
		vw.SignUp = v.signUpOffered()
	case f.Step == stepCode:
		vw.Back = true
	case f.Step == stepMFA || f.Step == stepMFARegister || f.Step == stepMFATOTP || f.Step == stepMFAEmail:
		err := v.mfaRender(vw, f)
		if errors.Is(err, mfa.ErrEnrolment) {
			// The key shown expired: start the registration again.
			f.Step, f.Enrolment = stepMFARegister, ""
			if err := v.save(f); err != nil {
				v.fail(err)
				return
			}
			v.render(status, f, v.loc.T("error.mfaEnrolment"))
			return
		}
		if err != nil {
			v.fail(err)
			return
		}
	}
	p.renderPage(v.w, status, vw)
}

// consentPermissions describes what the consent page asks for: every
// permission the scopes name for the organization, or, for the user alone,
// those they have not granted yet among the scopes.
func (v *visit) consentPermissions(f flow) ([]Permission, error) {
	if v.req.AdminConsent {
		perms, err := v.p.cfg.Directory.ConsentPermissions(v.ctx, v.req.TenantID, v.req.ClientID, v.req.Scopes)
		if err != nil {
			return nil, err
		}
		values := make([]string, len(perms))
		for i, p := range perms {
			values[i] = p.Value
		}
		return consentList(v.loc, values, perms), nil
	}
	missing, err := v.p.cfg.Directory.MissingConsent(v.ctx, v.req.TenantID, f.UserID, v.req.ClientID, v.req.Scopes)
	if err != nil {
		return nil, err
	}
	return consentList(v.loc, v.req.Scopes, missing), nil
}

// consentList describes every requested scope: the standard OpenID scopes
// in the page's language, others as the directory describes them.
func consentList(loc *locale, scopes []string, missing []Permission) []Permission {
	perms := make([]Permission, 0, len(scopes))
	for _, s := range scopes {
		p := Permission{Value: s}
		if i := slices.IndexFunc(missing, func(m Permission) bool { return m.Value == s }); i >= 0 {
			p.Description = missing[i].Description
		}
		if key := "scope." + s; loc.Has(key) {
			p.Description = loc.T(key)
		}
		if p.Description == "" {
			p.Description = s
		}
		perms = append(perms, p)
	}
	return perms
}

// errorPage answers with hostedpage's card saying the message key, in the
// browser's language.
func (p *Pages) errorPage(w http.ResponseWriter, r *http.Request, status int, key string) {
	loc := p.catalog.Locale(hostedpage.Lang(r))
	hostedpage.Write(w, r, status, hostedpage.Card{Lang: loc.Lang, Title: loc.T("title.error"), Message: loc.T(key)})
}

// forbidden answers a post that failed the CSRF or cross-origin check.
func (p *Pages) forbidden(w http.ResponseWriter, r *http.Request) {
	p.errorPage(w, r, http.StatusForbidden, "error.forbidden")
}

// internalError logs err and renders a page that says nothing about it:
// 503 when the store is unavailable (trying again in a moment helps), 500
// otherwise.
func (p *Pages) internalError(w http.ResponseWriter, r *http.Request, err error) {
	p.cfg.Logger.ErrorContext(r.Context(), "sign-in page failed", "err", err)
	status := http.StatusInternalServerError
	if errors.Is(err, store.ErrUnavailable) {
		status = http.StatusServiceUnavailable
	}
	p.errorPage(w, r, status, "error.internal")
}

// renderPage executes the template with a fresh CSP nonce.
func (p *Pages) renderPage(w http.ResponseWriter, status int, vw *view) {
	page, err := p.execute(vw)
	if err != nil {
		p.cfg.Logger.Error("rendering sign-in page", "step", vw.Step, "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	pageHeaders(w.Header(), vw.Nonce)
	w.WriteHeader(status)
	_, _ = w.Write(page)
}

// execute renders vw with a fresh nonce (set in vw) for its style.
func (p *Pages) execute(vw *view) ([]byte, error) {
	nonce, err := p.randomString(16)
	if err != nil {
		return nil, err
	}
	vw.Nonce = nonce
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, "page.html", vw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// UsernamePage renders the sign-in's first step of tenantID as its users
// see it with branding b, in lang (one of i18n.Languages; others fall back
// as the catalog does), outside any flow: the admin centre's preview of
// branding not saved yet. It returns the page and the nonce its
// Content-Security-Policy (PagePolicy) must name.
func (p *Pages) UsernamePage(tenantID string, b Branding, lang string) (page []byte, nonce string, err error) {
	loc := p.catalog.Locale(lang)
	vw := &view{L: loc, Step: stepUsername, Title: loc.T("title." + string(stepUsername)),
		Action: p.base + "/" + url.PathEscape(tenantID) + "/login", Brand: newBrandView(loc, b)}
	vw.Switch = langSwitch(vw.Action, "", loc.Lang)
	page, err = p.execute(vw)
	return page, vw.Nonce, err
}
