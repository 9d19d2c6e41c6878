package login

import (
	"embed"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

//go:embed messages/*.json templates/*.html
var templateFS embed.FS

// locale is one language's messages, as the templates see them.
type locale = i18n.Locale

func loadCatalog() (i18n.Catalog, error) { return i18n.Load(templateFS, "messages") }
