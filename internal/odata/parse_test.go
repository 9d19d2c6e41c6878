package odata

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func prop(segs ...string) Path     { return Path{Segments: segs} }
func rangeVar(segs ...string) Path { return Path{Var: true, Segments: segs} }
func str(s string) Literal         { return Literal{Kind: LitString, Text: s} }
func num(f float64) Literal        { return Literal{Kind: LitNumber, Number: f} }
func boolean(b bool) Literal       { return Literal{Kind: LitBool, Bool: b} }
func guid(s string) Literal        { return Literal{Kind: LitGUID, Text: s} }
func dateTime(s string) Literal    { return Literal{Kind: LitDateTime, Text: s} }

var null = Literal{Kind: LitNull}

func eq(p Path, v Literal) Compare { return Compare{Op: "eq", Property: p, Value: v} }
func and(l, r Expr) Logical        { return Logical{Op: "and", Left: l, Right: r} }
func or(l, r Expr) Logical         { return Logical{Op: "or", Left: l, Right: r} }

// validFilters are parsed by TestParseFilter and seed FuzzParseFilter.
var validFilters = []struct {
	in   string
	want Expr
}{
	{"userType eq 'Guest'", eq(prop("userType"), str("Guest"))},
	{"userType EQ 'Guest'", eq(prop("userType"), str("Guest"))},
	{"\tuserType\neq\r'Guest' ", eq(prop("userType"), str("Guest"))},
	{"a ne 1", Compare{Op: "ne", Property: prop("a"), Value: num(1)}},
	{"a Gt 1", Compare{Op: "gt", Property: prop("a"), Value: num(1)}},
	{"a ge 1", Compare{Op: "ge", Property: prop("a"), Value: num(1)}},
	{"a lt 1", Compare{Op: "lt", Property: prop("a"), Value: num(1)}},
	{"a LE 1", Compare{Op: "le", Property: prop("a"), Value: num(1)}},
	{"a eq 1 and b eq 2 or c eq 3", or(and(eq(prop("a"), num(1)), eq(prop("b"), num(2))), eq(prop("c"), num(3)))},
	{"a eq 1 or b eq 2 and c eq 3", or(eq(prop("a"), num(1)), and(eq(prop("b"), num(2)), eq(prop("c"), num(3))))},
	{"a eq 1 and (b eq 2 or c eq 3)", and(eq(prop("a"), num(1)), or(eq(prop("b"), num(2)), eq(prop("c"), num(3))))},
	{"a eq 1 and b eq 2 and c eq 3", and(and(eq(prop("a"), num(1)), eq(prop("b"), num(2))), eq(prop("c"), num(3)))},
	{"a eq 1 AND b eq 2 Or c eq 3", or(and(eq(prop("a"), num(1)), eq(prop("b"), num(2))), eq(prop("c"), num(3)))},
	{"((a eq 1))", eq(prop("a"), num(1))},
	{"not a eq 1 and b eq 2", and(Not{X: eq(prop("a"), num(1))}, eq(prop("b"), num(2)))},
	{"NOT(a eq 1 or b eq 2)", Not{X: or(eq(prop("a"), num(1)), eq(prop("b"), num(2)))}},
	{"not not a eq 1", Not{X: Not{X: eq(prop("a"), num(1))}}},
	{"userType in ('Member','Guest')", In{Property: prop("userType"), Values: []Literal{str("Member"), str("Guest")}}},
	{"userType IN( 'Member' )", In{Property: prop("userType"), Values: []Literal{str("Member")}}},
	{"id in (0E8B3A55-6C1D-47F2-A0B9-3D2C1E4F5A6B, 'x', 2, null)", In{Property: prop("id"), Values: []Literal{guid("0e8b3a55-6c1d-47f2-a0b9-3d2c1e4f5a6b"), str("x"), num(2), null}}},
	{"startsWith(displayName,'Ann')", Func{Name: "startsWith", Property: prop("displayName"), Arg: str("Ann")}},
	{"ENDSWITH( mail , '@contoso.com' )", Func{Name: "endsWith", Property: prop("mail"), Arg: str("@contoso.com")}},
	{"otherMails/any(x:x eq 'a@b.c')", Any{Collection: "otherMails", Var: "x", Body: eq(rangeVar(), str("a@b.c"))}},
	{"otherMails/ANY(X: x eq 'a@b.c')", Any{Collection: "otherMails", Var: "X", Body: eq(rangeVar(), str("a@b.c"))}},
	{
		"identities/any(c:c/issuer eq 'x' and c/issuerAssignedId eq 'y')",
		Any{Collection: "identities", Var: "c", Body: and(eq(rangeVar("issuer"), str("x")), eq(rangeVar("issuerAssignedId"), str("y")))},
	},
	{
		"otherMails/any(m: startswith(m, 'a') or not (m in ('b')) or m ne 'c')",
		Any{Collection: "otherMails", Var: "m", Body: or(or(
			Func{Name: "startsWith", Property: rangeVar(), Arg: str("a")},
			Not{X: In{Property: rangeVar(), Values: []Literal{str("b")}}}),
			Compare{Op: "ne", Property: rangeVar(), Value: str("c")})},
	},
	{"not(groupTypes/any(c:c eq 'Unified'))", Not{X: Any{Collection: "groupTypes", Var: "c", Body: eq(rangeVar(), str("Unified"))}}},
	{"otherMails/$count eq 0", CountCompare{Collection: "otherMails", Op: "eq", Value: 0}},
	{"otherMails/$COUNT NE 0", CountCompare{Collection: "otherMails", Op: "ne", Value: 0}},
	{"passwordProfile/forceChangePasswordNextSignIn eq true", eq(prop("passwordProfile", "forceChangePasswordNextSignIn"), boolean(true))},
	{"extension_0a1b2c_costCenter eq 'R&D'", eq(prop("extension_0a1b2c_costCenter"), str("R&D"))},
	{"a eq 'it''s'", eq(prop("a"), str("it's"))},
	{"a eq ''''", eq(prop("a"), str("'"))},
	{"a eq ''", eq(prop("a"), str(""))},
	{"a eq 'Zoë (and) ,/:'", eq(prop("a"), str("Zoë (and) ,/:"))},
	{"a eq -12", eq(prop("a"), num(-12))},
	{"a eq 3.25", eq(prop("a"), num(3.25))},
	{"a eq 007", eq(prop("a"), num(7))},
	{"a eq TRUE or a eq false", or(eq(prop("a"), boolean(true)), eq(prop("a"), boolean(false)))},
	{"a eq Null", eq(prop("a"), null)},
	{"id eq 0E8B3A55-6C1D-47F2-A0B9-3D2C1E4F5A6B", eq(prop("id"), guid("0e8b3a55-6c1d-47f2-a0b9-3d2c1e4f5a6b"))},
	{"id eq deadbeef-0000-0000-0000-00000000abcd", eq(prop("id"), guid("deadbeef-0000-0000-0000-00000000abcd"))},
	{"d ge 2024-01-02T03:04:05Z", Compare{Op: "ge", Property: prop("d"), Value: dateTime("2024-01-02T03:04:05Z")}},
	{"d le 2024-01-02T03:04:05.1234567+02:00", Compare{Op: "le", Property: prop("d"), Value: dateTime("2024-01-02T01:04:05.1234567Z")}},
	{"d eq 2024-01-02t03:04z", eq(prop("d"), dateTime("2024-01-02T03:04:00Z"))},
	{"d eq 2024-01-02T03:04:05.000Z", eq(prop("d"), dateTime("2024-01-02T03:04:05Z"))},
	{"d eq 2024-01-01T00:30:00-01:00", eq(prop("d"), dateTime("2024-01-01T01:30:00Z"))},
}

