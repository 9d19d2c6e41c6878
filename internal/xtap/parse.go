package xtap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// Request bodies are parsed strictly, property by property, rather than with
// json.Unmarshal into the model: Graph answers 400 for an unknown property or
// a wrongly typed value and names it, PATCH must tell an absent property
// (keep) from an explicit null (reset), and every message here goes to the
// caller as a Graph error message, so it must be plain and say what to fix.
//
// Read-only properties, as Graph treats them:
//   - annotations (@odata.type, @odata.context, prop@odata.type, …) are ignored
//     everywhere;
//   - default: id and isServiceDefault are ignored (the service computes
//     isServiceDefault: any accepted change makes it false);
//     automaticUserConsentSettings is ignored when it says false or null and
//     refused when it tries to enable anything (only partners can);
//   - partner: isInMultiTenantOrganization is ignored (the service sets it);
//     tenantId is required on create, and on PATCH ignored when it repeats
//     the partner's id and refused when it differs (it is the key);
//     identitySynchronization is refused inline (it has its own PUT);
//   - identitySynchronization: tenantId is ignored when it repeats the
//     partner's id and refused when it differs;
//   - policy: id, displayName, description and deletedDateTime are ignored;
//     only allowedCloudEndpoints can change.

// Graph type names used in messages.
const (
	typePolicy       = "microsoft.graph.crossTenantAccessPolicy"
	typeDefault      = "microsoft.graph.crossTenantAccessPolicyConfigurationDefault"
	typePartner      = "microsoft.graph.crossTenantAccessPolicyConfigurationPartner"
	typeIdentitySync = "microsoft.graph.crossTenantIdentitySyncPolicyPartner"
)

func invalid(format string, args ...any) error {
	return usererr.New(usererr.Invalid, format, args...)
}

// object is one JSON object of a request body, its annotations removed.
type object map[string]json.RawMessage

// parseObject reads raw as a JSON object; null reports isNull. path names
// the property in messages ("" for the body itself).
func parseObject(path string, raw json.RawMessage) (o object, isNull bool, err error) {
	raw = bytes.TrimSpace(raw)
	if isJSONNull(raw) {
		return nil, true, nil
	}
	if len(raw) == 0 || raw[0] != '{' {
		if path == "" {
			return nil, false, invalid("The request body must be a JSON object.")
		}
		return nil, false, invalid("Property '%s' must be an object.", path)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		if path == "" {
			return nil, false, invalid("The request body is not valid JSON.")
		}
		return nil, false, invalid("Property '%s' is not valid JSON.", path)
	}
	for k := range m {
		if strings.Contains(k, "@odata.") || strings.HasPrefix(k, "@") {
			delete(m, k)
		}
	}
	return object(m), false, nil
}

