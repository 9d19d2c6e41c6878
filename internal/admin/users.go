package admin

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

func (c *Console) registerUsers(mux *http.ServeMux) {
	mux.Handle("GET /admin/{tenant}/users", c.session(c.users))
	mux.Handle("POST /admin/{tenant}/users", c.session(c.createUser))
	mux.Handle("POST /admin/{tenant}/invitations", c.session(c.invite))
	mux.Handle("GET /admin/{tenant}/users/{id}", c.session(c.user))
	mux.Handle("POST /admin/{tenant}/users/{id}/{action}", c.session(c.userAction))
	mux.Handle("GET /admin/{tenant}/deleted", c.session(c.deleted))
	mux.Handle("POST /admin/{tenant}/deleted/{id}/restore", c.session(c.restore))
}

// pageSize is how many objects a list page shows.
const pageSize = 20

// usersPage is the users list: a page of users, the search and the sealed
// cursor of the next page.
type usersPage struct {
	Users     []directory.Object
	Search    string
	Next      string
	CanCreate bool
	CanInvite bool
	// Form holds what was typed into a refused create or invite form.
	Form url.Values
}

// users lists the tenant's users and guests, as GET /users (and $search
// with ConsistencyLevel eventual) lists them, 20 a page.
func (c *Console) users(v *visit) {
	if !isAdmin(v.p) || !c.admits(v, "GET", "/v1.0/users") {
		c.forbidden(v)
		return
	}
	c.usersList(v, http.StatusOK, "", url.Values{})
}

func (c *Console) usersList(v *visit, status int, problem string, form url.Values) {
	vw := c.layout(v, "users.title")
	vw.Error = problem
	pg := usersPage{Search: strings.TrimSpace(v.r.URL.Query().Get("q")), Form: form,
		CanCreate: c.admits(v, "POST", "/v1.0/users"), CanInvite: c.cfg.B2B != nil && c.admits(v, "POST", "/v1.0/invitations")}
	var ok bool
	if pg.Users, pg.Next, ok = c.pageOf(v, "users", pg.Search, c.searched(v, directory.KindUser, pg.Search, userSearchProps...)); !ok {
		return
	}
	vw.Page = pg
	c.render(v.w, v.r, status, "users", vw)
}

// userSearchProps are what a user search box's words are prefixes of.
var userSearchProps = []string{"displayName", "userPrincipalName", "mail"}

// pageOf reads one page of the list page name through read, after the
// cursor the URL carries; its cursors are bound to the tenant, the list
// and the search. It answers the request itself (ok false) when it cannot.
func (c *Console) pageOf(v *visit, name, search string, read func(directory.Query) (directory.Page, error)) (objs []directory.Object, next string, ok bool) {
	q := directory.Query{Top: pageSize}
	if after := v.r.URL.Query().Get("after"); after != "" {
		if err := c.open(after, &q.Cursor, v.tenantID, name, search); err != nil {
			c.errorPage(v.w, v.r, http.StatusBadRequest, "error.request")
			return nil, "", false
		}
	}
	page, err := read(q)
	if err != nil {
		c.failPage(v.w, v.r, err)
		return nil, "", false
	}
	if page.Next != "" {
		if next, err = c.seal(page.Next, v.tenantID, name, search); err != nil {
			c.internalError(v.w, v.r, err)
			return nil, "", false
		}
	}
	return page.Objects, next, true
}

// searched reads the objects of kind whose props begin with the search
// box's words ($search with ConsistencyLevel eventual), or all of them.
func (c *Console) searched(v *visit, kind, search string, props ...string) func(directory.Query) (directory.Page, error) {
	return func(q directory.Query) (directory.Page, error) {
		if search == "" {
			return c.cfg.Directory.List(v.ctx, v.tenantID, kind, q)
		}
		s, err := directory.ParseSearch(kind, searchIn(search, props...))
		if err != nil {
			return directory.Page{}, err
		}
		q.Advanced = true
		return c.cfg.Directory.SearchList(v.ctx, v.tenantID, kind, s, q)
	}
}

// searchIn is the $search of a search box's words in props, ORed. Quotes
// cannot be searched.
func searchIn(text string, props ...string) string {
	text = strings.ReplaceAll(text, `"`, " ")
	var clauses []string
	for _, prop := range props {
		clauses = append(clauses, `"`+prop+":"+strings.TrimSpace(text)+`"`)
	}
	return strings.Join(clauses, " OR ")
}

