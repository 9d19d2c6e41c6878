package odata

import (
	"errors"
	"reflect"
	"testing"
)

// testSchema is a small User surface with the operator mix Graph documents.
var testSchema = &Schema{
	Resource: "User",
	Properties: map[string]Property{
		"displayName": {Name: "displayName", Type: TypeString, Column: "display_name", Sortable: true,
			Ops: []string{"eq", "in", "startsWith", "ge", "le"}, AdvancedOps: []string{"ne", "not"}},
		"userPrincipalName": {Name: "userPrincipalName", Type: TypeString, Column: "upn", Folded: true, Sortable: true,
			Ops: []string{"eq", "in", "startsWith"}, AdvancedOps: []string{"ne", "not", "endsWith"}},
		"userType": {Name: "userType", Type: TypeString,
			Ops: []string{"eq", "in"}, AdvancedOps: []string{"ne", "not"}},
		"accountEnabled": {Name: "accountEnabled", Type: TypeBool,
			Ops: []string{"eq"}, AdvancedOps: []string{"ne", "not"}},
		"createdDateTime": {Name: "createdDateTime", Type: TypeDateTime,
			AdvancedOps: []string{"eq", "ge", "le"}},
		"homeTenantId": {Name: "homeTenantId", Type: TypeGUID, Ops: []string{"eq", "in"}},
		"sortOrder":    {Name: "sortOrder", Type: TypeInt, Ops: []string{"eq", "ge", "le"}},
		"passwordProfile/forceChangePasswordNextSignIn": {Name: "passwordProfile/forceChangePasswordNextSignIn", Type: TypeBool,
			Ops: []string{"eq"}},
		"otherMails": {Name: "otherMails", Type: TypeStringCollection,
			Ops: []string{"any"}, AdvancedOps: []string{"not", "endsWith", "count"}},
		"businessPhones": {Name: "businessPhones", Type: TypeStringCollection, Ops: []string{"any"}},
		"identities": {Name: "identities", Type: TypeComplexCollection,
			Ops: []string{"any"},
			Fields: map[string]Property{
				"issuer":           {Name: "issuer", Type: TypeString, Ops: []string{"eq"}},
				"issuerAssignedId": {Name: "issuerAssignedId", Type: TypeString, Ops: []string{"eq"}, Requires: []string{"issuer"}},
				"signInType":       {Name: "signInType", Type: TypeString, Ops: []string{"eq", "in"}},
			}},
	},
}

const advancedEndsWith = "Operator 'endsWith' is not supported because the required parameters might be missing. " +
	"Try adding $count=true query parameter and ConsistencyLevel:eventual header. " +
	"Refer to https://aka.ms/graph-docs/advanced-queries for more information"

func unsupported(name string) string {
	return "Unsupported or invalid query filter clause specified for property '" + name + "' of resource 'User'."
}

func advancedOp(op string) string {
	return "Operator '" + op + "' is not supported because the required parameters might be missing. " +
		"Try adding $count=true query parameter and ConsistencyLevel:eventual header. " +
		"Refer to https://aka.ms/graph-docs/advanced-queries for more information"
}

