package xtap

// A tenant's configurations are compiled once (per change) into sets, so a
// decision is a handful of map lookups: the partner by tenant id, then the
// user, their groups and the application in the targets. Inherited
// properties of a partner share the default's compiled rules, so compiling
// 10,000 partners costs only their own targets.

// access is a target configuration's accessType as the evaluator reads it.
type access uint8

const (
	accessInvalid access = iota // missing or not one we know: fail closed
	accessAllowed
	accessBlocked
)

func accessOf(s string) access {
	switch s {
	case Allowed:
		return accessAllowed
	case Blocked:
		return accessBlocked
	}
	return accessInvalid
}

// targetSet is one compiled side (usersAndGroups or applications).
type targetSet struct {
	access access
	// implicit: the side was left out of its B2B setting; it covers
	// everything, with the other side's access type.
	implicit bool
	all      bool // AllUsers / AllApplications (or an unreadable target in a blocked list)
	// office365 is listed; it matches no application of this deployment.
	office365 bool
	// ids of the listed users, groups and applications, lower-case.
	users, groups, apps map[string]struct{}
}

func compileTargets(c *TargetConfiguration) targetSet {
	t := targetSet{access: accessOf(c.AccessType)}
	add := func(m *map[string]struct{}, id string) {
		if *m == nil {
			*m = make(map[string]struct{}, len(c.Targets))
		}
		(*m)[id] = struct{}{}
	}
	for _, tg := range c.Targets {
		switch {
		case tg.Target == AllUsers && tg.TargetType == TargetTypeUser,
			tg.Target == AllApplications && tg.TargetType == TargetTypeApplication:
			t.all = true
		case tg.Target == Office365 && tg.TargetType == TargetTypeApplication:
			t.office365 = true
		case isGUID(tg.Target) && tg.TargetType == TargetTypeUser:
			add(&t.users, lower(tg.Target))
		case isGUID(tg.Target) && tg.TargetType == TargetTypeGroup:
			add(&t.groups, lower(tg.Target))
		case isGUID(tg.Target) && tg.TargetType == TargetTypeApplication:
			add(&t.apps, lower(tg.Target))
		default:
			// Writes are validated, so this is a stored target we cannot
			// read. In an allowed list it admits nothing; in a blocked list
			// it could be anyone, so it blocks everyone (fail closed).
			if t.access == accessBlocked {
				t.all = true
			}
		}
	}
	return t
}

// matchUser reports whether the user or one of their groups is listed, and
// which target matched ("" when none).
func (t *targetSet) matchUser(userID string, groups []string) (bool, string) {
	if t.all || t.implicit {
		return true, AllUsers
	}
	if _, ok := t.users[userID]; ok {
		return true, userID
	}
	if len(t.groups) > 0 {
		for _, g := range groups {
			if _, ok := t.groups[lower(g)]; ok {
				return true, lower(g)
			}
		}
	}
	return false, ""
}

// matchApp reports whether the application is listed. Office365 matches no
// application here: this deployment has no Office 365 suite.
func (t *targetSet) matchApp(appID string) bool {
	if t.all || t.implicit {
		return true
	}
	_, ok := t.apps[appID]
	return ok
}

// coversEveryApp reports whether the list covers every application.
func (t *targetSet) coversEveryApp() bool { return t.all || t.implicit }

// listsSomeApp reports whether the list names at least one application of
// this deployment (Office365 names none).
func (t *targetSet) listsSomeApp() bool { return t.all || t.implicit || len(t.apps) > 0 }

// rule is one compiled B2B setting (e.g. b2bCollaborationOutbound) with
// where it came from, for the decision's rule and reason.
type rule struct {
	property string // Graph's property name, e.g. b2bCollaborationOutbound
	from     Origin
	path     string // e.g. partners/{tenantId}/b2bCollaborationOutbound
	users    targetSet
	apps     targetSet
}

func compileRule(property string, r Resolved[B2BSetting], partnerID string) *rule {
	out := &rule{property: property, from: r.From, path: settingPath(r.From, partnerID, property)}
	u, a := r.Value.UsersAndGroups, r.Value.Applications
	switch {
	case u != nil && a != nil:
		out.users, out.apps = compileTargets(u), compileTargets(a)
	case u != nil:
		out.users = compileTargets(u)
		out.apps = targetSet{access: out.users.access, implicit: true}
	case a != nil:
		out.apps = compileTargets(a)
		out.users = targetSet{access: out.apps.access, implicit: true}
	default:
		// Effective never yields an empty setting; if one arrives anyway,
		// nothing says who may pass, so nobody does.
		out.users = targetSet{access: accessInvalid}
		out.apps = targetSet{access: accessInvalid}
	}
	return out
}

