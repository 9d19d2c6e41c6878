package graph

import (
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// expandable are the navigation properties $expand serves, per kind: a
// user's manager, a group's members and owners.
var expandable = map[string][]string{
	directory.KindUser:  {directory.RelManager},
	directory.KindGroup: {directory.RelMembers, directory.RelOwners},
}

// maxExpanded is how many objects an expanded collection carries, as in
// Graph; the whole collection is its own relationship's listing.
const maxExpanded = 20

// parseExpand validates an $expand list for a kind.
func parseExpand(v, kind string) ([]string, error) {
	var out []string
	for name := range strings.SplitSeq(v, ",") {
		name = strings.TrimSpace(name)
		canon := ""
		for _, nav := range expandable[kind] {
			if strings.EqualFold(nav, name) {
				canon = nav
			}
		}
		if canon == "" {
			if strings.Contains(name, "(") {
				return nil, usererr.WithCode(usererr.Invalid, "Request_BadRequest", "Query options inside $expand are not supported: '%s'.", name)
			}
			return nil, usererr.WithCode(usererr.Invalid, "Request_BadRequest", "Could not find a navigation property named '%s' on type 'microsoft.graph.%s'.", name, directory.TypeName(kind))
		}
		out = append(out, canon)
	}
	return out, nil
}

// refuseExpand answers 400 for $expand and $search where neither is served.
func refuseExpand(o listOptions) error {
	switch {
	case len(o.expand) > 0:
		return usererr.WithCode(usererr.Invalid, "Request_BadRequest", "The query option '$expand' is not supported on this resource.")
	case o.search != nil:
		return usererr.WithCode(usererr.Invalid, "Request_UnsupportedQuery", "The query option '$search' is not supported on this resource.")
	}
	return nil
}

// expandInto adds the expanded navigation properties of obj to its
// presented document.
func (a *API) expandInto(r *http.Request, doc directory.Doc, obj directory.Object, expand []string) error {
	for _, nav := range expand {
		if nav == directory.RelManager {
			m, err := a.dir.Manager(r.Context(), tenantOf(r), obj.ID)
			if usererr.IsKind(err, usererr.NotFound) {
				continue // no manager: Graph leaves the property out
			}
			if err != nil {
				return err
			}
			if doc[nav], err = typedDoc(m); err != nil {
				return err
			}
			continue
		}
		page, err := a.dir.ListRelated(r.Context(), tenantOf(r), directory.Relation{Kind: obj.Kind, ID: obj.ID, Rel: nav}, directory.Query{Top: maxExpanded})
		if err != nil {
			return err
		}
		related := make([]any, 0, len(page.Objects))
		for _, o := range page.Objects {
			d, err := typedDoc(o)
			if err != nil {
				return err
			}
			related = append(related, d)
		}
		doc[nav] = related
	}
	return nil
}

// typedDoc presents a directory object of any kind with its @odata.type.
func typedDoc(o directory.Object) (directory.Doc, error) {
	d, err := directory.Present(o, nil)
	if err == nil {
		d["@odata.type"] = "#microsoft.graph." + directory.TypeName(o.Kind)
	}
	return d, err
}
