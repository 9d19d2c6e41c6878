package admin

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

func (c *Console) registerApps(mux *http.ServeMux) {
	mux.Handle("GET /admin/{tenant}/apps", c.session(c.apps))
	mux.Handle("POST /admin/{tenant}/apps", c.session(c.registerApp))
	mux.Handle("GET /admin/{tenant}/apps/{id}", c.session(c.app))
	mux.Handle("POST /admin/{tenant}/apps/{id}/{action}", c.session(c.appAction))
	mux.Handle("GET /admin/{tenant}/enterpriseapps", c.session(c.enterpriseApps))
	mux.Handle("GET /admin/{tenant}/enterpriseapps/{id}", c.session(c.enterpriseApp))
	mux.Handle("POST /admin/{tenant}/enterpriseapps/{id}/{action}", c.session(c.enterpriseAppAction))
}

// platforms are the kinds of client an application's redirect URIs
// belong to, as the registration's properties name them.
var platforms = []string{"web", "spa", "publicClient"}

// audiences are the sign-in audiences a registration may choose.
var audiences = []string{"AzureADMyOrg", "AzureADMultipleOrgs"}

// appListPage is a list of application registrations or enterprise
// applications: a page, the search and the sealed cursor of the next page.
type appListPage struct {
	Enterprise bool
	Objects    []directory.Object
	Search     string
	Next       string
	CanCreate  bool
	Audiences  []string
	Platforms  []string
	Form       url.Values
}

// apps lists the tenant's application registrations, as GET /applications
// does, 20 a page.
func (c *Console) apps(v *visit) {
	if !isAdmin(v.p) || !c.admits(v, "GET", "/v1.0/applications") {
		c.forbidden(v)
		return
	}
	c.appList(v, false, http.StatusOK, "", url.Values{})
}

// enterpriseApps lists the tenant's service principals, as GET
// /servicePrincipals does, 20 a page.
func (c *Console) enterpriseApps(v *visit) {
	if !isAdmin(v.p) || !c.admits(v, "GET", "/v1.0/servicePrincipals") {
		c.forbidden(v)
		return
	}
	c.appList(v, true, http.StatusOK, "", url.Values{})
}

func (c *Console) appList(v *visit, enterprise bool, status int, problem string, form url.Values) {
	kind, name, title := directory.KindApplication, "apps", "apps.title"
	if enterprise {
		kind, name, title = directory.KindServicePrincipal, "enterpriseapps", "apps.enterprise.title"
	}
	vw := c.layout(v, title)
	vw.Error = problem
	pg := appListPage{Enterprise: enterprise, Search: strings.TrimSpace(v.r.URL.Query().Get("q")), Form: form,
		CanCreate: !enterprise && c.admits(v, "POST", "/v1.0/applications"), Audiences: audiences, Platforms: platforms}
	var filter odata.Expr
	if pg.Search != "" {
		// Applications have no $search: the box finds a name's beginning
		// or an application id, as $filter does.
		text := strings.ReplaceAll(pg.Search, "'", "''")
		f, err := odata.ParseFilter("startsWith(displayName,'" + text + "') or appId eq '" + text + "'")
		if err != nil {
			c.errorPage(v.w, v.r, http.StatusBadRequest, "error.request")
			return
		}
		filter = f
	}
	var ok bool
	if pg.Objects, pg.Next, ok = c.pageOf(v, name, pg.Search, func(q directory.Query) (directory.Page, error) {
		q.Filter = filter
		return c.cfg.Directory.List(v.ctx, v.tenantID, kind, q)
	}); !ok {
		return
	}
	vw.Page = pg
	c.render(v.w, v.r, status, "apps", vw)
}

