// Package xtap owns cross-tenant access settings (Graph's
// crossTenantAccessPolicy): the default and per-partner configurations as
// Graph v1.0 shapes them, their validation and PATCH semantics, the effective
// settings one tenant applies to another, and the one pure decision —
// Evaluate — that enforcement at redemption, sign-in and refresh and the
// what-if endpoint all call, so what an admin is told and what happens cannot
// drift apart. It does no I/O: callers read the stored configurations,
// Compile them, and hand Evaluate plain inputs.
package xtap

import "encoding/json"

// Graph's crossTenantAccessPolicyTargetConfigurationAccessType members.
const (
	Allowed = "allowed"
	Blocked = "blocked"
)

// Graph's crossTenantAccessPolicyTargetType members.
const (
	TargetTypeUser        = "user"
	TargetTypeGroup       = "group"
	TargetTypeApplication = "application"
)

// Target keywords Graph accepts in place of an object id.
const (
	AllUsers        = "AllUsers"
	AllApplications = "AllApplications"
	// Office365 names Microsoft's Office 365 suite. Gatehouse has no such
	// suite, so the keyword is stored and returned but matches no
	// application of this deployment (see Evaluate).
	Office365 = "Office365"
)

// Graph's b2bIdentityProvidersType members used by the redemption order.
const (
	IdPAzureActiveDirectory    = "azureActiveDirectory"
	IdPExternalFederation      = "externalFederation"
	IdPSocialIdentityProviders = "socialIdentityProviders"
	IdPEmailOneTimePasscode    = "emailOneTimePasscode"
	IdPMicrosoftAccount        = "microsoftAccount"
	IdPDefaultConfiguredIdp    = "defaultConfiguredIdp"
)

// Target is Graph's crossTenantAccessPolicyTarget: an object id (a user or
// group of the tenant the list is about, or an application's appId) or one
// of the keywords AllUsers, AllApplications, Office365.
type Target struct {
	Target     string `json:"target"`
	TargetType string `json:"targetType"`
}

// TargetConfiguration is Graph's crossTenantAccessPolicyTargetConfiguration.
type TargetConfiguration struct {
	AccessType string   `json:"accessType"`
	Targets    []Target `json:"targets"`
}

// MarshalJSON writes targets as [] when there are none: Graph never returns
// a null collection.
func (c TargetConfiguration) MarshalJSON() ([]byte, error) {
	type wire struct {
		AccessType *string  `json:"accessType"`
		Targets    []Target `json:"targets"`
	}
	w := wire{Targets: c.Targets}
	if c.AccessType != "" {
		w.AccessType = &c.AccessType
	}
	if w.Targets == nil {
		w.Targets = []Target{}
	}
	return json.Marshal(w)
}

// B2BSetting is Graph's crossTenantAccessPolicyB2BSetting. A side left out
// is absent on the wire, as Graph returns it; for Evaluate it restricts
// nothing of its own (see Evaluate).
type B2BSetting struct {
	UsersAndGroups *TargetConfiguration `json:"usersAndGroups,omitempty"`
	Applications   *TargetConfiguration `json:"applications,omitempty"`
}

// DevicesFilter is Graph's devicesFilter (tenant restrictions only). It is
// stored and returned; Graph itself does not enforce it yet, nor do we.
type DevicesFilter struct {
	Mode string `json:"mode"`
	Rule string `json:"rule"`
}

// TenantRestrictions is Graph's crossTenantAccessPolicyTenantRestrictions:
// a B2B setting plus devices. Stored and returned, not enforced (tenant
// restrictions need network or device signals this deployment does not
// have).
type TenantRestrictions struct {
	Devices        *DevicesFilter       `json:"devices"`
	UsersAndGroups *TargetConfiguration `json:"usersAndGroups,omitempty"`
	Applications   *TargetConfiguration `json:"applications,omitempty"`
}

// InboundTrust is Graph's crossTenantAccessPolicyInboundTrust: which claims
// of the partner's (home tenant's) token the resource tenant accepts.
type InboundTrust struct {
	IsMfaAccepted                       bool `json:"isMfaAccepted"`
	IsCompliantDeviceAccepted           bool `json:"isCompliantDeviceAccepted"`
	IsHybridAzureADJoinedDeviceAccepted bool `json:"isHybridAzureADJoinedDeviceAccepted"`
}

