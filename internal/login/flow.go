package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// step is a state of the sign-in state machine. Each step is one page
// with one form; its handler either stays (with an error), moves to the
// next step, or ends the request through Finish or Deny:
//
//	(start) ─► accounts ─► password ─► change ─► kmsi ─► consent ─► Finish
//	   │          │  ▲        ▲  │                 │ ▲       │
//	   │          ▼  │        │  └──────────────────┘ │       └──► Deny (cancel)
//	   └──────► username ─────┘     (no change needed) │
//	   └── valid SSO session ──────────────────────────┴──► Finish (or Deny under prompt=none)
type step string

const (
	stepUsername step = "username"
	stepAccounts step = "accounts" // the account picker
	stepPassword step = "password"
	stepChange   step = "change" // first sign-in password change
	stepKMSI     step = "kmsi"   // "Stay signed in?"
	stepConsent  step = "consent"
	// A guest's steps (guest.go): the one-time passcode sent to their
	// address, and the permissions the inviting organization asks for at
	// the first sign-in of a pending guest.
	stepCode   step = "code"
	stepReview step = "review"
)

// kindFlow is the state kind of sign-ins in progress, one per browser and
// authorization request, consumed when the request ends.
const kindFlow = "loginflow"

const (
	flowLifetime = time.Hour
	maxFormBytes = 16 << 10
	maxUsername  = 256
)

// flow is a sign-in in progress. It is kept server-side: the browser's
// posts only choose among the moves its current step allows.
type flow struct {
	Step        step      `json:"step"`
	Username    string    `json:"username,omitempty"`
	UserID      string    `json:"userId,omitempty"`
	UPN         string    `json:"upn,omitempty"`
	DisplayName string    `json:"displayName,omitempty"`
	AuthTime    time.Time `json:"authTime,omitzero"`
	AMR         []string  `json:"amr,omitempty"`
	SessionID   string    `json:"sessionId,omitempty"`
	// A guest's identity provider and home account (authn.Authentication).
	IdP          string `json:"idp,omitempty"`
	HomeTenantID string `json:"homeTenantId,omitempty"`
	HomeObjectID string `json:"homeObjectId,omitempty"`
	// Identity is what a pending guest proved, kept for AcceptPending.
	Identity *federation.Identity `json:"identity,omitempty"`
	// HomeAMR is a guest's home token's amr as it came; AMR holds what
	// the tenant accepted of it.
	HomeAMR []string `json:"homeAmr,omitempty"`
	// A second factor in progress (mfa.go): the method the challenge asks
	// a code of, a TOTP enrolment's sealed token, and StepUp when the flow
	// adds a second factor to an SSO session (SessionID) rather than
	// signing in anew.
	MFAMethod string `json:"mfaMethod,omitempty"`
	Enrolment string `json:"enrolment,omitempty"`
	StepUp    bool   `json:"stepUp,omitempty"`
	// TrustedHomeMFA: AMR says "mfa" only because the tenant's inbound
	// trust accepted the guest's home MFA, which is weighed again at each
	// sign-in from the session (trust may have been withdrawn meanwhile).
	TrustedHomeMFA bool `json:"trustedHomeMfa,omitempty"`
}

// errFlowDone: the browser's sign-in for this request has already ended.
var errFlowDone = errors.New("login: sign-in already completed")

// visit is one request to the pages about one pending authorization request.
type visit struct {
	p       *Pages
	w       http.ResponseWriter
	r       *http.Request
	ctx     context.Context
	req     authn.Request
	browser string
	loc     *locale
	// redirect: the visit is a GET that must not be repeated (the return
	// from an identity provider), so a step it reaches is shown by
	// redirecting to the step's page rather than in the response.
	redirect bool
}

