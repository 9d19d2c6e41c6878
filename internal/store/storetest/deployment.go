package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// application is a registration of tenantID with an appId and identifier URIs.
func application(tenantID, id, appID string, uris ...string) *store.Object {
	return &store.Object{TenantID: tenantID, Kind: kindApp, ID: id, AppID: appID, DisplayName: id,
		IdentifierURIs: uris, CreatedAt: base, UpdatedAt: base, Data: []byte(`{}`)}
}

// testDeploymentKeys: an application's appId names one live application in
// the whole deployment (sign-in resolves it before it knows the tenant),
// while other kinds (a tenant's principal of the application) keep their
// appIds per tenant.
func testDeploymentKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	newTenant(t, s, "t2")
	const shared = "22222222-0000-0000-0000-000000000001"
	create(t, s, application("t1", "a1", shared))

	err := s.Update(ctx, func(tx store.Tx) error { return tx.CreateObject(ctx, application("t2", "a2", shared)) })
	wantConflict(t, "an application in t2 with t1's appId", err, "appId")
	create(t, s, &store.Object{TenantID: "t2", Kind: kindSP, ID: "sp", AppID: shared, CreatedAt: base, UpdatedAt: base})

	// Taking it by update fails too, and leaves the application as it was.
	create(t, s, application("t2", "a2", "22222222-0000-0000-0000-000000000002"))
	err = s.Update(ctx, func(tx store.Tx) error {
		o := application("t2", "a2", shared)
		o.Version = 1
		return tx.UpdateObject(ctx, o)
	})
	wantConflict(t, "updating t2's application to t1's appId", err, "appId")
	if o, err := get(t, s, "t2", kindApp, "a2"); err != nil || o.AppID != "22222222-0000-0000-0000-000000000002" || o.Version != 1 {
		t.Errorf("after the refused update: %+v, %v", o, err)
	}

	// A deleted application frees its appId; restoring it once another
	// tenant took the appId is refused.
	update(t, s, func(tx store.Tx) error { return tx.DeleteObject(ctx, "t1", kindApp, "a1", 0) })
	create(t, s, application("t2", "a3", shared))
	err = s.Update(ctx, func(tx store.Tx) error { _, err := tx.RestoreObject(ctx, "t1", kindApp, "a1"); return err })
	wantConflict(t, "restoring onto an appId another tenant took", err, "appId")
	view(t, s, func(tx store.Tx) error {
		o, err := tx.LookupApplication(ctx, shared)
		if err != nil || o.TenantID != "t2" || o.ID != "a3" {
			t.Errorf("LookupApplication = %+v, %v", o, err)
		}
		return nil
	})
}

// testIdentifierURIs: an identifier URI (compared without case) is held by
// one application in the deployment from its creation until it is purged,
// and a refused write changes nothing, so the transaction can go on.
func testIdentifierURIs(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	newTenant(t, s, "t2")
	create(t, s, application("t1", "a1", "33333333-0000-0000-0000-000000000001", "api://one", "https://Contoso.example/api", "api://one"))

	update(t, s, func(tx store.Tx) error {
		err := tx.CreateObject(ctx, application("t2", "a2", "33333333-0000-0000-0000-000000000002", "api://two", "API://ONE"))
		wantConflict(t, "another tenant's application with a held URI", err, "identifierUris")
		if _, err := tx.GetObject(ctx, "t2", kindApp, "a2"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the refused application was written: %v", err)
		}
		// Nothing of the refused write remains: its other URI is free.
		return tx.CreateObject(ctx, application("t2", "a2", "33333333-0000-0000-0000-000000000002", "api://two"))
	})

	// By update: refused, and the application keeps its version and URIs.
	update(t, s, func(tx store.Tx) error {
		o := application("t2", "a2", "33333333-0000-0000-0000-000000000002", "api://three", "https://contoso.example/API")
		o.Version = 1
		wantConflict(t, "updating to a held URI", tx.UpdateObject(ctx, o), "identifierUris")
		if cur, err := tx.GetObject(ctx, "t2", kindApp, "a2"); err != nil || cur.Version != 1 {
			t.Errorf("after the refused update: %+v, %v", cur, err)
		}
		return tx.CreateObject(ctx, application("t2", "a4", "33333333-0000-0000-0000-000000000004", "api://three"))
	})
	err := s.Update(ctx, func(tx store.Tx) error {
		return tx.CreateObject(ctx, application("t1", "a5", "33333333-0000-0000-0000-000000000005", "api://two"))
	})
	wantConflict(t, "a URI that the refused update did not release", err, "identifierUris")

	// Dropping a URI frees it; keeping one is no conflict with oneself.
	update(t, s, func(tx store.Tx) error {
		o := application("t1", "a1", "33333333-0000-0000-0000-000000000001", "https://contoso.example/api")
		o.Version = 1
		return tx.UpdateObject(ctx, o)
	})
	create(t, s, application("t2", "a6", "33333333-0000-0000-0000-000000000006", "api://one"))

	// A soft-deleted application keeps its URIs, so a restore never finds
	// them taken; purging it frees them.
	update(t, s, func(tx store.Tx) error { return tx.DeleteObject(ctx, "t1", kindApp, "a1", 0) })
	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.CreateObject(ctx, application("t2", "a7", "33333333-0000-0000-0000-000000000007", "https://contoso.example/api"))
	})
	wantConflict(t, "a URI of a deleted application", err, "identifierUris")
	update(t, s, func(tx store.Tx) error { _, err := tx.RestoreObject(ctx, "t1", kindApp, "a1"); return err })
	update(t, s, func(tx store.Tx) error { return tx.DeleteObject(ctx, "t1", kindApp, "a1", 0) })
	update(t, s, func(tx store.Tx) error { return tx.PurgeObject(ctx, "t1", kindApp, "a1") })
	create(t, s, application("t2", "a7", "33333333-0000-0000-0000-000000000007", "https://contoso.example/api"))
}

// testDeploymentKeysConcurrent: tenants racing for one appId or one
// identifier URI end with exactly one winner, and every loser is told which
// key it lost.
func testDeploymentKeysConcurrent(t *testing.T, s store.Store) {
	const writers = 12
	for i := range writers {
		newTenant(t, s, fmt.Sprintf("t%02d", i))
	}
	for _, tc := range []struct {
		key string
		app func(tenantID string, i int) *store.Object
	}{
		{"appId", func(tid string, i int) *store.Object {
			return application(tid, "x", "44444444-0000-0000-0000-000000000000", fmt.Sprintf("api://x%d", i))
		}},
		{"identifierUris", func(tid string, i int) *store.Object {
			return application(tid, "y", fmt.Sprintf("44444444-0000-0000-0000-1000000000%02d", i), fmt.Sprintf("api://y%d", i), "api://contested")
		}},
	} {
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			wg.Go(func() {
				errs[i] = s.Update(t.Context(), func(tx store.Tx) error {
					return tx.CreateObject(t.Context(), tc.app(fmt.Sprintf("t%02d", i), i))
				})
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
				continue
			}
			wantConflict(t, "a racing create", err, tc.key)
		}
		if won != 1 {
			t.Errorf("%s: %d of %d racing creates won, want 1", tc.key, won, writers)
		}
	}
}
