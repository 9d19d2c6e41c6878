package login

import (
	"github.com/gatehouse-id/gatehouse/internal/authn"
)

// noteSignIn reports an interactive sign-in of this visit's request to the
// sign-in log, completing s with the request's client and the browser.
func (v *visit) noteSignIn(s authn.SignIn) {
	if v.p.cfg.SignInLog == nil {
		return
	}
	s.TenantID, s.ResourceTenantID, s.Interactive = v.req.TenantID, v.req.TenantID, true
	s.AppID, s.AppDisplayName, s.CorrelationID = v.req.ClientID, v.req.ClientName, v.req.ID
	s.IPAddress, s.UserAgent = v.p.cfg.ClientIP(v.r), v.r.UserAgent()
	v.p.cfg.SignInLog.RecordSignIn(v.ctx, s)
}

// noteFailure reports a failed password step for the username typed, with
// the AADSTS code err carries (50126, invalid credentials, when none).
func (v *visit) noteFailure(username string, err error) {
	f, ok := authn.FailureOf(err)
	if !ok {
		f = &authn.Failure{Code: 50126, Reason: "Invalid username or password or Invalid on-premise username or password."}
	}
	v.noteSignIn(authn.SignIn{UserPrincipalName: username, ErrorCode: f.Code, FailureReason: f.Reason})
}
