package mfa

import (
	"context"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/authz"
)

// The authentication method references Gatehouse's tokens carry, Entra's
// values (its ID token reference: pwd, rsa, otp, fed, wia, mfa, ngcmfa,
// wiaormfa, none): a password, a one-time code (TOTP or email), and "mfa"
// once two factors were proved, beside the methods used.
const (
	AMRPassword = "pwd"
	AMROTP      = "otp"
	AMRMFA      = "mfa"
)

// mfaValues are the amr values that say several factors were proved:
// Entra's ngcmfa is "equivalent to mfa".
var mfaValues = []string{AMRMFA, "ngcmfa"}

// ProvesMFA reports whether amr says several factors were proved.
func ProvesMFA(amr []string) bool {
	return slices.ContainsFunc(amr, func(v string) bool { return slices.Contains(mfaValues, v) })
}

// WithSecondFactor is the amr of a sign-in after its second factor (a
// TOTP or email code): the first factor's methods, "otp" and "mfa", each
// once.
func WithSecondFactor(amr []string) []string {
	out := slices.Clone(amr)
	for _, v := range []string{AMROTP, AMRMFA} {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// AcceptedAMR is what a guest's home token's amr proves to the resource
// tenant: all of it when the tenant's inbound trust accepts MFA from the
// guest's home tenant (trusted), else everything but the claim of
// several factors, which the resource tenant then asks for itself if it
// requires it. The resource tenant's tokens carry only what it accepted.
func AcceptedAMR(homeAMR []string, trusted bool) []string {
	if trusted {
		return slices.Clone(homeAMR)
	}
	return slices.DeleteFunc(slices.Clone(homeAMR), func(v string) bool { return slices.Contains(mfaValues, v) })
}

// Policy is what a tenant requires of sign-ins: its security defaults
// (Graph's identitySecurityDefaultsEnforcementPolicy.isEnabled).
type Policy struct {
	SecurityDefaults bool
}

// Subject is who signs in.
type Subject struct {
	// Guest: a B2B guest of the tenant, whatever their userType says of
	// the members' rights.
	Guest bool
	// Roles are the directory role template ids the user holds.
	Roles []string
}

// Proof is what the sign-in proved so far.
type Proof struct {
	// AMR are the methods proved to this tenant in this sign-in (or the
	// SSO session it continues).
	AMR []string
	// HomeAMR is a guest's home token's amr, as their home tenant says.
	HomeAMR []string
	// HomeMFATrusted: the resource tenant's cross-tenant access settings
	// accept MFA done in the guest's home tenant (inboundTrust.isMfaAccepted,
	// of the partner's configuration or the default). internal/xtap decides
	// it; untrusted unless it says so.
	HomeMFATrusted bool
}

// Decision is whether a sign-in must prove a second factor, and why.
type Decision struct {
	// Required: the tenant's policy asks a second factor of this user.
	Required bool
	// Satisfied: what the sign-in proved meets the requirement.
	Satisfied bool
	// Rule names the rule that decided, Reason says why in words.
	Rule, Reason string
}

// Challenge tells the pages to ask for a second factor now.
func (d Decision) Challenge() bool { return d.Required && !d.Satisfied }

// SecurityDefaultsAdminRoles are the roles security defaults require MFA
// of at every sign-in (Entra's list, by role template id).
var SecurityDefaultsAdminRoles = []string{
	authz.GlobalAdministrator,
	authz.ApplicationAdministrator,
	authz.AuthenticationAdministrator,
	"b0f54661-2d74-4c50-afa3-1ec803f12efe", // Billing Administrator
	authz.CloudApplicationAdministrator,
	"b1be1c3e-b65d-4f19-8427-f6fa0d97feb9", // Conditional Access Administrator
	"29232cdf-9323-42fd-ade2-1d097af3e4de", // Exchange Administrator
	authz.HelpdeskAdministrator,
	authz.PasswordAdministrator,
	authz.PrivilegedAuthenticationAdministrator,
	authz.PrivilegedRoleAdministrator,
	authz.SecurityAdministrator,
	"f28a1f50-f6e7-4571-818b-6a12f2af6b6c", // SharePoint Administrator
	"69091246-20e8-4a56-aa4d-066075b2a7a8", // Teams Administrator
	authz.UserAdministrator,
	authz.AuthenticationPolicyAdministrator,
	"45d8d3c5-c802-45c6-b32a-1d70b5e1e86e", // Identity Governance Administrator
}

// Decide is the requirement of a second factor: pure, from the tenant's
// policy, who signs in and what the sign-in proved.
//
// Security defaults (Entra's documentation): every user registers for
// MFA; administrators do MFA at every sign-in; other users "when
// necessary", a risk judgement Gatehouse does not make, so it asks them
// at every sign-in too (the stricter reading). B2B guests "are treated the
// same as your organization's users". A sign-in that continues an SSO
// session keeps the session's methods, so a session that did MFA
// satisfies it. A guest's MFA at home counts only when the tenant's
// inbound trust accepts it (Proof.HomeMFATrusted); otherwise the tenant
// asks for its own second factor. Without security defaults nothing is
// required.
func Decide(p Policy, u Subject, proof Proof) Decision {
	if !p.SecurityDefaults {
		return Decision{Rule: "none", Reason: "the tenant requires no second factor (security defaults are off)"}
	}
	d := Decision{Required: true, Rule: "securityDefaults.users", Reason: "security defaults require MFA of every user"}
	switch {
	case slices.ContainsFunc(u.Roles, func(r string) bool { return slices.Contains(SecurityDefaultsAdminRoles, r) }):
		d.Rule, d.Reason = "securityDefaults.administrators", "security defaults require MFA of administrators at every sign-in"
	case u.Guest:
		d.Rule, d.Reason = "securityDefaults.guests", "security defaults treat B2B guests as the organization's users"
	}
	switch {
	case ProvesMFA(proof.AMR):
		d.Satisfied = true
		d.Reason += "; this sign-in proved a second factor"
	case u.Guest && proof.HomeMFATrusted && ProvesMFA(proof.HomeAMR):
		d.Satisfied = true
		d.Reason += "; the guest's home tenant proved MFA and inbound trust accepts it"
	case u.Guest && ProvesMFA(proof.HomeAMR):
		d.Reason += "; the guest did MFA at home, but inbound trust does not accept it"
	}
	return d
}

// InboundTrust tells whether a resource tenant accepts MFA its guests did
// in their home tenant: its cross-tenant access settings' inboundTrust.
// isMfaAccepted, of the partner configuration for homeTenantID or else
// the default (internal/xtap decides it). Without one, home MFA is never
// trusted, the default of those settings.
type InboundTrust interface {
	MFAAccepted(ctx context.Context, resourceTenantID, homeTenantID string) (bool, error)
}