// registerApp registers an application as POST /applications does, with
// its first redirect URI when one is given, and its service principal as
// POST /servicePrincipals does.
func (c *Console) registerApp(v *visit) {
	if !isAdmin(v.p) || !c.admits(v, "POST", "/v1.0/applications") {
		c.forbidden(v)
		return
	}
	f := v.r.PostForm
	body := directory.Doc{"displayName": strings.TrimSpace(f.Get("displayName")), "signInAudience": f.Get("signInAudience")}
	if uri := strings.TrimSpace(f.Get("redirectUri")); uri != "" {
		platform := f.Get("platform")
		if !slices.Contains(platforms, platform) {
			c.errorPage(v.w, v.r, http.StatusBadRequest, "error.request")
			return
		}
		body[platform] = map[string]any{"redirectUris": []any{uri}}
	}
	app, err := c.cfg.Directory.CreateApplication(v.ctx, v.tenantID, body)
	if err != nil {
		c.refused(v, err, func(status int, problem string) { c.appList(v, false, status, problem, f) })
		return
	}
	// As the portal does, the registration comes with its enterprise
	// application, without which it could not sign in or get tokens here.
	if c.admits(v, "POST", "/v1.0/servicePrincipals") {
		if _, err := c.cfg.Directory.CreateServicePrincipal(v.ctx, v.tenantID, directory.Doc{"appId": app.Doc["appId"]}); err != nil {
			v.r.SetPathValue("id", app.ID)
			c.refused(v, err, func(status int, problem string) { c.appView(v, status, problem, "") })
			return
		}
	}
	http.Redirect(v.w, v.r, "/admin/"+v.tenantID+"/apps/"+app.ID+"?done=registered", http.StatusSeeOther)
}

// appPage is one application registration and what the caller may do
// with it.
type appPage struct {
	App directory.Object
	// Principal is the application's service principal in the tenant,
	// when it has one.
	Principal   *directory.Object
	RedirectURI []redirectURI
	Secrets     []map[string]any
	// Secret is a client secret just added: shown on this answer only.
	Secret                                   string
	Permissions                              []permission
	Offered                                  []resourcePermissions
	Owners                                   ownersBox
	Platforms                                []string
	Lifetimes                                []int
	CanWrite, CanSecrets, CanOwners          bool
	CanDelete, CanConsent, CanReadPrincipals bool
	Done                                     string
}

// ownersBox is what the owners part of a page shows: the owners, where
// the forms post, whether they may, and the user search (the page's
// ?find=) new owners are picked from.
type ownersBox struct {
	View         *view
	Base, Search string
	Owners       []directory.Object
	Found        []directory.Object
	Can          bool
}

// fill completes the box for the page at base; with can, it runs the
// page's user search.
func (c *Console) fillOwners(v *visit, b *ownersBox, vw *view, base string, can bool) error {
	b.View, b.Base, b.Can = vw, base, can
	if !can {
		return nil
	}
	var err error
	b.Search, b.Found, _, err = c.findUsers(v)
	return err
}

type redirectURI struct{ Platform, URI string }

// permission is one entry of requiredResourceAccess, named as its
// resource's service principal names it.
type permission struct {
	ResourceAppID, Resource, ID, Type, Name string
}

// resourcePermissions are what a resource's service principal offers:
// its delegated scopes and its app roles for applications.
type resourcePermissions struct {
	Resource string
	Options  []permission
}

// app shows one registration, as GET /applications/{id} reads it.
func (c *Console) app(v *visit) {
	if !c.admits(v, "GET", "/v1.0/applications/"+url.PathEscape(v.r.PathValue("id"))) {
		c.forbidden(v)
		return
	}
	c.appView(v, http.StatusOK, "", "")
}

