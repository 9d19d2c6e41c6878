package app_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

const (
	userReadScope   = "e1fe6dd8-ba31-4d61-89e7-88639da4683d" // Microsoft Graph's User.Read
	userReadAllRole = "df021288-bdef-4463-88db-98f22de89214" // Microsoft Graph's User.Read.All for applications
)

var newSecret = regexp.MustCompile(`<code id="new-secret">([^<]+)</code>`)

// registerInConsole registers an application on the console's page and
// returns its object id.
func (c *console) registerApp(name, platform, uri string) string {
	c.t.Helper()
	r := c.post("/admin/"+c.tenant+"/apps", url.Values{"displayName": {name}, "signInAudience": {"AzureADMyOrg"}, "platform": {platform}, "redirectUri": {uri}})
	prefix := "/admin/" + c.tenant + "/apps/"
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, prefix) {
		c.t.Fatalf("register: %d %q %s", r.status, r.location, regexp.MustCompile(`role="alert">[^<]*`).FindString(r.body))
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(r.location, prefix), "?")
	return id
}

// principalOf reads the tenant's service principal of an application.
func (e *env) principalOf(t *testing.T, token, appID string) map[string]any {
	t.Helper()
	v := e.mustCall(200, "GET", "/v1.0/servicePrincipals?$filter="+url.QueryEscape("appId eq '"+appID+"'"), token, nil).values()
	if len(v) != 1 {
		t.Fatalf("service principals of %s: %v", appID, v)
	}
	return v[0]
}

