package xtap

import "github.com/gatehouse-id/gatehouse/internal/directory"

// A tenant's configurations are compiled once (per change) into sorted key
// arrays, so a decision is a few lookups: the partner by tenant id, then
// the user, their groups and the application in the targets. Inherited
// properties of a partner share the default's compiled rules, so compiling
// 10,000 partners costs only their own targets; and the compiled form keeps
// no pointer into the model, so the collector has little to mark.

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
	// The listed users, groups and applications.
	users, groups, apps idSet
}

func compileTargets(c *TargetConfiguration) targetSet {
	t := targetSet{access: accessOf(c.AccessType)}
	var users, groups, apps []string
	for _, tg := range c.Targets {
		switch {
		case tg.Target == AllUsers && tg.TargetType == TargetTypeUser,
			tg.Target == AllApplications && tg.TargetType == TargetTypeApplication:
			t.all = true
		case tg.Target == Office365 && tg.TargetType == TargetTypeApplication:
			t.office365 = true
		case directory.IsGUID(tg.Target) && tg.TargetType == TargetTypeUser:
			users = append(users, tg.Target)
		case directory.IsGUID(tg.Target) && tg.TargetType == TargetTypeGroup:
			groups = append(groups, tg.Target)
		case directory.IsGUID(tg.Target) && tg.TargetType == TargetTypeApplication:
			apps = append(apps, tg.Target)
		default:
			// Writes are validated, so this is a stored target we cannot
			// read. In an allowed list it admits nothing; in a blocked list
			// it could be anyone, so it blocks everyone (fail closed).
			if t.access == accessBlocked {
				t.all = true
			}
		}
	}
	t.users, t.groups, t.apps = newIDSet(users), newIDSet(groups), newIDSet(apps)
	return t
}

// subject is the user as a decision looks them up: ids with their keys,
// computed once per decision however many lists are searched.
type subject struct {
	id        string
	idKey     uint64
	groups    []string
	groupKeys []uint64
}

// What matchUser matched: the keyword, the user, or (≥ 0) that group.
const (
	matchedNothing = -3
	matchedAll     = -2
	matchedUser    = -1
)

// matchUser reports whether the user or one of their groups is listed, and
// what matched.
func (t *targetSet) matchUser(u *subject) (bool, int) {
	if t.all || t.implicit {
		return true, matchedAll
	}
	if t.users.has(u.idKey, u.id) {
		return true, matchedUser
	}
	if !t.groups.empty() {
		if i := t.groups.find(u.groupKeys, u.groups); i >= 0 {
			return true, i
		}
	}
	return false, matchedNothing
}

// matchApp reports whether the application (appID with its key k) is
// listed. Office365 matches no application here: this deployment has no
// Office 365 suite.
func (t *targetSet) matchApp(k uint64, appID string) bool {
	if t.all || t.implicit {
		return true
	}
	return t.apps.has(k, appID)
}

// coversEveryApp reports whether the list covers every application.
func (t *targetSet) coversEveryApp() bool { return t.all || t.implicit }

// listsSomeApp reports whether the list names at least one application of
// this deployment (Office365 names none).
func (t *targetSet) listsSomeApp() bool { return t.all || t.implicit || !t.apps.empty() }

// rule is one compiled B2B setting (e.g. b2bCollaborationOutbound) with
// where it came from, for the decision's rule and reason.
type rule struct {
	property string // Graph's property name, e.g. b2bCollaborationOutbound
	from     Origin
	users    targetSet
	apps     targetSet
}

