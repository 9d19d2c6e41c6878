package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func testObjectLifecycle(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	u := user("t1", "u1", "alice@contoso.example", "Alice", `{"displayName":"Alice","tags":["a","b"],"nested":{"n":1.5}}`)
	u.Mail = "alice.mail@contoso.example"
	app := &store.Object{TenantID: "t1", Kind: kindApp, ID: "a1", AppID: "11111111-2222-3333-4444-555555555555",
		DisplayName: "App", CreatedAt: base, UpdatedAt: base.Add(time.Second), Data: []byte(`{}`)}
	create(t, s, u, app)
	if u.Version != 1 || app.Version != 1 {
		t.Fatalf("versions after create: %d, %d; want 1", u.Version, app.Version)
	}
	want := *u
	view(t, s, func(tx store.Tx) error {
		for _, tc := range []struct {
			name string
			get  func() (store.Object, error)
			want store.Object
		}{
			{"GetObject", func() (store.Object, error) { return tx.GetObject(ctx, "t1", kindUser, "u1") }, want},
			{"GetObjectByUPN", func() (store.Object, error) { return tx.GetObjectByUPN(ctx, "t1", kindUser, "ALICE@contoso.example") }, want},
			{"GetObjectByAppID", func() (store.Object, error) { return tx.GetObjectByAppID(ctx, "t1", kindApp, app.AppID) }, *app},
		} {
			got, err := tc.get()
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			sameObject(t, got, tc.want)
		}
		for name, get := range map[string]func() (store.Object, error){
			"GetObject of another kind":      func() (store.Object, error) { return tx.GetObject(ctx, "t1", kindGroup, "u1") },
			"GetObject missing":              func() (store.Object, error) { return tx.GetObject(ctx, "t1", kindUser, "nope") },
			"GetObjectByUPN of another kind": func() (store.Object, error) { return tx.GetObjectByUPN(ctx, "t1", kindGroup, u.UPN) },
			"GetObjectByUPN empty":           func() (store.Object, error) { return tx.GetObjectByUPN(ctx, "t1", kindApp, "") },
			"GetObjectByAppID empty":         func() (store.Object, error) { return tx.GetObjectByAppID(ctx, "t1", kindUser, "") },
		} {
			_, err := get()
			wantErr(t, name, err, store.ErrNotFound)
		}
		// GetObjects reads several at once and leaves out what names none:
		// a wrong kind, a missing id, another tenant's.
		got, err := tx.GetObjects(ctx, []store.ObjectKey{{TenantID: "t1", Kind: kindApp, ID: "a1"}, {TenantID: "t1", Kind: kindGroup, ID: "u1"},
			{TenantID: "t1", Kind: kindUser, ID: "u1"}, {TenantID: "t1", Kind: kindUser, ID: "nope"}, {TenantID: "t2", Kind: kindUser, ID: "u1"}})
		if err != nil || len(got) != 2 {
			t.Fatalf("GetObjects = %d objects, %v; want 2", len(got), err)
		}
		slices.SortFunc(got, func(a, b store.Object) int { return strings.Compare(a.ID, b.ID) })
		sameObject(t, got[0], *app)
		sameObject(t, got[1], want)
		if got, err := tx.GetObjects(ctx, make([]store.ObjectKey, store.MaxObjectKeys+1)); err == nil {
			t.Errorf("GetObjects of %d keys = %d objects, want an error", store.MaxObjectKeys+1, len(got))
		}
		return nil
	})

	// Documents are JSON objects.
	for _, data := range []string{`{"a":`, `[1,2]`, `"text"`} {
		o := user("t1", "bad", "bad@contoso.example", "Bad", data)
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.CreateObject(ctx, o) }); err == nil {
			t.Errorf("CreateObject with data %s: nil error", data)
		}
	}

	// Update replaces keys and data and moves the version on.
	u.UPN, u.Mail, u.DisplayName, u.UpdatedAt = "alice2@contoso.example", "", "Alice Two", base.Add(time.Hour)
	u.Data = []byte(`{"displayName":"Alice Two"}`)
	update(t, s, func(tx store.Tx) error { return tx.UpdateObject(ctx, u) })
	if u.Version != 2 {
		t.Fatalf("version after update = %d, want 2", u.Version)
	}
	got, err := get(t, s, "t1", kindUser, "u1")
	if err != nil {
		t.Fatal(err)
	}
	sameObject(t, got, *u)

	stale := *u
	stale.Version = 1
	err = s.Update(ctx, func(tx store.Tx) error { return tx.UpdateObject(ctx, &stale) })
	wantErr(t, "UpdateObject with a stale version", err, store.ErrPrecondition)
	missing := *u
	missing.ID = "nope"
	err = s.Update(ctx, func(tx store.Tx) error { return tx.UpdateObject(ctx, &missing) })
	wantErr(t, "UpdateObject of a missing object", err, store.ErrNotFound)
	err = s.Update(ctx, func(tx store.Tx) error { return tx.DeleteObject(ctx, "t1", kindUser, "u1", 1) })
	wantErr(t, "DeleteObject with a stale version", err, store.ErrPrecondition)
	err = s.Update(ctx, func(tx store.Tx) error { return tx.DeleteObject(ctx, "t1", kindGroup, "u1", 0) })
	wantErr(t, "DeleteObject of another kind", err, store.ErrNotFound)

	update(t, s, func(tx store.Tx) error { return tx.DeleteObject(ctx, "t1", kindUser, "u1", 2) })
	update(t, s, func(tx store.Tx) error { return tx.DeleteObject(ctx, "t1", kindApp, "a1", 0) })
	_, err = get(t, s, "t1", kindUser, "u1")
	wantErr(t, "GetObject after delete", err, store.ErrNotFound)
	err = s.View(ctx, func(tx store.Tx) error {
		_, err := tx.GetObjectByUPN(ctx, "t1", kindUser, u.UPN)
		return err
	})
	wantErr(t, "GetObjectByUPN after delete", err, store.ErrNotFound)
	for name, fn := range map[string]func(store.Tx) error{
		"DeleteObject twice":        func(tx store.Tx) error { return tx.DeleteObject(ctx, "t1", kindUser, "u1", 0) },
		"UpdateObject after delete": func(tx store.Tx) error { return tx.UpdateObject(ctx, u) },
		"CreateObject in a missing tenant": func(tx store.Tx) error {
			return tx.CreateObject(ctx, user("nope", "u9", "u9@x.example", "U9", `{}`))
		},
	} {
		wantErr(t, name, s.Update(ctx, fn), store.ErrNotFound)
	}
	view(t, s, func(tx store.Tx) error {
		n, err := tx.CountObjects(ctx, "t1", kindUser, nil, nil)
		if n != 0 {
			t.Errorf("CountObjects after delete = %d, want 0", n)
		}
		return err
	})
}

func testUniqueKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	appObj := func(id, appID string) *store.Object {
		return &store.Object{TenantID: "t1", Kind: kindApp, ID: id, AppID: appID, CreatedAt: base, UpdatedAt: base}
	}
	create(t, s, user("t1", "u1", "alice@contoso.example", "Alice", `{}`), appObj("a1", "app-1"))
	for _, tc := range []struct {
		name string
		o    *store.Object
		key  string
	}{
		{"same id", user("t1", "u1", "other@contoso.example", "Other", `{}`), "id"},
		{"same id, other kind", group("t1", "u1", "G"), "id"},
		{"same UPN", user("t1", "u2", "alice@contoso.example", "Alice 2", `{}`), "userPrincipalName"},
		{"same UPN, other case", user("t1", "u2", "ALICE@contoso.example", "Alice 2", `{}`), "userPrincipalName"},
		{"same appId", appObj("a2", "app-1"), "appId"},
	} {
		err := s.Update(ctx, func(tx store.Tx) error { return tx.CreateObject(ctx, tc.o) })
		wantConflict(t, "CreateObject with "+tc.name, err, tc.key)
	}
	// Keys are unique per kind; unset keys never collide.
	sp := appObj("sp1", "app-1")
	sp.Kind = kindSP
	other := &store.Object{TenantID: "t1", Kind: kindGroup, ID: "g1", UPN: "alice@contoso.example", CreatedAt: base, UpdatedAt: base}
	create(t, s, sp, other, user("t1", "u3", "", "No UPN", `{}`), user("t1", "u4", "", "No UPN either", `{}`))

	// An update that takes another object's key fails and changes nothing.
	bob := user("t1", "u2", "bob@contoso.example", "Bob", `{}`)
	create(t, s, bob)
	taking := *bob
	taking.UPN = "alice@contoso.example"
	err := s.Update(ctx, func(tx store.Tx) error { return tx.UpdateObject(ctx, &taking) })
	wantConflict(t, "UpdateObject onto a taken UPN", err, "userPrincipalName")
	a2 := appObj("a2", "app-2")
	create(t, s, a2)
	a2.AppID = "app-1"
	err = s.Update(ctx, func(tx store.Tx) error { return tx.UpdateObject(ctx, a2) })
	wantConflict(t, "UpdateObject onto a taken appId", err, "appId")
	if got, err := get(t, s, "t1", kindUser, "u2"); err != nil || got.UPN != "bob@contoso.example" || got.Version != 1 {
		t.Errorf("after the failed update: %+v, %v", got, err)
	}

	// Soft delete frees the UPN and appId but not the id.
	update(t, s, func(tx store.Tx) error {
		if err := tx.DeleteObject(ctx, "t1", kindUser, "u1", 0); err != nil {
			return err
		}
		return tx.DeleteObject(ctx, "t1", kindApp, "a1", 0)
	})
	create(t, s, user("t1", "u5", "alice@contoso.example", "Alice again", `{}`), appObj("a3", "app-1"))
	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.CreateObject(ctx, user("t1", "u1", "new@contoso.example", "N", `{}`))
	})
	wantConflict(t, "re-creating a deleted id", err, "id")
	// Keeping one's own keys on update is no conflict.
	update(t, s, func(tx store.Tx) error {
		o, err := tx.GetObject(ctx, "t1", kindUser, "u5")
		if err != nil {
			return err
		}
		o.DisplayName = "Alice renamed"
		return tx.UpdateObject(ctx, &o)
	})
}