// TestAdminConsoleApps: an administrator registers an application, adds
// a redirect URI (an invalid one refused as Graph's PATCH refuses it), a
// client secret shown once and usable at the token endpoint, asks for a
// delegated and an application permission of Microsoft Graph and grants
// admin consent, which Graph then shows and the app's next token carries;
// on the enterprise application they require assignment, assign a user,
// revoke the grant; owners and the deletion; every change in the audit
// log as the administrator's.
func TestAdminConsoleApps(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		admin := e.userByUPN(t, a, a.created.Admin.UserPrincipalName)["id"].(string)
		bob := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("bob", a.domain)).body["id"].(string)
		c, home := e.consoleSignIn(t, a.id, a.created.Admin.UserPrincipalName, a.created.Admin.Password)
		base := "/admin/" + a.id
		for _, href := range []string{base + "/apps", base + "/enterpriseapps"} {
			if !strings.Contains(home.body, `href="`+href+`"`) {
				t.Errorf("no %s in the navigation", href)
			}
		}

		id := c.registerApp("Payroll", "web", "https://payroll.contoso.example/signin")
		self := "/v1.0/applications/" + id
		app := e.mustCall(200, "GET", self, a.token, nil).body
		appID := app["appId"].(string)
		if web := app["web"].(map[string]any); len(web["redirectUris"].([]any)) != 1 || app["signInAudience"] != "AzureADMyOrg" {
			t.Fatalf("registered: %v", app)
		}
		page := c.get(base + "/apps/" + id)
		if page.status != 200 || !strings.Contains(page.body, appID) || !strings.Contains(page.body, "https://payroll.contoso.example/signin") {
			t.Fatalf("app page: %d", page.status)
		}
		if list := c.get(base + "/apps?q=Pay"); !strings.Contains(list.body, `href="`+base+`/apps/`+id+`"`) {
			t.Error("the search does not find the app")
		}
		if list := c.get(base + "/apps?q=Zzz"); strings.Contains(list.body, `href="`+base+`/apps/`+id+`"`) {
			t.Error("the search finds the app by another name")
		}

		if r := c.post(base+"/apps/"+id+"/addredirect", url.Values{"platform": {"spa"}, "uri": {"https://payroll.contoso.example/spa"}}); r.status != http.StatusSeeOther {
			t.Fatalf("add redirect URI: %d %s", r.status, regexp.MustCompile(`role="alert">[^<]*`).FindString(r.body))
		}
		if r := c.post(base+"/apps/"+id+"/addredirect", url.Values{"platform": {"web"}, "uri": {"http://payroll.contoso.example/plain"}}); r.status != 400 || !strings.Contains(r.body, "only for localhost") {
			t.Errorf("an http redirect URI: %d", r.status)
		}
		app = e.mustCall(200, "GET", self, a.token, nil).body
		if spa := app["spa"].(map[string]any)["redirectUris"].([]any); len(spa) != 1 || spa[0] != "https://payroll.contoso.example/spa" || len(app["web"].(map[string]any)["redirectUris"].([]any)) != 1 {
			t.Errorf("redirect URIs: %v %v", app["web"], app["spa"])
		}

		r := c.post(base+"/apps/"+id+"/addsecret", url.Values{"description": {"CI"}, "months": {"6"}})
		m := newSecret.FindStringSubmatch(r.body)
		if r.status != 200 || m == nil || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("add secret: %d %q", r.status, r.header.Get("Cache-Control"))
		}
		secret := html.UnescapeString(m[1])
		token := e.token(a.id, appID, secret) // the token endpoint takes it
		if again := c.get(base + "/apps/" + id); strings.Contains(again.body, secret) || newSecret.MatchString(again.body) || !strings.Contains(again.body, "CI") {
			t.Error("the app page shows the secret again, or not its description")
		}
		creds := e.mustCall(200, "GET", self, a.token, nil).body["passwordCredentials"].([]any)
		if len(creds) != 1 || creds[0].(map[string]any)["displayName"] != "CI" {
			t.Fatalf("secrets: %v", creds)
		}
		keyID := creds[0].(map[string]any)["keyId"].(string)
		e.mustCall(403, "GET", "/v1.0/users", token, nil) // nothing granted yet

		for _, perm := range []string{directory.GraphAppID + " Scope " + userReadScope, directory.GraphAppID + " Role " + userReadAllRole} {
			if r := c.post(base+"/apps/"+id+"/addpermission", url.Values{"permission": {perm}}); r.status != http.StatusSeeOther {
				t.Fatalf("add permission %s: %d", perm, r.status)
			}
		}
		rra := e.mustCall(200, "GET", self, a.token, nil).body["requiredResourceAccess"].([]any)
		if len(rra) != 1 || len(rra[0].(map[string]any)["resourceAccess"].([]any)) != 2 {
			t.Fatalf("requiredResourceAccess: %v", rra)
		}
		if page := c.get(base + "/apps/" + id); !strings.Contains(page.body, "User.Read.All") || !strings.Contains(page.body, "Microsoft Graph") {
			t.Error("the app page does not name its permissions")
		}

		if r := c.post(base+"/apps/"+id+"/consent", url.Values{}); r.status != http.StatusSeeOther || !strings.HasSuffix(r.location, "done=consented") {
			t.Fatalf("consent: %d %s", r.status, regexp.MustCompile(`role="alert">[^<]*`).FindString(r.body))
		}
		sp := e.principalOf(t, a.token, appID)["id"].(string)
		grants := e.mustCall(200, "GET", "/v1.0/oauth2PermissionGrants?$filter="+url.QueryEscape("clientId eq '"+sp+"'"), a.token, nil).values()
		if len(grants) != 1 || grants[0]["consentType"] != "AllPrincipals" || !strings.Contains(grants[0]["scope"].(string), "User.Read") {
			t.Fatalf("grants after consent: %v", grants)
		}
		held := e.mustCall(200, "GET", "/v1.0/servicePrincipals/"+sp+"/appRoleAssignments", a.token, nil).values()
		if len(held) != 1 || held[0]["appRoleId"] != userReadAllRole {
			t.Fatalf("app roles after consent: %v", held)
		}
		e.mustCall(200, "GET", "/v1.0/users", e.token(a.id, appID, secret), nil)
		if r := c.post(base+"/apps/"+id+"/consent", url.Values{}); r.status != http.StatusSeeOther {
			t.Errorf("consent again: %d", r.status)
		}
		if held := e.mustCall(200, "GET", "/v1.0/servicePrincipals/"+sp+"/appRoleAssignments", a.token, nil).values(); len(held) != 1 {
			t.Errorf("consenting again doubled the assignments: %v", held)
		}

		// The enterprise application: assignment required, a user assigned.
		e.mustCall(204, "PATCH", self, a.token, map[string]any{"appRoles": []any{map[string]any{
			"id": "7d3f4b1e-0c2a-4a7e-9f5b-2e8c1d6a9b04", "value": "Payroll.Clerk", "displayName": "Clerk", "description": "Clerks",
			"allowedMemberTypes": []any{"User"}, "isEnabled": true}}})
		ent := base + "/enterpriseapps/" + sp
		if page := c.get(ent); page.status != 200 || !strings.Contains(page.body, "Clerk") || !strings.Contains(page.body, "User.Read.All") || !strings.Contains(page.body, "<td>Microsoft Graph</td>") {
			t.Fatalf("enterprise app page: %d", page.status)
		}
		if r := c.post(ent+"/required", url.Values{"required": {"true"}}); r.status != http.StatusSeeOther {
			t.Fatalf("require assignment: %d", r.status)
		}
		if got := e.mustCall(200, "GET", "/v1.0/servicePrincipals/"+sp, a.token, nil).body["appRoleAssignmentRequired"]; got != true {
			t.Errorf("appRoleAssignmentRequired: %v", got)
		}
		if r := c.post(ent+"/assign", url.Values{"principal": {bob}, "role": {"7d3f4b1e-0c2a-4a7e-9f5b-2e8c1d6a9b04"}}); r.status != http.StatusSeeOther {
			t.Fatalf("assign: %d %s", r.status, regexp.MustCompile(`role="alert">[^<]*`).FindString(r.body))
		}
		assigned := e.mustCall(200, "GET", "/v1.0/servicePrincipals/"+sp+"/appRoleAssignedTo", a.token, nil).values()
		if len(assigned) != 1 || assigned[0]["principalId"] != bob {
			t.Fatalf("assigned: %v", assigned)
		}
		if r := c.post(ent+"/unassign", url.Values{"assignment": {assigned[0]["id"].(string)}}); r.status != http.StatusSeeOther {
			t.Errorf("unassign: %d", r.status)
		}
		if r := c.post(ent+"/revokegrant", url.Values{"grant": {grants[0]["id"].(string)}}); r.status != http.StatusSeeOther {
			t.Errorf("revoke grant: %d", r.status)
		}
		if r := c.post(ent+"/revokerole", url.Values{"assignment": {held[0]["id"].(string)}}); r.status != http.StatusSeeOther {
			t.Errorf("revoke app role: %d", r.status)
		}
		if n := len(e.mustCall(200, "GET", "/v1.0/oauth2PermissionGrants?$filter="+url.QueryEscape("clientId eq '"+sp+"'"), a.token, nil).values()) +
			len(e.mustCall(200, "GET", "/v1.0/servicePrincipals/"+sp+"/appRoleAssignedTo", a.token, nil).values()) +
			len(e.mustCall(200, "GET", "/v1.0/servicePrincipals/"+sp+"/appRoleAssignments", a.token, nil).values()); n != 0 {
			t.Errorf("%d grants and assignments left", n)
		}

		// Owners, the secret removed, the app deleted.
		// New owners are found by the users' search, not picked from a list.
		if page := c.get(base + "/apps/" + id + "?find=bob"); !strings.Contains(page.body, `action="`+base+`/apps/`+id+`/addowner"`) ||
			!strings.Contains(page.body, `name="user" value="`+bob+`"`) {
			t.Error("the app page's user search does not offer bob as an owner")
		}
		if r := c.post(base+"/apps/"+id+"/addowner", url.Values{"user": {bob}}); r.status != http.StatusSeeOther {
			t.Fatalf("add owner: %d", r.status)
		}
		// The administrator who registered it is an owner, as in Graph.
		ownerUPNs := func(path string) []string {
			var upns []string
			for _, o := range e.mustCall(200, "GET", path, a.token, nil).values() {
				upns = append(upns, o["userPrincipalName"].(string))
			}
			slices.Sort(upns)
			return upns
		}
		if got := ownerUPNs(self + "/owners"); !slices.Equal(got, []string{"admin@contoso.example", "bob@contoso.example"}) {
			t.Errorf("owners: %v", got)
		}
		if r := c.post(base+"/apps/"+id+"/removeowner", url.Values{"user": {bob}}); r.status != http.StatusSeeOther {
			t.Errorf("remove owner: %d", r.status)
		}
		if r := c.post(ent+"/addowner", url.Values{"user": {bob}}); r.status != http.StatusSeeOther {
			t.Fatalf("add the enterprise application's owner: %d", r.status)
		}
		if got := ownerUPNs("/v1.0/servicePrincipals/" + sp + "/owners"); !slices.Equal(got, []string{"admin@contoso.example", "bob@contoso.example"}) {
			t.Errorf("the enterprise application's owners: %v", got)
		}
		if page := c.get(ent); !strings.Contains(page.body, "User bob") || !strings.Contains(page.body, `action="`+ent+`/removeowner"`) {
			t.Error("the enterprise application's page does not list its owner")
		}
		if r := c.post(base+"/apps/"+id+"/removesecret", url.Values{"keyId": {keyID}}); r.status != http.StatusSeeOther {
			t.Fatalf("remove secret: %d", r.status)
		}
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {secret}, "scope": {e.public + "/.default"}}
		if resp, err := http.PostForm(e.url+"/"+a.id+"/oauth2/v2.0/token", form); err != nil || resp.StatusCode != 401 {
			t.Errorf("the removed secret at the token endpoint: %v %v", resp.StatusCode, err)
		} else {
			resp.Body.Close()
		}
		if r := c.post(base+"/apps/"+id+"/delete", url.Values{}); r.status != http.StatusSeeOther || r.location != base+"/apps" {
			t.Fatalf("delete: %d %q", r.status, r.location)
		}
		e.mustCall(404, "GET", self, a.token, nil)

		for _, target := range []string{id, sp} {
			recs := e.audits(t, a.token, "directoryAudits", "initiatedBy/user/id eq '"+admin+"' and targetResources/any(t: t/id eq '"+target+"')")
			if len(recs) == 0 {
				t.Errorf("no audit record of the administrator's changes to %s", target)
			}
		}
	})
}

