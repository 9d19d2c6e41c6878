package hostedpage

import (
	"net/http"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

// LangCookie names the cookie that keeps the language a user chose with
// the sign-in pages' switch (with the __Host- prefix where the pages are
// served over https).
const LangCookie = "gh-lang"

// LanguageNames are the languages as the switch offers them: each in
// itself, so a user finds their own whatever the page's language.
var LanguageNames = map[string]string{"en": "English", "sv": "Svenska", "it": "Italiano", "pl": "Polski"}

// Chosen is v when it names a page language: the value the switch sends.
func Chosen(v string) (string, bool) {
	return v, slices.Contains(i18n.Languages, v)
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
	return i18n.Negotiate(uiLocales, r.Header.Get("Accept-Language"))
}
