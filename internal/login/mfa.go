package login

import (
	"context"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// A second factor, when the tenant requires one, between the first factor
// and "stay signed in?" (or, for an SSO session that lacks it, before the
// request completes):
//
//	password / guest identity ─► mfa (a TOTP code, or a code sent by email) ─► kmsi ─► …
//	        └─ no method yet ─► mfaregister ─► mfatotp (key, QR; a first code) ─┐
//	                                     └──► mfaemail (a code sent there) ─────┴─► kmsi ─► …
//
// A code that registers a method also proves the sign-in's second factor.
const (
	stepMFA         step = "mfa"
	stepMFARegister step = "mfaregister"
	stepMFATOTP     step = "mfatotp"
	stepMFAEmail    step = "mfaemail"
)

// Which method the challenge page asks a code of.
const (
	methodTOTP  = "totp"
	methodEmail = "email"
)

// SecondFactor is what the pages need for multifactor authentication:
// internal/mfa's service, with the requirement decided for a sign-in
// (internal/app adapts it, supplying the user's roles and, for a guest,
// whether the tenant's inbound trust accepts MFA done at home). Its errors
// are internal/mfa's.
type SecondFactor interface {
	// Gate decides what a signed-in user must still prove.
	Gate(ctx context.Context, s MFASignIn) (MFAGate, error)
	// Options lists the user's usable methods and what they could
	// register; emailFirstFactor: a code to their address was the first
	// factor.
	Options(ctx context.Context, tenantID, userID string, emailFirstFactor bool) (mfa.Options, error)
	BeginTOTP(ctx context.Context, tenantID, userID string) (mfa.Enrolment, error)
	ShowTOTP(ctx context.Context, tenantID, userID, token string) (mfa.Enrolment, error)
	ConfirmTOTP(ctx context.Context, tenantID, userID, token, code string) (mfa.Method, error)
	VerifyTOTP(ctx context.Context, tenantID, userID, code string) (mfa.Method, error)
	SendEmailCode(ctx context.Context, tenantID, userID, lang string) error
	VerifyEmailCode(ctx context.Context, tenantID, userID, code string) (mfa.Method, error)
	SendRegistrationCode(ctx context.Context, tenantID, userID, lang string) (string, error)
	ConfirmEmail(ctx context.Context, tenantID, userID, code string) (mfa.Method, error)
	RemoveMethod(ctx context.Context, tenantID, userID, methodID string) error
}

// MFASignIn is a sign-in whose first factor is done.
type MFASignIn struct {
	TenantID, UserID string
	// Guest: the user is the tenant's guest, signed in at HomeTenantID
	// ("" when their provider is no tenant of this deployment).
	Guest        bool
	HomeTenantID string
	// AMR are the methods this tenant accepted so far; HomeAMR a guest's
	// home token's amr as it came.
	AMR, HomeAMR []string
}

// MFAGate is what a sign-in must still do about a second factor.
type MFAGate struct {
	// Challenge: ask for a second factor now.
	Challenge bool
	// AMR are the methods the tenant accepts as proved so far: a guest's
	// home amr keeps "mfa" only when inbound trust accepts it.
	AMR []string
	// Reason says why, for the log.
	Reason string
}

// gate asks for a second factor when the tenant requires one the flow has
// not proved, and otherwise moves on to "stay signed in?".
func (v *visit) gate(f flow) {
	f.Step = stepKMSI
	if v.p.cfg.SecondFactor == nil {
		v.advance(f)
		return
	}
	g, err := v.p.cfg.SecondFactor.Gate(v.ctx, v.mfaSignIn(f))
	if err != nil {
		v.fail(err)
		return
	}
	f.TrustedHomeMFA = mfa.ProvesMFA(g.AMR) && !mfa.ProvesMFA(f.AMR)
	f.AMR = g.AMR
	if !g.Challenge {
		v.advance(f)
		return
	}
	v.p.cfg.Logger.InfoContext(v.ctx, "second factor required", "tenant", v.req.TenantID, "reason", g.Reason)
	v.startMFA(f, "")
}

func (v *visit) mfaSignIn(f flow) MFASignIn {
	return MFASignIn{TenantID: v.req.TenantID, UserID: f.UserID, Guest: f.IdP != "", HomeTenantID: f.HomeTenantID, AMR: f.AMR, HomeAMR: f.HomeAMR}
}

// emailFirstFactor: the flow's first factor was a passcode sent to the
// guest's address.
func emailFirstFactor(f flow) bool { return f.IdP == federation.IssuerMail }

// startMFA shows the challenge of the user's first method (or the one
// asked for), or the registration when they have none.
func (v *visit) startMFA(f flow, want string) {
	opts, err := v.p.cfg.SecondFactor.Options(v.ctx, v.req.TenantID, f.UserID, emailFirstFactor(f))
	if err != nil {
		v.fail(err)
		return
	}
	hasTOTP, hasEmail := hasMethod(opts, mfa.TypeSoftwareOath), hasMethod(opts, mfa.TypeEmail)
	switch {
	case hasEmail && (want == methodEmail || !hasTOTP):
		f.Step, f.MFAMethod = stepMFA, methodEmail
		v.sendMFACode(f)
	case hasTOTP:
		f.Step, f.MFAMethod = stepMFA, methodTOTP
		v.advance(f)
	default:
		f.Step, f.MFAMethod = stepMFARegister, ""
		v.advance(f)
	}
}

func hasMethod(opts mfa.Options, typ string) bool {
	return slices.ContainsFunc(opts.Methods, func(m mfa.Method) bool { return m.Type == typ })
}

// sendMFACode sends a code to the user's email method and shows the page
// that takes it.
func (v *visit) sendMFACode(f flow) {
	err := v.p.cfg.SecondFactor.SendEmailCode(v.ctx, v.req.TenantID, f.UserID, v.loc.Lang)
	if msg, ok := v.mfaRefusal(f, err); ok {
		if err := v.save(f); err != nil {
			v.fail(err)
			return
		}
		v.mfaShow(f, msg)
		return
	}
	v.showCodePage(f, err)
}

// mfaRefusal is the message for a second factor refused by its limits
// (locked after wrong codes), or false for other outcomes.
func (v *visit) mfaRefusal(f flow, err error) (string, bool) {
	var locked *mfa.LockedError
	if errors.As(err, &locked) {
		v.noteMFAFailure(f, "The second factor is locked after too many wrong codes.")
		return v.loc.T("error.mfaLocked"), true
	}
	return "", false
}

// mfaShow renders the flow's MFA step with a message, 200: what the user
// can do next is on the page.
func (v *visit) mfaShow(f flow, msg string) { v.render(http.StatusOK, f, msg) }

// mfaCode reads a typed code: digits only, spaces dropped, or "".
func mfaCode(r *http.Request) string {
	code := strings.Join(strings.Fields(r.PostForm.Get("code")), "")
	if code == "" || len(code) > 12 || strings.ContainsFunc(code, func(c rune) bool { return c < '0' || c > '9' }) {
		return ""
	}
	return code
}

func (v *visit) postMFA(f flow) {
	switch v.r.PostForm.Get("action") {
	case "email", "totp":
		v.startMFA(f, v.r.PostForm.Get("action"))
		return
	case "resend":
		if f.MFAMethod == methodEmail {
			v.sendMFACode(f)
			return
		}
	}
	code, ok := v.postedCode(f)
	if !ok {
		return
	}
	var err error
	if f.MFAMethod == methodEmail {
		_, err = v.p.cfg.SecondFactor.VerifyEmailCode(v.ctx, v.req.TenantID, f.UserID, code)
	} else {
		_, err = v.p.cfg.SecondFactor.VerifyTOTP(v.ctx, v.req.TenantID, f.UserID, code)
	}
	if msg, ok := v.mfaRefusal(f, err); ok {
		v.mfaShow(f, msg)
		return
	}
	switch {
	case errors.Is(err, mfa.ErrWrongCode), errors.Is(err, mfa.ErrReplayed):
		v.p.chargeFailure(v.r)
		reason := "Invalid verification code."
		if errors.Is(err, mfa.ErrReplayed) {
			reason = "The verification code was already used."
		}
		v.noteMFAFailure(f, reason)
		v.mfaShow(f, v.loc.T("error.mfaCode"))
		return
	case errors.Is(err, mfa.ErrNoMethod):
		// The method went meanwhile (removed on another page).
		v.startMFA(f, "")
		return
	case err != nil:
		v.fail(err)
		return
	}
	v.mfaDone(f)
}

func (v *visit) postMFARegister(f flow) {
	switch v.r.PostForm.Get("action") {
	case "totp":
		en, err := v.p.cfg.SecondFactor.BeginTOTP(v.ctx, v.req.TenantID, f.UserID)
		if err != nil {
			v.fail(err)
			return
		}
		f.Step, f.Enrolment = stepMFATOTP, en.Token
		v.advance(f)
	case "email":
		opts, err := v.p.cfg.SecondFactor.Options(v.ctx, v.req.TenantID, f.UserID, emailFirstFactor(f))
		if err != nil {
			v.fail(err)
			return
		}
		if opts.RegisterEmail == "" {
			v.show(f, "")
			return
		}
		_, err = v.p.cfg.SecondFactor.SendRegistrationCode(v.ctx, v.req.TenantID, f.UserID, v.loc.Lang)
		if errors.Is(err, mfa.ErrNoAddress) {
			v.show(f, "")
			return
		}
		f.Step = stepMFAEmail
		v.showCodePage(f, err)
	default:
		v.show(f, "")
	}
}

// postedCode is the code the form posted, once the browser is not
// throttled; when not ok, the page saying why was shown.
func (v *visit) postedCode(f flow) (string, bool) {
	code := mfaCode(v.r)
	if code == "" {
		v.mfaShow(f, v.loc.T("error.mfaCode"))
		return "", false
	}
	if v.p.throttled(v.r) {
		v.tooMany(f, v.p.cfg.ClientRate.Every, "error.throttled")
		return "", false
	}
	return code, true
}

func (v *visit) postMFATOTP(f flow) {
	if v.r.PostForm.Get("action") == "back" {
		f.Step, f.Enrolment = stepMFARegister, ""
		v.advance(f)
		return
	}
	code, ok := v.postedCode(f)
	if !ok {
		return
	}
	_, err := v.p.cfg.SecondFactor.ConfirmTOTP(v.ctx, v.req.TenantID, f.UserID, f.Enrolment, code)
	switch {
	case errors.Is(err, mfa.ErrWrongCode):
		v.p.chargeFailure(v.r)
		v.mfaShow(f, v.loc.T("error.mfaCode"))
		return
	case errors.Is(err, mfa.ErrEnrolment):
		// Too late: a new key, to be added to the app again.
		f.Step, f.Enrolment = stepMFARegister, ""
		if err := v.save(f); err != nil {
			v.fail(err)
			return
		}
		v.mfaShow(f, v.loc.T("error.mfaEnrolment"))
		return
	}
	if ue, ok := usererr.As(err); ok {
		v.mfaShow(f, ue.Message)
		return
	}
	if err != nil {
		v.fail(err)
		return
	}
	v.mfaDone(f)
}

func (v *visit) postMFAEmail(f flow) {
	switch v.r.PostForm.Get("action") {
	case "back":
		f.Step = stepMFARegister
		v.advance(f)
		return
	case "resend":
		_, err := v.p.cfg.SecondFactor.SendRegistrationCode(v.ctx, v.req.TenantID, f.UserID, v.loc.Lang)
		v.showCodePage(f, err)
		return
	}
	code := mfaCode(v.r)
	if code == "" {
		v.mfaShow(f, v.loc.T("error.code"))
		return
	}
	if v.p.throttled(v.r) {
		v.tooMany(f, v.p.cfg.ClientRate.Every, "error.throttled")
		return
	}
	_, err := v.p.cfg.SecondFactor.ConfirmEmail(v.ctx, v.req.TenantID, f.UserID, code)
	if errors.Is(err, mfa.ErrWrongCode) {
		v.p.chargeFailure(v.r)
		v.mfaShow(f, v.loc.T("error.code"))
		return
	}
	if err != nil {
		v.fail(err)
		return
	}
	v.mfaDone(f)
}

// mfaDone continues a flow whose second factor is proved: "stay signed
// in?", or, for an SSO session that lacked it, the session now carries it
// and the request completes.
func (v *visit) mfaDone(f flow) {
	f.AMR = mfa.WithSecondFactor(f.AMR)
	f.MFAMethod, f.Enrolment, f.TrustedHomeMFA = "", "", false
	if !f.StepUp {
		f.Step = stepKMSI
		v.advance(f)
		return
	}
	if err := v.p.upgradeSession(v.ctx, v.w, v.r, v.req.TenantID, f.SessionID, f.AMR); err != nil {
		v.fail(err)
		return
	}
	v.complete(f)
}

// stepUp decides again, for a sign-in from an SSO session, what the
// session proved: a guest's home MFA counts only while inbound trust still
// accepts it. It returns the methods the sign-in carries; a session that
// lacks a second factor the tenant now requires is asked for one before
// it signs the user in (handled: the visit is taken over), and a silent
// request cannot ask and is refused (AADSTS50076, as Entra answers a
// session without MFA).
func (v *visit) stepUp(s session) (amr []string, handled bool) {
	if v.p.cfg.SecondFactor == nil {
		return s.data.AMR, false
	}
	amr = s.data.AMR
	if s.data.TrustedHomeMFA {
		amr = mfa.AcceptedAMR(amr, false)
	}
	f := flow{UserID: s.data.UserID, UPN: s.data.UPN, DisplayName: s.data.DisplayName,
		AuthTime: s.data.AuthTime, AMR: amr, SessionID: s.sid, HomeAMR: s.data.HomeAMR,
		IdP: s.data.IdP, HomeTenantID: s.data.HomeTenantID, HomeObjectID: s.data.HomeObjectID, StepUp: true}
	if s.data.IdP != "" {
		f.Username = s.data.Email
	}
	g, err := v.p.cfg.SecondFactor.Gate(v.ctx, v.mfaSignIn(f))
	if err != nil {
		v.fail(err)
		return nil, true
	}
	if !g.Challenge {
		return g.AMR, false
	}
	if v.prompted("none") {
		v.deny("interaction_required", "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the application.")
		return nil, true
	}
	f.AMR = g.AMR
	v.startMFA(f, "")
	return nil, true
}

// noteMFAFailure records a failed second factor (AADSTS500121).
func (v *visit) noteMFAFailure(f flow, reason string) {
	s := authn.SignIn{UserID: f.UserID, UserPrincipalName: f.UPN, UserDisplayName: f.DisplayName, ErrorCode: 500121,
		FailureReason: "Authentication failed during strong authentication request. " + reason}
	if f.IdP != "" {
		asGuest(&s, f.HomeTenantID)
	}
	v.noteSignIn(s)
}

// mfaView is what the MFA pages show.
type mfaView struct {
	// Challenge: the method asked for, and whether the other is there too.
	TOTP, Email       bool
	OfferTOTP         bool
	OfferEmail        bool
	EmailTo           string // the masked address a code was sent to
	RegisterEmailTo   string // the masked address an email method would use
	Secret, URI       string
	Link, QR          template.URL
	EnrolmentToken    string
	Methods           []methodView
	NeedsVerification bool   // the security info page asks for a code first
	Mode              string // the security info page's mode (securityinfo.go)
}

type methodView struct {
	ID, Name, Detail string
	Added            string
}

// mfaRender fills the view of an MFA step.
func (v *visit) mfaRender(vw *view, f flow) error {
	sf := v.p.cfg.SecondFactor
	mv := &mfaView{}
	vw.MFA = mv
	switch f.Step {
	case stepMFA:
		opts, err := sf.Options(v.ctx, v.req.TenantID, f.UserID, emailFirstFactor(f))
		if err != nil {
			return err
		}
		mv.TOTP, mv.Email = f.MFAMethod == methodTOTP, f.MFAMethod == methodEmail
		mv.OfferTOTP = mv.Email && hasMethod(opts, mfa.TypeSoftwareOath)
		mv.OfferEmail = mv.TOTP && hasMethod(opts, mfa.TypeEmail)
		for _, m := range opts.Methods {
			if m.Type == mfa.TypeEmail {
				mv.EmailTo = maskEmail(m.Email)
			}
		}
	case stepMFARegister:
		opts, err := sf.Options(v.ctx, v.req.TenantID, f.UserID, emailFirstFactor(f))
		if err != nil {
			return err
		}
		mv.RegisterEmailTo = maskEmail(opts.RegisterEmail)
	case stepMFAEmail:
		opts, err := sf.Options(v.ctx, v.req.TenantID, f.UserID, emailFirstFactor(f))
		if err != nil {
			return err
		}
		mv.RegisterEmailTo = maskEmail(opts.RegisterEmail)
	case stepMFATOTP:
		en, err := sf.ShowTOTP(v.ctx, v.req.TenantID, f.UserID, f.Enrolment)
		if err != nil {
			return err
		}
		fillEnrolment(mv, en)
	}
	return nil
}

// fillEnrolment shows a new key: typed, as a link for an app on the same
// device, and as a QR code.
func fillEnrolment(mv *mfaView, en mfa.Enrolment) {
	mv.Secret, mv.URI, mv.EnrolmentToken = groupsOf4(en.Secret), en.URI, en.Token
	// Both are built here from the key and the tenant's name, which the
	// URI escapes; the template would refuse their schemes otherwise.
	mv.Link = template.URL(en.URI)
	if len(en.QR) > 0 {
		mv.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(en.QR))
	}
}

