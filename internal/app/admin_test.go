package app_test

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/pagewalk"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// console is a browser signed in to the admin centre of one tenant.
type console struct {
	t      *testing.T
	e      *env
	b      *pagewalk.Browser
	tenant string
	csrf   string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// consoleSignIn signs in to the admin centre through the tenant's own
// hosted pages (pagewalk answers them; the code comes back to the console
// on the same host) and reads the page the console then shows.
func (e *env) consoleSignIn(t *testing.T, tenantID, username, password string) (*console, consolePage) {
	t.Helper()
	c := &console{t: t, e: e, b: pagewalk.New(nil), tenant: tenantID}
	// The walk ends on the console's own page, which has no sign-in field
	// to answer; what counts is the page the session serves next.
	_, _ = c.b.SignIn(e.url+"/admin/"+tenantID+"/signin", map[string]string{"username": username, "password": password, "stay": "no"})
	p := c.get("/admin/" + tenantID + "/")
	if p.status != 200 || !strings.Contains(p.body, `action="/admin/`+tenantID+`/signout"`) {
		t.Fatalf("not signed in to the console: %d %.400s", p.status, p.body)
	}
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatal("no CSRF token on the console page")
	}
	c.csrf = html.UnescapeString(m[1])
	return c, p
}

type consolePage struct {
	status   int
	body     string
	header   http.Header
	location string
}

func (c *console) do(req *http.Request) consolePage {
	c.t.Helper()
	client := *c.b.Client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return consolePage{status: resp.StatusCode, body: string(b), header: resp.Header, location: resp.Header.Get("Location")}
}

// get reads a page without following redirects.
func (c *console) get(path string) consolePage {
	req, _ := http.NewRequest("GET", c.e.url+path, nil)
	return c.do(req)
}