func (p *Pages) get(w http.ResponseWriter, r *http.Request) {
	browser, err := p.browserID(w, r)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	v, ok := p.open(w, r, browser, r.URL.Query().Get("request"))
	if !ok {
		return
	}
	if v.req.Unbound {
		v.startAnyOrg()
		return
	}
	f, found, err := v.loadFlow()
	switch {
	case err != nil:
		v.fail(err)
	case found:
		v.show(f, "")
	default:
		v.start()
	}
}

// readForm parses a posted form and checks its CSRF token; on failure it
// has answered the request. It returns the posting browser's id.
func (p *Pages) readForm(w http.ResponseWriter, r *http.Request) (string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "error.request")
		return "", false
	}
	if !p.validCSRF(r) {
		p.forbidden(w, r)
		return "", false
	}
	browser, _ := p.existingBrowserID(r)
	return browser, true
}

func (p *Pages) post(w http.ResponseWriter, r *http.Request) {
	browser, ok := p.readForm(w, r)
	if !ok {
		return
	}
	v, ok := p.open(w, r, browser, r.PostForm.Get("request"))
	if !ok {
		return
	}
	if v.req.Unbound {
		// Before the user's tenant is known there is one step and no state
		// to keep: a tenant-independent request has nowhere to keep it.
		if step(r.PostForm.Get("step")) != stepUsername {
			v.startAnyOrg()
			return
		}
		v.postUsername(flow{Step: stepUsername})
		return
	}
	f, found, err := v.loadFlow()
	switch {
	case err != nil:
		v.fail(err)
		return
	case !found:
		// The flow expired while the request is still pending: start over.
		v.start()
		return
	case step(r.PostForm.Get("step")) != f.Step:
		// A stale form (back button, second tab): show where the flow is.
		v.show(f, "")
		return
	}
	switch f.Step {
	case stepUsername:
		v.postUsername(f)
	case stepAccounts:
		v.postAccounts(f)
	case stepPassword:
		v.postPassword(f)
	case stepChange:
		v.postChange(f)
	case stepKMSI:
		v.postKMSI(f)
	case stepConsent:
		v.postConsent(f)
	case stepCode:
		v.postCode(f)
	case stepReview:
		v.postReview(f)
	case stepSignUp:
		v.postSignUp(f)
	case stepSignUpCode:
		v.postSignUpCode(f)
	case stepMFA:
		v.postMFA(f)
	case stepMFARegister:
		v.postMFARegister(f)
	case stepMFATOTP:
		v.postMFATOTP(f)
	case stepMFAEmail:
		v.postMFAEmail(f)
	default:
		v.fail(fmt.Errorf("login: flow at unknown step %q", f.Step))
	}
}

// open re-validates the request id with the provider on every page and
// post, and renders the "expired" page when it is not pending.
func (p *Pages) open(w http.ResponseWriter, r *http.Request, browser, requestID string) (*visit, bool) {
	return p.openIn(w, r, browser, r.PathValue("tenant"), requestID)
}

// openIn is open for a request of a tenant the path does not name.
func (p *Pages) openIn(w http.ResponseWriter, r *http.Request, browser, tenantID, requestID string) (*visit, bool) {
	req, err := p.cfg.Protocol.PendingRequest(r.Context(), tenantID, requestID)
	if errors.Is(err, store.ErrUnavailable) {
		p.internalError(w, r, err)
		return nil, false
	}
	if err != nil {
		p.cfg.Logger.DebugContext(r.Context(), "sign-in request not pending", "err", err)
		p.errorPage(w, r, http.StatusBadRequest, "error.request")
		return nil, false
	}
	lang := hostedpage.Lang(r, req.UILocales...)
	if chosen, ok := hostedpage.Chosen(r.URL.Query().Get("lang")); ok && r.Method == http.MethodGet {
		// The language switch: this page and the rest of the flow.
		lang = chosen
		p.setCookie(w, p.cookies.lang, lang, browserLifetime)
	}
	loc := p.catalog.Locale(lang)
	return &visit{p: p, w: w, r: r, ctx: r.Context(), req: req, browser: browser, loc: loc}, true
}

