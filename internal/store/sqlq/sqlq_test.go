package sqlq

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Behaviour against real databases is the conformance suite's
// (store/storetest); these tests cover what needs no database.

var schema = &odata.Schema{Resource: "User", Properties: map[string]odata.Property{
	"id":              {Name: "id", Type: odata.TypeGUID, Column: "id", Folded: true, Sortable: true},
	"displayName":     {Name: "displayName", Type: odata.TypeString, Column: "display_name", Sortable: true},
	"createdDateTime": {Name: "createdDateTime", Type: odata.TypeDateTime, Column: "created_at", Sortable: true},
	"userType":        {Name: "userType", Type: odata.TypeString},
	"accountEnabled":  {Name: "accountEnabled", Type: odata.TypeBool},
	"level":           {Name: "level", Type: odata.TypeInt},
	"otherMails":      {Name: "otherMails", Type: odata.TypeStringCollection},
	"identities": {Name: "identities", Type: odata.TypeComplexCollection, Fields: map[string]odata.Property{
		"issuer": {Name: "issuer", Type: odata.TypeString},
	}},
	"badColumn":   {Name: "badColumn", Type: odata.TypeString, Column: "data; DROP TABLE objects"},
	"wrongType":   {Name: "wrongType", Type: odata.TypeBool, Column: "display_name"},
	"badName":     {Name: `a"b`, Type: odata.TypeString},
	"emptySeg":    {Name: "a//b", Type: odata.TypeString},
	"columnColl":  {Name: "columnColl", Type: odata.TypeStringCollection, Column: "mail"},
	"notSortable": {Name: "notSortable", Type: odata.TypeString, Column: "mail"},
}}

func p(s string) odata.Path      { return odata.Path{Segments: strings.Split(s, "/")} }
func str(s string) odata.Literal { return odata.Literal{Kind: odata.LitString, Text: s} }
func eq(prop string, v odata.Literal) odata.Expr {
	return odata.Compare{Op: "eq", Property: p(prop), Value: v}
}

var dialects = map[string]Dialect{"sqlite": SQLite, "postgres": Postgres}

func TestFilterRejects(t *testing.T) {
	null := odata.Literal{Kind: odata.LitNull}
	for _, tc := range []struct {
		name string
		f    odata.Expr
	}{
		{"unknown property", eq("nope", str("x"))},
		{"unknown column", eq("badColumn", str("x"))},
		{"column of another type", eq("wrongType", odata.Literal{Kind: odata.LitBool, Bool: true})},
		{"unquotable JSON name", eq("badName", str("x"))},
		{"empty path segment", eq("emptySeg", str("x"))},
		{"string against a number", eq("userType", odata.Literal{Kind: odata.LitNumber, Number: 1})},
		{"number against a string", eq("level", str("1"))},
		{"bool ordered", odata.Compare{Op: "gt", Property: p("accountEnabled"), Value: odata.Literal{Kind: odata.LitBool, Bool: true}}},
		{"null ordered", odata.Compare{Op: "ge", Property: p("userType"), Value: null}},
		{"unknown operator", odata.Compare{Op: "like", Property: p("userType"), Value: str("x")}},
		{"bad date-time", eq("createdDateTime", odata.Literal{Kind: odata.LitDateTime, Text: "yesterday"})},
		{"date-time against a string", eq("createdDateTime", str("2020-01-01T00:00:00Z"))},
		{"collection compared", eq("otherMails", str("x"))},
		{"collection in a column", odata.Any{Collection: "columnColl", Var: "x"}},
		{"any over a scalar", odata.Any{Collection: "userType", Var: "x"}},
		{"count over a scalar", odata.CountCompare{Collection: "userType", Op: "eq"}},
		{"count with a bad operator", odata.CountCompare{Collection: "otherMails", Op: "has"}},
		{"range variable outside a lambda", odata.Compare{Op: "eq", Property: odata.Path{Var: true}, Value: str("x")}},
		{"field of a string element", odata.Any{Collection: "otherMails", Var: "x",
			Body: odata.Compare{Op: "eq", Property: odata.Path{Var: true, Segments: []string{"a"}}, Value: str("x")}}},
		{"unknown field", odata.Any{Collection: "identities", Var: "x",
			Body: odata.Compare{Op: "eq", Property: odata.Path{Var: true, Segments: []string{"nope"}}, Value: str("x")}}},
		{"complex element compared whole", odata.Any{Collection: "identities", Var: "x",
			Body: odata.Compare{Op: "eq", Property: odata.Path{Var: true}, Value: str("x")}}},
		{"nested lambda", odata.Any{Collection: "otherMails", Var: "x", Body: odata.Any{Collection: "otherMails", Var: "y"}}},
		{"startsWith on a bool", odata.Func{Name: "startsWith", Property: p("accountEnabled"), Arg: str("t")}},
		{"startsWith with a number", odata.Func{Name: "startsWith", Property: p("userType"), Arg: odata.Literal{Kind: odata.LitNumber}}},
		{"unknown function", odata.Func{Name: "contains", Property: p("userType"), Arg: str("x")}},
		{"unknown logical operator", odata.Logical{Op: "xor", Left: eq("userType", str("a")), Right: eq("userType", str("b"))}},
		{"empty operand", odata.Not{}},
	} {
		for dn, d := range dialects {
			if got, err := Filter(d, schema, tc.f, &Args{}); err == nil {
				t.Errorf("%s (%s): translated to %s", tc.name, dn, got)
			}
		}
	}
	if _, err := Filter(SQLite, nil, eq("userType", str("x")), &Args{}); err == nil {
		t.Error("a filter without a schema translated")
	}
}

