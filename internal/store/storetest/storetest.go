// Package storetest is the conformance suite of store.Store: one set of tests
// that every backend (store/sqlite, store/postgres) runs against itself, so
// that the backends agree on every behaviour the port promises, and the
// benchmarks they share.
package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Run runs the suite. open returns a fresh, empty, migrated store for one
// test and arranges for it to be closed when the test ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Ping", testPing},
		{"Tenants", testTenants},
		{"DeleteTenant", testDeleteTenant},
		{"Domains", testDomains},
		{"ObjectLifecycle", testObjectLifecycle},
		{"UniqueKeys", testUniqueKeys},
		{"TxUsableAfterStoreErrors", testTxUsableAfterErrors},
		{"OptimisticConcurrency", testOptimisticConcurrency},
		{"Links", testLinks},
		{"ChangeFeed", testChangeFeed},
		{"ChangeFeedConcurrent", testChangeFeedConcurrent},
		{"Outbox", testOutbox},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"OutboxVisibleAfterCommit", testOutboxVisibleAfterCommit},
		{"OutboxDepth", testOutboxDepth},
		{"Rollback", testRollback},
		{"WritesWaitingTogether", testWritesWaitingTogether},
		{"ViewIsReadOnly", testViewIsReadOnly},
		{"Credentials", testCredentials},
		{"SigningKeys", testSigningKeys},
		{"TenantIsolation", testTenantIsolation},
		{"Filters", testFilters},
		{"Paging", testPaging},
		{"BadQueries", testBadQueries},
		{"LookupApplication", testLookupApplication},
		{"DeploymentKeys", testDeploymentKeys},
		{"IdentifierURIs", testIdentifierURIs},
		{"DeploymentKeysConcurrent", testDeploymentKeysConcurrent},
		{"LockTenant", testLockTenant},
		{"DeletedObjects", testDeletedObjects},
		{"Unavailable", testUnavailable},
		{"Audit", testAudit},
		{"ExternalIdentities", testExternalIdentities},
		{"ExternalIdentitiesConcurrent", testExternalIdentitiesConcurrent},
		{"Blobs", testBlobs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// RunClock checks that a store stamps change-feed entries with the clock
// it was opened with. open returns a fresh store using now.
func RunClock(t *testing.T, open func(t *testing.T, now func() time.Time) store.Store) {
	at := time.Date(2031, 7, 8, 9, 10, 11, 0, time.UTC)
	s := open(t, func() time.Time { return at })
	newTenant(t, s, "t1")
	update(t, s, func(tx store.Tx) error {
		return tx.CreateObject(t.Context(), user("t1", "u1", "u1@t1.example", "U1", `{}`))
	})
	view(t, s, func(tx store.Tx) error {
		cs, err := tx.Changes(t.Context(), "t1", nil, 0, 10)
		if err != nil {
			return err
		}
		if len(cs) != 1 || !cs[0].At.Equal(at) {
			return fmt.Errorf("changes %+v, want one at %v", cs, at)
		}
		return nil
	})

	// Objects deleted before a cutoff, in any tenant, are purged for good;
	// later deletions stay restorable.
	newTenant(t, s, "t2")
	create(t, s, user("t2", "u2", "u2@t2.example", "U2", `{}`), user("t1", "u3", "u3@t1.example", "U3", `{}`))
	update(t, s, func(tx store.Tx) error {
		if err := tx.DeleteObject(t.Context(), "t1", kindUser, "u1", 0); err != nil {
			return err
		}
		return tx.DeleteObject(t.Context(), "t2", kindUser, "u2", 0)
	})
	deletedAt := at
	at = at.Add(31 * 24 * time.Hour)
	update(t, s, func(tx store.Tx) error { return tx.DeleteObject(t.Context(), "t1", kindUser, "u3", 0) })
	update(t, s, func(tx store.Tx) error {
		n, err := tx.PurgeDeletedObjects(t.Context(), deletedAt.Add(time.Second), 1)
		if err != nil || n != 1 {
			t.Errorf("first batch purged %d, %v; want 1", n, err)
		}
		n, err = tx.PurgeDeletedObjects(t.Context(), deletedAt.Add(time.Second), 10)
		if err != nil || n != 1 {
			t.Errorf("second batch purged %d, %v; want 1", n, err)
		}
		return nil
	})
	view(t, s, func(tx store.Tx) error {
		for _, gone := range []struct{ tenant, id string }{{"t1", "u1"}, {"t2", "u2"}} {
			if _, err := tx.GetDeletedObject(t.Context(), gone.tenant, kindUser, gone.id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s/%s not purged: %v", gone.tenant, gone.id, err)
			}
		}
		if _, err := tx.GetDeletedObject(t.Context(), "t1", kindUser, "u3"); err != nil {
			t.Errorf("a recent deletion was purged: %v", err)
		}
		return nil
	})
}

// RunMigrate checks that a store opened without migrating reports so from
// Ping until migrate has brought its database up to date.
func RunMigrate(t *testing.T, openUnmigrated func(t *testing.T) store.Store, migrate func(t *testing.T)) {
	s := openUnmigrated(t)
	if err := s.Ping(t.Context()); err == nil {
		t.Fatal("Ping before migrating: nil, want an error")
	}
	migrate(t)
	migrate(t) // migrating an up-to-date database changes nothing
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after migrating: %v", err)
	}
	newTenant(t, s, "t1")
}

