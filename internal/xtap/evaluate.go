package xtap

import (
	"encoding/json"
	"strings"
	"sync"
)

// AccessType is what a cross-tenant access is for.
type AccessType string

const (
	B2BCollaboration AccessType = "b2bCollaboration"
	B2BDirectConnect AccessType = "b2bDirectConnect"
)

// ParseAccessType reads an access type case-insensitively (the what-if's
// accessType).
func ParseAccessType(s string) (AccessType, error) {
	switch {
	case strings.EqualFold(s, string(B2BCollaboration)):
		return B2BCollaboration, nil
	case strings.EqualFold(s, string(B2BDirectConnect)):
		return B2BDirectConnect, nil
	}
	return "", invalid("Invalid value '%s' for property 'accessType': use b2bCollaboration or b2bDirectConnect.", s)
}

// The layers of a decision, in the order they are reported and decide.
const (
	LayerExternalCollaboration = "externalCollaborationSettings"
	LayerHomeOutbound          = "homeOutbound"
	LayerResourceInbound       = "resourceInbound"
	LayerInboundTrust          = "inboundTrust"
	LayerAutomaticRedemption   = "automaticRedemption"
)

// A layer's decision.
const (
	DecisionAllowed = "allowed"
	DecisionBlocked = "blocked"
	// DecisionChallenge (inboundTrust): access stands, but the resource
	// tenant must ask for MFA itself because it does not accept the home
	// tenant's.
	DecisionChallenge = "challenge"
	// DecisionConsent (automaticRedemption): the consent page is shown;
	// DecisionAllowed there means invitations are redeemed without it.
	DecisionConsent       = "consent"
	DecisionNotApplicable = "notApplicable"
)

// Entra's sign-in error codes for a cross-tenant access denial.
const (
	// ErrOutboundPolicy is AADSTS500212 NotAllowedByOutboundPolicyTenant:
	// the home tenant's outbound settings refuse.
	ErrOutboundPolicy = 500212
	// ErrInboundPolicy is AADSTS500213 NotAllowedByInboundPolicyTenant: the
	// resource tenant's inbound settings refuse.
	ErrInboundPolicy = 500213
)

// Claims are the MFA and device claims of a sign-in: what the home
// tenant's token proved, or what the resource requires.
type Claims struct {
	MFA                bool
	CompliantDevice    bool
	HybridJoinedDevice bool
}

// User is the user as their home tenant knows them: object id and the ids
// of every group they are in, directly or transitively. Both outbound and
// inbound usersAndGroups list home-tenant ids, so the same ids serve both.
type User struct {
	ID     string
	Groups []string
}

// InvitationDecision is the invitation layer's (external collaboration
// settings') decision, decided elsewhere (b2b.CanInvite) and combined here
// so the most restrictive layer wins. Its fields match b2b.Decision, so
// one converts to the other: xtap.InvitationDecision(d).
type InvitationDecision struct {
	Allowed bool
	Rule    string
	Reason  string
}

// Input is everything Evaluate decides from.
type Input struct {
	AccessType AccessType

	// HomeTenantID is the user's home tenant; empty when the user's home is
	// not a tenant (a social, SAML/WS-Fed or one-time-passcode identity),
	// to whom cross-tenant access settings do not apply. The names, when
	// given, make reasons readable; ids are used otherwise.
	HomeTenantID, HomeTenantName         string
	ResourceTenantID, ResourceTenantName string

	// HomeOutbound is the home tenant's policy toward the resource tenant:
	// homePolicy.For(ResourceTenantID). Nil with HomeElsewhere when the
	// home tenant is in another deployment (which enforces its own
	// outbound settings); nil otherwise is refused (fail closed).
	HomeOutbound  *CompiledSettings
	HomeElsewhere bool
	// ResourceInbound is the resource tenant's policy toward the home
	// tenant: resourcePolicy.For(HomeTenantID). Nil is refused (fail closed).
	ResourceInbound *CompiledSettings

	User User
	// AppID is the application signed in to (its appId; appIds are unique
	// in the deployment, so the outbound list's "partner's app ids" and the
	// inbound list's "own app ids" are the same ids). Empty when the
	// sign-in names no application (redemption, a portal): see Evaluate.
	AppID string

	// HomeClaims are what the home token proved; Required is what the
	// resource requires of this sign-in (its conditional access).
	HomeClaims, Required Claims

	// Invitation is the invitation layer's decision when the user is being
	// invited or redeemed; nil at sign-in and refresh, where that layer
	// does not apply (existing guests keep working when only it tightens).
	Invitation *InvitationDecision
}