// createUser creates a member as POST /users does.
func (c *Console) createUser(v *visit) {
	if !isAdmin(v.p) || !c.admits(v, "POST", "/v1.0/users") {
		c.forbidden(v)
		return
	}
	f := v.r.PostForm
	upn := strings.TrimSpace(f.Get("userPrincipalName"))
	nick, _, _ := strings.Cut(upn, "@")
	body := directory.Doc{
		"accountEnabled": true, "displayName": strings.TrimSpace(f.Get("displayName")), "userPrincipalName": upn, "mailNickname": nick,
		"passwordProfile": map[string]any{"password": f.Get("password"), "forceChangePasswordNextSignIn": f.Get("forceChange") == "on"},
	}
	u, err := c.cfg.Directory.CreateUser(v.ctx, v.tenantID, body)
	if err != nil {
		c.refused(v, err, func(status int, problem string) { c.usersList(v, status, problem, f) })
		return
	}
	http.Redirect(v.w, v.r, "/admin/"+v.tenantID+"/users/"+u.ID, http.StatusSeeOther)
}

// invite invites a guest through B2B, as POST /invitations does, with the
// invitation email sent; the guest lands in the console afterwards.
func (c *Console) invite(v *visit) {
	if c.cfg.B2B == nil || !c.admits(v, "POST", "/v1.0/invitations") {
		c.forbidden(v)
		return
	}
	f := v.r.PostForm
	body := directory.Doc{
		"invitedUserEmailAddress": strings.TrimSpace(f.Get("email")), "sendInvitationMessage": true,
		"inviteRedirectUrl": c.cfg.PublicURL + "/admin/" + v.tenantID + "/",
	}
	if name := strings.TrimSpace(f.Get("displayName")); name != "" {
		body["invitedUserDisplayName"] = name
	}
	inv, err := c.cfg.B2B.Invite(v.ctx, v.tenantID, body)
	if err != nil {
		c.refused(v, err, func(status int, problem string) {
			if isAdmin(v.p) {
				c.usersList(v, status, problem, f)
				return
			}
			vw := c.layout(v, "error.title")
			vw.Error = problem
			c.render(v.w, v.r, status, "error", vw)
		})
		return
	}
	user, _ := inv["invitedUser"].(map[string]any)
	id, _ := user["id"].(string)
	if !isAdmin(v.p) {
		http.Redirect(v.w, v.r, "/admin/"+v.tenantID+"/", http.StatusSeeOther)
		return
	}
	http.Redirect(v.w, v.r, "/admin/"+v.tenantID+"/users/"+id+"?done=invited", http.StatusSeeOther)
}

// refused shows a user-safe refusal with show, with the status its kind
// maps to; anything else as an error. A missing object is a page of its
// own: there is no form to show it on.
func (c *Console) refused(v *visit, err error, show func(status int, problem string)) {
	if ue, ok := usererr.As(err); ok && ue.Kind != usererr.NotFound {
		show(statusOf(ue.Kind), ue.Message)
		return
	}
	c.failPage(v.w, v.r, err)
}

// userPage is one user: properties, memberships and what the caller may do.
type userPage struct {
	User     directory.Object
	MemberOf []directory.Object
	// Password is a new password, shown once after a reset.
	Password            string
	CanWrite, CanDelete bool
	CanInvite, IsGuest  bool
	Done                string
	// Groups and Roles are offered to add the user to, when Graph admits
	// the caller to change memberships (CanGroups) and role assignments
	// (CanRoles); whether each change is allowed is the directory's call.
	Groups, Roles       []directory.Object
	CanGroups, CanRoles bool
}

// user shows one user, as GET /users/{id} and /users/{id}/memberOf read it.
func (c *Console) user(v *visit) {
	id := v.r.PathValue("id")
	if !isAdmin(v.p) || !c.admits(v, "GET", "/v1.0/users/"+url.PathEscape(id)) {
		c.forbidden(v)
		return
	}
	c.userView(v, http.StatusOK, "", "")
}

