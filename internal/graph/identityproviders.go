package graph

import (
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

var (
	idpAdmins = []string{authz.GlobalAdministrator, directory.RoleExternalIdentityProviderAdministrator}
	readIdPs  = permSet{app: []string{"IdentityProvider.Read.All", "IdentityProvider.ReadWrite.All"},
		delegated: []string{"IdentityProvider.Read.All", "IdentityProvider.ReadWrite.All"}, roles: append([]string{authz.GlobalReader}, idpAdmins...)}
	writeIdPs = permSet{app: []string{"IdentityProvider.ReadWrite.All"}, delegated: []string{"IdentityProvider.ReadWrite.All"}, roles: idpAdmins}
)

// registerIdentityProviders serves /identity/identityProviders: the social
// and OpenID Connect providers guests redeem and sign in with.
func (a *API) registerIdentityProviders(mux *http.ServeMux) {
	if a.idps == nil {
		return
	}
	const base = "/v1.0/identity/identityProviders"
	mux.Handle("GET "+base, a.require(readIdPs, func(w http.ResponseWriter, r *http.Request) {
		if !a.noQueryOptions(w, r) {
			return
		}
		all, err := a.idps.List(r.Context(), tenantOf(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": a.publicURL + "/v1.0/$metadata#identity/identityProviders", "value": all})
	}))
	mux.Handle("GET "+base+"/availableProviderTypes()", a.require(readIdPs, func(w http.ResponseWriter, r *http.Request) {
		if a.noQueryOptions(w, r) {
			writeJSON(w, http.StatusOK, map[string]any{"@odata.context": a.publicURL + "/v1.0/$metadata#Collection(Edm.String)", "value": federation.ProviderTypes()})
		}
	}))
	mux.Handle("POST "+base, a.require(writeIdPs, func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if _, ok := body["@odata.type"]; !ok {
			a.fail(w, r, usererr.New(usererr.Invalid, "An identity provider must be created with its @odata.type, such as #microsoft.graph.socialIdentityProvider."))
			return
		}
		idp, err := a.idps.Create(r.Context(), tenantOf(r), body)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		w.Header().Set("Location", a.publicURL+base+"/"+idp["id"].(string))
		a.writeIdP(w, http.StatusCreated, idp)
	}))
	mux.Handle("GET "+base+"/{id}", a.require(readIdPs, func(w http.ResponseWriter, r *http.Request) {
		if !a.noQueryOptions(w, r) {
			return
		}
		idp, err := a.idps.Get(r.Context(), tenantOf(r), r.PathValue("id"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.writeIdP(w, http.StatusOK, idp)
	}))
	mux.Handle("PATCH "+base+"/{id}", a.require(writeIdPs, a.bodyAction(func(r *http.Request, body directory.Doc) error {
		return a.idps.Update(r.Context(), tenantOf(r), r.PathValue("id"), body)
	})))
	mux.Handle("DELETE "+base+"/{id}", a.require(writeIdPs, a.action(func(r *http.Request) error {
		return a.idps.Delete(r.Context(), tenantOf(r), r.PathValue("id"))
	})))
}

func (a *API) writeIdP(w http.ResponseWriter, status int, idp map[string]any) {
	idp["@odata.context"] = a.publicURL + "/v1.0/$metadata#identity/identityProviders/$entity"
	writeJSON(w, status, idp)
}

// noQueryOptions refuses OData options: the set is small and served whole,
// and an option silently ignored would mislead a script.
func (a *API) noQueryOptions(w http.ResponseWriter, r *http.Request) bool {
	for name := range r.URL.Query() {
		if strings.HasPrefix(name, "$") {
			writeError(w, r, http.StatusBadRequest, "Request_UnsupportedQuery", "The query option '"+name+"' is not supported on this resource.")
			return false
		}
	}
	return true
}
