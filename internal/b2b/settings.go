// Package b2b owns B2B collaboration: invitations and the guest users they
// create, redemption of invitations and guests' sign-in identities, and the
// tenant's external collaboration settings with the invite decision.
package b2b

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Kinds and ids of the external collaboration policies stored as directory
// objects (singletons: absent means the default).
const (
	KindB2BManagementPolicy       = "b2bManagementPolicy"
	KindEmailMethodConfiguration  = "emailAuthenticationMethodConfiguration"
	KindAuthenticationFlowsPolicy = "authenticationFlowsPolicy"

	EmailMethodConfigurationID  = "Email"
	AuthenticationFlowsPolicyID = "authenticationFlowsPolicy"
)

// Settings are a tenant's external collaboration settings as the invite
// and redemption decisions need them.
type Settings struct {
	// AllowInvitesFrom is authorizationPolicy.allowInvitesFrom: none,
	// adminsAndGuestInviters, adminsGuestInvitersAndAllMembers, everyone.
	AllowInvitesFrom string
	// GuestUserRoleID is authorizationPolicy.guestUserRoleId.
	GuestUserRoleID string
	// AllowedDomains or BlockedDomains (never both) is the B2B management
	// policy's invitation domain list, lower-case.
	AllowedDomains, BlockedDomains []string
	// EmailOTP: guests may redeem and sign in with an email one-time
	// passcode (allowExternalIdToUseEmailOtp is not "disabled").
	EmailOTP bool
	// SelfServiceSignUp is authenticationFlowsPolicy.selfServiceSignUp.isEnabled.
	SelfServiceSignUp bool
}

// ReadSettings reads the tenant's external collaboration settings in tx.
func ReadSettings(ctx context.Context, tx store.Tx, tenantID string) (Settings, error) {
	s, err := readInviteSettings(ctx, tx, tenantID)
	if err != nil {
		return Settings{}, err
	}
	email, err := directory.ReadSingleton(ctx, tx, tenantID, KindEmailMethodConfiguration, EmailMethodConfigurationID, defaultEmailConfiguration)
	if err != nil {
		return Settings{}, err
	}
	s.EmailOTP = email.Doc["allowExternalIdToUseEmailOtp"] != "disabled"
	flows, err := directory.ReadSingleton(ctx, tx, tenantID, KindAuthenticationFlowsPolicy, AuthenticationFlowsPolicyID, defaultFlowsPolicy)
	if err != nil {
		return Settings{}, err
	}
	ssu, _ := flows.Doc["selfServiceSignUp"].(map[string]any)
	s.SelfServiceSignUp = ssu["isEnabled"] == true
	return s, nil
}

// readInviteSettings reads the settings the invite decision needs (who may
// invite, the guest role and the domain lists) and leaves the redemption
// ones at their zero values: an invitation reads two objects, not four.
func readInviteSettings(ctx context.Context, tx store.Tx, tenantID string) (Settings, error) {
	pol, err := directory.AuthorizationPolicyIn(ctx, tx, tenantID)
	if err != nil {
		return Settings{}, err
	}
	var s Settings
	s.AllowInvitesFrom, _ = pol.Doc["allowInvitesFrom"].(string)
	s.GuestUserRoleID, _ = pol.Doc["guestUserRoleId"].(string)

	mgmt, err := directory.ReadObjects(ctx, tx, tenantID, KindB2BManagementPolicy)
	if err != nil {
		return Settings{}, err
	}
	if len(mgmt) > 0 {
		def, _ := mgmt[0].Doc["definition"].([]any)
		if len(def) > 0 {
			s.AllowedDomains, s.BlockedDomains, err = domainLists(def[0])
			if err != nil {
				return Settings{}, err
			}
		}
	}
	return s, nil
}

// domainLists reads the invitation domain lists of a stored definition
// (one JSON string, checked when it was written).
func domainLists(definition any) (allowed, blocked []string, err error) {
	text, _ := definition.(string)
	var def struct {
		B2BManagementPolicy struct {
			InvitationsAllowedAndBlockedDomainsPolicy struct {
				AllowedDomains, BlockedDomains []string
			}
		}
	}
	if err := json.Unmarshal([]byte(text), &def); err != nil {
		return nil, nil, err
	}
	lists := def.B2BManagementPolicy.InvitationsAllowedAndBlockedDomainsPolicy
	return lowered(lists.AllowedDomains), lowered(lists.BlockedDomains), nil
}

func lowered(in []string) []string {
	out := make([]string, 0, len(in))
	for _, d := range in {
		if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
			out = append(out, d)
		}
	}
	return out
}
