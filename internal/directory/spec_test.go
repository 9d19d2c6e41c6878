package directory

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

func doc(t *testing.T, s string) Doc {
	t.Helper()
	d, err := DecodeBody([]byte(s))
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return d
}

func TestNormalizeUser(t *testing.T) {
	cases := []struct {
		name, in, want string
		fails          bool
	}{
		{name: "canonical names and enums", in: `{"DISPLAYNAME":"A","usertype":"guest","accountEnabled":true}`, want: `{"displayName":"A","userType":"Guest","accountEnabled":true}`},
		{name: "odata.type is accepted and dropped", in: `{"@odata.type":"#microsoft.graph.user","displayName":"A"}`, want: `{"displayName":"A"}`},
		{name: "null collection clears to empty", in: `{"otherMails":null}`, want: `{"otherMails":[]}`},
		{name: "null scalar is kept to clear", in: `{"jobTitle":null}`, want: `{"jobTitle":null}`},
		{name: "extension attribute", in: `{"extension_0123456789abcdef0123456789abcdef_tier":"gold"}`, want: `{"extension_0123456789abcdef0123456789abcdef_tier":"gold"}`},
		{name: "nested object fields", in: `{"passwordProfile":{"password":"x","forceChangePasswordNextSignIn":false}}`, want: `{"passwordProfile":{"password":"x","forceChangePasswordNextSignIn":false}}`},
		{name: "unknown property", in: `{"colour":"red"}`, fails: true},
		{name: "displayName cleared", in: `{"displayName":null}`, fails: true},
		{name: "displayName emptied", in: `{"displayName":""}`, fails: true},
		{name: "accountEnabled cleared", in: `{"accountEnabled":null}`, fails: true},
		{name: "unknown nested property", in: `{"passwordProfile":{"pin":"1"}}`, fails: true},
		{name: "read-only", in: `{"id":"x"}`, fails: true},
		{name: "bool as string", in: `{"accountEnabled":"true"}`, fails: true},
		{name: "enum outside its values", in: `{"userType":"Admin"}`, fails: true},
		{name: "too long", in: `{"givenName":"` + strings.Repeat("x", 65) + `"}`, fails: true},
		{name: "bad email in otherMails", in: `{"otherMails":["not-an-email"]}`, fails: true},
		{name: "two business phones", in: `{"businessPhones":["1","2"]}`, fails: true},
		{name: "other annotation", in: `{"@odata.id":"x"}`, fails: true},
		{name: "malformed extension name", in: `{"extension_abc_tier":"gold"}`, fails: true},
		{name: "bad UPN character", in: `{"userPrincipalName":"a b@x.example"}`, fails: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := userSpec.normalize(doc(t, c.in))
			if c.fails {
				if !usererr.IsKind(err, usererr.Invalid) {
					t.Fatalf("want an Invalid error, got %v (%v)", err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := doc(t, c.want); !reflect.DeepEqual(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	cur := Doc{"a": "1", "web": map[string]any{"homePageUrl": "h", "redirectUris": []any{"x"}}, "tags": []any{"t1", "t2"}}
	patch := Doc{"a": nil, "web": map[string]any{"redirectUris": []any{"y"}}, "tags": []any{"t3"}}
	got := merge(cur, patch)
	want := Doc{"web": map[string]any{"homePageUrl": "h", "redirectUris": []any{"y"}}, "tags": []any{"t3"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if cur["a"] != "1" {
		t.Fatal("merge modified its input")
	}
}

func TestPresent(t *testing.T) {
	d := Doc{"id": "1", "displayName": "A", "passwordProfile": map[string]any{"forceChangePasswordNextSignIn": true}, "userType": "Member"}
	def := userSpec.present(d, nil)
	if _, ok := def["userType"]; ok {
		t.Error("userType is not in the default set")
	}
	if v, ok := def["surname"]; !ok || v != nil {
		t.Error("unset default properties are null")
	}
	if v := def["businessPhones"]; !reflect.DeepEqual(v, []any{}) {
		t.Errorf("not-nullable collections are [], got %v", v)
	}
	sel := userSpec.present(d, []string{"passwordProfile", "userType"})
	if v, ok := sel["passwordProfile"]; !ok || v != nil {
		t.Errorf("selected write-only property: %v, want null", v)
	}
	if sel["userType"] != "Member" || sel["id"] != "1" || len(sel) != 3 {
		t.Errorf("selected: %v", sel)
	}
	if _, err := userSpec.resolveSelect([]string{"nope"}); !usererr.IsKind(err, usererr.Invalid) {
		t.Error("unknown $select property accepted")
	}
}

func TestRedirectURIs(t *testing.T) {
	for _, tc := range []struct {
		uri         string
		web, public bool // accepted for web and spa clients, for public clients
	}{
		{"https://app.example/cb", true, true},
		{"http://localhost:3000/cb", true, true},
		{"http://127.0.0.1/cb", true, true},
		{"http://app.example/cb", false, false},
		{"https://app.example/cb#frag", false, false},
		{"https://*.example/cb", false, false},
		{"/relative", false, false},
		{"https:///cb", false, false},
		{"msal00000000-0000-0000-0000-000000000001://auth", false, true},
		{"com.example.app:/oauth2redirect", false, true},
		{"myapp://callback", false, true},
		{"javascript:alert(1)", false, false},
		{"javascript://app.example/%0aalert(1)", false, false},
		{"JavaScript://x/%0aalert(1)", false, false},
		{"vbscript://x/msgbox", false, false},
		{"data://x/text/html,<script>alert(1)</script>", false, false},
		{"data:text/html,<script>alert(1)</script>", false, false},
		{"file://server/share/cb.html", false, false},
		{"file:///etc/passwd", false, false},
		{"blob://app.example/x", false, false},
	} {
		if err := checkRedirectURI(tc.uri, false); (err == nil) != tc.web {
			t.Errorf("web %q: err %v, want ok=%v", tc.uri, err, tc.web)
		}
		if err := checkRedirectURI(tc.uri, true); (err == nil) != tc.public {
			t.Errorf("public %q: err %v, want ok=%v", tc.uri, err, tc.public)
		}
	}
}

func TestParseETag(t *testing.T) {
	for in, want := range map[string]int64{`W/"3"`: 3, `"3"`: 3, "*": 0} {
		if got, err := ParseETag(in); err != nil || got != want {
			t.Errorf("%s: %d %v", in, got, err)
		}
	}
	for _, bad := range []string{`W/"x"`, `"0"`, ``, `W/"-1"`} {
		if _, err := ParseETag(bad); !usererr.IsKind(err, usererr.Precondition) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDecodeBody(t *testing.T) {
	for _, bad := range []string{``, `null`, `[]`, `{"a":1} {"b":2}`, `{"a":`} {
		if _, err := DecodeBody([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	d, err := DecodeBody([]byte(`{"n": 12345678901234567890}`))
	if err != nil || d["n"].(json.Number).String() != "12345678901234567890" {
		t.Errorf("numbers must survive: %v %v", d, err)
	}
}
