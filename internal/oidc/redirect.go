package oidc

import "strings"

// redirectKind says which platform of the client a redirect URI is
// registered for, which decides how the code sent there is redeemed.
type redirectKind int

const (
	redirectNone   redirectKind = iota
	redirectWeb                 // confidential: redeemed with the client's secret
	redirectPublic              // SPA or public client: redeemed with PKCE alone
)

// matchRedirectURI reports whether uri is one of registered, compared as
// exact strings. Nothing is normalised (case, default ports, trailing
// slashes, percent-encoding, query order): any difference from what the
// application registered is a different endpoint, possibly someone else's.
// A URI with a fragment is never a redirection endpoint (RFC 6749 §3.1.2).
func matchRedirectURI(registered []string, uri string) bool {
	if uri == "" || strings.Contains(uri, "#") {
		return false
	}
	for _, r := range registered {
		if r == uri {
			return true
		}
	}
	return false
}

// classifyRedirect finds uri among the client's redirect URIs. A URI
// registered for the web platform as well as a public one is treated as web,
// so it never lets a code meant for a confidential client be redeemed
// without the secret.
func classifyRedirect(c Client, uri string) redirectKind {
	switch {
	case matchRedirectURI(c.WebRedirectURIs, uri):
		return redirectWeb
	case matchRedirectURI(c.SPARedirectURIs, uri), matchRedirectURI(c.PublicRedirectURIs, uri):
		return redirectPublic
	}
	return redirectNone
}

// registeredURIs are all the client's redirect URIs, where RP-initiated
// logout may send the browser back to.
func (c Client) registeredURIs() []string {
	out := make([]string, 0, len(c.WebRedirectURIs)+len(c.SPARedirectURIs)+len(c.PublicRedirectURIs))
	out = append(out, c.WebRedirectURIs...)
	out = append(out, c.SPARedirectURIs...)
	return append(out, c.PublicRedirectURIs...)
}
