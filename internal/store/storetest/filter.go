package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// userSchema is the suite's queryable surface: typed columns, document
// properties of every type (one under another JSON name, one nested), and
// both kinds of collection.
var userSchema = &odata.Schema{Resource: "User", Properties: map[string]odata.Property{
	"id":                {Name: "id", Type: odata.TypeGUID, Column: "id", Folded: true, Sortable: true},
	"userPrincipalName": {Name: "userPrincipalName", Type: odata.TypeString, Column: "upn", Folded: true, Sortable: true},
	"mail":              {Name: "mail", Type: odata.TypeString, Column: "mail", Folded: true, Sortable: true},
	"displayName":       {Name: "displayName", Type: odata.TypeString, Column: "display_name", Sortable: true},
	"createdDateTime":   {Name: "createdDateTime", Type: odata.TypeDateTime, Column: "created_at", Sortable: true},
	"userType":          {Name: "userType", Type: odata.TypeString},
	"jobTitle":          {Name: "jobTitle", Type: odata.TypeString},
	"accountEnabled":    {Name: "accountEnabled", Type: odata.TypeBool},
	"level":             {Name: "extension_level", Type: odata.TypeInt},
	"employeeHireDate":  {Name: "employeeHireDate", Type: odata.TypeDateTime},
	"passwordProfile/forceChangePasswordNextSignIn": {Name: "passwordProfile/forceChangePasswordNextSignIn", Type: odata.TypeBool},
	"otherMails": {Name: "otherMails", Type: odata.TypeStringCollection},
	"identities": {Name: "identities", Type: odata.TypeComplexCollection, Fields: map[string]odata.Property{
		"signInType":       {Name: "signInType", Type: odata.TypeString},
		"issuer":           {Name: "issuer", Type: odata.TypeString},
		"issuerAssignedId": {Name: "issuerAssignedId", Type: odata.TypeString},
	}},
}}

// AST shorthands.

func path(p string) odata.Path { return odata.Path{Segments: strings.Split(p, "/")} }

func elem(p string) odata.Path {
	if p == "" {
		return odata.Path{Var: true}
	}
	return odata.Path{Var: true, Segments: strings.Split(p, "/")}
}

func str(s string) odata.Literal   { return odata.Literal{Kind: odata.LitString, Text: s} }
func num(f float64) odata.Literal  { return odata.Literal{Kind: odata.LitNumber, Number: f} }
func boolean(b bool) odata.Literal { return odata.Literal{Kind: odata.LitBool, Bool: b} }
func guid(s string) odata.Literal  { return odata.Literal{Kind: odata.LitGUID, Text: s} }
func datetime(t time.Time) odata.Literal {
	return odata.Literal{Kind: odata.LitDateTime, Text: t.Format(time.RFC3339Nano)}
}

var null = odata.Literal{Kind: odata.LitNull}

func compare(p, op string, v odata.Literal) odata.Expr {
	return odata.Compare{Op: op, Property: path(p), Value: v}
}

func ecmp(p, op string, v odata.Literal) odata.Expr {
	return odata.Compare{Op: op, Property: elem(p), Value: v}
}

func in(p string, vs ...odata.Literal) odata.Expr { return odata.In{Property: path(p), Values: vs} }
func and(l, r odata.Expr) odata.Expr              { return odata.Logical{Op: "and", Left: l, Right: r} }
func or(l, r odata.Expr) odata.Expr               { return odata.Logical{Op: "or", Left: l, Right: r} }
func not(x odata.Expr) odata.Expr                 { return odata.Not{X: x} }

func fn(name string, p odata.Path, arg string) odata.Expr {
	return odata.Func{Name: name, Property: p, Arg: str(arg)}
}

func anyOf(coll string, body odata.Expr) odata.Expr {
	return odata.Any{Collection: coll, Var: "x", Body: body}
}

func count(coll, op string, n int64) odata.Expr {
	return odata.CountCompare{Collection: coll, Op: op, Value: n}
}

func orderBy(p string, desc bool) []odata.OrderBy { return []odata.OrderBy{{Property: p, Desc: desc}} }

// fixture is a user of the filter tests; its data exercises absent values,
// JSON nulls, values of the wrong type and LIKE's special characters.
type fixture struct {
	name, upn, mail, displayName, data string
}

