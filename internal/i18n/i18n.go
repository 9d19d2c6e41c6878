// Package i18n owns the languages of Gatehouse's pages (the hosted sign-in
// pages and the admin centre): which languages there are, loading each
// surface's message catalog, and choosing a request's language.
package i18n

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Languages are the pages' languages, the default first.
var Languages = []string{"en", "sv", "it", "pl"}

// Catalog holds each language's messages by key.
type Catalog map[string]map[string]string

// Load reads dir/<lang>.json for every language from fsys.
func Load(fsys fs.FS, dir string) (Catalog, error) {
	cat := make(Catalog, len(Languages))
	for _, lang := range Languages {
		b, err := fs.ReadFile(fsys, path.Join(dir, lang+".json"))
		if err != nil {
			return nil, fmt.Errorf("i18n: messages for %s: %w", lang, err)
		}
		var msgs map[string]string
		if err := json.Unmarshal(b, &msgs); err != nil {
			return nil, fmt.Errorf("i18n: messages for %s: %w", lang, err)
		}
		cat[lang] = msgs
	}
	return cat, nil
}

// Locale is one language's messages, as the templates see them.
type Locale struct {
	Lang string
	msgs map[string]string
	en   map[string]string
}

// Locale returns the messages of lang (one of Languages).
func (c Catalog) Locale(lang string) *Locale {
	return &Locale{Lang: lang, msgs: c[lang], en: c["en"]}
}

// T returns the message for key, formatted with args. A key missing in the
// language falls back to English (each surface's catalog test keeps them
// complete).
func (l *Locale) T(key string, args ...any) string {
	msg, ok := l.msgs[key]
	if !ok {
		msg = l.en[key]
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// Has reports whether key has a message, for optional texts such as the
// description of a well-known scope.
func (l *Locale) Has(key string) bool {
	_, ok := l.en[key]
	return ok
}

// Negotiate picks the page language: the languages the request asks for
// first (ui_locales, a chosen language), then the browser's
// Accept-Language, then English.
func Negotiate(preferred []string, acceptLanguage string) string {
	for _, tag := range slices.Concat(preferred, ParseAcceptLanguage(acceptLanguage)) {
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		base, _, _ = strings.Cut(base, "_")
		if slices.Contains(Languages, base) {
			return base
		}
	}
	return Languages[0]
}

// MaxLanguageRanges bounds the work an Accept-Language header can cause.
const MaxLanguageRanges = 32

// ParseAcceptLanguage returns an Accept-Language header's language ranges
// (RFC 9110 section 12.5.4) by descending weight, dropping malformed ones,
// those with weight 0 and the wildcard.
func ParseAcceptLanguage(h string) []string {
	type weighted struct {
		tag string
		q   float64
	}
	var ranges []weighted
	for i, part := range strings.Split(h, ",") {
		if i == MaxLanguageRanges {
			break
		}
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.TrimSpace(tag)
		if !ValidLanguageTag(tag) {
			continue
		}
		q := 1.0
		if params = strings.TrimSpace(params); params != "" {
			v, ok := strings.CutPrefix(params, "q=")
			if !ok {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		if q > 0 {
			ranges = append(ranges, weighted{tag, q})
		}
	}
	slices.SortStableFunc(ranges, func(a, b weighted) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	tags := make([]string, len(ranges))
	for i, r := range ranges {
		tags[i] = r.tag
	}
	return tags
}

// ValidLanguageTag accepts a language range: 1-8 letters, then subtags of
// 1-8 letters or digits separated by hyphens. The wildcard is not useful
// for choosing and is refused.
func ValidLanguageTag(tag string) bool {
	for i, sub := range strings.Split(tag, "-") {
		if len(sub) < 1 || len(sub) > 8 {
			return false
		}
		for _, c := range []byte(sub) {
			letter := c|0x20 >= 'a' && c|0x20 <= 'z'
			if !letter && (i == 0 || c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}

// verbs are the formatting verbs a message takes its arguments by.
var verbs = regexp.MustCompile(`%(\[\d\])?[a-z]`)

// CheckComplete lists how a catalog's translations fall short of English:
// missing or extra keys, empty messages, and messages whose formatting verbs
// differ from the English ones. Each surface's tests require none.
func CheckComplete(cat Catalog) []error {
	var errs []error
	en := cat["en"]
	for _, lang := range Languages[1:] {
		if got, want := slices.Sorted(maps.Keys(cat[lang])), slices.Sorted(maps.Keys(en)); !slices.Equal(got, want) {
			errs = append(errs, fmt.Errorf("%s keys differ from English:\n%v\n%v", lang, got, want))
		}
		for key, msg := range cat[lang] {
			got := slices.Sorted(slices.Values(verbs.FindAllString(msg, -1)))
			want := slices.Sorted(slices.Values(verbs.FindAllString(en[key], -1)))
			if !slices.Equal(got, want) {
				errs = append(errs, fmt.Errorf("%s %s: verbs %v, English has %v", lang, key, got, want))
			}
			if msg == "" {
				errs = append(errs, fmt.Errorf("%s %s: empty", lang, key))
			}
		}
	}
	return errs
}
