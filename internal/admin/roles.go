package admin

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/directory"
)

func (c *Console) registerRoles(mux *http.ServeMux) {
	mux.Handle("GET /admin/{tenant}/roles", c.session(c.roles))
	mux.Handle("GET /admin/{tenant}/roles/{id}", c.session(c.role))
	mux.Handle("POST /admin/{tenant}/roles/{id}/{action}", c.session(c.roleAction))
}

// roles lists the directory roles, as GET /directoryRoles does.
func (c *Console) roles(v *visit) {
	if !isAdmin(v.p) || !c.admits(v, "GET", "/v1.0/directoryRoles") {
		c.forbidden(v)
		return
	}
	roles, err := c.cfg.Directory.ListWhole(v.ctx, v.tenantID, directory.KindDirectoryRole, nil)
	if err != nil {
		c.failPage(v.w, v.r, err)
		return
	}
	vw := c.layout(v, "roles.title")
	vw.Page = roles
	c.render(v.w, v.r, http.StatusOK, "roles", vw)
}

// rolePage is one directory role: who holds it, the users a search found
// to assign it to, and whether the caller may assign it.
type rolePage struct {
	Role      directory.Object
	Members   []directory.Object
	Search    string
	Found     []directory.Object
	CanAssign bool
	CanSearch bool
	Done      string
}

// role shows a directory role and its members, as GET /directoryRoles/{id}
// and …/members read them.
func (c *Console) role(v *visit) {
	if !isAdmin(v.p) || !c.admits(v, "GET", "/v1.0/directoryRoles/"+url.PathEscape(v.r.PathValue("id"))+"/members") {
		c.forbidden(v)
		return
	}
	c.roleView(v, http.StatusOK, "")
}

func (c *Console) roleView(v *visit, status int, problem string) {
	id := v.r.PathValue("id")
	d := c.cfg.Directory
	role, err := d.GetWhole(v.ctx, v.tenantID, directory.KindDirectoryRole, id)
	if err != nil {
		c.failPage(v.w, v.r, err)
		return
	}
	pg := rolePage{Role: role, Done: v.r.URL.Query().Get("done"), CanAssign: c.admits(v, "POST", "/v1.0/directoryRoles/"+url.PathEscape(id)+"/members/$ref")}
	if pg.Members, err = d.RoleMembers(v.ctx, v.tenantID, role.ID); err != nil {
		c.failPage(v.w, v.r, err)
		return
	}
	if pg.CanAssign {
		if pg.Search, pg.Found, pg.CanSearch, err = c.findUsers(v); err != nil {
			c.failPage(v.w, v.r, err)
			return
		}
	}
	vw := c.layout(v, "role.title")
	vw.Error = problem
	vw.Page = pg
	c.render(v.w, v.r, status, "role", vw)
}

// roleAction assigns a role to a user or removes it, as POST and DELETE
// /directoryRoles/{id}/members… do; the directory's privilege rules decide
// (privileged roles only by a Privileged Role or Global Administrator) and
// their refusal is shown on the page.
func (c *Console) roleAction(v *visit) {
	id, user := v.r.PathValue("id"), v.r.PostForm.Get("user")
	self := "/v1.0/directoryRoles/" + url.PathEscape(id) + "/members"
	routes := map[string][2]string{"add": {"POST", self + "/$ref"}, "remove": {"DELETE", self + "/" + url.PathEscape(user) + "/$ref"}}
	action, ok := c.admittedAction(v, routes, func(string) bool { return isAdmin(v.p) })
	if !ok {
		return
	}
	var err error
	if action == "add" {
		err = c.cfg.Directory.AddRoleMember(v.ctx, v.tenantID, id, user)
	} else {
		err = c.cfg.Directory.RemoveRoleMember(v.ctx, v.tenantID, id, user)
	}
	if err != nil {
		c.refused(v, err, func(status int, problem string) { c.roleView(v, status, problem) })
		return
	}
	http.Redirect(v.w, v.r, "/admin/"+v.tenantID+"/roles/"+id+"?done=saved", http.StatusSeeOther)
}
