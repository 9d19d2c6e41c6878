package admin

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// The external collaboration settings page shows and edits, each through
// the service its Graph route calls and after that route's admission:
// authorizationPolicy's guest settings (directory), the B2B management
// policy's domain list, the email one-time passcode for guests and
// self-service sign-up (b2b.Policies).
const (
	authzPolicyRoute = "/v1.0/policies/authorizationPolicy"
	b2bPolicyRoute   = "/v1.0/policies/b2bManagementPolicies"
	emailOTPRoute    = "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/email"
	flowsRoute       = "/v1.0/policies/authenticationFlowsPolicy"
)

func (c *Console) registerCollab(mux *http.ServeMux) {
	mux.Handle("GET /admin/{tenant}/collaboration", c.session(c.collab))
	mux.Handle("POST /admin/{tenant}/collaboration/{section}", c.session(c.collabAction))
}

// collabPage is the page's data: each section's settings, whether the
// caller may read it (Read*) and change it (Write*).
type collabPage struct {
	AllowInvitesFrom, GuestRole string
	EmailSubscriptions          bool
	ReadAuthz, WriteAuthz       bool
	// DomainMode is "any", "allow" or "block"; Domains its list.
	DomainMode                string
	Domains                   []string
	ReadDomains, WriteDomains bool
	// EmailOTP is allowExternalIdToUseEmailOtp.
	EmailOTP                    string
	ReadEmailOTP, WriteEmailOTP bool
	SignUp                      bool
	ReadSignUp, WriteSignUp     bool
	InviteChoices               []string
	GuestRoles                  []guestRole
	OTPChoices                  []string
}

// guestRole is one of the three guest access levels: its role template id
// and the message naming it.
type guestRole struct{ ID, Key string }

var guestRoles = []guestRole{
	{directory.GuestRoleMember, "collab.guestrole.member"},
	{directory.GuestRoleDefault, "collab.guestrole.limited"},
	{directory.GuestRoleRestricted, "collab.guestrole.restricted"},
}

// GuestRoleKey names the policy's guest access level.
func (p collabPage) GuestRoleKey() string {
	for _, r := range p.GuestRoles {
		if r.ID == p.GuestRole {
			return r.Key
		}
	}
	return "collab.guestrole.limited"
}

// collabOffered: the page is an administrator's, for one Graph lets read
// the authorization policy.
func (c *Console) collabOffered(v *visit) bool {
	return c.cfg.Policies != nil && isAdmin(v.p) && c.admits(v, "GET", authzPolicyRoute)
}

func (c *Console) collab(v *visit) {
	if !c.collabOffered(v) {
		c.forbidden(v)
		return
	}
	c.collabView(v, http.StatusOK, "")
}

func (c *Console) collabView(v *visit, status int, problem string) {
	pg := collabPage{
		ReadAuthz: true, WriteAuthz: c.admits(v, "PATCH", authzPolicyRoute),
		ReadDomains: c.admits(v, "GET", b2bPolicyRoute), WriteDomains: c.admits(v, "PATCH", b2bPolicyRoute+"/x") && c.admits(v, "POST", b2bPolicyRoute),
		ReadEmailOTP: c.admits(v, "GET", emailOTPRoute), WriteEmailOTP: c.admits(v, "PATCH", emailOTPRoute),
		ReadSignUp: c.admits(v, "GET", flowsRoute), WriteSignUp: c.admits(v, "PATCH", flowsRoute),
		InviteChoices: []string{"none", "adminsAndGuestInviters", "adminsGuestInvitersAndAllMembers", "everyone"},
		GuestRoles:    guestRoles,
		OTPChoices:    []string{"default", "enabled", "disabled"},
	}
	ap, err := c.cfg.Directory.AuthorizationPolicy(v.ctx, v.tenantID)
	if err != nil {
		c.failPage(v.w, v.r, err)
		return
	}
	pg.AllowInvitesFrom, _ = ap.Doc["allowInvitesFrom"].(string)
	pg.GuestRole, _ = ap.Doc["guestUserRoleId"].(string)
	pg.EmailSubscriptions = ap.Doc["allowedToSignUpEmailBasedSubscriptions"] == true
	pol := c.cfg.Policies
	if pg.ReadDomains {
		pg.DomainMode = "any"
		if _, def, err := c.b2bPolicy(v); err != nil {
			c.failPage(v.w, v.r, err)
			return
		} else if lists := domainLists(def); lists != nil {
			for mode, key := range map[string]string{"allow": "AllowedDomains", "block": "BlockedDomains"} {
				if l, _ := lists[key].([]any); len(l) > 0 {
					pg.DomainMode = mode
					for _, d := range l {
						s, _ := d.(string)
						pg.Domains = append(pg.Domains, s)
					}
				}
			}
		}
	}
	if pg.ReadEmailOTP {
		o, err := pol.EmailMethodConfiguration(v.ctx, v.tenantID)
		if err != nil {
			c.failPage(v.w, v.r, err)
			return
		}
		pg.EmailOTP, _ = o.Doc["allowExternalIdToUseEmailOtp"].(string)
	}
	if pg.ReadSignUp {
		o, err := pol.AuthenticationFlowsPolicy(v.ctx, v.tenantID)
		if err != nil {
			c.failPage(v.w, v.r, err)
			return
		}
		ssu, _ := o.Doc["selfServiceSignUp"].(map[string]any)
		pg.SignUp = ssu["isEnabled"] == true
	}
	vw := c.layout(v, "collab.title")
	vw.Error = problem
	if v.r.URL.Query().Get("done") == "saved" && problem == "" {
		vw.Notice = vw.L.T("user.done.saved")
	}
	vw.Page = pg
	c.render(v.w, v.r, status, "collab", vw)
}

