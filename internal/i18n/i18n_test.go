package i18n

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestParseAcceptLanguage(t *testing.T) {
	cases := []struct {
		header string
		want   []string
	}{
		{"", nil},
		{"sv", []string{"sv"}},
		{"en-US,en;q=0.9,pl;q=0.95", []string{"en-US", "pl", "en"}},
		{"it;q=0, sv;q=0.1", []string{"sv"}},
		{"*, fr;q=0.5", []string{"fr"}},
		{"x y, de;q=abc, sv;level=1, pl ; q=0.3", []string{"pl"}},
		{"zh-Hant-TW, 1en, en-1234", []string{"zh-Hant-TW", "en-1234"}},
		{"sv;q=1.5, it;q=-1, pl;q=1.0", []string{"pl"}},
		{strings.Repeat("sv,", 40) + "pl", slices.Repeat([]string{"sv"}, MaxLanguageRanges)},
	}
	for _, tc := range cases {
		if got := ParseAcceptLanguage(tc.header); !slices.Equal(got, tc.want) {
			t.Errorf("ParseAcceptLanguage(%q) = %q, want %q", tc.header, got, tc.want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	cases := []struct {
		ui     []string
		accept string
		want   string
	}{
		{nil, "", "en"},
		{[]string{"de", "it-CH"}, "sv", "it"},
		{[]string{"de", "pl_PL"}, "sv", "pl"},
		{nil, "fr, pl_PL;q=0.2", "en"}, // not a language tag
		{nil, "SV-fi", "sv"},
		{[]string{"nb"}, "da", "en"},
	}
	for _, tc := range cases {
		if got := Negotiate(tc.ui, tc.accept); got != tc.want {
			t.Errorf("Negotiate(%q, %q) = %q, want %q", tc.ui, tc.accept, got, tc.want)
		}
	}
}

func TestLoadAndFallback(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, lang := range Languages {
		fsys["m/"+lang+".json"] = &fstest.MapFile{Data: []byte(`{"hello": "hello ` + lang + ` %s"}`)}
	}
	fsys["m/sv.json"] = &fstest.MapFile{Data: []byte(`{}`)}
	cat, err := Load(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	if got := cat.Locale("pl").T("hello", "x"); got != "hello pl x" {
		t.Errorf("pl: %q", got)
	}
	if got := cat.Locale("sv").T("hello", "x"); got != "hello en x" {
		t.Errorf("sv falls back to English: %q", got)
	}
	if cat.Locale("it").Has("nope") || !cat.Locale("it").Has("hello") {
		t.Error("Has")
	}
	delete(fsys, "m/it.json")
	if _, err := Load(fsys, "m"); err == nil {
		t.Error("a missing language loaded")
	}
}

func TestCheckComplete(t *testing.T) {
	good := Catalog{"en": {"a": "%s x"}, "sv": {"a": "y %s"}, "it": {"a": "%s"}, "pl": {"a": "%s!"}}
	if errs := CheckComplete(good); len(errs) != 0 {
		t.Errorf("complete catalog: %v", errs)
	}
	bad := Catalog{"en": {"a": "%s x", "b": "b"}, "sv": {"a": "y %d", "b": "b"}, "it": {"a": "%s"}, "pl": {"a": "%s", "b": ""}}
	if errs := CheckComplete(bad); len(errs) != 3 {
		t.Errorf("want 3 problems (sv verb, it keys, pl empty), got %v", errs)
	}
}

// FuzzParseAcceptLanguage: any header parses without panicking into at
// most MaxLanguageRanges valid tags.
func FuzzParseAcceptLanguage(f *testing.F) {
	for _, s := range []string{"", "en-US,en;q=0.9", "*;q=0.1", "sv;q=1.0000, pl;q=.5", ",,,;;;q=", "x-\xff;q=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tags := ParseAcceptLanguage(h)
		if len(tags) > MaxLanguageRanges {
			t.Fatalf("%d tags", len(tags))
		}
		for _, tag := range tags {
			if !ValidLanguageTag(tag) {
				t.Fatalf("invalid tag %q", tag)
			}
		}
		if lang := Negotiate(nil, h); !slices.Contains(Languages, lang) {
			t.Fatalf("negotiated %q", lang)
		}
	})
}
