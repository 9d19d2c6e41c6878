package b2b

import (
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
)

// seats are the inviters every level is tried from.
var seats = []struct {
	name        string
	who         Inviter
	memberGuest bool // the tenant gives guests the member role
}{
	{"app with User.Invite.All", Inviter{App: true}, false},
	{"Global Administrator", Inviter{UserType: "Member", Roles: []string{authz.GlobalAdministrator}}, false},
	{"User Administrator", Inviter{UserType: "Member", Roles: []string{authz.UserAdministrator}}, false},
	{"Guest Inviter", Inviter{UserType: "Member", Roles: []string{authz.GuestInviter}}, false},
	{"guest holding Guest Inviter", Inviter{UserType: "Guest", Roles: []string{authz.GuestInviter}}, false},
	{"Helpdesk Administrator", Inviter{UserType: "Member", Roles: []string{authz.HelpdeskAdministrator}}, false},
	{"member", Inviter{UserType: "Member"}, false},
	{"guest", Inviter{UserType: "Guest"}, false},
	{"guest with member permissions", Inviter{UserType: "Guest"}, true},
	{"app claiming roles", Inviter{App: true, Roles: []string{authz.GlobalAdministrator}}, false},
}

func TestWhoMayInviteAtEachLevel(t *testing.T) {
	// want lists, per level, the seats (by index in seats) that may invite.
	want := map[string][]bool{
		//                                app    GA     UA     GI     gGI    HD     member guest  gMem   app+roles
		"none":                             {false, false, false, false, false, false, false, false, false, false},
		"adminsAndGuestInviters":           {true, true, true, true, true, false, false, false, false, true},
		"adminsGuestInvitersAndAllMembers": {true, true, true, true, true, true, true, false, true, true},
		"everyone":                         {true, true, true, true, true, true, true, true, true, true},
		"":                                 {true, true, true, true, true, true, true, true, true, true},
		"unknownFutureValue":               {false, false, false, false, false, false, false, false, false, false},
	}
	for level, allowed := range want {
		for i, seat := range seats {
			s := Settings{AllowInvitesFrom: level, GuestUserRoleID: authz.GuestLimited}
			if seat.memberGuest {
				s.GuestUserRoleID = authz.GuestSameAsMembers
			}
			d := CanInvite(s, seat.who, "someone@fabrikam.example")
			if d.Allowed != allowed[i] {
				t.Errorf("%q from %s: allowed %v (%s), want %v", level, seat.name, d.Allowed, d.Reason, allowed[i])
			}
			if d.Rule == "" || d.Reason == "" {
				t.Errorf("%q from %s: decision without rule or reason: %+v", level, seat.name, d)
			}
			if !allowed[i] && d.Rule != RuleInvitesFrom {
				t.Errorf("%q from %s: refused by %s, want %s", level, seat.name, d.Rule, RuleInvitesFrom)
			}
		}
	}
}

func TestRestrictedGuestsAreNotMembers(t *testing.T) {
	s := Settings{AllowInvitesFrom: "adminsGuestInvitersAndAllMembers", GuestUserRoleID: authz.GuestRestricted}
	if d := CanInvite(s, Inviter{UserType: "Guest"}, "x@fabrikam.example"); d.Allowed {
		t.Errorf("a restricted guest invites: %+v", d)
	}
	// A user without a userType is not taken for a member.
	if d := CanInvite(s, Inviter{}, "x@fabrikam.example"); d.Allowed {
		t.Errorf("a user of no type invites: %+v", d)
	}
}

