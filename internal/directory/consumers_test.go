package directory

import (
	"context"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestEnsureConsumersTenant: nodes racing to create the consumers tenant
// leave exactly one, with its fixed id, and later calls change nothing.
func TestEnsureConsumersTenant(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = s.EnsureConsumersTenant(ctx) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.EnsureConsumersTenant(ctx); err != nil {
		t.Fatal(err)
	}
	var tenants []store.Tenant
	err := s.View(ctx, func(tx store.Tx) error {
		var err error
		tenants, err = tx.ListTenants(ctx, "", 10)
		return err
	})
	if err != nil || len(tenants) != 1 || tenants[0].ID != ConsumersTenantID || tenants[0].Type != store.TenantExternal {
		t.Fatalf("tenants %+v, %v", tenants, err)
	}
}