// b2bPolicy reads the tenant's B2B management policy (none or one): its id
// and its definition as a JSON object; "" and nil when there is none.
func (c *Console) b2bPolicy(v *visit) (string, map[string]any, error) {
	objs, err := c.cfg.Policies.B2BManagementPolicies(v.ctx, v.tenantID)
	if err != nil || len(objs) == 0 {
		return "", nil, err
	}
	list, _ := objs[0].Doc["definition"].([]any)
	var def map[string]any
	if len(list) == 1 {
		s, _ := list[0].(string)
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if err := dec.Decode(&def); err != nil {
			return "", nil, err
		}
	}
	return objs[0].ID, def, nil
}

// domainLists is a definition's InvitationsAllowedAndBlockedDomainsPolicy.
func domainLists(def map[string]any) map[string]any {
	policy, _ := def["B2BManagementPolicy"].(map[string]any)
	lists, _ := policy["InvitationsAllowedAndBlockedDomainsPolicy"].(map[string]any)
	return lists
}

// collabAction saves one section, through the service its Graph PATCH
// calls, after that PATCH's admission.
func (c *Console) collabAction(v *visit) {
	routes := map[string]string{"authorization": authzPolicyRoute, "domains": b2bPolicyRoute + "/x", "emailotp": emailOTPRoute, "signup": flowsRoute}
	section := v.r.PathValue("section")
	route, known := routes[section]
	if !known {
		c.errorPage(v.w, v.r, http.StatusNotFound, "error.request")
		return
	}
	if !c.collabOffered(v) || !c.admits(v, "PATCH", route) || (section == "domains" && !c.admits(v, "POST", b2bPolicyRoute)) {
		c.forbidden(v)
		return
	}
	f := v.r.PostForm
	pol := c.cfg.Policies
	var err error
	switch section {
	case "authorization":
		err = c.cfg.Directory.UpdateAuthorizationPolicy(v.ctx, v.tenantID, directory.Doc{
			"allowInvitesFrom": f.Get("allowInvitesFrom"), "guestUserRoleId": f.Get("guestUserRoleId"),
			"allowedToSignUpEmailBasedSubscriptions": f.Get("emailSubscriptions") == "on",
		})
	case "domains":
		err = c.saveDomains(v, f.Get("mode"), strings.FieldsFunc(f.Get("domains"), func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }))
	case "emailotp":
		err = pol.UpdateEmailMethodConfiguration(v.ctx, v.tenantID, directory.Doc{"allowExternalIdToUseEmailOtp": f.Get("emailOtp")})
	case "signup":
		err = pol.UpdateAuthenticationFlowsPolicy(v.ctx, v.tenantID, directory.Doc{"selfServiceSignUp": map[string]any{"isEnabled": f.Get("signUp") == "on"}})
	}
	if err != nil {
		c.refused(v, err, func(status int, problem string) { c.collabView(v, status, problem) })
		return
	}
	http.Redirect(v.w, v.r, "/admin/"+v.tenantID+"/collaboration?done=saved", http.StatusSeeOther)
}

// saveDomains sets the B2B management policy's domain list: invitations
// to any domain (no list), only to the listed ones (allow) or to all but
// them (block). The policy's other settings are kept as they are; the
// first list creates the policy, as POST does.
func (c *Console) saveDomains(v *visit, mode string, domains []string) error {
	key := map[string]string{"allow": "AllowedDomains", "block": "BlockedDomains"}[mode]
	if key == "" && mode != "any" {
		return usererr.New(usererr.Invalid, "'%s' is not a choice for the domain list.", mode)
	}
	if key != "" && len(domains) == 0 {
		return usererr.New(usererr.Invalid, "Name at least one domain, or allow invitations to any domain.")
	}
	id, def, err := c.b2bPolicy(v)
	if err != nil {
		return err
	}
	if def == nil {
		if key == "" {
			return nil
		}
		def = map[string]any{}
	}
	policy, _ := def["B2BManagementPolicy"].(map[string]any)
	if policy == nil {
		policy = map[string]any{}
		def["B2BManagementPolicy"] = policy
	}
	if key == "" {
		delete(policy, "InvitationsAllowedAndBlockedDomainsPolicy")
	} else {
		list := make([]any, 0, len(domains))
		for _, d := range domains {
			list = append(list, d)
		}
		policy["InvitationsAllowedAndBlockedDomainsPolicy"] = map[string]any{key: list}
	}
	b, err := json.Marshal(def)
	if err != nil {
		return err
	}
	body := directory.Doc{"definition": []any{string(b)}}
	if id == "" {
		_, err = c.cfg.Policies.CreateB2BManagementPolicy(v.ctx, v.tenantID, body)
		return err
	}
	return c.cfg.Policies.UpdateB2BManagementPolicy(v.ctx, v.tenantID, id, body)
}