// start decides where a request begins: silently from an SSO session when
// the prompt and max_age allow it, else at the account picker or username.
func (v *visit) start() {
	sessions, err := v.p.sessions(v.ctx, v.r, v.req.TenantID, v.req.ClientID)
	if err != nil {
		v.fail(err)
		return
	}
	s, picked := pickSession(sessions, v.req.LoginHint)
	if v.prompted("none") {
		switch {
		case !picked && len(sessions) > 1 && v.req.LoginHint == "":
			v.deny("interaction_required", "AADSTS16000: more than one account is signed in; the user must choose one.")
		case !picked:
			v.deny("login_required", "AADSTS50058: A silent sign-in request was sent but no user is signed in.")
		case v.mustReauthenticate(s):
			v.deny("login_required", "AADSTS50058: the user's last sign-in is older than max_age; the user must sign in again.")
		default:
			v.resume(s)
		}
		return
	}
	if picked && !v.prompted("select_account") {
		v.useSession(s)
		return
	}
	f := flow{Step: stepUsername, Username: v.req.LoginHint}
	if len(sessions) > 0 && (v.prompted("select_account") || v.req.LoginHint == "") {
		f.Step = stepAccounts
	}
	v.advance(f)
}

// startAnyOrg begins a request sent to a tenant-independent endpoint. Its
// tenant is the user's, found from a login_hint or domain_hint, or from the
// browser's sessions when they are all in one tenant; the request moves
// there and starts as that tenant's would. Otherwise the username decides
// (postUsername), and a silent request cannot ask for it.
func (v *visit) startAnyOrg() {
	home, err := v.hintedTenant()
	if err != nil {
		v.fail(err)
		return
	}
	if home != "" {
		v.rehome(home, v.start)
		return
	}
	if v.prompted("none") {
		v.deny("login_required", "AADSTS50058: A silent sign-in request was sent but no user is signed in.")
		return
	}
	v.show(flow{Step: stepUsername, Username: v.req.LoginHint}, "")
}

// hintedTenant is the tenant the request's hints or the browser's sessions
// point to, "" when they point nowhere or to several tenants.
func (v *visit) hintedTenant() (string, error) {
	domain := v.req.DomainHint
	if _, d, ok := strings.Cut(v.req.LoginHint, "@"); ok {
		domain = d
	}
	if domain != "" {
		return v.p.cfg.Directory.HomeTenant(v.ctx, strings.ToLower(domain))
	}
	var live []string
	for _, t := range v.p.readJar(v.r).tenants() {
		sessions, err := v.p.sessions(v.ctx, v.r, t, v.req.ClientID)
		if err != nil {
			return "", err
		}
		if len(sessions) > 0 {
			live = append(live, t)
		}
	}
	if len(live) != 1 {
		return "", nil
	}
	return live[0], nil
}

// rehome moves a request for any organization to the user's tenant home and
// continues there with next. The flow of the tenant it leaves, if any, ends.
func (v *visit) rehome(home string, next func()) {
	if !v.req.Unbound {
		if err := v.endFlow(); err != nil {
			v.fail(err)
			return
		}
	}
	req, err := v.p.cfg.Protocol.Rehome(v.ctx, v.req.TenantID, v.req.ID, home)
	if errors.Is(err, authn.ErrRequestGone) {
		v.p.errorPage(v.w, v.r, http.StatusBadRequest, "error.request")
		return
	}
	if err != nil {
		v.fail(err)
		return
	}
	v.req = req
	next()
}

// pickSession chooses the session login_hint names, or the only one.
func pickSession(sessions []session, hint string) (session, bool) {
	if hint != "" {
		i := slices.IndexFunc(sessions, func(s session) bool {
			return strings.EqualFold(s.data.UPN, hint) || s.data.Email != "" && strings.EqualFold(s.data.Email, hint)
		})
		if i < 0 {
			return session{}, false
		}
		return sessions[i], true
	}
	if len(sessions) == 1 {
		return sessions[0], true
	}
	return session{}, false
}