// keys returns o's property names in order, so that which of several
// faults a request reports, and the order of changed properties, do not
// depend on map iteration.
func (o object) keys() []string {
	ks := make([]string, 0, len(o))
	for k := range o {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func isJSONNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func unknownProperty(name, typeName string) error {
	return invalid("Property '%s' does not exist on type '%s'.", name, typeName)
}

func parseBool(path string, raw json.RawMessage) (bool, error) {
	var b bool
	if isJSONNull(raw) || json.Unmarshal(raw, &b) != nil {
		return false, invalid("Property '%s' must be true or false.", path)
	}
	return b, nil
}

// parseOptBool reads a nullable Boolean.
func parseOptBool(path string, raw json.RawMessage) (*bool, error) {
	if isJSONNull(raw) {
		return nil, nil
	}
	b, err := parseBool(path, raw)
	if err != nil {
		return nil, invalid("Property '%s' must be true, false or null.", path)
	}
	return &b, nil
}

func parseString(path string, raw json.RawMessage) (string, error) {
	var s string
	if isJSONNull(raw) || json.Unmarshal(raw, &s) != nil {
		return "", invalid("Property '%s' must be a string.", path)
	}
	return s, nil
}

func parseOptString(path string, raw json.RawMessage) (*string, error) {
	if isJSONNull(raw) {
		return nil, nil
	}
	s, err := parseString(path, raw)
	if err != nil {
		return nil, invalid("Property '%s' must be a string or null.", path)
	}
	return &s, nil
}

func parseArray(path string, raw json.RawMessage) ([]json.RawMessage, error) {
	var a []json.RawMessage
	if isJSONNull(raw) {
		return nil, invalid("Property '%s' cannot be null; send [] for none.", path)
	}
	if json.Unmarshal(raw, &a) != nil {
		return nil, invalid("Property '%s' must be an array.", path)
	}
	return a, nil
}

// TenantID validates a partner tenant id (a path key or a body's tenantId)
// and returns it in the canonical lower-case form used as the key.
func TenantID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !directory.IsGUID(s) {
		return "", invalid("'%s' is not a valid tenant id; a tenant id is a GUID such as 7b9e2c44-1a3f-4d5e-8c6b-0f1e2d3c4b5a.", s)
	}
	return strings.ToLower(s), nil
}

// side says which kind of targets a target configuration holds.
type side int

const (
	sideUsers side = iota // usersAndGroups, m365 users: user/group ids and AllUsers
	sideApps              // applications: appIds, AllApplications, Office365
)

// parseAccessType reads accessType case-insensitively and returns Graph's
// casing. unknownFutureValue is Graph's evolvable-enum sentinel, never a
// value a client may set.
func parseAccessType(path string, raw json.RawMessage) (string, error) {
	s, err := parseString(path, raw)
	if err != nil {
		return "", invalid("Property '%s' is required and must be allowed or blocked.", path)
	}
	switch {
	case strings.EqualFold(strings.TrimSpace(s), Allowed):
		return Allowed, nil
	case strings.EqualFold(strings.TrimSpace(s), Blocked):
		return Blocked, nil
	}
	return "", invalid("Invalid value '%s' for property '%s': use allowed or blocked.", s, path)
}

// parseTargetConfiguration validates a crossTenantAccessPolicyTargetConfiguration.
// Null returns nil (the side is absent).
func parseTargetConfiguration(path string, raw json.RawMessage, sd side) (*TargetConfiguration, error) {
	o, isNull, err := parseObject(path, raw)
	if err != nil || isNull {
		return nil, err
	}
	var c TargetConfiguration
	var sawAccess, sawTargets bool
	for _, k := range o.keys() {
		v := o[k]
		switch k {
		case "accessType":
			sawAccess = true
			if c.AccessType, err = parseAccessType(join(path, k), v); err != nil {
				return nil, err
			}
		case "targets":
			sawTargets = true
			items, err := parseArray(join(path, k), v)
			if err != nil {
				return nil, err
			}
			c.Targets = make([]Target, 0, len(items))
			for i, item := range items {
				t, err := parseTarget(fmt.Sprintf("%s.targets[%d]", path, i), item, sd)
				if err != nil {
					return nil, err
				}
				c.Targets = append(c.Targets, t)
			}
		default:
			return nil, unknownProperty(join(path, k), "microsoft.graph.crossTenantAccessPolicyTargetConfiguration")
		}
	}
	if !sawAccess {
		return nil, invalid("Property '%s.accessType' is required: allowed or blocked.", path)
	}
	// An empty list would make allowed mean "nobody" and blocked mean
	// "nobody blocked" without saying so; the admin centre never writes one,
	// so a request with one is almost certainly a mistake.
	if !sawTargets || len(c.Targets) == 0 {
		what := "a user, a group or AllUsers"
		if sd == sideApps {
			what = "an application, AllApplications or Office365"
		}
		return nil, invalid("Property '%s.targets' must list at least one target (%s).", path, what)
	}
	return &c, nil
}

// parseTarget validates one target and its pairing with targetType:
// AllUsers → user; AllApplications and Office365 → application; anything
// else must be an object id (GUID) of the type the list holds.
func parseTarget(path string, raw json.RawMessage, sd side) (Target, error) {
	o, isNull, err := parseObject(path, raw)
	if err != nil {
		return Target{}, err
	}
	if isNull {
		return Target{}, invalid("'%s' cannot be null.", path)
	}
	var t Target
	var sawTarget, sawType bool
	for _, k := range o.keys() {
		v := o[k]
		switch k {
		case "target":
			sawTarget = true
			if t.Target, err = parseString(join(path, k), v); err != nil {
				return Target{}, err
			}
			t.Target = strings.TrimSpace(t.Target)
		case "targetType":
			sawType = true
			if t.TargetType, err = parseString(join(path, k), v); err != nil {
				return Target{}, err
			}
			t.TargetType = strings.TrimSpace(t.TargetType)
		default:
			return Target{}, unknownProperty(join(path, k), "microsoft.graph.crossTenantAccessPolicyTarget")
		}
	}
	if !sawTarget || t.Target == "" {
		return Target{}, invalid("Property '%s.target' is required.", path)
	}
	if !sawType || t.TargetType == "" {
		return Target{}, invalid("Property '%s.targetType' is required.", path)
	}
	switch strings.ToLower(t.TargetType) {
	case "user":
		t.TargetType = TargetTypeUser
	case "group":
		t.TargetType = TargetTypeGroup
	case "application":
		t.TargetType = TargetTypeApplication
	default:
		return Target{}, invalid("Invalid value '%s' for property '%s.targetType': use user, group or application.", t.TargetType, path)
	}
	switch {
	case strings.EqualFold(t.Target, AllUsers):
		t.Target = AllUsers
	case strings.EqualFold(t.Target, AllApplications):
		t.Target = AllApplications
	case strings.EqualFold(t.Target, Office365):
		t.Target = Office365
	case directory.IsGUID(t.Target):
		t.Target = strings.ToLower(t.Target)
	default:
		return Target{}, invalid("Invalid value '%s' for property '%s.target': use an object id (GUID), AllUsers, AllApplications or Office365.", t.Target, path)
	}
	if sd == sideUsers {
		switch {
		case t.TargetType == TargetTypeApplication || t.Target == AllApplications || t.Target == Office365:
			return Target{}, invalid("'%s' is an application target; list users and groups here and applications under 'applications'.", path)
		case t.Target == AllUsers && t.TargetType != TargetTypeUser:
			return Target{}, invalid("'%s': target AllUsers goes with targetType user.", path)
		}
	} else {
		switch {
		case t.TargetType != TargetTypeApplication:
			return Target{}, invalid("'%s' must have targetType application; list users and groups under 'usersAndGroups'.", path)
		case t.Target == AllUsers:
			return Target{}, invalid("'%s': AllUsers is a user target; use AllApplications for every application.", path)
		}
	}
	return t, nil
}

// parseB2BSetting validates a crossTenantAccessPolicyB2BSetting; null
// returns nil.
func parseB2BSetting(path string, raw json.RawMessage) (*B2BSetting, error) {
	o, isNull, err := parseObject(path, raw)
	if err != nil || isNull {
		return nil, err
	}
	var s B2BSetting
	for _, k := range o.keys() {
		v := o[k]
		switch k {
		case "usersAndGroups":
			s.UsersAndGroups, err = parseTargetConfiguration(join(path, k), v, sideUsers)
		case "applications":
			s.Applications, err = parseTargetConfiguration(join(path, k), v, sideApps)
		default:
			err = unknownProperty(join(path, k), "microsoft.graph.crossTenantAccessPolicyB2BSetting")
		}
		if err != nil {
			return nil, err
		}
	}
	if isEmptyB2B(&s) {
		return nil, invalid("Property '%s' must set usersAndGroups, applications or both; send null to use the default.", path)
	}
	return &s, nil
}

func parseTenantRestrictions(path string, raw json.RawMessage) (*TenantRestrictions, error) {
	o, isNull, err := parseObject(path, raw)
	if err != nil || isNull {
		return nil, err
	}
	var s TenantRestrictions
	for _, k := range o.keys() {
		v := o[k]
		switch k {
		case "usersAndGroups":
			s.UsersAndGroups, err = parseTargetConfiguration(join(path, k), v, sideUsers)
		case "applications":
			s.Applications, err = parseTargetConfiguration(join(path, k), v, sideApps)
		case "devices":
			s.Devices, err = parseDevicesFilter(join(path, k), v)
		default:
			err = unknownProperty(join(path, k), "microsoft.graph.crossTenantAccessPolicyTenantRestrictions")
		}
		if err != nil {
			return nil, err
		}
	}
	if s.UsersAndGroups == nil && s.Applications == nil && s.Devices == nil {
		return nil, invalid("Property '%s' must set usersAndGroups, applications or devices; send null to use the default.", path)
	}
	return &s, nil
}

func parseDevicesFilter(path string, raw json.RawMessage) (*DevicesFilter, error) {
	o, isNull, err := parseObject(path, raw)
	if err != nil || isNull {
		return nil, err
	}
	var d DevicesFilter
	for _, k := range o.keys() {
		v := o[k]
		switch k {
		case "mode":
			d.Mode, err = parseAccessType(join(path, k), v)
		case "rule":
			d.Rule, err = parseString(join(path, k), v)
		default:
			err = unknownProperty(join(path, k), "microsoft.graph.devicesFilter")
		}
		if err != nil {
			return nil, err
		}
	}
	if d.Mode == "" {
		return nil, invalid("Property '%s.mode' is required: allowed or blocked.", path)
	}
	if strings.TrimSpace(d.Rule) == "" {
		return nil, invalid("Property '%s.rule' is required, e.g. device.deviceAttribute2 -eq 'PrivilegedAccessWorkstation'.", path)
	}
	return &d, nil
}

// parseInboundTrust reads inboundTrust; members left out are false, as
// Graph returns them.
func parseInboundTrust(path string, raw json.RawMessage) (*InboundTrust, error) {
	o, isNull, err := parseObject(path, raw)
	if err != nil || isNull {
		return nil, err
	}
	var t InboundTrust
	for _, k := range o.keys() {
		v := o[k]
		switch k {
		case "isMfaAccepted":
			t.IsMfaAccepted, err = parseBool(join(path, k), v)
		case "isCompliantDeviceAccepted":
			t.IsCompliantDeviceAccepted, err = parseBool(join(path, k), v)
		case "isHybridAzureADJoinedDeviceAccepted":
			t.IsHybridAzureADJoinedDeviceAccepted, err = parseBool(join(path, k), v)
		default:
			err = unknownProperty(join(path, k), "microsoft.graph.crossTenantAccessPolicyInboundTrust")
		}
		if err != nil {
			return nil, err
		}
	}
	return &t, nil
}

// parseInboundOutbound reads an inboundOutboundPolicyConfiguration; null
// returns the zero value (both members null).
func parseInboundOutbound(path string, raw json.RawMessage) (InboundOutbound, error) {
	o, isNull, err := parseObject(path, raw)
	if err != nil || isNull {
		return InboundOutbound{}, err
	}
	var io InboundOutbound
	for _, k := range o.keys() {
		v := o[k]
		switch k {
		case "inboundAllowed":
			io.InboundAllowed, err = parseOptBool(join(path, k), v)
		case "outboundAllowed":
			io.OutboundAllowed, err = parseOptBool(join(path, k), v)
		default:
			err = unknownProperty(join(path, k), "microsoft.graph.inboundOutboundPolicyConfiguration")
		}
		if err != nil {
			return InboundOutbound{}, err
		}
	}
	return io, nil
}

func parseOptInboundOutbound(path string, raw json.RawMessage) (*InboundOutbound, error) {
	if isJSONNull(raw) {
		return nil, nil
	}
	io, err := parseInboundOutbound(path, raw)
	if err != nil {
		return nil, err
	}
	return &io, nil
}

var primaryIdPs = []string{IdPAzureActiveDirectory, IdPExternalFederation, IdPSocialIdentityProviders}
var fallbackIdPs = []string{IdPDefaultConfiguredIdp, IdPEmailOneTimePasscode, IdPMicrosoftAccount}

// canonical returns the member of values equal to s ignoring case.
func canonical(s string, values []string) (string, bool) {
	for _, v := range values {
		if strings.EqualFold(strings.TrimSpace(s), v) {
			return v, true
		}
	}
	return "", false
}

func parseRedemption(path string, raw json.RawMessage) (*RedemptionIdentityProviders, error) {
	o, isNull, err := parseObject(path, raw)
	if err != nil || isNull {
		return nil, err
	}
	var r RedemptionIdentityProviders
	var sawFallback bool
	for _, k := range o.keys() {
		v := o[k]
		switch k {
		case "primaryIdentityProviderPrecedenceOrder":
			items, err := parseArray(join(path, k), v)
			if err != nil {
				return nil, err
			}
			r.PrimaryIdentityProviderPrecedenceOrder = make([]string, 0, len(items))
			for i, item := range items {
				p := fmt.Sprintf("%s.%s[%d]", path, k, i)
				s, err := parseString(p, item)
				if err != nil {
					return nil, err
				}
				c, ok := canonical(s, primaryIdPs)
				if !ok {
					return nil, invalid("Invalid value '%s' for '%s': use azureActiveDirectory, externalFederation or socialIdentityProviders.", s, p)
				}
				for _, prev := range r.PrimaryIdentityProviderPrecedenceOrder {
					if prev == c {
						return nil, invalid("'%s' lists %s twice.", join(path, k), c)
					}
				}
				r.PrimaryIdentityProviderPrecedenceOrder = append(r.PrimaryIdentityProviderPrecedenceOrder, c)
			}
		case "fallbackIdentityProvider":
			sawFallback = true
			s, err := parseString(join(path, k), v)
			if err != nil {
				return nil, err
			}
			c, ok := canonical(s, fallbackIdPs)
			if !ok {
				return nil, invalid("Invalid value '%s' for '%s': use defaultConfiguredIdp, emailOneTimePasscode or microsoftAccount.", s, join(path, k))
			}
			r.FallbackIdentityProvider = c
		default:
			return nil, unknownProperty(join(path, k), "microsoft.graph.defaultInvitationRedemptionIdentityProviderConfiguration")
		}
	}
	// The fallback is what redemption uses when no primary provider
	// applies, so it must always be there.
	if !sawFallback {
		return nil, invalid("Property '%s.fallbackIdentityProvider' is required.", path)
	}
	if r.PrimaryIdentityProviderPrecedenceOrder == nil {
		r.PrimaryIdentityProviderPrecedenceOrder = []string{}
	}
	return &r, nil
}

func parseAppServiceConnect(path string, raw json.RawMessage) (*AppServiceConnectSetting, error) {
	tc, ok, err := parseOneTarget(path, raw, "microsoft.graph.crossTenantAccessPolicyAppServiceConnectSetting", "applications", sideApps)
	if err != nil || !ok {
		return nil, err
	}
	return &AppServiceConnectSetting{Applications: tc}, nil
}

func parseM365Inbound(path string, raw json.RawMessage) (*M365CollaborationInboundSetting, error) {
	tc, ok, err := parseOneTarget(path, raw, "microsoft.graph.crossTenantAccessPolicyM365CollaborationInboundSetting", "users", sideUsers)
	if err != nil || !ok {
		return nil, err
	}
	return &M365CollaborationInboundSetting{Users: tc}, nil
}

func parseM365Outbound(path string, raw json.RawMessage) (*M365CollaborationOutboundSetting, error) {
	tc, ok, err := parseOneTarget(path, raw, "microsoft.graph.crossTenantAccessPolicyM365CollaborationOutboundSetting", "usersAndGroups", sideUsers)
	if err != nil || !ok {
		return nil, err
	}
	return &M365CollaborationOutboundSetting{UsersAndGroups: tc}, nil
}

// parseOneTarget reads the shape the sparsely documented settings share:
// an object of type typ whose one property, name, is a target
// configuration of side sd. ok is false for null.
func parseOneTarget(path string, raw json.RawMessage, typ, name string, sd side) (tc *TargetConfiguration, ok bool, err error) {
	o, isNull, err := parseObject(path, raw)
	if err != nil || isNull {
		return nil, false, err
	}
	for _, k := range o.keys() {
		if k != name {
			return nil, false, unknownProperty(join(path, k), typ)
		}
		if tc, err = parseTargetConfiguration(join(path, k), o[k], sd); err != nil {
			return nil, false, err
		}
	}
	return tc, true, nil
}

// PatchPolicy applies PATCH /policies/crossTenantAccessPolicy to cur and
// returns the result and the names of the properties the body changed
// (for the audit record).
func PatchPolicy(cur Policy, body []byte) (Policy, []string, error) {
	o, isNull, err := parseObject("", body)
	if err != nil {
		return Policy{}, nil, err
	}
	if isNull {
		return Policy{}, nil, invalid("The request body must be a JSON object.")
	}
	var changed []string
	for _, k := range o.keys() {
		v := o[k]
		switch k {
		case "id", "displayName", "description", "deletedDateTime":
			// Read-only: ignored so a client may send back what it read.
		case "allowedCloudEndpoints":
			eps, err := parseCloudEndpoints(k, v)
			if err != nil {
				return Policy{}, nil, err
			}
			cur.AllowedCloudEndpoints = eps
			changed = append(changed, k)
		default:
			return Policy{}, nil, unknownProperty(k, typePolicy)
		}
	}
	return cur, changed, nil
}

// maxCloudEndpoints bounds allowedCloudEndpoints; Graph knows three clouds,
// and a tenant collaborating with more deployments than this is not a case
// worth an unbounded list.
const maxCloudEndpoints = 50

// parseCloudEndpoints validates allowedCloudEndpoints: host names of other
// deployments (Graph's own values, such as microsoftonline.us, are host
// names too), lower-cased, each once.
func parseCloudEndpoints(path string, raw json.RawMessage) ([]string, error) {
	items, err := parseArray(path, raw)
	if err != nil {
		return nil, err
	}
	if len(items) > maxCloudEndpoints {
		return nil, invalid("Property '%s' lists more than %d endpoints.", path, maxCloudEndpoints)
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		p := path + "[" + strconv.Itoa(i) + "]"
		s, err := parseString(p, item)
		if err != nil {
			return nil, err
		}
		h := strings.ToLower(strings.TrimSpace(s))
		if !isHostName(h) {
			return nil, invalid("Invalid value '%s' for '%s': use the host name of the other deployment, such as gatehouse.example.org.", s, p)
		}
		for _, prev := range out {
			if prev == h {
				return nil, invalid("'%s' lists %s twice.", path, h)
			}
		}
		out = append(out, h)
	}
	return out, nil
}

// isHostName reports whether s is a DNS name of at least two labels (LDH
// labels of 1–63 characters, 253 in all).
func isHostName(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// PatchDefault applies PATCH /policies/crossTenantAccessPolicy/default: a
// property in the body replaces that top-level property whole (nested
// objects are not merged); null resets it to the system default's value
// (the sparsely documented properties: to absent). Any accepted change makes
// isServiceDefault false. It returns the changed property names.
func PatchDefault(cur Default, body []byte) (Default, []string, error) {
	o, isNull, err := parseObject("", body)
	if err != nil {
		return Default{}, nil, err
	}
	if isNull {
		return Default{}, nil, invalid("The request body must be a JSON object.")
	}
	cur = cur.Normalized()
	sys := SystemDefault()
	var changed []string
	for _, k := range o.keys() {
		v := o[k]
		var err error
		switch k {
		case "id", "isServiceDefault":
			continue
		case "automaticUserConsentSettings":
			io, err := parseInboundOutbound(k, v)
			if err != nil {
				return Default{}, nil, err
			}
			if isTrue(io.InboundAllowed) || isTrue(io.OutboundAllowed) {
				return Default{}, nil, invalid("automaticUserConsentSettings is always false on the default configuration and cannot be changed; enable automatic redemption on a partner configuration instead.")
			}
			continue
		case "inboundTrust":
			cur.InboundTrust, err = parseInboundTrust(k, v)
			if cur.InboundTrust == nil {
				cur.InboundTrust = sys.InboundTrust
			}
		case "b2bCollaborationInbound":
			cur.B2BCollaborationInbound, err = parseB2BSetting(k, v)
			if cur.B2BCollaborationInbound == nil {
				cur.B2BCollaborationInbound = sys.B2BCollaborationInbound
			}
		case "b2bCollaborationOutbound":
			cur.B2BCollaborationOutbound, err = parseB2BSetting(k, v)
			if cur.B2BCollaborationOutbound == nil {
				cur.B2BCollaborationOutbound = sys.B2BCollaborationOutbound
			}
		case "b2bDirectConnectInbound":
			cur.B2BDirectConnectInbound, err = parseB2BSetting(k, v)
			if cur.B2BDirectConnectInbound == nil {
				cur.B2BDirectConnectInbound = sys.B2BDirectConnectInbound
			}
		case "b2bDirectConnectOutbound":
			cur.B2BDirectConnectOutbound, err = parseB2BSetting(k, v)
			if cur.B2BDirectConnectOutbound == nil {
				cur.B2BDirectConnectOutbound = sys.B2BDirectConnectOutbound
			}
		case "tenantRestrictions":
			cur.TenantRestrictions, err = parseTenantRestrictions(k, v)
			if cur.TenantRestrictions == nil {
				cur.TenantRestrictions = sys.TenantRestrictions
			}
		case "invitationRedemptionIdentityProviderConfiguration":
			cur.InvitationRedemptionIdentityProviderConfiguration, err = parseRedemption(k, v)
			if cur.InvitationRedemptionIdentityProviderConfiguration == nil {
				cur.InvitationRedemptionIdentityProviderConfiguration = sys.InvitationRedemptionIdentityProviderConfiguration
			}
		case "crossCloudMeetingConfiguration":
			cur.CrossCloudMeetingConfiguration, err = parseOptInboundOutbound(k, v)
		case "protectedContentSharing":
			cur.ProtectedContentSharing, err = parseOptInboundOutbound(k, v)
		case "m365CollaborationInbound":
			cur.M365CollaborationInbound, err = parseM365Inbound(k, v)
		case "m365CollaborationOutbound":
			cur.M365CollaborationOutbound, err = parseM365Outbound(k, v)
		case "appServiceConnectInbound":
			cur.AppServiceConnectInbound, err = parseAppServiceConnect(k, v)
		default:
			err = unknownProperty(k, typeDefault)
		}
		if err != nil {
			return Default{}, nil, err
		}
		changed = append(changed, k)
	}
	if len(changed) > 0 {
		cur.IsServiceDefault = false
	}
	return cur, changed, nil
}

func isTrue(b *bool) bool { return b != nil && *b }

// ParsePartner validates POST /policies/crossTenantAccessPolicy/partners and
// returns the new partner configuration; properties left out are null
// (inherit the default).
func ParsePartner(body []byte) (Partner, error) {
	o, isNull, err := parseObject("", body)
	if err != nil {
		return Partner{}, err
	}
	if isNull {
		return Partner{}, invalid("The request body must be a JSON object.")
	}
	raw, ok := o["tenantId"]
	if !ok || isJSONNull(raw) {
		return Partner{}, invalid("Property 'tenantId' is required: the partner's tenant id.")
	}
	s, err := parseString("tenantId", raw)
	if err != nil {
		return Partner{}, err
	}
	id, err := TenantID(s)
	if err != nil {
		return Partner{}, err
	}
	p := Partner{TenantID: id}
	delete(o, "tenantId")
	if _, err := p.apply(o); err != nil {
		return Partner{}, err
	}
	return p, nil
}

// PatchPartner applies PATCH /policies/crossTenantAccessPolicy/partners/{id}
// to cur: a property in the body replaces that top-level property whole
// (nested objects are not merged), and null resets it to inherit the
// default. It returns the changed property names.
func PatchPartner(cur Partner, body []byte) (Partner, []string, error) {
	o, isNull, err := parseObject("", body)
	if err != nil {
		return Partner{}, nil, err
	}
	if isNull {
		return Partner{}, nil, invalid("The request body must be a JSON object.")
	}
	if raw, ok := o["tenantId"]; ok {
		s, err := parseString("tenantId", raw)
		if err != nil {
			return Partner{}, nil, err
		}
		if !strings.EqualFold(strings.TrimSpace(s), cur.TenantID) {
			return Partner{}, nil, invalid("Property 'tenantId' is the partner's key and cannot be changed; delete this partner configuration and create one for the other tenant.")
		}
		delete(o, "tenantId")
	}
	changed, err := cur.apply(o)
	if err != nil {
		return Partner{}, nil, err
	}
	return cur, changed, nil
}

// apply sets p's properties from o (tenantId already taken out).
func (p *Partner) apply(o object) ([]string, error) {
	var changed []string
	for _, k := range o.keys() {
		v := o[k]
		var err error
		switch k {
		case "isInMultiTenantOrganization":
			continue
		case "identitySynchronization":
			return nil, invalid("Create the identitySynchronization of a partner with PUT /policies/crossTenantAccessPolicy/partners/{tenantId}/identitySynchronization, not inline.")
		case "isServiceProvider":
			p.IsServiceProvider, err = parseOptBool(k, v)
		case "inboundTrust":
			p.InboundTrust, err = parseInboundTrust(k, v)
		case "b2bCollaborationInbound":
			p.B2BCollaborationInbound, err = parseB2BSetting(k, v)
		case "b2bCollaborationOutbound":
			p.B2BCollaborationOutbound, err = parseB2BSetting(k, v)
		case "b2bDirectConnectInbound":
			p.B2BDirectConnectInbound, err = parseB2BSetting(k, v)
		case "b2bDirectConnectOutbound":
			p.B2BDirectConnectOutbound, err = parseB2BSetting(k, v)
		case "tenantRestrictions":
			p.TenantRestrictions, err = parseTenantRestrictions(k, v)
		case "automaticUserConsentSettings":
			p.AutomaticUserConsentSettings, err = parseInboundOutbound(k, v)
		case "crossCloudMeetingConfiguration":
			p.CrossCloudMeetingConfiguration, err = parseOptInboundOutbound(k, v)
		case "protectedContentSharing":
			p.ProtectedContentSharing, err = parseOptInboundOutbound(k, v)
		case "m365CollaborationInbound":
			p.M365CollaborationInbound, err = parseM365Inbound(k, v)
		case "m365CollaborationOutbound":
			p.M365CollaborationOutbound, err = parseM365Outbound(k, v)
		case "appServiceConnectInbound":
			p.AppServiceConnectInbound, err = parseAppServiceConnect(k, v)
		default:
			err = unknownProperty(k, typePartner)
		}
		if err != nil {
			return nil, err
		}
		changed = append(changed, k)
	}
	return changed, nil
}

// ParseIdentitySync validates PUT …/partners/{tenantId}/identitySynchronization
// (create) for the partner tenantID (already canonical).
func ParseIdentitySync(tenantID string, body []byte) (IdentitySync, error) {
	s, _, err := PatchIdentitySync(IdentitySync{TenantID: tenantID}, body)
	return s, err
}

// PatchIdentitySync applies PATCH …/identitySynchronization: displayName
// and userSyncInbound replace what cur holds; null clears them.
func PatchIdentitySync(cur IdentitySync, body []byte) (IdentitySync, []string, error) {
	o, isNull, err := parseObject("", body)
	if err != nil {
		return IdentitySync{}, nil, err
	}
	if isNull {
		return IdentitySync{}, nil, invalid("The request body must be a JSON object.")
	}
	var changed []string
	for _, k := range o.keys() {
		v := o[k]
		switch k {
		case "tenantId":
			s, err := parseString(k, v)
			if err != nil {
				return IdentitySync{}, nil, err
			}
			if !strings.EqualFold(strings.TrimSpace(s), cur.TenantID) {
				return IdentitySync{}, nil, invalid("Property 'tenantId' must be the partner's tenant id, %s, and cannot be changed.", cur.TenantID)
			}
			continue
		case "displayName":
			if cur.DisplayName, err = parseOptString(k, v); err != nil {
				return IdentitySync{}, nil, err
			}
			if cur.DisplayName != nil && len(*cur.DisplayName) > 256 {
				return IdentitySync{}, nil, invalid("Property 'displayName' is longer than 256 characters.")
			}
		case "userSyncInbound":
			so, isNull, err := parseObject(k, v)
			if err != nil {
				return IdentitySync{}, nil, err
			}
			if isNull {
				cur.UserSyncInbound = nil
				break
			}
			var u UserSyncInbound
			for _, sk := range so.keys() {
				sv := so[sk]
				if sk != "isSyncAllowed" {
					return IdentitySync{}, nil, unknownProperty(join(k, sk), "microsoft.graph.crossTenantUserSyncInbound")
				}
				if u.IsSyncAllowed, err = parseBool(join(k, sk), sv); err != nil {
					return IdentitySync{}, nil, err
				}
			}
			cur.UserSyncInbound = &u
		default:
			return IdentitySync{}, nil, unknownProperty(k, typeIdentitySync)
		}
		changed = append(changed, k)
	}
	return cur, changed, nil
}
