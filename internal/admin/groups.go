package admin

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
)

func (c *Console) registerGroups(mux *http.ServeMux) {
	mux.Handle("GET /admin/{tenant}/groups", c.session(c.groups))
	mux.Handle("POST /admin/{tenant}/groups", c.session(c.createGroup))
	mux.Handle("GET /admin/{tenant}/groups/{id}", c.session(c.group))
	mux.Handle("POST /admin/{tenant}/groups/{id}/{action}", c.session(c.groupAction))
}

// groupsPage is the groups list: a page of groups, the search and the
// sealed cursor of the next page.
type groupsPage struct {
	Groups    []directory.Object
	Search    string
	Next      string
	CanCreate bool
	Form      url.Values
}

// groups lists the tenant's groups, as GET /groups (and $search) does, 20
// a page.
func (c *Console) groups(v *visit) {
	if !isAdmin(v.p) || !c.admits(v, "GET", "/v1.0/groups") {
		c.forbidden(v)
		return
	}
	c.groupsList(v, http.StatusOK, "", url.Values{})
}

func (c *Console) groupsList(v *visit, status int, problem string, form url.Values) {
	vw := c.layout(v, "groups.title")
	vw.Error = problem
	pg := groupsPage{Search: strings.TrimSpace(v.r.URL.Query().Get("q")), Form: form, CanCreate: c.admits(v, "POST", "/v1.0/groups")}
	var ok bool
	if pg.Groups, pg.Next, ok = c.pageOf(v, "groups", pg.Search, c.searched(v, directory.KindGroup, pg.Search, "displayName", "description", "mailNickname")); !ok {
		return
	}
	vw.Page = pg
	c.render(v.w, v.r, status, "groups", vw)
}

// createGroup creates a security group as POST /groups does; a
// role-assignable one when asked (the directory decides who may).
func (c *Console) createGroup(v *visit) {
	if !isAdmin(v.p) || !c.admits(v, "POST", "/v1.0/groups") {
		c.forbidden(v)
		return
	}
	f := v.r.PostForm
	body := directory.Doc{
		"displayName": strings.TrimSpace(f.Get("displayName")), "mailNickname": strings.TrimSpace(f.Get("mailNickname")),
		"securityEnabled": true, "mailEnabled": false, "groupTypes": []any{},
	}
	if d := strings.TrimSpace(f.Get("description")); d != "" {
		body["description"] = d
	}
	if f.Get("isAssignableToRole") == "on" {
		body["isAssignableToRole"] = true
	}
	g, err := c.cfg.Directory.CreateGroup(v.ctx, v.tenantID, body)
	if err != nil {
		c.refused(v, err, func(status int, problem string) { c.groupsList(v, status, problem, f) })
		return
	}
	http.Redirect(v.w, v.r, "/admin/"+v.tenantID+"/groups/"+g.ID, http.StatusSeeOther)
}

// groupPage is one group: its properties, members and owners, the users
// a search found to add, and what the caller may do.
type groupPage struct {
	Group           directory.Object
	Members, Owners []directory.Object
	// Search is the add search's words; Found the users it found.
	Search string
	Found  []directory.Object
	// CanWrite edits and deletes the group and changes its owners;
	// CanMembers changes its members (an owner may); CanInvite invites a
	// guest into it.
	CanWrite, CanMembers, CanInvite, CanSearch bool
	Done                                       string
}

// group shows one group, as GET /groups/{id}, …/members and …/owners read
// it: to an administrator, and to whoever else Graph lets read it (the
// owners that "My groups and apps" sends here).
func (c *Console) group(v *visit) {
	if !c.admits(v, "GET", "/v1.0/groups/"+url.PathEscape(v.r.PathValue("id"))) {
		c.forbidden(v)
		return
	}
	c.groupView(v, http.StatusOK, "")
}

func (c *Console) groupView(v *visit, status int, problem string) {
	id := v.r.PathValue("id")
	self := "/v1.0/groups/" + url.PathEscape(id)
	g, err := c.cfg.Directory.Get(v.ctx, v.tenantID, directory.KindGroup, id)
	if err != nil {
		c.failPage(v.w, v.r, err)
		return
	}
	pg := groupPage{Group: g, Done: v.r.URL.Query().Get("done"),
		CanWrite:   c.admits(v, "PATCH", self),
		CanMembers: c.admits(v, "POST", self+"/members/$ref"),
	}
	pg.CanInvite = pg.CanMembers && c.cfg.B2B != nil && c.admits(v, "POST", "/v1.0/invitations")
	for _, rel := range []struct {
		name string
		into *[]directory.Object
	}{{directory.RelMembers, &pg.Members}, {directory.RelOwners, &pg.Owners}} {
		if !c.admits(v, "GET", self+"/"+rel.name) {
			continue
		}
		page, err := c.cfg.Directory.ListRelated(v.ctx, v.tenantID, directory.Relation{Kind: directory.KindGroup, ID: id, Rel: rel.name}, directory.Query{Top: 100})
		if err != nil {
			c.failPage(v.w, v.r, err)
			return
		}
		*rel.into = page.Objects
	}
	if pg.CanMembers || pg.CanWrite {
		if pg.Search, pg.Found, pg.CanSearch, err = c.findUsers(v); err != nil {
			c.failPage(v.w, v.r, err)
			return
		}
	}
	vw := c.layout(v, "group.title")
	vw.Error = problem
	vw.Page = pg
	c.render(v.w, v.r, status, "group", vw)
}

