package login

import (
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// Self-service sign-up in the consumers tenant: the username page offers
// to create a personal account; the address is proved with a passcode
// sent to it, and the account, once created, signs in as any other:
//
//	username ─► signup (address) ─► signupcode (code, name, password) ─► kmsi ─► …
const (
	stepSignUp     step = "signup"
	stepSignUpCode step = "signupcode"
)

// signUpOffered: the request's tenant is the consumers tenant and
// accounts can be created there.
func (v *visit) signUpOffered() bool {
	return v.p.cfg.Accounts != nil && v.p.cfg.ConsumersTenantID != "" && v.req.TenantID == v.p.cfg.ConsumersTenantID
}

func (v *visit) postSignUp(f flow) {
	if v.r.PostForm.Get("action") == "back" {
		v.advance(flow{Step: stepUsername, Username: f.Username})
		return
	}
	email := strings.TrimSpace(v.r.PostForm.Get("username"))
	f.Username = email
	if _, domain, ok := strings.Cut(email, "@"); !ok || !validUsername(email) || !strings.Contains(domain, ".") {
		v.show(f, v.loc.T("error.email"))
		return
	}
	v.sendSignUpCode(flow{Step: stepSignUpCode, Username: email})
}

// sendSignUpCode sends a passcode to the flow's address and shows the page
// that takes it, the same whether or not the address has an account.
func (v *visit) sendSignUpCode(f flow) {
	v.showCodePage(f, v.p.cfg.Accounts.SendSignUpCode(v.ctx, v.req.TenantID, f.Username))
}

func (v *visit) postSignUpCode(f flow) {
	form := v.r.PostForm
	switch form.Get("action") {
	case "back":
		v.advance(flow{Step: stepSignUp, Username: f.Username})
		return
	case "resend":
		v.sendSignUpCode(f)
		return
	}
	code, name, password := strings.TrimSpace(form.Get("code")), strings.TrimSpace(form.Get("displayName")), form.Get("new")
	switch {
	case code == "" || len(code) > 32:
		v.show(f, v.loc.T("error.code"))
		return
	case name == "" || len(name) > 256:
		v.show(f, v.loc.T("error.displayName"))
		return
	case password == "" || password != form.Get("confirm"):
		v.show(f, v.loc.T("change.mismatch"))
		return
	}
	if v.p.throttled(v.r) {
		v.tooMany(f, v.p.cfg.ClientRate.Every, "error.throttled")
		return
	}
	u, err := v.p.cfg.Accounts.CreatePersonalAccount(v.ctx, v.req.TenantID, f.Username, code, name, password)
	if errors.Is(err, ErrBadCode) {
		v.p.chargeFailure(v.r)
		v.show(f, v.loc.T("error.code"))
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
	v.gate(flow{Username: f.Username, UserID: u.ID, UPN: u.UserPrincipalName,
		DisplayName: u.DisplayName, AuthTime: v.p.cfg.Now(), AMR: []string{"pwd"}})
}