// invalidFilters must fail with Request_BadRequest naming position pos
// (-1: a message without a position).
var invalidFilters = []struct {
	in  string
	pos int
}{
	{"", 0},
	{"   ", 3},
	{"userType", 8},
	{"userType eq", 11},
	{"userType eq 'Guest", 12},
	{"userType eq Guest", 12},
	{"userType == 'a'", 9},
	{"userType eq 'a' and", 19},
	{"userType eq 'a' userType eq 'b'", 16},
	{"(userType eq 'a'", 16},
	{"userType eq 'a')", 15},
	{"'Guest' eq userType", 0},
	{"accountEnabled", 14},
	{"contains(displayName,'a')", 0},
	{"startsWith(displayName)", 22},
	{"startsWith(displayName,'a'", 26},
	{"startsWith(displayName,'a') eq true", 28},
	{"otherMails/any()", 15},
	{"otherMails/any(x x eq 'a')", 17},
	{"otherMails/any(x:y eq 'a')", 17},
	{"otherMails/any(x:x/any(y:y eq 'a'))", 18},
	{"otherMails/any(x:x/$count eq 0)", 18},
	{"otherMails/any(any:any eq 'a')", 15},
	{"a/b/any(x:x eq 'a')", 3},
	{"otherMails/all(x:x eq 'a')", 11},
	{"otherMails/any", 11},
	{"otherMails/$count eq -1", 21},
	{"otherMails/$count eq 1.5", 21},
	{"otherMails/$count eq 99999999999999999999", 21},
	{"otherMails/$count", 17},
	{"otherMails/$top eq 1", 11},
	{"a in ()", 6},
	{"a in ('x' 'y')", 10},
	{"a in 'x'", 5},
	{"eq eq 1", 0},
	{"a eq 1 and not", 14},
	{"a/ eq 1", 3},
	{"a eq 1.5.3", 8},
	{"a eq 1.", 6},
	{"a eq 12abc", 7},
	{"a eq 1e5", 6},
	{"a eq -", 5},
	{"a eq 1" + strings.Repeat("0", 400), 5},
	{"a eq 2024-13-01T00:00:00Z", 5},
	{"a eq 2024-01-02", 5},
	{"a eq 2024-01-02T03:04:05", 5},
	{"a eq 2024-01-02T03:04:05.1234567890Z", 5},
	{"a eq 2024-01-02T03:04:05Zx", 5},
	{"a eq 0000-01-01T00:00:00Z", 5},
	{"a eq guid'0e8b3a55-6c1d-47f2-a0b9-3d2c1e4f5a6b'", 5},
	{"a eq 0e8b3a55-6c1d-47f2-a0b9-3d2c1e4f5a6bx", 6},
	{"a eq 'x\x00'", 7},
	{"a eq @p", 5},
	{"a eq 1 and b eq 2 ;", 18},
	{"a eq 'x'\x01", 8},
	{"a eq 'caf\xe9'", -1},
	{"a eq '" + strings.Repeat("x", MaxQueryLength) + "'", -1},
}