// LayerResult is one layer's part in a decision.
type LayerResult struct {
	Layer    string `json:"layer"`
	Decision string `json:"decision"`
	Rule     string `json:"rule"`
	Reason   string `json:"reason"`
}

// Result is a decision. Layers explains it, layer by layer, and it
// marshals to the body of POST /v1.0/policies/crossTenantAccessPolicy/evaluate.
type Result struct {
	// Decision is DecisionAllowed or DecisionBlocked.
	Decision string
	// DecidingLayer is the first layer that blocked; when allowed, the
	// last access layer that allowed ("" when none applied).
	DecidingLayer string
	// ErrorCode is ErrOutboundPolicy or ErrInboundPolicy when that layer
	// decided a block, else 0 (null on the wire).
	ErrorCode int

	// ChallengeMFA: the resource tenant must ask for MFA itself.
	ChallengeMFA bool
	// AutomaticRedemption: no consent page at redemption.
	AutomaticRedemption bool
	// Trusted are the home claims the resource tenant accepts.
	Trusted Claims

	decisions [5]string // each layer's decision, in Layers' order
	in        Input     // what was decided, for Layers
}

// Allowed reports whether access is allowed.
func (r Result) Allowed() bool { return r.Decision == DecisionAllowed }

// LayerDecision returns one layer's decision ("" for an unknown layer).
func (r Result) LayerDecision(layer string) string {
	for i, l := range layerNames {
		if l == layer {
			return r.decisions[i]
		}
	}
	return ""
}

var layerNames = [5]string{LayerExternalCollaboration, LayerHomeOutbound, LayerResourceInbound, LayerInboundTrust, LayerAutomaticRedemption}

// Layers explains the decision: always the five layers, in order, each
// with its decision, the rule that decided it (as Graph addresses the
// setting) and a reason an administrator can act on.
//
// Evaluate decides without writing any of this, because the words cost
// more than the decision (about 1.5 KB a time) and enforcement needs them
// only to log a refusal; Layers runs the same code again over the same
// input with the writing switched on, so explanation and decision cannot
// differ. It reads the Input the decision was made from, so the caller
// must not have changed what that Input points to (its group list, its
// invitation decision) in between.
func (r Result) Layers() []LayerResult {
	_, layers := evaluate(r.in, true)
	return layers
}

// MarshalJSON writes the what-if response: decision, decidingLayer,
// errorCode (null when none) and layers.
func (r Result) MarshalJSON() ([]byte, error) {
	type wire struct {
		Decision      string        `json:"decision"`
		DecidingLayer *string       `json:"decidingLayer"`
		ErrorCode     *int          `json:"errorCode"`
		Layers        []LayerResult `json:"layers"`
	}
	w := wire{Decision: r.Decision, Layers: r.Layers()}
	if r.DecidingLayer != "" {
		w.DecidingLayer = &r.DecidingLayer
	}
	if r.ErrorCode != 0 {
		w.ErrorCode = &r.ErrorCode
	}
	if w.Layers == nil {
		w.Layers = []LayerResult{}
	}
	return json.Marshal(w)
}

