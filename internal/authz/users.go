package authz

import (
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/caller"
)

// UserChange is a write to a user account: a creation, a deletion (or
// restore), ending its sign-in sessions, or a PATCH of the named top-level
// properties. A creation sets the new account's properties, whatever they
// are.
type UserChange struct {
	Create, Delete, RevokeSessions bool
	Properties                     []string
	// Self: the signed-in caller changes its own account (PATCH /me).
	Self bool
}

// SelfServiceProperties are what a member changes of its own profile with
// User.ReadWrite and no role, as Entra's default member permissions allow;
// everything else of an account stays with administrators.
var SelfServiceProperties = []string{"businessPhones", "officeLocation", "preferredLanguage"}

// UserTarget is the account a change is made to.
type UserTarget struct {
	// Roles are the directory role template ids the account holds.
	Roles []string
	// InRoleAssignableGroup: the account is a member or owner of a group
	// that can hold directory roles, which Entra protects like an admin.
	InRoleAssignableGroup bool
}

// op is one kind of change, as Entra's tables separate them.
type op int

const (
	opCreate    op = iota
	opBasic        // any property that is not sensitive
	opSensitive    // Entra's sensitive properties, and deleting or restoring
	opContact      // businessPhones, mobilePhone, otherMails: part of a password reset
	opPassword     // passwordProfile
	opRevoke       // invalidate refresh tokens and sessions
)

// opInfo names each operation in refusals (name) and the rule that
// decides it (rule).
var opInfo = map[op]struct{ name, rule string }{
	opCreate:    {"create users", "user.create"},
	opBasic:     {"update", "user.basic"},
	opSensitive: {"change sensitive properties of", "user.sensitive"},
	opContact:   {"change the contact details of", "user.sensitive"},
	opPassword:  {"reset the password of", "user.password"},
	opRevoke:    {"end the sessions of", "user.revokeSessions"},
}

// opOf classifies a user property. Entra's "sensitive actions" list
// accountEnabled, businessPhones, mobilePhone, onPremisesImmutableId,
// otherMails, passwordProfile and userPrincipalName; the sign-in
// identities and mail are treated alike because they also decide how the
// account signs in or recovers it.
func opOf(property string) op {
	switch property {
	case "passwordProfile":
		return opPassword
	case "businessPhones", "mobilePhone", "otherMails":
		return opContact
	case "accountEnabled", "userPrincipalName", "identities", "mail", "onPremisesImmutableId":
		return opSensitive
	}
	return opBasic
}

// Rows of Entra's "Who can reset passwords" and "Who can perform sensitive
// actions" tables: the roles a target may hold for a seat to act on it. A
// target with no role is always within reach of a limited seat; any other
// role, a role-assignable group membership, or a role not listed puts the
// target out of its reach.
var (
	passwordAdminReach = []string{DirectoryReaders, GuestInviter, PasswordAdministrator}
	helpdeskReach      = []string{DirectoryReaders, GuestInviter, HelpdeskAdministrator, MessageCenterReader, PasswordAdministrator, ReportsReader}
	authAdminReach     = []string{AuthenticationAdministrator, DirectoryReaders, GuestInviter, MessageCenterReader, PasswordAdministrator, ReportsReader}
	userAdminReach     = []string{DirectoryReaders, GroupsAdministrator, GuestInviter, HelpdeskAdministrator, MessageCenterReader, PasswordAdministrator, ReportsReader, UserAdministrator}
	// Graph lets application permissions change the sensitive properties
	// only of non-administrators and these read-only roles; administrators
	// need a delegated administrator who outranks them.
	appReach = []string{DirectoryReaders, GuestInviter, MessageCenterReader, ReportsReader}
)

// seat is one way of holding power over users: a directory role of the
// signed-in user, or an application permission.
type seat struct {
	name string
	ops  []op
	// reach are the roles a target may hold; nil reaches every account.
	reach []string
	// basicAnywhere: non-sensitive properties of every account, whatever reach says.
	basicAnywhere bool
}

