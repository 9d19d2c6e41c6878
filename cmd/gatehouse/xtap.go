package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/xtap"
)

// `gatehouse xtap` manages the signed-in administrator's tenant's
// cross-tenant access settings. Every command is a Graph request with the
// token `gatehouse login` keeps, never a store access, so the API's
// permission checks (Policy.ReadWrite.CrossTenantAccess and a Global or
// Security Administrator to change anything) and its audit log apply as
// they would to any other client.

const (
	xtapPath       = "/v1.0/policies/crossTenantAccessPolicy"
	xtapDefault    = xtapPath + "/default"
	xtapPartners   = xtapPath + "/partners"
	xtapEvaluate   = xtapPath + "/evaluate"
	tenantLookupBy = "/v1.0/tenantRelationships/findTenantInformationBy"
)

// graphError is a Graph error answer; its message is what the command
// prints, as Graph wrote it.
type graphError struct {
	Status  int
	Code    string
	Message string
}

func (e *graphError) Error() string {
	msg := e.Message + " (" + e.Code + ")"
	if e.Status == http.StatusForbidden {
		// The likeliest cause, for a CLI: a sign-in made before login asked
		// for the cross-tenant scopes, or a user without the role.
		msg += "; changing cross-tenant access settings takes a Global or Security Administrator, and a sign-in older than this version of gatehouse needs `gatehouse login` again"
	}
	return msg
}

// graphCaller calls Graph as the signed-in user.
type graphCaller struct {
	client *http.Client
	base   string
	token  string
}

func newGraphCaller(ctx context.Context) (*graphCaller, error) {
	c, err := loadCredentials()
	if err != nil {
		return nil, err
	}
	client, err := httpClient(c.CAFile)
	if err != nil {
		return nil, err
	}
	token, err := freshToken(ctx, client, &c)
	if err != nil {
		return nil, err
	}
	return &graphCaller{client: client, base: c.URL, token: token}, nil
}

// call sends body (nil: none) and decodes a 2xx answer into out (nil:
// ignored). A Graph error comes back as *graphError.
func (g *graphCaller) call(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, g.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+g.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(raw, &e) != nil || e.Error.Message == "" {
			return fmt.Errorf("%s %s: %s", method, path, resp.Status)
		}
		return &graphError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if r, ok := out.(*json.RawMessage); ok {
		*r = raw
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s answered what is not the expected JSON: %w", method, path, err)
	}
	return nil
}

// tenantInfo is Graph's tenantInformation.
type tenantInfo struct {
	TenantID          string `json:"tenantId"`
	DisplayName       string `json:"displayName"`
	DefaultDomainName string `json:"defaultDomainName"`
}

func (t tenantInfo) String() string {
	switch {
	case t.DisplayName != "" && t.DefaultDomainName != "":
		return fmt.Sprintf("%s (%s, %s)", t.DisplayName, t.DefaultDomainName, t.TenantID)
	case t.DisplayName != "":
		return fmt.Sprintf("%s (%s)", t.DisplayName, t.TenantID)
	}
	return t.TenantID
}

var domainPattern = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$`)

// tenantRef is a tenant named on the command line: by id, or by a domain
// to look up. Parsing it needs no request, so a bad one is refused first.
type tenantRef struct {
	id, domain string
}

func parseTenantRef(what, s string) (tenantRef, error) {
	s = strings.TrimSpace(s)
	switch {
	case directory.IsGUID(s):
		return tenantRef{id: strings.ToLower(s)}, nil
	case len(s) <= 253 && domainPattern.MatchString(s):
		return tenantRef{domain: strings.ToLower(s)}, nil
	}
	return tenantRef{}, fmt.Errorf("%s %q is neither a tenant id (a GUID) nor a domain name", what, s)
}

// resolve returns the tenant, looking a domain up in Graph; an id is taken
// as given (a partner may be a tenant the lookup does not know, in another
// deployment).
func (r tenantRef) resolve(ctx context.Context, g *graphCaller) (tenantInfo, error) {
	if r.id != "" {
		return tenantInfo{TenantID: r.id}, nil
	}
	return lookupTenant(ctx, g, r)
}

// resolved takes the signed-in administrator's credentials and resolves
// ref to its tenant.
func resolved(ctx context.Context, ref tenantRef) (*graphCaller, tenantInfo, error) {
	g, err := newGraphCaller(ctx)
	if err != nil {
		return nil, tenantInfo{}, err
	}
	t, err := ref.resolve(ctx, g)
	return g, t, err
}

func lookupTenant(ctx context.Context, g *graphCaller, r tenantRef) (tenantInfo, error) {
	var t tenantInfo
	err := g.call(ctx, http.MethodGet, lookupPath(r), nil, &t)
	return t, err
}

// lookupPath is the tenantRelationships function for r; the parsed
// domain or id holds no quote to double.
func lookupPath(r tenantRef) string {
	if r.id != "" {
		return tenantLookupBy + "TenantId(tenantId='" + r.id + "')"
	}
	return tenantLookupBy + "DomainName(domainName='" + r.domain + "')"
}

// printJSON writes a Graph answer indented, as `gatehouse api` does.
func printJSON(w io.Writer, raw []byte) error {
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, raw, "", "  "); err != nil {
		return err
	}
	pretty.WriteByte('\n')
	_, err := w.Write(pretty.Bytes())
	return err
}

func xtapCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "xtap",
		Short: "Cross-tenant access settings: who may come in from, and go out to, other tenants (Graph crossTenantAccessPolicy)",
		Long: `Cross-tenant access settings decide which users of other tenants may sign in to this tenant