// base is the suite's reference instant, at the microsecond precision both
// backends keep.
var base = time.Date(2026, 3, 4, 5, 6, 7, 891011000, time.UTC)

var errBoom = errors.New("boom")

func update(t testing.TB, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t testing.TB, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func newTenant(t testing.TB, s store.Store, id string) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		return tx.CreateTenant(t.Context(), store.Tenant{ID: id, DisplayName: "Tenant " + id, Type: store.TenantWorkforce, CreatedAt: base})
	})
}

const (
	kindUser  = "user"
	kindGroup = "group"
	kindApp   = "application"
	kindSP    = "servicePrincipal"
)

func user(tenantID, id, upn, name, data string) *store.Object {
	return &store.Object{TenantID: tenantID, Kind: kindUser, ID: id, UPN: upn, Mail: upn, DisplayName: name,
		CreatedAt: base, UpdatedAt: base, Data: json.RawMessage(data)}
}

func group(tenantID, id, name string) *store.Object {
	return &store.Object{TenantID: tenantID, Kind: kindGroup, ID: id, DisplayName: name, CreatedAt: base, UpdatedAt: base,
		Data: json.RawMessage(`{"displayName":"` + name + `"}`)}
}

func create(t testing.TB, s store.Store, objs ...*store.Object) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for _, o := range objs {
			if err := tx.CreateObject(t.Context(), o); err != nil {
				return fmt.Errorf("create %s: %w", o.ID, err)
			}
		}
		return nil
	})
}

func get(t testing.TB, s store.Store, tenantID, kind, id string) (store.Object, error) {
	t.Helper()
	var o store.Object
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		o, err = tx.GetObject(t.Context(), tenantID, kind, id)
		return err
	})
	return o, err
}

func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

func wantConflict(t testing.TB, what string, err error, key string) {
	t.Helper()
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.Key != key || !errors.Is(err, store.ErrConflict) {
		t.Errorf("%s: error %v, want a conflict on %s", what, err, key)
	}
}

// sameJSON reports whether two documents hold the same JSON value; the
// backends may reformat documents.
func sameJSON(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("document %q: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("document %q: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

// sameObject compares objects field by field, documents as JSON values.
func sameObject(t testing.TB, got, want store.Object) {
	t.Helper()
	g, w := got, want
	g.Data, w.Data = nil, nil
	if !g.CreatedAt.Equal(w.CreatedAt) || !g.UpdatedAt.Equal(w.UpdatedAt) {
		t.Errorf("object %s times: got %v/%v, want %v/%v", want.ID, g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt)
	}
	g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("object %s: got %+v, want %+v", want.ID, g, w)
	}
	if !sameJSON(t, got.Data, want.Data) {
		t.Errorf("object %s data: got %s, want %s", want.ID, got.Data, want.Data)
	}
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testTenants(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	newTenant(t, s, "t2")
	err := s.Update(ctx, func(tx store.Tx) error {
		return tx.CreateTenant(ctx, store.Tenant{ID: "t1", Type: store.TenantExternal, CreatedAt: base})
	})
	wantConflict(t, "duplicate tenant", err, "id")
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetTenant(ctx, "t1")
		if err != nil {
			return err
		}
		want := store.Tenant{ID: "t1", DisplayName: "Tenant t1", Type: store.TenantWorkforce, CreatedAt: base}
		if got.ID != want.ID || got.DisplayName != want.DisplayName || got.Type != want.Type || !got.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("GetTenant = %+v, want %+v", got, want)
		}
		_, err = tx.GetTenant(ctx, "nope")
		wantErr(t, "GetTenant(missing)", err, store.ErrNotFound)
		n, err := tx.CountTenants(ctx)
		if n != 2 {
			t.Errorf("CountTenants = %d, want 2", n)
		}
		return err
	})
	// ListTenants pages through every tenant in id order.
	newTenant(t, s, "t0")
	view(t, s, func(tx store.Tx) error {
		var ids []string
		for after := ""; ; {
			page, err := tx.ListTenants(ctx, after, 2)
			if err != nil {
				return err
			}
			for _, tn := range page {
				ids = append(ids, tn.ID)
			}
			if len(page) < 2 {
				break
			}
			after = page[len(page)-1].ID
		}
		if !slices.Equal(ids, []string{"t0", "t1", "t2"}) {
			t.Errorf("ListTenants pages = %v, want t0 t1 t2", ids)
		}
		got, err := tx.ListTenants(ctx, "t0", 1)
		if len(got) != 1 || got[0].ID != "t1" || got[0].Type != store.TenantWorkforce || !got[0].CreatedAt.Equal(base) {
			t.Errorf("ListTenants(after t0, 1) = %+v", got)
		}
		return err
	})
}