// InboundOutbound is Graph's inboundOutboundPolicyConfiguration
// (automaticUserConsentSettings; also the legacy crossCloudMeetingConfiguration
// and protectedContentSharing shapes). On a partner a null member inherits
// the default, which for automatic consent is always false.
type InboundOutbound struct {
	InboundAllowed  *bool `json:"inboundAllowed"`
	OutboundAllowed *bool `json:"outboundAllowed"`
}

// RedemptionIdentityProviders is Graph's
// defaultInvitationRedemptionIdentityProviderConfiguration: the order in
// which redemption tries identity providers, and the fallback.
type RedemptionIdentityProviders struct {
	PrimaryIdentityProviderPrecedenceOrder []string `json:"primaryIdentityProviderPrecedenceOrder"`
	FallbackIdentityProvider               string   `json:"fallbackIdentityProvider"`
}

// MarshalJSON writes the precedence order as [] when empty.
func (r RedemptionIdentityProviders) MarshalJSON() ([]byte, error) {
	type wire RedemptionIdentityProviders
	w := wire(r)
	if w.PrimaryIdentityProviderPrecedenceOrder == nil {
		w.PrimaryIdentityProviderPrecedenceOrder = []string{}
	}
	return json.Marshal(w)
}

// AppServiceConnectSetting is Graph's
// crossTenantAccessPolicyAppServiceConnectSetting (new, sparsely
// documented): stored and returned, not enforced.
type AppServiceConnectSetting struct {
	Applications *TargetConfiguration `json:"applications,omitempty"`
}

// M365CollaborationInboundSetting is Graph's
// crossTenantAccessPolicyM365CollaborationInboundSetting (new, sparsely
// documented): stored and returned, not enforced.
type M365CollaborationInboundSetting struct {
	Users *TargetConfiguration `json:"users,omitempty"`
}

// M365CollaborationOutboundSetting is Graph's
// crossTenantAccessPolicyM365CollaborationOutboundSetting (new, sparsely
// documented): stored and returned, not enforced.
type M365CollaborationOutboundSetting struct {
	UsersAndGroups *TargetConfiguration `json:"usersAndGroups,omitempty"`
}

// PolicyID and PolicyDisplayName are the crossTenantAccessPolicy
// singleton's constant id and name (the name is the one Graph returns).
const (
	PolicyID          = "crossTenantAccessPolicy"
	PolicyDisplayName = "CrossTenantAccessPolicy"
)

// Policy is Graph's crossTenantAccessPolicy, the tenant's singleton
// container. Only allowedCloudEndpoints is writable; here its values name
// the other Gatehouse deployments this tenant may collaborate with (Graph's
// values are Microsoft's clouds, e.g. microsoftonline.us).
type Policy struct {
	ID                    string   `json:"id"`
	DeletedDateTime       *string  `json:"deletedDateTime"`
	Description           *string  `json:"description"`
	DisplayName           string   `json:"displayName"`
	AllowedCloudEndpoints []string `json:"allowedCloudEndpoints"`
}

// SystemPolicy is the container before anyone changed it.
func SystemPolicy() Policy {
	return Policy{ID: PolicyID, DisplayName: PolicyDisplayName, AllowedCloudEndpoints: []string{}}
}

// MarshalJSON writes allowedCloudEndpoints as [] when empty (NN in the CSDL).
func (p Policy) MarshalJSON() ([]byte, error) {
	type wire Policy
	w := wire(p)
	if w.AllowedCloudEndpoints == nil {
		w.AllowedCloudEndpoints = []string{}
	}
	return json.Marshal(w)
}

