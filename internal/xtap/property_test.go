package xtap

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
)

// Property tests over random policies from a seeded generator, so a failure
// reproduces: the seed and iteration are in the message.

const propertySeed = 20260820

// a3 is an application no generated policy lists.
const a3 = "aaaaaaaa-0000-4000-8000-0000000000a3"

type gen struct{ r *rand.Rand }

func newGen(stream uint64) gen { return gen{rand.New(rand.NewPCG(propertySeed, stream))} }

var (
	userTargets = []Target{{AllUsers, TargetTypeUser}, {u1, TargetTypeUser}, {u2, TargetTypeUser}, {u3, TargetTypeUser}, {g1, TargetTypeGroup}, {g2, TargetTypeGroup}}
	appTargets  = []Target{{AllApplications, TargetTypeApplication}, {Office365, TargetTypeApplication}, {a1, TargetTypeApplication}, {a2, TargetTypeApplication}}
)

func (g gen) access() string {
	if g.r.IntN(2) == 0 {
		return Allowed
	}
	return Blocked
}

func (g gen) config(pool []Target) *TargetConfiguration {
	c := &TargetConfiguration{AccessType: g.access()}
	for n := 1 + g.r.IntN(3); n > 0; n-- {
		c.Targets = append(c.Targets, pool[g.r.IntN(len(pool))])
	}
	return c
}

func (g gen) b2b() *B2BSetting {
	switch g.r.IntN(8) {
	case 0:
		return &B2BSetting{UsersAndGroups: g.config(userTargets)}
	case 1:
		return &B2BSetting{Applications: g.config(appTargets)}
	}
	return &B2BSetting{UsersAndGroups: g.config(userTargets), Applications: g.config(appTargets)}
}

func (g gen) maybeB2B() *B2BSetting {
	if g.r.IntN(2) == 0 {
		return nil
	}
	return g.b2b()
}

func (g gen) optBool() *bool {
	switch g.r.IntN(3) {
	case 0:
		return nil
	case 1:
		f := false
		return &f
	}
	t := true
	return &t
}

func (g gen) trust() *InboundTrust {
	return &InboundTrust{g.r.IntN(2) == 0, g.r.IntN(2) == 0, g.r.IntN(2) == 0}
}

func (g gen) dflt() Default {
	d := SystemDefault()
	d.IsServiceDefault = false
	for _, p := range []**B2BSetting{&d.B2BCollaborationInbound, &d.B2BCollaborationOutbound, &d.B2BDirectConnectInbound, &d.B2BDirectConnectOutbound} {
		if g.r.IntN(4) != 0 {
			*p = g.b2b()
		}
	}
	d.InboundTrust = g.trust()
	return d
}

func (g gen) partner(tenantID string) Partner {
	p := Partner{TenantID: tenantID,
		B2BCollaborationInbound: g.maybeB2B(), B2BCollaborationOutbound: g.maybeB2B(),
		B2BDirectConnectInbound: g.maybeB2B(), B2BDirectConnectOutbound: g.maybeB2B(),
		AutomaticUserConsentSettings: InboundOutbound{g.optBool(), g.optBool()},
	}
	if g.r.IntN(2) == 0 {
		p.InboundTrust = g.trust()
	}
	return p
}

// scenario is a random pair of policies and one sign-in.
type scenario struct {
	homeDef, resDef Default
	homeP, resP     []Partner
	access          AccessType
	user, app       string
	home, required  Claims
}

func (g gen) scenario() scenario {
	s := scenario{homeDef: g.dflt(), resDef: g.dflt()}
	// Partners for the tenant in question (sometimes) and for others.
	if g.r.IntN(3) != 0 {
		s.homeP = append(s.homeP, g.partner(contoso))
	}
	if g.r.IntN(3) != 0 {
		s.resP = append(s.resP, g.partner(fabrikam))
	}
	s.homeP = append(s.homeP, g.partner(northwind))
	s.resP = append(s.resP, g.partner(northwind))
	s.access = []AccessType{B2BCollaboration, B2BDirectConnect}[g.r.IntN(2)]
	s.user = []string{u1, u2, u3}[g.r.IntN(3)]
	s.app = []string{a1, a2, a3, ""}[g.r.IntN(4)]
	s.home = Claims{g.r.IntN(2) == 0, g.r.IntN(2) == 0, g.r.IntN(2) == 0}
	s.required = Claims{g.r.IntN(2) == 0, g.r.IntN(3) == 0, g.r.IntN(4) == 0}
	return s
}