func (c *Console) appView(v *visit, status int, problem, secret string) {
	id := v.r.PathValue("id")
	self := "/v1.0/applications/" + url.PathEscape(id)
	d := c.cfg.Directory
	app, err := d.Get(v.ctx, v.tenantID, directory.KindApplication, id)
	if err != nil {
		c.failPage(v.w, v.r, err)
		return
	}
	// Graph admits any signed-in user to an application's changes; the
	// directory keeps them to owners and application administrators.
	manage := d.MayManageApplication(v.ctx, v.tenantID, directory.KindApplication, id) == nil
	pg := appPage{App: app, Secret: secret, Platforms: platforms, Lifetimes: secretLifetimes, Done: v.r.URL.Query().Get("done"),
		CanWrite: manage && c.admits(v, "PATCH", self), CanSecrets: manage && c.admits(v, "POST", self+"/addPassword"),
		CanOwners: manage && c.admits(v, "POST", self+"/owners/$ref"), CanDelete: manage && c.admits(v, "DELETE", self),
		CanConsent: c.admits(v, "POST", "/v1.0/oauth2PermissionGrants"), CanReadPrincipals: c.admits(v, "GET", "/v1.0/servicePrincipals")}
	for _, p := range platforms {
		for _, u := range stringsOf(docMap(app.Doc[p])["redirectUris"]) {
			pg.RedirectURI = append(pg.RedirectURI, redirectURI{Platform: p, URI: u})
		}
	}
	for _, s := range anySlice(app.Doc["passwordCredentials"]) {
		if m, ok := s.(map[string]any); ok {
			pg.Secrets = append(pg.Secrets, m)
		}
	}
	if pg.CanReadPrincipals {
		// The principals named exactly, by appId: the application's own,
		// its resources' and Microsoft Graph's, which is always offered.
		byAppID := map[string]directory.Object{}
		wanted := []string{str(app.Doc, "appId"), directory.GraphAppID}
		for _, rra := range anySlice(app.Doc["requiredResourceAccess"]) {
			wanted = append(wanted, str(docMap(rra), "resourceAppId"))
		}
		for _, appID := range wanted {
			if _, seen := byAppID[appID]; seen {
				continue
			}
			sp, err := c.principalOf(v, appID)
			if usererr.IsKind(err, usererr.NotFound) {
				continue
			}
			if err != nil {
				c.failPage(v.w, v.r, err)
				return
			}
			byAppID[appID] = sp
		}
		if sp, ok := byAppID[str(app.Doc, "appId")]; ok {
			pg.Principal = &sp
		}
		pg.Permissions = requiredPermissions(app.Doc, byAppID)
		if pg.CanWrite {
			page, err := d.List(v.ctx, v.tenantID, directory.KindServicePrincipal, directory.Query{Top: 100})
			if err != nil {
				c.failPage(v.w, v.r, err)
				return
			}
			offered := []directory.Object{}
			if graph, ok := byAppID[directory.GraphAppID]; ok {
				offered = append(offered, graph)
			}
			for _, sp := range page.Objects {
				if str(sp.Doc, "appId") != directory.GraphAppID {
					offered = append(offered, sp)
				}
			}
			pg.Offered = offeredPermissions(offered)
		}
	} else {
		pg.Permissions = requiredPermissions(app.Doc, nil)
	}
	if c.admits(v, "GET", self+"/owners") {
		owners, err := d.ListRelated(v.ctx, v.tenantID, directory.Relation{Kind: directory.KindApplication, ID: app.ID, Rel: directory.RelOwners}, directory.Query{Top: 100})
		if err != nil {
			c.failPage(v.w, v.r, err)
			return
		}
		pg.Owners.Owners = owners.Objects
	}
	vw := c.layout(v, "apps.app.title")
	if err := c.fillOwners(v, &pg.Owners, vw, "/admin/"+v.tenantID+"/apps/"+app.ID, pg.CanOwners); err != nil {
		c.failPage(v.w, v.r, err)
		return
	}
	vw.Error = problem
	vw.Page = pg
	if secret != "" {
		// The page holds a secret: no cache of any kind keeps it.
		v.w.Header().Set("Cache-Control", "no-store")
	}
	c.render(v.w, v.r, status, "app", vw)
}

