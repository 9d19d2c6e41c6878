package oidc

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/caller"
)

type peerKey struct{}

// peer is the client of a token request, for the sign-in log.
type peer struct{ ip, userAgent string }

// withPeer notes the request's client in its context: op hands its
// handlers the context, not the connection.
func withPeer(r *http.Request) context.Context {
	return context.WithValue(r.Context(), peerKey{}, peer{caller.Address(r), r.UserAgent()})
}

var aadstsCode = regexp.MustCompile(`^AADSTS(\d+): ?(.*)$`)

// failureOf is the AADSTS code and reason an OAuth error's description
// carries; ok is false for errors without one (authorization_pending and
// slow_down polls, server errors), which are no sign-in outcome.
func failureOf(err error) (code int, reason string, ok bool) {
	var e *zoidc.Error
	if !errors.As(err, &e) {
		return 0, "", false
	}
	m := aadstsCode.FindStringSubmatch(e.Description)
	if m == nil {
		return 0, "", false
	}
	code, convErr := strconv.Atoi(m[1])
	return code, m[2], convErr == nil
}

// noteSignIn reports the outcome of a non-interactive sign-in (a token
// request) to the sign-in log: the AADSTS failure err carries, or, when err
// is nil, what s says (success unless it names an error code).
func (p *Provider) noteSignIn(ctx context.Context, s authn.SignIn, err error) {
	if p.cfg.SignInLog == nil {
		return
	}
	if err != nil {
		var ok bool
		if s.ErrorCode, s.FailureReason, ok = failureOf(err); !ok {
			return
		}
	}
	if pr, ok := ctx.Value(peerKey{}).(peer); ok {
		s.IPAddress, s.UserAgent = pr.ip, pr.userAgent
	}
	p.cfg.SignInLog.RecordSignIn(ctx, s)
}

// noteGrant reports a refresh-token or device-code redemption by a user's
// client; g is the zero grant when the redemption failed before reading
// one. A guest's family (one authenticated by another identity provider)
// is logged as their b2bCollaboration access, from their home tenant when
// it is known.
func (p *Provider) noteGrant(ctx context.Context, client string, g grant, err error) {
	tid, terr := tenantFrom(ctx)
	if terr != nil {
		return
	}
	s := authn.SignIn{TenantID: tid, UserID: g.UserID, AppID: client, ResourceTenantID: tid, HomeTenantID: tid, CrossTenantAccessType: authn.AccessNone}
	if g.IdP != "" {
		s.CrossTenantAccessType = authn.AccessB2BCollaboration
		if g.HomeTenantID != "" {
			s.HomeTenantID = g.HomeTenantID
		}
	}
	p.noteSignIn(ctx, s, err)
	// A cross-tenant access refusal is the home tenant's too: it sees its
	// user refused going out, as at an interactive sign-in.
	if code, _, ok := failureOf(err); ok && (code == 500212 || code == 500213) && g.HomeTenantID != "" && g.HomeTenantID != tid {
		s.TenantID, s.UserID = g.HomeTenantID, g.HomeObjectID
		p.noteSignIn(ctx, s, err)
	}
}