// Evaluate decides a cross-tenant access: the invitation layer (as given),
// the home tenant's outbound settings, the resource tenant's inbound
// settings, the resource's trust of the home tenant's claims, and automatic
// redemption. Access is blocked when any layer blocks; the first blocking
// layer in that order decides (so a home outbound denial is reported as
// 500212 even when the resource would refuse too, as in Entra, where the
// home tenant checks first).
//
// Targets follow Graph exactly. With at least one side of a B2B setting
// allowed, access needs both rules to admit: an allowed side admits only
// its targets, a blocked side everything but its targets. With both sides
// blocked, only the intersection is denied (listed users on listed
// applications). A side left out of a B2B setting (Graph's own examples
// set just one) restricts nothing of its own: "block group g" alone blocks
// g from every application, "allow application a" alone lets everyone use
// a and nothing else. (It is compiled as the keyword All with the other
// side's access type, which comes to the same in every case.)
//
// A sign-in naming no application (AppID empty: redemption, a portal) is
// allowed when at least one application would be allowed for this user:
// the applications rule then fails only if it leaves nothing (allowed
// lists naming no application of this deployment, or blocked
// AllApplications). Each later sign-in to an application is checked with
// its appId. Office365 matches no application of this deployment.
//
// Inbound trust: a required claim is satisfied when the home token proved
// it and the resource's effective inboundTrust accepts it. Unmet MFA is a
// challenge for B2B collaboration (the resource asks itself) and a block
// for B2B direct connect (whose users cannot be challenged); an unmet
// device claim is a block (only the home tenant can vouch for a guest's
// device). Automatic redemption needs the home tenant's outbound and the
// resource tenant's inbound automaticUserConsentSettings both enabled.
//
// Evaluate writes no words and allocates nothing; Result.Layers explains
// the decision when someone will read it.
func Evaluate(in Input) Result {
	r, _ := evaluate(in, false)
	return r
}

// evaluate decides, and when explain is set also writes every layer's rule
// and reason. The two runs differ in nothing but the writing.
func evaluate(in Input, explain bool) (Result, []LayerResult) {
	e := evaluation{in: in, userID: lower(in.User.ID), appID: lower(in.AppID), quiet: !explain}
	var bp *[]byte
	if explain {
		bp = textBuffers.Get().(*[]byte)
		e.buf = (*bp)[:0]
	}
	e.appKey = idKey(e.appID)
	e.isDirect = in.AccessType == B2BDirectConnect
	e.isKnown = e.isDirect || in.AccessType == B2BCollaboration
	// The user's keys are computed here, all at once (a few nanoseconds
	// each), into room on the stack, and kept out of e: e's strings can end
	// up in the explanation, and the compiler, not telling e's fields
	// apart, would move everything e points to onto the heap.
	var spare [64]uint64
	keys := spare[:0]
	if len(in.User.Groups) > len(spare) {
		keys = make([]uint64, 0, len(in.User.Groups))
	}
	for _, g := range in.User.Groups {
		keys = append(keys, idKey(g))
	}
	sub := subject{id: e.userID, idKey: idKey(e.userID), groups: in.User.Groups, groupKeys: keys}

	if explain {
		e.homeName, e.resName = e.name(in.HomeTenantName, in.HomeTenantID, "the user's home"), e.name(in.ResourceTenantName, in.ResourceTenantID, "the resource tenant")
	}
	var texts [5]layerText
	r := Result{in: in}
	r.decisions[0] = e.invitation(&texts[0])
	r.decisions[1] = e.homeOutbound(&texts[1], &sub)
	r.decisions[2] = e.resourceInbound(&texts[2], &sub)
	r.decisions[3], r.Trusted = e.inboundTrust(&texts[3])
	r.decisions[4] = e.automaticRedemption(&texts[4])
	r.ChallengeMFA = r.decisions[3] == DecisionChallenge
	r.AutomaticRedemption = r.decisions[4] == DecisionAllowed

	r.Decision = DecisionAllowed
	for i, d := range r.decisions {
		if d == DecisionBlocked {
			r.Decision, r.DecidingLayer = DecisionBlocked, layerNames[i]
			switch layerNames[i] {
			case LayerHomeOutbound:
				r.ErrorCode = ErrOutboundPolicy
			case LayerResourceInbound:
				r.ErrorCode = ErrInboundPolicy
			}
			break
		}
	}
	if r.Decision == DecisionAllowed {
		for i, d := range r.decisions[:3] {
			if d == DecisionAllowed {
				r.DecidingLayer = layerNames[i]
			}
		}
	}
	if !explain {
		return r, nil
	}
	// Every rule and reason was written into one buffer; one string holds
	// them all and each layer's are slices of it.
	all := string(e.buf)
	if *bp = e.buf; cap(e.buf) <= maxPooledText {
		textBuffers.Put(bp)
	}
	layers := make([]LayerResult, len(layerNames))
	for i := range layers {
		layers[i] = LayerResult{Layer: layerNames[i], Decision: r.decisions[i], Rule: texts[i].rule.of(all), Reason: texts[i].reason.of(all)}
		if texts[i].ruleConst != "" {
			layers[i].Rule = texts[i].ruleConst
		}
		if texts[i].reasonConst != "" {
			layers[i].Reason = texts[i].reasonConst
		}
	}
	return r, layers
}