// requiredPermissions lists an application's requiredResourceAccess, each
// named by its resource's service principal when it is known.
func requiredPermissions(app directory.Doc, byAppID map[string]directory.Object) []permission {
	var out []permission
	for _, rra := range anySlice(app["requiredResourceAccess"]) {
		resourceAppID := str(docMap(rra), "resourceAppId")
		sp, known := byAppID[resourceAppID]
		for _, ra := range anySlice(docMap(rra)["resourceAccess"]) {
			p := permission{ResourceAppID: resourceAppID, Resource: resourceAppID, ID: str(docMap(ra), "id"), Type: str(docMap(ra), "type")}
			if known {
				p.Resource = str(sp.Doc, "displayName")
				for _, o := range principalPermissions(sp) {
					if o.ID == p.ID && o.Type == p.Type {
						p.Name = o.Name
					}
				}
			}
			out = append(out, p)
		}
	}
	return out
}

// offeredPermissions are the permissions the tenant's service principals
// offer, those with any.
func offeredPermissions(principals []directory.Object) []resourcePermissions {
	var out []resourcePermissions
	for _, sp := range principals {
		if opts := principalPermissions(sp); len(opts) > 0 {
			out = append(out, resourcePermissions{Resource: str(sp.Doc, "displayName"), Options: opts})
		}
	}
	return out
}

// principalPermissions are a resource's delegated scopes (Scope) and its
// app roles applications may hold (Role).
func principalPermissions(sp directory.Object) []permission {
	var out []permission
	appID, name := str(sp.Doc, "appId"), str(sp.Doc, "displayName")
	for _, s := range anySlice(sp.Doc["oauth2PermissionScopes"]) {
		m := docMap(s)
		out = append(out, permission{ResourceAppID: appID, Resource: name, ID: str(m, "id"), Type: "Scope", Name: str(m, "value")})
	}
	for _, r := range anySlice(sp.Doc["appRoles"]) {
		m := docMap(r)
		if slices.Contains(stringsOf(m["allowedMemberTypes"]), "Application") {
			out = append(out, permission{ResourceAppID: appID, Resource: name, ID: str(m, "id"), Type: "Role", Name: str(m, "value")})
		}
	}
	return out
}

// appAction changes one registration through the directory, each after
// the admission of the Graph request that does the same (route).
func (c *Console) appAction(v *visit) {
	id := v.r.PathValue("id")
	self := "/v1.0/applications/" + url.PathEscape(id)
	f := v.r.PostForm
	routes := map[string][2]string{
		"addredirect": {"PATCH", self}, "removeredirect": {"PATCH", self}, "addpermission": {"PATCH", self}, "removepermission": {"PATCH", self},
		"addsecret": {"POST", self + "/addPassword"}, "removesecret": {"POST", self + "/removePassword"},
		"addowner": {"POST", self + "/owners/$ref"}, "removeowner": {"DELETE", self + "/owners/" + url.PathEscape(f.Get("user")) + "/$ref"},
		"consent": {"POST", "/v1.0/oauth2PermissionGrants"}, "delete": {"DELETE", self},
	}
	action, ok := c.admittedAction(v, routes, nil)
	if !ok {
		return
	}
	d := c.cfg.Directory
	var err error
	done := "saved"
	switch action {
	case "addredirect", "removeredirect", "addpermission", "removepermission":
		var patch directory.Doc
		if patch, err = c.appPatch(v, id, action); err == nil {
			err = d.UpdateApplication(v.ctx, v.tenantID, id, patch, 0)
		}
	case "addsecret":
		var cred directory.PasswordCredential
		if cred, err = d.AddPassword(v.ctx, v.tenantID, id, directory.Doc{"passwordCredential": c.secretRequest(f)}); err == nil {
			// Shown once, on this answer only: only its hash is stored.
			c.appView(v, http.StatusOK, "", cred.SecretText)
			return
		}
	case "removesecret":
		err = d.RemovePassword(v.ctx, v.tenantID, id, directory.Doc{"keyId": f.Get("keyId")})
	case "addowner":
		err = d.AddAppOwner(v.ctx, v.tenantID, directory.KindApplication, id, f.Get("user"))
	case "removeowner":
		err = d.RemoveAppOwner(v.ctx, v.tenantID, directory.KindApplication, id, f.Get("user"))
	case "consent":
		err, done = c.adminConsent(v, id), "consented"
	case "delete":
		if err = d.Delete(v.ctx, v.tenantID, directory.KindApplication, id, 0); err == nil {
			http.Redirect(v.w, v.r, "/admin/"+v.tenantID+"/apps", http.StatusSeeOther)
			return
		}
	}
	if err != nil {
		c.refused(v, err, func(status int, problem string) { c.appView(v, status, problem, "") })
		return
	}
	http.Redirect(v.w, v.r, "/admin/"+v.tenantID+"/apps/"+id+"?done="+done, http.StatusSeeOther)
}

