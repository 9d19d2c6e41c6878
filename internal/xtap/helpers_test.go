package xtap

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// Tenants, users, groups and applications the tests use. Users and groups
// live in the home tenant (Fabrikam); applications belong to the resource
// tenant (Contoso).
const (
	contoso   = "c0c0c0c0-0000-4000-8000-000000000001"
	fabrikam  = "fabf0000-0000-4000-8000-000000000002"
	northwind = "d0d0d0d0-0000-4000-8000-000000000003"
	adatum    = "adad0000-0000-4000-8000-000000000004"

	u1 = "11111111-0000-4000-8000-000000000001" // a user listed by id
	u2 = "22222222-0000-4000-8000-000000000002" // a member of g1
	u3 = "33333333-0000-4000-8000-000000000003" // neither
	g1 = "99999999-0000-4000-8000-0000000000a1"
	g2 = "99999999-0000-4000-8000-0000000000a2"
	a1 = "aaaaaaaa-0000-4000-8000-0000000000a1"
	a2 = "aaaaaaaa-0000-4000-8000-0000000000a2"
)

// groupsOf is each test user's transitive home groups.
var groupsOf = map[string][]string{
	u1: {g2},
	u2: {g2, g1},
	u3: nil,
}

// mustPartner parses a POST body and fails the test on error.
func mustPartner(t testing.TB, body string) Partner {
	t.Helper()
	p, err := ParsePartner([]byte(body))
	if err != nil {
		t.Fatalf("ParsePartner(%s): %v", body, err)
	}
	return p
}

// mustDefault applies a PATCH body to the system default.
func mustDefault(t testing.TB, body string) Default {
	t.Helper()
	d, _, err := PatchDefault(SystemDefault(), []byte(body))
	if err != nil {
		t.Fatalf("PatchDefault(%s): %v", body, err)
	}
	return d
}

// jsonEqual compares two JSON texts as values.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v\n%s", err, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON differs\n got: %s\nwant: %s", compact(got), compact([]byte(want)))
	}
}

// jsonContains checks that every property of want (a documentation example
// that is marked truncated) is in got with the same value.
func jsonContains(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w map[string]any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got is not a JSON object: %v", err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not a JSON object: %v", err)
	}
	for k, wv := range w {
		if gv, ok := g[k]; !ok || !reflect.DeepEqual(gv, wv) {
			t.Errorf("property %s: got %v, want %v", k, gv, wv)
		}
	}
}

func compact(b []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}

// world is two tenants' compiled policies.
type world struct {
	home, resource *Compiled
}

func newWorld(homeDef Default, homePartners []Partner, resDef Default, resPartners []Partner) world {
	return world{home: Compile(fabrikam, homeDef, homePartners), resource: Compile(contoso, resDef, resPartners)}
}

// input is a Fabrikam user signing in to a Contoso application.
func (w world) input(access AccessType, user, app string) Input {
	return Input{
		AccessType:   access,
		HomeTenantID: fabrikam, HomeTenantName: "Fabrikam",
		ResourceTenantID: contoso, ResourceTenantName: "Contoso",
		HomeOutbound:    w.home.For(contoso),
		ResourceInbound: w.resource.For(fabrikam),
		User:            User{ID: user, Groups: groupsOf[user]},
		AppID:           app,
	}
}