func (c *Console) userView(v *visit, status int, problem, password string) {
	id := v.r.PathValue("id")
	u, err := c.cfg.Directory.Get(v.ctx, v.tenantID, directory.KindUser, id)
	if err != nil {
		c.failPage(v.w, v.r, err)
		return
	}
	pg := userPage{User: u, Password: password, IsGuest: u.Doc["userType"] == "Guest",
		CanWrite:  c.admits(v, "PATCH", "/v1.0/users/"+url.PathEscape(id)),
		CanDelete: c.admits(v, "DELETE", "/v1.0/users/"+url.PathEscape(id)),
		CanInvite: c.cfg.B2B != nil && c.admits(v, "POST", "/v1.0/invitations"),
		Done:      v.r.URL.Query().Get("done"),
	}
	if c.admits(v, "GET", "/v1.0/users/"+url.PathEscape(id)+"/memberOf") {
		page, err := c.cfg.Directory.ListRelated(v.ctx, v.tenantID, directory.Relation{Kind: directory.KindUser, ID: id, Rel: directory.RelMembers, Reverse: true}, directory.Query{Top: 100})
		if err != nil {
			c.failPage(v.w, v.r, err)
			return
		}
		pg.MemberOf = page.Objects
	}
	pg.CanGroups = c.admits(v, "POST", "/v1.0/groups/x/members/$ref")
	pg.CanRoles = c.admits(v, "POST", "/v1.0/directoryRoles/x/members/$ref")
	if pg.CanGroups && c.admits(v, "GET", "/v1.0/groups") {
		page, err := c.cfg.Directory.List(v.ctx, v.tenantID, directory.KindGroup, directory.Query{Top: 100})
		if err != nil {
			c.failPage(v.w, v.r, err)
			return
		}
		pg.Groups = page.Objects
	}
	if pg.CanRoles && c.admits(v, "GET", "/v1.0/directoryRoles") {
		if pg.Roles, err = c.cfg.Directory.ListWhole(v.ctx, v.tenantID, directory.KindDirectoryRole, nil); err != nil {
			c.failPage(v.w, v.r, err)
			return
		}
	}
	vw := c.layout(v, "user.title")
	vw.Error = problem
	vw.Page = pg
	c.render(v.w, v.r, status, "user", vw)
}

