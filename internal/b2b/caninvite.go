package b2b

import (
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
)

// Inviter is who asks to invite: an application with User.Invite.All, or a
// signed-in user with their userType and directory roles (template ids).
type Inviter struct {
	App      bool
	UserType string // Member or Guest
	Roles    []string
}

// Decision is an invite decision with the rule that made it and a reason
// an administrator can act on.
type Decision struct {
	Allowed bool
	Rule    string
	Reason  string
}

// Rules a Decision names.
const (
	RuleInvitesFrom   = "allowInvitesFrom"
	RuleAllowedDomain = "allowedDomains"
	RuleBlockedDomain = "blockedDomains"
	RuleMemberInvite  = "invitedUserType"
)

// inviterRoles may invite under adminsAndGuestInviters (Entra: Global
// Administrator, User Administrator, Guest Inviter).
var inviterRoles = []string{authz.GlobalAdministrator, authz.UserAdministrator, authz.GuestInviter}

// CanInvite decides whether who may invite email under the tenant's
// settings: first who may invite at all (allowInvitesFrom), then the
// invitation domain list.
func CanInvite(s Settings, who Inviter, email string) Decision {
	if d := mayInvite(s.AllowInvitesFrom, who); !d.Allowed {
		return d
	}
	return DomainAllowed(s, email)
}

func mayInvite(from string, who Inviter) Decision {
	admin := slices.ContainsFunc(who.Roles, func(r string) bool { return slices.Contains(inviterRoles, r) })
	switch from {
	case "none":
		return Decision{Rule: RuleInvitesFrom, Reason: "The organization does not allow anyone to invite guests (allowInvitesFrom is none)."}
	case "adminsAndGuestInviters":
		if who.App {
			return Decision{Rule: RuleInvitesFrom, Reason: "Only administrators and Guest Inviters may invite guests; applications may not (allowInvitesFrom is adminsAndGuestInviters)."}
		}
		if !admin {
			return Decision{Rule: RuleInvitesFrom, Reason: "Only Global Administrators, User Administrators and Guest Inviters may invite guests (allowInvitesFrom is adminsAndGuestInviters)."}
		}
	case "adminsGuestInvitersAndAllMembers":
		if !who.App && !admin && who.UserType != "Member" {
			return Decision{Rule: RuleInvitesFrom, Reason: "Guests may not invite other guests (allowInvitesFrom is adminsGuestInvitersAndAllMembers)."}
		}
	case "everyone", "":
	default:
		// A setting this code does not know fails closed.
		return Decision{Rule: RuleInvitesFrom, Reason: "The organization's allowInvitesFrom setting '" + from + "' is not understood; nobody may invite."}
	}
	return Decision{Allowed: true, Rule: RuleInvitesFrom, Reason: "The inviter may invite guests (allowInvitesFrom is " + orEveryone(from) + ")."}
}

func orEveryone(from string) string {
	if from == "" {
		return "everyone"
	}
	return from
}

// DomainAllowed applies the invitation domain list to email's domain: an
// allow list admits only its domains, a block list refuses its own. A
// domain matches itself and its subdomains. Redemption asks again, so a
// domain blocked after the invitation was sent stops a pending redemption.
func DomainAllowed(s Settings, email string) Decision {
	_, domain, _ := strings.Cut(strings.ToLower(strings.TrimSpace(email)), "@")
	switch {
	case len(s.AllowedDomains) > 0:
		if matchesDomain(s.AllowedDomains, domain) {
			return Decision{Allowed: true, Rule: RuleAllowedDomain, Reason: "The domain " + domain + " is on the organization's allow list."}
		}
		return Decision{Rule: RuleAllowedDomain, Reason: "Invitations to the domain " + domain + " are not allowed: it is not on the organization's allow list."}
	case matchesDomain(s.BlockedDomains, domain):
		return Decision{Rule: RuleBlockedDomain, Reason: "Invitations to the domain " + domain + " are blocked by the organization's block list."}
	}
	return Decision{Allowed: true, Rule: RuleBlockedDomain, Reason: "The domain " + domain + " is not blocked."}
}

func matchesDomain(list []string, domain string) bool {
	return domain != "" && slices.ContainsFunc(list, func(d string) bool {
		return domain == d || strings.HasSuffix(domain, "."+d)
	})
}

// InviteMember decides whether who may invite someone as a member
// (invitedUserType Member): only administrators who may manage users.
func InviteMember(who Inviter) Decision {
	if who.App || slices.ContainsFunc(who.Roles, func(r string) bool {
		return r == authz.GlobalAdministrator || r == authz.UserAdministrator
	}) {
		return Decision{Allowed: true, Rule: RuleMemberInvite, Reason: "The inviter may invite members."}
	}
	return Decision{Rule: RuleMemberInvite, Reason: "Only a Global Administrator or User Administrator may invite a user as a member."}
}