// groupsOf4 spaces a key for typing.
func groupsOf4(s string) string {
	var parts []string
	for len(s) > 4 {
		parts, s = append(parts, s[:4]), s[4:]
	}
	return strings.Join(append(parts, s), " ")
}

// maskEmail shows enough of an address for its owner to know it, and
// little to someone who only knows the password: "al•••@contoso.example".
func maskEmail(address string) string {
	local, domain, ok := strings.Cut(address, "@")
	if !ok || address == "" {
		return ""
	}
	keep := min(2, len(local))
	return local[:keep] + "•••@" + domain
}

// upgradeSession records a second factor on the browser's session sid in
// the tenant, so the session's later sign-ins carry it.
func (p *Pages) upgradeSession(ctx context.Context, w http.ResponseWriter, r *http.Request, tenantID, sid string, amr []string) error {
	sessions, err := p.sessions(ctx, r, tenantID, "")
	if err != nil {
		return err
	}
	i := slices.IndexFunc(sessions, func(s session) bool { return s.sid == sid })
	if i < 0 {
		return errFlowDone
	}
	s := sessions[i]
	s.data.AMR, s.data.TrustedHomeMFA = amr, false
	return p.touchSession(ctx, w, r, tenantID, s)
}

// methodAdded formats when a method was added, in the page's terms.
func methodAdded(t time.Time) string { return t.UTC().Format("2006-01-02") }