// TrustedClaims returns the home claims the resource tenant accepts under
// its effective settings toward the home tenant (partner or default
// inboundTrust). A nil resourceInbound trusts nothing.
func TrustedClaims(resourceInbound *CompiledSettings, home Claims) Claims {
	if resourceInbound == nil {
		return Claims{}
	}
	t := resourceInbound.trust.Value
	return Claims{
		MFA:                home.MFA && t.IsMfaAccepted,
		CompliantDevice:    home.CompliantDevice && t.IsCompliantDeviceAccepted,
		HybridJoinedDevice: home.HybridJoinedDevice && t.IsHybridAzureADJoinedDeviceAccepted,
	}
}

// AutomaticRedemption reports whether invitations between the two tenants
// are redeemed without the consent page: the home tenant's outbound and the
// resource tenant's inbound automaticUserConsentSettings are both enabled
// (only partner configurations can enable them).
func AutomaticRedemption(homeOutbound, resourceInbound *CompiledSettings) bool {
	return homeOutbound != nil && resourceInbound != nil &&
		homeOutbound.autoOut.Value && resourceInbound.autoIn.Value
}

// textBuffers holds the buffers decisions write their text into, so that
// the steady state allocates only the one string the text ends up in.
var textBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 2048)
	return &b
}}

// maxPooledText keeps an unusually long text's buffer out of the pool.
const maxPooledText = 16 << 10

// span is a piece of the evaluation's text buffer.
type span struct{ from, to int }

func (s span) of(all string) string { return all[s.from:s.to] }

// layerText is where a layer's rule and reason are in the buffer; a rule
// that is a compiled path is kept as is (ruleConst) instead of copied.
type layerText struct {
	rule, reason span
	// ruleConst and reasonConst, when set, are used as they are instead of
	// copying a fixed text into the buffer.
	ruleConst, reasonConst string
}

type evaluation struct {
	in                Input
	userID, appID     string
	appKey            uint64
	isDirect, isKnown bool // the access type, compared once
	quiet             bool // decide only: write no text
	homeName, resName string
	buf               []byte
}

// name is how reasons call a tenant: its name, else "tenant <id>".
func (e *evaluation) name(name, id, none string) string {
	switch {
	case name != "":
		return name
	case id != "":
		return "tenant " + id
	}
	return none
}

// w appends text to the buffer (nothing when deciding only).
func (e *evaluation) w(parts ...string) {
	if e.quiet {
		return
	}
	for _, p := range parts {
		e.buf = append(e.buf, p...)
	}
}

// start and end bracket one span of text.
func (e *evaluation) start(s *span) { s.from = len(e.buf) }
func (e *evaluation) end(s *span)   { s.to = len(e.buf) }

// say writes one whole span.
func (e *evaluation) say(s *span, parts ...string) {
	e.start(s)
	e.w(parts...)
	e.end(s)
}

func (e *evaluation) direct() bool { return e.isDirect }

func (e *evaluation) knownAccessType() bool { return e.isKnown }

