package b2b

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// Policies keeps the external collaboration policies beside
// authorizationPolicy: the B2B management policy (Graph beta's stsPolicy
// shape, served at /v1.0 as Gatehouse's documented extension), the email
// one-time passcode method and the authentication flows policy. Each
// change is one audited transaction of the directory.
type Policies struct {
	dir   *directory.Service
	newID func() string
}

// NewPolicies returns the policies kept in dir.
func NewPolicies(dir *directory.Service) *Policies {
	return &Policies{dir: dir, newID: uuid.NewString}
}

// MaxDefinition is the longest B2B management policy definition, in
// characters, as Entra limits it (the domain list and every other setting).
const MaxDefinition = 25000

// b2bPolicyName is the policy's default display name and the target the
// audit log names, as Entra's does.
const b2bPolicyName = "B2BManagementPolicy"

// body is a request body whose property names were matched to the
// declared ones without regard to case, as Graph matches them.
type body map[string]any

// readBody checks a write body against the declared (writable) properties
// and the Graph type it may name in @odata.type, with or without '#'.
func readBody(in directory.Doc, resource, odataType string, declared ...string) (body, error) {
	out := body{}
	for name, v := range in {
		if name == "@odata.type" {
			t, _ := v.(string)
			if strings.TrimPrefix(t, "#") != "microsoft.graph."+odataType {
				return nil, usererr.New(usererr.Invalid, "A type named '%s' could not be resolved; this resource is 'microsoft.graph.%s'.", t, odataType)
			}
			continue
		}
		i := slices.IndexFunc(declared, func(d string) bool { return strings.EqualFold(d, name) })
		if i < 0 {
			return nil, usererr.New(usererr.Invalid, "Property '%s' does not exist as a declared property or extension property of resource '%s' or cannot be written.", name, resource)
		}
		out[declared[i]] = v
	}
	return out, nil
}

func invalid(name, resource string) error {
	return usererr.New(usererr.Invalid, "Invalid value specified for property '%s' of resource '%s'.", name, resource)
}

// B2B management policies.

// B2BManagementPolicies lists the tenant's B2B management policies (none
// or one).
func (p *Policies) B2BManagementPolicies(ctx context.Context, tenantID string) ([]directory.Object, error) {
	var out []directory.Object
	err := p.dir.View(ctx, func(tx store.Tx) error {
		if err := directory.MayReadPolicies(ctx, tx, tenantID); err != nil {
			return err
		}
		var err error
		out, err = directory.ReadObjects(ctx, tx, tenantID, KindB2BManagementPolicy)
		return err
	})
	return out, err
}

// B2BManagementPolicy returns the tenant's policy with id.
func (p *Policies) B2BManagementPolicy(ctx context.Context, tenantID, id string) (directory.Object, error) {
	var out directory.Object
	err := p.dir.View(ctx, func(tx store.Tx) error {
		if err := directory.MayReadPolicies(ctx, tx, tenantID); err != nil {
			return err
		}
		var err error
		out, err = loadB2BPolicy(ctx, tx, tenantID, id)
		return err
	})
	return out, err
}