func compileRule(property string, r Resolved[B2BSetting]) *rule {
	out := &rule{property: property, from: r.From}
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

// CompiledSettings are one tenant's effective settings toward one other
// tenant, ready for Evaluate. They are immutable and safe to share.
type CompiledSettings struct {
	partnerID  string // the other tenant, when a partner configuration exists
	hasPartner bool
	// id is partnerID folded inline, and next the partner whose id shares
	// its key, so For confirms a match without following a pointer.
	id                                       guid
	next                                     *CompiledSettings
	collabIn, collabOut, directIn, directOut *rule
	trust                                    Resolved[InboundTrust]
	autoIn, autoOut                          Resolved[bool]
}

// HasPartner reports whether a partner configuration exists for the other
// tenant (else these are the default's settings).
func (c *CompiledSettings) HasPartner() bool { return c.hasPartner }

// InboundTrust returns the effective inboundTrust and where it came from.
func (c *CompiledSettings) InboundTrust() Resolved[InboundTrust] { return c.trust }

// CompileSettings compiles effective settings (from Effective) on their own,
// e.g. for a what-if with settings that are not stored.
func CompileSettings(s Settings) *CompiledSettings {
	return compileWith(s, nil)
}

// compileWith compiles s, reusing base's rules for properties s inherits
// from the default (base, when not nil, is the default's compiled form).
func compileWith(s Settings, base *CompiledSettings) *CompiledSettings {
	c := &CompiledSettings{partnerID: lower(s.PartnerTenantID), hasPartner: s.HasPartner,
		trust: s.InboundTrust, autoIn: s.AutomaticRedemptionInbound, autoOut: s.AutomaticRedemptionOutbound}
	pick := func(property string, r Resolved[B2BSetting], inherited *rule) *rule {
		if r.From == FromDefault && inherited != nil {
			return inherited
		}
		return compileRule(property, r)
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
	owner string
	def   Default
	dflt  *CompiledSettings
	// partners are keyed by idKey, not by the id string: a map of strings
	// follows each key's pointer to compare it, one more cache miss on
	// every lookup among 10,000 partners.
	partners map[uint64]*CompiledSettings
	n        int
}

// Compile compiles the policy of tenant owner: its default configuration
// and its partner configurations (a later duplicate tenantId wins).
func Compile(owner string, def Default, partners []Partner) *Compiled {
	def = def.Normalized()
	c := &Compiled{owner: owner, def: def, dflt: compileWith(effective(def, nil), nil),
		partners: make(map[uint64]*CompiledSettings, len(partners))}
	for i := range partners {
		c.put(compileWith(effective(def, &partners[i]), c.dflt))
	}
	return c
}

// put adds or replaces a partner's compiled settings (not yet shared).
func (c *Compiled) put(cs *CompiledSettings) {
	cs.id = guidOf(cs.partnerID)
	k := idKey(cs.partnerID)
	c.remove(k, cs.id)
	cs.next = c.partners[k]
	c.partners[k] = cs
	c.n++
}

// remove drops the partner with id (key k). Entries may be shared with
// another Compiled, so the chain before it is copied, never edited.
func (c *Compiled) remove(k uint64, id guid) {
	var before []*CompiledSettings
	e := c.partners[k]
	for ; e != nil && e.id != id; e = e.next {
		before = append(before, e)
	}
	if e == nil {
		return
	}
	c.n--
	head := e.next
	for i := len(before) - 1; i >= 0; i-- {
		cp := *before[i]
		cp.next = head
		head = &cp
	}
	if head == nil {
		delete(c.partners, k)
		return
	}
	c.partners[k] = head
}

// Owner is the tenant whose policy this is.
func (c *Compiled) Owner() string { return c.owner }

// Len is the number of partner configurations.
func (c *Compiled) Len() int { return c.n }

// For returns the effective settings the owner applies to tenantID: its
// partner configuration merged over the default, or the default alone.
// It never returns nil.
func (c *Compiled) For(tenantID string) *CompiledSettings {
	if len(tenantID) == guidLen {
		id := guidOf(tenantID)
		for p := c.partners[idKey(tenantID)]; p != nil; p = p.next {
			if p.id == id {
				return p
			}
		}
	}
	return c.dflt
}

// WithPartner returns a copy of c with p added or replaced; c is unchanged.
func (c *Compiled) WithPartner(p Partner) *Compiled {
	n := c.clone()
	n.put(compileWith(effective(c.def, &p), c.dflt))
	return n
}

// WithoutPartner returns a copy of c without tenantID's partner
// configuration; c is unchanged.
func (c *Compiled) WithoutPartner(tenantID string) *Compiled {
	n := c.clone()
	if len(tenantID) == guidLen {
		n.remove(idKey(tenantID), guidOf(tenantID))
	}
	return n
}

func (c *Compiled) clone() *Compiled {
	n := &Compiled{owner: c.owner, def: c.def, dflt: c.dflt, n: c.n, partners: make(map[uint64]*CompiledSettings, len(c.partners)+1)}
	for k, v := range c.partners {
		n.partners[k] = v
	}
	return n
}

// lower returns s with ASCII letters lower-cased, without allocating when
// s has none (ids minted here are already lower-case).
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i]-'A' < 26 {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j]-'A' < 26 {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