// settingPath names a property of the default or of a partner
// configuration as Graph addresses it.
func settingPath(from Origin, partnerID, property string) string {
	if from == FromPartner {
		return "partners/" + partnerID + "/" + property
	}
	return "default/" + property
}

// CompiledSettings are one tenant's effective settings toward one other
// tenant, ready for Evaluate. They are immutable and safe to share.
type CompiledSettings struct {
	s                                        Settings
	collabIn, collabOut, directIn, directOut *rule
}

// Settings returns the effective settings these were compiled from.
func (c *CompiledSettings) Settings() Settings { return c.s }

// CompileSettings compiles effective settings (from Effective) on their own,
// e.g. for a what-if with settings that are not stored.
func CompileSettings(s Settings) *CompiledSettings {
	return compileWith(s, nil)
}

// compileWith compiles s, reusing base's rules for properties s inherits
// from the default (base, when not nil, is the default's compiled form).
func compileWith(s Settings, base *CompiledSettings) *CompiledSettings {
	c := &CompiledSettings{s: s}
	pick := func(property string, r Resolved[B2BSetting], inherited *rule) *rule {
		if r.From == FromDefault && inherited != nil {
			return inherited
		}
		return compileRule(property, r, s.PartnerTenantID)
	}
	var b CompiledSettings
	if base != nil {
		b = *base
	}
	c.collabIn = pick("b2bCollaborationInbound", s.B2BCollaborationInbound, b.collabIn)
	c.collabOut = pick("b2bCollaborationOutbound", s.B2BCollaborationOutbound, b.collabOut)
	c.directIn = pick("b2bDirectConnectInbound", s.B2BDirectConnectInbound, b.directIn)
	c.directOut = pick("b2bDirectConnectOutbound", s.B2BDirectConnectOutbound, b.directOut)
	return c
}

// Compiled is one tenant's cross-tenant access policy compiled for
// decisions: the default and every partner configuration. It is immutable
// and safe for concurrent use; callers rebuild it (or derive one with
// WithPartner / WithoutPartner) when the stored configurations change.
type Compiled struct {
	owner    string
	def      Default
	dflt     *CompiledSettings
	partners map[string]*CompiledSettings
}

// Compile compiles the policy of tenant owner: its default configuration
// and its partner configurations (a later duplicate tenantId wins).
func Compile(owner string, def Default, partners []Partner) *Compiled {
	def = def.Normalized()
	c := &Compiled{owner: owner, def: def, dflt: compileWith(Effective(def, nil), nil),
		partners: make(map[string]*CompiledSettings, len(partners))}
	for i := range partners {
		c.partners[lower(partners[i].TenantID)] = compileWith(Effective(def, &partners[i]), c.dflt)
	}
	return c
}

// Owner is the tenant whose policy this is.
func (c *Compiled) Owner() string { return c.owner }

// Len is the number of partner configurations.
func (c *Compiled) Len() int { return len(c.partners) }

// For returns the effective settings the owner applies to tenantID: its
// partner configuration merged over the default, or the default alone.
// It never returns nil.
func (c *Compiled) For(tenantID string) *CompiledSettings {
	if p, ok := c.partners[lower(tenantID)]; ok {
		return p
	}
	return c.dflt
}

// WithPartner returns a copy of c with p added or replaced; c is unchanged.
func (c *Compiled) WithPartner(p Partner) *Compiled {
	n := c.clone()
	n.partners[lower(p.TenantID)] = compileWith(Effective(c.def, &p), c.dflt)
	return n
}

// WithoutPartner returns a copy of c without tenantID's partner
// configuration; c is unchanged.
func (c *Compiled) WithoutPartner(tenantID string) *Compiled {
	n := c.clone()
	delete(n.partners, lower(tenantID))
	return n
}

func (c *Compiled) clone() *Compiled {
	n := &Compiled{owner: c.owner, def: c.def, dflt: c.dflt, partners: make(map[string]*CompiledSettings, len(c.partners)+1)}
	for k, v := range c.partners {
		n.partners[k] = v
	}
	return n
}

// lower returns s with ASCII letters lower-cased, without allocating when
// s has none (ids minted here are already lower-case).
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
