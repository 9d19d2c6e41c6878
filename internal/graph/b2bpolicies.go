package graph

import (
	"context"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/b2b"
	"github.com/gatehouse-id/gatehouse/internal/directory"
)

// The external collaboration policies beside authorizationPolicy. Reads
// take Policy.Read.All or the policy's own write permission, as Graph's do;
// writes take the permission Graph documents for each, and a delegated
// caller also one of the roles Entra names for the setting.
var (
	readB2BPolicy  = permSet{app: []string{"Policy.Read.All", "Policy.ReadWrite.ApplicationConfiguration"}, delegated: []string{"Policy.Read.All", "Policy.ReadWrite.ApplicationConfiguration", "Directory.AccessAsUser.All"}}
	writeB2BPolicy = permSet{app: []string{"Policy.ReadWrite.ApplicationConfiguration"}, delegated: []string{"Policy.ReadWrite.ApplicationConfiguration", "Directory.AccessAsUser.All"}, roles: globalAdmins}
	readEmailOTP   = permSet{app: []string{"Policy.Read.All", "Policy.Read.AuthenticationMethod", "Policy.ReadWrite.AuthenticationMethod"},
		delegated: []string{"Policy.Read.All", "Policy.Read.AuthenticationMethod", "Policy.ReadWrite.AuthenticationMethod", "Directory.AccessAsUser.All"}}
	writeEmailOTP = permSet{app: []string{"Policy.ReadWrite.AuthenticationMethod"}, delegated: []string{"Policy.ReadWrite.AuthenticationMethod", "Directory.AccessAsUser.All"},
		roles: []string{authz.GlobalAdministrator, authz.AuthenticationPolicyAdministrator}}
	readFlows  = permSet{app: []string{"Policy.Read.All", "Policy.ReadWrite.AuthenticationFlows"}, delegated: []string{"Policy.Read.All", "Policy.ReadWrite.AuthenticationFlows", "Directory.AccessAsUser.All"}}
	writeFlows = permSet{app: []string{"Policy.ReadWrite.AuthenticationFlows"}, delegated: []string{"Policy.ReadWrite.AuthenticationFlows", "Directory.AccessAsUser.All"},
		roles: []string{authz.GlobalAdministrator, authz.ExternalIDUserFlowAdministrator}}
)

func (a *API) registerB2BPolicies(mux *http.ServeMux) {
	p := a.policies
	const mgmt = "/v1.0/policies/b2bManagementPolicies"
	const mgmtContext = "policies/b2bManagementPolicies"
	mux.Handle("GET "+mgmt, a.require(readB2BPolicy, func(w http.ResponseWriter, r *http.Request) {
		objs, err := p.B2BManagementPolicies(r.Context(), tenantOf(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		values := make([]any, 0, len(objs))
		for _, o := range objs {
			values = append(values, b2b.PresentB2BManagementPolicy(o))
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": a.contextURL(mgmtContext, nil), "value": values})
	}))
	mux.Handle("POST "+mgmt, a.require(writeB2BPolicy, func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		o, err := p.CreateB2BManagementPolicy(r.Context(), tenantOf(r), body)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		w.Header().Set("Location", a.publicURL+mgmt+"/"+o.ID)
		a.writePolicy(w, http.StatusCreated, mgmtContext+"/$entity", b2b.PresentB2BManagementPolicy(o))
	}))
	mux.Handle("GET "+mgmt+"/{id}", a.require(readB2BPolicy, func(w http.ResponseWriter, r *http.Request) {
		o, err := p.B2BManagementPolicy(r.Context(), tenantOf(r), r.PathValue("id"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.writePolicy(w, http.StatusOK, mgmtContext+"/$entity", b2b.PresentB2BManagementPolicy(o))
	}))
	mux.Handle("PATCH "+mgmt+"/{id}", a.require(writeB2BPolicy, a.bodyAction(func(r *http.Request, body directory.Doc) error {
		return p.UpdateB2BManagementPolicy(r.Context(), tenantOf(r), r.PathValue("id"), body)
	})))
	mux.Handle("DELETE "+mgmt+"/{id}", a.require(writeB2BPolicy, a.action(func(r *http.Request) error {
		return p.DeleteB2BManagementPolicy(r.Context(), tenantOf(r), r.PathValue("id"))
	})))

	for _, s := range []struct {
		path, context string
		read, write   permSet
		get           func(ctx context.Context, tenantID string) (directory.Object, error)
		present       func(directory.Object) directory.Doc
		update        func(ctx context.Context, tenantID string, body directory.Doc) error
	}{
		{"authenticationMethodsPolicy/authenticationMethodConfigurations/email", "policies/authenticationMethodsPolicy/authenticationMethodConfigurations/$entity",
			readEmailOTP, writeEmailOTP, p.EmailMethodConfiguration, b2b.PresentEmailMethodConfiguration, p.UpdateEmailMethodConfiguration},
		{"authenticationFlowsPolicy", "policies/authenticationFlowsPolicy/$entity",
			readFlows, writeFlows, p.AuthenticationFlowsPolicy, b2b.PresentAuthenticationFlowsPolicy, p.UpdateAuthenticationFlowsPolicy},
	} {
		mux.Handle("GET /v1.0/policies/"+s.path, a.require(s.read, func(w http.ResponseWriter, r *http.Request) {
			o, err := s.get(r.Context(), tenantOf(r))
			if err != nil {
				a.fail(w, r, err)
				return
			}
			a.writePolicy(w, http.StatusOK, s.context, s.present(o))
		}))
		mux.Handle("PATCH /v1.0/policies/"+s.path, a.require(s.write, a.bodyAction(func(r *http.Request, body directory.Doc) error {
			return s.update(r.Context(), tenantOf(r), body)
		})))
	}
	mux.Handle("DELETE /v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/email", a.require(writeEmailOTP, a.action(func(r *http.Request) error {
		return p.ResetEmailMethodConfiguration(r.Context(), tenantOf(r))
	})))
}

func (a *API) writePolicy(w http.ResponseWriter, status int, context string, doc directory.Doc) {
	doc["@odata.context"] = a.publicURL + "/v1.0/$metadata#" + context
	writeJSON(w, status, doc)
}