// clone deep-copies s through JSON, the way the configurations are stored.
func (s scenario) clone(t *testing.T) scenario {
	t.Helper()
	c := s
	for _, pair := range []struct{ src, dst any }{{s.homeDef, &c.homeDef}, {s.resDef, &c.resDef}, {s.homeP, &c.homeP}, {s.resP, &c.resP}} {
		b, err := json.Marshal(pair.src)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, pair.dst); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (s scenario) eval() Result {
	w := newWorld(s.homeDef, s.homeP, s.resDef, s.resP)
	in := w.input(s.access, s.user, s.app)
	in.HomeClaims, in.Required = s.home, s.required
	return Evaluate(in)
}

// decisions is a result without its prose: what must not change when only
// the wording could.
func decisions(r Result) []string {
	out := []string{r.Decision, r.DecidingLayer, strconv.Itoa(r.ErrorCode)}
	for _, l := range r.Layers() {
		out = append(out, l.Layer+"="+l.Decision+"@"+l.Rule)
	}
	return out
}

// blockedConfigs lists every blocked target configuration of the B2B
// settings Evaluate reads, with the pool its targets come from.
func (s *scenario) blockedConfigs() (cfgs []*TargetConfiguration, pools [][]Target) {
	add := func(b *B2BSetting) {
		if b == nil {
			return
		}
		if c := b.UsersAndGroups; c != nil && c.AccessType == Blocked {
			cfgs, pools = append(cfgs, c), append(pools, userTargets)
		}
		if c := b.Applications; c != nil && c.AccessType == Blocked {
			cfgs, pools = append(cfgs, c), append(pools, appTargets)
		}
	}
	for _, d := range []*Default{&s.homeDef, &s.resDef} {
		add(d.B2BCollaborationInbound)
		add(d.B2BCollaborationOutbound)
		add(d.B2BDirectConnectInbound)
		add(d.B2BDirectConnectOutbound)
	}
	for _, ps := range [][]Partner{s.homeP, s.resP} {
		for i := range ps {
			add(ps[i].B2BCollaborationInbound)
			add(ps[i].B2BCollaborationOutbound)
			add(ps[i].B2BDirectConnectInbound)
			add(ps[i].B2BDirectConnectOutbound)
		}
	}
	return cfgs, pools
}

func TestPropertyAddingABlockNeverAllows(t *testing.T) {
	g := newGen(1)
	checked := 0
	for i := 0; i < 5000; i++ {
		s := g.scenario()
		before := s.eval()
		after := s.clone(t)
		cfgs, pools := after.blockedConfigs()
		if len(cfgs) == 0 {
			continue
		}
		k := g.r.IntN(len(cfgs))
		cfgs[k].Targets = append(cfgs[k].Targets, pools[k][g.r.IntN(len(pools[k]))])
		r := after.eval()
		for j := range r.Layers() {
			if before.Layers()[j].Decision == DecisionBlocked && r.Layers()[j].Decision != DecisionBlocked {
				t.Fatalf("iteration %d: adding a blocked target turned layer %s from blocked to %s\nbefore:\n%safter:\n%s",
					i, r.Layers()[j].Layer, r.Layers()[j].Decision, reasons(before), reasons(r))
			}
		}
		if !before.Allowed() {
			checked++
			if r.Allowed() {
				t.Fatalf("iteration %d: adding a blocked target turned a deny into an allow\nbefore:\n%safter:\n%s", i, reasons(before), reasons(r))
			}
		}
	}
	if checked < 500 {
		t.Fatalf("only %d denies were tried; the generator is too lenient", checked)
	}
}

func TestPropertyRemovingAPartnerFallsBackToTheDefault(t *testing.T) {
	g := newGen(2)
	for i := 0; i < 3000; i++ {
		s := g.scenario()
		if len(s.resP) < 2 {
			continue // no partner for Fabrikam in this one
		}
		// Without Fabrikam's partner entry, the decision is exactly the
		// one a policy that never had it gives.
		w := newWorld(s.homeDef, s.homeP, s.resDef, s.resP)
		in := w.input(s.access, s.user, s.app)
		in.HomeClaims, in.Required = s.home, s.required
		removed := in
		removed.ResourceInbound = w.resource.WithoutPartner(fabrikam).For(fabrikam)
		never := in
		never.ResourceInbound = Compile(contoso, s.resDef, s.resP[1:]).For(fabrikam)
		defaultOnly := in
		defaultOnly.ResourceInbound = Compile(contoso, s.resDef, nil).For(fabrikam)
		a, b, c := Evaluate(removed), Evaluate(never), Evaluate(defaultOnly)
		if !reflect.DeepEqual(decisions(a), decisions(b)) || !reflect.DeepEqual(decisions(b), decisions(c)) ||
			!reflect.DeepEqual(a.Layers(), b.Layers()) || !reflect.DeepEqual(b.Layers(), c.Layers()) {
			t.Fatalf("iteration %d: removing the partner differs from the default\nremoved:\n%snever:\n%sdefault only:\n%s", i, reasons(a), reasons(b), reasons(c))
		}
		// A partner entry whose properties are all null decides as the
		// default does (only the wording says the partner exists).
		empty := in
		empty.ResourceInbound = w.resource.WithPartner(Partner{TenantID: fabrikam}).For(fabrikam)
		if d := Evaluate(empty); !reflect.DeepEqual(decisions(d), decisions(c)) {
			t.Fatalf("iteration %d: an all-null partner differs from the default\n%s\nvs\n%s", i, reasons(d), reasons(c))
		}
		// And removing it changes nothing for another tenant.
		nw := in
		nw.HomeTenantID, nw.ResourceInbound = northwind, w.resource.For(northwind)
		nw2 := nw
		nw2.ResourceInbound = w.resource.WithoutPartner(fabrikam).For(northwind)
		if x, y := Evaluate(nw), Evaluate(nw2); !reflect.DeepEqual(x.Layers(), y.Layers()) || x.Decision != y.Decision {
			t.Fatalf("iteration %d: removing Fabrikam's entry changed Northwind's decision", i)
		}
	}
}

func TestPropertyDeterministicAndOrderFree(t *testing.T) {
	g := newGen(3)
	for i := 0; i < 3000; i++ {
		s := g.scenario()
		r1, r2 := s.eval(), s.eval()
		if !reflect.DeepEqual(r1, r2) || !reflect.DeepEqual(r1.Layers(), r2.Layers()) {
			t.Fatalf("iteration %d: two evaluations differ", i)
		}
		// Shuffling every target list and the user's groups changes no
		// decision and no rule.
		sh := s.clone(t)
		shuffle := func(b *B2BSetting) {
			if b == nil {
				return
			}
			for _, c := range []*TargetConfiguration{b.UsersAndGroups, b.Applications} {
				if c != nil {
					g.r.Shuffle(len(c.Targets), func(x, y int) { c.Targets[x], c.Targets[y] = c.Targets[y], c.Targets[x] })
				}
			}
		}
		for _, d := range []*Default{&sh.homeDef, &sh.resDef} {
			shuffle(d.B2BCollaborationInbound)
			shuffle(d.B2BCollaborationOutbound)
			shuffle(d.B2BDirectConnectInbound)
			shuffle(d.B2BDirectConnectOutbound)
		}
		for _, ps := range [][]Partner{sh.homeP, sh.resP} {
			for j := range ps {
				shuffle(ps[j].B2BCollaborationInbound)
				shuffle(ps[j].B2BCollaborationOutbound)
				shuffle(ps[j].B2BDirectConnectInbound)
				shuffle(ps[j].B2BDirectConnectOutbound)
			}
		}
		w := newWorld(sh.homeDef, sh.homeP, sh.resDef, sh.resP)
		in := w.input(sh.access, sh.user, sh.app)
		in.HomeClaims, in.Required = sh.home, sh.required
		groups := append([]string(nil), in.User.Groups...)
		g.r.Shuffle(len(groups), func(x, y int) { groups[x], groups[y] = groups[y], groups[x] })
		in.User.Groups = groups
		if r3 := Evaluate(in); !reflect.DeepEqual(decisions(r1), decisions(r3)) {
			t.Fatalf("iteration %d: order changed the decision\n%s\nvs\n%s", i, reasons(r1), reasons(r3))
		}
	}
}

// refAdmits is §3.3 over an uncompiled setting with linear scans, as a
// second opinion on the compiled sets: a missing side restricts nothing;
// no application asks whether some application (a1, a2, or a3 that nobody
// lists) would be admitted.
func refAdmits(s B2BSetting, user string, groups []string, app string) bool {
	if app == "" {
		return refAdmits(s, user, groups, a1) || refAdmits(s, user, groups, a2) || refAdmits(s, user, groups, a3)
	}
	inUsers := func(c *TargetConfiguration) bool {
		for _, t := range c.Targets {
			if t.Target == AllUsers || t.TargetType == TargetTypeUser && t.Target == user {
				return true
			}
			for _, grp := range groups {
				if t.TargetType == TargetTypeGroup && t.Target == grp {
					return true
				}
			}
		}
		return false
	}
	inApps := func(c *TargetConfiguration) bool {
		for _, t := range c.Targets {
			if t.Target == AllApplications || t.Target == app {
				return true
			}
		}
		return false
	}
	u, a := s.UsersAndGroups, s.Applications
	switch {
	case u == nil:
		return inApps(a) == (a.AccessType == Allowed)
	case a == nil:
		return inUsers(u) == (u.AccessType == Allowed)
	case u.AccessType == Blocked && a.AccessType == Blocked:
		return !(inUsers(u) && inApps(a))
	}
	return inUsers(u) == (u.AccessType == Allowed) && inApps(a) == (a.AccessType == Allowed)
}

func TestPropertyCompiledAgreesWithReference(t *testing.T) {
	g := newGen(4)
	for i := 0; i < 5000; i++ {
		s := g.scenario()
		r := s.eval()
		var homeP, resP *Partner
		if len(s.homeP) == 2 {
			homeP = &s.homeP[0]
		}
		if len(s.resP) == 2 {
			resP = &s.resP[0]
		}
		out, in := Effective(s.homeDef, homeP), Effective(s.resDef, resP)
		outSet, inSet := out.B2BCollaborationOutbound.Value, in.B2BCollaborationInbound.Value
		if s.access == B2BDirectConnect {
			outSet, inSet = out.B2BDirectConnectOutbound.Value, in.B2BDirectConnectInbound.Value
		}
		wantOut := refAdmits(outSet, s.user, groupsOf[s.user], s.app)
		wantIn := refAdmits(inSet, s.user, groupsOf[s.user], s.app)
		if (r.Layers()[1].Decision == DecisionAllowed) != wantOut || (r.Layers()[2].Decision == DecisionAllowed) != wantIn {
			t.Fatalf("iteration %d: compiled says out=%s in=%s, reference out=%v in=%v\n%s", i, r.Layers()[1].Decision, r.Layers()[2].Decision, wantOut, wantIn, reasons(r))
		}
		// The helpers agree with the layers.
		w := newWorld(s.homeDef, s.homeP, s.resDef, s.resP)
		if s.access == B2BCollaboration && r.AutomaticRedemption != AutomaticRedemption(w.home.For(contoso), w.resource.For(fabrikam)) {
			t.Fatalf("iteration %d: AutomaticRedemption disagrees with the layer", i)
		}
	}
}

func TestPropertyExplainingDecidesTheSame(t *testing.T) {
	// Evaluate decides without writing; Layers runs the same code with the
	// writing on. Nothing the writing does may change a decision.
	g := newGen(5)
	for i := 0; i < 5000; i++ {
		s := g.scenario()
		r := s.eval()
		layers := r.Layers()
		firstBlocked := ""
		for j, l := range layers {
			if l.Layer != layerNames[j] || l.Decision != r.LayerDecision(l.Layer) || l.Reason == "" {
				t.Fatalf("iteration %d: layer %d explained as %s %s (%q), decided %s", i, j, l.Layer, l.Decision, l.Reason, r.LayerDecision(layerNames[j]))
			}
			if l.Decision == DecisionBlocked && firstBlocked == "" {
				firstBlocked = l.Layer
			}
		}
		if (firstBlocked != "") != !r.Allowed() || firstBlocked != "" && firstBlocked != r.DecidingLayer {
			t.Fatalf("iteration %d: decided %s by %s, explained first block %q", i, r.Decision, r.DecidingLayer, firstBlocked)
		}
		again, _ := evaluate(r.in, true)
		if again.Decision != r.Decision || again.DecidingLayer != r.DecidingLayer || again.ErrorCode != r.ErrorCode ||
			again.ChallengeMFA != r.ChallengeMFA || again.AutomaticRedemption != r.AutomaticRedemption || again.Trusted != r.Trusted || again.decisions != r.decisions {
			t.Fatalf("iteration %d: explaining decided differently", i)
		}
	}
}