// TestFilterBindsValues checks that no literal reaches the SQL text and that
// placeholders continue the statement's numbering.
func TestFilterBindsValues(t *testing.T) {
	evil := `x'); DROP TABLE objects; --`
	f := odata.Logical{Op: "or",
		Left: eq("userType", str(evil)),
		Right: odata.Any{Collection: "identities", Var: "i",
			Body: odata.Compare{Op: "eq", Property: odata.Path{Var: true, Segments: []string{"issuer"}}, Value: str(evil)}}}
	for dn, d := range dialects {
		args := &Args{}
		args.Add("tenant")
		got, err := Filter(d, schema, f, args)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(got, "DROP") {
			t.Errorf("%s: literal in the SQL: %s", dn, got)
		}
		if regexp.MustCompile(`\$1\b`).MatchString(got) {
			t.Errorf("%s: reuses the caller's placeholder $1: %s", dn, got)
		}
		lits := 0
		for _, v := range args.Values() {
			if v == any(strings.ToLower(evil)) {
				lits++
			}
		}
		if lits != 2 || len(args.Values()) != 6 {
			t.Errorf("%s: args %v", dn, args.Values())
		}
	}
}

func TestEscapeLike(t *testing.T) {
	for in, want := range map[string]string{`100%`: `100\%`, `a_b`: `a\_b`, `back\`: `back\\`, `plain`: `plain`} {
		if got := escapeLike(in); got != want {
			t.Errorf("escapeLike(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"abc", "abd", true},
		{"é", "ê", true},
		{"a\U0010FFFF", "b", true},
		{"\uD7FF", "\uE000", true},
		{"", "", false},
		{"\U0010FFFF", "", false},
		{"\xff", "", false},
	} {
		got, ok := prefixEnd(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("prefixEnd(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if !ok {
			continue
		}
		// Every string with the prefix sorts below the end; the end does not
		// have the prefix.
		for _, suffix := range []string{"", "a", "\U0010FFFF\U0010FFFF", "\uFFFF"} {
			if s := tc.in + suffix; s >= got {
				t.Errorf("prefixEnd(%q) = %q, not above %q", tc.in, got, s)
			}
		}
		if strings.HasPrefix(got, tc.in) {
			t.Errorf("prefixEnd(%q) = %q starts with it", tc.in, got)
		}
	}
}

func TestNumberBinding(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want any
	}{{3, int64(3)}, {-7, int64(-7)}, {3.5, 3.5}, {1e300, 1e300}} {
		if got := number(tc.in); got != tc.want {
			t.Errorf("number(%v) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func TestOrderRejects(t *testing.T) {
	for _, items := range [][]odata.OrderBy{
		{{Property: "nope"}},
		{{Property: "userType"}},
		{{Property: "notSortable"}},
	} {
		if _, err := NewOrder(SQLite, schema, items); err == nil {
			t.Errorf("NewOrder(%v) accepted", items)
		}
	}
	if _, err := NewOrder(SQLite, nil, []odata.OrderBy{{Property: "id"}}); err == nil {
		t.Error("an order without a schema was accepted")
	}
}

func TestKeyset(t *testing.T) {
	for _, tc := range []struct {
		name  string
		items []odata.OrderBy
		want  map[string]string // dialect → After's condition
	}{
		{"default", nil, map[string]string{"sqlite": "o.id > $1", "postgres": "o.id > $1"}},
		{"uniform", []odata.OrderBy{{Property: "displayName", Desc: true}}, map[string]string{
			"sqlite":   "(lower(o.display_name) <= $1 AND (lower(o.display_name), o.id) < ($1, $2))",
			"postgres": `(lower(o.display_name) COLLATE "C" <= $1 AND (lower(o.display_name) COLLATE "C", o.id) < ($1, $2))`,
		}},
		{"mixed", []odata.OrderBy{{Property: "createdDateTime", Desc: true}, {Property: "id"}}, map[string]string{
			"sqlite":   "(o.created_at <= $1 AND ((o.created_at < $1) OR (o.created_at = $1 AND o.id > $2) OR (o.created_at = $1 AND o.id = $2 AND o.id > $3)))",
			"postgres": "(o.created_at <= $1 AND ((o.created_at < $1) OR (o.created_at = $1 AND o.id > $2) OR (o.created_at = $1 AND o.id = $2 AND o.id > $3)))",
		}},
	} {
		for dn, d := range dialects {
			o, err := NewOrder(d, schema, tc.items)
			if err != nil {
				t.Fatal(err)
			}
			keys := make([]any, len(tc.items))
			for i, it := range tc.items {
				keys[i] = "k-" + it.Property
				if it.Property == "createdDateTime" {
					keys[i] = time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
				}
			}
			c, err := o.Cursor(keys, "last-id")
			if err != nil {
				t.Fatal(err)
			}
			args := &Args{}
			got, err := o.After(c, args)
			if err != nil {
				t.Fatalf("%s (%s): %v", tc.name, dn, err)
			}
			if got != tc.want[dn] {
				t.Errorf("%s (%s): After = %s\nwant %s", tc.name, dn, got, tc.want[dn])
			}
			if v := args.Values(); v[len(v)-1] != "last-id" {
				t.Errorf("%s (%s): args %v", tc.name, dn, v)
			}
		}
	}
}

func TestBadCursors(t *testing.T) {
	byName, _ := NewOrder(SQLite, schema, []odata.OrderBy{{Property: "displayName"}})
	byTime, _ := NewOrder(SQLite, schema, []odata.OrderBy{{Property: "createdDateTime"}})
	nameCursor, err := byName.Cursor([]any{"alice"}, "u1")
	if err != nil {
		t.Fatal(err)
	}
	enc := func(v string) string { return base64.RawURLEncoding.EncodeToString([]byte(v)) }
	sig := byTime.sig
	for _, tc := range []struct {
		name   string
		o      Order
		cursor string
	}{
		{"not base64url", byName, "a+b/c=="},
		{"not JSON", byName, enc("nope")},
		{"another order", byTime, nameCursor},
		{"no id", byName, enc(fmt.Sprintf(`{"o":%q,"k":["a"]}`, byName.sig))},
		{"too few keys", byName, enc(fmt.Sprintf(`{"o":%q,"i":"u1"}`, byName.sig))},
		{"keys of the wrong type", byName, enc(fmt.Sprintf(`{"o":%q,"k":[1],"i":"u1"}`, byName.sig))},
		{"bad time", byTime, enc(fmt.Sprintf(`{"o":%q,"k":["tuesday"],"i":"u1"}`, sig))},
	} {
		if _, err := tc.o.After(tc.cursor, &Args{}); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("%s: %v, want ErrBadCursor", tc.name, err)
		}
	}
	if got, err := byName.After("", &Args{}); got != "" || err != nil {
		t.Errorf("After(\"\") = %q, %v", got, err)
	}
}