var fixtures = []fixture{
	{"alice", "alice@contoso.example", "alice@contoso.example", "Alice Smith", `{"userType":"Member","jobTitle":"100% Engineer",
		"accountEnabled":true,"extension_level":3,"employeeHireDate":"2020-01-15T00:00:00Z",
		"passwordProfile":{"forceChangePasswordNextSignIn":true},"otherMails":["Alice@Other.example","a2@x.example"],
		"identities":[{"signInType":"emailAddress","issuer":"contoso.example","issuerAssignedId":"Alice@Contoso.example"}]}`},
	{"bob", "bob@contoso.example", "", "bob jones", `{"userType":"Guest","jobTitle":"a_b tester","accountEnabled":false,
		"extension_level":5,"employeeHireDate":"2022-06-01T12:00:00Z","passwordProfile":{"forceChangePasswordNextSignIn":false},
		"otherMails":[],"identities":[{"signInType":"federated","issuer":"fabrikam.example","issuerAssignedId":null}]}`},
	{"carol", "carol@fabrikam.example", "carol@fabrikam.example", "Carol", `{"userType":null,"jobTitle":"axb tester",
		"accountEnabled":true,"extension_level":10,"otherMails":["carol@x.example"]}`},
	{"dave", "dave@contoso.example", "", "DAVE", `{}`},
	{"eve", "eve@contoso.example", "eve@contoso.example", "Ève", `{"userType":"member","jobTitle":"Engineer 100%",
		"accountEnabled":"true","extension_level":7,"otherMails":["EVE@X.example"],"employeeHireDate":"not a date"}`},
	{"frank", "frank_x@contoso.example", "", "Frank", `{"jobTitle":"back\\slash","extension_level":"5","identities":"oops"}`},
	{"franky", "frankyx@contoso.example", "", "Franky", `{"jobTitle":"1000 Engineer","otherMails":"not-an-array","accountEnabled":null}`},
	{"gina", "gina@contoso.example", "gina@contoso.example", "gina", `{"jobTitle":"Engineer 1000","userType":"Guest",
		"identities":[{"signInType":"userPrincipalName","issuer":"contoso.example","issuerAssignedId":"gina@contoso.example"},"scalar"]}`},
}

// fixtureID is a GUID per fixture, so that GUID literals have something to match.
func fixtureID(i int) string { return fmt.Sprintf("00000000-0000-4000-a000-%012d", i+1) }

func fixtureIndex(name string) int {
	return slices.IndexFunc(fixtures, func(f fixture) bool { return f.name == name })
}

func createFixtures(t testing.TB, s store.Store, tenantID string) {
	objs := make([]*store.Object, len(fixtures))
	for i, f := range fixtures {
		objs[i] = &store.Object{TenantID: tenantID, Kind: kindUser, ID: fixtureID(i), UPN: f.upn, Mail: f.mail,
			DisplayName: f.displayName, CreatedAt: base.Add(time.Duration(i+1) * time.Hour), UpdatedAt: base, Data: []byte(f.data)}
	}
	create(t, s, objs...)
}

type filterCase struct {
	name   string
	filter odata.Expr
	want   []string // fixture names
}