func (v *visit) prompted(p string) bool { return slices.Contains(v.req.Prompt, p) }

// mustReauthenticate: prompt=login, or the session's credentials are older
// than max_age.
func (v *visit) mustReauthenticate(s session) bool {
	if v.prompted("login") {
		return true
	}
	return v.req.MaxAge != nil && v.p.cfg.Now().Sub(s.data.AuthTime) > *v.req.MaxAge
}

// useSession continues interactively as a signed-in account.
func (v *visit) useSession(s session) {
	if v.mustReauthenticate(s) && s.data.IdP != "" {
		// A guest has no password here: they prove who they are again
		// where they did, which the username page finds.
		v.advance(flow{Step: stepUsername, Username: s.data.Email})
		return
	}
	if v.mustReauthenticate(s) {
		v.advance(flow{Step: stepPassword, Username: s.data.UPN})
		return
	}
	v.resume(s)
}

// resume completes the request from an SSO session, sliding its lifetime;
// a session without a second factor the tenant now requires gets one first.
func (v *visit) resume(s session) {
	amr, handled := v.stepUp(s)
	if handled {
		return
	}
	if err := v.p.touchSession(v.ctx, v.w, v.r, v.req.TenantID, s); err != nil {
		v.fail(err)
		return
	}
	v.complete(flow{UserID: s.data.UserID, UPN: s.data.UPN, DisplayName: s.data.DisplayName,
		AuthTime: s.data.AuthTime, AMR: amr, SessionID: s.sid, HomeAMR: s.data.HomeAMR,
		IdP: s.data.IdP, HomeTenantID: s.data.HomeTenantID, HomeObjectID: s.data.HomeObjectID})
}

// complete finishes a signed-in flow, asking for consent first when the
// client lacks some or prompt=consent asks for it.
func (v *visit) complete(f flow) {
	if v.req.AdminConsent {
		// Consent for the whole organization is asked every time: it is
		// what the administrator came for.
		f.Step = stepConsent
		v.advance(f)
		return
	}
	missing, err := v.p.cfg.Directory.MissingConsent(v.ctx, v.req.TenantID, f.UserID, v.req.ClientID, v.req.Scopes)
	if err != nil {
		v.fail(err)
		return
	}
	if len(missing) == 0 && !v.prompted("consent") {
		v.finish(f)
		return
	}
	if v.prompted("none") {
		v.deny("consent_required", "AADSTS65001: The user or administrator has not consented to use the application.")
		return
	}
	f.Step = stepConsent
	v.advance(f)
}

func (v *visit) postUsername(f flow) {
	if v.r.PostForm.Get("action") == "signup" && v.signUpOffered() {
		v.advance(flow{Step: stepSignUp, Username: strings.TrimSpace(v.r.PostForm.Get("username"))})
		return
	}
	name := strings.TrimSpace(v.r.PostForm.Get("username"))
	f.Username = name
	if !validUsername(name) {
		v.show(f, v.loc.T("error.username"))
		return
	}
	if _, domain, ok := strings.Cut(name, "@"); ok {
		home, err := v.p.cfg.Directory.HomeTenant(v.ctx, strings.ToLower(domain))
		if err != nil {
			v.fail(err)
			return
		}
		if home != "" && home != v.req.TenantID && v.req.AnyOrganization {
			v.rehome(home, func() { v.advance(flow{Step: stepPassword, Username: name}) })
			return
		}
		if home != v.req.TenantID && v.guestsWelcome() {
			v.guestRoute(f)
			return
		}
		if home != "" && home != v.req.TenantID {
			issuer := strings.TrimSuffix(v.p.cfg.PublicURL, "/") + "/" + home + "/v2.0"
			v.show(f, v.loc.T("error.otherTenant", name, issuer, v.req.TenantID, v.req.ClientID, v.req.ClientName))
			return
		}
	}
	if v.req.Unbound {
		// No tenant has the username's domain: there is nowhere to look
		// the account up.
		v.show(f, v.loc.T("error.noTenant", name))
		return
	}
	v.advance(flow{Step: stepPassword, Username: name})
}

