package hostedpage

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Languages are the hosted pages' languages, the default first.
var Languages = []string{"en", "sv", "it", "pl"}

// Negotiate picks the page language: the request's ui_locales first, then
// the browser's Accept-Language, then English.
func Negotiate(uiLocales []string, acceptLanguage string) string {
	for _, tag := range slices.Concat(uiLocales, parseAcceptLanguage(acceptLanguage)) {
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		base, _, _ = strings.Cut(base, "_")
		if slices.Contains(Languages, base) {
			return base
		}
	}
	return Languages[0]
}

// maxLanguageRanges bounds the work an Accept-Language header can cause.
const maxLanguageRanges = 32

// parseAcceptLanguage returns an Accept-Language header's language ranges
// (RFC 9110 section 12.5.4) by descending weight, dropping malformed ones,
// those with weight 0 and the wildcard.
func parseAcceptLanguage(h string) []string {
	type weighted struct {
		tag string
		q   float64
	}
	var ranges []weighted
	for i, part := range strings.Split(h, ",") {
		if i == maxLanguageRanges {
			break
		}
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.TrimSpace(tag)
		if !validLanguageTag(tag) {
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

// validLanguageTag accepts a language range: 1-8 letters, then subtags of
// 1-8 letters or digits separated by hyphens. The wildcard is not useful
// for choosing and is refused.
func validLanguageTag(tag string) bool {
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

// LangCookie names the cookie that keeps the language a user chose with
// the sign-in pages' switch (with the __Host- prefix where the pages are
// served over https).
const LangCookie = "gh-lang"

// LanguageNames are the languages as the switch offers them: each in
// itself, so a user finds their own whatever the page's language.
var LanguageNames = map[string]string{"en": "English", "sv": "Svenska", "it": "Italiano", "pl": "Polski"}

// Chosen is v when it names a page language: the value the switch sends.
func Chosen(v string) (string, bool) {
	return v, slices.Contains(Languages, v)
}

// Lang is a page's language: the one the user chose with the switch, else
// the first of the application's ui_locales the pages speak, else the
// browser's Accept-Language. A choice beats the application's hint: it is
// the user's own word.
func Lang(r *http.Request, uiLocales ...string) string {
	for _, name := range []string{"__Host-" + LangCookie, LangCookie} {
		if c, err := r.Cookie(name); err == nil {
			if lang, ok := Chosen(c.Value); ok {
				return lang
			}
		}
	}
	return Negotiate(uiLocales, r.Header.Get("Accept-Language"))
}
