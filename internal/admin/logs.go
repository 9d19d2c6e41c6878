package admin

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// The audit and sign-in log pages read internal/audit's logs with the
// $filter a form's fields make, as GET /auditLogs/directoryAudits and
// /auditLogs/signIns would with it.

func (c *Console) registerLogs(mux *http.ServeMux) {
	mux.Handle("GET /admin/{tenant}/audit", c.session(c.logPage(store.LogDirectoryAudit)))
	mux.Handle("GET /admin/{tenant}/signins", c.session(c.logPage(store.LogSignIn)))
}

// logKind is one log's page: its Graph route and form fields.
type logKind struct {
	route, page, title string
	// filter makes the $filter of the form's fields.
	filter func(f url.Values) (string, error)
}

var logKinds = map[string]logKind{
	store.LogDirectoryAudit: {"/v1.0/auditLogs/directoryAudits", "audit", "logs.audit.title", auditFilter},
	store.LogSignIn:         {"/v1.0/auditLogs/signIns", "signins", "logs.signins.title", signInFilter},
}

// logPage is a log's data: its records, the form and the sealed cursor.
type logPage struct {
	Records    []directory.Doc
	Form       url.Values
	Next       string
	Categories []string
}

// quoted is an OData string literal.
func quoted(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// filterOf joins the clauses of the fields that are filled in.
type filterOf []string

func (f *filterOf) add(clause string) { *f = append(*f, clause) }

func (f filterOf) String() string { return strings.Join(f, " and ") }

// timeRange adds the from and to dates (UTC days, to inclusive) on prop.
func (f *filterOf) timeRange(form url.Values, prop string) error {
	for _, bound := range [][2]string{{"from", "ge"}, {"to", "lt"}} {
		field, op := bound[0], bound[1]
		s := strings.TrimSpace(form.Get(field))
		if s == "" {
			continue
		}
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return usererr.New(usererr.Invalid, "'%s' is not a date (YYYY-MM-DD).", s)
		}
		if field == "to" {
			d = d.AddDate(0, 0, 1)
		}
		f.add(prop + " " + op + " " + d.Format(time.RFC3339))
	}
	return nil
}

func auditFilter(form url.Values) (string, error) {
	var f filterOf
	if s := strings.TrimSpace(form.Get("activity")); s != "" {
		f.add("startsWith(activityDisplayName, " + quoted(s) + ")")
	}
	if s := form.Get("category"); s != "" {
		f.add("category eq " + quoted(s))
	}
	if s := strings.TrimSpace(form.Get("initiator")); s != "" {
		f.add("startsWith(initiatedBy/user/userPrincipalName, " + quoted(s) + ")")
	}
	if s := strings.TrimSpace(form.Get("target")); s != "" {
		f.add("targetResources/any(t: startsWith(t/displayName, " + quoted(s) + "))")
	}
	if s := form.Get("result"); s != "" {
		f.add("result eq " + quoted(s))
	}
	if err := f.timeRange(form, "activityDateTime"); err != nil {
		return "", err
	}
	return f.String(), nil
}

func signInFilter(form url.Values) (string, error) {
	var f filterOf
	if s := strings.TrimSpace(form.Get("user")); s != "" {
		f.add("startsWith(userPrincipalName, " + quoted(s) + ")")
	}
	if s := strings.TrimSpace(form.Get("app")); s != "" {
		f.add("startsWith(appDisplayName, " + quoted(s) + ")")
	}
	if s := strings.TrimSpace(form.Get("error")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return "", usererr.New(usererr.Invalid, "'%s' is not an error code (0 for success).", s)
		}
		f.add("status/errorCode eq " + strconv.Itoa(n))
	}
	if form.Get("interactive") == "on" {
		f.add("isInteractive eq true")
	}
	if err := f.timeRange(form, "createdDateTime"); err != nil {
		return "", err
	}
	return f.String(), nil
}

// logPage serves one log, 50 records a page, newest first.
func (c *Console) logPage(log string) func(*visit) {
	kind := logKinds[log]
	return func(v *visit) {
		if c.cfg.Audit == nil || !isAdmin(v.p) || !c.admits(v, "GET", kind.route) {
			c.forbidden(v)
			return
		}
		form := v.r.URL.Query()
		vw := c.layout(v, kind.title)
		pg := logPage{Form: form, Categories: []string{audit.CategoryUserManagement, audit.CategoryGroupManagement, audit.CategoryApplicationManagement,
			audit.CategoryRoleManagement, audit.CategoryPolicy, audit.CategoryDirectoryManagement, audit.CategoryOther}}
		vw.Page = &pg
		filter, err := kind.filter(form)
		q := audit.Query{Top: 50}
		if err == nil && filter != "" {
			q.Filter, err = odata.ParseFilter(filter)
		}
		if err == nil && form.Get("after") != "" {
			if c.open(form.Get("after"), &q.Cursor, v.tenantID, log, filter) != nil {
				err = usererr.New(usererr.Invalid, "The page link is not valid any more; search again.")
			}
		}
		var page audit.Page
		if err == nil {
			page, err = c.cfg.Audit.List(v.ctx, v.tenantID, log, q)
		}
		if err == nil {
			pg.Records, err = docs(page.Records)
		}
		if err == nil && page.Next != "" {
			var next string
			if next, err = c.seal(page.Next, v.tenantID, log, filter); err == nil {
				more := url.Values{}
				for k, vals := range form {
					if k != "after" {
						more[k] = vals
					}
				}
				more.Set("after", next)
				pg.Next = "?" + more.Encode()
			}
		}
		if err != nil {
			if msg, ok := usererr.As(err); ok {
				vw.Error = msg.Message
				c.render(v.w, v.r, statusOf(msg.Kind), kind.page, vw)
				return
			}
			var oe *odata.Error
			if errors.As(err, &oe) {
				vw.Error = oe.Message
				c.render(v.w, v.r, http.StatusBadRequest, kind.page, vw)
				return
			}
			c.internalError(v.w, v.r, err)
			return
		}
		c.render(v.w, v.r, http.StatusOK, kind.page, vw)
	}
}
