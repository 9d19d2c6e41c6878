package login

import (
	"maps"
	"regexp"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
)

// TestCatalogComplete keeps every language's catalog in step with English:
// the same keys, and the same formatting verbs in each message.
func TestCatalogComplete(t *testing.T) {
	cat, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	verbs := regexp.MustCompile(`%(\[\d\])?[a-z]`)
	en := cat["en"]
	for _, lang := range hostedpage.Languages[1:] {
		if got, want := slices.Sorted(maps.Keys(cat[lang])), slices.Sorted(maps.Keys(en)); !slices.Equal(got, want) {
			t.Errorf("%s keys differ from English:\n%v\n%v", lang, got, want)
		}
		for key, msg := range cat[lang] {
			got := slices.Sorted(slices.Values(verbs.FindAllString(msg, -1)))
			want := slices.Sorted(slices.Values(verbs.FindAllString(en[key], -1)))
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: verbs %v, English has %v", lang, key, got, want)
			}
			if msg == "" {
				t.Errorf("%s %s: empty", lang, key)
			}
		}
	}
}
