package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// start is /admin: the browser's session's tenant, or a form asking which
// tenant to sign in to (a verified domain or the tenant id).
func (c *Console) start(w http.ResponseWriter, r *http.Request) {
	loc := c.locale(r)
	vw := &view{L: loc, Title: loc.T("start.title")}
	if r.URL.Query().Has("signedout") {
		vw.Notice = loc.T("start.signedout")
	}
	if segment := strings.TrimSpace(r.URL.Query().Get("tenant")); segment != "" {
		id, err := c.cfg.Directory.ResolveTenant(r.Context(), strings.ToLower(segment))
		switch {
		case err == nil:
			http.Redirect(w, r, "/admin/"+id+"/signin", http.StatusSeeOther)
			return
		case usererr.IsKind(err, usererr.NotFound), usererr.IsKind(err, usererr.Invalid):
			vw.Error = loc.T("start.unknown")
			vw.Page = segment
			c.render(w, r, http.StatusNotFound, "start", vw)
			return
		default:
			c.internalError(w, r, err)
			return
		}
	}
	if tenantID, _, ok := tenantCookie(r, c.cookies.session); ok && !r.URL.Query().Has("signedout") {
		http.Redirect(w, r, "/admin/"+tenantID+"/", http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "start", vw)
}

// isAdmin: the console's administration pages are for users holding a
// directory role; everyone else gets their own groups and apps.
func isAdmin(p caller.Caller) bool { return len(p.DirectoryRoles) > 0 }

// admits asks Graph's admission about the request that does what the
// console is about to.
func (c *Console) admits(v *visit, method, path string) bool {
	return c.cfg.Admission.Admits(v.p, method, path)
}

// admittedAction is the request's {action} when it is one of routes (the
// Graph request, method and path, that does the same) and Graph admits
// that request, and when also, the page's own condition, holds. Otherwise
// it answers, 404 for an unknown action and 403 for a refused one.
func (c *Console) admittedAction(v *visit, routes map[string][2]string, also func(action string) bool) (string, bool) {
	action := v.r.PathValue("action")
	route, known := routes[action]
	if !known {
		c.errorPage(v.w, v.r, http.StatusNotFound, "error.request")
		return "", false
	}
	if !c.admits(v, route[0], route[1]) || (also != nil && !also(action)) {
		c.forbidden(v)
		return "", false
	}
	return action, true
}

// layout is the view of a signed-in page: navigation to what the caller
// is admitted to, the tenant switcher, the session's CSRF token.
func (c *Console) layout(v *visit, titleKey string) *view {
	loc := c.locale(v.r)
	vw := &view{L: loc, CSRF: v.data.CSRF, Tenant: v.tenantID, User: v.data.Name, Title: loc.T(titleKey)}
	for _, t := range v.data.Tenants {
		if t.ID != v.tenantID {
			vw.Tenants = append(vw.Tenants, t)
		}
	}
	base := "/admin/" + v.tenantID + "/"
	items := []struct {
		href, key string
		show      bool
	}{
		{base, "nav.overview", isAdmin(v.p)},
		{base, "nav.mine", !isAdmin(v.p)},
		{base + "users", "nav.users", isAdmin(v.p) && c.admits(v, "GET", "/v1.0/users")},
		{base + "deleted", "nav.deleted", isAdmin(v.p) && c.admits(v, "GET", "/v1.0/users")},
		{base + "groups", "nav.groups", isAdmin(v.p) && c.admits(v, "GET", "/v1.0/groups")},
		{base + "roles", "nav.roles", isAdmin(v.p) && c.admits(v, "GET", "/v1.0/directoryRoles")},
		{base + "apps", "nav.apps", isAdmin(v.p) && c.admits(v, "GET", "/v1.0/applications")},
		{base + "enterpriseapps", "nav.enterpriseapps", isAdmin(v.p) && c.admits(v, "GET", "/v1.0/servicePrincipals")},
		{base + "collaboration", "nav.collab", c.collabOffered(v)},
		{base + "audit", "nav.audit", isAdmin(v.p) && c.cfg.Audit != nil && c.admits(v, "GET", "/v1.0/auditLogs/directoryAudits")},
		{base + "signins", "nav.signins", isAdmin(v.p) && c.cfg.Audit != nil && c.admits(v, "GET", "/v1.0/auditLogs/signIns")},
		{base + "crosstenant", "nav.crosstenant", isAdmin(v.p) && c.cfg.CrossTenant != nil && c.admits(v, "GET", xtapRoute+"/default")},
		{base + "branding", "nav.branding", isAdmin(v.p) && c.cfg.SignInPages != nil && c.admits(v, "GET", brandingRoute(v))},
	}
	for _, it := range items {
		if it.show {
			current := v.r.URL.Path == it.href || (it.href != base && strings.HasPrefix(v.r.URL.Path, it.href))
			vw.Nav = append(vw.Nav, navItem{Href: it.href, Label: loc.T(it.key), Current: current})
		}
	}
	return vw
}

// forbidden answers a page the caller is not admitted to.
func (c *Console) forbidden(v *visit) {
	vw := c.layout(v, "error.title")
	vw.Error = vw.L.T("error.forbidden")
	c.render(v.w, v.r, http.StatusForbidden, "error", vw)
}

// overviewPage is the tenant overview's data.
type overviewPage struct {
	Counts  []count
	Domains []store.Domain
	// SignIns: nil when the caller may not read the sign-in log.
	SignIns []directory.Doc
	// CanReadSignIns: the sign-in log is the caller's to read.
	CanReadSignIns bool
}

type count struct {
	Label string
	N     int64
}

// overview is the tenant's front page: how many users, guests, groups and
// applications, its domains and its latest sign-ins; for a user without a
// directory role, their own groups and applications.
func (c *Console) overview(v *visit) {
	if !isAdmin(v.p) {
		c.mine(v)
		return
	}
	vw := c.layout(v, "overview.title")
	pg := overviewPage{}
	counts := []struct {
		key, kind, filter, route string
	}{
		{"overview.members", directory.KindUser, "userType eq 'Member'", "/v1.0/users/$count"},
		{"overview.guests", directory.KindUser, "userType eq 'Guest'", "/v1.0/users/$count"},
		{"overview.groups", directory.KindGroup, "", "/v1.0/groups/$count"},
		{"overview.apps", directory.KindApplication, "", "/v1.0/applications/$count"},
	}
	for _, ct := range counts {
		if !c.admits(v, "GET", ct.route) {
			continue
		}
		q := directory.Query{Advanced: true}
		if ct.filter != "" {
			f, err := odata.ParseFilter(ct.filter)
			if err != nil {
				c.internalError(v.w, v.r, err)
				return
			}
			q.Filter = f
		}
		n, err := c.cfg.Directory.Count(v.ctx, v.tenantID, ct.kind, q)
		if err != nil {
			c.failPage(v.w, v.r, err)
			return
		}
		pg.Counts = append(pg.Counts, count{Label: vw.L.T(ct.key), N: n})
	}
	if c.admits(v, "GET", "/v1.0/domains") {
		var err error
		if pg.Domains, err = c.cfg.Directory.ListDomains(v.ctx, v.tenantID); err != nil {
			c.failPage(v.w, v.r, err)
			return
		}
	}
	if c.cfg.Audit != nil && c.admits(v, "GET", "/v1.0/auditLogs/signIns") {
		pg.CanReadSignIns = true
		page, err := c.cfg.Audit.List(v.ctx, v.tenantID, store.LogSignIn, audit.Query{Top: 10})
		if err != nil {
			c.failPage(v.w, v.r, err)
			return
		}
		if pg.SignIns, err = docs(page.Records); err != nil {
			c.internalError(v.w, v.r, err)
			return
		}
	}
	vw.Page = pg
	c.render(v.w, v.r, http.StatusOK, "overview", vw)
}

func docs(records []json.RawMessage) ([]directory.Doc, error) {
	out := make([]directory.Doc, 0, len(records))
	for _, raw := range records {
		var d directory.Doc
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// minePage lists what a user without a directory role owns.
type minePage struct {
	Groups, Apps []directory.Object
	// Links are the pages of the applications owned that Graph would
	// let the user read, by id.
	Links map[string]string
}

// mine is "my groups and apps": the objects the signed-in user owns,
// read as GET /users/{id}/ownedObjects.
func (c *Console) mine(v *visit) {
	vw := c.layout(v, "mine.title")
	pg := minePage{Links: map[string]string{}}
	if c.admits(v, "GET", "/v1.0/users/"+v.p.ObjectID+"/ownedObjects") {
		page, err := c.cfg.Directory.ListRelated(v.ctx, v.tenantID, directory.Relation{Kind: directory.KindUser, ID: v.p.ObjectID, Rel: directory.RelOwners, Reverse: true}, directory.Query{Top: 100})
		if err != nil {
			c.failPage(v.w, v.r, err)
			return
		}
		for _, o := range page.Objects {
			switch o.Kind {
			case directory.KindGroup:
				pg.Groups = append(pg.Groups, o)
			case directory.KindApplication, directory.KindServicePrincipal:
				pg.Apps = append(pg.Apps, o)
				page, route := "apps", "applications"
				if o.Kind == directory.KindServicePrincipal {
					page, route = "enterpriseapps", "servicePrincipals"
				}
				if c.admits(v, "GET", "/v1.0/"+route+"/"+o.ID) {
					pg.Links[o.ID] = "/admin/" + v.tenantID + "/" + page + "/" + o.ID
				}
			}
		}
	}
	vw.Page = pg
	c.render(v.w, v.r, http.StatusOK, "mine", vw)
}

// adminTenants are the tenants the switcher offers: those where the
// signed-in person (their home account, or the home account behind a
// guest of this deployment) holds a directory role, guest accounts
// included. Roles are read as the directory reads them for tokens.
func (c *Console) adminTenants(ctx context.Context, p caller.Caller) ([]tenantLink, error) {
	if c.cfg.B2B == nil {
		return nil, nil
	}
	home, err := c.cfg.B2B.HomeAccount(ctx, p.TenantID, p.ObjectID)
	if err != nil {
		return nil, err
	}
	homeTenant, homeUser := p.TenantID, p.ObjectID
	if home.TenantID != "" {
		homeTenant, homeUser = home.TenantID, home.UserID
	}
	orgs, err := c.cfg.B2B.Organizations(ctx, homeTenant, homeUser)
	if err != nil {
		return nil, err
	}
	var out []tenantLink
	for _, o := range orgs {
		roles, err := c.cfg.Directory.DirectoryRolesOf(ctx, o.TenantID, o.UserID)
		if err != nil {
			return nil, err
		}
		if len(roles) > 0 || o.TenantID == p.TenantID {
			out = append(out, tenantLink{ID: o.TenantID, Name: o.Name})
		}
	}
	return out, nil
}