(inbound) and which of this tenant's users may sign in to other tenants as guests (outbound), which
home-tenant claims (MFA, compliant or hybrid joined device) this tenant trusts, and whether
invitations are redeemed without a consent page. The default applies to every tenant without a
partner configuration; a partner configuration's unset settings inherit the default.

Every command calls the Graph API (/v1.0/policies/crossTenantAccessPolicy) as the user signed in
with ` + "`gatehouse login`" + `; changes need a Global or Security Administrator and are recorded in the
tenant's audit log.`,
	}
	cmd.AddCommand(xtapShowCmd(stdout), xtapDefaultCmd(stdout), xtapPartnerCmd(stdout), xtapEvaluateCmd(stdout), xtapLookupCmd(stdout))
	return cmd
}

func xtapShowCmd(stdout io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show the settings: the policy, the default and every partner configuration",
		Long: `Show the tenant's cross-tenant access settings: GET /v1.0/policies/crossTenantAccessPolicy, its
/default and its /partners. --json prints the three Graph answers as one object:
{"crossTenantAccessPolicy": …, "default": …, "partners": [ … ]}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			g, err := newGraphCaller(ctx)
			if err != nil {
				return err
			}
			var policy, def json.RawMessage
			if err := g.call(ctx, http.MethodGet, xtapPath, nil, &policy); err != nil {
				return err
			}
			if err := g.call(ctx, http.MethodGet, xtapDefault, nil, &def); err != nil {
				return err
			}
			partners, err := listPartners(ctx, g)
			if err != nil {
				return err
			}
			if asJSON {
				all, err := json.Marshal(map[string]any{"crossTenantAccessPolicy": policy, "default": def, "partners": partners})
				if err != nil {
					return err
				}
				return printJSON(stdout, all)
			}
			var p xtap.Policy
			var d xtap.Default
			if err := json.Unmarshal(policy, &p); err != nil {
				return err
			}
			if err := json.Unmarshal(def, &d); err != nil {
				return err
			}
			ps := make([]xtap.Partner, len(partners))
			for i, raw := range partners {
				if err := json.Unmarshal(raw, &ps[i]); err != nil {
					return err
				}
			}
			return writeSummary(stdout, p, d, ps, partnerNames(ctx, g, ps))
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print Graph's JSON")
	return cmd
}

// listPartners reads every partner configuration, following nextLinks.
func listPartners(ctx context.Context, g *graphCaller) ([]json.RawMessage, error) {
	var out []json.RawMessage
	for path := xtapPartners; path != ""; {
		var page struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if err := g.call(ctx, http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		path = ""
		if page.NextLink != "" {
			next, ok := strings.CutPrefix(page.NextLink, g.base)
			if !ok {
				return nil, fmt.Errorf("the partner list continues at %s, outside %s", page.NextLink, g.base)
			}
			path = next
		}
	}
	return out, nil
}

// partnerNames looks the partners' names up, a few at a time, for the
// summary; a partner the lookup does not know keeps just its id.
func partnerNames(ctx context.Context, g *graphCaller, ps []xtap.Partner) map[string]tenantInfo {
	names := make(map[string]tenantInfo, len(ps))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, p := range ps {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			t, err := lookupTenant(ctx, g, tenantRef{id: p.TenantID})
			if err != nil {
				return
			}
			mu.Lock()
			names[p.TenantID] = t
			mu.Unlock()
		})
	}
	wg.Wait()
	return names
}

func writeSummary(w io.Writer, p xtap.Policy, d xtap.Default, ps []xtap.Partner, names map[string]tenantInfo) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	endpoints := "none (this deployment only)"
	if len(p.AllowedCloudEndpoints) > 0 {
		endpoints = strings.Join(p.AllowedCloudEndpoints, ", ")
	}
	fmt.Fprintf(tw, "Allowed cloud endpoints: %s\n\n", endpoints)
	writeDefault(tw, d)
	if len(ps) == 0 {
		fmt.Fprintln(tw, "\nNo partner configurations: every other tenant gets the default.")
	}
	for _, pt := range ps {
		fmt.Fprintln(tw)
		info, ok := names[pt.TenantID]
		if !ok {
			info = tenantInfo{TenantID: pt.TenantID}
		}
		writePartner(tw, info, pt, d)
	}
	return tw.Flush()
}

func writeDefault(w io.Writer, d xtap.Default) {
	state := "customized"
	if d.IsServiceDefault {
		state = "the system default"
	}
	fmt.Fprintf(w, "Default (%s)\n", state)
	writeB2B(w, "b2bCollaborationInbound", d.B2BCollaborationInbound, "")
	writeB2B(w, "b2bCollaborationOutbound", d.B2BCollaborationOutbound, "")
	writeB2B(w, "b2bDirectConnectInbound", d.B2BDirectConnectInbound, "")
	writeB2B(w, "b2bDirectConnectOutbound", d.B2BDirectConnectOutbound, "")
	fmt.Fprintf(w, "  inboundTrust\t%s\n", trustText(d.InboundTrust))
}

// writePartner writes a partner configuration; d is the default its unset
// settings inherit, shown so nobody has to look it up.
func writePartner(w io.Writer, t tenantInfo, p xtap.Partner, d xtap.Default) {
	fmt.Fprintf(w, "Partner %s\n", t)
	writeB2B(w, "b2bCollaborationInbound", p.B2BCollaborationInbound, "inherits the default")
	writeB2B(w, "b2bCollaborationOutbound", p.B2BCollaborationOutbound, "inherits the default")
	writeB2B(w, "b2bDirectConnectInbound", p.B2BDirectConnectInbound, "inherits the default")
	writeB2B(w, "b2bDirectConnectOutbound", p.B2BDirectConnectOutbound, "inherits the default")
	if p.InboundTrust == nil {
		fmt.Fprintf(w, "  inboundTrust\tinherits the default: %s\n", trustText(d.InboundTrust))
	} else {
		fmt.Fprintf(w, "  inboundTrust\t%s\n", trustText(p.InboundTrust))
	}
	a := p.AutomaticUserConsentSettings
	fmt.Fprintf(w, "  automatic redemption\tinbound %s, outbound %s\n", onOff(a.InboundAllowed), onOff(a.OutboundAllowed))
	if p.IsServiceProvider != nil && *p.IsServiceProvider {
		fmt.Fprintln(w, "  isServiceProvider\tyes")
	}
}

func onOff(b *bool) string {
	switch {
	case b == nil:
		return "off (inherited)"
	case *b:
		return "on"
	}
	return "off"
}

func trustText(t *xtap.InboundTrust) string {
	if t == nil {
		return "nothing trusted"
	}
	yes := func(b bool) string {
		if b {
			return "trusted"
		}
		return "not trusted"
	}
	return fmt.Sprintf("MFA %s, compliant device %s, hybrid joined device %s",
		yes(t.IsMfaAccepted), yes(t.IsCompliantDeviceAccepted), yes(t.IsHybridAzureADJoinedDeviceAccepted))
}

// writeB2B writes a B2B setting as two rows, users and groups then
// applications; unset is what a nil setting means.
func writeB2B(w io.Writer, name string, s *xtap.B2BSetting, unset string) {
	if s == nil {
		fmt.Fprintf(w, "  %s\t%s\n", name, unset)
		return
	}
	fmt.Fprintf(w, "  %s\tusers and groups\t%s\n", name, sideText(s.UsersAndGroups))
	fmt.Fprintf(w, "  \tapplications\t%s\n", sideText(s.Applications))
}

func sideText(c *xtap.TargetConfiguration) string {
	if c == nil {
		return "not restricted"
	}
	var ts []string
	for _, t := range c.Targets {
		switch {
		case t.Target == xtap.AllUsers:
			ts = append(ts, "all users")
		case t.Target == xtap.AllApplications:
			ts = append(ts, "all applications")
		case t.Target == xtap.Office365:
			ts = append(ts, "Office365")
		default:
			ts = append(ts, t.TargetType+" "+t.Target)
		}
	}
	if len(ts) == 0 {
		ts = []string{"no targets"}
	}
	return c.AccessType + ": " + strings.Join(ts, ", ")
}

// directionFlags are one direction's B2B collaboration flags.
type directionFlags struct {
	name                string // inbound or outbound
	access              string
	users, groups, apps []string
}

func (f *directionFlags) add(fs *pflag.FlagSet) {
	whose := map[string][2]string{"inbound": {"the other tenant's", "this tenant's"}, "outbound": {"this tenant's", "the other tenant's"}}[f.name]
	fs.StringVar(&f.access, f.name, "", "B2B collaboration "+f.name+": allow or block (for all users and applications unless the next flags narrow it)")
	fs.StringSliceVar(&f.users, f.name+"-users", nil, "with --"+f.name+": all, or "+whose[0]+" user object ids (comma-separated)")
	fs.StringSliceVar(&f.groups, f.name+"-groups", nil, "with --"+f.name+": "+whose[0]+" group object ids (comma-separated)")
	fs.StringSliceVar(&f.apps, f.name+"-apps", nil, "with --"+f.name+": all, or "+whose[1]+" application (client) ids (comma-separated)")
}

func (f *directionFlags) given(fs *pflag.FlagSet) bool {
	for _, n := range []string{"", "-users", "-groups", "-apps"} {
		if fs.Changed(f.name + n) {
			return true
		}
	}
	return false
}

// setting validates the flags and returns the B2B setting they describe.
// An allow with targets admits only them; a block with targets refuses
// only them (with both users and apps listed: those users on those apps),
// as Graph's targeting rules have it.
func (f *directionFlags) setting(fs *pflag.FlagSet) (*xtap.B2BSetting, error) {
	if !f.given(fs) {
		return nil, nil
	}
	var access string
	switch strings.ToLower(strings.TrimSpace(f.access)) {
	case "allow", "allowed":
		access = xtap.Allowed
	case "block", "blocked":
		access = xtap.Blocked
	case "":
		return nil, fmt.Errorf("--%s-users, --%s-groups and --%s-apps go with --%s allow or --%s block", f.name, f.name, f.name, f.name, f.name)
	default:
		return nil, fmt.Errorf("--%s is allow or block, not %q", f.name, f.access)
	}
	ids := func(flag string, vals []string, allowAll bool) (all bool, out []string, err error) {
		for _, v := range vals {
			v = strings.TrimSpace(v)
			switch {
			case allowAll && strings.EqualFold(v, "all"):
				all = true
			case directory.IsGUID(v):
				out = append(out, strings.ToLower(v))
			default:
				want := "object ids (GUIDs)"
				if allowAll {
					want = "all or " + want
				}
				return false, nil, fmt.Errorf("--%s takes %s, not %q", flag, want, v)
			}
		}
		if all && len(out) > 0 {
			return false, nil, fmt.Errorf("--%s: all already covers the ids given with it", flag)
		}
		if fs.Changed(flag) && !all && len(out) == 0 {
			return false, nil, fmt.Errorf("--%s is empty", flag)
		}
		return all, out, nil
	}
	allUsers, users, err := ids(f.name+"-users", f.users, true)
	if err != nil {
		return nil, err
	}
	_, groups, err := ids(f.name+"-groups", f.groups, false)
	if err != nil {
		return nil, err
	}
	if allUsers && len(groups) > 0 {
		return nil, fmt.Errorf("--%s-users all already covers every group; leave out --%s-groups", f.name, f.name)
	}
	allApps, apps, err := ids(f.name+"-apps", f.apps, true)
	if err != nil {
		return nil, err
	}
	ug := &xtap.TargetConfiguration{AccessType: access}
	for _, u := range users {
		ug.Targets = append(ug.Targets, xtap.Target{Target: u, TargetType: xtap.TargetTypeUser})
	}
	for _, g := range groups {
		ug.Targets = append(ug.Targets, xtap.Target{Target: g, TargetType: xtap.TargetTypeGroup})
	}
	if allUsers || len(ug.Targets) == 0 {
		ug.Targets = []xtap.Target{{Target: xtap.AllUsers, TargetType: xtap.TargetTypeUser}}
	}
	ap := &xtap.TargetConfiguration{AccessType: access}
	for _, a := range apps {
		ap.Targets = append(ap.Targets, xtap.Target{Target: a, TargetType: xtap.TargetTypeApplication})
	}
	if allApps || len(ap.Targets) == 0 {
		ap.Targets = []xtap.Target{{Target: xtap.AllApplications, TargetType: xtap.TargetTypeApplication}}
	}
	return &xtap.B2BSetting{UsersAndGroups: ug, Applications: ap}, nil
}

// settingFlags are the flags of `default set`, `partner add` and
// `partner set`.
type settingFlags struct {
	in, out                               directionFlags
	trustMFA, trustCompliant, trustHybrid bool
	autoIn, autoOut                       bool
	inherit                               []string
	body                                  string
	partner, change                       bool // partner flags; set (not add)
}

const (
	flagTrustMFA       = "trust-mfa"
	flagTrustCompliant = "trust-compliant-device"
	flagTrustHybrid    = "trust-hybrid-joined-device"
	flagAutoIn         = "auto-redeem-inbound"
	flagAutoOut        = "auto-redeem-outbound"
)

// inheritable are what --inherit resets to the default, by flag name.
var inheritable = map[string]string{
	"inbound":      "b2bCollaborationInbound",
	"outbound":     "b2bCollaborationOutbound",
	"trust":        "inboundTrust",
	"auto-redeem":  "automaticUserConsentSettings",
	"direct-in":    "b2bDirectConnectInbound",
	"direct-out":   "b2bDirectConnectOutbound",
	"restrictions": "tenantRestrictions",
}

func (f *settingFlags) add(fs *pflag.FlagSet) {
	f.in.name, f.out.name = "inbound", "outbound"
	f.in.add(fs)
	f.out.add(fs)
	fs.BoolVar(&f.trustMFA, flagTrustMFA, false, "accept the MFA the user did at home (--trust-mfa=false: challenge them here)")
	fs.BoolVar(&f.trustCompliant, flagTrustCompliant, false, "accept the home tenant's compliant device claim")
	fs.BoolVar(&f.trustHybrid, flagTrustHybrid, false, "accept the home tenant's hybrid joined device claim")
	if f.partner {
		fs.BoolVar(&f.autoIn, flagAutoIn, false, "redeem this partner's users' invitations without a consent page (also needs the partner's outbound setting)")
		fs.BoolVar(&f.autoOut, flagAutoOut, false, "let this tenant's users redeem the partner's invitations without a consent page (also needs the partner's inbound setting)")
	}
	if f.partner && f.change {
		fs.StringSliceVar(&f.inherit, "inherit", nil, "settings to give back to the default: inbound, outbound, trust, auto-redeem, direct-in, direct-out, restrictions")
	}
	fs.StringVar(&f.body, "body", "", "a JSON file (- for standard input) to send as the request body instead of the flags, for settings the flags do not cover")
}

// request is a validated change: a raw body, or properties to set (nil:
// back to the default) with inbound trust and automatic redemption changed
// member by member over what is in force.
type request struct {
	body  []byte
	props map[string]any
	trust map[string]bool
	auto  map[string]bool
}

func (r request) empty() bool {
	return r.body == nil && len(r.props) == 0 && len(r.trust) == 0 && len(r.auto) == 0
}

// parse validates every flag, and reads --body, before any request.
func (f *settingFlags) parse(fs *pflag.FlagSet, stdin io.Reader) (request, error) {
	var r request
	changed := false
	fs.Visit(func(fl *pflag.Flag) { changed = changed || fl.Name != "body" })
	if fs.Changed("body") {
		if changed {
			return r, errors.New("--body replaces the other setting flags; give one or the other")
		}
		var raw []byte
		var err error
		if f.body == "-" {
			raw, err = io.ReadAll(io.LimitReader(stdin, 1<<20))
		} else {
			raw, err = os.ReadFile(f.body)
		}
		if err != nil {
			return r, fmt.Errorf("--body: %w", err)
		}
		var o map[string]json.RawMessage
		if err := json.Unmarshal(raw, &o); err != nil || o == nil {
			return r, fmt.Errorf("--body %s is not a JSON object", f.body)
		}
		r.body = raw
		return r, nil
	}
	r.props = map[string]any{}
	for _, d := range []*directionFlags{&f.in, &f.out} {
		s, err := d.setting(fs)
		if err != nil {
			return r, err
		}
		if s != nil {
			r.props["b2bCollaboration"+strings.ToUpper(d.name[:1])+d.name[1:]] = s
		}
	}
	r.trust = map[string]bool{}
	for flag, member := range map[string]string{flagTrustMFA: "isMfaAccepted", flagTrustCompliant: "isCompliantDeviceAccepted", flagTrustHybrid: "isHybridAzureADJoinedDeviceAccepted"} {
		if fs.Changed(flag) {
			v, _ := fs.GetBool(flag)
			r.trust[member] = v
		}
	}
	r.auto = map[string]bool{}
	for flag, member := range map[string]string{flagAutoIn: "inboundAllowed", flagAutoOut: "outboundAllowed"} {
		if fs.Lookup(flag) != nil && fs.Changed(flag) {
			v, _ := fs.GetBool(flag)
			r.auto[member] = v
		}
	}
	for _, name := range f.inherit {
		prop, ok := inheritable[strings.TrimSpace(name)]
		if !ok {
			return r, fmt.Errorf("--inherit takes inbound, outbound, trust, auto-redeem, direct-in, direct-out or restrictions, not %q", name)
		}
		_, set := r.props[prop]
		if set || (prop == "inboundTrust" && len(r.trust) > 0) || (prop == "automaticUserConsentSettings" && len(r.auto) > 0) {
			return r, fmt.Errorf("--inherit %s and flags that set it contradict each other", name)
		}
		r.props[prop] = nil
	}
	return r, nil
}

// bodyOverDefault is r's body over the default's inbound trust: what a
// change of the default, or a new partner, starts from.
func (r request) bodyOverDefault(ctx context.Context, g *graphCaller) ([]byte, error) {
	var trust *xtap.InboundTrust
	if len(r.trust) > 0 {
		d, err := readDefault(ctx, g)
		if err != nil {
			return nil, err
		}
		trust = d.InboundTrust
	}
	return r.patchBody(trust, xtap.InboundOutbound{})
}

// patchBody is the PATCH (or POST) body of r over the settings in force:
// inbound trust and automatic redemption are whole objects in Graph, so the
// members not named keep their current (or inherited) value.
func (r request) patchBody(trust *xtap.InboundTrust, auto xtap.InboundOutbound) ([]byte, error) {
	if r.body != nil {
		return r.body, nil
	}
	props := make(map[string]any, len(r.props)+2)
	for k, v := range r.props {
		props[k] = v
	}
	if len(r.trust) > 0 {
		t := xtap.InboundTrust{}
		if trust != nil {
			t = *trust
		}
		for member, v := range r.trust {
			switch member {
			case "isMfaAccepted":
				t.IsMfaAccepted = v
			case "isCompliantDeviceAccepted":
				t.IsCompliantDeviceAccepted = v
			case "isHybridAzureADJoinedDeviceAccepted":
				t.IsHybridAzureADJoinedDeviceAccepted = v
			}
		}
		props["inboundTrust"] = t
	}
	if len(r.auto) > 0 {
		for member, v := range r.auto {
			switch member {
			case "inboundAllowed":
				auto.InboundAllowed = &v
			case "outboundAllowed":
				auto.OutboundAllowed = &v
			}
		}
		props["automaticUserConsentSettings"] = auto
	}
	return json.Marshal(props)
}

func readDefault(ctx context.Context, g *graphCaller) (xtap.Default, error) {
	var d xtap.Default
	return d, g.call(ctx, http.MethodGet, xtapDefault, nil, &d)
}

func xtapDefaultCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "default",
		Short: "The default settings, for every tenant without a partner configuration",
	}
	var asJSON bool
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the default settings (GET /v1.0/policies/crossTenantAccessPolicy/default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			g, err := newGraphCaller(ctx)
			if err != nil {
				return err
			}
			var raw json.RawMessage
			if err := g.call(ctx, http.MethodGet, xtapDefault, nil, &raw); err != nil {
				return err
			}
			if asJSON {
				return printJSON(stdout, raw)
			}
			var d xtap.Default
			if err := json.Unmarshal(raw, &d); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			writeDefault(tw, d)
			return tw.Flush()
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print Graph's JSON")

	sf := settingFlags{}
	set := &cobra.Command{
		Use:   "set",
		Short: "Change the default settings (PATCH /v1.0/policies/crossTenantAccessPolicy/default)",
		Long: `Change the default settings (PATCH /v1.0/policies/crossTenantAccessPolicy/default).

--inbound allow|block and --outbound allow|block set B2B collaboration for all users and all
applications; --inbound-users, --inbound-groups and --inbound-apps (and the outbound ones) narrow
it to those: an allow admits only them, a block refuses only them. Inbound users and groups are
the other tenants' object ids and inbound applications this tenant's; outbound, the reverse.
--trust-… change one trusted claim and keep the others. Anything else (B2B direct connect, tenant
restrictions, mixed allow and block): --body with Graph's JSON.`,
		Example: `  gatehouse xtap default set --inbound block
  gatehouse xtap default set --outbound allow --outbound-groups 5d3c…-…
  gatehouse xtap default set --trust-mfa
  gatehouse xtap default set --body default.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := sf.parse(cmd.Flags(), cmd.InOrStdin())
			if err != nil {
				return err
			}
			if r.empty() {
				return errors.New("nothing to change: give --inbound, --outbound, --trust-mfa, --trust-compliant-device, --trust-hybrid-joined-device or --body")
			}
			ctx := cmd.Context()
			g, err := newGraphCaller(ctx)
			if err != nil {
				return err
			}
			body, err := r.bodyOverDefault(ctx, g)
			if err != nil {
				return err
			}
			if err := g.call(ctx, http.MethodPatch, xtapDefault, body, nil); err != nil {
				return err
			}
			d, err := readDefault(ctx, g)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			writeDefault(tw, d)
			return tw.Flush()
		},
	}
	sf.add(set.Flags())

	reset := &cobra.Command{
		Use:   "reset",
		Short: "Put the default back to the system default (POST …/default/resetToSystemDefault)",
		Long: `Put the default settings back to the system default: B2B collaboration allowed in and out for
everyone, B2B direct connect blocked, no home-tenant claim trusted
(POST /v1.0/policies/crossTenantAccessPolicy/default/resetToSystemDefault). Partner
configurations are kept.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			g, err := newGraphCaller(ctx)
			if err != nil {
				return err
			}
			if err := g.call(ctx, http.MethodPost, xtapDefault+"/resetToSystemDefault", nil, nil); err != nil {
				return err
			}
			_, err = fmt.Fprintln(stdout, "The default settings are the system default again; partner configurations are unchanged.")
			return err
		},
	}
	cmd.AddCommand(show, set, reset)
	return cmd
}

