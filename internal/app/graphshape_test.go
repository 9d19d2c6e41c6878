package app_test

import (
	"encoding/base64"
	"encoding/xml"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// TestMetadataIsServed: /v1.0/$metadata is a CSDL document, public as
// Graph's, declaring the entity sets Gatehouse serves.
func TestMetadataIsServed(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	r := e.mustCall(200, "GET", "/v1.0/$metadata", "", nil)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") {
		t.Errorf("Content-Type %q", ct)
	}
	var doc struct {
		Schemas []struct {
			Namespace   string `xml:"Namespace,attr"`
			EntityTypes []struct {
				Name       string `xml:"Name,attr"`
				Properties []struct {
					Name string `xml:"Name,attr"`
				} `xml:"Property"`
			} `xml:"EntityType"`
			Sets []struct {
				Name string `xml:"Name,attr"`
			} `xml:"EntityContainer>EntitySet"`
		} `xml:"DataServices>Schema"`
	}
	if err := xml.Unmarshal([]byte(r.raw), &doc); err != nil || len(doc.Schemas) != 1 || doc.Schemas[0].Namespace != "microsoft.graph" {
		t.Fatalf("not a CSDL document (%v): %.200s", err, r.raw)
	}
	var sets, userProps []string
	for _, s := range doc.Schemas[0].Sets {
		sets = append(sets, s.Name)
	}
	for _, et := range doc.Schemas[0].EntityTypes {
		if et.Name == "user" {
			for _, p := range et.Properties {
				userProps = append(userProps, p.Name)
			}
		}
	}
	for _, want := range []string{"users", "groups", "applications", "servicePrincipals", "oauth2PermissionGrants"} {
		if !strings.Contains(","+strings.Join(sets, ",")+",", ","+want+",") {
			t.Errorf("entity set %s missing from %v", want, sets)
		}
	}
	if !strings.Contains(strings.Join(userProps, ","), "userPrincipalName") {
		t.Errorf("user's properties: %v", userProps)
	}
}

// TestBetaAnswersInGraphsErrorShape: Gatehouse serves v1.0 only, and says
// so in Graph's JSON error, not with a bare 404 page.
func TestBetaAnswersInGraphsErrorShape(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	a := e.tenant("Contoso", "contoso.example")
	for _, path := range []string{"/beta/users", "/beta", "/beta/$metadata"} {
		r := e.call("GET", path, a.token, nil, "client-request-id", "c1")
		if r.status != 400 || r.errorCode() != "BadRequest" || r.header.Get("request-id") == "" || r.header.Get("client-request-id") != "c1" ||
			!strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Errorf("GET %s: %d %v %s", path, r.status, r.header, r.raw)
		}
	}
}

// TestSkipTokensAreOpaqueAndBoundToTheirQuery: a $skiptoken reveals neither
// the store's sort expressions nor its values, and continues only the query
// (tenant, path and options but $top) it was issued for.
func TestSkipTokensAreOpaqueAndBoundToTheirQuery(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		b := e.tenant("Fabrikam", "fabrikam.example")
		for _, alias := range []string{"ana", "bo", "cy"} {
			e.addUser(a, alias)
		}
		filter := url.QueryEscape("startsWith(displayName,'User ')")
		ev := []string{"ConsistencyLevel", "eventual"}
		first := e.mustCall(200, "GET", "/v1.0/users?$filter="+filter+"&$orderby=displayName&$count=true&$top=1", a.token, nil, ev...)
		next, _ := first.body["@odata.nextLink"].(string)
		u, err := url.Parse(next)
		if err != nil || u.Query().Get("$skiptoken") == "" {
			t.Fatalf("nextLink %q", next)
		}
		token := u.Query().Get("$skiptoken")
		raw, _ := base64.RawURLEncoding.DecodeString(token)
		for _, leak := range []string{"display_name", "o.id", "lower(", "User ana", "user ana"} {
			if strings.Contains(token, leak) || strings.Contains(string(raw), leak) {
				t.Errorf("skiptoken reveals %q", leak)
			}
		}
		if got := e.mustCall(200, "GET", next, a.token, nil, ev...).values(); len(got) != 1 || got[0]["displayName"] != "User bo" {
			t.Errorf("second page: %v", got)
		}
		// A larger page of the same query goes on from the same place.
		if got := e.mustCall(200, "GET", strings.Replace(next, "$top=1", "$top=5", 1), a.token, nil, ev...).values(); len(got) != 2 {
			t.Errorf("second page with $top=5: %v", got)
		}
		tampered := []byte(token)
		tampered[len(tampered)/2] ^= 1
		for name, req := range map[string]struct{ path, token string }{
			"another filter": {"/v1.0/users?$filter=" + url.QueryEscape("startsWith(displayName,'User b')") + "&$orderby=displayName&$count=true&$top=1&$skiptoken=" + token, a.token},
			"another order":  {"/v1.0/users?$filter=" + filter + "&$count=true&$top=1&$skiptoken=" + token, a.token},
			"another path":   {"/v1.0/groups?$filter=" + filter + "&$orderby=displayName&$count=true&$top=1&$skiptoken=" + token, a.token},
			"another tenant": {strings.TrimPrefix(next, e.public), b.token},
			"altered token":  {"/v1.0/users?$filter=" + filter + "&$orderby=displayName&$count=true&$top=1&$skiptoken=" + string(tampered), a.token},
			"made-up cursor": {"/v1.0/users?$top=1&$skiptoken=" + base64.RawURLEncoding.EncodeToString([]byte(`{"o":"o.id ASC","i":"x"}`)), a.token},
		} {
			r := e.call("GET", req.path, req.token, nil, ev...)
			if r.status != 400 || r.errorCode() != "Request_BadRequest" || !strings.Contains(r.raw, "$skiptoken") {
				t.Errorf("%s: %d %s", name, r.status, r.raw)
			}
		}
	})
}

