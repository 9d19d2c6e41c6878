package graph

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// readTenantInformation is Graph's permission for the tenant lookups; no
// directory role is needed, as in Entra.
var readTenantInformation = permSet{app: []string{"CrossTenantInformation.ReadBasic.All"}, delegated: []string{"CrossTenantInformation.ReadBasic.All"}}

// tenantFunction matches the two tenantRelationships functions with their
// one string parameter, in which OData doubles a single quote.
var tenantFunction = regexp.MustCompile(`^(findTenantInformationByDomainName|findTenantInformationByTenantId)\((domainName|tenantId)='((?:[^']|'')*)'\)$`)

// registerTenantRelationships serves the lookups an admin uses to add a
// partner by domain or id before configuring cross-tenant access.
func (a *API) registerTenantRelationships(mux *http.ServeMux) {
	mux.Handle("GET /v1.0/tenantRelationships/{function}", a.require(readTenantInformation, func(w http.ResponseWriter, r *http.Request) {
		m := tenantFunction.FindStringSubmatch(r.PathValue("function"))
		byDomain := m != nil && m[1] == "findTenantInformationByDomainName"
		if m == nil || byDomain != (m[2] == "domainName") {
			a.fail(w, r, usererr.WithCode(usererr.NotFound, "Request_ResourceNotFound",
				"Resource not found for the segment '%s'; the functions are findTenantInformationByDomainName(domainName='…') and findTenantInformationByTenantId(tenantId='…').", r.PathValue("function")))
			return
		}
		arg := strings.ReplaceAll(m[3], "''", "'")
		find := a.dir.FindTenantByID
		if byDomain {
			find = a.dir.FindTenantByDomain
		}
		info, err := find(r.Context(), arg)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, presentTenantInformation(a.publicURL, info))
	}))
}

func presentTenantInformation(publicURL string, t directory.TenantInformation) map[string]any {
	return map[string]any{
		"@odata.context":    publicURL + "/v1.0/$metadata#microsoft.graph.tenantInformation",
		"tenantId":          t.TenantID,
		"displayName":       t.DisplayName,
		"defaultDomainName": t.DefaultDomainName,
		// Entra's federation brand name comes from hybrid (AD FS)
		// federation, which Gatehouse tenants do not have.
		"federationBrandName": nil,
	}
}
