package hostedpage

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

// TestCatalogComplete keeps the card's messages complete in every language.
func TestCatalogComplete(t *testing.T) {
	for _, err := range i18n.CheckComplete(catalog) {
		t.Error(err)
	}
}
