package app_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
)

// filter builds a $filter query string.
func filter(expr string) string { return "?$filter=" + url.QueryEscape(expr) }

// keys lists a document's properties without its annotations, sorted.
func keys(doc map[string]any) []string {
	var out []string
	for k := range doc {
		if !strings.HasPrefix(k, "@odata.") {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// ids lists the ids of a collection response's values.
func ids(values []map[string]any) []string {
	out := make([]string, 0, len(values))
	for _, v := range values {
		out = append(out, v["id"].(string))
	}
	return out
}

// allPages follows @odata.nextLink and returns every value and the number of pages.
func (e *env) allPages(path, token string) ([]map[string]any, int) {
	e.t.Helper()
	var out []map[string]any
	pages := 0
	for path != "" && pages < 100 {
		r := e.mustCall(200, "GET", path, token, nil)
		out = append(out, r.values()...)
		pages++
		path, _ = r.body["@odata.nextLink"].(string)
	}
	return out, pages
}

// The script of issue 6 asks for a role by name and takes the first result;
// when $filter was ignored it got Global Administrator.
func TestQueryOptionsOnRolesAreHonoured(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		cases := []struct {
			path string
			want []string
		}{
			{"/v1.0/directoryRoles" + filter("displayName eq 'User Administrator'"), []string{directory.RoleUserAdministrator}},
			{"/v1.0/directoryRoles" + filter("roleTemplateId eq '"+directory.RoleGuestInviter+"'"), []string{directory.RoleGuestInviter}},
			{"/v1.0/directoryRoles" + filter("displayName eq 'No Such Role'"), []string{}},
			{"/v1.0/roleManagement/directory/roleDefinitions" + filter("displayName eq 'directory readers'"), []string{directory.RoleDirectoryReaders}},
			{"/v1.0/roleManagement/directory/roleDefinitions" + filter("id in ('"+directory.RoleGlobalAdministrator+"', '"+strings.ToUpper(directory.RoleApplicationAdministrator)+"')"),
				[]string{directory.RoleGlobalAdministrator, directory.RoleApplicationAdministrator}},
			{"/v1.0/roleManagement/directory/roleDefinitions" + filter("templateId eq "+directory.RoleSecurityAdministrator), []string{directory.RoleSecurityAdministrator}},
			{"/v1.0/roleManagement/directory/roleDefinitions" + filter("isBuiltIn eq false"), []string{}},
		}
		for _, c := range cases {
			got := ids(e.mustCall(200, "GET", c.path, a.token, nil).values())
			slices.Sort(got)
			slices.Sort(c.want)
			if !slices.Equal(got, c.want) {
				t.Errorf("%s: got %v, want %v", c.path, got, c.want)
			}
		}
		all := e.mustCall(200, "GET", "/v1.0/roleManagement/directory/roleDefinitions"+filter("isBuiltIn eq true"), a.token, nil).values()
		if len(all) != len(directory.RoleDefinitions) {
			t.Errorf("isBuiltIn eq true: %d definitions, want %d", len(all), len(directory.RoleDefinitions))
		}

		// $select trims every resource served whole, and the context says so.
		selects := []struct{ path, context string }{
			{"/v1.0/directoryRoles?$select=displayName,roleTemplateId", "#directoryRoles(displayName,roleTemplateId)"},
			{"/v1.0/roleManagement/directory/roleDefinitions?$select=displayName,isBuiltIn", "#roleManagement/directory/roleDefinitions(displayName,isBuiltIn)"},
			{"/v1.0/domains?$select=isDefault", "#domains(isDefault)"},
			{"/v1.0/organization?$select=displayName", "#organization(displayName)"},
		}
		for _, s := range selects {
			r := e.mustCall(200, "GET", s.path, a.token, nil)
			if !strings.HasSuffix(r.body["@odata.context"].(string), s.context) {
				t.Errorf("%s: context %v", s.path, r.body["@odata.context"])
			}
			sel, _ := url.ParseQuery(strings.SplitN(s.path, "?", 2)[1])
			want := []string{"id"}
			for _, p := range strings.Split(sel.Get("$select"), ",") {
				want = append(want, strings.ToLower(p[:1])+p[1:])
			}
			slices.Sort(want)
			values := r.values()
			if len(values) == 0 {
				t.Fatalf("%s: no values", s.path)
			}
			for _, v := range values {
				if got := keys(v); !slices.Equal(got, want) {
					t.Errorf("%s: properties %v, want %v", s.path, got, want)
				}
			}
		}
		one := e.mustCall(200, "GET", "/v1.0/directoryRoles/"+directory.RoleGuestInviter+"?$select=displayName", a.token, nil).body
		if got := keys(one); !slices.Equal(got, []string{"displayName", "id"}) || one["displayName"] != "Guest Inviter" {
			t.Errorf("one role with $select: %v", one)
		}
		dom := e.mustCall(200, "GET", "/v1.0/domains/"+a.domain+"?$select=isVerified", a.token, nil).body
		if got := keys(dom); !slices.Equal(got, []string{"id", "isVerified"}) {
			t.Errorf("one domain with $select: %v", dom)
		}
	})
}

func TestQueryOptionsOnAppRoleAssignmentsAreHonoured(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		graph := e.mustCall(200, "GET", "/v1.0/servicePrincipals"+filter("appId eq '"+directory.GraphAppID+"'"), a.token, nil).values()[0]["id"].(string)
		auto := e.mustCall(200, "GET", "/v1.0/servicePrincipals"+filter("appId eq '"+a.created.Auto.ClientID+"'"), a.token, nil).values()[0]["id"].(string)
		assignedTo := "/v1.0/servicePrincipals/" + graph + "/appRoleAssignedTo"
		role := e.mustCall(200, "GET", assignedTo, a.token, nil).values()[0]["appRoleId"].(string)
		// Another client holding one of the automation app's permissions, so filters have something to tell apart.
		app := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "reader"}).body
		reader := e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": app["appId"]}).body["id"].(string)
		e.mustCall(201, "POST", assignedTo, a.token, map[string]any{"principalId": reader, "resourceId": graph, "appRoleId": role})

		everything := e.mustCall(200, "GET", assignedTo, a.token, nil).values()
		if len(everything) < 3 {
			t.Fatalf("%d assignments on Graph, want the automation app's and the reader's", len(everything))
		}
		// $top pages: every assignment once, one per page.
		paged, pages := e.allPages(assignedTo+"?$top=1", a.token)
		if got, want := ids(paged), ids(everything); pages != len(everything) || !sameSet(got, want) {
			t.Errorf("$top=1: %d pages of %v, want %d pages of %v", pages, got, len(everything), want)
		}
		byReader := e.mustCall(200, "GET", assignedTo+filter("principalId eq "+strings.ToUpper(reader)), a.token, nil).values()
		if len(byReader) != 1 || byReader[0]["principalId"] != reader {
			t.Errorf("principalId filter: %v", byReader)
		}
		byApp := e.mustCall(200, "GET", assignedTo+filter("principalId eq '"+auto+"'"), a.token, nil).values()
		if len(byApp) != len(everything)-1 {
			t.Errorf("principalId filter: %d of %d", len(byApp), len(everything))
		}
		byRole := e.mustCall(200, "GET", assignedTo+filter("appRoleId eq '"+role+"' and principalId eq '"+reader+"'")+"&$select=appRoleId", a.token, nil).values()
		if len(byRole) != 1 || !slices.Equal(keys(byRole[0]), []string{"appRoleId", "id"}) {
			t.Errorf("appRoleId filter with $select: %v", byRole)
		}
		if got := e.mustCall(200, "GET", assignedTo+filter("appRoleId eq '"+role+"'"), a.token, nil).values(); len(got) != 2 {
			t.Errorf("appRoleId filter: %d assignments, want the automation app's and the reader's", len(got))
		}
		// From the other side, and narrowed further than the route.
		granted := "/v1.0/servicePrincipals/" + auto + "/appRoleAssignments"
		if got := e.mustCall(200, "GET", granted+filter("resourceId eq '"+graph+"'"), a.token, nil).values(); len(got) != len(byApp) {
			t.Errorf("appRoleAssignments filtered by resource: %d, want %d", len(got), len(byApp))
		}
		if got := e.mustCall(200, "GET", granted+filter("principalId eq '"+reader+"'"), a.token, nil).values(); len(got) != 0 {
			t.Errorf("appRoleAssignments of another principal leaked through the filter: %v", got)
		}
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestQueryOptionsNotHonouredAreRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		graph := e.mustCall(200, "GET", "/v1.0/servicePrincipals"+filter("appId eq '"+directory.GraphAppID+"'"), a.token, nil).values()[0]["id"].(string)
		const (
			unsupported = "Request_UnsupportedQuery"
			bad         = "Request_BadRequest"
		)
		roles, defs := "/v1.0/directoryRoles", "/v1.0/roleManagement/directory/roleDefinitions"
		assignedTo := "/v1.0/servicePrincipals/" + graph + "/appRoleAssignedTo"
		cases := []struct{ path, code string }{
			{roles + "?$top=1", unsupported},
			{roles + "?$orderby=displayName", unsupported},
			{roles + "?$skiptoken=abc", unsupported},
			{roles + "?$count=true", unsupported},
			{roles + filter("description eq 'x'"), unsupported},
			{roles + filter("startsWith(displayName, 'User')"), unsupported},
			{roles + filter("displayName eq"), bad},
			{roles + "?$select=nope", bad},
			{roles + "/" + directory.RoleGuestInviter + "?$filter=" + url.QueryEscape("displayName eq 'x'"), unsupported},
			{defs + "?$top=2", unsupported},
			{defs + filter("version eq '1'"), unsupported},
			{defs + filter("isBuiltIn eq 'yes'"), bad},
			{defs + "?$select=roleTemplateId", bad},
			{defs + "/" + directory.RoleGuestInviter + "?$top=1", unsupported},
			{"/v1.0/domains?$top=1", unsupported},
			{"/v1.0/domains" + filter("isDefault eq true"), unsupported},
			{"/v1.0/domains/" + a.domain + "?$select=nope", bad},
			{"/v1.0/organization?$top=1", unsupported},
			{"/v1.0/organization" + filter("displayName eq 'Contoso'"), unsupported},
			{"/v1.0/organization/" + a.id + "?$orderby=displayName", unsupported},
			{assignedTo + filter("principalDisplayName eq 'x'"), unsupported},
			{assignedTo + "?$orderby=createdDateTime", unsupported},
			{assignedTo + "?$top=0", bad},
			{assignedTo + "?$select=nope", bad},
			{"/v1.0/servicePrincipals/" + graph + "/appRoleAssignments" + filter("resourceDisplayName eq 'x'"), unsupported},
		}
		for _, c := range cases {
			if r := e.call("GET", c.path, a.token, nil); r.status != 400 || r.errorCode() != c.code {
				t.Errorf("%s: %d %q, want 400 %q: %s", c.path, r.status, r.errorCode(), c.code, r.raw)
			}
		}
	})
}