func TestBind(t *testing.T) {
	tests := []struct {
		filter   string
		advanced bool
		want     Expr // checked when non-nil and no error is expected
		code     string
		message  string // checked when non-empty
	}{
		// Canonical names, case-insensitively.
		{filter: "DISPLAYNAME eq 'Ann'", want: eq(prop("displayName"), str("Ann"))},
		{filter: "passwordprofile/FORCECHANGEPASSWORDNEXTSIGNIN eq true", want: eq(prop("passwordProfile", "forceChangePasswordNextSignIn"), boolean(true))},
		{filter: "OTHERMAILS/any(X:X eq 'a@b.c')", want: Any{Collection: "otherMails", Var: "X", Body: eq(rangeVar(), str("a@b.c"))}},
		{
			filter: "Identities/any(c:c/IssuerAssignedID eq 'ann' and c/ISSUER eq 'contoso.com')",
			want:   Any{Collection: "identities", Var: "c", Body: and(eq(rangeVar("issuerAssignedId"), str("ann")), eq(rangeVar("issuer"), str("contoso.com")))},
		},
		{filter: "usertype in ('Guest','Member')", want: In{Property: prop("userType"), Values: []Literal{str("Guest"), str("Member")}}},
		{filter: "startswith(USERPRINCIPALNAME,'ann')", want: Func{Name: "startsWith", Property: prop("userPrincipalName"), Arg: str("ann")}},
		{filter: "otherMails/$count eq 0", advanced: true, want: CountCompare{Collection: "otherMails", Op: "eq", Value: 0}},
		{filter: "userType eq null", want: eq(prop("userType"), null)},
		{filter: "sortOrder ge 3", want: Compare{Op: "ge", Property: prop("sortOrder"), Value: num(3)}},

		// GUID properties take bare and quoted GUIDs, canonically.
		{filter: "homeTenantId eq '0E8B3A55-6C1D-47F2-A0B9-3D2C1E4F5A6B'", want: eq(prop("homeTenantId"), guid("0e8b3a55-6c1d-47f2-a0b9-3d2c1e4f5a6b"))},
		{filter: "homeTenantId in (0E8B3A55-6C1D-47F2-A0B9-3D2C1E4F5A6B)", want: In{Property: prop("homeTenantId"), Values: []Literal{guid("0e8b3a55-6c1d-47f2-a0b9-3d2c1e4f5a6b")}}},
		{filter: "homeTenantId eq 'contoso'", code: CodeBadRequest,
			message: "Invalid filter clause: A binary operator with incompatible types was detected. Found operand types 'Edm.Guid' and 'Edm.String' for operator kind 'Equal'."},

		// Literal types.
		{filter: "accountEnabled eq 'true'", code: CodeBadRequest,
			message: "Invalid filter clause: A binary operator with incompatible types was detected. Found operand types 'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'."},
		{filter: "displayName eq 1", code: CodeBadRequest},
		{filter: "displayName eq true", code: CodeBadRequest},
		{filter: "displayName eq 0e8b3a55-6c1d-47f2-a0b9-3d2c1e4f5a6b", code: CodeBadRequest},
		{filter: "sortOrder eq 1.5", code: CodeBadRequest,
			message: "Invalid filter clause: A binary operator with incompatible types was detected. Found operand types 'Edm.Int64' and 'Edm.Decimal' for operator kind 'Equal'."},
		{filter: "sortOrder eq 9007199254740993", code: CodeBadRequest},
		{filter: "sortOrder eq '3'", code: CodeBadRequest},
		{filter: "createdDateTime ge '2024-01-02'", advanced: true, code: CodeBadRequest},
		{filter: "createdDateTime ge 2024-01-02T00:00:00Z", advanced: true, want: Compare{Op: "ge", Property: prop("createdDateTime"), Value: dateTime("2024-01-02T00:00:00Z")}},
		{filter: "displayName ge null", code: CodeBadRequest,
			message: "Invalid filter clause: A binary operator with incompatible types was detected. Found operand types 'Edm.String' and '<null>' for operator kind 'GreaterThanOrEqual'."},
		{filter: "userType in ('Guest', null)", code: CodeBadRequest},
		{filter: "displayName in ('a', 1)", code: CodeBadRequest},
		{filter: "startsWith(displayName, 1)", code: CodeBadRequest,
			message: "Invalid filter clause: No function signature for the function with name 'startsWith' matches the specified arguments. The function signatures considered are: startsWith(Edm.String Nullable=true, Edm.String Nullable=true)."},

		// Unknown properties and operators a property does not allow.
		{filter: "foo eq 'a'", code: CodeUnsupportedQuery, message: unsupported("foo")},
		{filter: "userType eq 'a' and Foo/bar eq 1", code: CodeUnsupportedQuery, message: unsupported("Foo/bar")},
		{filter: "passwordProfile eq true", code: CodeUnsupportedQuery, message: unsupported("passwordProfile")},
		{filter: "usertype ge 'a'", code: CodeUnsupportedQuery, message: unsupported("userType")},
		{filter: "startsWith(accountEnabled,'a')", code: CodeUnsupportedQuery, message: unsupported("accountEnabled")},
		{filter: "createdDateTime lt 2024-01-02T00:00:00Z", advanced: true, code: CodeUnsupportedQuery, message: unsupported("createdDateTime")},
		{filter: "endsWith(displayName,'x')", advanced: true, code: CodeUnsupportedQuery, message: unsupported("displayName")},
		// Missing outranks merely advanced: the headers would not help.
		{filter: "not endsWith(displayName,'x')", code: CodeUnsupportedQuery, message: unsupported("displayName")},

		// Advanced query parameters.
		{filter: "endsWith(userPrincipalName,'@contoso.com')", code: CodeUnsupportedQuery, message: advancedEndsWith},
		{filter: "endsWith(userPrincipalName,'@contoso.com')", advanced: true, want: Func{Name: "endsWith", Property: prop("userPrincipalName"), Arg: str("@contoso.com")}},
		{filter: "userType ne 'Guest'", code: CodeUnsupportedQuery, message: advancedOp("ne")},
		{filter: "userType ne 'Guest'", advanced: true, want: Compare{Op: "ne", Property: prop("userType"), Value: str("Guest")}},
		{filter: "not(userType eq 'Guest')", code: CodeUnsupportedQuery, message: advancedOp("not")},
		{filter: "not(userType eq 'Guest' and accountEnabled eq true)", advanced: true,
			want: Not{X: and(eq(prop("userType"), str("Guest")), eq(prop("accountEnabled"), boolean(true)))}},
		{filter: "userType eq 'Guest' and not(sortOrder eq 1)", advanced: true, code: CodeUnsupportedQuery, message: unsupported("sortOrder")},
		{filter: "createdDateTime ge 2024-01-02T00:00:00Z", code: CodeUnsupportedQuery, message: advancedOp("ge")},
		{filter: "otherMails/$count eq 0", code: CodeUnsupportedQuery, message: advancedOp("count")},
		{filter: "otherMails/any(x:endsWith(x,'@contoso.com'))", code: CodeUnsupportedQuery, message: advancedEndsWith},
		{filter: "otherMails/any(x:endsWith(x,'@contoso.com'))", advanced: true,
			want: Any{Collection: "otherMails", Var: "x", Body: Func{Name: "endsWith", Property: rangeVar(), Arg: str("@contoso.com")}}},
		// A not outside a lambda is checked against the collection, not
		// against the operators inside it.
		{filter: "not(otherMails/any(x:x eq 'a'))", advanced: true, want: Not{X: Any{Collection: "otherMails", Var: "x", Body: eq(rangeVar(), str("a"))}}},
		{filter: "not(otherMails/any(x:x eq 'a'))", code: CodeUnsupportedQuery, message: advancedOp("not")},
		{filter: "not(identities/any(c:c/issuer eq 'x'))", advanced: true, code: CodeUnsupportedQuery, message: unsupported("identities")},
		{filter: "identities/any(c:not(c/issuer eq 'x'))", advanced: true, code: CodeUnsupportedQuery, message: unsupported("issuer")},

		// Lambdas and $count need collections; lambda bodies need the element.
		{filter: "displayName/any(x:x eq 'a')", code: CodeUnsupportedQuery, message: unsupported("displayName")},
		{filter: "displayName/$count eq 0", advanced: true, code: CodeUnsupportedQuery, message: unsupported("displayName")},
		{filter: "nope/any(x:x eq 'a')", code: CodeUnsupportedQuery, message: unsupported("nope")},
		{filter: "otherMails eq 'a'", code: CodeUnsupportedQuery, message: unsupported("otherMails")},
		{filter: "startsWith(otherMails,'a')", code: CodeUnsupportedQuery, message: unsupported("otherMails")},
		{filter: "otherMails/any(x:x ge 'a')", code: CodeUnsupportedQuery, message: unsupported("otherMails")},
		{filter: "otherMails/any(x:x in ('a','b') or startsWith(x,'c'))",
			want: Any{Collection: "otherMails", Var: "x", Body: or(In{Property: rangeVar(), Values: []Literal{str("a"), str("b")}}, Func{Name: "startsWith", Property: rangeVar(), Arg: str("c")})}},
		{filter: "otherMails/any(x:x ne 'a')", code: CodeUnsupportedQuery, message: advancedOp("ne")},
		{filter: "otherMails/any(x:not(x eq 'a'))", code: CodeUnsupportedQuery, message: advancedOp("not")},
		{filter: "otherMails/any(x:not(x ne 'a'))", advanced: true,
			want: Any{Collection: "otherMails", Var: "x", Body: Not{X: Compare{Op: "ne", Property: rangeVar(), Value: str("a")}}}},
		{filter: "businessPhones/any(x:endsWith(x,'1'))", advanced: true, code: CodeUnsupportedQuery, message: unsupported("businessPhones")},
		{filter: "businessPhones/$count eq 0", advanced: true, code: CodeUnsupportedQuery, message: unsupported("businessPhones")},
		{filter: "not(businessPhones/any(x:x eq '1'))", advanced: true, code: CodeUnsupportedQuery, message: unsupported("businessPhones")},
		{filter: "otherMails/any(x:x/length eq 1)", code: CodeUnsupportedQuery, message: unsupported("otherMails/length")},
		{filter: "otherMails/any(x:x eq 1)", code: CodeBadRequest},
		{filter: "identities/any(c:c eq 'x')", code: CodeUnsupportedQuery, message: unsupported("identities")},
		{filter: "identities/any(c:c/foo eq 'x')", code: CodeUnsupportedQuery, message: unsupported("foo")},
		{filter: "identities/any(c:c/issuer/x eq 'x')", code: CodeUnsupportedQuery, message: unsupported("issuer/x")},
		{filter: "identities/any(c:startsWith(c/issuer,'x'))", code: CodeUnsupportedQuery, message: unsupported("issuer")},
		{filter: "identities/any(c:c/signInType in ('emailAddress','userName'))",
			want: Any{Collection: "identities", Var: "c", Body: In{Property: rangeVar("signInType"), Values: []Literal{str("emailAddress"), str("userName")}}}},

		// issuerAssignedId needs issuer pinned on every branch.
		{filter: "identities/any(c:c/issuerAssignedId eq 'ann')", code: CodeUnsupportedQuery, message: unsupported("issuerAssignedId")},
		{filter: "identities/any(c:c/issuerAssignedId eq 'ann' or c/issuer eq 'x')", code: CodeUnsupportedQuery, message: unsupported("issuerAssignedId")},
		{filter: "identities/any(c:c/issuerAssignedId eq 'ann' and c/issuer eq null)", code: CodeUnsupportedQuery, message: unsupported("issuerAssignedId")},
		{filter: "identities/any(c:(c/issuerAssignedId eq 'a' and c/issuer eq 'x') or (c/issuer eq 'y' and c/issuerAssignedId eq 'b'))"},
		{filter: "identities/any(c:c/issuer eq 'google.com')"},
	}
	for _, tc := range tests {
		e, err := ParseFilter(tc.filter)
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", tc.filter, err)
		}
		got, err := Bind(testSchema, e, tc.advanced)
		if tc.code == "" {
			if err != nil {
				t.Errorf("Bind(%q, advanced=%v): %v", tc.filter, tc.advanced, err)
			} else if tc.want != nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Bind(%q)\n got %#v\nwant %#v", tc.filter, got, tc.want)
			}
			continue
		}
		if oe := requireError(t, tc.filter, err, tc.code); oe != nil && tc.message != "" && oe.Message != tc.message {
			t.Errorf("Bind(%q, advanced=%v) message\n got %q\nwant %q", tc.filter, tc.advanced, oe.Message, tc.message)
		}
	}
}

