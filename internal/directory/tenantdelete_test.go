package directory

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

func TestTenantDeletable(t *testing.T) {
	for _, c := range []struct {
		name   string
		id     string
		others int
		ok     bool
	}{
		{"a tenant beside others", "11111111-1111-1111-1111-111111111111", 1, true},
		{"the last tenant of its own", "11111111-1111-1111-1111-111111111111", 0, false},
		{"the consumers tenant", ConsumersTenantID, 5, false},
	} {
		err := tenantDeletable(c.id, c.others)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
		if ue, isUser := usererr.As(err); err != nil && (!isUser || ue.Kind != usererr.Forbidden) {
			t.Errorf("%s: %v is not a user-safe refusal", c.name, err)
		}
	}
}