// TestSecretsLastTwoYearsByDefault: Graph's addPassword without an
// endDateTime makes a secret valid for two years; longer is refused.
func TestSecretsLastTwoYearsByDefault(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	a := e.tenant("Contoso", "contoso.example")
	id := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Tool"}).body["id"].(string)
	cred := e.mustCall(200, "POST", "/v1.0/applications/"+id+"/addPassword", a.token, map[string]any{}).body
	start, err1 := time.Parse(time.RFC3339, cred["startDateTime"].(string))
	end, err2 := time.Parse(time.RFC3339, cred["endDateTime"].(string))
	if err1 != nil || err2 != nil || !end.Equal(start.AddDate(2, 0, 0)) {
		t.Errorf("secret valid from %v to %v, want two years", cred["startDateTime"], cred["endDateTime"])
	}
	long := time.Now().AddDate(2, 1, 0).UTC().Format(time.RFC3339)
	e.mustCall(400, "POST", "/v1.0/applications/"+id+"/addPassword", a.token, map[string]any{"passwordCredential": map[string]any{"endDateTime": long}})
}

// TestAppPlatformsReadAsObjects: an application's web, spa and publicClient
// read as objects with empty redirect URI lists, never null, as in Graph.
func TestAppPlatformsReadAsObjects(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	a := e.tenant("Contoso", "contoso.example")
	app := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Tool", "spa": map[string]any{"redirectUris": []string{"https://tool.example/spa"}}}).body
	got := e.mustCall(200, "GET", "/v1.0/applications/"+app["id"].(string)+"?$select=web,spa,publicClient", a.token, nil).body
	for name, want := range map[string]int{"web": 0, "spa": 1, "publicClient": 0} {
		for _, doc := range []map[string]any{app, got} {
			p, ok := doc[name].(map[string]any)
			uris, _ := p["redirectUris"].([]any)
			if !ok || uris == nil || len(uris) != want {
				t.Errorf("%s: %v", name, doc[name])
			}
		}
	}
}

// TestSelectingAGraphPropertyNotKept: a property of Graph's v1.0 schema
// that Gatehouse does not keep is answered as unset (null, or [] for a
// collection that is never null); a name Graph does not declare is 400.
func TestSelectingAGraphPropertyNotKept(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		id := e.addUser(a, "ana")
		u := e.mustCall(200, "GET", "/v1.0/users/"+id+"?$select=displayName,EmployeeId,onPremisesSyncEnabled,imAddresses,passwordProfile", a.token, nil).body
		if v, ok := u["passwordProfile"]; !ok || v != nil {
			t.Errorf("passwordProfile (kept, never returned): %v", u)
		}
		if v, ok := u["employeeId"]; !ok || v != nil || u["displayName"] != "User ana" {
			t.Errorf("user: %v", u)
		}
		if v, ok := u["onPremisesSyncEnabled"]; !ok || v != nil {
			t.Errorf("onPremisesSyncEnabled: %v", u)
		}
		if v, _ := u["imAddresses"].([]any); v == nil || len(v) != 0 {
			t.Errorf("imAddresses: %v", u["imAddresses"])
		}
		list := e.mustCall(200, "GET", "/v1.0/users?$select=id,employeeHireDate", a.token, nil).values()
		if v, ok := list[0]["employeeHireDate"]; !ok || v != nil {
			t.Errorf("list: %v", list[0])
		}
		g := e.mustCall(201, "POST", "/v1.0/groups", a.token, map[string]any{"displayName": "G", "mailEnabled": false, "mailNickname": "g", "securityEnabled": true}).body
		if v, ok := e.mustCall(200, "GET", "/v1.0/groups/"+g["id"].(string)+"?$select=theme", a.token, nil).body["theme"]; !ok || v != nil {
			t.Errorf("group theme: %v", v)
		}
		for _, path := range []string{"/v1.0/users/" + id + "?$select=favouriteColour", "/v1.0/users?$select=displayName,nope", "/v1.0/users/" + id + "?$select=memberOf"} {
			if r := e.call("GET", path, a.token, nil); r.status != 400 || r.errorCode() != "Request_BadRequest" {
				t.Errorf("%s: %d %s", path, r.status, r.raw)
			}
		}
	})
}