func testDomains(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	newTenant(t, s, "t2")
	update(t, s, func(tx store.Tx) error {
		for _, d := range []store.Domain{
			{Name: "Contoso.Example", TenantID: "t1", Verified: true, Default: true, CreatedAt: base},
			{Name: "contoso.onmicrosoft.example", TenantID: "t1", Initial: true, CreatedAt: base},
		} {
			if err := tx.AddDomain(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	for _, tc := range []struct {
		name string
		d    store.Domain
		want func(error) bool
	}{
		{"taken by another tenant", store.Domain{Name: "CONTOSO.example", TenantID: "t2", CreatedAt: base}, isConflict("id")},
		{"taken in the tenant", store.Domain{Name: "contoso.example", TenantID: "t1", CreatedAt: base}, isConflict("id")},
		{"missing tenant", store.Domain{Name: "x.example", TenantID: "nope", CreatedAt: base}, is(store.ErrNotFound)},
	} {
		err := s.Update(ctx, func(tx store.Tx) error { return tx.AddDomain(ctx, tc.d) })
		if !tc.want(err) {
			t.Errorf("AddDomain %s: %v", tc.name, err)
		}
	}
	update(t, s, func(tx store.Tx) error {
		return tx.UpdateDomain(ctx, store.Domain{Name: "CONTOSO.ONMICROSOFT.EXAMPLE", TenantID: "t1", Verified: true, Initial: true})
	})
	view(t, s, func(tx store.Tx) error {
		d, err := tx.LookupDomain(ctx, "contoso.EXAMPLE")
		if err != nil {
			return err
		}
		if d.Name != "contoso.example" || d.TenantID != "t1" || !d.Verified || !d.Default || d.Initial || !d.CreatedAt.Equal(base) {
			t.Errorf("LookupDomain = %+v", d)
		}
		if d, err = tx.GetDomain(ctx, "t1", "Contoso.onmicrosoft.example"); err != nil || !d.Verified || !d.Initial {
			t.Errorf("GetDomain after update = %+v, %v", d, err)
		}
		ds, err := tx.ListDomains(ctx, "t1")
		if len(ds) != 2 || ds[0].Name != "contoso.example" || ds[1].Name != "contoso.onmicrosoft.example" {
			t.Errorf("ListDomains = %+v", ds)
		}
		_, err2 := tx.LookupDomain(ctx, "missing.example")
		wantErr(t, "LookupDomain(missing)", err2, store.ErrNotFound)
		return err
	})
	update(t, s, func(tx store.Tx) error { return tx.DeleteDomain(ctx, "t1", "CONTOSO.example") })
	err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteDomain(ctx, "t1", "contoso.example") })
	wantErr(t, "DeleteDomain twice", err, store.ErrNotFound)
	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.UpdateDomain(ctx, store.Domain{Name: "contoso.example", TenantID: "t1"})
	})
	wantErr(t, "UpdateDomain(deleted)", err, store.ErrNotFound)
	// A deleted domain is free for another tenant.
	update(t, s, func(tx store.Tx) error {
		return tx.AddDomain(ctx, store.Domain{Name: "contoso.example", TenantID: "t2", CreatedAt: base})
	})
}

func is(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }

func isConflict(key string) func(error) bool {
	return func(err error) bool {
		var ce *store.ConflictError
		return errors.As(err, &ce) && ce.Key == key
	}
}