func (e *evaluation) invitation(t *layerText) string {
	switch {
	case e.direct():
		t.reasonConst = "B2B direct connect users are not invited, so the external collaboration settings do not apply."
		return DecisionNotApplicable
	case e.in.Invitation == nil:
		t.reasonConst = "The external collaboration settings decide who may be invited; this user is not being invited, so they do not apply (an existing guest keeps working when only they tighten)."
		return DecisionNotApplicable
	}
	t.ruleConst = e.in.Invitation.Rule
	e.say(&t.reason, e.in.Invitation.Reason)
	if e.in.Invitation.Allowed {
		return DecisionAllowed
	}
	return DecisionBlocked
}

func (e *evaluation) homeOutbound(t *layerText, sub *subject) string {
	switch {
	case !e.knownAccessType():
		t.reasonConst = "The access type is not one this server knows."
		return DecisionNotApplicable
	case e.in.HomeTenantID == "":
		t.reasonConst = "The user's home is not a tenant (a social, federated or one-time-passcode identity), so no home tenant's outbound settings apply."
		return DecisionNotApplicable
	case e.in.HomeOutbound == nil && e.in.HomeElsewhere:
		e.say(&t.reason, e.homeName, " is a tenant of another deployment, which enforces its own outbound settings.")
		return DecisionNotApplicable
	case e.in.HomeOutbound == nil:
		e.say(&t.reason, e.homeName, "'s outbound settings could not be read, so access is refused (fail closed).")
		return DecisionBlocked
	}
	ru := e.in.HomeOutbound.collabOut
	if e.direct() {
		ru = e.in.HomeOutbound.directOut
	}
	return e.check(t, ru, e.in.HomeOutbound, sub, e.homeName, e.resName, "outbound")
}

func (e *evaluation) resourceInbound(t *layerText, sub *subject) string {
	switch {
	case !e.knownAccessType():
		e.say(&t.reason, "The access type '", string(e.in.AccessType), "' is not one this server knows (b2bCollaboration or b2bDirectConnect), so access is refused.")
		return DecisionBlocked
	case e.in.HomeTenantID == "" && e.direct():
		t.reasonConst = "B2B direct connect is only for users of another tenant, and this user's home is not a tenant."
		return DecisionBlocked
	case e.in.HomeTenantID == "":
		t.reasonConst = "Inbound cross-tenant access settings apply only to users of other tenants; the external collaboration settings govern this user."
		return DecisionNotApplicable
	case e.in.ResourceInbound == nil:
		e.say(&t.reason, e.resName, "'s inbound settings could not be read, so access is refused (fail closed).")
		return DecisionBlocked
	}
	ru := e.in.ResourceInbound.collabIn
	if e.direct() {
		ru = e.in.ResourceInbound.directIn
	}
	return e.check(t, ru, e.in.ResourceInbound, sub, e.resName, e.homeName, "inbound")
}

// describe writes which settings a rule comes from, e.g. "Fabrikam's
// outbound B2B collaboration settings for Contoso (partner configuration)".
func (e *evaluation) describe(ru *rule, cs *CompiledSettings, owner, other, dir string) {
	phrase := settingsPhrase[0]
	if dir == "inbound" {
		phrase = settingsPhrase[1]
	}
	if e.direct() {
		e.w(owner, phrase[1])
	} else {
		e.w(owner, phrase[0])
	}
	switch {
	case ru.from == FromPartner:
		e.w(" for ", other, " (partner configuration)")
	case cs.hasPartner:
		e.w(" (default configuration; the partner configuration for ", other, " leaves ", ru.property, " to it)")
	default:
		e.w(" (default configuration; there is no partner configuration for ", other, ")")
	}
}

// settingsPhrase[inbound][direct connect] follows a tenant's name.
var settingsPhrase = [2][2]string{
	{"'s outbound B2B collaboration settings", "'s outbound B2B direct connect settings"},
	{"'s inbound B2B collaboration settings", "'s inbound B2B direct connect settings"},
}

// orPartner suggests a partner configuration when the default decided, so
// an admin can open up one tenant without opening up all.
func (e *evaluation) orPartner(ru *rule, other string) {
	if ru.from == FromDefault {
		e.w(", or give ", other, " a partner configuration that allows it")
	}
}

