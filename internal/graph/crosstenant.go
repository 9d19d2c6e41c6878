package graph

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
	"github.com/gatehouse-id/gatehouse/internal/xtap"
)

// WhatIf answers the cross-tenant access what-if with the engine that
// enforces (internal/b2b, over internal/xtap).
type WhatIf interface {
	WhatIf(ctx context.Context, resourceTenantID string, w xtap.WhatIf) (xtap.Result, error)
}

// Cross-tenant access settings take Policy.Read.All to read and
// Policy.ReadWrite.CrossTenantAccess to change, as in Graph; a delegated
// caller changing them also needs a role Entra lets do so.
var (
	readCrossTenant  = permSet{app: []string{"Policy.Read.All", "Policy.ReadWrite.CrossTenantAccess"}, delegated: []string{"Policy.Read.All", "Policy.ReadWrite.CrossTenantAccess"}}
	writeCrossTenant = permSet{app: []string{"Policy.ReadWrite.CrossTenantAccess"}, delegated: []string{"Policy.ReadWrite.CrossTenantAccess"},
		roles: []string{authz.GlobalAdministrator, authz.SecurityAdministrator}}
)

const xtapBase = "/v1.0/policies/crossTenantAccessPolicy"

// registerCrossTenantAccess serves the tenant's cross-tenant access
// settings and the what-if (POST …/evaluate, Gatehouse's extension).
func (a *API) registerCrossTenantAccess(mux *http.ServeMux) {
	x := a.crossTenant
	if x == nil {
		return
	}
	const ctx = "policies/crossTenantAccessPolicy"
	partner := func(r *http.Request) string { return r.PathValue("tenantId") }
	raw := func(fn func(r *http.Request, body []byte) error) http.HandlerFunc {
		return a.action(func(r *http.Request) error {
			body, err := optionlessBody(r)
			if err != nil {
				return err
			}
			return fn(r, body)
		})
	}
	get := func(context string, read func(r *http.Request) (any, error), options ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if err := onlyOptions(r, options...); err != nil {
				a.fail(w, r, err)
				return
			}
			v, err := read(r)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			a.writeResource(w, http.StatusOK, context, v)
		}
	}

	mux.Handle("GET "+xtapBase, a.require(readCrossTenant, get(ctx+"/$entity", func(r *http.Request) (any, error) {
		return x.Policy(r.Context(), tenantOf(r))
	})))
	mux.Handle("PATCH "+xtapBase, a.require(writeCrossTenant, raw(func(r *http.Request, body []byte) error {
		return x.PatchPolicy(r.Context(), tenantOf(r), body)
	})))
	mux.Handle("GET "+xtapBase+"/default", a.require(readCrossTenant, get(ctx+"/default/$entity", func(r *http.Request) (any, error) {
		return x.Default(r.Context(), tenantOf(r))
	})))
	mux.Handle("PATCH "+xtapBase+"/default", a.require(writeCrossTenant, raw(func(r *http.Request, body []byte) error {
		return x.PatchDefault(r.Context(), tenantOf(r), body)
	})))
	mux.Handle("POST "+xtapBase+"/default/resetToSystemDefault", a.require(writeCrossTenant, a.action(func(r *http.Request) error {
		if err := onlyOptions(r); err != nil {
			return err
		}
		return x.ResetDefault(r.Context(), tenantOf(r))
	})))

	mux.Handle("GET "+xtapBase+"/partners", a.require(readCrossTenant, func(w http.ResponseWriter, r *http.Request) {
		expand, sel, err := partnerOptions(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		ps, err := x.Partners(r.Context(), tenantOf(r), expand)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		values := make([]any, 0, len(ps))
		for _, p := range ps {
			v, err := selected(p, sel)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			values = append(values, v)
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": a.contextURL(ctx+"/partners", sel), "value": values})
	}))
	mux.Handle("POST "+xtapBase+"/partners", a.require(writeCrossTenant, func(w http.ResponseWriter, r *http.Request) {
		body, err := optionlessBody(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		p, err := x.CreatePartner(r.Context(), tenantOf(r), body)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		w.Header().Set("Location", a.publicURL+xtapBase+"/partners/"+p.TenantID)
		a.writeResource(w, http.StatusCreated, ctx+"/partners/$entity", p)
	}))
	// The SDK offers partners/$count, which Graph does not document: a
	// clear refusal rather than a partner named "$count".
	mux.Handle("GET "+xtapBase+"/partners/$count", a.require(readCrossTenant, func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, usererr.WithCode(usererr.Invalid, "Request_UnsupportedQuery", "$count is not supported on partners; list them instead."))
	}))
	mux.Handle("GET "+xtapBase+"/partners/{tenantId}", a.require(readCrossTenant, func(w http.ResponseWriter, r *http.Request) {
		expand, sel, err := partnerOptions(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		p, err := x.Partner(r.Context(), tenantOf(r), partner(r), expand)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		v, err := selected(p, sel)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		context := ctx + "/partners/$entity"
		if len(sel) > 0 {
			context = ctx + "/partners(" + strings.Join(sel, ",") + ")/$entity"
		}
		a.writeResource(w, http.StatusOK, context, v)
	}))
	mux.Handle("PATCH "+xtapBase+"/partners/{tenantId}", a.require(writeCrossTenant, raw(func(r *http.Request, body []byte) error {
		return x.PatchPartner(r.Context(), tenantOf(r), partner(r), body)
	})))
	mux.Handle("DELETE "+xtapBase+"/partners/{tenantId}", a.require(writeCrossTenant, a.action(func(r *http.Request) error {
		if err := onlyOptions(r); err != nil {
			return err
		}
		return x.DeletePartner(r.Context(), tenantOf(r), partner(r))
	})))

	sync := xtapBase + "/partners/{tenantId}/identitySynchronization"
	mux.Handle("GET "+sync, a.require(readCrossTenant, get(ctx+"/partners/identitySynchronization/$entity", func(r *http.Request) (any, error) {
		return x.IdentitySync(r.Context(), tenantOf(r), partner(r))
	})))
	mux.Handle("PUT "+sync, a.require(writeCrossTenant, raw(func(r *http.Request, body []byte) error {
		return x.CreateIdentitySync(r.Context(), tenantOf(r), partner(r), body)
	})))
	mux.Handle("PATCH "+sync, a.require(writeCrossTenant, raw(func(r *http.Request, body []byte) error {
		return x.PatchIdentitySync(r.Context(), tenantOf(r), partner(r), body)
	})))
	mux.Handle("DELETE "+sync, a.require(writeCrossTenant, a.action(func(r *http.Request) error {
		if err := onlyOptions(r); err != nil {
			return err
		}
		return x.DeleteIdentitySync(r.Context(), tenantOf(r), partner(r))
	})))

	if a.whatIf == nil {
		return
	}
	// The what-if tells an administrator how the tenant's settings and
	// the home tenant's decide: reading the policies is enough to ask.
	mux.Handle("POST "+xtapBase+"/evaluate", a.require(readCrossTenant, func(w http.ResponseWriter, r *http.Request) {
		body, err := optionlessBody(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		q, err := xtap.ParseWhatIf(body)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		res, err := a.whatIf.WhatIf(r.Context(), tenantOf(r), q)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	}))
}

// writeResource writes v with its @odata.context first.
func (a *API) writeResource(w http.ResponseWriter, status int, context string, v any) {
	writeJSON(w, status, withContext{Context: a.publicURL + "/v1.0/$metadata#" + context, Value: v})
}

// partnerOptions reads the options partners take, as Graph documents
// them: $expand (identitySynchronization only) and $select.
func partnerOptions(r *http.Request) (expand bool, sel []string, err error) {
	if err := onlyOptions(r, "$expand", "$select"); err != nil {
		return false, nil, err
	}
	q := r.URL.Query()
	if v := q.Get("$expand"); v != "" {
		if !strings.EqualFold(strings.TrimSpace(v), "identitySynchronization") {
			return false, nil, usererr.WithCode(usererr.Invalid, "Request_BadRequest", "Could not find a navigation property '%s'; partners expand identitySynchronization only.", v)
		}
		expand = true
	}
	if v := q.Get("$select"); v != "" {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			i := slices.IndexFunc(partnerProperties, func(p string) bool { return strings.EqualFold(p, name) })
			if i < 0 {
				return false, nil, usererr.WithCode(usererr.Invalid, "Request_BadRequest", "Could not find a property named '%s' on type 'microsoft.graph.crossTenantAccessPolicyConfigurationPartner'.", name)
			}
			sel = append(sel, partnerProperties[i])
		}
	}
	return expand, sel, nil
}

// partnerProperties are the partner configuration's properties, as its
// JSON names them.
var partnerProperties = func() []string {
	var out []string
	t := reflect.TypeFor[xtap.Partner]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "identitySynchronization" {
			out = append(out, name)
		}
	}
	return out
}()

