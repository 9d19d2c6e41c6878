package b2b

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
	"github.com/gatehouse-id/gatehouse/internal/xtap"
)

// The two layers of B2B collaboration meet here: the external
// collaboration settings decide who may be invited, the cross-tenant
// access settings (internal/xtap) who may authenticate, and the most
// restrictive applies. Invitations answer to the first alone (the seed's
// first example); redemption, sign-in and refresh to the second, so that
// guests already in keep working when only the first tightens (its second
// example).

// CrossTenantAccess decides whether the identity may come into the
// resource tenant now, to the application appID ("" at redemption, which
// names none). An identity whose home is no tenant of this deployment is
// not subject to the settings and is allowed.
func (s *Service) CrossTenantAccess(ctx context.Context, resourceTenantID string, id federation.Identity, appID string) (xtap.Result, error) {
	return s.xtap.Decide(ctx, xtap.Access{Type: xtap.B2BCollaboration, ResourceTenantID: resourceTenantID,
		HomeTenantID: id.HomeTenantID, HomeUserID: id.HomeObjectID, AppID: appID})
}

// GuestAccess is what a guest's refresh or silent sign-in depends on: the
// home account (which must still be active) and, for a home in this
// deployment, the cross-tenant access decision for the application.
func (s *Service) GuestAccess(ctx context.Context, tenantID, guestUserID, appID string) (GuestHome, xtap.Result, error) {
	var home GuestHome
	var r xtap.Result
	err := s.dir.View(ctx, func(tx store.Tx) error {
		var acct directory.HomeAccount
		var err error
		if home, acct, err = s.homeIn(ctx, tx, tenantID, guestUserID); err != nil || !home.Active {
			return err
		}
		r, err = xtap.DecideForHome(ctx, tx, xtap.Access{Type: xtap.B2BCollaboration, ResourceTenantID: tenantID,
			HomeTenantID: home.TenantID, HomeUserID: home.UserID, AppID: appID}, acct)
		return err
	})
	return home, r, err
}

// WhatIf answers the what-if an administrator of the resource tenant asks
// (POST /policies/crossTenantAccessPolicy/evaluate) with the engine that
// enforces: about a user of a home tenant by object id, or about an
// address not invited yet, whose invitation the external collaboration
// settings decide as well. The user is assumed to have done MFA at home,
// so that the inbound trust layer says whether the tenant would accept it
// where its security defaults require MFA of guests, or challenge.
func (s *Service) WhatIf(ctx context.Context, resourceTenantID string, w xtap.WhatIf) (xtap.Result, error) {
	if w.AccessType == xtap.B2BDirectConnect {
		return xtap.Result{}, usererr.New(usererr.Invalid, "B2B direct connect is not available yet; ask about b2bCollaboration.")
	}
	var out xtap.Result
	err := s.dir.View(ctx, func(tx store.Tx) error {
		if err := directory.MayReadPolicies(ctx, tx, resourceTenantID); err != nil {
			return err
		}
		pol, err := mfa.PolicyIn(ctx, tx, resourceTenantID)
		if err != nil {
			return err
		}
		a := xtap.Access{Type: w.AccessType, ResourceTenantID: resourceTenantID, HomeTenantID: w.HomeTenantID,
			HomeUserID: w.UserID, AppID: w.AppID, HomeClaims: xtap.Claims{MFA: true}, Named: true,
			Required: xtap.Claims{MFA: mfa.Decide(pol, mfa.Subject{Guest: true}, mfa.Proof{}).Required}}
		if addr := w.InvitedUserEmailAddress; addr != "" {
			settings, err := ReadSettings(ctx, tx, resourceTenantID)
			if err != nil {
				return err
			}
			inv := xtap.InvitationDecision(DomainAllowed(settings, addr))
			a.Invitation = &inv
			if a.HomeTenantID == "" {
				d, err := tx.LookupDomain(ctx, strings.ToLower(EmailDomain(addr)))
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if err == nil && d.Verified {
					a.HomeTenantID = d.TenantID
				}
			}
			if a.HomeTenantID != "" {
				if a.HomeUserID, _, err = directory.FindHomeAccount(ctx, tx, a.HomeTenantID, addr); err != nil {
					return err
				}
			}
		} else if acct, err := directory.LookUpHomeAccount(ctx, tx, a.HomeTenantID, a.HomeUserID); err != nil {
			return err
		} else if !acct.Exists {
			return usererr.WithCode(usererr.NotFound, "Request_ResourceNotFound", "Tenant '%s' has no user '%s'.", a.HomeTenantID, a.HomeUserID)
		}
		if a.HomeTenantID == resourceTenantID {
			return usererr.New(usererr.Invalid, "The user's home tenant is this tenant: cross-tenant access settings do not apply.")
		}
		out, err = xtap.DecideIn(ctx, tx, a)
		return err
	})
	return out, err
}