// TestAdminConsoleAppsRefused: another tenant's application and service
// principal are not found; a Helpdesk Administrator, whom Graph does not
// admit to write applications, reads but changes nothing; posts without
// the session's CSRF token are refused; an owner without a role finds
// their app in "My groups and apps" and may open it, and no more.
func TestAdminConsoleAppsRefused(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	a := e.tenant("Contoso", "contoso.example")
	b := e.tenant("Fabrikam", "fabrikam.example")
	c, _ := e.consoleSignIn(t, a.id, a.created.Admin.UserPrincipalName, a.created.Admin.Password)
	base := "/admin/" + a.id

	theirs := e.mustCall(201, "POST", "/v1.0/applications", b.token, map[string]any{"displayName": "Fabrikam app"}).body
	theirID := theirs["id"].(string)
	theirSP := e.mustCall(201, "POST", "/v1.0/servicePrincipals", b.token, map[string]any{"appId": theirs["appId"]}).body["id"].(string)
	if r := c.get(base + "/apps/" + theirID); r.status != 404 {
		t.Errorf("B's app through A: %d", r.status)
	}
	if r := c.get(base + "/enterpriseapps/" + theirSP); r.status != 404 {
		t.Errorf("B's service principal through A: %d", r.status)
	}
	for action, form := range map[string]url.Values{
		"addsecret": {"description": {"stolen"}}, "addredirect": {"platform": {"web"}, "uri": {"https://evil.example/cb"}},
		"delete": {}, "consent": {},
	} {
		if r := c.post(base+"/apps/"+theirID+"/"+action, form); r.status != 404 {
			t.Errorf("%s B's app through A: %d", action, r.status)
		}
	}
	if r := c.post(base+"/enterpriseapps/"+theirSP+"/required", url.Values{"required": {"true"}}); r.status != 404 {
		t.Errorf("change B's service principal through A: %d", r.status)
	}
	got := e.mustCall(200, "GET", "/v1.0/applications/"+theirID, b.token, nil).body
	if len(got["passwordCredentials"].([]any)) != 0 || len(got["web"].(map[string]any)["redirectUris"].([]any)) != 0 {
		t.Fatalf("B's app changed: %v", got)
	}

	// Paging: the sealed cursor of one list and search serves no other.
	for i := 0; i < 21; i++ {
		e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Batch app"})
	}
	first := c.get(base + "/apps?q=Batch")
	next := regexp.MustCompile(`href="(/admin/[^"]+/apps\?q=Batch&amp;after=[^"]+)"`).FindStringSubmatch(first.body)
	if first.status != 200 || next == nil || strings.Count(first.body, ">Batch app</a>") != 20 {
		t.Fatalf("first page: %d, %d apps", first.status, strings.Count(first.body, ">Batch app</a>"))
	}
	if r := c.get(html.UnescapeString(next[1])); r.status != 200 || strings.Count(r.body, ">Batch app</a>") != 1 {
		t.Errorf("second page: %d, %d apps", r.status, strings.Count(r.body, ">Batch app</a>"))
	}
	after := strings.SplitN(html.UnescapeString(next[1]), "after=", 2)[1]
	for _, path := range []string{"/apps?q=Other&after=", "/enterpriseapps?q=Batch&after=", "/apps?q=Batch&after=x"} {
		if r := c.get(base + path + after); r.status != 400 {
			t.Errorf("GET %s…: %d", path, r.status)
		}
	}

	id := c.registerApp("Payroll", "web", "https://payroll.contoso.example/signin")
	sp := e.principalOf(t, a.token, e.mustCall(200, "GET", "/v1.0/applications/"+id, a.token, nil).body["appId"].(string))["id"].(string)
	if r := c.get(base + "/enterpriseapps?q=Pay"); !strings.Contains(r.body, ">Payroll</a>") || strings.Contains(r.body, ">Batch app</a>") {
		t.Error("the enterprise applications' search does not find the registered app's principal alone")
	}
	for _, tok := range []string{"", c.csrf + "x"} {
		if r := c.post(base+"/apps/"+id+"/addsecret", url.Values{"csrf": {tok}}); r.status != 403 || newSecret.MatchString(r.body) {
			t.Errorf("add secret with token %q: %d", tok, r.status)
		}
		if r := c.post(base+"/apps", url.Values{"csrf": {tok}, "displayName": {"Forged"}}); r.status != 403 {
			t.Errorf("register with token %q: %d", tok, r.status)
		}
	}
	if creds := e.mustCall(200, "GET", "/v1.0/applications/"+id, a.token, nil).body["passwordCredentials"].([]any); len(creds) != 0 {
		t.Fatalf("a forged post added a secret: %v", creds)
	}

	signIn := func(name, role string) *console {
		u := newUser(name, a.domain)
		u["passwordProfile"] = map[string]any{"password": "correct horse battery " + name, "forceChangePasswordNextSignIn": false}
		uid := e.mustCall(201, "POST", "/v1.0/users", a.token, u).body["id"].(string)
		if role != "" {
			e.mustCall(204, "POST", "/v1.0/directoryRoles/"+role+"/members/$ref", a.token, map[string]any{"@odata.id": e.public + "/v1.0/directoryObjects/" + uid})
		} else {
			e.mustCall(204, "POST", "/v1.0/applications/"+id+"/owners/$ref", a.token, map[string]any{"@odata.id": e.public + "/v1.0/directoryObjects/" + uid})
		}
		uc, home := e.consoleSignIn(t, a.id, name+"@"+a.domain, "correct horse battery "+name)
		if role == "" && !strings.Contains(home.body, `<a href="`+base+`/apps/`+id+`">Payroll</a>`) {
			t.Errorf("the owner's own app is not linked from their page: %.800s", home.body)
		}
		return uc
	}
	register := url.Values{"displayName": {"Mine"}, "signInAudience": {"AzureADMyOrg"}}

	// A Helpdesk Administrator reads the application and changes nothing.
	hd := signIn("helpdesk", authz.HelpdeskAdministrator)
	if page := hd.get(base + "/apps/" + id); page.status != 200 || strings.Contains(page.body, `action="`+base+`/apps/`+id+`/addsecret"`) {
		t.Errorf("helpdesk's app page: %d", page.status)
	}
	if r := hd.post(base+"/apps", register); r.status != 403 {
		t.Errorf("helpdesk registers: %d", r.status)
	}
	for _, action := range []string{"addsecret", "delete", "consent"} {
		if r := hd.post(base+"/apps/"+id+"/"+action, url.Values{}); r.status != 403 {
			t.Errorf("helpdesk %s: %d", action, r.status)
		}
	}
	if r := hd.post(base+"/enterpriseapps/"+sp+"/required", url.Values{"required": {"true"}}); r.status != 403 {
		t.Errorf("helpdesk requires assignment: %d", r.status)
	}
	if got := e.mustCall(200, "GET", "/v1.0/servicePrincipals/"+sp, a.token, nil).body["appRoleAssignmentRequired"]; got != false {
		t.Errorf("a refused caller required assignment: %v", got)
	}
	if got = e.mustCall(200, "GET", "/v1.0/applications/"+id, a.token, nil).body; len(got["passwordCredentials"].([]any)) != 0 {
		t.Fatalf("a refused caller added a secret: %v", got)
	}

	// Its owner, without a role, manages it as in Entra (registering
	// another and consenting for the organization stay administrators').
	owner := signIn("owner", "")
	if page := owner.get(base + "/apps/" + id); page.status != 200 || !strings.Contains(page.body, `action="`+base+`/apps/`+id+`/addsecret"`) {
		t.Errorf("the owner's app page offers no secret: %d", page.status)
	}
	if r := owner.post(base+"/apps", register); r.status != 403 {
		t.Errorf("the owner registers: %d", r.status)
	}
	if r := owner.post(base+"/apps/"+id+"/consent", url.Values{}); r.status != 403 {
		t.Errorf("the owner consents for the organization: %d", r.status)
	}
	if r := owner.post(base+"/apps/"+id+"/addsecret", url.Values{"description": {"owner's"}, "months": {"6"}}); r.status != 200 || !newSecret.MatchString(r.body) {
		t.Errorf("the owner adds a secret: %d", r.status)
	}
	if r := owner.post(base+"/enterpriseapps/"+sp+"/required", url.Values{"required": {"true"}}); r.status != http.StatusSeeOther {
		t.Errorf("the owner requires assignment: %d", r.status)
	}
	if got := e.mustCall(200, "GET", "/v1.0/servicePrincipals/"+sp, a.token, nil).body["appRoleAssignmentRequired"]; got != true {
		t.Errorf("the owner's assignment requirement: %v", got)
	}
	if r := owner.post(base+"/apps/"+id+"/delete", url.Values{}); r.status != http.StatusSeeOther {
		t.Errorf("the owner deletes the app: %d", r.status)
	}
	e.mustCall(404, "GET", "/v1.0/applications/"+id, a.token, nil)
}