func partnerPath(id string) string { return xtapPartners + "/" + id }

func readPartner(ctx context.Context, g *graphCaller, id string) (xtap.Partner, json.RawMessage, error) {
	var raw json.RawMessage
	var p xtap.Partner
	if err := g.call(ctx, http.MethodGet, partnerPath(id), nil, &raw); err != nil {
		return p, nil, err
	}
	return p, raw, json.Unmarshal(raw, &p)
}

// showPartner prints a partner configuration with the default it inherits.
func showPartner(ctx context.Context, g *graphCaller, w io.Writer, t tenantInfo, p xtap.Partner) error {
	d, err := readDefault(ctx, g)
	if err != nil {
		return err
	}
	if t.DisplayName == "" {
		if named, err := lookupTenant(ctx, g, tenantRef{id: p.TenantID}); err == nil {
			t = named
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	writePartner(tw, t, p, d)
	return tw.Flush()
}

const partnerArg = "<tenantId|domain>"

func xtapPartnerCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "partner",
		Short: "Partner configurations: settings for one other tenant, which override the default",
	}
	// target parses the command's tenant argument, before any request.
	target := func(args []string) (tenantRef, error) { return parseTenantRef("the partner", args[0]) }

	addFlags := settingFlags{partner: true}
	add := &cobra.Command{
		Use:   "add " + partnerArg,
		Short: "Add a partner configuration (POST /v1.0/policies/crossTenantAccessPolicy/partners)",
		Long: `Add a partner configuration for another tenant, named by its tenant id or one of its verified
domains (looked up with GET /v1.0/tenantRelationships/findTenantInformationByDomainName). Settings
not given inherit the default. The flags are those of ` + "`gatehouse xtap default set`" + `, plus automatic
redemption, which only a partner configuration can turn on.`,
		Example: `  gatehouse xtap partner add fabrikam.example
  gatehouse xtap partner add fabrikam.example --outbound block
  gatehouse xtap partner add 7b9e2c44-1a3f-4d5e-8c6b-0f1e2d3c4b5a --inbound allow --inbound-groups 0c5f…-… --trust-mfa
  gatehouse xtap partner add fabrikam.example --auto-redeem-inbound --auto-redeem-outbound`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := target(args)
			if err != nil {
				return err
			}
			r, err := addFlags.parse(cmd.Flags(), cmd.InOrStdin())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			g, t, err := resolved(ctx, ref)
			if err != nil {
				return err
			}
			body, err := r.bodyOverDefault(ctx, g)
			if err != nil {
				return err
			}
			var o map[string]json.RawMessage
			if err := json.Unmarshal(body, &o); err != nil {
				return err
			}
			if id, ok := o["tenantId"]; ok {
				var s string
				if json.Unmarshal(id, &s) != nil || !strings.EqualFold(strings.TrimSpace(s), t.TenantID) {
					return fmt.Errorf("--body names tenantId %s, but the partner is %s", id, t.TenantID)
				}
			}
			o["tenantId"], _ = json.Marshal(t.TenantID)
			if body, err = json.Marshal(o); err != nil {
				return err
			}
			var p xtap.Partner
			if err := g.call(ctx, http.MethodPost, xtapPartners, body, &p); err != nil {
				return err
			}
			if t.DisplayName == "" {
				if named, err := lookupTenant(ctx, g, tenantRef{id: t.TenantID}); err == nil {
					t = named
				}
			}
			if _, err := fmt.Fprintf(stdout, "Added a partner configuration for %s.\n", t); err != nil {
				return err
			}
			return showPartner(ctx, g, stdout, t, p)
		},
	}
	addFlags.add(add.Flags())

	setFlags := settingFlags{partner: true, change: true}
	set := &cobra.Command{
		Use:   "set " + partnerArg,
		Short: "Change a partner configuration (PATCH …/partners/{tenantId})",
		Long: `Change a partner configuration (PATCH /v1.0/policies/crossTenantAccessPolicy/partners/{tenantId}).
The flags are those of ` + "`gatehouse xtap partner add`" + `; --inherit gives settings back to the default.
--trust-… and --auto-redeem-… change one member and keep the others as they are in force.`,
		Example: `  gatehouse xtap partner set fabrikam.example --outbound allow
  gatehouse xtap partner set fabrikam.example --inbound block --inbound-apps 1f2e…-…
  gatehouse xtap partner set fabrikam.example --inherit outbound,trust
  gatehouse xtap partner set fabrikam.example --auto-redeem-inbound=false`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := target(args)
			if err != nil {
				return err
			}
			r, err := setFlags.parse(cmd.Flags(), cmd.InOrStdin())
			if err != nil {
				return err
			}
			if r.empty() {
				return errors.New("nothing to change: give --inbound, --outbound, --trust-…, --auto-redeem-…, --inherit or --body")
			}
			ctx := cmd.Context()
			g, t, err := resolved(ctx, ref)
			if err != nil {
				return err
			}
			var trust *xtap.InboundTrust
			var auto xtap.InboundOutbound
			if len(r.trust) > 0 || len(r.auto) > 0 {
				cur, _, err := readPartner(ctx, g, t.TenantID)
				if err != nil {
					return err
				}
				trust, auto = cur.InboundTrust, cur.AutomaticUserConsentSettings
				if trust == nil && len(r.trust) > 0 {
					d, err := readDefault(ctx, g)
					if err != nil {
						return err
					}
					trust = d.InboundTrust
				}
			}
			body, err := r.patchBody(trust, auto)
			if err != nil {
				return err
			}
			if err := g.call(ctx, http.MethodPatch, partnerPath(t.TenantID), body, nil); err != nil {
				return err
			}
			p, _, err := readPartner(ctx, g, t.TenantID)
			if err != nil {
				return err
			}
			return showPartner(ctx, g, stdout, t, p)
		},
	}
	setFlags.add(set.Flags())

	var asJSON bool
	show := &cobra.Command{
		Use:   "show " + partnerArg,
		Short: "Show a partner configuration (GET …/partners/{tenantId})",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := target(args)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			g, t, err := resolved(ctx, ref)
			if err != nil {
				return err
			}
			p, raw, err := readPartner(ctx, g, t.TenantID)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(stdout, raw)
			}
			return showPartner(ctx, g, stdout, t, p)
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print Graph's JSON")

	remove := &cobra.Command{
		Use:     "remove " + partnerArg,
		Aliases: []string{"delete"},
		Short:   "Remove a partner configuration, so the tenant gets the default (DELETE …/partners/{tenantId})",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := target(args)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			g, t, err := resolved(ctx, ref)
			if err != nil {
				return err
			}
			if err := g.call(ctx, http.MethodDelete, partnerPath(t.TenantID), nil, nil); err != nil {
				return err
			}
			_, err = fmt.Fprintf(stdout, "Removed the partner configuration for %s; the default applies to it now.\n", t)
			return err
		},
	}
	cmd.AddCommand(add, set, show, remove)
	return cmd
}

