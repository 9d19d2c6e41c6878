package login

import (
	"context"
	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"net/http"
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

// noteCrossTenantRefusal records a cross-tenant access denial in both
// tenants' sign-in logs, each seeing its own side: the resource tenant
// the guest it refused or was refused for, the home tenant its user going
// out (when the home is a tenant of this deployment).
func (p *Pages) noteCrossTenantRefusal(ctx context.Context, r *http.Request, resourceTenantID string, req authn.Request, name string, id federation.Identity, ct CrossTenant) {
	if p.cfg.SignInLog == nil {
		return
	}
	s := authn.SignIn{TenantID: resourceTenantID, UserPrincipalName: name, UserDisplayName: id.DisplayName,
		AppID: req.ClientID, AppDisplayName: req.ClientName, CorrelationID: req.ID, IPAddress: p.cfg.ClientIP(r), UserAgent: r.UserAgent(),
		Interactive: true, ErrorCode: ct.Code, FailureReason: ct.Reason,
		HomeTenantID: id.HomeTenantID, ResourceTenantID: resourceTenantID, CrossTenantAccessType: authn.AccessB2BCollaboration}
	p.cfg.SignInLog.RecordSignIn(ctx, s)
	if id.HomeTenantID != "" {
		s.TenantID, s.UserID = id.HomeTenantID, id.HomeObjectID
		p.cfg.SignInLog.RecordSignIn(ctx, s)
	}
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