// Default is Graph's crossTenantAccessPolicyConfigurationDefault: how the
// tenant treats every other tenant that has no partner configuration, and
// what a partner's null properties inherit.
//
// The core properties are never null on the wire: a stored Default missing
// one (or a PATCH setting one to null) reads as the system default's value.
// The sparsely documented properties are absent until set.
type Default struct {
	// ID is the entity id. Entra returns the tenant's id here; the caller
	// sets it (SystemDefault leaves it empty and it is then omitted).
	ID                       string        `json:"id,omitempty"`
	IsServiceDefault         bool          `json:"isServiceDefault"`
	InboundTrust             *InboundTrust `json:"inboundTrust"`
	B2BCollaborationOutbound *B2BSetting   `json:"b2bCollaborationOutbound"`
	B2BCollaborationInbound  *B2BSetting   `json:"b2bCollaborationInbound"`
	B2BDirectConnectOutbound *B2BSetting   `json:"b2bDirectConnectOutbound"`
	B2BDirectConnectInbound  *B2BSetting   `json:"b2bDirectConnectInbound"`
	// CrossCloudMeetingConfiguration is a legacy object some Graph
	// responses carry: round-tripped, not enforced, absent until set.
	CrossCloudMeetingConfiguration *InboundOutbound `json:"crossCloudMeetingConfiguration,omitempty"`
	// AutomaticUserConsentSettings is always false on the default and
	// read-only (only a partner can enable automatic redemption); it is
	// written as false whatever the field holds.
	AutomaticUserConsentSettings InboundOutbound `json:"automaticUserConsentSettings"`
	// ProtectedContentSharing is a legacy object: round-tripped, not
	// enforced, absent until set.
	ProtectedContentSharing                           *InboundOutbound                  `json:"protectedContentSharing,omitempty"`
	TenantRestrictions                                *TenantRestrictions               `json:"tenantRestrictions"`
	InvitationRedemptionIdentityProviderConfiguration *RedemptionIdentityProviders      `json:"invitationRedemptionIdentityProviderConfiguration"`
	M365CollaborationInbound                          *M365CollaborationInboundSetting  `json:"m365CollaborationInbound,omitempty"`
	M365CollaborationOutbound                         *M365CollaborationOutboundSetting `json:"m365CollaborationOutbound,omitempty"`
	AppServiceConnectInbound                          *AppServiceConnectSetting         `json:"appServiceConnectInbound,omitempty"`
}

// MarshalJSON writes the default as Graph returns it: core properties
// filled from the system default where missing, automatic consent false.
func (d Default) MarshalJSON() ([]byte, error) {
	type wire Default
	return json.Marshal(wire(d.Normalized()))
}

// Normalized returns d with every core property that is nil taken from the
// system default, and automaticUserConsentSettings false, so readers never
// see a hole in the default (a partner's null would otherwise inherit
// nothing).
func (d Default) Normalized() Default {
	if d.InboundTrust != nil && d.B2BCollaborationOutbound != nil && !isEmptyB2B(d.B2BCollaborationOutbound) &&
		d.B2BCollaborationInbound != nil && !isEmptyB2B(d.B2BCollaborationInbound) &&
		d.B2BDirectConnectOutbound != nil && !isEmptyB2B(d.B2BDirectConnectOutbound) &&
		d.B2BDirectConnectInbound != nil && !isEmptyB2B(d.B2BDirectConnectInbound) &&
		d.TenantRestrictions != nil && d.InvitationRedemptionIdentityProviderConfiguration != nil &&
		isFalse(d.AutomaticUserConsentSettings.InboundAllowed) && isFalse(d.AutomaticUserConsentSettings.OutboundAllowed) {
		return d // nothing to fill: the common case, without building a system default
	}
	sys := SystemDefault()
	if d.InboundTrust == nil {
		d.InboundTrust = sys.InboundTrust
	}
	if d.B2BCollaborationOutbound == nil || isEmptyB2B(d.B2BCollaborationOutbound) {
		d.B2BCollaborationOutbound = sys.B2BCollaborationOutbound
	}
	if d.B2BCollaborationInbound == nil || isEmptyB2B(d.B2BCollaborationInbound) {
		d.B2BCollaborationInbound = sys.B2BCollaborationInbound
	}
	if d.B2BDirectConnectOutbound == nil || isEmptyB2B(d.B2BDirectConnectOutbound) {
		d.B2BDirectConnectOutbound = sys.B2BDirectConnectOutbound
	}
	if d.B2BDirectConnectInbound == nil || isEmptyB2B(d.B2BDirectConnectInbound) {
		d.B2BDirectConnectInbound = sys.B2BDirectConnectInbound
	}
	if d.TenantRestrictions == nil {
		d.TenantRestrictions = sys.TenantRestrictions
	}
	if d.InvitationRedemptionIdentityProviderConfiguration == nil {
		d.InvitationRedemptionIdentityProviderConfiguration = sys.InvitationRedemptionIdentityProviderConfiguration
	}
	d.AutomaticUserConsentSettings = sys.AutomaticUserConsentSettings
	return d
}