// whatIfAnswer is the evaluate response.
type whatIfAnswer struct {
	Decision      string  `json:"decision"`
	DecidingLayer *string `json:"decidingLayer"`
	ErrorCode     *int    `json:"errorCode"`
	Layers        []struct {
		Layer, Decision, Rule, Reason string
	} `json:"layers"`
}

func xtapEvaluateCmd(stdout io.Writer) *cobra.Command {
	var home, user, email, app, accessType string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "evaluate",
		Short: "What if: would a user of another tenant get in, and which setting decides (POST …/evaluate)",
		Long: `Ask what the cross-tenant access settings decide for a user of another (home) tenant signing in to
this tenant, with the engine that enforces them: each layer's decision, the rule that decided and why
(POST /v1.0/policies/crossTenantAccessPolicy/evaluate, Gatehouse's extension of Graph). A block by
the home tenant's outbound settings is error 500212, by this tenant's inbound settings 500213.

Name the user by --user (their object id in the home tenant, with --home) or by --email (someone
not invited yet: the invitation settings are asked too; --home is found from the address's domain
when left out).`,
		Example: `  gatehouse xtap evaluate --home fabrikam.example --user 0c5f2a8e-…
  gatehouse xtap evaluate --email ana@fabrikam.example --app 1f2e…-…`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ref tenantRef
			var err error
			switch {
			case user == "" && email == "":
				return errors.New("give --user (an object id in the home tenant) or --email")
			case user != "" && email != "":
				return errors.New("give --user or --email, not both")
			case user != "" && !directory.IsGUID(user):
				return fmt.Errorf("--user is the user's object id in the home tenant (a GUID), not %q", user)
			case user != "" && home == "":
				return errors.New("--user needs --home, the user's home tenant (its id or a domain)")
			case email != "" && (!strings.Contains(email, "@") || strings.ContainsAny(email, " \t")):
				return fmt.Errorf("--email is an email address, not %q", email)
			case app != "" && !directory.IsGUID(app):
				return fmt.Errorf("--app is an application (client) id, a GUID, not %q", app)
			}
			at, err := xtap.ParseAccessType(accessType)
			if err != nil {
				return fmt.Errorf("--access-type is b2bCollaboration or b2bDirectConnect, not %q", accessType)
			}
			if home != "" {
				if ref, err = parseTenantRef("--home", home); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			g, err := newGraphCaller(ctx)
			if err != nil {
				return err
			}
			q := map[string]string{"accessType": string(at)}
			if home != "" {
				t, err := ref.resolve(ctx, g)
				if err != nil {
					return err
				}
				q["homeTenantId"] = t.TenantID
			}
			if user != "" {
				q["userId"] = strings.ToLower(user)
			} else {
				q["invitedUserEmailAddress"] = email
			}
			if app != "" {
				q["appId"] = strings.ToLower(app)
			}
			body, err := json.Marshal(q)
			if err != nil {
				return err
			}
			var raw json.RawMessage
			if err := g.call(ctx, http.MethodPost, xtapEvaluate, body, &raw); err != nil {
				return err
			}
			if asJSON {
				return printJSON(stdout, raw)
			}
			var a whatIfAnswer
			if err := json.Unmarshal(raw, &a); err != nil {
				return err
			}
			return writeWhatIf(stdout, a)
		},
	}
	cmd.Flags().StringVar(&home, "home", "", "the user's home tenant: its id or one of its domains")
	cmd.Flags().StringVar(&user, "user", "", "the user's object id in the home tenant")
	cmd.Flags().StringVar(&email, "email", "", "the address of a user to invite, instead of --user")
	cmd.Flags().StringVar(&app, "app", "", "the application (client) id signed in to (default: none, as at redemption)")
	cmd.Flags().StringVar(&accessType, "access-type", string(xtap.B2BCollaboration), "b2bCollaboration or b2bDirectConnect")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print Graph's JSON")
	return cmd
}