var filterCases = []filterCase{
	{"eq is case-insensitive", compare("userType", "eq", str("member")), []string{"alice", "eve"}},
	{"ne includes absent and null", compare("userType", "ne", str("Member")), []string{"bob", "carol", "dave", "frank", "franky", "gina"}},
	{"eq null is absent or null", compare("userType", "eq", null), []string{"carol", "dave", "frank", "franky"}},
	{"ne null", compare("userType", "ne", null), []string{"alice", "bob", "eve", "gina"}},
	{"not eq includes absent", not(compare("userType", "eq", str("Guest"))), []string{"alice", "carol", "dave", "eve", "frank", "franky"}},
	{"in", in("userType", str("GUEST"), str("member")), []string{"alice", "bob", "eve", "gina"}},
	{"not in includes absent", not(in("userType", str("guest"))), []string{"alice", "carol", "dave", "eve", "frank", "franky"}},
	{"in with null", in("userType", str("guest"), null), []string{"bob", "carol", "dave", "frank", "franky", "gina"}},
	{"folded column eq", compare("userPrincipalName", "eq", str("ALICE@Contoso.example")), []string{"alice"}},
	{"column eq", compare("displayName", "eq", str("alice SMITH")), []string{"alice"}},
	{"column eq folds Unicode", compare("displayName", "eq", str("ÈVE")), []string{"eve"}},
	{"column in", in("displayName", str("dave"), str("GINA")), []string{"dave", "gina"}},
	{"column ge", compare("displayName", "ge", str("F")), []string{"frank", "franky", "gina", "eve"}},
	{"startsWith", fn("startsWith", path("displayName"), "fr"), []string{"frank", "franky"}},
	{"startsWith folds Unicode", fn("startsWith", path("displayName"), "È"), []string{"eve"}},
	{"startsWith escapes _", fn("startsWith", path("userPrincipalName"), "FRANK_"), []string{"frank"}},
	{"startsWith escapes %", fn("startsWith", path("jobTitle"), "100%"), []string{"alice"}},
	{"startsWith escapes _ in documents", fn("startsWith", path("jobTitle"), "a_b"), []string{"bob"}},
	{"endsWith escapes %", fn("endsWith", path("jobTitle"), "100%"), []string{"eve"}},
	{"startsWith escapes the escape", fn("startsWith", path("jobTitle"), `back\`), []string{"frank"}},
	{"endsWith on a folded column", fn("endsWith", path("userPrincipalName"), "@FABRIKAM.example"), []string{"carol"}},
	{"not startsWith includes absent", not(fn("startsWith", path("jobTitle"), "A")), []string{"alice", "dave", "eve", "frank", "franky", "gina"}},
	{"bool eq true", compare("accountEnabled", "eq", boolean(true)), []string{"alice", "carol"}},
	{"bool eq false", compare("accountEnabled", "eq", boolean(false)), []string{"bob"}},
	{"bool ne true", compare("accountEnabled", "ne", boolean(true)), []string{"bob", "dave", "eve", "frank", "franky", "gina"}},
	{"bool eq null", compare("accountEnabled", "eq", null), []string{"dave", "frank", "franky", "gina"}},
	{"nested bool", compare("passwordProfile/forceChangePasswordNextSignIn", "eq", boolean(true)), []string{"alice"}},
	{"number gt", compare("level", "gt", num(4)), []string{"bob", "carol", "eve"}},
	{"number le", compare("level", "le", num(5)), []string{"alice", "bob"}},
	{"number eq", compare("level", "eq", num(10)), []string{"carol"}},
	{"number ne", compare("level", "ne", num(5)), []string{"alice", "carol", "dave", "eve", "frank", "franky", "gina"}},
	{"number in", in("level", num(3), num(7)), []string{"alice", "eve"}},
	{"number fraction", compare("level", "lt", num(3.5)), []string{"alice"}},
	{"document date-time ge", compare("employeeHireDate", "ge", datetime(time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))), []string{"bob"}},
	{"document date-time lt", compare("employeeHireDate", "lt", datetime(time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))), []string{"alice"}},
	{"document date-time eq with offset", compare("employeeHireDate", "eq", odata.Literal{Kind: odata.LitDateTime, Text: "2022-06-01T14:00:00+02:00"}), []string{"bob"}},
	{"column date-time ge", compare("createdDateTime", "ge", datetime(base.Add(7*time.Hour))), []string{"franky", "gina"}},
	{"column date-time eq", compare("createdDateTime", "eq", datetime(base.Add(2*time.Hour))), []string{"bob"}},
	{"column date-time lt", compare("createdDateTime", "lt", datetime(base.Add(2*time.Hour))), []string{"alice"}},
	{"any string eq", anyOf("otherMails", ecmp("", "eq", str("alice@OTHER.example"))), []string{"alice"}},
	{"any string startsWith", anyOf("otherMails", fn("startsWith", elem(""), "CAROL")), []string{"carol"}},
	{"any string in", anyOf("otherMails", odata.In{Property: elem(""), Values: []odata.Literal{str("eve@x.example"), str("A2@x.example")}}), []string{"alice", "eve"}},
	{"not any", not(anyOf("otherMails", ecmp("", "eq", str("carol@x.example")))), []string{"alice", "bob", "dave", "eve", "frank", "franky", "gina"}},
	{"any without a body", anyOf("otherMails", nil), []string{"alice", "carol", "eve"}},
	{"count eq 0", count("otherMails", "eq", 0), []string{"bob", "dave", "frank", "franky", "gina"}},
	{"count ne 0", count("otherMails", "ne", 0), []string{"alice", "carol", "eve"}},
	{"count gt 1", count("otherMails", "gt", 1), []string{"alice"}},
	{"count of complex", count("identities", "eq", 0), []string{"carol", "dave", "eve", "frank", "franky"}},
	{"any complex, two fields", anyOf("identities", and(ecmp("issuer", "eq", str("CONTOSO.example")), ecmp("issuerAssignedId", "eq", str("alice@contoso.example")))), []string{"alice"}},
	{"any complex", anyOf("identities", ecmp("signInType", "eq", str("federated"))), []string{"bob"}},
	{"any complex null field", anyOf("identities", ecmp("issuerAssignedId", "eq", null)), []string{"bob"}},
	{"any complex, several match", anyOf("identities", ecmp("issuer", "eq", str("contoso.example"))), []string{"alice", "gina"}},
	{"not any complex", not(anyOf("identities", ecmp("issuer", "eq", str("contoso.example")))), []string{"bob", "carol", "dave", "eve", "frank", "franky"}},
	{"and", and(compare("userType", "eq", str("Member")), compare("accountEnabled", "eq", boolean(true))), []string{"alice"}},
	{"or", or(compare("userType", "eq", str("Guest")), compare("level", "ge", num(10))), []string{"bob", "carol", "gina"}},
	{"not or", not(or(compare("userType", "eq", str("Member")), compare("level", "gt", num(4)))), []string{"dave", "frank", "franky", "gina"}},
	{"not and", not(and(compare("userType", "eq", str("Guest")), compare("level", "eq", num(5)))), []string{"alice", "carol", "dave", "eve", "frank", "franky", "gina"}},
	{"double not", not(not(compare("userType", "eq", str("guest")))), []string{"bob", "gina"}},
	{"column eq null", compare("mail", "eq", null), []string{"bob", "dave", "frank", "franky"}},
	{"GUID in, any case", in("id", guid(fixtureID(0)), guid(strings.ToUpper(fixtureID(2)))), []string{"alice", "carol"}},
	{"GUID eq", compare("id", "eq", guid(fixtureID(1))), []string{"bob"}},
	{"pointers", &odata.Not{X: &odata.Compare{Op: "eq", Property: path("userType"), Value: str("guest")}}, []string{"alice", "carol", "dave", "eve", "frank", "franky"}},
}

// testFilters runs every filter case against the fixtures of tenant t1,
// while tenant t2 holds the same fixtures under the same IDs: a result from
// t2 would show up as a duplicate or a wrong tenant.
func testFilters(t *testing.T, s store.Store) {
	newTenant(t, s, "t1")
	newTenant(t, s, "t2")
	createFixtures(t, s, "t1")
	createFixtures(t, s, "t2")
	for _, tc := range filterCases {
		t.Run(tc.name, func(t *testing.T) {
			want := make([]string, len(tc.want))
			for i, name := range tc.want {
				if fixtureIndex(name) < 0 {
					t.Fatalf("unknown fixture %q", name)
				}
				want[i] = fixtureID(fixtureIndex(name))
			}
			slices.Sort(want)
			view(t, s, func(tx store.Tx) error {
				p, err := tx.ListObjects(t.Context(), "t1", kindUser, store.Query{Schema: userSchema, Filter: tc.filter, Top: 100})
				if err != nil {
					return err
				}
				got := ids(p.Objects)
				for _, o := range p.Objects {
					if o.TenantID != "t1" {
						t.Errorf("object %s of tenant %s", o.ID, o.TenantID)
					}
				}
				if !slices.Equal(got, want) {
					t.Errorf("got %v, want %v", names(got), tc.want)
				}
				n, err := tx.CountObjects(t.Context(), "t1", kindUser, userSchema, tc.filter)
				if n != int64(len(want)) {
					t.Errorf("CountObjects = %d, want %d", n, len(want))
				}
				return err
			})
		})
	}
}

func names(objectIDs []string) []string {
	out := make([]string, len(objectIDs))
	for i, id := range objectIDs {
		out[i] = id
		for j := range fixtures {
			if fixtureID(j) == id {
				out[i] = fixtures[j].name
			}
		}
	}
	return out
}
