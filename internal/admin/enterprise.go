package admin

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/odata"
)

// enterprisePage is one service principal: who is assigned to it, what
// it was granted, who owns it and what the caller may do.
type enterprisePage struct {
	SP directory.Object
	// Assigned are the users and groups holding its app roles
	// (appRoleAssignedTo); Held the app roles it holds on resources
	// (appRoleAssignments) and Grants its delegated permission grants.
	Assigned, Held, Grants []directory.Object
	Owners                 ownersBox
	// Roles are its app roles users and groups may be assigned; RoleNames
	// names every app role shown, by id, and Resources the resources of
	// its grants.
	Roles     []permission
	RoleNames map[string]string
	Resources map[string]string
	// Principals are the users and groups offered for assignment.
	Principals                                []directory.Object
	CanWrite, CanAssign, CanRevoke, CanOwners bool
	CanReadGrants                             bool
	Done                                      string
}

// enterpriseApp shows one service principal, as GET /servicePrincipals/{id}
// reads it.
func (c *Console) enterpriseApp(v *visit) {
	if !c.admits(v, "GET", "/v1.0/servicePrincipals/"+url.PathEscape(v.r.PathValue("id"))) {
		c.forbidden(v)
		return
	}
	c.enterpriseView(v, http.StatusOK, "")
}

func (c *Console) enterpriseView(v *visit, status int, problem string) {
	id := v.r.PathValue("id")
	self := "/v1.0/servicePrincipals/" + url.PathEscape(id)
	d := c.cfg.Directory
	sp, err := d.Get(v.ctx, v.tenantID, directory.KindServicePrincipal, id)
	if err != nil {
		c.failPage(v.w, v.r, err)
		return
	}
	manage := d.MayManageApplication(v.ctx, v.tenantID, directory.KindServicePrincipal, id) == nil
	pg := enterprisePage{SP: sp, RoleNames: map[string]string{}, Resources: map[string]string{}, Done: v.r.URL.Query().Get("done"),
		CanWrite: manage && c.admits(v, "PATCH", self), CanAssign: c.admits(v, "POST", self+"/appRoleAssignedTo"),
		CanRevoke: c.admits(v, "DELETE", "/v1.0/oauth2PermissionGrants/x"), CanOwners: manage && c.admits(v, "POST", self+"/owners/$ref"),
		CanReadGrants: c.admits(v, "GET", "/v1.0/oauth2PermissionGrants")}
	for _, r := range anySlice(sp.Doc["appRoles"]) {
		m := docMap(r)
		pg.RoleNames[str(m, "id")] = str(m, "displayName")
		if slices.Contains(stringsOf(m["allowedMemberTypes"]), "User") && m["isEnabled"] != false {
			pg.Roles = append(pg.Roles, permission{ID: str(m, "id"), Name: str(m, "displayName")})
		}
	}
	if c.admits(v, "GET", self+"/appRoleAssignedTo") {
		page, err := d.ListAppRoleAssignments(v.ctx, v.tenantID, directory.KindServicePrincipal, sp.ID, false, directory.Query{Top: 100})
		if err != nil {
			c.failPage(v.w, v.r, err)
			return
		}
		pg.Assigned = page.Objects
	}
	if c.admits(v, "GET", self+"/appRoleAssignments") {
		page, err := d.ListAppRoleAssignments(v.ctx, v.tenantID, directory.KindServicePrincipal, sp.ID, true, directory.Query{Top: 100})
		if err != nil {
			c.failPage(v.w, v.r, err)
			return
		}
		pg.Held = page.Objects
		for _, a := range pg.Held {
			if _, named := pg.RoleNames[str(a.Doc, "appRoleId")]; named {
				continue
			}
			// The role is the resource's; a resource out of sight leaves the id.
			if res, err := d.Get(v.ctx, v.tenantID, directory.KindServicePrincipal, str(a.Doc, "resourceId")); err == nil {
				for _, p := range principalPermissions(res) {
					pg.RoleNames[p.ID] = p.Name
				}
			}
		}
	}
	if pg.CanReadGrants {
		f, err := odata.ParseFilter("clientId eq '" + sp.ID + "'")
		if err != nil {
			c.internalError(v.w, v.r, err)
			return
		}
		page, err := d.List(v.ctx, v.tenantID, directory.KindPermissionGrant, directory.Query{Filter: f, Top: 100})
		if err != nil {
			c.failPage(v.w, v.r, err)
			return
		}
		pg.Grants = page.Objects
		for _, g := range pg.Grants {
			if res, err := d.Get(v.ctx, v.tenantID, directory.KindServicePrincipal, str(g.Doc, "resourceId")); err == nil {
				pg.Resources[res.ID] = str(res.Doc, "displayName")
			}
		}
	}
	if c.admits(v, "GET", self+"/owners") {
		owners, err := d.ListRelated(v.ctx, v.tenantID, directory.Relation{Kind: directory.KindServicePrincipal, ID: sp.ID, Rel: directory.RelOwners}, directory.Query{Top: 100})
		if err != nil {
			c.failPage(v.w, v.r, err)
			return
		}
		pg.Owners.Owners = owners.Objects
	}
	if pg.CanAssign && len(pg.Roles) > 0 {
		if c.admits(v, "GET", "/v1.0/users") {
			users, err := d.List(v.ctx, v.tenantID, directory.KindUser, directory.Query{Top: 100})
			if err != nil {
				c.failPage(v.w, v.r, err)
				return
			}
			pg.Principals = users.Objects
		}
		if pg.CanAssign && c.admits(v, "GET", "/v1.0/groups") {
			groups, err := d.List(v.ctx, v.tenantID, directory.KindGroup, directory.Query{Top: 100})
			if err != nil {
				c.failPage(v.w, v.r, err)
				return
			}
			pg.Principals = append(pg.Principals, groups.Objects...)
		}
	}
	vw := c.layout(v, "apps.enterprise.app")
	if err := c.fillOwners(v, &pg.Owners, vw, "/admin/"+v.tenantID+"/enterpriseapps/"+sp.ID, pg.CanOwners); err != nil {
		c.failPage(v.w, v.r, err)
		return
	}
	vw.Error = problem
	vw.Page = pg
	c.render(v.w, v.r, status, "enterpriseapp", vw)
}