func TestParseFilter(t *testing.T) {
	for _, tc := range validFilters {
		got, err := ParseFilter(tc.in)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseFilter(%q)\n got %#v\nwant %#v", tc.in, got, tc.want)
		}
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, tc := range invalidFilters {
		e, err := ParseFilter(tc.in)
		oe := requireError(t, tc.in, err, CodeBadRequest)
		if oe == nil {
			t.Errorf("ParseFilter(%q) = %#v, want an error", tc.in, e)
			continue
		}
		if tc.pos >= 0 && !strings.Contains(oe.Message, fmt.Sprintf(" at position %d in '", tc.pos)) {
			t.Errorf("ParseFilter(%q): message %q does not name position %d", tc.in, oe.Message, tc.pos)
		}
	}
}

func TestParseFilterMessages(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mail eq a@b", "Syntax error: character '@' is not valid at position 9 in 'mail eq a@b'."},
		{"userType eq", "Syntax error: expected a literal but found the end of the input at position 11 in 'userType eq'."},
		{"(a eq 1 and b eq 2", "Syntax error: expected ')' but found the end of the input at position 18 in '(a eq 1 and b eq 2'."},
		{"a in ('x' 'y')", "Syntax error: expected ',' or ')' but found 'y' at position 10 in 'a in ('x' 'y')'."},
	}
	for _, tc := range tests {
		_, err := ParseFilter(tc.in)
		if oe := requireError(t, tc.in, err, CodeBadRequest); oe != nil && oe.Message != tc.want {
			t.Errorf("ParseFilter(%q) message\n got %q\nwant %q", tc.in, oe.Message, tc.want)
		}
	}
}

