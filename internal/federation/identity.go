// Package federation signs people in at identity providers other than the
// tenant they are signing in to: another tenant of this deployment (a
// guest's home tenant), an OpenID Connect provider an administrator
// configured (Graph's identityProviders, with Google- and Facebook-style
// presets), or the deployment's consumers tenant of personal accounts. It
// is an OpenID Connect relying party with PKCE, state and nonce, and hands
// back the Identity the provider vouched for.
package federation

import "time"

// IssuerMail is the Issuer of identities proved by an email one-time
// passcode; their Subject is the lower-cased address.
const IssuerMail = "mail"

// Identity is a person as an identity provider, or an email one-time
// passcode, vouched for them.
type Identity struct {
	// Issuer and Subject are the identity's key, never the email: the
	// provider's exact issuer URL and its sub claim; for a tenant of this
	// deployment its issuer and the account's object id there; for an
	// email one-time passcode IssuerMail and the lower-cased address.
	Issuer, Subject string
	// Email is the address the provider asserts, EmailVerified whether it
	// vouches that the person controls it (email_verified, or an address
	// on a domain the home tenant verified).
	Email         string
	EmailVerified bool
	DisplayName   string
	// HomeTenantID and HomeObjectID name the account when the provider is
	// a tenant of this deployment; empty otherwise.
	HomeTenantID, HomeObjectID string
	// IdP is how Graph's identities and the idp claim name the provider:
	// the home tenant's issuer, "google.com", "facebook.com", "mail", or
	// the provider's issuer URL.
	IdP string
	// AuthTime and AMR are when and how the person authenticated at the
	// provider, as far as it says.
	AuthTime time.Time
	AMR      []string
}

// Kind is what sort of provider a Provider is.
type Kind string

const (
	// KindTenant is another tenant of this deployment.
	KindTenant Kind = "tenant"
	// KindOIDC is an OpenID Connect provider configured in the resource
	// tenant (an identityProvider).
	KindOIDC Kind = "oidc"
	// KindConsumers is the deployment's tenant of personal accounts.
	KindConsumers Kind = "consumers"
)

// Provider is where a person is sent to authenticate.
type Provider struct {
	Kind Kind
	// ID is the identityProvider's id in the resource tenant (KindOIDC);
	// TenantID the tenant's id (KindTenant, KindConsumers).
	ID, TenantID string
	DisplayName  string
	// Issuer is the provider's exact issuer URL.
	Issuer string
}
