package login

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

// TestCatalogComplete keeps every language's catalog in step with English:
// the same keys, and the same formatting verbs in each message.
func TestCatalogComplete(t *testing.T) {
	cat, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range i18n.CheckComplete(cat) {
		t.Error(err)
	}
}