// writeWhatIf writes the decision and a table of the layers: layer,
// decision and rule on one row (a rule naming both tenants' settings on
// more), and the reason, which is a sentence or three, wrapped beneath it.
func writeWhatIf(w io.Writer, a whatIfAnswer) error {
	var b strings.Builder
	b.WriteString("Decision: " + a.Decision)
	if a.DecidingLayer != nil {
		b.WriteString(", decided by " + *a.DecidingLayer)
	}
	if a.ErrorCode != nil {
		fmt.Fprintf(&b, " (error AADSTS%d)", *a.ErrorCode)
	}
	b.WriteString("\n\n")
	lw, dw := len("LAYER"), len("DECISION")
	for _, l := range a.Layers {
		lw, dw = max(lw, len(l.Layer)), max(dw, len(l.Decision))
	}
	row := func(layer, decision, rule string) {
		fmt.Fprintf(&b, "%-*s  %-*s  %s\n", lw, layer, dw, decision, rule)
	}
	row("LAYER", "DECISION", "RULE")
	for _, l := range a.Layers {
		rules := strings.Split(dash(l.Rule), "; ")
		row(l.Layer, dash(l.Decision), rules[0])
		for _, r := range rules[1:] {
			row("", "", r)
		}
		for _, line := range wrap(l.Reason, 96) {
			b.WriteString("    " + line + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// wrap breaks s into lines of at most width bytes at spaces (a longer word
// gets a line of its own).
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func xtapLookupCmd(stdout io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "lookup <domain|tenantId>",
		Short: "Find a tenant by one of its verified domains or its id (GET /v1.0/tenantRelationships/findTenantInformationBy…)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseTenantRef("the tenant", args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			g, err := newGraphCaller(ctx)
			if err != nil {
				return err
			}
			var raw json.RawMessage
			if err := g.call(ctx, http.MethodGet, lookupPath(ref), nil, &raw); err != nil {
				return err
			}
			if asJSON {
				return printJSON(stdout, raw)
			}
			var t tenantInfo
			if err := json.Unmarshal(raw, &t); err != nil {
				return err
			}
			_, err = fmt.Fprintf(stdout, "Tenant id       %s\nDisplay name    %s\nDefault domain  %s\n", t.TenantID, t.DisplayName, t.DefaultDomainName)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print Graph's JSON")
	return cmd
}
