// Package b2b owns B2B collaboration: invitations and the guest users they
// create, redemption of invitations and guests' sign-in identities, and the
// tenant's external collaboration settings with the invite decision.
package b2b

import (
	"context"
	"encoding/json"
	"errors"
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
	pol, err := directory.AuthorizationPolicyIn(ctx, tx, tenantID)
	if err != nil {
		return Settings{}, err
	}
	s := Settings{EmailOTP: true}
	s.AllowInvitesFrom, _ = pol.Doc["allowInvitesFrom"].(string)
	s.GuestUserRoleID, _ = pol.Doc["guestUserRoleId"].(string)

	var mgmt struct {
		Definition []string `json:"definition"`
	}
	found, err := readPolicy(ctx, tx, tenantID, KindB2BManagementPolicy, "", &mgmt)
	if err != nil {
		return Settings{}, err
	}
	if found && len(mgmt.Definition) > 0 {
		var def struct {
			B2BManagementPolicy struct {
				InvitationsAllowedAndBlockedDomainsPolicy struct {
					AllowedDomains, BlockedDomains []string
				}
			}
		}
		if err := json.Unmarshal([]byte(mgmt.Definition[0]), &def); err != nil {
			return Settings{}, err
		}
		lists := def.B2BManagementPolicy.InvitationsAllowedAndBlockedDomainsPolicy
		s.AllowedDomains, s.BlockedDomains = lowered(lists.AllowedDomains), lowered(lists.BlockedDomains)
	}

	var email struct {
		AllowExternalIDToUseEmailOTP string `json:"allowExternalIdToUseEmailOtp"`
	}
	if _, err := readPolicy(ctx, tx, tenantID, KindEmailMethodConfiguration, EmailMethodConfigurationID, &email); err != nil {
		return Settings{}, err
	}
	s.EmailOTP = email.AllowExternalIDToUseEmailOTP != "disabled"

	var flows struct {
		SelfServiceSignUp struct {
			IsEnabled bool `json:"isEnabled"`
		} `json:"selfServiceSignUp"`
	}
	if _, err := readPolicy(ctx, tx, tenantID, KindAuthenticationFlowsPolicy, AuthenticationFlowsPolicyID, &flows); err != nil {
		return Settings{}, err
	}
	s.SelfServiceSignUp = flows.SelfServiceSignUp.IsEnabled
	return s, nil
}

// readPolicy decodes the tenant's stored policy of a kind into v: the one
// with id, or the only one when id is "" (a tenant has at most one B2B
// management policy, whatever its id). It reports whether one is stored.
func readPolicy(ctx context.Context, tx store.Tx, tenantID, kind, id string, v any) (bool, error) {
	var o store.Object
	var err error
	if id != "" {
		o, err = tx.GetObject(ctx, tenantID, kind, id)
	} else {
		var page store.Page
		page, err = tx.ListObjects(ctx, tenantID, kind, store.Query{Top: 1})
		if err == nil && len(page.Objects) == 0 {
			err = store.ErrNotFound
		}
		if err == nil {
			o = page.Objects[0]
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(o.Data, v)
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
