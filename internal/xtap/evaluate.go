package xtap

import (
	"encoding/json"
	"strings"
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

// Result is a decision with every layer's part. It marshals to the body
// of POST /v1.0/policies/crossTenantAccessPolicy/evaluate.
type Result struct {
	// Decision is DecisionAllowed or DecisionBlocked.
	Decision string
	// DecidingLayer is the first layer that blocked; when allowed, the
	// last access layer that allowed ("" when none applied).
	DecidingLayer string
	// ErrorCode is ErrOutboundPolicy or ErrInboundPolicy when that layer
	// decided a block, else 0 (null on the wire).
	ErrorCode int
	// Layers are always the five layers, in order.
	Layers []LayerResult

	// ChallengeMFA: the resource tenant must ask for MFA itself.
	ChallengeMFA bool
	// AutomaticRedemption: no consent page at redemption.
	AutomaticRedemption bool
	// Trusted are the home claims the resource tenant accepts.
	Trusted Claims
}

// Allowed reports whether access is allowed.
func (r Result) Allowed() bool { return r.Decision == DecisionAllowed }

// MarshalJSON writes the what-if response: decision, decidingLayer,
// errorCode (null when none) and layers.
func (r Result) MarshalJSON() ([]byte, error) {
	type wire struct {
		Decision      string        `json:"decision"`
		DecidingLayer *string       `json:"decidingLayer"`
		ErrorCode     *int          `json:"errorCode"`
		Layers        []LayerResult `json:"layers"`
	}
	w := wire{Decision: r.Decision, Layers: r.Layers}
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
func Evaluate(in Input) Result {
	r := Result{Layers: make([]LayerResult, 5)}
	e := evaluation{in: in, userID: lower(in.User.ID), appID: lower(in.AppID)}
	r.Layers[0] = e.invitation()
	r.Layers[1] = e.homeOutbound()
	r.Layers[2] = e.resourceInbound()
	r.Layers[3], r.Trusted = e.inboundTrust()
	r.Layers[4] = e.automaticRedemption()
	r.ChallengeMFA = r.Layers[3].Decision == DecisionChallenge
	r.AutomaticRedemption = r.Layers[4].Decision == DecisionAllowed

	r.Decision = DecisionAllowed
	for _, l := range r.Layers {
		if l.Decision == DecisionBlocked {
			r.Decision, r.DecidingLayer = DecisionBlocked, l.Layer
			switch l.Layer {
			case LayerHomeOutbound:
				r.ErrorCode = ErrOutboundPolicy
			case LayerResourceInbound:
				r.ErrorCode = ErrInboundPolicy
			}
			return r
		}
	}
	for _, l := range r.Layers[:3] {
		if l.Decision == DecisionAllowed {
			r.DecidingLayer = l.Layer
		}
	}
	return r
}

// TrustedClaims returns the home claims the resource tenant accepts under
// its effective settings toward the home tenant (partner or default
// inboundTrust). A nil resourceInbound trusts nothing.
func TrustedClaims(resourceInbound *CompiledSettings, home Claims) Claims {
	if resourceInbound == nil {
		return Claims{}
	}
	t := resourceInbound.s.InboundTrust.Value
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
		homeOutbound.s.AutomaticRedemptionOutbound.Value && resourceInbound.s.AutomaticRedemptionInbound.Value
}

type evaluation struct {
	in            Input
	userID, appID string
}

func (e *evaluation) direct() bool { return e.in.AccessType == B2BDirectConnect }

func (e *evaluation) kind() string {
	if e.direct() {
		return "B2B direct connect"
	}
	return "B2B collaboration"
}

func (e *evaluation) home() string {
	switch {
	case e.in.HomeTenantName != "":
		return e.in.HomeTenantName
	case e.in.HomeTenantID != "":
		return "tenant " + e.in.HomeTenantID
	}
	return "the user's home"
}

func (e *evaluation) resource() string {
	switch {
	case e.in.ResourceTenantName != "":
		return e.in.ResourceTenantName
	case e.in.ResourceTenantID != "":
		return "tenant " + e.in.ResourceTenantID
	}
	return "the resource tenant"
}

func (e *evaluation) knownAccessType() bool {
	return e.in.AccessType == B2BCollaboration || e.in.AccessType == B2BDirectConnect
}

func (e *evaluation) invitation() LayerResult {
	l := LayerResult{Layer: LayerExternalCollaboration}
	switch {
	case e.direct():
		l.Decision = DecisionNotApplicable
		l.Reason = "B2B direct connect users are not invited, so the external collaboration settings do not apply."
	case e.in.Invitation == nil:
		l.Decision = DecisionNotApplicable
		l.Reason = "The external collaboration settings decide who may be invited; this user is not being invited, so they do not apply (an existing guest keeps working when only they tighten)."
	default:
		l.Rule, l.Reason = e.in.Invitation.Rule, e.in.Invitation.Reason
		l.Decision = DecisionBlocked
		if e.in.Invitation.Allowed {
			l.Decision = DecisionAllowed
		}
	}
	return l
}

func (e *evaluation) homeOutbound() LayerResult {
	l := LayerResult{Layer: LayerHomeOutbound}
	switch {
	case !e.knownAccessType():
		l.Decision = DecisionNotApplicable
		l.Reason = "The access type is not one this server knows."
	case e.in.HomeTenantID == "":
		l.Decision = DecisionNotApplicable
		l.Reason = "The user's home is not a tenant (a social, federated or one-time-passcode identity), so no home tenant's outbound settings apply."
	case e.in.HomeOutbound == nil && e.in.HomeElsewhere:
		l.Decision = DecisionNotApplicable
		l.Reason = e.home() + " is a tenant of another deployment, which enforces its own outbound settings."
	case e.in.HomeOutbound == nil:
		l.Decision = DecisionBlocked
		l.Reason = e.home() + "'s outbound settings could not be read, so access is refused (fail closed)."
	default:
		ru := e.in.HomeOutbound.collabOut
		if e.direct() {
			ru = e.in.HomeOutbound.directOut
		}
		l = e.check(LayerHomeOutbound, ru, e.in.HomeOutbound, e.home(), e.resource(), "outbound")
	}
	return l
}

func (e *evaluation) resourceInbound() LayerResult {
	l := LayerResult{Layer: LayerResourceInbound}
	switch {
	case !e.knownAccessType():
		l.Decision = DecisionBlocked
		l.Reason = "The access type '" + string(e.in.AccessType) + "' is not one this server knows (b2bCollaboration or b2bDirectConnect), so access is refused."
	case e.in.HomeTenantID == "" && e.direct():
		l.Decision = DecisionBlocked
		l.Reason = "B2B direct connect is only for users of another tenant, and this user's home is not a tenant."
	case e.in.HomeTenantID == "":
		l.Decision = DecisionNotApplicable
		l.Reason = "Inbound cross-tenant access settings apply only to users of other tenants; the external collaboration settings govern this user."
	case e.in.ResourceInbound == nil:
		l.Decision = DecisionBlocked
		l.Reason = e.resource() + "'s inbound settings could not be read, so access is refused (fail closed)."
	default:
		ru := e.in.ResourceInbound.collabIn
		if e.direct() {
			ru = e.in.ResourceInbound.directIn
		}
		l = e.check(LayerResourceInbound, ru, e.in.ResourceInbound, e.resource(), e.home(), "inbound")
	}
	return l
}

// describe names the settings a rule comes from, e.g. "Fabrikam's outbound
// B2B collaboration settings for Contoso (partner configuration)".
func (e *evaluation) describe(ru *rule, cs *CompiledSettings, owner, other, dir string) string {
	s := owner + "'s " + dir + " " + e.kind() + " settings"
	switch {
	case ru.from == FromPartner:
		return s + " for " + other + " (partner configuration)"
	case cs.s.HasPartner:
		return s + " (default configuration; the partner configuration for " + other + " leaves " + ru.property + " to it)"
	}
	return s + " (default configuration; there is no partner configuration for " + other + ")"
}

// check applies one B2B setting (Graph §3.3) and explains the outcome.
func (e *evaluation) check(layer string, ru *rule, cs *CompiledSettings, owner, other, dir string) LayerResult {
	l := LayerResult{Layer: layer, Rule: ru.path}
	desc := e.describe(ru, cs, owner, other, dir)
	u, a := &ru.users, &ru.apps
	if u.access == accessInvalid || a.access == accessInvalid {
		l.Decision = DecisionBlocked
		l.Reason = desc + " have an access type this server does not recognise, so nobody is let in (fail closed). An administrator of " + owner + " can set accessType to allowed or blocked in " + ru.property + "."
		return l
	}
	userHit, matched := u.matchUser(e.userID, e.in.User.Groups)
	noApp := e.appID == ""

	if u.access == accessBlocked && a.access == accessBlocked {
		appHit := a.matchApp(e.appID)
		if noApp {
			appHit = a.coversEveryApp()
		}
		if userHit && appHit {
			l.Decision = DecisionBlocked
			l.Rule = ru.path + "/usersAndGroups+applications"
			l.Reason = desc + " block " + e.userPhrase(matched) + " from " + e.appPhrase(a) + ". An administrator of " + owner + " can narrow " + ru.property + ".usersAndGroups or " + ru.property + ".applications so they no longer cover this user on this application" + orPartner(ru, other) + "."
			return l
		}
		l.Decision = DecisionAllowed
		l.Reason = desc + " block only listed users from listed applications, and this sign-in is not one of those."
		return l
	}

	userOK := userHit == (u.access == accessAllowed)
	var appOK, appHit bool
	if noApp {
		if a.access == accessAllowed {
			appOK = a.listsSomeApp()
		} else {
			appOK = !a.coversEveryApp()
		}
	} else {
		appHit = a.matchApp(e.appID)
		appOK = appHit == (a.access == accessAllowed)
	}
	switch {
	case !userOK && u.access == accessAllowed:
		l.Decision = DecisionBlocked
		l.Rule = ru.path + "/usersAndGroups"
		l.Reason = desc + " let in only the users and groups they list, and user " + e.userID + " of " + e.home() + " is neither listed nor in a listed group. An administrator of " + owner + " can add the user or one of their groups to " + ru.property + ".usersAndGroups" + orPartner(ru, other) + "."
	case !userOK:
		l.Decision = DecisionBlocked
		l.Rule = ru.path + "/usersAndGroups"
		l.Reason = desc + " block " + e.userPhrase(matched) + ". An administrator of " + owner + " can remove that target from " + ru.property + ".usersAndGroups" + orPartner(ru, other) + "."
	case !appOK && a.access == accessAllowed && noApp:
		l.Decision = DecisionBlocked
		l.Rule = ru.path + "/applications"
		l.Reason = desc + " let in only the applications they list, and list none of this deployment, so this user can reach no application. An administrator of " + owner + " can add applications to " + ru.property + ".applications" + orPartner(ru, other) + "."
	case !appOK && a.access == accessAllowed:
		l.Decision = DecisionBlocked
		l.Rule = ru.path + "/applications"
		l.Reason = desc + " let in only the applications they list, and application " + e.appID + " is not listed. An administrator of " + owner + " can add it to " + ru.property + ".applications" + orPartner(ru, other) + "."
	case !appOK:
		l.Decision = DecisionBlocked
		l.Rule = ru.path + "/applications"
		l.Reason = desc + " block " + e.appPhrase(a) + ". An administrator of " + owner + " can remove that target from " + ru.property + ".applications" + orPartner(ru, other) + "."
	default:
		l.Decision = DecisionAllowed
		l.Reason = desc + " let " + e.admittedUsers(u, matched) + " in to " + e.admittedApps(a, appHit) + "."
	}
	return l
}

// userPhrase names the users a blocked list matched.
func (e *evaluation) userPhrase(matched string) string {
	switch {
	case matched == AllUsers:
		return "all users"
	case matched == e.userID:
		return "user " + matched
	}
	return "members of group " + matched + ", which includes this user"
}

// appPhrase names the applications a blocked list matched.
func (e *evaluation) appPhrase(a *targetSet) string {
	if a.coversEveryApp() {
		return "every application"
	}
	return "application " + e.appID
}

func (e *evaluation) admittedUsers(u *targetSet, matched string) string {
	switch {
	case u.access == accessBlocked:
		return "everyone they do not block, which includes this user,"
	case matched == AllUsers:
		return "all users"
	case matched == e.userID:
		return "user " + matched + ", who is listed,"
	}
	return "members of group " + matched + ", which includes this user,"
}

func (e *evaluation) admittedApps(a *targetSet, hit bool) string {
	switch {
	case e.appID == "" && a.access == accessAllowed && a.coversEveryApp():
		return "every application"
	case e.appID == "":
		return "at least one application"
	case a.access == accessBlocked:
		return "application " + e.appID + ", which they do not block"
	case a.coversEveryApp():
		return "every application"
	}
	return "application " + e.appID + ", which is listed"
}

func (e *evaluation) inboundTrust() (LayerResult, Claims) {
	l := LayerResult{Layer: LayerInboundTrust}
	var trust InboundTrust
	var trusted Claims
	var source string
	if e.in.HomeTenantID != "" && e.in.ResourceInbound != nil {
		cs := e.in.ResourceInbound
		r := cs.s.InboundTrust
		trust = r.Value
		trusted = TrustedClaims(cs, e.in.HomeClaims)
		l.Rule = settingPath(r.From, cs.s.PartnerTenantID, "inboundTrust")
		if r.From == FromPartner {
			source = " (partner configuration)"
		} else {
			source = " (default configuration)"
		}
	}
	req := e.in.Required
	var unmet []string
	var blocked, challenge bool
	why := func(what string, proved, accepted bool) string {
		switch {
		case e.in.HomeTenantID == "":
			return what + ", and the user's home is not a tenant whose claims could be trusted"
		case !accepted:
			return what + ", and " + e.resource() + " does not accept " + what + " claims from " + e.home() + source
		case !proved:
			return what + ", and the home token does not show " + what
		}
		return ""
	}
	if req.CompliantDevice && !trusted.CompliantDevice {
		blocked = true
		unmet = append(unmet, why("a compliant device", e.in.HomeClaims.CompliantDevice, trust.IsCompliantDeviceAccepted))
	}
	if req.HybridJoinedDevice && !trusted.HybridJoinedDevice {
		blocked = true
		unmet = append(unmet, why("a hybrid-joined device", e.in.HomeClaims.HybridJoinedDevice, trust.IsHybridAzureADJoinedDeviceAccepted))
	}
	if req.MFA && !trusted.MFA {
		if e.direct() {
			blocked = true
		} else {
			challenge = true
		}
		unmet = append(unmet, why("MFA", e.in.HomeClaims.MFA, trust.IsMfaAccepted))
	}
	mfaUnmet := req.MFA && !trusted.MFA
	switch {
	case blocked:
		l.Decision = DecisionBlocked
		l.Reason = e.resource() + " requires " + strings.Join(unmet, "; it also requires ") + "."
		var because []string
		if (req.CompliantDevice && !trusted.CompliantDevice) || (req.HybridJoinedDevice && !trusted.HybridJoinedDevice) {
			because = append(because, "only the home tenant can vouch for a guest's device")
		}
		if e.direct() && mfaUnmet {
			because = append(because, "B2B direct connect users cannot be asked for MFA by the resource tenant")
		}
		l.Reason += " Access is blocked because " + strings.Join(because, " and ") + ". The user needs a home sign-in that proves these claims, and " + e.resource() + " must accept them from " + e.home() + " in inboundTrust."
	case challenge:
		l.Decision = DecisionChallenge
		l.Reason = e.resource() + " requires " + unmet[0] + ", so " + e.resource() + " asks for MFA itself."
	case req.MFA || req.CompliantDevice || req.HybridJoinedDevice:
		l.Decision = DecisionAllowed
		l.Reason = e.resource() + " accepts the claims it requires from " + e.home() + source + ", and the home token shows them, so the user is not asked again."
	default:
		l.Decision = DecisionAllowed
		l.Reason = "This sign-in requires no MFA or device claim."
		if e.in.HomeTenantID != "" && e.in.ResourceInbound != nil {
			l.Reason += " " + e.resource() + " " + trustPhrase(trust) + " from " + e.home() + source + "."
		}
	}
	return l, trusted
}

func trustPhrase(t InboundTrust) string {
	var acc []string
	if t.IsMfaAccepted {
		acc = append(acc, "MFA")
	}
	if t.IsCompliantDeviceAccepted {
		acc = append(acc, "compliant-device")
	}
	if t.IsHybridAzureADJoinedDeviceAccepted {
		acc = append(acc, "hybrid-joined-device")
	}
	if len(acc) == 0 {
		return "accepts no MFA or device claims"
	}
	return "accepts " + strings.Join(acc, ", ") + " claims"
}

func (e *evaluation) automaticRedemption() LayerResult {
	l := LayerResult{Layer: LayerAutomaticRedemption}
	switch {
	case e.direct():
		l.Decision = DecisionNotApplicable
		l.Reason = "B2B direct connect users are not redeemed into the resource tenant, so there is no consent page."
		return l
	case !e.knownAccessType():
		l.Decision = DecisionNotApplicable
		l.Reason = "The access type is not one this server knows."
		return l
	case e.in.HomeTenantID == "":
		l.Decision = DecisionConsent
		l.Reason = "Automatic redemption is only for users of another tenant, so this user sees the consent page."
		return l
	case e.in.HomeOutbound == nil:
		l.Decision = DecisionConsent
		l.Reason = e.home() + "'s outbound automatic redemption setting is not known here, so the consent page is shown."
		return l
	case e.in.ResourceInbound == nil:
		l.Decision = DecisionConsent
		l.Reason = e.resource() + "'s inbound automatic redemption setting could not be read, so the consent page is shown."
		return l
	}
	out := e.in.HomeOutbound.s.AutomaticRedemptionOutbound
	in := e.in.ResourceInbound.s.AutomaticRedemptionInbound
	outPath := "homeOutbound: " + settingPath(out.From, e.in.HomeOutbound.s.PartnerTenantID, "automaticUserConsentSettings/outboundAllowed")
	inPath := "resourceInbound: " + settingPath(in.From, e.in.ResourceInbound.s.PartnerTenantID, "automaticUserConsentSettings/inboundAllowed")
	if out.Value && in.Value {
		l.Decision = DecisionAllowed
		l.Rule = outPath + "; " + inPath
		l.Reason = e.home() + " allows automatic redemption outbound to " + e.resource() + " and " + e.resource() + " allows it inbound from " + e.home() + ", so invitations are redeemed without the consent page."
		return l
	}
	l.Decision = DecisionConsent
	var missing, rules []string
	if !out.Value {
		rules = append(rules, outPath)
		missing = append(missing, e.home()+" has not enabled automaticUserConsentSettings.outboundAllowed for "+e.resource()+onlyPartner(out.From))
	}
	if !in.Value {
		rules = append(rules, inPath)
		missing = append(missing, e.resource()+" has not enabled automaticUserConsentSettings.inboundAllowed for "+e.home()+onlyPartner(in.From))
	}
	l.Rule = strings.Join(rules, "; ")
	l.Reason = "The consent page is shown because " + strings.Join(missing, ", and ") + "."
	return l
}

// orPartner suggests a partner configuration when the default decided, so
// an admin can open up one tenant without opening up all.
func orPartner(ru *rule, other string) string {
	if ru.from == FromDefault {
		return ", or give " + other + " a partner configuration that allows it"
	}
	return ""
}

func onlyPartner(from Origin) string {
	if from == FromDefault {
		return " (only a partner configuration can enable it)"
	}
	return ""
}