var (
	// errBadForm answers a form the console's pages do not make.
	errBadForm = usererr.New(usererr.Invalid, "The form is not valid.")
	// errForbidden is Graph's refusal of a request it does not admit.
	errForbidden = usererr.New(usererr.Forbidden, "Insufficient privileges to complete the operation.")
)

// appPatch is the PATCH /applications/{id} body an action makes: the whole
// list it changes, as Graph replaces collections. The directory validates
// it as it validates Graph's.
func (c *Console) appPatch(v *visit, id, action string) (directory.Doc, error) {
	app, err := c.cfg.Directory.Get(v.ctx, v.tenantID, directory.KindApplication, id)
	if err != nil {
		return nil, err
	}
	f := v.r.PostForm
	switch action {
	case "addredirect", "removeredirect":
		platform, uri := f.Get("platform"), strings.TrimSpace(f.Get("uri"))
		if !slices.Contains(platforms, platform) || uri == "" {
			return nil, errBadForm
		}
		uris := stringsOf(docMap(app.Doc[platform])["redirectUris"])
		if action == "addredirect" {
			uris = append(uris, uri)
		} else {
			uris = slices.DeleteFunc(uris, func(u string) bool { return u == uri })
		}
		list := make([]any, 0, len(uris))
		for _, u := range uris {
			list = append(list, u)
		}
		return directory.Doc{platform: map[string]any{"redirectUris": list}}, nil
	}
	resourceAppID, typ, permID, ok := parsePermission(f.Get("permission"))
	if !ok {
		return nil, errBadForm
	}
	want := map[string]any{"id": permID, "type": typ}
	var rras []any
	added := false
	for _, rra := range anySlice(app.Doc["requiredResourceAccess"]) {
		res := str(docMap(rra), "resourceAppId")
		var access []any
		for _, ra := range anySlice(docMap(rra)["resourceAccess"]) {
			raID, raType := str(docMap(ra), "id"), str(docMap(ra), "type")
			if res == resourceAppID && raID == permID && raType == typ {
				if action == "removepermission" {
					continue
				}
				added = true
			}
			access = append(access, map[string]any{"id": raID, "type": raType})
		}
		if res == resourceAppID && action == "addpermission" && !added {
			access, added = append(access, want), true
		}
		if len(access) > 0 {
			rras = append(rras, map[string]any{"resourceAppId": res, "resourceAccess": access})
		}
	}
	if action == "addpermission" && !added {
		rras = append(rras, map[string]any{"resourceAppId": resourceAppID, "resourceAccess": []any{want}})
	}
	if rras == nil {
		rras = []any{}
	}
	return directory.Doc{"requiredResourceAccess": rras}, nil
}