// validUsername accepts a UPN or sign-in name: printable, no spaces, at
// most one @ with something on both sides.
func validUsername(s string) bool {
	if s == "" || len(s) > maxUsername || !utf8.ValidString(s) || strings.Count(s, "@") > 1 ||
		strings.HasPrefix(s, "@") || strings.HasSuffix(s, "@") {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) })
}

func (v *visit) postAccounts(f flow) {
	choice := v.r.PostForm.Get("account")
	if choice == "" {
		v.advance(flow{Step: stepUsername, Username: v.req.LoginHint})
		return
	}
	sessions, err := v.p.sessions(v.ctx, v.r, v.req.TenantID, v.req.ClientID)
	if err != nil {
		v.fail(err)
		return
	}
	i := slices.IndexFunc(sessions, func(s session) bool { return s.sid == choice })
	if i < 0 {
		// That session ended meanwhile; show the accounts still signed in.
		v.show(f, "")
		return
	}
	v.useSession(sessions[i])
}

func (v *visit) postPassword(f flow) {
	if v.r.PostForm.Get("action") == "back" {
		v.advance(flow{Step: stepUsername, Username: f.Username})
		return
	}
	password := v.r.PostForm.Get("password")
	if password == "" {
		v.show(f, v.loc.T("error.password"))
		return
	}
	if v.p.throttled(v.r) {
		v.tooMany(f, v.p.cfg.ClientRate.Every, "error.throttled")
		return
	}
	tenant := v.req.TenantID
	familiar := v.p.isFamiliar(v.r, tenant, f.Username)
	d, spray, err := v.p.reserveAttempt(v.ctx, tenant, f.Username, familiar)
	if err != nil {
		v.fail(err)
		return
	}
	if !d.Allowed {
		v.p.cfg.Logger.InfoContext(v.ctx, "sign-in refused by smart lockout", "tenant", tenant, "reason", d.Reason)
		v.noteFailure(f.Username, &authn.Failure{Code: 50053, Reason: "The account is locked: too many sign-in attempts with a wrong password."})
		if spray {
			v.tooMany(f, d.RetryAt.Sub(v.p.cfg.Now()), "error.spray")
			return
		}
		v.show(f, v.loc.T("error.locked"))
		return
	}
	// The attempt is already counted as a failure: a wrong password has
	// nothing more to count (the sign-in log still records it).
	u, err := v.p.cfg.Directory.SignIn(v.ctx, tenant, f.Username, password)
	if errors.Is(err, ErrBadCredentials) {
		v.noteFailure(f.Username, err)
		v.p.chargeFailure(v.r)
		v.show(f, v.loc.T("error.credentials"))
		return
	}
	if err != nil {
		v.fail(err)
		return
	}
	if err := v.p.attemptSucceeded(v.ctx, tenant, f.Username, familiar); err != nil {
		v.fail(err)
		return
	}
	v.p.rememberFamiliar(v.w, v.r, tenant, f.Username)
	next := flow{Step: stepKMSI, Username: f.Username, UserID: u.ID, UPN: u.UserPrincipalName,
		DisplayName: u.DisplayName, AuthTime: v.p.cfg.Now(), AMR: []string{"pwd"}}
	if u.MustChangePassword {
		next.Step = stepChange
		v.advance(next)
		return
	}
	v.gate(next)
}

// tooMany answers 429 with the message msg, to be retried after wait
// (rounded up to whole seconds).
func (v *visit) tooMany(f flow, wait time.Duration, msg string) {
	v.w.Header().Set("Retry-After", retryAfter(wait))
	v.render(http.StatusTooManyRequests, f, v.loc.T(msg))
}