// selected is v with only the selected properties (all when sel is
// empty) and an expanded navigation, as Graph answers $select.
func selected(v any, sel []string) (any, error) {
	if len(sel) == 0 {
		return v, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	for _, name := range sel {
		v, ok := all[name]
		if !ok {
			v = json.RawMessage("null")
		}
		out[name] = v
	}
	if v, ok := all["identitySynchronization"]; ok {
		out["identitySynchronization"] = v
	}
	return out, nil
}

// optionlessBody reads the JSON body of a request that takes no query
// option.
func optionlessBody(r *http.Request) ([]byte, error) {
	if err := onlyOptions(r); err != nil {
		return nil, err
	}
	return readRawBody(r)
}

// onlyOptions refuses every OData query option but allowed: an option
// silently ignored would hand a script the wrong answer.
func onlyOptions(r *http.Request, allowed ...string) error {
	for name := range r.URL.Query() {
		if !strings.HasPrefix(name, "$") {
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || strings.EqualFold(a, name)
		}
		if !ok {
			return usererr.WithCode(usererr.Invalid, "Request_UnsupportedQuery", "The query option '%s' is not supported on this resource.", name)
		}
	}
	return nil
}

// withContext is a resource marshalled with its @odata.context first, as
// Graph writes it.
type withContext struct {
	Context string
	Value   any
}

func (c withContext) MarshalJSON() ([]byte, error) {
	body, err := json.Marshal(c.Value)
	if err != nil || len(body) < 2 || body[0] != '{' {
		return body, err
	}
	ctx, err := json.Marshal(c.Context)
	if err != nil {
		return nil, err
	}
	out := append([]byte(`{"@odata.context":`), ctx...)
	if len(body) > 2 {
		out = append(out, ',')
	}
	return append(out, body[1:]...), nil
}