// path writes where a setting is, as Graph addresses it (e.g.
// partners/{tenantId}/b2bCollaborationInbound), then suffix, as span s.
func (e *evaluation) path(s *span, from Origin, cs *CompiledSettings, property, suffix string) {
	e.start(s)
	e.setting(from, cs, property)
	e.w(suffix)
	e.end(s)
}

// check applies one B2B setting (Graph §3.3), writes its rule and reason,
// and returns the decision.
func (e *evaluation) check(t *layerText, ru *rule, cs *CompiledSettings, sub *subject, owner, other, dir string) string {
	suffix := ""
	defer func() { e.path(&t.rule, ru.from, cs, ru.property, suffix) }()
	e.start(&t.reason)
	defer e.end(&t.reason)
	e.describe(ru, cs, owner, other, dir)
	u, a := &ru.users, &ru.apps
	if u.access == accessInvalid || a.access == accessInvalid {
		e.w(" have an access type this server does not recognise, so nobody is let in (fail closed). An administrator of ", owner, " can set accessType to allowed or blocked in ", ru.property, ".")
		return DecisionBlocked
	}
	userHit, who := u.matchUser(sub)
	matched := ""
	switch {
	case who == matchedAll:
		matched = AllUsers
	case who == matchedUser:
		matched = e.userID
	case who >= 0:
		matched = lower(sub.groups[who])
	}
	noApp := e.appID == ""

	if u.access == accessBlocked && a.access == accessBlocked {
		appHit := a.matchApp(e.appKey, e.appID)
		if noApp {
			appHit = a.coversEveryApp()
		}
		if userHit && appHit {
			suffix = "/usersAndGroups+applications"
			e.w(" block ")
			e.userPhrase(matched)
			e.w(" from ")
			e.appPhrase(a)
			e.w(". An administrator of ", owner, " can narrow ", ru.property, ".usersAndGroups or ", ru.property, ".applications so they no longer cover this user on this application")
			e.orPartner(ru, other)
			e.w(".")
			return DecisionBlocked
		}
		e.w(" block only listed users from listed applications, and this sign-in is not one of those.")
		return DecisionAllowed
	}

	userOK := userHit == (u.access == accessAllowed)
	var appOK bool
	if noApp {
		if a.access == accessAllowed {
			appOK = a.listsSomeApp()
		} else {
			appOK = !a.coversEveryApp()
		}
	} else {
		appOK = a.matchApp(e.appKey, e.appID) == (a.access == accessAllowed)
	}
	switch {
	case !userOK && u.access == accessAllowed:
		suffix = "/usersAndGroups"
		e.w(" let in only the users and groups they list, and user ", e.userID, " of ", e.homeName, " is neither listed nor in a listed group. An administrator of ", owner, " can add the user or one of their groups to ", ru.property, ".usersAndGroups")
	case !userOK:
		suffix = "/usersAndGroups"
		e.w(" block ")
		e.userPhrase(matched)
		e.w(". An administrator of ", owner, " can remove that target from ", ru.property, ".usersAndGroups")
	case !appOK && a.access == accessAllowed && noApp:
		suffix = "/applications"
		e.w(" let in only the applications they list, and list none of this deployment, so this user can reach no application. An administrator of ", owner, " can add applications to ", ru.property, ".applications")
	case !appOK && a.access == accessAllowed:
		suffix = "/applications"
		e.w(" let in only the applications they list, and application ", e.appID, " is not listed. An administrator of ", owner, " can add it to ", ru.property, ".applications")
	case !appOK:
		suffix = "/applications"
		e.w(" block ")
		e.appPhrase(a)
		e.w(". An administrator of ", owner, " can remove that target from ", ru.property, ".applications")
	default:
		e.w(" let ")
		e.admittedUsers(u, matched)
		e.w(" in to ")
		e.admittedApps(a)
		e.w(".")
		return DecisionAllowed
	}
	e.orPartner(ru, other)
	e.w(".")
	return DecisionBlocked
}

// userPhrase names the users a blocked list matched.
func (e *evaluation) userPhrase(matched string) {
	switch {
	case matched == AllUsers:
		e.w("all users")
	case matched == e.userID:
		e.w("user ", matched)
	default:
		e.w("members of group ", matched, ", which includes this user")
	}
}

