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

// inviterRoles may invite under adminsAndGuestInviters: the roles Graph's
// allowInvitesFrom names (Global Administrator, User Administrator, Guest
// Inviter).
var inviterRoles = []string{authz.GlobalAdministrator, authz.UserAdministrator, authz.GuestInviter}

// CanInvite decides whether who may invite email under the tenant's
// settings: first who may invite at all (allowInvitesFrom), then the
// invitation domain list.
func CanInvite(s Settings, who Inviter, email string) Decision {
	if d := mayInvite(s, who); !d.Allowed {
		return d
	}
	return DomainAllowed(s, email)
}

// mayInvite applies allowInvitesFrom as Entra's guest invite settings
// describe it. An application holding User.Invite.All invites under every
// level but none: Graph's create-invitation page once said app-only calls
// failed when invitations were restricted to administrators, and dropped
// that note in 2025 once Microsoft verified they succeed. "Members"
// include guests given the member role (guestUserRoleId User), as the
// portal's "including guests with member permissions" says.
func mayInvite(s Settings, who Inviter) Decision {
	admin := !who.App && slices.ContainsFunc(who.Roles, func(r string) bool { return slices.Contains(inviterRoles, r) })
	member := strings.EqualFold(who.UserType, "Member") ||
		(strings.EqualFold(who.UserType, "Guest") && s.GuestUserRoleID == authz.GuestSameAsMembers)
	from := s.AllowInvitesFrom
	if from == "" {
		from = "everyone" // the default of a tenant nobody changed
	}
	allowed := true
	var reason string
	switch from {
	case "none":
		allowed, reason = false, "The organization does not allow anyone, administrators and applications included, to invite guests (allowInvitesFrom is none)."
	case "adminsAndGuestInviters":
		allowed = who.App || admin
		reason = "Only Global Administrators, User Administrators, Guest Inviters and applications may invite guests (allowInvitesFrom is adminsAndGuestInviters)."
	case "adminsGuestInvitersAndAllMembers":
		allowed = who.App || admin || member
		reason = "Guests may not invite guests (allowInvitesFrom is adminsGuestInvitersAndAllMembers); ask a member or a Guest Inviter."
	case "everyone":
	default:
		// A setting this code does not know fails closed.
		allowed, reason = false, "The organization's allowInvitesFrom setting '"+from+"' is not understood; nobody may invite."
	}
	if !allowed {
		return Decision{Rule: RuleInvitesFrom, Reason: reason}
	}
	return Decision{Allowed: true, Rule: RuleInvitesFrom, Reason: "The inviter may invite guests (allowInvitesFrom is " + from + ")."}
}

// DomainAllowed applies the invitation domain list to email's domain: an
// allow list admits only its domains, a block list refuses its own. A
// listed domain covers its subdomains too (blocking adatum.example blocks
// mail.adatum.example), compared without case. Redemption asks again, so
// a domain blocked after the invitation was sent stops a pending
// redemption. An address without a domain is refused whatever the list.
func DomainAllowed(s Settings, email string) Decision {
	domain := EmailDomain(email)
	switch {
	case domain == "":
		return Decision{Rule: RuleAllowedDomain, Reason: "The address '" + email + "' has no domain to invite."}
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

// EmailDomain is the lower-case domain of an email address ("" when it
// has none), without a trailing root dot.
func EmailDomain(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(email[at+1:])), ".")
}

func matchesDomain(list []string, domain string) bool {
	return slices.ContainsFunc(list, func(d string) bool {
		return domain == d || strings.HasSuffix(domain, "."+d)
	})
}

// InviteMember decides whether who may invite someone as a member
// (invitedUserType Member): Graph lets only an administrator who may
// create users do it (a Guest Inviter may not), or an application holding
// User.Invite.All.
func InviteMember(who Inviter) Decision {
	if who.App || slices.ContainsFunc(who.Roles, func(r string) bool {
		return r == authz.GlobalAdministrator || r == authz.UserAdministrator
	}) {
		return Decision{Allowed: true, Rule: RuleMemberInvite, Reason: "The inviter may invite members."}
	}
	return Decision{Rule: RuleMemberInvite, Reason: "Only a Global Administrator or User Administrator may invite a user as a member."}
}
