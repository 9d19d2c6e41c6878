package graph

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// readAuditLogs admits readers of the audit and sign-in logs: apps with
// AuditLog.Read.All, and users holding a role that may read reports.
var readAuditLogs = permSet{app: []string{"AuditLog.Read.All"}, delegated: []string{"AuditLog.Read.All"},
	roles: []string{authz.GlobalAdministrator, authz.SecurityAdministrator, authz.SecurityReader, authz.GlobalReader, authz.ReportsReader}}

// registerAuditLogs serves /auditLogs/directoryAudits and /auditLogs/signIns.
func (a *API) registerAuditLogs(mux *http.ServeMux) {
	logs := audit.NewLog(a.dir.Store())
	for path, log := range map[string]string{"directoryAudits": store.LogDirectoryAudit, "signIns": store.LogSignIn} {
		base := "/v1.0/auditLogs/" + path
		mux.Handle("GET "+base, a.require(readAuditLogs, a.listAudit(logs, log, "auditLogs/"+path)))
		mux.Handle("GET "+base+"/{id}", a.require(readAuditLogs, a.getAudit(logs, log, "auditLogs/"+path)))
	}
}

// auditQuery reads the query options a log takes; any other is refused
// rather than ignored.
func auditQuery(r *http.Request) (audit.Query, error) {
	q := audit.Query{Top: 100}
	for name, vals := range r.URL.Query() {
		v := ""
		if len(vals) > 0 {
			v = vals[0]
		}
		var err error
		switch strings.ToLower(name) {
		case "$filter":
			q.Filter, err = odata.ParseFilter(v)
		case "$orderby":
			q.OrderBy, err = odata.ParseOrderBy(v)
		case "$top":
			q.Top, err = odata.ParseTop(v)
		case "$skiptoken":
			q.Cursor, err = skipCursor(r)
		default:
			if strings.HasPrefix(name, "$") {
				return q, usererr.WithCode(usererr.Invalid, "Request_UnsupportedQuery", "The query option '%s' is not supported on audit logs.", name)
			}
		}
		if err != nil {
			return q, odataError(err)
		}
	}
	return q, nil
}

func (a *API) listAudit(logs *audit.Log, log, path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q, err := auditQuery(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		page, err := logs.List(r.Context(), tenantOf(r), log, q)
		if err != nil {
			a.fail(w, r, odataError(err))
			return
		}
		values := page.Records
		if values == nil {
			values = []json.RawMessage{}
		}
		body := map[string]any{"@odata.context": a.contextURL(path, nil), "value": values}
		if page.Next != "" {
			body["@odata.nextLink"] = a.linkWith(r, r.URL.Path, map[string]string{"$skiptoken": page.Next})
		}
		writeJSON(w, http.StatusOK, body)
	}
}

func (a *API) getAudit(logs *audit.Log, log, path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, err := logs.Get(r.Context(), tenantOf(r), log, r.PathValue("id"))
		var doc map[string]any
		if err == nil {
			err = json.Unmarshal(raw, &doc)
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		doc["@odata.context"] = a.contextURL(path, nil) + "/$entity"
		writeJSON(w, http.StatusOK, doc)
	}
}