// enterpriseAppAction changes one service principal, its assignments and
// grants through the directory, each after the admission of the Graph
// request that does the same (route).
func (c *Console) enterpriseAppAction(v *visit) {
	id := v.r.PathValue("id")
	self := "/v1.0/servicePrincipals/" + url.PathEscape(id)
	f := v.r.PostForm
	assignment, grant := url.PathEscape(f.Get("assignment")), url.PathEscape(f.Get("grant"))
	routes := map[string][2]string{
		"required": {"PATCH", self}, "assign": {"POST", self + "/appRoleAssignedTo"},
		"unassign": {"DELETE", self + "/appRoleAssignedTo/" + assignment}, "revokerole": {"DELETE", self + "/appRoleAssignments/" + assignment},
		"revokegrant": {"DELETE", "/v1.0/oauth2PermissionGrants/" + grant},
		"addowner":    {"POST", self + "/owners/$ref"}, "removeowner": {"DELETE", self + "/owners/" + url.PathEscape(f.Get("user")) + "/$ref"},
	}
	action, ok := c.admittedAction(v, routes, nil)
	if !ok {
		return
	}
	d := c.cfg.Directory
	var err error
	switch action {
	case "required":
		err = d.UpdateServicePrincipal(v.ctx, v.tenantID, id, directory.Doc{"appRoleAssignmentRequired": f.Get("required") == "true"}, 0)
	case "assign":
		_, err = d.AssignAppRole(v.ctx, v.tenantID, id, false, directory.Doc{"principalId": f.Get("principal"), "resourceId": id, "appRoleId": f.Get("role")})
	case "unassign", "revokerole":
		err = d.RemoveAppRoleAssignment(v.ctx, v.tenantID, id, f.Get("assignment"))
	case "revokegrant":
		err = c.revokeGrant(v, id, f.Get("grant"))
	case "addowner":
		err = d.AddAppOwner(v.ctx, v.tenantID, directory.KindServicePrincipal, id, f.Get("user"))
	case "removeowner":
		err = d.RemoveAppOwner(v.ctx, v.tenantID, directory.KindServicePrincipal, id, f.Get("user"))
	}
	if err != nil {
		c.refused(v, err, func(status int, problem string) { c.enterpriseView(v, status, problem) })
		return
	}
	http.Redirect(v.w, v.r, "/admin/"+v.tenantID+"/enterpriseapps/"+id+"?done=saved", http.StatusSeeOther)
}

// revokeGrant deletes one of the principal's delegated permission grants,
// as DELETE /oauth2PermissionGrants/{id} does; a grant of another client
// is not found here.
func (c *Console) revokeGrant(v *visit, spID, grantID string) error {
	g, err := c.cfg.Directory.Get(v.ctx, v.tenantID, directory.KindPermissionGrant, grantID)
	if err != nil {
		return err
	}
	sp, err := c.cfg.Directory.Get(v.ctx, v.tenantID, directory.KindServicePrincipal, spID)
	if err != nil {
		return err
	}
	if str(g.Doc, "clientId") != sp.ID {
		return notFound(grantID)
	}
	return c.cfg.Directory.Delete(v.ctx, v.tenantID, directory.KindPermissionGrant, g.ID, 0)
}
