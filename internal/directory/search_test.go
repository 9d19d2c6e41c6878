package directory

import (
	"slices"
	"testing"
)

func TestSearchTokens(t *testing.T) {
	for in, want := range map[string][]string{
		"hello world":   {"hello", "world"},
		"HelloWorld":    {"hello", "world"},
		"helloWORLD":    {"hello", "world"},
		"HELLOworld":    {"helloworld"},
		"hello.world":   {"hello", "world", "helloworld"},
		"hello123world": {"hello", "123", "world"},
		"李四(David Li)":  {"李四", "david", "李四david", "li"},
	} {
		if got := searchTokens(in); !slices.Equal(got, want) {
			t.Errorf("searchTokens(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSearchMatches(t *testing.T) {
	doc := Doc{"displayName": "Contoso OneVideo Team", "mail": "one.video@contoso.example", "description": "Weekly video-calls"}
	for q, want := range map[string]bool{
		`"displayName:OneVideo"`:                   true,
		`"displayName:video one"`:                  true,
		`"displayName:vid"`:                        true,
		`"displayName:ideo"`:                       false,
		`"description:videocalls"`:                 true,
		`"mail:one.vid"`:                           true,
		`"mail:video"`:                             false,
		`"displayName:nope" OR "mail:one"`:         true,
		`"displayName:contoso" AND "mail:nope"`:    false,
		`"displayName:team" AND "description:wee"`: true,
	} {
		s, err := ParseSearch(KindGroup, q)
		if err != nil {
			t.Fatalf("ParseSearch(%s): %v", q, err)
		}
		if got := s.matches(doc); got != want {
			t.Errorf("%s matches = %v, want %v", q, got, want)
		}
	}
	for _, bad := range []string{`displayName:x`, `"displayName:x`, `"jobTitle:x"`, `"displayName:"`, `"displayName:x" NEAR "mail:y"`, `"displayName:x" OR`, ``} {
		if _, err := ParseSearch(KindGroup, bad); err == nil {
			t.Errorf("ParseSearch(%s) accepted", bad)
		}
	}
	if _, err := ParseSearch(KindApplication, `"displayName:x"`); err == nil {
		t.Errorf("$search accepted on applications")
	}
}