// appPhrase names the applications a blocked list matched.
func (e *evaluation) appPhrase(a *targetSet) {
	if a.coversEveryApp() {
		e.w("every application")
		return
	}
	e.w("application ", e.appID)
}

func (e *evaluation) admittedUsers(u *targetSet, matched string) {
	switch {
	case u.access == accessBlocked:
		e.w("everyone they do not block, which includes this user,")
	case matched == AllUsers:
		e.w("all users")
	case matched == e.userID:
		e.w("user ", matched, ", who is listed,")
	default:
		e.w("members of group ", matched, ", which includes this user,")
	}
}

func (e *evaluation) admittedApps(a *targetSet) {
	switch {
	case e.appID == "" && a.access == accessAllowed && a.coversEveryApp():
		e.w("every application")
	case e.appID == "":
		e.w("at least one application")
	case a.access == accessBlocked:
		e.w("application ", e.appID, ", which they do not block")
	case a.coversEveryApp():
		e.w("every application")
	default:
		e.w("application ", e.appID, ", which is listed")
	}
}

func (e *evaluation) inboundTrust(t *layerText) (string, Claims) {
	var trust InboundTrust
	var trusted Claims
	source := ""
	known := e.in.HomeTenantID != "" && e.in.ResourceInbound != nil
	if known {
		cs := e.in.ResourceInbound
		trust = cs.trust.Value
		trusted = TrustedClaims(cs, e.in.HomeClaims)
		e.path(&t.rule, cs.trust.From, cs, "inboundTrust", "")
		source = " (default configuration)"
		if cs.trust.From == FromPartner {
			source = " (partner configuration)"
		}
	}
	req := e.in.Required
	compliantUnmet := req.CompliantDevice && !trusted.CompliantDevice
	hybridUnmet := req.HybridJoinedDevice && !trusted.HybridJoinedDevice
	mfaUnmet := req.MFA && !trusted.MFA

	// unmet writes why one required claim does not count.
	n := 0
	unmet := func(what string, proved, accepted bool) {
		if n > 0 {
			e.w("; it also requires ")
		}
		n++
		e.w(what)
		switch {
		case e.in.HomeTenantID == "":
			e.w(", and the user's home is not a tenant whose claims could be trusted")
		case !accepted:
			e.w(", and ", e.resName, " does not accept ", what, " claims from ", e.homeName, source)
		case !proved:
			e.w(", and the home token does not show ", what)
		}
	}
	e.start(&t.reason)
	defer e.end(&t.reason)
	switch {
	case compliantUnmet || hybridUnmet || mfaUnmet && e.direct():
		e.w(e.resName, " requires ")
		if compliantUnmet {
			unmet("a compliant device", e.in.HomeClaims.CompliantDevice, trust.IsCompliantDeviceAccepted)
		}
		if hybridUnmet {
			unmet("a hybrid-joined device", e.in.HomeClaims.HybridJoinedDevice, trust.IsHybridAzureADJoinedDeviceAccepted)
		}
		if mfaUnmet {
			unmet("MFA", e.in.HomeClaims.MFA, trust.IsMfaAccepted)
		}
		e.w(". Access is blocked because ")
		if compliantUnmet || hybridUnmet {
			e.w("only the home tenant can vouch for a guest's device")
			if mfaUnmet && e.direct() {
				e.w(" and ")
			}
		}
		if mfaUnmet && e.direct() {
			e.w("B2B direct connect users cannot be asked for MFA by the resource tenant")
		}
		e.w(". The user needs a home sign-in that proves these claims, and ", e.resName, " must accept them from ", e.homeName, " in inboundTrust.")
		return DecisionBlocked, trusted
	case mfaUnmet:
		e.w(e.resName, " requires ")
		unmet("MFA", e.in.HomeClaims.MFA, trust.IsMfaAccepted)
		e.w(", so ", e.resName, " asks for MFA itself.")
		return DecisionChallenge, trusted
	case req.MFA || req.CompliantDevice || req.HybridJoinedDevice:
		e.w(e.resName, " accepts the claims it requires from ", e.homeName, source, ", and the home token shows them, so the user is not asked again.")
	default:
		e.w("This sign-in requires no MFA or device claim.")
		if known {
			e.w(" ", e.resName, " ")
			e.trustPhrase(trust)
			e.w(" from ", e.homeName, source, ".")
		}
	}
	return DecisionAllowed, trusted
}