func loadB2BPolicy(ctx context.Context, tx store.Tx, tenantID, id string) (directory.Object, error) {
	o, err := directory.ReadSingleton(ctx, tx, tenantID, KindB2BManagementPolicy, strings.ToLower(id), func() directory.Doc { return nil })
	if err == nil && o.Version == 0 {
		err = usererr.WithCode(usererr.NotFound, "Request_ResourceNotFound", "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
	}
	return o, err
}

// CreateB2BManagementPolicy stores the tenant's one B2B management policy;
// a second is refused, as Entra refuses it: update or delete the first.
func (p *Policies) CreateB2BManagementPolicy(ctx context.Context, tenantID string, in directory.Doc) (directory.Object, error) {
	b, err := readB2BPolicy(in)
	if err != nil {
		return directory.Object{}, err
	}
	if _, ok := b["definition"]; !ok {
		return directory.Object{}, usererr.New(usererr.Invalid, "Property 'definition' is required when creating the resource.")
	}
	doc := directory.Doc{"id": p.newID(), "displayName": b2bPolicyName, "isOrganizationDefault": true}
	for k, v := range b {
		doc[k] = v
	}
	var out directory.Object
	err = p.dir.Update(ctx, func(tx store.Tx) error {
		// Held to commit, so two creations cannot both find none.
		if err := tx.LockTenant(ctx, tenantID); err != nil {
			return err
		}
		existing, err := directory.ReadObjects(ctx, tx, tenantID, KindB2BManagementPolicy)
		if err != nil {
			return err
		}
		if len(existing) > 0 {
			return usererr.WithCode(usererr.Conflict, "Request_MultipleObjectsWithSameKeyValue",
				"The organization already has a B2B management policy (%s); update it or delete it first.", existing[0].ID)
		}
		out, err = p.dir.WritePolicy(ctx, tx, tenantID, directory.Object{Kind: KindB2BManagementPolicy, ID: doc["id"].(string)}, doc, displayName(doc))
		return err
	})
	return out, err
}

// UpdateB2BManagementPolicy applies a PATCH; definition, when given,
// replaces the whole definition.
func (p *Policies) UpdateB2BManagementPolicy(ctx context.Context, tenantID, id string, in directory.Doc) error {
	b, err := readB2BPolicy(in)
	if err != nil {
		return err
	}
	return p.dir.Update(ctx, func(tx store.Tx) error {
		if err := tx.LockTenant(ctx, tenantID); err != nil {
			return err
		}
		cur, err := loadB2BPolicy(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		next := directory.Doc{}
		for k, v := range cur.Doc {
			next[k] = v
		}
		for k, v := range b {
			next[k] = v
		}
		_, err = p.dir.WritePolicy(ctx, tx, tenantID, cur, next, displayName(next))
		return err
	})
}

// DeleteB2BManagementPolicy removes the policy: invitations go to any
// domain again.
func (p *Policies) DeleteB2BManagementPolicy(ctx context.Context, tenantID, id string) error {
	return p.dir.Update(ctx, func(tx store.Tx) error {
		if err := tx.LockTenant(ctx, tenantID); err != nil {
			return err
		}
		cur, err := loadB2BPolicy(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		return p.dir.DeletePolicy(ctx, tx, tenantID, cur, displayName(cur.Doc))
	})
}

func displayName(d directory.Doc) string {
	if s, _ := d["displayName"].(string); s != "" {
		return s
	}
	return b2bPolicyName
}

const b2bResource = "B2BManagementPolicy"

// readB2BPolicy validates a POST or PATCH body of a B2B management policy
// and returns it with its definition normalized.
func readB2BPolicy(in directory.Doc) (body, error) {
	b, err := readBody(in, b2bResource, "b2bManagementPolicy", "displayName", "definition", "isOrganizationDefault")
	if err != nil {
		return nil, err
	}
	if v, ok := b["displayName"]; ok {
		s, _ := v.(string)
		if strings.TrimSpace(s) == "" || utf8.RuneCountInString(s) > 256 {
			return nil, invalid("displayName", b2bResource)
		}
	}
	if v, ok := b["isOrganizationDefault"]; ok {
		if _, isBool := v.(bool); !isBool {
			return nil, invalid("isOrganizationDefault", b2bResource)
		}
	}
	if v, ok := b["definition"]; ok {
		list, _ := v.([]any)
		if len(list) != 1 {
			return nil, usererr.New(usererr.Invalid, "Property 'definition' must hold exactly one string: the policy's JSON.")
		}
		def, _ := list[0].(string)
		norm, err := NormalizeDefinition(def)
		if err != nil {
			return nil, err
		}
		b["definition"] = []any{norm}
	}
	return b, nil
}

// domainName is a DNS name of at least two labels (letters, digits and
// inner hyphens; punycode for international names).
var domainName = regexp.MustCompile(`^(?i)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// NormalizeDefinition checks a B2B management policy definition and
// returns it with its domain lists lower-cased and without duplicates: it
// must be a JSON object with a B2BManagementPolicy object, at most
// MaxDefinition characters, and allow or block domains, never both. Every
// other setting in it is kept as it came: Gatehouse does not act on them,
// but they belong to whoever wrote them.
func NormalizeDefinition(def string) (string, error) {
	if utf8.RuneCountInString(def) > MaxDefinition {
		return "", usererr.New(usererr.Invalid, "The policy definition is longer than %d characters.", MaxDefinition)
	}
	var top map[string]any
	dec := json.NewDecoder(strings.NewReader(def))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil || dec.More() || top == nil {
		return "", usererr.New(usererr.Invalid, "The policy definition is not one JSON object.")
	}
	policy, ok := top["B2BManagementPolicy"].(map[string]any)
	if !ok {
		return "", usererr.New(usererr.Invalid, "The policy definition needs a 'B2BManagementPolicy' object.")
	}
	if raw, present := policy["InvitationsAllowedAndBlockedDomainsPolicy"]; present {
		lists, ok := raw.(map[string]any)
		if !ok {
			return "", usererr.New(usererr.Invalid, "'InvitationsAllowedAndBlockedDomainsPolicy' must be an object.")
		}
		var sizes []int
		for _, name := range []string{"AllowedDomains", "BlockedDomains"} {
			v, present := lists[name]
			if !present || v == nil {
				sizes = append(sizes, 0)
				continue
			}
			domains, err := domainList(name, v)
			if err != nil {
				return "", err
			}
			lists[name] = domains
			sizes = append(sizes, len(domains))
		}
		if sizes[0] > 0 && sizes[1] > 0 {
			return "", usererr.New(usererr.Invalid, "A B2B management policy has an allow list or a block list of domains, not both.")
		}
	}
	out, err := json.Marshal(top)
	if err != nil {
		return "", err
	}
	if utf8.RuneCount(out) > MaxDefinition {
		return "", usererr.New(usererr.Invalid, "The policy definition is longer than %d characters.", MaxDefinition)
	}
	return string(out), nil
}

func domainList(name string, v any) ([]any, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, usererr.New(usererr.Invalid, "'%s' must be a list of domain names.", name)
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		s, _ := e.(string)
		d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
		if len(d) > 253 || !domainName.MatchString(d) {
			return nil, usererr.New(usererr.Invalid, "'%s' holds '%v', which is not a domain name (a listed domain covers its subdomains; no wildcards).", name, e)
		}
		if !slices.Contains(out, any(d)) {
			out = append(out, d)
		}
	}
	return out, nil
}

// PresentB2BManagementPolicy renders a stored policy as Graph's stsPolicy.
func PresentB2BManagementPolicy(o directory.Object) directory.Doc {
	def := o.Doc["definition"]
	if def == nil {
		def = []any{}
	}
	return directory.Doc{"id": o.ID, "deletedDateTime": nil, "displayName": displayName(o.Doc), "definition": def,
		"isOrganizationDefault": o.Doc["isOrganizationDefault"] == true}
}

// The email one-time passcode method (emailAuthenticationMethodConfiguration).

const emailResource = "EmailAuthenticationMethodConfiguration"

func defaultEmailConfiguration() directory.Doc {
	return directory.Doc{
		"id": EmailMethodConfigurationID, "state": "enabled", "allowExternalIdToUseEmailOtp": "default",
		"excludeTargets": []any{},
		"includeTargets": []any{map[string]any{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}},
	}
}

// EmailMethodConfiguration returns the tenant's email method
// configuration; it always exists (the default until changed).
func (p *Policies) EmailMethodConfiguration(ctx context.Context, tenantID string) (directory.Object, error) {
	return p.readSingleton(ctx, tenantID, KindEmailMethodConfiguration, EmailMethodConfigurationID, defaultEmailConfiguration)
}

// UpdateEmailMethodConfiguration applies a PATCH of the email method
// configuration.
func (p *Policies) UpdateEmailMethodConfiguration(ctx context.Context, tenantID string, in directory.Doc) error {
	b, err := readBody(in, emailResource, "emailAuthenticationMethodConfiguration", "state", "allowExternalIdToUseEmailOtp", "excludeTargets", "includeTargets")
	if err != nil {
		return err
	}
	for name, allowed := range map[string][]string{"state": {"enabled", "disabled"}, "allowExternalIdToUseEmailOtp": {"default", "enabled", "disabled"}} {
		if v, ok := b[name]; ok {
			s, _ := v.(string)
			i := slices.IndexFunc(allowed, func(a string) bool { return strings.EqualFold(a, s) })
			if i < 0 {
				return invalid(name, emailResource)
			}
			b[name] = allowed[i]
		}
	}
	for _, name := range []string{"excludeTargets", "includeTargets"} {
		if v, ok := b[name]; ok {
			targets, err := readTargets(name, v, name == "includeTargets")
			if err != nil {
				return err
			}
			b[name] = targets
		}
	}
	return p.updateSingleton(ctx, tenantID, KindEmailMethodConfiguration, EmailMethodConfigurationID, defaultEmailConfiguration, "Email", b)
}

// readTargets checks excludeTargets ({id, targetType}) or includeTargets
// (also isRegistrationRequired): users or groups by object id, or the
// group "all_users".
func readTargets(name string, v any, include bool) ([]any, error) {
	list, ok := v.([]any)
	if !ok || len(list) > 100 {
		return nil, invalid(name, emailResource)
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, invalid(name, emailResource)
		}
		fields := []string{"id", "targetType"}
		if include {
			fields = append(fields, "isRegistrationRequired")
		}
		t, err := readBody(m, emailResource, "authenticationMethodTarget", fields...)
		if err != nil {
			return nil, err
		}
		id, _ := t["id"].(string)
		typ, _ := t["targetType"].(string)
		typ = strings.ToLower(typ)
		_, guidErr := uuid.Parse(id)
		switch {
		case typ != "user" && typ != "group":
			return nil, invalid(name+"/targetType", emailResource)
		case !(guidErr == nil || (typ == "group" && id == "all_users")):
			return nil, invalid(name+"/id", emailResource)
		}
		target := map[string]any{"id": strings.ToLower(id), "targetType": typ}
		if include {
			required, isBool := t["isRegistrationRequired"].(bool)
			if _, given := t["isRegistrationRequired"]; given && !isBool {
				return nil, invalid(name+"/isRegistrationRequired", emailResource)
			}
			target["isRegistrationRequired"] = required
		}
		out = append(out, target)
	}
	return out, nil
}

// ResetEmailMethodConfiguration is DELETE: the configuration reverts to
// its defaults.
func (p *Policies) ResetEmailMethodConfiguration(ctx context.Context, tenantID string) error {
	return p.dir.Update(ctx, func(tx store.Tx) error {
		if err := tx.LockTenant(ctx, tenantID); err != nil {
			return err
		}
		cur, err := directory.ReadSingleton(ctx, tx, tenantID, KindEmailMethodConfiguration, EmailMethodConfigurationID, defaultEmailConfiguration)
		if err != nil || cur.Version == 0 {
			return err
		}
		return p.dir.DeletePolicy(ctx, tx, tenantID, cur, "Email")
	})
}

// PresentEmailMethodConfiguration renders the configuration as Graph's
// emailAuthenticationMethodConfiguration.
func PresentEmailMethodConfiguration(o directory.Object) directory.Doc {
	d := directory.Doc{"@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration"}
	for k, v := range defaultEmailConfiguration() {
		d[k] = v
	}
	for k, v := range o.Doc {
		d[k] = v
	}
	return d
}

// The authentication flows policy (self-service sign-up).

const flowsResource = "AuthenticationFlowsPolicy"

func defaultFlowsPolicy() directory.Doc {
	return directory.Doc{
		"id": AuthenticationFlowsPolicyID, "displayName": "Authentication flows policy",
		"description":       "Authentication flows policy allows modification of settings related to authentication flows in AAD tenant, such as self-service sign up configuration.",
		"selfServiceSignUp": map[string]any{"isEnabled": false},
	}
}

// AuthenticationFlowsPolicy returns the tenant's policy; it always exists.
func (p *Policies) AuthenticationFlowsPolicy(ctx context.Context, tenantID string) (directory.Object, error) {
	return p.readSingleton(ctx, tenantID, KindAuthenticationFlowsPolicy, AuthenticationFlowsPolicyID, defaultFlowsPolicy)
}

// UpdateAuthenticationFlowsPolicy applies a PATCH: selfServiceSignUp
// {isEnabled} is all that may change.
func (p *Policies) UpdateAuthenticationFlowsPolicy(ctx context.Context, tenantID string, in directory.Doc) error {
	b, err := readBody(in, flowsResource, "authenticationFlowsPolicy", "selfServiceSignUp")
	if err != nil {
		return err
	}
	if v, ok := b["selfServiceSignUp"]; ok {
		m, _ := v.(map[string]any)
		ssu, err := readBody(m, flowsResource, "selfServiceSignUpAuthenticationFlowConfiguration", "isEnabled")
		if err != nil {
			return err
		}
		enabled, isBool := ssu["isEnabled"].(bool)
		if m == nil || !isBool {
			return invalid("selfServiceSignUp", flowsResource)
		}
		b["selfServiceSignUp"] = map[string]any{"isEnabled": enabled}
	}
	return p.updateSingleton(ctx, tenantID, KindAuthenticationFlowsPolicy, AuthenticationFlowsPolicyID, defaultFlowsPolicy, "Authentication flows policy", b)
}

// PresentAuthenticationFlowsPolicy renders the policy as Graph's.
func PresentAuthenticationFlowsPolicy(o directory.Object) directory.Doc {
	d := defaultFlowsPolicy()
	for k, v := range o.Doc {
		d[k] = v
	}
	return d
}

func (p *Policies) readSingleton(ctx context.Context, tenantID, kind, id string, defaults func() directory.Doc) (directory.Object, error) {
	var out directory.Object
	err := p.dir.View(ctx, func(tx store.Tx) error {
		if err := directory.MayReadPolicies(ctx, tx, tenantID); err != nil {
			return err
		}
		var err error
		out, err = directory.ReadSingleton(ctx, tx, tenantID, kind, id, defaults)
		return err
	})
	return out, err
}

// updateSingleton merges a checked PATCH into a singleton; the first
// change stores it.
func (p *Policies) updateSingleton(ctx context.Context, tenantID, kind, id string, defaults func() directory.Doc, name string, b body) error {
	return p.dir.Update(ctx, func(tx store.Tx) error {
		if err := tx.LockTenant(ctx, tenantID); err != nil {
			return err
		}
		cur, err := directory.ReadSingleton(ctx, tx, tenantID, kind, id, defaults)
		if err != nil {
			return err
		}
		next := directory.Doc{}
		for k, v := range cur.Doc {
			next[k] = v
		}
		for k, v := range b {
			next[k] = v
		}
		_, err = p.dir.WritePolicy(ctx, tx, tenantID, cur, next, name)
		return err
	})
}