func TestBindLeavesInputAlone(t *testing.T) {
	in := "USERTYPE in ('Guest') and OTHERMAILS/any(x:x eq 'a') and homeTenantId eq '0E8B3A55-6C1D-47F2-A0B9-3D2C1E4F5A6B'"
	e, err := ParseFilter(in)
	if err != nil {
		t.Fatal(err)
	}
	before := Format(e)
	if _, err := Bind(testSchema, e, false); err != nil {
		t.Fatal(err)
	}
	if after := Format(e); after != before {
		t.Errorf("Bind changed its input: %q became %q", before, after)
	}
}

func TestBindHandBuilt(t *testing.T) {
	tests := []struct {
		name string
		e    Expr
		code string // "" means success with a nil result
	}{
		{"nil filter", nil, ""},
		{"unknown logical operator", Logical{Op: "xor", Left: eq(prop("userType"), str("a")), Right: eq(prop("userType"), str("b"))}, CodeBadRequest},
		{"nil operand", Logical{Op: "and", Left: eq(prop("userType"), str("a"))}, CodeBadRequest},
		{"pointer node", &Compare{Op: "eq", Property: prop("userType"), Value: str("a")}, CodeBadRequest},
		{"unknown comparison", Compare{Op: "contains", Property: prop("userType"), Value: str("a")}, CodeUnsupportedQuery},
		{"range variable outside a lambda", eq(rangeVar(), str("a")), CodeUnsupportedQuery},
		{"plain path inside a lambda", Any{Collection: "otherMails", Var: "x", Body: eq(prop("userType"), str("a"))}, CodeUnsupportedQuery},
		{"nested lambda", Any{Collection: "otherMails", Var: "x", Body: Any{Collection: "otherMails", Var: "y", Body: eq(rangeVar(), str("a"))}}, CodeUnsupportedQuery},
		{"negative count", CountCompare{Collection: "otherMails", Op: "eq", Value: -1}, CodeUnsupportedQuery},
		{"empty in", In{Property: prop("userType")}, CodeBadRequest},
	}
	for _, tc := range tests {
		got, err := Bind(testSchema, tc.e, true)
		if tc.code == "" {
			if got != nil || err != nil {
				t.Errorf("%s: Bind = %#v, %v", tc.name, got, err)
			}
			continue
		}
		requireError(t, tc.name, err, tc.code)
	}
}