// findUsers runs a page's user search (?find=), as GET /users with
// $search does, when Graph lets the caller list users: the candidates an
// add form offers.
func (c *Console) findUsers(v *visit) (search string, found []directory.Object, can bool, err error) {
	if !c.admits(v, "GET", "/v1.0/users") {
		return "", nil, false, nil
	}
	search = strings.TrimSpace(v.r.URL.Query().Get("find"))
	if search == "" {
		return "", nil, true, nil
	}
	s, err := directory.ParseSearch(directory.KindUser, searchIn(search, userSearchProps...))
	if err != nil {
		return search, nil, true, err
	}
	page, err := c.cfg.Directory.SearchList(v.ctx, v.tenantID, directory.KindUser, s, directory.Query{Top: 10, Advanced: true})
	return search, page.Objects, true, err
}

// groupAction changes one group through the directory (B2B for the
// invitation of a guest member), each after the admission of the Graph
// request that does the same.
func (c *Console) groupAction(v *visit) {
	id := v.r.PathValue("id")
	self := "/v1.0/groups/" + url.PathEscape(id)
	user := v.r.PostForm.Get("user")
	routes := map[string][2]string{
		"edit": {"PATCH", self}, "delete": {"DELETE", self},
		"addmember": {"POST", self + "/members/$ref"}, "removemember": {"DELETE", self + "/members/" + url.PathEscape(user) + "/$ref"},
		"addowner": {"POST", self + "/owners/$ref"}, "removeowner": {"DELETE", self + "/owners/" + url.PathEscape(user) + "/$ref"},
		"inviteguest": {"POST", self + "/members/$ref"},
	}
	action, ok := c.admittedAction(v, routes, func(action string) bool {
		return action != "inviteguest" || (c.cfg.B2B != nil && c.admits(v, "POST", "/v1.0/invitations"))
	})
	if !ok {
		return
	}
	d := c.cfg.Directory
	var err error
	done := "saved"
	switch action {
	case "edit":
		patch := directory.Doc{"displayName": strings.TrimSpace(v.r.PostForm.Get("displayName")),
			"description": nullIfEmpty(strings.TrimSpace(v.r.PostForm.Get("description")))}
		err = d.UpdateGroup(v.ctx, v.tenantID, id, patch, 0)
	case "delete":
		if err = d.Delete(v.ctx, v.tenantID, directory.KindGroup, id, 0); err == nil {
			c.afterGroupDelete(v)
			return
		}
	case "addmember", "addowner":
		err = d.AddLink(v.ctx, v.tenantID, id, strings.TrimPrefix(action, "add")+"s", user)
	case "removemember", "removeowner":
		err = d.RemoveLink(v.ctx, v.tenantID, id, strings.TrimPrefix(action, "remove")+"s", user)
	case "inviteguest":
		err, done = c.inviteMember(v, id), "invited"
	}
	if err != nil {
		c.refused(v, err, func(status int, problem string) { c.groupView(v, status, problem) })
		return
	}
	http.Redirect(v.w, v.r, "/admin/"+v.tenantID+"/groups/"+id+"?done="+done, http.StatusSeeOther)
}

// afterGroupDelete sends an administrator to the groups list, an owner
// back to their own groups.
func (c *Console) afterGroupDelete(v *visit) {
	to := "/admin/" + v.tenantID + "/"
	if isAdmin(v.p) {
		to += "groups"
	}
	http.Redirect(v.w, v.r, to, http.StatusSeeOther)
}

// inviteMember invites a guest by email through B2B, whose invitation
// settings decide whether the caller may (allowInvitesFrom), and adds the
// guest to the group, where the directory decides whether the caller may
// change its members (its owners may): the two requests Graph takes. The
// directory is asked first, so a refused caller invites nobody.
func (c *Console) inviteMember(v *visit, groupID string) error {
	if err := c.cfg.Directory.MayChangeMembers(v.ctx, v.tenantID, groupID); err != nil {
		return err
	}
	body := directory.Doc{
		"invitedUserEmailAddress": strings.TrimSpace(v.r.PostForm.Get("email")), "sendInvitationMessage": true,
		"inviteRedirectUrl": c.cfg.PublicURL + "/admin/" + v.tenantID + "/",
	}
	if name := strings.TrimSpace(v.r.PostForm.Get("displayName")); name != "" {
		body["invitedUserDisplayName"] = name
	}
	inv, err := c.cfg.B2B.Invite(v.ctx, v.tenantID, body)
	if err != nil {
		return err
	}
	user, _ := inv["invitedUser"].(map[string]any)
	guest, _ := user["id"].(string)
	return c.cfg.Directory.AddLink(v.ctx, v.tenantID, groupID, directory.RelMembers, guest)
}
