package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testExternalIdentities checks guests' sign-in identities: one (issuer,
// subject) names at most one live user of a tenant, each tenant's binding
// is its own, ListGuestAccounts finds one person's accounts across
// tenants but only live ones, and a purged user's bindings go with it.
func testExternalIdentities(t *testing.T, s store.Store) {
	ctx := t.Context()
	const iss, sub = "https://idp.example/v2.0", "Subject-1"
	newTenant(t, s, "t1")
	newTenant(t, s, "t2")
	newTenant(t, s, "t3")
	create(t, s, user("t1", "g1", "g1@t1.example", "G1", `{}`), user("t1", "g2", "g2@t1.example", "G2", `{}`),
		user("t2", "g3", "g3@t2.example", "G3", `{}`), user("t3", "g4", "g4@t3.example", "G4", `{}`))
	bind := func(tenant, userID string, at time.Time) store.ExternalIdentity {
		return store.ExternalIdentity{TenantID: tenant, Issuer: iss, Subject: sub, UserID: userID, HomeTenantID: "home", CreatedAt: at}
	}
	put := func(e store.ExternalIdentity) error {
		return s.Update(ctx, func(tx store.Tx) error { return tx.PutExternalIdentity(ctx, e) })
	}
	getID := func(tenant, issuer, subject string) (store.ExternalIdentity, error) {
		var e store.ExternalIdentity
		err := s.View(ctx, func(tx store.Tx) error {
			var err error
			e, err = tx.GetExternalIdentity(ctx, tenant, issuer, subject)
			return err
		})
		return e, err
	}
	accounts := func() []store.ExternalIdentity {
		var out []store.ExternalIdentity
		view(t, s, func(tx store.Tx) error {
			var err error
			out, err = tx.ListGuestAccounts(ctx, iss, sub)
			return err
		})
		return out
	}

	for _, e := range []store.ExternalIdentity{bind("t1", "g1", base), bind("t2", "g3", base), bind("t3", "g4", base)} {
		if err := put(e); err != nil {
			t.Fatalf("PutExternalIdentity %+v: %v", e, err)
		}
	}
	got, err := getID("t1", iss, sub)
	if err != nil || got.UserID != "g1" || got.HomeTenantID != "home" || !got.CreatedAt.Equal(base) || got.TenantID != "t1" {
		t.Errorf("GetExternalIdentity = %+v, %v", got, err)
	}
	// Issuer and subject match exactly: subjects are case-sensitive.
	_, err = getID("t1", iss, "subject-1")
	wantErr(t, "identity with a differently cased subject", err, store.ErrNotFound)
	_, err = getID("t1", "https://other.example", sub)
	wantErr(t, "identity of another issuer", err, store.ErrNotFound)

	// Binding it again to its user changes nothing; to another live user of
	// the tenant is a conflict, and leaves the binding as it was.
	if err := put(bind("t1", "g1", base.Add(time.Hour))); err != nil {
		t.Errorf("binding again to the same user: %v", err)
	}
	wantConflict(t, "binding to another user", put(bind("t1", "g2", base)), "identity")
	if got, err := getID("t1", iss, sub); err != nil || got.UserID != "g1" || !got.CreatedAt.Equal(base) {
		t.Errorf("binding after the conflict = %+v, %v", got, err)
	}
	wantErr(t, "binding to a missing user", put(bind("t1", "nope", base)), store.ErrNotFound)
	wantErr(t, "binding to a user of another tenant", put(bind("t1", "g3", base)), store.ErrNotFound)

	if got := accounts(); len(got) != 3 || got[0].TenantID != "t1" || got[1].TenantID != "t2" || got[2].TenantID != "t3" {
		t.Errorf("ListGuestAccounts = %+v, want t1, t2, t3", got)
	}

	// A soft-deleted guest is no account; its binding stays until another
	// user of the tenant takes it over.
	update(t, s, func(tx store.Tx) error { return tx.DeleteObject(ctx, "t1", kindUser, "g1", 0) })
	if got := accounts(); len(got) != 2 || got[0].TenantID != "t2" {
		t.Errorf("ListGuestAccounts after deleting t1's guest = %+v", got)
	}
	if got, err := getID("t1", iss, sub); err != nil || got.UserID != "g1" {
		t.Errorf("binding of a soft-deleted user = %+v, %v", got, err)
	}
	if err := put(bind("t1", "g2", base.Add(2*time.Hour))); err != nil {
		t.Errorf("taking over a soft-deleted user's binding: %v", err)
	}
	if got, err := getID("t1", iss, sub); err != nil || got.UserID != "g2" || !got.CreatedAt.Equal(base.Add(2*time.Hour)) {
		t.Errorf("binding after the take-over = %+v, %v", got, err)
	}

	// Deleting a user's identities leaves other tenants' alone.
	update(t, s, func(tx store.Tx) error {
		n, err := tx.DeleteExternalIdentities(ctx, "t2", "g3")
		if err != nil || n != 1 {
			t.Errorf("DeleteExternalIdentities = %d, %v; want 1", n, err)
		}
		return err
	})
	_, err = getID("t2", iss, sub)
	wantErr(t, "deleted identity", err, store.ErrNotFound)
	if got := accounts(); len(got) != 2 || got[0].TenantID != "t1" || got[1].TenantID != "t3" {
		t.Errorf("ListGuestAccounts after the reset = %+v", got)
	}

	// Purging a user takes its bindings.
	update(t, s, func(tx store.Tx) error {
		if err := tx.DeleteObject(ctx, "t3", kindUser, "g4", 0); err != nil {
			return err
		}
		return tx.PurgeObject(ctx, "t3", kindUser, "g4")
	})
	_, err = getID("t3", iss, sub)
	wantErr(t, "identity of a purged user", err, store.ErrNotFound)

	// Writes fail in View.
	err = s.View(ctx, func(tx store.Tx) error { return tx.PutExternalIdentity(ctx, bind("t2", "g3", base)) })
	if err == nil {
		t.Error("PutExternalIdentity in View succeeded")
	}
}

// testExternalIdentitiesConcurrent binds one identity to two users of a
// tenant at once: exactly one wins and the other sees a conflict.
func testExternalIdentitiesConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	create(t, s, user("t1", "a", "a@t1.example", "A", `{}`), user("t1", "b", "b@t1.example", "B", `{}`))
	for round := range 5 {
		sub := string(rune('p' + round))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range []string{"a", "b"} {
			wg.Go(func() {
				errs[i] = s.Update(ctx, func(tx store.Tx) error {
					return tx.PutExternalIdentity(ctx, store.ExternalIdentity{TenantID: "t1", Issuer: "mail", Subject: sub, UserID: id, CreatedAt: base})
				})
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("round %d: loser's error %v, want a conflict", round, err)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d binds won, want 1 (%v)", round, won, errs)
		}
	}
}
