package xtap

// Origin says where an effective setting came from.
type Origin uint8

const (
	// FromDefault: the tenant's default configuration (or the system
	// default, when the default has not been customized).
	FromDefault Origin = iota
	// FromPartner: the partner configuration for the other tenant.
	FromPartner
)

func (o Origin) String() string {
	if o == FromPartner {
		return "partner"
	}
	return "default"
}

// Resolved is an effective value and where it came from.
type Resolved[T any] struct {
	Value T
	From  Origin
}

// Settings are the effective cross-tenant access settings one tenant (the
// owner) applies to one other tenant: each top-level property is the
// partner configuration's when it has one and that property is not null,
// else the default's. Nothing is null here.
type Settings struct {
	// PartnerTenantID is the other tenant's id when a partner configuration
	// exists for it; HasPartner says whether one does.
	PartnerTenantID string
	HasPartner      bool

	InboundTrust             Resolved[InboundTrust]
	B2BCollaborationInbound  Resolved[B2BSetting]
	B2BCollaborationOutbound Resolved[B2BSetting]
	B2BDirectConnectInbound  Resolved[B2BSetting]
	B2BDirectConnectOutbound Resolved[B2BSetting]
	TenantRestrictions       Resolved[TenantRestrictions]
	// AutomaticRedemptionInbound/Outbound are automaticUserConsentSettings'
	// members, resolved member by member (a null member inherits the
	// default, which is always false).
	AutomaticRedemptionInbound  Resolved[bool]
	AutomaticRedemptionOutbound Resolved[bool]

	IsServiceProvider           bool
	IsInMultiTenantOrganization bool
}

// Effective resolves the settings a tenant with default configuration def
// applies to the tenant of partner configuration p (nil: no partner
// configuration, so everything is the default's). A partner property
// overrides the default's per top-level property; null inherits. A B2B
// setting with neither side set counts as null.
func Effective(def Default, p *Partner) Settings {
	return effective(def.Normalized(), p)
}

// effective is Effective for a def already normalized.
func effective(def Default, p *Partner) Settings {
	s := Settings{
		InboundTrust:                Resolved[InboundTrust]{*def.InboundTrust, FromDefault},
		B2BCollaborationInbound:     Resolved[B2BSetting]{*def.B2BCollaborationInbound, FromDefault},
		B2BCollaborationOutbound:    Resolved[B2BSetting]{*def.B2BCollaborationOutbound, FromDefault},
		B2BDirectConnectInbound:     Resolved[B2BSetting]{*def.B2BDirectConnectInbound, FromDefault},
		B2BDirectConnectOutbound:    Resolved[B2BSetting]{*def.B2BDirectConnectOutbound, FromDefault},
		TenantRestrictions:          Resolved[TenantRestrictions]{*def.TenantRestrictions, FromDefault},
		AutomaticRedemptionInbound:  Resolved[bool]{false, FromDefault},
		AutomaticRedemptionOutbound: Resolved[bool]{false, FromDefault},
	}
	if p == nil {
		return s
	}
	s.PartnerTenantID, s.HasPartner = p.TenantID, true
	if p.InboundTrust != nil {
		s.InboundTrust = Resolved[InboundTrust]{*p.InboundTrust, FromPartner}
	}
	override := func(dst *Resolved[B2BSetting], src *B2BSetting) {
		if src != nil && !isEmptyB2B(src) {
			*dst = Resolved[B2BSetting]{*src, FromPartner}
		}
	}
	override(&s.B2BCollaborationInbound, p.B2BCollaborationInbound)
	override(&s.B2BCollaborationOutbound, p.B2BCollaborationOutbound)
	override(&s.B2BDirectConnectInbound, p.B2BDirectConnectInbound)
	override(&s.B2BDirectConnectOutbound, p.B2BDirectConnectOutbound)
	if p.TenantRestrictions != nil {
		s.TenantRestrictions = Resolved[TenantRestrictions]{*p.TenantRestrictions, FromPartner}
	}
	if b := p.AutomaticUserConsentSettings.InboundAllowed; b != nil {
		s.AutomaticRedemptionInbound = Resolved[bool]{*b, FromPartner}
	}
	if b := p.AutomaticUserConsentSettings.OutboundAllowed; b != nil {
		s.AutomaticRedemptionOutbound = Resolved[bool]{*b, FromPartner}
	}
	s.IsServiceProvider = isTrue(p.IsServiceProvider)
	s.IsInMultiTenantOrganization = p.IsInMultiTenantOrganization
	return s
}