var roleSeats = map[string]seat{
	GlobalAdministrator:                   {name: "Global Administrator", ops: []op{opCreate, opBasic, opSensitive, opContact, opPassword, opRevoke}},
	PrivilegedAuthenticationAdministrator: {name: "Privileged Authentication Administrator", ops: []op{opBasic, opSensitive, opContact, opPassword, opRevoke}},
	UserAdministrator:                     {name: "User Administrator", ops: []op{opCreate, opBasic, opSensitive, opContact, opPassword, opRevoke}, reach: userAdminReach, basicAnywhere: true},
	AuthenticationAdministrator:           {name: "Authentication Administrator", ops: []op{opBasic, opSensitive, opContact, opPassword, opRevoke}, reach: authAdminReach},
	HelpdeskAdministrator:                 {name: "Helpdesk Administrator", ops: []op{opContact, opPassword, opRevoke}, reach: helpdeskReach},
	PasswordAdministrator:                 {name: "Password Administrator", ops: []op{opContact, opPassword, opRevoke}, reach: passwordAdminReach},
}

var appSeats = map[string]seat{
	permUserReadWrite:      {name: permUserReadWrite, ops: []op{opCreate, opBasic, opSensitive, opContact, opRevoke}, reach: appReach, basicAnywhere: true},
	permDirectoryReadWrite: {name: permDirectoryReadWrite, ops: []op{opCreate, opBasic, opSensitive, opContact, opRevoke}, reach: appReach, basicAnywhere: true},
	permPasswordProfile:    {name: permPasswordProfile, ops: []op{opPassword}, reach: appReach},
}

// delegatedScopes are the delegated permissions that carry an operation
// (the signed-in user's role decides whom it reaches).
func delegatedScopes(o op) []string {
	if o == opPassword {
		return []string{permPasswordProfile, permDirectoryAsUser}
	}
	return []string{permUserReadWrite, permDirectoryAsUser}
}

func (s seat) reaches(o op, t UserTarget) bool {
	if !slices.Contains(s.ops, o) {
		return false
	}
	if s.reach == nil || (o == opBasic && s.basicAnywhere) {
		return true
	}
	if t.InRoleAssignableGroup {
		return false
	}
	return !slices.ContainsFunc(t.Roles, func(r string) bool { return !slices.Contains(s.reach, r) })
}

// seatsOf are the seats a caller holds.
func seatsOf(c caller.Caller) []seat {
	var out []seat
	if c.AppOnly {
		for _, p := range c.Roles {
			if s, ok := appSeats[p]; ok {
				out = append(out, s)
			}
		}
		return out
	}
	for _, r := range c.DirectoryRoles {
		if s, ok := roleSeats[r]; ok {
			out = append(out, s)
		}
	}
	return out
}

// ChangeUser decides whether c may make change to the account t, following
// Entra's "Who can reset passwords" and "Who can perform sensitive actions"
// tables for signed-in administrators and Graph's rules for application
// permissions: User.ReadWrite.All does not reset passwords
// (User-PasswordProfile.ReadWrite.All does), and no application permission
// reaches an administrator's sensitive properties. Every operation the
// change needs must be within reach of one seat the caller holds.
func ChangeUser(c caller.Caller, t UserTarget, change UserChange) Decision {
	var ops []op
	switch {
	case change.Create:
		ops = []op{opCreate}
	case change.Delete:
		ops = []op{opSensitive}
	case change.RevokeSessions:
		ops = []op{opRevoke}
	default:
		for _, p := range change.Properties {
			if o := opOf(p); !slices.Contains(ops, o) {
				ops = append(ops, o)
			}
		}
	}
	if change.Self && !c.AppOnly && len(change.Properties) > 0 &&
		!slices.ContainsFunc(change.Properties, func(p string) bool { return !slices.Contains(SelfServiceProperties, p) }) {
		if !c.HasPermission("User.ReadWrite", "User.ReadWrite.All", "Directory.AccessAsUser.All") {
			return deny("user.self", "the token lacks User.ReadWrite")
		}
		return allow("user.self", "a user updates their own profile")
	}
	seats := seatsOf(c)
	var used []string
	for _, o := range ops {
		rule := opInfo[o].rule
		if !c.AppOnly && !c.HasPermission(delegatedScopes(o)...) {
			return deny(rule, "the token lacks "+strings.Join(delegatedScopes(o), " or "))
		}
		i := slices.IndexFunc(seats, func(s seat) bool { return s.reaches(o, t) })
		if i < 0 {
			// The reason does not say what protects the target: that would
			// tell a caller who may not list roles that the user holds one.
			return deny(rule, "no role or permission of the caller may "+opInfo[o].name+" this user")
		}
		if !slices.Contains(used, seats[i].name) {
			used = append(used, seats[i].name)
		}
	}
	if len(ops) == 0 {
		return allow("user.basic", "the change touches nothing")
	}
	return allow(opInfo[ops[0]].rule, "within reach of "+strings.Join(used, ", "))
}