// retryAfter is a Retry-After header's value for wait, rounded up to
// whole seconds.
func retryAfter(wait time.Duration) string {
	return strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second)))
}

// postChange changes the password on a first sign-in. The current password
// is asked again rather than kept from the password step: the flow never
// holds a secret.
func (v *visit) postChange(f flow) {
	form := v.r.PostForm
	next := form.Get("new")
	if next == "" || next != form.Get("confirm") {
		v.show(f, v.loc.T("change.mismatch"))
		return
	}
	err := v.p.cfg.Directory.ChangePassword(v.ctx, v.req.TenantID, f.UserID, form.Get("current"), next)
	if errors.Is(err, ErrBadCredentials) {
		v.show(f, v.loc.T("change.wrongCurrent"))
		return
	}
	if ue, ok := usererr.As(err); ok {
		v.show(f, ue.Message)
		return
	}
	if err != nil {
		v.fail(err)
		return
	}
	f.AuthTime = v.p.cfg.Now()
	v.gate(f)
}

func (v *visit) postKMSI(f flow) {
	d := sessionData{
		UserID: f.UserID, UPN: f.UPN, DisplayName: f.DisplayName, AuthTime: f.AuthTime, AMR: f.AMR,
		Persistent: v.r.PostForm.Get("stay") == "yes",
		IdP:        f.IdP, HomeTenantID: f.HomeTenantID, HomeObjectID: f.HomeObjectID, HomeAMR: f.HomeAMR,
		TrustedHomeMFA: f.TrustedHomeMFA,
	}
	if f.IdP != "" {
		d.Email = f.Username
	}
	sid, err := v.p.startSession(v.ctx, v.w, v.r, v.req.TenantID, d)
	if err != nil {
		v.fail(err)
		return
	}
	f.SessionID = sid
	v.complete(f)
}

func (v *visit) postConsent(f flow) {
	switch v.r.PostForm.Get("decision") {
	case "accept":
		grant := v.p.cfg.Directory.GrantConsent
		if v.req.AdminConsent {
			grant = v.p.cfg.Directory.GrantAdminConsent
		}
		if err := grant(v.ctx, v.req.TenantID, f.UserID, v.req.ClientID, v.req.Scopes); err != nil {
			// A permission only an administrator may grant ends the request:
			// the application learns why, and nothing is granted.
			if ue, ok := usererr.As(err); ok && ue.Kind == usererr.Forbidden {
				v.deny("access_denied", "AADSTS90094: "+ue.Message)
				return
			}
			v.fail(err)
			return
		}
		v.finish(f)
	case "cancel":
		v.deny("access_denied", "AADSTS65004: User declined to consent to access the app.")
	case "return":
		// Back to the app from "Need admin approval", which is checked
		// again rather than taken from the form.
		err := v.consentRefusal(f)
		if ue, ok := usererr.As(err); ok && ue.Kind == usererr.Forbidden {
			v.deny("access_denied", "AADSTS90094: "+ue.Message)
			return
		}
		if err != nil {
			v.fail(err)
			return
		}
		v.show(f, "")
	default:
		v.show(f, "")
	}
}

// consentRefusal is why the user's acceptance would be refused (nil if it
// would not): for the user alone, or on behalf of the organization.
func (v *visit) consentRefusal(f flow) error {
	if v.req.AdminConsent {
		return v.p.cfg.Directory.CheckAdminConsent(v.ctx, v.req.TenantID, f.UserID)
	}
	return v.p.cfg.Directory.CheckConsent(v.ctx, v.req.TenantID, f.UserID, v.req.Scopes)
}

// needsAdmin tells whether only an administrator may grant what the user
// is asked to consent to.
func (v *visit) needsAdmin(f flow) (bool, error) {
	err := v.consentRefusal(f)
	if ue, ok := usererr.As(err); ok && ue.Kind == usererr.Forbidden {
		return true, nil
	}
	return false, err
}

