package directory

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/revocation"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Revocation reasons, as recorded with each fact.
const (
	reasonPasswordSet     = "password set"
	reasonSessionsRevoked = "sign-in sessions revoked"
	reasonUserDisabled    = "user disabled or deleted"
	reasonGrantDeleted    = "delegated permission grant deleted or narrowed"
	reasonClientRemoved   = "service principal disabled or deleted"
	reasonRedemptionReset = "guest redemption reset"
)

// revokeUser ends every sign-in of a user until now, in the transaction of
// its cause: codes, refresh tokens and SSO sessions are deleted, and access
// tokens are refused (package revocation). next, when not nil, is the user's
// document being written, which shows the time as
// signInSessionsValidFromDateTime.
func (s *Service) revokeUser(ctx context.Context, tx store.Tx, tenantID, userID string, next Doc, reason string) error {
	now := s.now()
	if next != nil {
		next["signInSessionsValidFromDateTime"] = now.UTC().Format(time.RFC3339)
	}
	return revocation.Record(ctx, tx, tenantID, revocation.Fact{At: now, UserID: userID, Reason: reason})
}

// revokeClient ends every token and sign-in of an application in the
// tenant until now: its app-only tokens, and its users' tokens, refresh
// tokens and use of SSO sessions.
func (s *Service) revokeClient(ctx context.Context, tx store.Tx, tenantID string, sp Doc) error {
	return revocation.Record(ctx, tx, tenantID, revocation.Fact{At: s.now(), ClientID: str(sp, "appId"), Reason: reasonClientRemoved})
}

// revokeGrant ends what a deleted or narrowed delegated permission grant
// allowed: the tokens and refresh tokens of its user (of every user, for an
// AllPrincipals grant) at its client, and their SSO sessions' silent
// sign-ins to it.
func (s *Service) revokeGrant(ctx context.Context, tx store.Tx, tenantID string, grant Doc) error {
	sp, err := tx.GetObject(ctx, tenantID, KindServicePrincipal, str(grant, "clientId"))
	if isNotFound(err) {
		// The client's service principal is gone, and its deletion revoked it.
		return nil
	}
	if err != nil {
		return err
	}
	f := revocation.Fact{At: s.now(), ClientID: sp.AppID, Reason: reasonGrantDeleted}
	if grant["consentType"] != "AllPrincipals" {
		f.UserID = str(grant, "principalId")
	}
	return revocation.Record(ctx, tx, tenantID, f)
}
