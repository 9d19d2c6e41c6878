package hostedpage

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

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
