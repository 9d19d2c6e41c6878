package hostedpage

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
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
		{strings.Repeat("sv,", 40) + "pl", slices.Repeat([]string{"sv"}, maxLanguageRanges)},
	}
	for _, tc := range cases {
		if got := parseAcceptLanguage(tc.header); !slices.Equal(got, tc.want) {
			t.Errorf("parseAcceptLanguage(%q) = %q, want %q", tc.header, got, tc.want)
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

// FuzzParseAcceptLanguage: any header parses without panicking into at
// most maxLanguageRanges valid tags.
func FuzzParseAcceptLanguage(f *testing.F) {
	for _, s := range []string{"", "en-US,en;q=0.9", "*;q=0.1", "sv;q=1.0000, pl;q=.5", ",,,;;;q=", "x-\xff;q=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tags := parseAcceptLanguage(h)
		if len(tags) > maxLanguageRanges {
			t.Fatalf("%d tags", len(tags))
		}
		for _, tag := range tags {
			if !validLanguageTag(tag) {
				t.Fatalf("invalid tag %q", tag)
			}
		}
		if lang := Negotiate(nil, h); !slices.Contains(Languages, lang) {
			t.Fatalf("negotiated %q", lang)
		}
	})
}

func TestLang(t *testing.T) {
	cases := []struct {
		cookie, accept string
		ui             []string
		want           string
	}{
		{"", "", nil, "en"},
		{"", "pl", nil, "pl"},
		{"", "pl", []string{"it"}, "it"},
		{"gh-lang=sv", "pl", []string{"it"}, "sv"},
		{"__Host-gh-lang=it", "pl", nil, "it"},
		{"gh-lang=de", "pl", nil, "pl"}, // not a page language
		{"gh-lang=SV", "", nil, "en"},   // the switch sends lower case only
	}
	for _, tc := range cases {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.cookie != "" {
			r.Header.Set("Cookie", tc.cookie)
		}
		r.Header.Set("Accept-Language", tc.accept)
		if got := Lang(r, tc.ui...); got != tc.want {
			t.Errorf("Lang(cookie %q, accept %q, ui %q) = %q, want %q", tc.cookie, tc.accept, tc.ui, got, tc.want)
		}
	}
}
