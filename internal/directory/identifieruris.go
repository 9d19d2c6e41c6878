package directory

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// checkIdentifierURI decides whether an application of a tenant may claim
// an identifier URI, following Entra's secure patterns: api:// naming the
// application (api://{appId}, api://{anything}/{appId}) or the tenant
// (api://{tenantId}/{path}), or api:// or https:// on a domain the tenant
// has verified, or a subdomain of one. Identifier URIs are unique in the
// deployment, so without this rule a tenant could take another's URIs
// (https://fabrikam.example/api) before it does. verified are the tenant's
// verified domains, lower-case.
func checkIdentifierURI(uri, appID, tenantID string, verified []string) error {
	refuse := usererr.New(usererr.Invalid, "The identifier URI '%s' must name the application (api://{appId}), the tenant (api://{tenantId}/{path}) or a verified domain of the organization or its subdomain (https://… or api://…).", uri)
	u, err := url.Parse(uri)
	if err != nil || u.Opaque != "" || u.User != nil || u.RawQuery != "" || u.Port() != "" || strings.ContainsAny(uri, "#*") {
		return refuse
	}
	host := strings.ToLower(u.Hostname())
	segments := strings.Split(strings.Trim(u.Path, "/"), "/")
	owned := slices.ContainsFunc(verified, func(d string) bool { return host == d || strings.HasSuffix(host, "."+d) })
	switch strings.ToLower(u.Scheme) {
	case "api":
		names := strings.EqualFold(host, appID) || strings.EqualFold(segments[len(segments)-1], appID) ||
			strings.EqualFold(host, tenantID) && segments[0] != ""
		if names || owned {
			return nil
		}
	case "https":
		if owned {
			return nil
		}
	}
	return refuse
}

// checkNewIdentifierURIs applies checkIdentifierURI to the URIs an
// application gains (those it holds already are kept as they are, as Entra
// restricts only new ones).
func checkNewIdentifierURIs(ctx context.Context, tx store.Tx, tenantID, appID string, before, after []string) error {
	var added []string
	for _, u := range after {
		if !slices.ContainsFunc(before, func(b string) bool { return strings.EqualFold(b, u) }) {
			added = append(added, u)
		}
	}
	if len(added) == 0 {
		return nil
	}
	doms, err := tx.ListDomains(ctx, tenantID)
	if err != nil {
		return err
	}
	var verified []string
	for _, d := range doms {
		if d.Verified {
			verified = append(verified, d.Name)
		}
	}
	for _, u := range added {
		if err := checkIdentifierURI(u, appID, tenantID, verified); err != nil {
			return err
		}
	}
	return nil
}
