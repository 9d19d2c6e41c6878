package graph

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
)

// registerURLForms serves the other spellings the SDKs generate for the
// same resources: functions called with parentheses (users/delta()), type
// cast segments (members/graph.user) with their $count, and alternate keys
// (applications(appId='…')).
func (a *API) registerURLForms(mux *http.ServeMux) {
	for _, rt := range []kindRoute{
		{path: "users", kind: directory.KindUser, read: readUsers},
		{path: "groups", kind: directory.KindGroup, read: readGroups},
	} {
		mux.Handle("GET /v1.0/"+rt.path+"/delta()", a.require(rt.read, a.delta(rt)))
		memberOf := directory.Relation{Kind: rt.kind, Rel: directory.RelMembers, Reverse: true}
		a.registerRelation(mux, "/v1.0/"+rt.path+"/{id}/memberOf", rt.read, memberOf, false)
		memberOf.Transitive = true
		a.registerRelation(mux, "/v1.0/"+rt.path+"/{id}/transitiveMemberOf", rt.read, memberOf, true)
	}
	a.registerRelation(mux, "/v1.0/groups/{id}/transitiveMembers", readGroups,
		directory.Relation{Kind: directory.KindGroup, Rel: directory.RelMembers, Transitive: true}, true)
	for rel, write := range map[string]permSet{directory.RelMembers: writeGroupMembers, directory.RelOwners: writeGroups} {
		// The SDKs remove a reference as …/members/$ref?@id={url}.
		mux.Handle("DELETE /v1.0/groups/{id}/"+rel+"/$ref", a.require(write, a.action(func(r *http.Request) error {
			target, err := directory.RefID(queryOption(r.URL.Query(), "@id"))
			if err != nil {
				return err
			}
			return a.dir.RemoveLink(r.Context(), tenantOf(r), r.PathValue("id"), rel, target)
		})))
		a.registerRelation(mux, "/v1.0/groups/{id}/"+rel, readGroups, directory.Relation{Kind: directory.KindGroup, Rel: rel}, false)
	}
	alternate := a.authenticate(a.alternateKey(mux))
	mux.Handle("/v1.0/{segment}", alternate)
	mux.Handle("/v1.0/{segment}/{rest...}", alternate)
}

// registerRelation serves a relation's casts and counts under path, and
// the relation itself too when whole (the plain ones are in Register).
func (a *API) registerRelation(mux *http.ServeMux, path string, read permSet, rel directory.Relation, whole bool) {
	if whole {
		mux.Handle("GET "+path, a.require(read, a.related(rel)))
	}
	mux.Handle("GET "+path+"/$count", a.require(read, a.relatedCount(rel)))
	mux.Handle("GET "+path+"/{cast}", a.require(read, a.related(rel)))
	mux.Handle("GET "+path+"/{cast}/$count", a.require(read, a.relatedCount(rel)))
}

// relationOf is the relation a request names, with the kind of its type
// cast segment if it has one.
func relationOf(r *http.Request, rel directory.Relation) (directory.Relation, error) {
	out := rel
	out.ID = r.PathValue("id")
	if c := r.PathValue("cast"); c != "" {
		var err error
		if out.Cast, err = directory.CastKind(c); err != nil {
			return out, err
		}
	}
	return out, nil
}

// relatedCount serves …/members/$count and …/members/graph.user/$count:
// like every $count segment, only with ConsistencyLevel: eventual.
func (a *API) relatedCount(rel directory.Relation) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") {
			writeError(w, r, http.StatusBadRequest, "Request_BadRequest", "$count is not currently supported.")
			return
		}
		if _, err := wholeOptions(r, rel.Kind); err != nil {
			a.fail(w, r, err)
			return
		}
		relation, err := relationOf(r, rel)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		n, err := a.dir.CountRelated(r.Context(), tenantOf(r), relation)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeCount(w, n)
	}
}

// alternateKeyForm is an entity set addressed by an alternate key, as
// the CSDL declares them: applications and servicePrincipals by appId,
// directoryRoles by roleTemplateId.
var alternateKeyForm = regexp.MustCompile(`^(applications|servicePrincipals|directoryRoles)\((appId|roleTemplateId)='([^']+)'\)$`)

// alternateKey answers a path whose first segment names an entity by an
// alternate key by serving the same request for its id; any other path
// that reached it is a segment Graph would not resolve either.
func (a *API) alternateKey(mux *http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m := alternateKeyForm.FindStringSubmatch(r.PathValue("segment"))
		if m == nil || (m[1] == "directoryRoles") != (m[2] == "roleTemplateId") {
			writeError(w, r, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+lastSegment(r.URL.Path)+"'.")
			return
		}
		set, id := m[1], m[3]
		if set != "directoryRoles" { // a directory role's id is its template id
			kind := map[string]string{"applications": directory.KindApplication, "servicePrincipals": directory.KindServicePrincipal}[set]
			obj, err := a.dir.GetByAppID(r.Context(), tenantOf(r), kind, id)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			id = obj.ID
		}
		inner := r.Clone(r.Context())
		inner.URL.Path = "/v1.0/" + set + "/" + id
		if rest := r.PathValue("rest"); rest != "" {
			inner.URL.Path += "/" + rest
		}
		inner.URL.RawPath = ""
		mux.ServeHTTP(w, inner)
	}
}
