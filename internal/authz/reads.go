package authz

import "github.com/gatehouse-id/gatehouse/internal/caller"

// Guest role template ids of authorizationPolicy.guestUserRoleId.
const (
	GuestSameAsMembers = "a0b1b346-4d3e-4e8b-98f8-753987be4970"
	GuestLimited       = "10dae51f-b6af-4016-8d66-8c2a99b929b3"
	GuestRestricted    = "2af84b1e-32c8-42b7-82bc-daa82404023b"
)

// Level is how much of the directory a caller may read, whatever its token's
// scopes admit: Entra's default user permissions.
type Level int

const (
	// ReadAll: applications, administrators, and members (or guests the
	// tenant treats as members).
	ReadAll Level = iota
	// ReadOwnUser: a member of a tenant whose policy sets
	// allowedToReadOtherUsers to false reads no other user.
	ReadOwnUser
	// ReadLimited: a guest under the default guest role reads other users'
	// and groups' basic properties by id, never a list.
	ReadLimited
	// ReadRestricted: a guest under the restricted guest role reads only
	// their own profile.
	ReadRestricted
)

// Policy is what the tenant's authorizationPolicy says about reading.
type Policy struct {
	GuestUserRoleID         string
	AllowedToReadOtherUsers bool
}

// Unrestricted reports whether c reads whatever its token admits: an
// application, or a user holding a directory role of any kind (Entra's
// roles include reading the directory).
func Unrestricted(c caller.Caller) bool { return c.AppOnly || len(c.DirectoryRoles) > 0 }

// ReadLevelOf decides how much c may read. userType is the signed-in
// user's ("Member" or "Guest").
func ReadLevelOf(c caller.Caller, userType string, p Policy) Level {
	if Unrestricted(c) {
		return ReadAll
	}
	if userType == "Guest" {
		switch p.GuestUserRoleID {
		case GuestSameAsMembers:
		case GuestLimited:
			return ReadLimited
		default: // restricted, and any value this code does not know
			return ReadRestricted
		}
	}
	if !p.AllowedToReadOtherUsers {
		return ReadOwnUser
	}
	return ReadAll
}

// Area is a part of the directory as Entra's default permissions divide it.
type Area int

const (
	AreaNone            Area = iota // nothing the defaults restrict (branding, domains)
	AreaUsers                       // users
	AreaGroups                      // groups
	AreaApps                        // applications, service principals and their app role assignments
	AreaRoleDefinitions             // role definitions and directory roles
	AreaRoleAssignments             // who holds which role
	AreaGrants                      // delegated permission grants
	AreaPolicies                    // tenant policies
	AreaDeleted                     // deleted items
	AreaOrganization                // the organization
)

// Read is one read request.
type Read struct {
	Area Area
	// List: a listing, a filter, a delta or a lookup by anything but the
	// object id; enumerating is what guests may not do.
	List bool
	// Members: the members, owners or memberships of the object.
	Members bool
	// Self: the object is the signed-in user.
	Self bool
}

// MayRead decides one read at level l, after Entra's "Compare member and
// guest default permissions" table.
func MayRead(l Level, r Read) Decision {
	const rule = "directory.read"
	if l == ReadAll || r.Area == AreaNone || r.Area == AreaOrganization {
		return allow(rule, "within the caller's default permissions")
	}
	if r.Self && (r.Area == AreaUsers || (r.Area == AreaGroups && r.Members)) {
		return allow(rule, "everyone reads their own profile and memberships")
	}
	switch l {
	case ReadOwnUser:
		switch {
		case r.Area == AreaUsers:
			return deny(rule, "this organization does not let users read other users")
		case r.Area == AreaGroups && r.Members, r.Area == AreaRoleAssignments, r.Area == AreaGrants, r.Area == AreaDeleted:
			return deny(rule, "this organization does not let users read other users, which this would list")
		}
		return allow(rule, "members read the directory apart from other users")
	case ReadLimited:
		switch r.Area {
		case AreaUsers:
			if r.List || r.Members {
				return deny(rule, "guests cannot enumerate users or read their memberships")
			}
			return allow(rule, "guests read other users' basic properties by id")
		case AreaGroups, AreaApps:
			if r.List && !r.Members {
				return deny(rule, "guests cannot enumerate groups or applications")
			}
			return allow(rule, "guests read groups and applications by id, with their membership")
		}
		return deny(rule, "guests have no default permission here")
	}
	if r.Area == AreaApps && !r.List {
		return allow(rule, "restricted guests read applications by id")
	}
	return deny(rule, "restricted guests read only their own profile")
}

// VisibleProperties are the properties of an object a caller at level l may
// see; nil means all of them.
func VisibleProperties(l Level, area Area, self bool) []string {
	switch {
	case self || l == ReadAll || l == ReadOwnUser:
		return nil
	case area == AreaUsers:
		// "Read display name, email, sign-in name, photo, user principal
		// name, and user type properties of other users."
		return []string{"id", "displayName", "mail", "userPrincipalName", "userType"}
	case area == AreaOrganization:
		return []string{"id", "displayName", "verifiedDomains"}
	}
	return nil
}