// testLookupApplication: the one object read across tenants finds a live
// application registration by appId, and nothing else.
func testLookupApplication(t *testing.T, s store.Store) {
	newTenant(t, s, "home")
	newTenant(t, s, "other")
	app := &store.Object{TenantID: "home", Kind: kindApp, ID: "app-1", AppID: "11111111-0000-0000-0000-000000000001", DisplayName: "Multi",
		CreatedAt: base, UpdatedAt: base, Data: json.RawMessage(`{"signInAudience":"AzureADMultipleOrgs"}`)}
	sp := &store.Object{TenantID: "other", Kind: kindSP, ID: "sp-1", AppID: "11111111-0000-0000-0000-000000000002", DisplayName: "SP",
		CreatedAt: base, UpdatedAt: base, Data: json.RawMessage(`{}`)}
	create(t, s, app, sp)
	view(t, s, func(tx store.Tx) error {
		got, err := tx.LookupApplication(t.Context(), app.AppID)
		if err != nil || got.TenantID != "home" || got.ID != "app-1" {
			t.Errorf("LookupApplication = %+v, %v", got, err)
		}
		for _, appID := range []string{sp.AppID, "", "11111111-0000-0000-0000-000000000009"} {
			if _, err := tx.LookupApplication(t.Context(), appID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("LookupApplication(%q): %v, want ErrNotFound (only applications are found)", appID, err)
			}
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return tx.DeleteObject(t.Context(), "home", kindApp, "app-1", 0) })
	view(t, s, func(tx store.Tx) error {
		if _, err := tx.LookupApplication(t.Context(), app.AppID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a deleted application was found: %v", err)
		}
		return nil
	})
}

// testLockTenant: a rule no index enforces (here: one user per mail) holds
// under concurrency when every writer checks and inserts under LockTenant.
func testLockTenant(t *testing.T, s store.Store) {
	newTenant(t, s, "t1")
	schema := &odata.Schema{Resource: "User", Properties: map[string]odata.Property{
		"mail": {Name: "mail", Type: odata.TypeString, Column: "mail", Folded: true, Ops: []string{"eq"}}}}
	taken := odata.Compare{Op: "eq", Property: odata.Path{Segments: []string{"mail"}}, Value: odata.Literal{Kind: odata.LitString, Text: "same@example.com"}}
	const writers = 20
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Update(t.Context(), func(tx store.Tx) error {
				if err := tx.LockTenant(t.Context(), "t1"); err != nil {
					return err
				}
				p, err := tx.ListObjects(t.Context(), "t1", kindUser, store.Query{Schema: schema, Filter: taken, Top: 1})
				if err != nil || len(p.Objects) > 0 {
					return err
				}
				// Hold the gap between check and insert open, so that
				// without the lock the writers would all pass the check.
				time.Sleep(5 * time.Millisecond)
				o := user("t1", fmt.Sprintf("u%02d", i), fmt.Sprintf("u%02d@example.com", i), "U", `{}`)
				o.Mail = "same@example.com"
				return tx.CreateObject(t.Context(), o)
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	view(t, s, func(tx store.Tx) error {
		p, err := tx.ListObjects(t.Context(), "t1", kindUser, store.Query{Schema: schema, Filter: taken, Top: 100})
		if err != nil || len(p.Objects) != 1 {
			t.Errorf("%d users with one mail, want 1 (%v)", len(p.Objects), err)
		}
		if err := tx.LockTenant(t.Context(), "t1"); err == nil {
			t.Error("LockTenant inside View must fail")
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		if err := tx.LockTenant(t.Context(), "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("LockTenant of an unknown tenant: %v", err)
		}
		return nil
	})
}

// testDeletedObjects: soft-deleted objects can be listed, restored (unless
// their unique key was taken meanwhile) and purged, in their tenant only.
func testDeletedObjects(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	newTenant(t, s, "t2")
	create(t, s, user("t1", "u1", "a@x.example", "A", `{}`))
	update(t, s, func(tx store.Tx) error {
		return tx.PutCredential(ctx, store.Credential{TenantID: "t1", ObjectID: "u1", KeyID: "password", Type: store.CredPassword, Hash: []byte("h"), CreatedAt: base})
	})
	update(t, s, func(tx store.Tx) error { return tx.DeleteObject(ctx, "t1", kindUser, "u1", 0) })
	view(t, s, func(tx store.Tx) error {
		if o, err := tx.GetDeletedObject(ctx, "t1", kindUser, "u1"); err != nil || o.DeletedAt == nil {
			t.Errorf("GetDeletedObject = %+v, %v", o, err)
		}
		p, err := tx.ListDeletedObjects(ctx, "t1", kindUser, store.Query{Top: 10})
		if err != nil || !slices.Equal(ids(p.Objects), []string{"u1"}) {
			t.Errorf("ListDeletedObjects = %v, %v", ids(p.Objects), err)
		}
		for tenantID, want := range map[string]int64{"t1": 1, "t2": 0} {
			if n, err := tx.CountDeletedObjects(ctx, tenantID, kindUser, nil, nil); err != nil || n != want {
				t.Errorf("CountDeletedObjects in %s = %d, %v; want %d", tenantID, n, err, want)
			}
		}
		if n, err := tx.CountDeletedObjects(ctx, "t1", kindUser, userSchema, compare("displayName", "eq", str("B"))); err != nil || n != 0 {
			t.Errorf("CountDeletedObjects filtered = %d, %v; want 0", n, err)
		}
		if n, err := tx.CountObjects(ctx, "t1", kindUser, nil, nil); err != nil || n != 0 {
			t.Errorf("CountObjects counts a deleted user: %d, %v", n, err)
		}
		_, err = tx.GetDeletedObject(ctx, "t2", kindUser, "u1")
		wantErr(t, "another tenant's deleted object", err, store.ErrNotFound)
		_, err = tx.GetDeletedObject(ctx, "t1", kindUser, "nope")
		wantErr(t, "a missing deleted object", err, store.ErrNotFound)
		return nil
	})
	// Another user takes the UPN: restoring would collide.
	create(t, s, user("t1", "u2", "a@x.example", "A2", `{}`))
	err := s.Update(ctx, func(tx store.Tx) error { _, err := tx.RestoreObject(ctx, "t1", kindUser, "u1"); return err })
	wantConflict(t, "restore onto a taken UPN", err, "userPrincipalName")
	err = s.Update(ctx, func(tx store.Tx) error { _, err := tx.RestoreObject(ctx, "t2", kindUser, "u1"); return err })
	wantErr(t, "restore from another tenant", err, store.ErrNotFound)
	update(t, s, func(tx store.Tx) error { return tx.DeleteObject(ctx, "t1", kindUser, "u2", 0) })
	var head int64
	view(t, s, func(tx store.Tx) error { var err error; head, err = tx.HeadSeq(ctx, "t1"); return err })
	update(t, s, func(tx store.Tx) error {
		o, err := tx.RestoreObject(ctx, "t1", kindUser, "u1")
		if err == nil && (o.DeletedAt != nil || o.Version < 2) {
			t.Errorf("restored object %+v", o)
		}
		return err
	})
	view(t, s, func(tx store.Tx) error {
		if _, err := tx.GetObjectByUPN(ctx, "t1", kindUser, "a@x.example"); err != nil {
			t.Errorf("restored user not live: %v", err)
		}
		cs, err := tx.Changes(ctx, "t1", nil, head, 10)
		if err != nil || len(cs) != 1 || cs[0].ObjectID != "u1" || cs[0].Op != store.OpCreated {
			t.Errorf("restore change = %+v, %v", cs, err)
		}
		return nil
	})
	// Purging: only soft-deleted objects, with their credentials.
	err = s.Update(ctx, func(tx store.Tx) error { return tx.PurgeObject(ctx, "t1", kindUser, "u1") })
	wantErr(t, "purge a live object", err, store.ErrNotFound)
	update(t, s, func(tx store.Tx) error { return tx.DeleteObject(ctx, "t1", kindUser, "u1", 0) })
	err = s.Update(ctx, func(tx store.Tx) error { return tx.PurgeObject(ctx, "t2", kindUser, "u1") })
	wantErr(t, "purge from another tenant", err, store.ErrNotFound)
	update(t, s, func(tx store.Tx) error { return tx.PurgeObject(ctx, "t1", kindUser, "u1") })
	view(t, s, func(tx store.Tx) error {
		_, err := tx.GetDeletedObject(ctx, "t1", kindUser, "u1")
		wantErr(t, "a purged object", err, store.ErrNotFound)
		creds, err := tx.ListCredentials(ctx, "t1", "u1", store.CredPassword)
		if err != nil || len(creds) != 0 {
			t.Errorf("credentials of a purged object: %v, %v", creds, err)
		}
		return nil
	})
}