func (e *evaluation) trustPhrase(t InboundTrust) {
	if !t.IsMfaAccepted && !t.IsCompliantDeviceAccepted && !t.IsHybridAzureADJoinedDeviceAccepted {
		e.w("accepts no MFA or device claims")
		return
	}
	e.w("accepts")
	sep := " "
	for _, c := range []struct {
		on   bool
		what string
	}{{t.IsMfaAccepted, "MFA"}, {t.IsCompliantDeviceAccepted, "compliant-device"}, {t.IsHybridAzureADJoinedDeviceAccepted, "hybrid-joined-device"}} {
		if c.on {
			e.w(sep, c.what)
			sep = ", "
		}
	}
	e.w(" claims")
}

func (e *evaluation) automaticRedemption(t *layerText) string {
	switch {
	case e.direct():
		t.reasonConst = "B2B direct connect users are not redeemed into the resource tenant, so there is no consent page."
		return DecisionNotApplicable
	case !e.knownAccessType():
		t.reasonConst = "The access type is not one this server knows."
		return DecisionNotApplicable
	case e.in.HomeTenantID == "":
		t.reasonConst = "Automatic redemption is only for users of another tenant, so this user sees the consent page."
		return DecisionConsent
	case e.in.HomeOutbound == nil:
		e.say(&t.reason, e.homeName, "'s outbound automatic redemption setting is not known here, so the consent page is shown.")
		return DecisionConsent
	case e.in.ResourceInbound == nil:
		e.say(&t.reason, e.resName, "'s inbound automatic redemption setting could not be read, so the consent page is shown.")
		return DecisionConsent
	}
	home, res := e.in.HomeOutbound, e.in.ResourceInbound
	out, in := home.autoOut, res.autoIn
	outPath := func() {
		e.w("homeOutbound: ")
		e.setting(out.From, home, "automaticUserConsentSettings/outboundAllowed")
	}
	inPath := func() {
		e.w("resourceInbound: ")
		e.setting(in.From, res, "automaticUserConsentSettings/inboundAllowed")
	}
	if out.Value && in.Value {
		e.start(&t.rule)
		outPath()
		e.w("; ")
		inPath()
		e.end(&t.rule)
		e.say(&t.reason, e.homeName, " allows automatic redemption outbound to ", e.resName, " and ", e.resName, " allows it inbound from ", e.homeName, ", so invitations are redeemed without the consent page.")
		return DecisionAllowed
	}
	e.start(&t.rule)
	if !out.Value {
		outPath()
	}
	if !out.Value && !in.Value {
		e.w("; ")
	}
	if !in.Value {
		inPath()
	}
	e.end(&t.rule)
	e.start(&t.reason)
	e.w("The consent page is shown: automatic redemption needs ", e.homeName, "'s automaticUserConsentSettings.outboundAllowed for ", e.resName,
		" and ", e.resName, "'s inboundAllowed for ", e.homeName, "; ")
	switch {
	case !out.Value && !in.Value:
		e.w("neither is enabled")
	case !out.Value:
		e.w(e.homeName, "'s is not enabled")
	default:
		e.w(e.resName, "'s is not enabled")
	}
	if !out.Value && out.From == FromDefault || !in.Value && in.From == FromDefault {
		e.w(" (only a partner configuration can enable it)")
	}
	e.w(".")
	e.end(&t.reason)
	return DecisionConsent
}

// setting writes a setting's path without opening a span.
func (e *evaluation) setting(from Origin, cs *CompiledSettings, property string) {
	if from == FromPartner {
		e.w("partners/", cs.partnerID, "/", property)
	} else {
		e.w("default/", property)
	}
}