// post submits a form as a same-origin page would, with the session's
// CSRF token unless form sets its own.
func (c *console) post(path string, form url.Values) consolePage {
	if !form.Has("csrf") {
		form.Set("csrf", c.csrf)
	}
	req, _ := http.NewRequest("POST", c.e.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.e.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

func (e *env) userByUPN(t *testing.T, a tenant, upn string) map[string]any {
	t.Helper()
	r := e.mustCall(200, "GET", "/v1.0/users?$filter="+url.QueryEscape("userPrincipalName eq '"+upn+"'"), a.token, nil)
	if v := r.values(); len(v) == 1 {
		return v[0]
	}
	return nil
}

func TestAdminConsoleSignInAndOut(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	a := e.tenant("Contoso", "contoso.example")
	anon := &console{t: t, e: e, b: pagewalk.New(nil)}

	start := anon.get("/admin")
	if start.status != 200 || !strings.Contains(start.body, `name="tenant"`) || !strings.Contains(start.body, `href="#main"`) {
		t.Fatalf("start page: %d %.300s", start.status, start.body)
	}
	if r := anon.get("/admin?tenant=CONTOSO.example"); r.status != http.StatusSeeOther || r.location != "/admin/"+a.id+"/signin" {
		t.Fatalf("tenant by domain: %d %q", r.status, r.location)
	}
	if r := anon.get("/admin?tenant=nobody.example"); r.status != 404 {
		t.Fatalf("unknown tenant: %d", r.status)
	}
	if r := anon.get("/admin/" + a.id + "/users"); r.status != http.StatusFound || r.location != "/admin/"+a.id+"/signin" {
		t.Fatalf("no session: %d %q", r.status, r.location)
	}
	signin := anon.get("/admin/" + a.id + "/signin")
	auth, _ := url.Parse(signin.location)
	q := auth.Query()
	if auth.Path != "/"+a.id+"/oauth2/v2.0/authorize" || q.Get("code_challenge_method") != "S256" || q.Get("client_id") == "" || q.Get("state") == "" {
		t.Fatalf("sign-in goes to %s", signin.location)
	}
	// The language chosen in the console is the sign-in pages' too: one
	// choice, one cookie.
	if r := anon.get("/admin?lang=sv"); r.status != http.StatusSeeOther {
		t.Fatalf("language switch: %d", r.status)
	}
	resp, err := anon.b.Client.Get(signin.location)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `<html lang="sv"`) {
		t.Errorf("the sign-in page after choosing Swedish in the console: %.200s", page)
	}
	if r := anon.get("/admin?lang=en"); r.status != http.StatusSeeOther {
		t.Fatalf("language switch: %d", r.status)
	}
	// A code answered to a state this browser did not start is refused.
	if r := anon.get("/admin/callback?code=x&state=" + url.QueryEscape(q.Get("state")+"x")); r.status != 400 {
		t.Fatalf("foreign state: %d", r.status)
	}

	c, overview := e.consoleSignIn(t, a.id, a.created.Admin.UserPrincipalName, a.created.Admin.Password)
	for _, want := range []string{"contoso.example", "Overview", `aria-current="page"`, `<main id="main"`, `lang="en"`} {
		if !strings.Contains(overview.body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	csp := overview.header.Get("Content-Security-Policy")
	nonce := regexp.MustCompile(`script-src 'nonce-([^']+)'`).FindStringSubmatch(csp)
	if nonce == nil || !strings.Contains(overview.body, `nonce="`+nonce[1]+`"`) || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	for _, ck := range c.b.Client.Jar.Cookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(e.url, "http://"), Path: "/admin"}) {
		if ck.Name == "gh-admin" && !strings.HasPrefix(ck.Value, a.id+".") {
			t.Errorf("session cookie %q", ck.Value)
		}
	}
	// The session cookie's attributes, from the callback that set it.
	if strings.Contains(overview.body, c.csrf) == false {
		t.Error("the page carries no CSRF token")
	}

	// The language switch keeps the choice.
	if r := c.get("/admin/" + a.id + "/?lang=sv"); r.status != http.StatusSeeOther || r.location != "/admin/"+a.id+"/" {
		t.Fatalf("language switch: %d %q", r.status, r.location)
	}
	if sv := c.get("/admin/" + a.id + "/"); !strings.Contains(sv.body, `<html lang="sv">`) || !strings.Contains(sv.body, "Översikt") {
		t.Errorf("Swedish page: %.300s", sv.body)
	}

	out := c.post("/admin/"+a.id+"/signout", url.Values{})
	logout, _ := url.Parse(out.location)
	if out.status != http.StatusSeeOther || logout.Path != "/"+a.id+"/oauth2/v2.0/logout" || logout.Query().Get("id_token_hint") == "" {
		t.Fatalf("sign-out: %d %q", out.status, out.location)
	}
	back := c.get(logout.RequestURI())
	if back.status != http.StatusFound && back.status != http.StatusSeeOther {
		t.Fatalf("tenant logout: %d %.300s", back.status, back.body)
	}
	done := c.get(strings.TrimPrefix(back.location, e.url))
	if done.location != "/admin?signedout=1" {
		t.Fatalf("after logout: %d %q", done.status, done.location)
	}
	if r := c.get("/admin/" + a.id + "/"); r.status != http.StatusFound {
		t.Fatalf("session still serves after sign-out: %d", r.status)
	}
}

func TestAdminConsoleRefusesForgedPosts(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	a := e.tenant("Contoso", "contoso.example")
	bob := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("bob", a.domain)).body["id"].(string)
	c, _ := e.consoleSignIn(t, a.id, a.created.Admin.UserPrincipalName, a.created.Admin.Password)
	disable := "/admin/" + a.id + "/users/" + bob + "/disable"

	if r := c.post(disable, url.Values{"csrf": {""}}); r.status != 403 {
		t.Errorf("no token: %d", r.status)
	}
	if r := c.post(disable, url.Values{"csrf": {c.csrf + "x"}}); r.status != 403 {
		t.Errorf("wrong token: %d", r.status)
	}
	req, _ := http.NewRequest("POST", e.url+disable, strings.NewReader(url.Values{"csrf": {c.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := c.do(req); r.status != 403 {
		t.Errorf("cross-site post with the right token: %d", r.status)
	}
	if u := e.mustCall(200, "GET", "/v1.0/users/"+bob+"?$select=accountEnabled", a.token, nil).body; u["accountEnabled"] != true {
		t.Fatal("a refused post changed the user")
	}
	// htmx sends the token as a header.
	req, _ = http.NewRequest("POST", e.url+disable, nil)
	req.Header.Set("X-CSRF-Token", c.csrf)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if r := c.do(req); r.status != http.StatusSeeOther {
		t.Fatalf("the header token: %d %.300s", r.status, r.body)
	}
	if u := e.mustCall(200, "GET", "/v1.0/users/"+bob+"?$select=accountEnabled", a.token, nil).body; u["accountEnabled"] != false {
		t.Fatal("the accepted post did not disable the user")
	}
}

func TestAdminConsoleNonAdminSeesOnlyTheirOwn(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	a := e.tenant("Contoso", "contoso.example")
	alice := newUser("alice", a.domain)
	alice["passwordProfile"] = map[string]any{"password": "correct horse battery alice", "forceChangePasswordNextSignIn": false}
	aliceID := e.mustCall(201, "POST", "/v1.0/users", a.token, alice).body["id"].(string)
	bob := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("bob", a.domain)).body["id"].(string)
	group := e.mustCall(201, "POST", "/v1.0/groups", a.token, map[string]any{"displayName": "Alice's team", "mailEnabled": false, "mailNickname": "team", "securityEnabled": true}).body["id"].(string)
	e.mustCall(204, "POST", "/v1.0/groups/"+group+"/owners/$ref", a.token, map[string]any{"@odata.id": e.public + "/v1.0/directoryObjects/" + aliceID})

	c, home := e.consoleSignIn(t, a.id, "alice@"+a.domain, "correct horse battery alice")
	if !strings.Contains(home.body, "My groups and apps") || !strings.Contains(home.body, "Alice&#39;s team") || strings.Contains(home.body, "/users\"") {
		t.Errorf("a member's console: %.600s", home.body)
	}
	for _, path := range []string{"/users", "/users/" + bob, "/deleted"} {
		if r := c.get("/admin/" + a.id + path); r.status != 403 {
			t.Errorf("GET %s: %d", path, r.status)
		}
	}
	for _, path := range []string{"/users/" + bob + "/disable", "/users/" + bob + "/delete", "/users/" + bob + "/password"} {
		if r := c.post("/admin/"+a.id+path, url.Values{}); r.status != 403 {
			t.Errorf("POST %s: %d", path, r.status)
		}
	}
	if r := c.post("/admin/"+a.id+"/users", url.Values{"displayName": {"Eve"}, "userPrincipalName": {"eve@" + a.domain}, "password": {"correct horse battery eve"}}); r.status != 403 {
		t.Errorf("create: %d", r.status)
	}
	if u := e.mustCall(200, "GET", "/v1.0/users/"+bob+"?$select=accountEnabled", a.token, nil).body; u["accountEnabled"] != true {
		t.Fatal("a member changed another user")
	}
	if e.userByUPN(t, a, "eve@"+a.domain) != nil {
		t.Fatal("a member created a user")
	}
}

func TestAdminConsoleKeepsTenantsApart(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	a := e.tenant("Contoso", "contoso.example")
	b := e.tenant("Fabrikam", "fabrikam.example")
	victim := e.mustCall(201, "POST", "/v1.0/users", b.token, newUser("victim", b.domain)).body["id"].(string)
	c, _ := e.consoleSignIn(t, a.id, a.created.Admin.UserPrincipalName, a.created.Admin.Password)

	// A's session is not a session in B: B's pages send the browser to B's sign-in.
	if r := c.get("/admin/" + b.id + "/users/" + victim); r.status != http.StatusFound || r.location != "/admin/"+b.id+"/signin" {
		t.Errorf("B's page with A's session: %d %q", r.status, r.location)
	}
	if r := c.post("/admin/"+b.id+"/users/"+victim+"/disable", url.Values{}); r.status != 401 {
		t.Errorf("B's action with A's session: %d", r.status)
	}
	// B's ids in A's pages are not found, and nothing changes in B.
	if r := c.get("/admin/" + a.id + "/users/" + victim); r.status != 404 {
		t.Errorf("B's user through A: %d", r.status)
	}
	for _, action := range []string{"disable", "delete", "password", "edit"} {
		if r := c.post("/admin/"+a.id+"/users/"+victim+"/"+action, url.Values{"displayName": {"Owned"}}); r.status != 404 {
			t.Errorf("%s B's user through A: %d %.200s", action, r.status, r.body)
		}
	}
	if r := c.post("/admin/"+a.id+"/deleted/"+victim+"/restore", url.Values{}); r.status != 404 {
		t.Errorf("restore through A: %d", r.status)
	}
	u := e.mustCall(200, "GET", "/v1.0/users/"+victim+"?$select=accountEnabled,displayName", b.token, nil).body
	if u["accountEnabled"] != true || u["displayName"] != "User victim" {
		t.Fatalf("B's user changed: %v", u)
	}
}

func TestAdminConsoleUserActions(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		admin := e.userByUPN(t, a, a.created.Admin.UserPrincipalName)["id"].(string)
		c, _ := e.consoleSignIn(t, a.id, a.created.Admin.UserPrincipalName, a.created.Admin.Password)
		base := "/admin/" + a.id
		// byAdmin: the audit record of an activity on target, initiated by
		// the signed-in administrator (the console acts as them).
		byAdmin := func(activity, target string) {
			t.Helper()
			filter := "activityDisplayName eq '" + activity + "' and initiatedBy/user/id eq '" + admin + "'"
			if target != "" {
				filter += " and targetResources/any(t: t/id eq '" + target + "')"
			}
			recs := e.audits(t, a.token, "directoryAudits", filter)
			if len(recs) == 0 {
				t.Errorf("no audit record %q of %s by the administrator", activity, target)
			}
		}

		r := c.post(base+"/users", url.Values{"displayName": {"Carol"}, "userPrincipalName": {"carol@" + a.domain}, "password": {"correct horse battery carol"}, "forceChange": {"on"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("create: %d %.300s", r.status, r.body)
		}
		carol := e.userByUPN(t, a, "carol@"+a.domain)
		if carol == nil || r.location != base+"/users/"+carol["id"].(string) {
			t.Fatalf("created %v, sent to %q", carol, r.location)
		}
		id := carol["id"].(string)
		byAdmin("Add user", id)
		// A refusal of the directory is shown on the form, nothing created.
		if r := c.post(base+"/users", url.Values{"displayName": {"Dup"}, "userPrincipalName": {"carol@" + a.domain}, "password": {"correct horse battery dup"}}); r.status != 400 || !strings.Contains(r.body, `role="alert"`) {
			t.Errorf("duplicate: %d", r.status)
		}

		if p := c.get(base + "/users?q=car"); !strings.Contains(p.body, "<td>carol@"+a.domain+"</td>") || strings.Contains(p.body, "<td>"+a.created.Admin.UserPrincipalName+"</td>") {
			t.Errorf("search: %.500s", p.body)
		}
		// Paging: 20 a page, the cursor sealed.
		for i := range 20 {
			e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("p"+string(rune('a'+i)), a.domain))
		}
		first := c.get(base + "/users")
		next := regexp.MustCompile(`href="(/admin/[^"]+after=[^"]+)"`).FindStringSubmatch(first.body)
		if next == nil {
			t.Fatal("no next page")
		}
		if second := c.get(html.UnescapeString(next[1])); second.status != 200 || strings.Count(second.body, "<tr>") < 2 {
			t.Errorf("second page: %d", second.status)
		}
		if r := c.get(base + "/users?after=forged"); r.status != 400 {
			t.Errorf("forged cursor: %d", r.status)
		}

		if r := c.post(base+"/users/"+id+"/edit", url.Values{"displayName": {"Carol C"}, "jobTitle": {"Engineer"}}); r.status != http.StatusSeeOther {
			t.Fatalf("edit: %d %.300s", r.status, r.body)
		}
		if u := e.mustCall(200, "GET", "/v1.0/users/"+id+"?$select=displayName,jobTitle", a.token, nil).body; u["displayName"] != "Carol C" || u["jobTitle"] != "Engineer" {
			t.Errorf("edited: %v", u)
		}
		group := e.mustCall(201, "POST", "/v1.0/groups", a.token, map[string]any{"displayName": "Engineers", "mailEnabled": false, "mailNickname": "eng", "securityEnabled": true}).body["id"].(string)
		for _, step := range []url.Values{{"group": {group}}, {"role": {authz.UserAdministrator}}} {
			action := "addgroup"
			if step.Has("role") {
				action = "addrole"
			}
			if r := c.post(base+"/users/"+id+"/"+action, step); r.status != http.StatusSeeOther {
				t.Fatalf("%s: %d %.300s", action, r.status, r.body)
			}
		}
		memberOf := func() []string {
			var ids []string
			for _, o := range e.mustCall(200, "GET", "/v1.0/users/"+id+"/memberOf", a.token, nil).values() {
				ids = append(ids, o["id"].(string))
			}
			return ids
		}
		if got := memberOf(); !slices.Contains(got, group) || !slices.Contains(got, authz.UserAdministrator) {
			t.Errorf("memberOf after adding: %v", got)
		}
		if p := c.get(base + "/users/" + id); !strings.Contains(p.body, "Engineers") || !strings.Contains(p.body, "User Administrator") {
			t.Error("the user page does not show the memberships")
		}
		byAdmin("Add member to group", group)
		byAdmin("Add member to role", "")
		c.post(base+"/users/"+id+"/removegroup", url.Values{"group": {group}})
		c.post(base+"/users/"+id+"/removerole", url.Values{"role": {authz.UserAdministrator}})
		if got := memberOf(); len(got) != 0 {
			t.Errorf("memberOf after removing: %v", got)
		}
		if r := c.post(base+"/users/"+id+"/disable", url.Values{}); r.status != http.StatusSeeOther {
			t.Fatalf("disable: %d", r.status)
		}
		if u := e.mustCall(200, "GET", "/v1.0/users/"+id+"?$select=accountEnabled", a.token, nil).body; u["accountEnabled"] != false {
			t.Error("not disabled")
		}
		byAdmin("Update user", id)
		c.post(base+"/users/"+id+"/enable", url.Values{})
		pw := c.post(base+"/users/"+id+"/password", url.Values{})
		m := regexp.MustCompile(`<code id="new-password">([^<]+)</code>`).FindStringSubmatch(pw.body)
		if pw.status != 200 || m == nil {
			t.Fatalf("reset password: %d", pw.status)
		}
		if again := c.get(base + "/users/" + id); strings.Contains(again.body, m[1]) {
			t.Error("the new password is shown again")
		}
		byAdmin("Reset user password", id)

		if r := c.post(base+"/users/"+id+"/delete", url.Values{}); r.status != http.StatusSeeOther || r.location != base+"/deleted" {
			t.Fatalf("delete: %d %q", r.status, r.location)
		}
		if e.userByUPN(t, a, "carol@"+a.domain) != nil {
			t.Error("still listed after delete")
		}
		byAdmin("Delete user", id)
		if d := c.get(base + "/deleted"); !strings.Contains(d.body, "carol@"+a.domain) {
			t.Error("not among deleted users")
		}
		if r := c.post(base+"/deleted/"+id+"/restore", url.Values{}); r.status != http.StatusSeeOther {
			t.Fatalf("restore: %d %.300s", r.status, r.body)
		}
		if e.userByUPN(t, a, "carol@"+a.domain) == nil {
			t.Error("not restored")
		}
		byAdmin("Restore user", id)

		inv := c.post(base+"/invitations", url.Values{"email": {"guest@partner.example"}, "displayName": {"Gus"}})
		if inv.status != http.StatusSeeOther {
			t.Fatalf("invite: %d %.300s", inv.status, inv.body)
		}
		guest := c.get(strings.SplitN(inv.location, "?", 2)[0])
		if !strings.Contains(guest.body, `<dd id="external-state">PendingAcceptance</dd>`) {
			t.Errorf("guest page: %.800s", guest.body)
		}
		gid := strings.TrimPrefix(strings.SplitN(inv.location, "?", 2)[0], base+"/users/")
		byAdmin("Invite external user", gid)
		if r := c.post(base+"/users/"+gid+"/resend", url.Values{}); r.status != http.StatusSeeOther {
			t.Errorf("resend: %d %.300s", r.status, r.body)
		}
	})
}

// TestAdminConsoleAdmitsAsGraph: a Helpdesk Administrator's console offers
// and does what Graph admits them to (no role assignment: Privileged Role
// or Global Administrators only), and the directory then decides as it
// does for Graph.
func TestAdminConsoleAdmitsAsGraph(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	a := e.tenant("Contoso", "contoso.example")
	helper := newUser("helper", a.domain)
	helper["passwordProfile"] = map[string]any{"password": "correct horse battery helper", "forceChangePasswordNextSignIn": false}
	helperID := e.mustCall(201, "POST", "/v1.0/users", a.token, helper).body["id"].(string)
	e.mustCall(204, "POST", "/v1.0/directoryRoles/"+authz.HelpdeskAdministrator+"/members/$ref", a.token, map[string]any{"@odata.id": e.public + "/v1.0/directoryObjects/" + helperID})
	bob := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("bob", a.domain)).body["id"].(string)

	c, _ := e.consoleSignIn(t, a.id, "helper@"+a.domain, "correct horse battery helper")
	p := c.get("/admin/" + a.id + "/users/" + bob)
	if p.status != 200 || strings.Contains(p.body, `name="role"`) || !strings.Contains(p.body, "/disable") {
		t.Fatalf("a helpdesk administrator's user page: %d", p.status)
	}
	if r := c.post("/admin/"+a.id+"/users/"+bob+"/addrole", url.Values{"role": {authz.GlobalAdministrator}}); r.status != 403 {
		t.Errorf("role assignment by a helpdesk administrator: %d", r.status)
	}
	if r := c.post("/admin/"+a.id+"/users/"+helperID+"/addrole", url.Values{"role": {authz.GlobalAdministrator}}); r.status != 403 {
		t.Errorf("self-elevation: %d", r.status)
	}
	for _, o := range e.mustCall(200, "GET", "/v1.0/users/"+helperID+"/memberOf", a.token, nil).values() {
		if o["id"] == authz.GlobalAdministrator {
			t.Fatal("the helpdesk administrator became a Global Administrator")
		}
	}
	// Past admission, the directory's rules: a Helpdesk Administrator
	// resets a member's password, but neither blocks sign-in (a sensitive
	// action) nor touches a Global Administrator; each refusal is shown.
	if r := c.post("/admin/"+a.id+"/users/"+bob+"/password", url.Values{}); r.status != 200 || !strings.Contains(r.body, `id="new-password"`) {
		t.Errorf("password reset by a helpdesk administrator: %d", r.status)
	}
	if r := c.post("/admin/"+a.id+"/users/"+bob+"/disable", url.Values{}); r.status != 403 || !strings.Contains(r.body, "Insufficient privileges") {
		t.Errorf("disable by a helpdesk administrator: %d", r.status)
	}
	admin := e.userByUPN(t, a, a.created.Admin.UserPrincipalName)["id"].(string)
	if r := c.post("/admin/"+a.id+"/users/"+admin+"/password", url.Values{}); r.status != 403 {
		t.Errorf("reset a Global Administrator's password: %d", r.status)
	}
	if u := e.mustCall(200, "GET", "/v1.0/users/"+bob+"?$select=accountEnabled", a.token, nil).body; u["accountEnabled"] != true {
		t.Fatal("a refused change was made")
	}
}

// TestAdminConsoleCrossTenantAccess: an administrator adds a partner by
// domain, blocks its users inbound, and the what-if shows each layer,
// blocked by the resource tenant's inbound settings; the change is in the
// audit log as theirs.
func TestAdminConsoleCrossTenantAccess(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	a := e.tenant("Contoso", "contoso.example")
	b := e.tenant("Fabrikam", "fabrikam.example")
	bobID := e.mustCall(201, "POST", "/v1.0/users", b.token, newUser("bob", b.domain)).body["id"].(string)
	admin := e.userByUPN(t, a, a.created.Admin.UserPrincipalName)["id"].(string)
	c, _ := e.consoleSignIn(t, a.id, a.created.Admin.UserPrincipalName, a.created.Admin.Password)
	base := "/admin/" + a.id + "/crosstenant"

	page := c.get(base)
	if page.status != 200 || !strings.Contains(page.body, "Default settings") || !strings.Contains(page.body, `href="`+base+`" aria-current="page"`) {
		t.Fatalf("cross-tenant page: %d", page.status)
	}
	whatIf := func() consolePage {
		return c.post(base+"/whatif", url.Values{"home": {b.domain}, "user": {bobID}})
	}
	if r := whatIf(); r.status != 200 || !strings.Contains(r.body, "<strong>Allowed</strong>") || strings.Count(r.body, "<tr><td>") != 5 {
		t.Fatalf("what-if before: %d %s", r.status, regexp.MustCompile(`(?s)<div id="whatif-result".*?</div>`).FindString(r.body))
	}
	if r := c.post(base+"/partners", url.Values{"partner": {b.domain}, "inbound": {"blocked"}, "outbound": {"keep"}, "trust": {"inherit"}, "redeemForm": {"1"}}); r.status != http.StatusSeeOther {
		t.Fatalf("add partner: %d %s", r.status, regexp.MustCompile(`role="alert">[^<]*`).FindString(r.body))
	}
	p := e.mustCall(200, "GET", "/v1.0/policies/crossTenantAccessPolicy/partners/"+b.id, a.token, nil).body
	in, _ := p["b2bCollaborationInbound"].(map[string]any)
	users, _ := in["usersAndGroups"].(map[string]any)
	if users["accessType"] != "blocked" || p["b2bCollaborationOutbound"] != nil {
		t.Fatalf("partner as stored: %v", p)
	}
	r := whatIf()
	if !strings.Contains(r.body, "<strong>Blocked</strong>") || !strings.Contains(r.body, "<code>resourceInbound</code>") {
		t.Errorf("what-if after: %s", regexp.MustCompile(`(?s)<div id="whatif-result".*?</div>`).FindString(r.body))
	}
	// A what-if the domain refuses is shown, not run.
	if r := c.post(base+"/whatif", url.Values{"home": {b.domain}}); r.status != 400 || !strings.Contains(r.body, `role="alert"`) {
		t.Errorf("incomplete what-if: %d", r.status)
	}
	found := false
	for _, rec := range e.audits(t, a.token, "directoryAudits", "initiatedBy/user/id eq '"+admin+"'") {
		for _, tr := range rec["targetResources"].([]any) {
			if strings.Contains(tr.(map[string]any)["displayName"].(string), b.id) {
				found = true
			}
		}
	}
	if !found {
		t.Error("no audit record of the partner change by the administrator")
	}
	if r := c.post(base+"/partners/"+b.id+"/delete", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("delete partner: %d", r.status)
	}
	e.mustCall(404, "GET", "/v1.0/policies/crossTenantAccessPolicy/partners/"+b.id, a.token, nil)

	if r := c.post(base+"/partners", url.Values{"partner": {"nowhere.example"}}); r.status != 404 || !strings.Contains(r.body, "nowhere.example") {
		t.Errorf("unknown partner: %d", r.status)
	}

	// A User Administrator reads the settings but, as through Graph, may
	// not change them (Global or Security Administrators only).
	ua := newUser("ua", a.domain)
	ua["passwordProfile"] = map[string]any{"password": "correct horse battery ua", "forceChangePasswordNextSignIn": false}
	uaID := e.mustCall(201, "POST", "/v1.0/users", a.token, ua).body["id"].(string)
	e.mustCall(204, "POST", "/v1.0/directoryRoles/"+authz.UserAdministrator+"/members/$ref", a.token, map[string]any{"@odata.id": e.public + "/v1.0/directoryObjects/" + uaID})
	u, _ := e.consoleSignIn(t, a.id, "ua@"+a.domain, "correct horse battery ua")
	if r := u.get(base); r.status != 200 || strings.Contains(r.body, base+"/partners\"") {
		t.Errorf("a user administrator's page: %d", r.status)
	}
	if r := u.post(base+"/partners", url.Values{"partner": {b.id}, "inbound": {"blocked"}}); r.status != 403 {
		t.Errorf("a user administrator adds a partner: %d", r.status)
	}
	e.mustCall(404, "GET", "/v1.0/policies/crossTenantAccessPolicy/partners/"+b.id, a.token, nil)
}

// TestAdminConsoleLogs: the audit log page lists the administrator's own
// action, found with the filters; the sign-in log has their sign-in to the
// console; a Helpdesk Administrator, whom Graph does not let read logs,
// gets neither.
func TestAdminConsoleLogs(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	a := e.tenant("Contoso", "contoso.example")
	c, _ := e.consoleSignIn(t, a.id, a.created.Admin.UserPrincipalName, a.created.Admin.Password)
	base := "/admin/" + a.id
	if r := c.post(base+"/users", url.Values{"displayName": {"Logged"}, "userPrincipalName": {"logged@" + a.domain}, "password": {"correct horse battery logged"}}); r.status != http.StatusSeeOther {
		t.Fatalf("create: %d", r.status)
	}
	q := url.Values{"activity": {"Add u"}, "initiator": {"admin@"}, "category": {"UserManagement"}}
	p := c.get(base + "/audit?" + q.Encode())
	if p.status != 200 || !strings.Contains(p.body, "<td>Add user</td>") || !strings.Contains(p.body, "logged@"+a.domain) {
		t.Errorf("audit log: %d %s", p.status, regexp.MustCompile(`(?s)<tbody>.*?</tbody>`).FindString(p.body))
	}
	q.Set("activity", "Delete")
	if p := c.get(base + "/audit?" + q.Encode()); strings.Contains(p.body, "logged@"+a.domain) {
		t.Error("the filter is not applied")
	}
	if p := c.get(base + "/audit?from=yesterday"); p.status != 400 || !strings.Contains(p.body, `role="alert"`) {
		t.Errorf("a bad date: %d", p.status)
	}
	if err := e.app.FlushSignIns(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := c.get(base + "/signins?" + url.Values{"user": {"admin@"}, "error": {"0"}}.Encode())
	if s.status != 200 || !regexp.MustCompile(`<td>`+regexp.QuoteMeta(a.created.Admin.UserPrincipalName)+`</td><td>Gatehouse admin centre</td><td>[^<]*</td>\s*<td>Success</td>`).MatchString(s.body) {
		t.Errorf("sign-in log: %d %s", s.status, regexp.MustCompile(`(?s)<tbody>.*?</tbody>`).FindString(s.body))
	}
	if o := c.get(base + "/"); !strings.Contains(o.body, "<td>Gatehouse admin centre</td><td>Success</td>") {
		t.Errorf("recent sign-ins on the overview: %s", regexp.MustCompile(`(?s)<section aria-labelledby="signins">.*?</section>`).FindString(o.body))
	}

	helper := newUser("helper", a.domain)
	helper["passwordProfile"] = map[string]any{"password": "correct horse battery helper", "forceChangePasswordNextSignIn": false}
	helperID := e.mustCall(201, "POST", "/v1.0/users", a.token, helper).body["id"].(string)
	e.mustCall(204, "POST", "/v1.0/directoryRoles/"+authz.HelpdeskAdministrator+"/members/$ref", a.token, map[string]any{"@odata.id": e.public + "/v1.0/directoryObjects/" + helperID})
	h, home := e.consoleSignIn(t, a.id, "helper@"+a.domain, "correct horse battery helper")
	if strings.Contains(home.body, base+"/audit") || strings.Contains(home.body, "Recent sign-ins") {
		t.Error("the logs are offered to a helpdesk administrator")
	}
	for _, path := range []string{"/audit", "/signins"} {
		if r := h.get(base + path); r.status != 403 {
			t.Errorf("%s for a helpdesk administrator: %d", path, r.status)
		}
	}
}

// TestAdminConsoleTenantSwitcher: a member of Fabrikam who is a guest of
// Contoso is offered Contoso in the switcher once they hold a role there,
// and signs in to Contoso's console through Contoso's pages as that guest
// (home-realm discovery sends them home to Fabrikam).
func TestAdminConsoleTenantSwitcher(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	contoso, fabrikam := e.tenant("Contoso", "contoso.example"), e.tenant("Fabrikam", "fabrikam.example")
	e.homeUser(fabrikam, "ana")
	inv := e.invite(contoso, "ana@fabrikam.example", welcome)
	guest := inv["invitedUser"].(map[string]any)["id"].(string)
	b := newGuestBrowser(t, e)
	answers := func(step string, p page) map[string]string {
		switch step {
		case "invite":
			return map[string]string{}
		case "username":
			return map[string]string{"username": "ana@fabrikam.example"}
		case "password":
			return map[string]string{"password": "correct horse battery ana"}
		case "kmsi":
			return map[string]string{"stay": "no"}
		case "review", "consent":
			return map[string]string{"decision": "accept"}
		}
		return nil
	}
	if away := b.walk(b.open(inv["inviteRedeemUrl"].(string)), answers); away.String() != welcome {
		t.Fatalf("redemption ended at %s", away)
	}

	_, home := e.consoleSignIn(t, fabrikam.id, "ana@fabrikam.example", "correct horse battery ana")
	if strings.Contains(home.body, `href="/admin/`+contoso.id+`/"`) {
		t.Error("a tenant where the guest holds no role is offered")
	}
	e.mustCall(204, "POST", "/v1.0/directoryRoles/"+authz.GlobalAdministrator+"/members/$ref", contoso.token, map[string]any{"@odata.id": e.public + "/v1.0/directoryObjects/" + guest})
	// The switcher is read when the session starts: sign in again.
	c, home := e.consoleSignIn(t, fabrikam.id, "ana@fabrikam.example", "correct horse battery ana")
	if !strings.Contains(home.body, `<a href="/admin/`+contoso.id+`/">Contoso</a>`) {
		t.Fatalf("Contoso is not in the switcher: %s", regexp.MustCompile(`(?s)<details class="switcher">.*?</details>`).FindString(home.body))
	}
	consoleURL, _ := url.Parse(e.url + "/admin/")
	var fabrikamSession *http.Cookie
	for _, ck := range c.b.Client.Jar.Cookies(consoleURL) {
		if ck.Name == "gh-admin" {
			fabrikamSession = ck
		}
	}
	if fabrikamSession == nil {
		t.Fatal("no console session cookie")
	}
	_, _ = c.b.SignIn(e.url+"/admin/"+contoso.id+"/signin", map[string]string{"username": "ana@fabrikam.example", "password": "correct horse battery ana", "stay": "no"})
	// Fabrikam's session ended with the switch: a copy of its cookie opens nothing.
	replay, _ := http.NewRequest("GET", e.url+"/admin/"+fabrikam.id+"/", nil)
	replay.AddCookie(&http.Cookie{Name: fabrikamSession.Name, Value: fabrikamSession.Value})
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := noRedirects.Do(replay); err != nil || resp.StatusCode == http.StatusOK {
		t.Errorf("the session before the switch still opens the console: %v %v", resp.Status, err)
	} else {
		resp.Body.Close()
	}
	p := c.get("/admin/" + contoso.id + "/")
	if p.status != 200 || !strings.Contains(p.body, "<h1>Overview</h1>") || !strings.Contains(p.body, "<span>ana_fabrikam.example#EXT#@") {
		t.Fatalf("Contoso's console as the guest: %d %.300s", p.status, p.body)
	}
	// Fabrikam, where Ana holds no role, is not an administration to switch to.
	if strings.Contains(p.body, `href="/admin/`+fabrikam.id+`/"`) {
		t.Error("a tenant where Ana holds no role is offered")
	}
}
