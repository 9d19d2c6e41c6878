package graph

import (
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
)

// Users' authentication methods (internal/mfa) and the security defaults
// that require them. Admission takes Graph's permissions; whose methods a
// delegated caller may read or change (their own, or another user's with
// an administrator's role) is internal/mfa's rule.
var (
	readMethods = permSet{app: []string{"UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"},
		delegated: []string{"UserAuthenticationMethod.Read", "UserAuthenticationMethod.ReadWrite", "UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"}}
	writeMethods = permSet{app: []string{"UserAuthenticationMethod.ReadWrite.All"},
		delegated: []string{"UserAuthenticationMethod.ReadWrite", "UserAuthenticationMethod.ReadWrite.All"}}
	// Security defaults: Graph documents Policy.ReadWrite.SecurityDefaults
	// and Policy.ReadWrite.ConditionalAccess for changes; Entra's admin
	// centre asks at least a Security Administrator (or a Conditional
	// Access Administrator) of a delegated caller.
	securityDefaultsWriters = []string{"Policy.ReadWrite.SecurityDefaults", "Policy.ReadWrite.ConditionalAccess"}
	readSecurityDefaults    = permSet{app: append([]string{"Policy.Read.All"}, securityDefaultsWriters...),
		delegated: append([]string{"Policy.Read.All", "Directory.AccessAsUser.All"}, securityDefaultsWriters...)}
	writeSecurityDefaults = permSet{app: securityDefaultsWriters, delegated: append([]string{"Directory.AccessAsUser.All"}, securityDefaultsWriters...),
		roles: []string{authz.GlobalAdministrator, authz.SecurityAdministrator, conditionalAccessAdministrator}}
)

// conditionalAccessAdministrator is the role's template id.
const conditionalAccessAdministrator = "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9"

// methodCollections are the collections under /authentication and the
// method type each lists ("" every type).
var methodCollections = map[string]string{
	"methods":             "",
	"softwareOathMethods": mfa.TypeSoftwareOath,
	"emailMethods":        mfa.TypeEmail,
	"passwordMethods":     mfa.TypePassword,
}

func (a *API) registerAuthMethods(mux *http.ServeMux) {
	if a.mfa == nil {
		return
	}
	for coll, typ := range methodCollections {
		for _, base := range []string{"/v1.0/users/{id}/authentication/", "/v1.0/me/authentication/"} {
			mux.Handle("GET "+base+coll, a.require(readMethods, a.listMethods(coll, typ)))
			mux.Handle("GET "+base+coll+"/{mid}", a.require(readMethods, a.getMethod(coll, typ)))
			if typ == mfa.TypeSoftwareOath || typ == mfa.TypeEmail {
				mux.Handle("DELETE "+base+coll+"/{mid}", a.require(writeMethods, a.deleteMethod(typ)))
			}
		}
	}
	const policy = "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy"
	mux.Handle("GET "+policy, a.require(readSecurityDefaults, func(w http.ResponseWriter, r *http.Request) {
		if !a.noQueryOptions(w, r) {
			return
		}
		doc, err := a.mfa.SecurityDefaults(r.Context(), tenantOf(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.writePolicy(w, http.StatusOK, "policies/identitySecurityDefaultsEnforcementPolicy/$entity", doc)
	}))
	mux.Handle("PATCH "+policy, a.require(writeSecurityDefaults, a.bodyAction(func(r *http.Request, body directory.Doc) error {
		return a.mfa.UpdateSecurityDefaults(r.Context(), tenantOf(r), body)
	})))
}

// methodsUser is the user a methods route names: the signed-in user on
// /me, which an app-only token has not. On failure it has answered.
func (a *API) methodsUser(w http.ResponseWriter, r *http.Request) (string, bool) {
	if id := r.PathValue("id"); id != "" {
		return id, true
	}
	p := principalFrom(r.Context())
	if p.AppOnly {
		writeError(w, r, http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
		return "", false
	}
	return p.ObjectID, true
}

func (a *API) methodsContext(user, coll string) string {
	return a.publicURL + "/v1.0/$metadata#users('" + url.PathEscape(user) + "')/authentication/" + coll
}

func (a *API) listMethods(coll, typ string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, ok := a.methodsUser(w, r)
		if !ok || !a.noQueryOptions(w, r) {
			return
		}
		ms, err := a.mfa.ListUserMethods(r.Context(), tenantOf(r), user, typ)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		values := make([]any, 0, len(ms))
		for _, m := range ms {
			values = append(values, presentMethod(m))
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": a.methodsContext(user, coll), "value": values})
	}
}

func (a *API) getMethod(coll, typ string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, ok := a.methodsUser(w, r)
		if !ok || !a.noQueryOptions(w, r) {
			return
		}
		m, err := a.mfa.UserMethod(r.Context(), tenantOf(r), user, typ, r.PathValue("mid"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		doc := presentMethod(m)
		doc["@odata.context"] = a.methodsContext(user, coll) + "/$entity"
		writeJSON(w, http.StatusOK, doc)
	}
}

func (a *API) deleteMethod(typ string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, ok := a.methodsUser(w, r)
		if !ok {
			return
		}
		if err := a.mfa.DeleteUserMethod(r.Context(), tenantOf(r), user, typ, r.PathValue("mid")); err != nil {
			a.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// presentMethod renders a method in its Graph type's shape (v1.0): the
// secret key and the password always null, as Graph returns them.
func presentMethod(m mfa.Method) map[string]any {
	doc := map[string]any{"@odata.type": mfa.GraphType(m.Type), "id": m.ID, "createdDateTime": nil}
	if !m.CreatedAt.IsZero() {
		doc["createdDateTime"] = m.CreatedAt.UTC().Format(time.RFC3339)
	}
	switch m.Type {
	case mfa.TypeSoftwareOath:
		doc["secretKey"] = nil
	case mfa.TypeEmail:
		doc["emailAddress"] = m.Email
	case mfa.TypePassword:
		doc["password"] = nil
	}
	return doc
}
