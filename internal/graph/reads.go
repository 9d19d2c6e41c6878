package graph

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// writeMe admits a signed-in user changing its own profile; which
// properties is the directory's decision (authz.SelfServiceProperties).
var writeMe = permSet{delegated: []string{"User.ReadWrite", "User.ReadWrite.All", "Directory.AccessAsUser.All"}}

// registerReads serves the reads admin scripts rely on beyond the
// collections: /me's relationships and PATCH /me, managers and direct
// reports, owned objects, membership checks and getByIds.
func (a *API) registerReads(mux *http.ServeMux) {
	memberOf := directory.Relation{Kind: directory.KindUser, Rel: directory.RelMembers, Reverse: true}
	mux.Handle("GET /v1.0/me/memberOf", a.requireMe(readMe, a.related(memberOf)))
	memberOf.Transitive = true
	mux.Handle("GET /v1.0/me/transitiveMemberOf", a.requireMe(readMe, a.related(memberOf)))
	mux.Handle("PATCH /v1.0/me", a.requireMe(writeMe, a.update(kindRoute{path: "users", kind: directory.KindUser, update: a.dir.UpdateUser})))

	mux.Handle("GET /v1.0/users/{id}/ownedObjects", a.require(readUsers, a.related(directory.Relation{Kind: directory.KindUser, Rel: directory.RelOwners, Reverse: true})))
	mux.Handle("GET /v1.0/users/{id}/directReports", a.require(readUsers, a.related(directory.Relation{Kind: directory.KindUser, Rel: directory.RelManager, Reverse: true})))
	mux.Handle("GET /v1.0/users/{id}/manager", a.require(readUsers, func(w http.ResponseWriter, r *http.Request) {
		if _, err := wholeOptions(r, directory.KindUser); err != nil {
			a.fail(w, r, err)
			return
		}
		m, err := a.dir.Manager(r.Context(), tenantOf(r), r.PathValue("id"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.writeTyped(w, r, m, "directoryObjects/$entity")
	}))
	mux.Handle("PUT /v1.0/users/{id}/manager/$ref", a.require(writeUsers, a.bodyAction(func(r *http.Request, body directory.Doc) error {
		target, err := refTarget(body)
		if err != nil {
			return err
		}
		return a.dir.SetManager(r.Context(), tenantOf(r), r.PathValue("id"), target)
	})))
	mux.Handle("DELETE /v1.0/users/{id}/manager/$ref", a.require(writeUsers, a.action(func(r *http.Request) error {
		return a.dir.RemoveManager(r.Context(), tenantOf(r), r.PathValue("id"))
	})))

	for _, rt := range []kindRoute{
		{path: "users", kind: directory.KindUser, read: readUsers},
		{path: "groups", kind: directory.KindGroup, read: readGroups},
	} {
		for _, fn := range []string{"getMemberGroups", "getMemberObjects", "checkMemberGroups"} {
			mux.Handle("POST /v1.0/"+rt.path+"/{id}/"+fn, a.require(rt.read, a.memberCheck(rt.kind, fn)))
		}
	}
	for _, fn := range []string{"getMemberGroups", "getMemberObjects", "checkMemberGroups"} {
		mux.Handle("POST /v1.0/me/"+fn, a.requireMe(readMe, a.memberCheck(directory.KindUser, fn)))
	}
	mux.Handle("POST /v1.0/directoryObjects/getByIds", a.require(readObjects, a.getByIDs))
}

// requireMe admits a delegated caller with need and serves h as for
// /users/{id} with the caller's own id.
func (a *API) requireMe(need permSet, h http.HandlerFunc) http.Handler {
	return a.authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		if p.AppOnly {
			writeError(w, r, http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
			return
		}
		if a.permitted(w, r, need) {
			r.SetPathValue("id", p.ObjectID)
			h(w, r)
		}
	}))
}

// memberCheck serves getMemberGroups, getMemberObjects and
// checkMemberGroups: the transitive memberships of an object, as ids.
func (a *API) memberCheck(kind, fn string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		var asked []string
		if fn == "checkMemberGroups" {
			asked, err = guidList(body, "groupIds", 20)
		} else if _, ok := body["securityEnabledOnly"].(bool); !ok || len(body) != 1 {
			err = usererr.New(usererr.Invalid, "The request body must be {\"securityEnabledOnly\": true|false}.")
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		objs, err := a.dir.MemberObjects(r.Context(), tenantOf(r), kind, r.PathValue("id"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		// Every group is a security group, so securityEnabledOnly keeps them all.
		ids := []string{}
		for _, o := range objs {
			if o.Kind == directory.KindGroup || fn == "getMemberObjects" {
				ids = append(ids, o.ID)
			}
		}
		if fn == "checkMemberGroups" {
			ids = slices.DeleteFunc(asked, func(id string) bool { return !slices.Contains(ids, id) })
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": a.publicURL + "/v1.0/$metadata#Collection(Edm.String)", "value": ids})
	}
}

// guidList reads a body's list of at most max object ids, lower-cased.
func guidList(body directory.Doc, name string, max int) ([]string, error) {
	raw, ok := body[name].([]any)
	if !ok || len(raw) == 0 || len(raw) > max {
		return nil, usererr.New(usererr.Invalid, "Property '%s' must list 1 to %d object ids.", name, max)
	}
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		s, _ := v.(string)
		id, err := directory.RefID(s)
		if err != nil || strings.Contains(s, "/") {
			return nil, usererr.New(usererr.Invalid, "Invalid object identifier '%s'.", s)
		}
		out = append(out, id)
	}
	return out, nil
}

// getByIDs serves POST /directoryObjects/getByIds.
func (a *API) getByIDs(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ids, err := guidList(body, "ids", 1000)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	kinds := []string{directory.KindUser, directory.KindGroup, directory.KindServicePrincipal, directory.KindApplication}
	if raw, ok := body["types"]; ok {
		list, _ := raw.([]any)
		if list == nil {
			a.fail(w, r, usererr.New(usererr.Invalid, "Property 'types' must be a list of type names."))
			return
		}
		kinds = kinds[:0]
		for _, t := range list {
			name, _ := t.(string)
			kind, err := directory.CastKind("graph." + strings.TrimPrefix(strings.TrimPrefix(name, "microsoft.graph."), "#"))
			if err != nil || !slices.Contains([]string{directory.KindUser, directory.KindGroup, directory.KindServicePrincipal, directory.KindApplication}, kind) {
				a.fail(w, r, usererr.New(usererr.Invalid, "Invalid type '%s' in 'types'.", name))
				return
			}
			kinds = append(kinds, kind)
		}
	}
	objs, err := a.dir.GetByIDs(r.Context(), tenantOf(r), ids, kinds)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if values, ok := a.present(w, r, objs, nil, true); ok {
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": a.publicURL + "/v1.0/$metadata#directoryObjects", "value": values})
	}
}
