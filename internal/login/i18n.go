package login

import (
	"embed"
	"encoding/json"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
)

//go:embed messages/*.json templates/*.html
var templateFS embed.FS

// catalog holds each language's messages by key.
type catalog map[string]map[string]string

func loadCatalog() (catalog, error) {
	cat := make(catalog, len(hostedpage.Languages))
	for _, lang := range hostedpage.Languages {
		b, err := templateFS.ReadFile("messages/" + lang + ".json")
		if err != nil {
			return nil, fmt.Errorf("login: messages for %s: %w", lang, err)
		}
		var msgs map[string]string
		if err := json.Unmarshal(b, &msgs); err != nil {
			return nil, fmt.Errorf("login: messages for %s: %w", lang, err)
		}
		cat[lang] = msgs
	}
	return cat, nil
}

// locale is one language's messages, as the templates see them.
type locale struct {
	Lang string
	msgs map[string]string
	en   map[string]string
}

func (c catalog) locale(lang string) *locale {
	return &locale{Lang: lang, msgs: c[lang], en: c["en"]}
}

// T returns the message for key, formatted with args. A key missing in the
// language falls back to English (the catalog test keeps them complete).
func (l *locale) T(key string, args ...any) string {
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
func (l *locale) Has(key string) bool {
	_, ok := l.en[key]
	return ok
}
