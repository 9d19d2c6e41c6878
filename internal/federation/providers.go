package federation

import (
	"encoding/json"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// KindIdentityProvider is the store kind of a tenant's configured identity
// providers (Graph's identityProviderBase).
const KindIdentityProvider = "identityProvider"

// Graph types of the identity providers a tenant can configure.
const (
	TypeSocial = "#microsoft.graph.socialIdentityProvider"
	TypeOIDC   = "#microsoft.graph.oidcIdentityProvider"

	typeClientSecret = "#microsoft.graph.oidcClientSecretAuthentication"
	typePrivateJWT   = "#microsoft.graph.oidcPrivateJwtKeyClientAuthentication"
)

// MaskedSecret is what a client secret reads back as: Graph never returns
// one, and shows this mask where a secret is set.
const MaskedSecret = "******"

// preset is a social identity provider type Gatehouse knows how to reach.
type preset struct {
	Type, Issuer, WellKnown, Scope, IdP string
	Domains                             []string
}

// presets are the social identity provider types of B2B collaboration.
// Google vouches for gmail.com addresses, so guests invited with one
// redeem there without a configured domain; Facebook accounts have no
// domain of their own.
var presets = []preset{
	{Type: "Google", Issuer: "https://accounts.google.com", Scope: "openid profile email", IdP: "google.com",
		Domains: []string{"gmail.com", "googlemail.com"}},
	{Type: "Facebook", Issuer: "https://www.facebook.com", WellKnown: "https://www.facebook.com/.well-known/openid-configuration/",
		Scope: "openid email public_profile", IdP: "facebook.com"},
}

// ProviderTypes are the types availableProviderTypes() lists: the social
// presets and any OpenID Connect provider.
func ProviderTypes() []string {
	out := make([]string, 0, len(presets)+1)
	for _, p := range presets {
		out = append(out, p.Type)
	}
	return append(out, "OpenIDConnect")
}

func findPreset(typ string) (preset, bool) {
	for _, p := range presets {
		if strings.EqualFold(p.Type, typ) {
			return p, true
		}
	}
	return preset{}, false
}

// record is an identity provider as stored: its Graph document without the
// client secret, which is sealed apart (never in the document, so never in
// the change feed or an audit record).
type record struct {
	Type                 string         `json:"@odata.type"`
	ID                   string         `json:"id"`
	DisplayName          string         `json:"displayName"`
	IdentityProviderType string         `json:"identityProviderType,omitempty"`
	ClientID             string         `json:"clientId"`
	Issuer               string         `json:"issuer,omitempty"`
	WellKnownEndpoint    string         `json:"wellKnownEndpoint,omitempty"`
	ResponseType         string         `json:"responseType,omitempty"`
	Scope                string         `json:"scope,omitempty"`
	InboundClaimMapping  map[string]any `json:"inboundClaimMapping,omitempty"`
	// Domains are Gatehouse's extension: the email domains whose invitees
	// redeem and sign in at this provider.
	Domains []string `json:"domains"`
}

// present renders a record as Graph returns it: the secret masked, never
// shown.
func (r record) present() map[string]any {
	d := map[string]any{"@odata.type": r.Type, "id": r.ID, "displayName": r.DisplayName, "clientId": r.ClientID, "domains": slices.Clone(r.Domains)}
	if r.Domains == nil {
		d["domains"] = []string{}
	}
	switch r.Type {
	case TypeSocial:
		d["identityProviderType"] = r.IdentityProviderType
		d["clientSecret"] = MaskedSecret
	case TypeOIDC:
		d["issuer"], d["responseType"], d["scope"] = r.Issuer, r.ResponseType, r.Scope
		d["wellKnownEndpoint"] = nullable(r.WellKnownEndpoint)
		d["inboundClaimMapping"] = nil
		if r.InboundClaimMapping != nil {
			d["inboundClaimMapping"] = r.InboundClaimMapping
		}
		d["clientAuthentication"] = map[string]any{"@odata.type": typeClientSecret, "clientSecret": MaskedSecret}
	}
	return d
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// issuer is the issuer the provider's tokens must name exactly.
func (r record) issuer() string {
	if p, ok := findPreset(r.IdentityProviderType); ok && r.Type == TypeSocial {
		return p.Issuer
	}
	return r.Issuer
}

// discoveryURL is where the provider's OpenID configuration is read.
func (r record) discoveryURL() string {
	if r.WellKnownEndpoint != "" {
		return r.WellKnownEndpoint
	}
	if p, ok := findPreset(r.IdentityProviderType); ok && r.Type == TypeSocial && p.WellKnown != "" {
		return p.WellKnown
	}
	return strings.TrimSuffix(r.issuer(), "/") + "/.well-known/openid-configuration"
}

func (r record) scopes() []string {
	if p, ok := findPreset(r.IdentityProviderType); ok && r.Type == TypeSocial {
		return strings.Fields(p.Scope)
	}
	return strings.Fields(r.Scope)
}

// idp is how identities from the provider name it: the social providers'
// conventional names, else the issuer URL.
func (r record) idp() string {
	if p, ok := findPreset(r.IdentityProviderType); ok && r.Type == TypeSocial {
		return p.IdP
	}
	return r.Issuer
}

// claimName is the claim of the provider's ID token that carries a
// standard claim, as inboundClaimMapping renames it.
func (r record) claimName(standard string) string {
	if v, ok := r.InboundClaimMapping[standard].(string); ok && v != "" {
		return v
	}
	return standard
}

func invalid(format string, args ...any) error {
	return usererr.New(usererr.Invalid, format, args...)
}

// properties each type accepts on write.
var (
	socialProps = []string{"displayName", "identityProviderType", "clientId", "clientSecret", "domains"}
	oidcProps   = []string{"displayName", "clientId", "issuer", "wellKnownEndpoint", "responseType", "scope", "clientAuthentication", "inboundClaimMapping", "domains"}
	claimProps  = []string{"sub", "name", "given_name", "family_name", "email", "email_verified", "phone_number", "phone_number_verified", "address"}
)

// canonicalType reads @odata.type as clients write it: with or without
// the leading '#', in any case.
func canonicalType(v any) (string, bool) {
	s, _ := v.(string)
	s = "#" + strings.TrimPrefix(s, "#")
	for _, t := range []string{TypeSocial, TypeOIDC, typeClientSecret, typePrivateJWT} {
		if strings.EqualFold(s, t) {
			return t, true
		}
	}
	return "", false
}

// fold matches a body's property names to the type's, case-insensitively,
// and refuses any other.
func fold(body map[string]any, allowed []string) (map[string]any, error) {
	out := make(map[string]any, len(body))
	for name, v := range body {
		if name == "@odata.type" {
			continue
		}
		if strings.HasPrefix(name, "@odata.") {
			return nil, invalid("Annotation '%s' is not supported in a request body.", name)
		}
		i := slices.IndexFunc(allowed, func(a string) bool { return strings.EqualFold(a, name) })
		if i < 0 {
			if strings.EqualFold(name, "id") {
				return nil, invalid("Property 'id' is read-only and cannot be set.")
			}
			return nil, invalid("Property '%s' does not exist as a declared property or extension property.", name)
		}
		out[allowed[i]] = v
	}
	return out, nil
}

// parseNew validates a POST body: its type, its record (without id) and
// its client secret.
func parseNew(body map[string]any) (record, string, error) {
	typ, ok := canonicalType(body["@odata.type"])
	if !ok || (typ != TypeSocial && typ != TypeOIDC) {
		return record{}, "", invalid("The @odata.type of an identity provider must be #microsoft.graph.socialIdentityProvider or #microsoft.graph.oidcIdentityProvider.")
	}
	r := record{Type: typ}
	if typ == TypeOIDC {
		// Graph's defaults for what a new OpenID Connect provider omits.
		r.ResponseType, r.Scope = "code", "openid profile email"
	}
	secret, _, err := apply(&r, body, true)
	if err != nil {
		return record{}, "", err
	}
	if r.Type == TypeSocial && r.Domains == nil {
		p, _ := findPreset(r.IdentityProviderType)
		r.Domains = slices.Clone(p.Domains)
	}
	return r, secret, nil
}

// apply writes a body's properties into r, as POST (creating) or PATCH
// does, and returns the client secret it sets, if it does.
func apply(r *record, body map[string]any, creating bool) (secret string, secretSet bool, err error) {
	if t, ok := body["@odata.type"]; ok && !creating {
		if ct, _ := canonicalType(t); ct != r.Type {
			return "", false, invalid("The type of an identity provider cannot be changed.")
		}
	}
	allowed := socialProps
	if r.Type == TypeOIDC {
		allowed = oidcProps
	}
	in, err := fold(body, allowed)
	if err != nil {
		return "", false, err
	}
	for name, v := range in {
		switch name {
		case "displayName":
			r.DisplayName, err = text(name, v, 256)
		case "clientId":
			r.ClientID, err = text(name, v, 256)
		case "clientSecret":
			secret, err = text(name, v, 2048)
			secretSet = true
		case "identityProviderType":
			if !creating {
				return "", false, invalid("Property 'identityProviderType' cannot be changed.")
			}
			var s string
			if s, err = text(name, v, 64); err == nil {
				p, ok := findPreset(s)
				if !ok {
					return "", false, invalid("Invalid value specified for property 'identityProviderType'; supported types are %s.", strings.Join(ProviderTypes()[:len(presets)], ", "))
				}
				r.IdentityProviderType = p.Type
			}
		case "issuer":
			r.Issuer, err = endpoint(name, v)
		case "wellKnownEndpoint":
			if v == nil {
				r.WellKnownEndpoint = ""
				continue
			}
			r.WellKnownEndpoint, err = endpoint(name, v)
		case "responseType":
			var s string
			if s, err = text(name, v, 64); err == nil && !strings.EqualFold(strings.ReplaceAll(s, " ", ""), "code") {
				return "", false, invalid("Only the responseType 'code' is supported.")
			}
			r.ResponseType = "code"
		case "scope":
			if r.Scope, err = text(name, v, 1024); err == nil && !slices.Contains(strings.Fields(r.Scope), "openid") {
				return "", false, invalid("Property 'scope' must include 'openid'.")
			}
		case "clientAuthentication":
			secret, err = clientAuthentication(v)
			secretSet = err == nil
		case "inboundClaimMapping":
			r.InboundClaimMapping, err = claimMapping(v)
		case "domains":
			r.Domains, err = domainList(v)
		}
		if err != nil {
			return "", false, err
		}
	}
	if creating {
		required := []string{"displayName", "clientId"}
		if r.Type == TypeSocial {
			required = append(required, "identityProviderType", "clientSecret")
		} else {
			required = append(required, "issuer", "clientAuthentication")
		}
		for _, name := range required {
			if _, ok := in[name]; !ok {
				return "", false, invalid("Property '%s' is required when creating the resource.", name)
			}
		}
	}
	return secret, secretSet, nil
}

func text(name string, v any, max int) (string, error) {
	s, ok := v.(string)
	if !ok || strings.TrimSpace(s) == "" || len(s) > max {
		return "", invalid("Invalid value specified for property '%s'.", name)
	}
	return s, nil
}

// endpoint accepts an issuer or discovery URL: https, or http only on a
// loopback host (development), with no query or fragment.
func endpoint(name string, v any) (string, error) {
	s, err := text(name, v, 2048)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "#") {
		return "", invalid("Property '%s' must be an absolute https URL.", name)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return "", invalid("Property '%s' must be an absolute https URL.", name)
	}
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func clientAuthentication(v any) (string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", invalid("Invalid value specified for property 'clientAuthentication'.")
	}
	switch t, _ := canonicalType(m["@odata.type"]); t {
	case typeClientSecret:
	case typePrivateJWT:
		return "", invalid("Only #microsoft.graph.oidcClientSecretAuthentication is supported for clientAuthentication.")
	default:
		return "", invalid("clientAuthentication needs @odata.type #microsoft.graph.oidcClientSecretAuthentication.")
	}
	in, err := fold(m, []string{"clientSecret"})
	if err != nil {
		return "", err
	}
	if _, ok := in["clientSecret"]; !ok {
		return "", invalid("Property 'clientSecret' of clientAuthentication is required.")
	}
	return text("clientSecret", in["clientSecret"], 2048)
}

func claimMapping(v any) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("Invalid value specified for property 'inboundClaimMapping'.")
	}
	in, err := fold(m, claimProps)
	if err != nil {
		return nil, err
	}
	for name, c := range in {
		if name == "address" {
			if _, err := fold(mapOrEmpty(c), []string{"street_address", "locality", "region", "postal_code", "country"}); err != nil {
				return nil, err
			}
			continue
		}
		if c == nil {
			delete(in, name)
			continue
		}
		if _, err := text("inboundClaimMapping/"+name, c, 256); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func mapOrEmpty(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

var domainName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

// maxDomains bounds one provider's domains.
const maxDomains = 100

// domainList reads domains: DNS names, lower-cased, each once.
func domainList(v any) ([]string, error) {
	if v == nil {
		return []string{}, nil
	}
	list, ok := v.([]any)
	if !ok || len(list) > maxDomains {
		return nil, invalid("Property 'domains' must be a list of at most %d domain names.", maxDomains)
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, _ := e.(string)
		s = strings.ToLower(strings.TrimSpace(s))
		if len(s) > 253 || !domainName.MatchString(s) {
			return nil, invalid("'%v' in property 'domains' is not a domain name.", e)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// domainTaken names a domain of r that another provider of the tenant
// already claims ("" if none): a domain routes its invitees to one place.
func domainTaken(r record, others []record) string {
	for _, o := range others {
		if o.ID == r.ID {
			continue
		}
		for _, d := range r.Domains {
			if slices.Contains(o.Domains, d) {
				return d
			}
		}
	}
	return ""
}

func decodeRecord(data []byte) (record, error) {
	var r record
	err := json.Unmarshal(data, &r)
	return r, err
}

func encode(o *store.Object, r record) error {
	b, err := json.Marshal(r)
	o.Data = b
	return err
}