func TestDomainLists(t *testing.T) {
	block := Settings{BlockedDomains: []string{"adatum.example", "gmail.example"}}
	allow := Settings{AllowedDomains: []string{"fabrikam.example", "litware.example"}}
	cases := []struct {
		name  string
		s     Settings
		email string
		want  bool
		rule  string
	}{
		{"no list admits any domain", Settings{}, "a@anywhere.example", true, RuleBlockedDomain},
		{"blocked domain", block, "alex@adatum.example", false, RuleBlockedDomain},
		{"blocked domain in capitals", block, "Alex@ADATUM.Example", false, RuleBlockedDomain},
		{"blocked domain with a root dot", block, "alex@adatum.example.", false, RuleBlockedDomain},
		{"subdomain of a blocked domain", block, "alex@eu.mail.adatum.example", false, RuleBlockedDomain},
		{"a longer name is not a subdomain", block, "alex@notadatum.example", true, RuleBlockedDomain},
		{"a blocked name inside another domain", block, "alex@adatum.example.fabrikam.example", true, RuleBlockedDomain},
		{"unlisted domain under a block list", block, "kim@fabrikam.example", true, RuleBlockedDomain},
		{"listed domain under an allow list", allow, "kim@fabrikam.example", true, RuleAllowedDomain},
		{"listed domain in capitals", allow, "KIM@Fabrikam.EXAMPLE", true, RuleAllowedDomain},
		{"subdomain of an allowed domain", allow, "kim@sales.litware.example", true, RuleAllowedDomain},
		{"unlisted domain under an allow list", allow, "alex@adatum.example", false, RuleAllowedDomain},
		{"suffix that is no subdomain", allow, "kim@evilfabrikam.example", false, RuleAllowedDomain},
		{"no domain under a block list", block, "adatum.example", false, RuleAllowedDomain},
		{"empty domain under an allow list", allow, "kim@", false, RuleAllowedDomain},
		{"the last @ names the domain", block, `"a@fabrikam.example"@adatum.example`, false, RuleBlockedDomain},
	}
	for _, c := range cases {
		d := DomainAllowed(c.s, c.email)
		if d.Allowed != c.want || d.Rule != c.rule || d.Reason == "" {
			t.Errorf("%s (%s): %+v, want allowed %v by %s", c.name, c.email, d, c.want, c.rule)
		}
	}
}

// The seed's first example: adatum.example on the block list, so inviting
// an Adatum user fails with a reason naming the domain and the list, even
// for a Global Administrator.
func TestSeedBlockedAdatum(t *testing.T) {
	s := Settings{AllowInvitesFrom: "everyone", BlockedDomains: []string{"adatum.example"}}
	for _, seat := range seats {
		d := CanInvite(s, seat.who, "megan@adatum.example")
		if d.Allowed || d.Rule != RuleBlockedDomain {
			t.Fatalf("%s invites an Adatum user: %+v", seat.name, d)
		}
		if !strings.Contains(d.Reason, "adatum.example") || !strings.Contains(d.Reason, "block list") {
			t.Errorf("reason %q does not say what blocked it", d.Reason)
		}
	}
	if d := CanInvite(s, seats[1].who, "kim@fabrikam.example"); !d.Allowed {
		t.Errorf("a Fabrikam user is refused too: %+v", d)
	}
}

// The seed's second example: once fabrikam.example is blocked, new
// Fabrikam invitations fail whoever sends them; a guest who already
// redeemed is not asked again (redemption of pending invitations is, by
// the b2b redemption, through DomainAllowed).
func TestSeedFabrikamBlockedAfterRedemption(t *testing.T) {
	s := Settings{AllowInvitesFrom: "everyone"}
	admin := Inviter{UserType: "Member", Roles: []string{authz.GlobalAdministrator}}
	if d := CanInvite(s, admin, "kim@fabrikam.example"); !d.Allowed {
		t.Fatalf("before the block: %+v", d)
	}
	s.BlockedDomains = []string{"fabrikam.example"}
	for _, who := range []Inviter{admin, {App: true}, {UserType: "Member"}} {
		if d := CanInvite(s, who, "lee@fabrikam.example"); d.Allowed || d.Rule != RuleBlockedDomain {
			t.Errorf("after the block, %+v invites Fabrikam: %+v", who, d)
		}
	}
	if d := DomainAllowed(s, "kim@fabrikam.example"); d.Allowed {
		t.Errorf("a pending Fabrikam redemption would pass: %+v", d)
	}
}

// Who may invite is decided before the domain: a refused inviter learns
// nothing about the domain list.
func TestInviterIsDecidedBeforeTheDomain(t *testing.T) {
	s := Settings{AllowInvitesFrom: "adminsAndGuestInviters", BlockedDomains: []string{"adatum.example"}}
	if d := CanInvite(s, Inviter{UserType: "Member"}, "megan@adatum.example"); d.Rule != RuleInvitesFrom {
		t.Errorf("refused by %s, want %s", d.Rule, RuleInvitesFrom)
	}
}

func TestInviteMember(t *testing.T) {
	want := []bool{true, true, true, false, false, false, false, false, false, true}
	for i, seat := range seats {
		if d := InviteMember(seat.who); d.Allowed != want[i] || d.Rule != RuleMemberInvite {
			t.Errorf("%s invites a member: %+v, want %v", seat.name, d, want[i])
		}
	}
}