func TestBindWithoutSchema(t *testing.T) {
	e, err := ParseFilter("a eq 1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Bind(nil, e, false); !errors.Is(err, errNoSchema) {
		t.Errorf("Bind(nil schema) error = %v", err)
	}
	if _, err := BindOrderBy(nil, []OrderBy{{Property: "a"}}); !errors.Is(err, errNoSchema) {
		t.Errorf("BindOrderBy(nil schema) error = %v", err)
	}
}

func TestBindOrderBy(t *testing.T) {
	tests := []struct {
		in      string
		want    []OrderBy
		message string // when non-empty, the Request_UnsupportedQuery message
	}{
		{in: "displayName", want: []OrderBy{{Property: "displayName"}}},
		{in: "DISPLAYNAME desc, userprincipalname", want: []OrderBy{{Property: "displayName", Desc: true}, {Property: "userPrincipalName"}}},
		{in: "createdDateTime desc", message: "Unsupported sort property 'createdDateTime' for 'User'."},
		{in: "displayName, shoeSize", message: "Unsupported sort property 'shoeSize' for 'User'."},
	}
	for _, tc := range tests {
		items, err := ParseOrderBy(tc.in)
		if err != nil {
			t.Fatalf("ParseOrderBy(%q): %v", tc.in, err)
		}
		got, err := BindOrderBy(testSchema, items)
		if tc.message == "" {
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("BindOrderBy(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
			}
			continue
		}
		if oe := requireError(t, tc.in, err, CodeUnsupportedQuery); oe != nil && oe.Message != tc.message {
			t.Errorf("BindOrderBy(%q) message %q, want %q", tc.in, oe.Message, tc.message)
		}
	}
}
