package directory

import (
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/audit"
)

// Activities of B2B collaboration, which internal/b2b notes in the
// transactions of its directory writes, logged by Entra's "Invited Users"
// service. The delivery of an invitation email is Gatehouse's own record:
// Entra does not log it.
const (
	InvitedUsersService              = "Invited Users"
	ActivityInviteExternalUser       = "Invite external user"
	ActivityInviteExternalUserReset  = "Invite external user with reset invitation status"
	ActivityRedeemExternalUserInvite = "Redeem external user invite"
	ActivityDeleteExternalUser       = "Delete external user"
	ActivityInvitationEmail          = "Deliver invitation email"
)

// noun is how Entra's activity names and target types call a kind.
type noun struct {
	name, category, targetType string
}

var nouns = map[string]noun{
	KindUser:                {"user", audit.CategoryUserManagement, "User"},
	KindGroup:               {"group", audit.CategoryGroupManagement, "Group"},
	KindApplication:         {"application", audit.CategoryApplicationManagement, "Application"},
	KindServicePrincipal:    {"service principal", audit.CategoryApplicationManagement, "ServicePrincipal"},
	KindOrganization:        {"company", audit.CategoryDirectoryManagement, "Company"},
	KindAuthorizationPolicy: {"authorization policy", audit.CategoryPolicy, "Policy"},
	KindBranding:            {"company branding", audit.CategoryDirectoryManagement, "Other"},
	KindPermissionGrant:     {"delegated permission grant", audit.CategoryApplicationManagement, "Other"},
	KindAppRoleAssign:       {"app role assignment", audit.CategoryApplicationManagement, "Other"},
	KindRoleAssignment:      {"member to role", audit.CategoryRoleManagement, "Role"},
	kindDomain:              {"domain", audit.CategoryDirectoryManagement, "Domain"},
	// federation's identity providers (internal/federation).
	"identityProvider": {"identity provider", audit.CategoryDirectoryManagement, "Other"},
}

// verbs of the plain activities, as Entra words them ("Add user",
// "Update application", "Hard delete group").
var verbs = map[string]string{opAdd: "Add", opUpdate: "Update", opDelete: "Delete", opRestore: "Restore", opHardDelete: "Hard delete"}

// activity names the activity of a journal entry and its category, as
// Entra's audit log does; who is the initiator, which tells a user's own
// password change from an administrator's reset. Kinds without a name of
// their own still get "Add <kind>" and so on, so that no write goes
// unrecorded.
func activity(e *entry, who audit.Initiator) (name, category string) {
	n, ok := nouns[e.kind]
	if !ok {
		n = noun{e.kind, audit.CategoryOther, "Other"}
	}
	verb := verbs[e.op]
	switch {
	case e.op == opAddLink || e.op == opRemoveLink:
		return linkActivity(e)
	case e.kind == KindUser && e.op == opUpdate && slices.Contains(e.secrets, "passwordProfile"):
		if who.User != nil && who.User.ID == e.id {
			return "Change user password", n.category
		}
		return "Reset user password", n.category
	case e.kind == KindApplication && e.op == opUpdate && slices.Contains(e.secrets, "passwordCredentials"):
		return "Update application – Certificates and secrets management", n.category
	case e.kind == KindServicePrincipal && e.op == opDelete:
		return "Remove service principal", n.category
	case e.kind == KindOrganization && e.op == opAdd:
		return "Create company", n.category
	case e.kind == KindOrganization && e.op == opUpdate:
		return "Set company information", n.category
	case e.kind == KindRoleAssignment:
		if e.op == opAdd {
			return "Add member to role", n.category
		}
		return "Remove member from role", n.category
	case e.kind == KindPermissionGrant && e.op == opDelete:
		return "Remove delegated permission grant", n.category
	case e.kind == KindAppRoleAssign:
		return appRoleActivity(e), n.category
	case e.kind == kindDomain:
		return domainActivity(e), n.category
	}
	return verb + " " + n.name, n.category
}

func linkActivity(e *entry) (string, string) {
	if e.rel == RelManager {
		if e.op == opAddLink {
			return "Set user manager", audit.CategoryUserManagement
		}
		return "Remove user manager", audit.CategoryUserManagement
	}
	what := "member"
	switch e.rel {
	case RelOwners:
		what = "owner"
	case RelSponsors:
		what = "sponsor"
	}
	n, ok := nouns[e.source.Kind]
	if !ok {
		n = noun{e.source.Kind, audit.CategoryOther, "Other"}
	}
	if e.op == opAddLink {
		return "Add " + what + " to " + n.name, n.category
	}
	return "Remove " + what + " from " + n.name, n.category
}

func appRoleActivity(e *entry) string {
	d := e.after
	if d == nil {
		d = e.before
	}
	to := map[string]string{"User": "user", "Group": "group"}[str(d, "principalType")]
	switch {
	case e.op == opAdd && to == "user":
		return "Add app role assignment grant to user"
	case e.op == opAdd && to == "group":
		return "Add app role assignment to group"
	case e.op == opAdd:
		return "Add app role assignment to service principal"
	case to != "":
		return "Remove app role assignment from " + to
	}
	return "Remove app role assignment from service principal"
}

func domainActivity(e *entry) string {
	switch e.op {
	case opAdd:
		if e.after["isVerified"] == true {
			return "Add verified domain"
		}
		return "Add unverified domain"
	case opDelete:
		if e.before["isVerified"] == true {
			return "Remove verified domain"
		}
		return "Remove unverified domain"
	}
	if e.before["isVerified"] != true && e.after["isVerified"] == true {
		return "Verify domain"
	}
	return "Update domain"
}

// operationTypes are Graph's operationType of each journal operation.
var operationTypes = map[string]string{opAdd: "Add", opUpdate: "Update", opDelete: "Delete", opRestore: "Restore",
	opHardDelete: "Delete", opAddLink: "Assign", opRemoveLink: "Unassign"}

// describeEntry renders a journal entry as a directory audit record,
// without the parts every record of the transaction shares.
func describeEntry(e *entry, who audit.Initiator) audit.DirectoryAudit {
	if e.explicit != nil {
		return *e.explicit
	}
	name, category := activity(e, who)
	a := audit.DirectoryAudit{ActivityDisplayName: name, Category: category, OperationType: operationTypes[e.op]}
	doc := e.after
	if doc == nil {
		doc = e.before
	}
	target := audit.TargetResource{ID: e.id, DisplayName: str(doc, "displayName"), UserPrincipalName: str(doc, "userPrincipalName"), Type: targetType(e.kind)}
	switch e.op {
	case opAddLink, opRemoveLink:
		src := audit.TargetResource{ID: e.source.ID, DisplayName: str(e.source.Doc, "displayName"), Type: targetType(e.source.Kind)}
		a.TargetResources = []audit.TargetResource{target, src}
		return a
	case opDelete, opHardDelete:
		// What went is named; its properties are not repeated.
	default:
		target.ModifiedProperties = modified(e.kind, e.before, e.after, e.secrets)
	}
	if e.kind == kindDomain {
		target.DisplayName = e.id
	}
	a.TargetResources = []audit.TargetResource{target}
	return a
}

func targetType(kind string) string {
	if n, ok := nouns[kind]; ok {
		return n.targetType
	}
	return "Other"
}