// testTxUsableAfterErrors checks that the errors a caller may expect and
// handle (a taken key, a missing row, a moved version) leave the transaction
// usable on every backend.
func testTxUsableAfterErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	g, u := group("t1", "g1", "G"), user("t1", "u1", "alice@contoso.example", "Alice", `{}`)
	create(t, s, g, u)
	update(t, s, func(tx store.Tx) error {
		return tx.AddLink(ctx, "t1", store.Link{SourceID: "g1", Rel: "members", TargetID: "u1"})
	})
	update(t, s, func(tx store.Tx) error {
		steps := []struct {
			name string
			err  error
			want func(error) bool
		}{
			{"duplicate object", tx.CreateObject(ctx, user("t1", "u2", "alice@contoso.example", "A", `{}`)), isConflict("userPrincipalName")},
			{"duplicate link", tx.AddLink(ctx, "t1", store.Link{SourceID: "g1", Rel: "members", TargetID: "u1"}), isConflict("link")},
			{"link to nothing", tx.AddLink(ctx, "t1", store.Link{SourceID: "g1", Rel: "members", TargetID: "nope"}), is(store.ErrNotFound)},
			{"stale update", tx.UpdateObject(ctx, &store.Object{TenantID: "t1", Kind: kindUser, ID: "u1", Version: 7}), is(store.ErrPrecondition)},
			{"missing object", func() error { _, err := tx.GetObject(ctx, "t1", kindUser, "nope"); return err }(), is(store.ErrNotFound)},
		}
		for _, st := range steps {
			if !st.want(st.err) {
				t.Errorf("%s: unexpected error %v", st.name, st.err)
			}
		}
		return tx.CreateObject(ctx, user("t1", "u3", "carol@contoso.example", "Carol", `{}`))
	})
	if _, err := get(t, s, "t1", kindUser, "u3"); err != nil {
		t.Errorf("the write after the handled errors did not commit: %v", err)
	}
}

func testOptimisticConcurrency(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	u := user("t1", "u1", "alice@contoso.example", "Alice", `{}`)
	create(t, s, u)
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			o := *u
			o.DisplayName = fmt.Sprintf("Writer %d", i)
			<-start
			errs[i] = s.Update(ctx, func(tx store.Tx) error { return tx.UpdateObject(ctx, &o) })
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrPrecondition):
			t.Errorf("writer %d: %v, want nil or ErrPrecondition", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d writers succeeded, want exactly 1", won)
	}
	got, err := get(t, s, "t1", kindUser, "u1")
	if err != nil || got.Version != 2 {
		t.Errorf("after the race: version %d, %v; want 2", got.Version, err)
	}
	view(t, s, func(tx store.Tx) error {
		cs, err := tx.Changes(ctx, "t1", nil, 0, 100)
		if len(cs) != 2 {
			t.Errorf("%d changes after the race, want created + one updated", len(cs))
		}
		return err
	})
}
