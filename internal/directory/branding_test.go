package directory

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestBrandingProblems(t *testing.T) {
	cases := []struct {
		name string
		body Doc
		want []string // the properties at fault
	}{
		{"all good", Doc{"backgroundColor": "#123abc", "signInPageText": "Hello", "bannerLogoRelativeUrl": "https://cdn.example/logo.png"}, nil},
		{"cleared", Doc{"backgroundColor": nil, "signInPageText": nil, "bannerLogoRelativeUrl": nil}, nil},
		{"short colour", Doc{"backgroundColor": "#abc"}, nil},
		{"bad colour", Doc{"backgroundColor": "red"}, []string{"backgroundColor"}},
		{"http logo", Doc{"bannerLogoRelativeUrl": "http://cdn.example/logo.png"}, []string{"bannerLogoRelativeUrl"}},
		{"text too long", Doc{"signInPageText": strings.Repeat("x", 1025)}, []string{"signInPageText"}},
		{"every field at once", Doc{"backgroundColor": "#12", "signInPageText": strings.Repeat("x", 1025), "bannerLogoRelativeUrl": "ftp://x"},
			[]string{"backgroundColor", "bannerLogoRelativeUrl", "signInPageText"}},
		{"links", Doc{"customAccountResetCredentialsUrl": "https://help.example/reset", "customCannotAccessYourAccountText": "Locked out?",
			"customTermsOfUseUrl": "https://example.com/terms", "customTermsOfUseText": "Terms", "customPrivacyAndCookiesUrl": "https://example.com/privacy",
			"customPrivacyAndCookiesText": "Privacy"}, nil},
		{"links cleared", Doc{"customAccountResetCredentialsUrl": nil, "customTermsOfUseUrl": nil, "customPrivacyAndCookiesUrl": nil}, nil},
		{"links not https", Doc{"customAccountResetCredentialsUrl": "http://help.example/reset", "customTermsOfUseUrl": "javascript:alert(1)",
			"customPrivacyAndCookiesUrl": "/privacy"}, []string{"customAccountResetCredentialsUrl", "customPrivacyAndCookiesUrl", "customTermsOfUseUrl"}},
		{"reset link too long", Doc{"customAccountResetCredentialsUrl": "https://example.com/" + strings.Repeat("x", 110)}, []string{"customAccountResetCredentialsUrl"}},
		{"link text too long", Doc{"customTermsOfUseText": strings.Repeat("x", 257)}, []string{"customTermsOfUseText"}},
		{"link not a string", Doc{"customTermsOfUseUrl": 7}, []string{"customTermsOfUseUrl"}},
		{"unknown property", Doc{"colour": "#fff"}, []string{"colour"}},
		{"read-only id", Doc{"id": "0"}, []string{"id"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := BrandingProblems(tc.body)
			if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, tc.want) {
				t.Fatalf("problems with %v, want %v", keys, tc.want)
			}
			_, err := brandingSpec.normalize(tc.body)
			if (err == nil) != (len(tc.want) == 0) {
				t.Fatalf("SetBranding's check says %v", err)
			}
			for name, msg := range got {
				if !strings.Contains(msg, "'"+name+"'") {
					t.Errorf("%s: %q does not name the property", name, msg)
				}
			}
		})
	}
}