// parsePermission reads a permission's form value: "resourceAppId type id".
func parsePermission(v string) (resourceAppID, typ, id string, ok bool) {
	parts := strings.Fields(v)
	if len(parts) != 3 || (parts[1] != "Scope" && parts[1] != "Role") {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// secretLifetimes are the expiries a new secret may be given, in months:
// the portal's choices, the longest being the directory's default.
var secretLifetimes = []int{3, 6, 12, 24}

// secretRequest is addPassword's passwordCredential from the form: its
// description and, unless the longest was chosen, its end.
func (c *Console) secretRequest(f url.Values) map[string]any {
	pc := map[string]any{}
	if name := strings.TrimSpace(f.Get("description")); name != "" {
		pc["displayName"] = name
	}
	months, err := strconv.Atoi(f.Get("months"))
	if err == nil && slices.Contains(secretLifetimes, months) && months != secretLifetimes[len(secretLifetimes)-1] {
		pc["endDateTime"] = c.cfg.Now().UTC().AddDate(0, months, 0).Format("2006-01-02T15:04:05Z")
	}
	return pc
}

// adminConsent grants what the registration asks for, on behalf of the
// whole tenant, as an administrator does through Graph: its delegated
// Microsoft Graph permissions by the directory's admin consent (an
// AllPrincipals oauth2PermissionGrant), and each application permission
// not yet held as an app role assignment to its service principal.
func (c *Console) adminConsent(v *visit, id string) error {
	d := c.cfg.Directory
	app, err := d.Get(v.ctx, v.tenantID, directory.KindApplication, id)
	if err != nil {
		return err
	}
	appID := str(app.Doc, "appId")
	if err := d.GrantAdminConsent(v.ctx, v.tenantID, v.p.ObjectID, appID, []string{".default"}); err != nil {
		return err
	}
	var roles []permission
	for _, p := range requiredPermissions(app.Doc, nil) {
		if p.Type == "Role" {
			roles = append(roles, p)
		}
	}
	if len(roles) == 0 {
		return nil
	}
	sp, err := c.principalOf(v, appID)
	if err != nil {
		return err
	}
	if !c.admits(v, "POST", "/v1.0/servicePrincipals/"+url.PathEscape(sp.ID)+"/appRoleAssignments") {
		return errForbidden
	}
	held, err := d.ListAppRoleAssignments(v.ctx, v.tenantID, directory.KindServicePrincipal, sp.ID, true, directory.Query{Top: 999})
	if err != nil {
		return err
	}
	for _, p := range roles {
		resource, err := c.principalOf(v, p.ResourceAppID)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(held.Objects, func(a directory.Object) bool {
			return str(a.Doc, "resourceId") == resource.ID && str(a.Doc, "appRoleId") == p.ID
		}) {
			continue
		}
		body := directory.Doc{"principalId": sp.ID, "resourceId": resource.ID, "appRoleId": p.ID}
		if _, err := d.AssignAppRole(v.ctx, v.tenantID, sp.ID, true, body); err != nil {
			return err
		}
	}
	return nil
}

// principalOf is the tenant's service principal of an application, as
// GET /servicePrincipals(appId='…') reads it.
func (c *Console) principalOf(v *visit, appID string) (directory.Object, error) {
	f, err := odata.ParseFilter("appId eq '" + strings.ReplaceAll(appID, "'", "''") + "'")
	if err != nil {
		return directory.Object{}, err
	}
	page, err := c.cfg.Directory.List(v.ctx, v.tenantID, directory.KindServicePrincipal, directory.Query{Filter: f, Top: 1})
	if err != nil {
		return directory.Object{}, err
	}
	if len(page.Objects) == 0 {
		return directory.Object{}, notFound(appID)
	}
	return page.Objects[0], nil
}

// notFound is Graph's answer for an object the tenant does not have.
func notFound(id string) error {
	return usererr.New(usererr.NotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func docMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

func anySlice(v any) []any { s, _ := v.([]any); return s }

func stringsOf(v any) []string {
	var out []string
	for _, x := range anySlice(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