// finish ends the flow and hands the authentication to the provider.
func (v *visit) finish(f flow) {
	if err := v.endFlow(); err != nil {
		v.fail(err)
		return
	}
	if err := v.p.cfg.Directory.RecordSignIn(v.ctx, v.req.TenantID, f.UserID, v.req.ID); err != nil {
		// Activity is a report, not a gate: a failure to note it is logged,
		// never a reason to refuse a sign-in that succeeded.
		v.p.cfg.Logger.WarnContext(v.ctx, "recording sign-in activity", "tenant", v.req.TenantID, "err", err)
	}
	s := authn.SignIn{UserID: f.UserID, UserPrincipalName: f.UPN, UserDisplayName: f.DisplayName}
	if f.IdP != "" {
		asGuest(&s, f.HomeTenantID)
	}
	v.noteSignIn(s)
	v.p.cfg.Protocol.Finish(v.w, v.r, v.req.TenantID, v.req.ID, authn.Authentication{
		TenantID: v.req.TenantID, UserID: f.UserID, AuthTime: f.AuthTime, AMR: f.AMR, SessionID: f.SessionID,
		IdP: f.IdP, HomeTenantID: f.HomeTenantID, HomeObjectID: f.HomeObjectID, HomeAMR: f.HomeAMR,
	})
}

// deny ends the flow and the request with an OAuth error.
func (v *visit) deny(code, description string) {
	if err := v.endFlow(); err != nil {
		v.fail(err)
		return
	}
	v.p.cfg.Protocol.Deny(v.w, v.r, v.req.TenantID, v.req.ID, code, description)
}

func (v *visit) flowID() string {
	return hashID("login flow", v.browser, v.req.TenantID, v.req.ID)
}

func (v *visit) loadFlow() (flow, bool, error) {
	var f flow
	var st store.State
	err := v.p.cfg.Store.View(v.ctx, func(tx store.Tx) error {
		var err error
		st, err = tx.GetState(v.ctx, v.req.TenantID, kindFlow, v.flowID())
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return f, false, nil
	}
	if err != nil {
		return f, false, err
	}
	if st.ConsumedAt != nil {
		return f, false, errFlowDone
	}
	return f, true, json.Unmarshal(st.Data, &f)
}

// advance stores the flow at its new step and shows that step's page.
func (v *visit) advance(f flow) {
	if err := v.save(f); err != nil {
		v.fail(err)
		return
	}
	if v.redirect {
		http.Redirect(v.w, v.r, v.p.base+"/"+url.PathEscape(v.req.TenantID)+"/login?request="+url.QueryEscape(v.req.ID), http.StatusFound)
		return
	}
	v.show(f, "")
}

// save stores the flow at its step.
func (v *visit) save(f flow) error {
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	now := v.p.cfg.Now()
	id := v.flowID()
	return v.p.cfg.Store.Update(v.ctx, func(tx store.Tx) error {
		return putState(v.ctx, tx, store.State{TenantID: v.req.TenantID, Kind: kindFlow, ID: id, Family: id,
			Data: data, CreatedAt: now, ExpiresAt: now.Add(flowLifetime)})
	})
}

// endFlow consumes the flow so that it completes at most once. A request
// that ends without a flow (a silent SSO sign-in) has none to consume.
func (v *visit) endFlow() error {
	return v.p.cfg.Store.Update(v.ctx, func(tx store.Tx) error {
		_, err := tx.ConsumeState(v.ctx, v.req.TenantID, kindFlow, v.flowID())
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil
		case errors.Is(err, store.ErrConsumed):
			return errFlowDone
		}
		return err
	})
}

// fail renders the error page for err; a finished flow is an expired request.
func (v *visit) fail(err error) {
	if errors.Is(err, errFlowDone) {
		v.p.errorPage(v.w, v.r, http.StatusBadRequest, "error.request")
		return
	}
	v.p.internalError(v.w, v.r, err)
}