// Partner is Graph's crossTenantAccessPolicyConfigurationPartner, keyed by
// the partner's tenant id. A null property inherits the default's, per
// top-level property; nothing of the default is copied in on write.
type Partner struct {
	TenantID          string `json:"tenantId"`
	IsServiceProvider *bool  `json:"isServiceProvider"`
	// IsInMultiTenantOrganization is set by the service when both tenants
	// are in one multitenant organization; requests cannot change it.
	IsInMultiTenantOrganization bool          `json:"isInMultiTenantOrganization"`
	InboundTrust                *InboundTrust `json:"inboundTrust"`
	B2BCollaborationInbound     *B2BSetting   `json:"b2bCollaborationInbound"`
	B2BCollaborationOutbound    *B2BSetting   `json:"b2bCollaborationOutbound"`
	B2BDirectConnectInbound     *B2BSetting   `json:"b2bDirectConnectInbound"`
	B2BDirectConnectOutbound    *B2BSetting   `json:"b2bDirectConnectOutbound"`
	// CrossCloudMeetingConfiguration: legacy, round-tripped, absent until set.
	CrossCloudMeetingConfiguration *InboundOutbound    `json:"crossCloudMeetingConfiguration,omitempty"`
	TenantRestrictions             *TenantRestrictions `json:"tenantRestrictions"`
	// AutomaticUserConsentSettings is never null on the wire: its members
	// are null until set, and a null member inherits the default (false).
	AutomaticUserConsentSettings InboundOutbound `json:"automaticUserConsentSettings"`
	// ProtectedContentSharing: legacy, round-tripped, absent until set.
	ProtectedContentSharing   *InboundOutbound                  `json:"protectedContentSharing,omitempty"`
	M365CollaborationInbound  *M365CollaborationInboundSetting  `json:"m365CollaborationInbound,omitempty"`
	M365CollaborationOutbound *M365CollaborationOutboundSetting `json:"m365CollaborationOutbound,omitempty"`
	AppServiceConnectInbound  *AppServiceConnectSetting         `json:"appServiceConnectInbound,omitempty"`
	// IdentitySynchronization is the contained navigation, written only
	// when the caller expands it ($expand=identitySynchronization); it is
	// stored on its own, not with the partner.
	IdentitySynchronization *IdentitySync `json:"identitySynchronization,omitempty"`
}

// IdentitySync is Graph's crossTenantIdentitySyncPolicyPartner: whether
// users may be synchronized in from the partner tenant.
type IdentitySync struct {
	TenantID        string           `json:"tenantId"`
	DisplayName     *string          `json:"displayName"`
	UserSyncInbound *UserSyncInbound `json:"userSyncInbound"`
}

// UserSyncInbound is Graph's crossTenantUserSyncInbound.
type UserSyncInbound struct {
	IsSyncAllowed bool `json:"isSyncAllowed"`
}

// SystemDefault is the default configuration a tenant starts with and
// returns to on resetToSystemDefault: B2B collaboration allowed in and out
// for all users and all applications, B2B direct connect blocked both ways,
// no claim trusted, tenant restrictions blocking, automatic redemption off,
// and redemption trying Entra-style tenants, then federation, then social
// providers before the configured fallback.
func SystemDefault() Default {
	f := false
	return Default{
		IsServiceDefault:             true,
		InboundTrust:                 &InboundTrust{},
		B2BCollaborationOutbound:     allOf(Allowed),
		B2BCollaborationInbound:      allOf(Allowed),
		B2BDirectConnectOutbound:     allOf(Blocked),
		B2BDirectConnectInbound:      allOf(Blocked),
		AutomaticUserConsentSettings: InboundOutbound{InboundAllowed: &f, OutboundAllowed: &f},
		TenantRestrictions: &TenantRestrictions{
			UsersAndGroups: &TargetConfiguration{AccessType: Blocked, Targets: []Target{{AllUsers, TargetTypeUser}}},
			Applications:   &TargetConfiguration{AccessType: Blocked, Targets: []Target{{AllApplications, TargetTypeApplication}}},
		},
		InvitationRedemptionIdentityProviderConfiguration: &RedemptionIdentityProviders{
			PrimaryIdentityProviderPrecedenceOrder: []string{IdPAzureActiveDirectory, IdPExternalFederation, IdPSocialIdentityProviders},
			FallbackIdentityProvider:               IdPDefaultConfiguredIdp,
		},
	}
}

// allOf is a B2B setting applying access to all users and all applications.
func allOf(access string) *B2BSetting {
	return &B2BSetting{
		UsersAndGroups: &TargetConfiguration{AccessType: access, Targets: []Target{{AllUsers, TargetTypeUser}}},
		Applications:   &TargetConfiguration{AccessType: access, Targets: []Target{{AllApplications, TargetTypeApplication}}},
	}
}

func isFalse(b *bool) bool { return b != nil && !*b }

func isEmptyB2B(s *B2BSetting) bool {
	return s.UsersAndGroups == nil && s.Applications == nil
}