func TestParseFilterLimits(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("(", n) + "a eq 1" + strings.Repeat(")", n) }
	nots := func(n int) string { return strings.Repeat("not ", n) + "a eq 1" }
	// A chain of n ors has 2n+1 nodes.
	chain := func(n int) string { return "a eq 1" + strings.Repeat(" or a eq 1", n) }
	list := func(n int) string { return "a in (" + strings.TrimSuffix(strings.Repeat("1,", n), ",") + ")" }
	tests := []struct {
		in string
		ok bool
	}{
		{nest(MaxFilterDepth), true},
		{nest(MaxFilterDepth + 1), false},
		{nots(MaxFilterDepth), true},
		{nots(MaxFilterDepth + 1), false},
		{"x/any(y:" + nest(MaxFilterDepth-1) + ")", false},
		{chain((MaxFilterNodes - 1) / 2), true},
		{chain((MaxFilterNodes-1)/2 + 1), false},
		{list(MaxFilterNodes - 1), true},
		{list(MaxFilterNodes), false},
		{"a eq '" + strings.Repeat("x", MaxQueryLength-8) + "'", true},
	}
	for _, tc := range tests {
		_, err := ParseFilter(tc.in)
		if tc.ok && err != nil {
			t.Errorf("ParseFilter(%.40q…): %v", tc.in, err)
		}
		if !tc.ok {
			requireError(t, tc.in[:min(len(tc.in), 40)], err, CodeBadRequest)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		e    Expr
		want string
	}{
		{nil, ""},
		{or(and(eq(prop("a"), num(1)), eq(prop("b"), num(2))), eq(prop("c"), num(3))), "a eq 1 and b eq 2 or c eq 3"},
		{and(eq(prop("a"), num(1)), or(eq(prop("b"), num(2)), eq(prop("c"), num(3)))), "a eq 1 and (b eq 2 or c eq 3)"},
		{and(eq(prop("a"), num(1)), and(eq(prop("b"), num(2)), eq(prop("c"), num(3)))), "a eq 1 and (b eq 2 and c eq 3)"},
		{Not{X: or(eq(prop("a"), num(1)), eq(prop("b"), num(2)))}, "not (a eq 1 or b eq 2)"},
		{Not{X: eq(prop("a"), null)}, "not a eq null"},
		{
			Any{Collection: "identities", Var: "c", Body: and(eq(rangeVar("issuer"), str("it's")), eq(rangeVar(), boolean(false)))},
			"identities/any(c:c/issuer eq 'it''s' and c eq false)",
		},
		{In{Property: prop("p", "q"), Values: []Literal{num(-0.5), guid("0e8b3a55-6c1d-47f2-a0b9-3d2c1e4f5a6b"), dateTime("2024-01-02T03:04:05Z")}}, "p/q in (-0.5,0e8b3a55-6c1d-47f2-a0b9-3d2c1e4f5a6b,2024-01-02T03:04:05Z)"},
		{Func{Name: "endsWith", Property: prop("mail"), Arg: str("@x")}, "endsWith(mail,'@x')"},
		{CountCompare{Collection: "otherMails", Op: "ne", Value: 0}, "otherMails/$count ne 0"},
		{&Compare{}, "<*odata.Compare>"},
	}
	for _, tc := range tests {
		if got := Format(tc.e); got != tc.want {
			t.Errorf("Format(%#v) = %q, want %q", tc.e, got, tc.want)
		}
	}
	for _, tc := range validFilters {
		checkRoundTrip(t, tc.want)
	}
}

// checkRoundTrip asserts that e, a parsed filter, survives Format and a
// second parse unchanged, and that Format is then stable.
func checkRoundTrip(t *testing.T, e Expr) {
	t.Helper()
	text := Format(e)
	if len(text) > MaxQueryLength {
		return
	}
	again, err := ParseFilter(text)
	if err != nil {
		t.Fatalf("ParseFilter(Format(%#v)) = ParseFilter(%q): %v", e, text, err)
	}
	if !reflect.DeepEqual(again, e) {
		t.Fatalf("round trip through %q\n got %#v\nwant %#v", text, again, e)
	}
	if text2 := Format(again); text2 != text {
		t.Fatalf("Format not stable: %q then %q", text, text2)
	}
}

// requireError checks that err is an *Error with the given code and returns
// it; it returns nil (after reporting) otherwise.
func requireError(t *testing.T, input string, err error, code string) *Error {
	t.Helper()
	var oe *Error
	if !errors.As(err, &oe) {
		t.Errorf("%q: error %v is not an *Error", input, err)
		return nil
	}
	if oe.Code != code {
		t.Errorf("%q: code %q (%s), want %q", input, oe.Code, oe.Message, code)
	}
	if oe.Error() != oe.Code+": "+oe.Message {
		t.Errorf("%q: Error() = %q", input, oe.Error())
	}
	return oe
}