// userAction changes one user through the directory (or B2B for
// invitations), each after the admission of the Graph request that does
// the same (route).
func (c *Console) userAction(v *visit) {
	id := v.r.PathValue("id")
	self := "/v1.0/users/" + url.PathEscape(id)
	group, role := url.PathEscape(v.r.PostForm.Get("group")), url.PathEscape(v.r.PostForm.Get("role"))
	routes := map[string][2]string{
		"enable": {"PATCH", self}, "disable": {"PATCH", self}, "edit": {"PATCH", self}, "password": {"PATCH", self},
		"delete": {"DELETE", self}, "resend": {"POST", "/v1.0/invitations"}, "reset": {"POST", "/v1.0/invitations"},
		"addgroup": {"POST", "/v1.0/groups/" + group + "/members/$ref"}, "removegroup": {"DELETE", "/v1.0/groups/" + group + "/members/" + url.PathEscape(id) + "/$ref"},
		"addrole": {"POST", "/v1.0/directoryRoles/" + role + "/members/$ref"}, "removerole": {"DELETE", "/v1.0/directoryRoles/" + role + "/members/" + url.PathEscape(id) + "/$ref"},
	}
	action, ok := c.admittedAction(v, routes, func(action string) bool {
		return isAdmin(v.p) && ((action != "resend" && action != "reset") || c.cfg.B2B != nil)
	})
	if !ok {
		return
	}
	d := c.cfg.Directory
	var err error
	var password, done string
	switch action {
	case "enable", "disable":
		err, done = d.UpdateUser(v.ctx, v.tenantID, id, directory.Doc{"accountEnabled": action == "enable"}, 0), action+"d"
	case "edit":
		patch := directory.Doc{"displayName": strings.TrimSpace(v.r.PostForm.Get("displayName"))}
		for _, k := range []string{"jobTitle", "department"} {
			patch[k] = nullIfEmpty(strings.TrimSpace(v.r.PostForm.Get(k)))
		}
		err, done = d.UpdateUser(v.ctx, v.tenantID, id, patch, 0), "saved"
	case "password":
		password = directory.GeneratePassword()
		err = d.UpdateUser(v.ctx, v.tenantID, id, directory.Doc{"passwordProfile": map[string]any{"password": password, "forceChangePasswordNextSignIn": true}}, 0)
	case "delete":
		if err = d.Delete(v.ctx, v.tenantID, directory.KindUser, id, 0); err == nil {
			http.Redirect(v.w, v.r, "/admin/"+v.tenantID+"/deleted", http.StatusSeeOther)
			return
		}
	case "resend", "reset":
		err, done = c.reinvite(v, id, action == "reset"), "invited"
	case "addgroup":
		err, done = d.AddLink(v.ctx, v.tenantID, v.r.PostForm.Get("group"), directory.RelMembers, id), "saved"
	case "removegroup":
		err, done = d.RemoveLink(v.ctx, v.tenantID, v.r.PostForm.Get("group"), directory.RelMembers, id), "saved"
	case "addrole":
		err, done = d.AddRoleMember(v.ctx, v.tenantID, v.r.PostForm.Get("role"), id), "saved"
	case "removerole":
		err, done = d.RemoveRoleMember(v.ctx, v.tenantID, v.r.PostForm.Get("role"), id), "saved"
	}
	if err != nil {
		c.refused(v, err, func(status int, problem string) { c.userView(v, status, problem, "") })
		return
	}
	if password != "" {
		// Shown once, on this answer only: it is stored nowhere in clear.
		c.userView(v, http.StatusOK, "", password)
		return
	}
	http.Redirect(v.w, v.r, "/admin/"+v.tenantID+"/users/"+id+"?done="+done, http.StatusSeeOther)
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// reinvite sends a guest's invitation again, or resets their redemption
// (resetRedemption) so they redeem anew, possibly with another identity.
func (c *Console) reinvite(v *visit, id string, reset bool) error {
	u, err := c.cfg.Directory.Get(v.ctx, v.tenantID, directory.KindUser, id)
	if err != nil {
		return err
	}
	email, _ := u.Doc["mail"].(string)
	body := directory.Doc{"invitedUserEmailAddress": email, "sendInvitationMessage": true,
		"inviteRedirectUrl": c.cfg.PublicURL + "/admin/" + v.tenantID + "/"}
	if reset {
		body["resetRedemption"] = true
		body["invitedUser"] = map[string]any{"id": id}
	}
	_, err = c.cfg.B2B.Invite(v.ctx, v.tenantID, body)
	return err
}

// deletedPage lists deleted users.
type deletedPage struct {
	Users      []directory.Object
	CanRestore bool
}

// deleted lists soft-deleted users, as GET /directory/deletedItems/graph.user.
func (c *Console) deleted(v *visit) {
	if !isAdmin(v.p) || !c.admits(v, "GET", "/v1.0/users") {
		c.forbidden(v)
		return
	}
	page, err := c.cfg.Directory.ListDeleted(v.ctx, v.tenantID, directory.KindUser, directory.Query{Top: 100})
	if err != nil {
		c.failPage(v.w, v.r, err)
		return
	}
	vw := c.layout(v, "deleted.title")
	vw.Page = deletedPage{Users: page.Objects, CanRestore: c.admits(v, "PATCH", "/v1.0/users/x")}
	c.render(v.w, v.r, http.StatusOK, "deleted", vw)
}

// restore restores a deleted user. Graph admits deletedItems by the
// object's kind, with the permissions that write it; for a user those of
// PATCH /users/{id}. The directory then refuses a caller who could not
// have deleted the user.
func (c *Console) restore(v *visit) {
	id := v.r.PathValue("id")
	if !isAdmin(v.p) || !c.admits(v, "PATCH", "/v1.0/users/"+url.PathEscape(id)) {
		c.forbidden(v)
		return
	}
	obj, err := c.cfg.Directory.GetDeleted(v.ctx, v.tenantID, id)
	if err == nil && obj.Kind != directory.KindUser {
		c.errorPage(v.w, v.r, http.StatusNotFound, "error.request")
		return
	}
	if err == nil {
		_, err = c.cfg.Directory.Restore(v.ctx, v.tenantID, id)
	}
	if err != nil {
		c.failPage(v.w, v.r, err)
		return
	}
	http.Redirect(v.w, v.r, "/admin/"+v.tenantID+"/users/"+id+"?done=restored", http.StatusSeeOther)
}
