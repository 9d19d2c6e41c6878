package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testRollback checks that a failed Update leaves nothing behind: no
// objects, links, changes, messages, credentials or domains, and that fn's
// error comes back unchanged, as does a panic.
func testRollback(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	create(t, s, group("t1", "g1", "G1"))
	err := s.Update(ctx, func(tx store.Tx) error {
		steps := []error{
			tx.CreateObject(ctx, user("t1", "u1", "u1@x.example", "U1", `{}`)),
			tx.AddLink(ctx, "t1", store.Link{SourceID: "g1", Rel: "members", TargetID: "u1"}),
			func() error { g := group("t1", "g1", "G1 renamed"); g.Version = 1; return tx.UpdateObject(ctx, g) }(),
			tx.Enqueue(ctx, store.Message{ID: "m1", Topic: "mail", Payload: []byte(`{}`), CreatedAt: base}),
			tx.PutCredential(ctx, store.Credential{TenantID: "t1", ObjectID: "u1", KeyID: "k1", Type: store.CredPassword, Hash: []byte("h"), CreatedAt: base}),
			tx.AddDomain(ctx, store.Domain{Name: "x.example", TenantID: "t1", CreatedAt: base}),
		}
		if err := errors.Join(steps...); err != nil {
			t.Errorf("writes before the failure: %v", err)
		}
		return errBoom
	})
	if err != errBoom {
		t.Fatalf("Update returned %v, want fn's error itself", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a panic in fn did not reach the caller")
			}
		}()
		_ = s.Update(ctx, func(tx store.Tx) error {
			if err := tx.CreateObject(ctx, user("t1", "u2", "u2@x.example", "U2", `{}`)); err != nil {
				return err
			}
			panic("fn panics")
		})
	}()
	view(t, s, func(tx store.Tx) error {
		for _, id := range []string{"u1", "u2"} {
			_, err := tx.GetObject(ctx, "t1", kindUser, id)
			wantErr(t, "object of a failed transaction", err, store.ErrNotFound)
		}
		g, err := tx.GetObject(ctx, "t1", kindGroup, "g1")
		if err != nil || g.DisplayName != "G1" || g.Version != 1 {
			t.Errorf("group after the failed update: %+v, %v", g, err)
		}
		members, err := related(t, tx, "t1", store.Related{ID: "g1", Rel: "members"})
		if err != nil || len(members) != 0 {
			t.Errorf("members after the failed update: %v, %v", members, err)
		}
		head, err := tx.HeadSeq(ctx, "t1")
		if err != nil || head != 1 {
			t.Errorf("HeadSeq after the failed updates = %d, %v; want 1", head, err)
		}
		cs, err := tx.Changes(ctx, "t1", nil, 1, 10)
		if err != nil || len(cs) != 0 {
			t.Errorf("changes of failed updates: %+v, %v", cs, err)
		}
		creds, err := tx.ListCredentials(ctx, "t1", "u1", "")
		if err != nil || len(creds) != 0 {
			t.Errorf("credentials of a failed update: %+v, %v", creds, err)
		}
		_, err = tx.LookupDomain(ctx, "x.example")
		wantErr(t, "domain of a failed update", err, store.ErrNotFound)
		return nil
	})
	if ms := claim(t, s, "mail", base.Add(time.Hour), 10); len(ms) != 0 {
		t.Errorf("messages of a failed update were claimed: %+v", ms)
	}
	// The store still takes writes after the panic.
	create(t, s, user("t1", "u3", "u3@x.example", "U3", `{}`))
}

func testViewIsReadOnly(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	g, u := group("t1", "g1", "G1"), user("t1", "u1", "u1@x.example", "U1", `{}`)
	create(t, s, g, u)
	link := store.Link{SourceID: "g1", Rel: "members", TargetID: "u1"}
	update(t, s, func(tx store.Tx) error {
		if err := tx.AddLink(ctx, "t1", link); err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, store.Message{ID: "m1", Topic: "mail", Payload: []byte(`{}`), CreatedAt: base}); err != nil {
			return err
		}
		if err := tx.AddDomain(ctx, store.Domain{Name: "x.example", TenantID: "t1", CreatedAt: base}); err != nil {
			return err
		}
		if err := tx.AddSigningKey(ctx, store.SigningKey{TenantID: "t1", KID: "k1", Alg: "RS256", PublicJWK: []byte(`{}`), PrivateSealed: []byte("s"), CreatedAt: base}); err != nil {
			return err
		}
		return tx.PutCredential(ctx, store.Credential{TenantID: "t1", ObjectID: "u1", KeyID: "c1", Type: store.CredPassword, Hash: []byte("h"), CreatedAt: base})
	})
	writes := map[string]func(store.Tx) error{
		"CreateTenant": func(tx store.Tx) error { return tx.CreateTenant(ctx, store.Tenant{ID: "t2", CreatedAt: base}) },
		"AddDomain": func(tx store.Tx) error {
			return tx.AddDomain(ctx, store.Domain{Name: "y.example", TenantID: "t1", CreatedAt: base})
		},
		"UpdateDomain": func(tx store.Tx) error {
			return tx.UpdateDomain(ctx, store.Domain{Name: "x.example", TenantID: "t1", Verified: true})
		},
		"DeleteDomain": func(tx store.Tx) error { return tx.DeleteDomain(ctx, "t1", "x.example") },
		"CreateObject": func(tx store.Tx) error { return tx.CreateObject(ctx, user("t1", "u2", "u2@x.example", "U2", `{}`)) },
		"UpdateObject": func(tx store.Tx) error { o := *u; return tx.UpdateObject(ctx, &o) },
		"DeleteObject": func(tx store.Tx) error { return tx.DeleteObject(ctx, "t1", kindUser, "u1", 0) },
		"AddLink": func(tx store.Tx) error {
			return tx.AddLink(ctx, "t1", store.Link{SourceID: "g1", Rel: "owners", TargetID: "u1"})
		},
		"RemoveLink": func(tx store.Tx) error { return tx.RemoveLink(ctx, "t1", link) },
		"Enqueue": func(tx store.Tx) error {
			return tx.Enqueue(ctx, store.Message{ID: "m2", Topic: "mail", CreatedAt: base})
		},
		"ClaimMessages": func(tx store.Tx) error {
			_, err := tx.ClaimMessages(ctx, "mail", base.Add(time.Hour), time.Minute, 10)
			return err
		},
		"CompleteMessage": func(tx store.Tx) error { return tx.CompleteMessage(ctx, "m1") },
		"RetryMessage":    func(tx store.Tx) error { return tx.RetryMessage(ctx, "m1", base, "x") },
		"PutCredential": func(tx store.Tx) error {
			return tx.PutCredential(ctx, store.Credential{TenantID: "t1", ObjectID: "u1", KeyID: "c2", CreatedAt: base})
		},
		"DeleteCredential": func(tx store.Tx) error { return tx.DeleteCredential(ctx, "t1", "u1", "c1") },
		"AddSigningKey": func(tx store.Tx) error {
			return tx.AddSigningKey(ctx, store.SigningKey{TenantID: "t1", KID: "k2", CreatedAt: base})
		},
		"DeleteSigningKey": func(tx store.Tx) error { return tx.DeleteSigningKey(ctx, "t1", "k1") },
	}
	for name, w := range writes {
		if err := s.View(ctx, w); err == nil {
			t.Errorf("%s in View: nil error", name)
		}
	}
	// Nothing changed.
	view(t, s, func(tx store.Tx) error {
		n, err := tx.CountTenants(ctx)
		if n != 1 {
			t.Errorf("CountTenants = %d", n)
		}
		head, err2 := tx.HeadSeq(ctx, "t1")
		if head != 3 {
			t.Errorf("HeadSeq = %d, want 3", head)
		}
		ds, err3 := tx.ListDomains(ctx, "t1")
		if len(ds) != 1 || ds[0].Verified {
			t.Errorf("domains = %+v", ds)
		}
		ks, err4 := tx.ListSigningKeys(ctx, "t1")
		cs, err5 := tx.ListCredentials(ctx, "t1", "u1", "")
		if len(ks) != 1 || len(cs) != 1 {
			t.Errorf("keys %d, credentials %d; want 1 each", len(ks), len(cs))
		}
		return errors.Join(err, err2, err3, err4, err5)
	})
	if ms := claim(t, s, "mail", base.Add(time.Hour), 10); len(ms) != 1 || ms[0].Attempts != 1 {
		t.Errorf("messages after the read-only attempts: %+v", ms)
	}
}

func testCredentials(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	create(t, s, user("t1", "u1", "u1@x.example", "U1", `{}`), user("t1", "u2", "u2@x.example", "U2", `{}`))
	pw := store.Credential{TenantID: "t1", ObjectID: "u1", KeyID: "password", Type: store.CredPassword, Hash: []byte("$argon2id$v=19$..."),
		CreatedAt: base}
	secret := store.Credential{TenantID: "t1", ObjectID: "u1", KeyID: "s1", Type: store.CredClientSecret, Hash: []byte{0, 1, 2, 255},
		Hint: "abc", DisplayName: "CI", StartAt: base, EndAt: base.Add(24 * time.Hour), CreatedAt: base.Add(time.Minute)}
	update(t, s, func(tx store.Tx) error {
		for _, c := range []store.Credential{pw, secret, {TenantID: "t1", ObjectID: "u2", KeyID: "password", Type: store.CredPassword, Hash: []byte("x"), CreatedAt: base}} {
			if err := tx.PutCredential(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	err := s.Update(ctx, func(tx store.Tx) error {
		return tx.PutCredential(ctx, store.Credential{TenantID: "t1", ObjectID: "nope", KeyID: "k", Type: store.CredPassword, Hash: []byte("x"), CreatedAt: base})
	})
	wantErr(t, "PutCredential for a missing object", err, store.ErrNotFound)
	list := func(typ string) []store.Credential {
		var cs []store.Credential
		view(t, s, func(tx store.Tx) error {
			var err error
			cs, err = tx.ListCredentials(ctx, "t1", "u1", typ)
			return err
		})
		return cs
	}
	got := list("")
	if len(got) != 2 || !sameCredential(got[0], pw) || !sameCredential(got[1], secret) {
		t.Errorf("ListCredentials = %+v", got)
	}
	if got := list(store.CredClientSecret); len(got) != 1 || !sameCredential(got[0], secret) {
		t.Errorf("ListCredentials(clientSecret) = %+v", got)
	}
	// Put replaces by key ID.
	pw2 := pw
	pw2.Hash, pw2.CreatedAt = []byte("new hash"), base.Add(time.Hour)
	update(t, s, func(tx store.Tx) error { return tx.PutCredential(ctx, pw2) })
	if got := list(store.CredPassword); len(got) != 1 || !sameCredential(got[0], pw2) {
		t.Errorf("after replacing the password: %+v", got)
	}
	update(t, s, func(tx store.Tx) error { return tx.DeleteCredential(ctx, "t1", "u1", "s1") })
	err = s.Update(ctx, func(tx store.Tx) error { return tx.DeleteCredential(ctx, "t1", "u1", "s1") })
	wantErr(t, "DeleteCredential twice", err, store.ErrNotFound)
	if got := list(""); len(got) != 1 {
		t.Errorf("after deleting: %+v", got)
	}
}

func sameCredential(a, b store.Credential) bool {
	return a.TenantID == b.TenantID && a.ObjectID == b.ObjectID && a.KeyID == b.KeyID && a.Type == b.Type &&
		slices.Equal(a.Hash, b.Hash) && a.Hint == b.Hint && a.DisplayName == b.DisplayName &&
		a.StartAt.Equal(b.StartAt) && a.EndAt.Equal(b.EndAt) && a.CreatedAt.Equal(b.CreatedAt)
}

func testSigningKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	k1 := store.SigningKey{TenantID: "t1", KID: "k1", Alg: "RS256", PublicJWK: []byte(`{"kty":"RSA", "n":"AQAB","e":"AQAB"}`),
		PrivateSealed: []byte{9, 8, 7}, CreatedAt: base, ActiveAt: base.Add(time.Hour)}
	k2 := store.SigningKey{TenantID: "t1", KID: "k2", Alg: "ES256", PublicJWK: []byte(`{"kty":"EC"}`),
		PrivateSealed: []byte{1}, CreatedAt: base.Add(time.Minute), ActiveAt: base.Add(2 * time.Hour), RetireAt: base.Add(48 * time.Hour)}
	update(t, s, func(tx store.Tx) error { return errors.Join(tx.AddSigningKey(ctx, k2), tx.AddSigningKey(ctx, k1)) })
	for _, tc := range []struct {
		name string
		k    store.SigningKey
		want func(error) bool
	}{
		{"taken kid", k1, isConflict("kid")},
		{"missing tenant", store.SigningKey{TenantID: "nope", KID: "k9", Alg: "RS256", PublicJWK: []byte(`{}`), PrivateSealed: []byte{1}, CreatedAt: base}, is(store.ErrNotFound)},
	} {
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.AddSigningKey(ctx, tc.k) }); !tc.want(err) {
			t.Errorf("AddSigningKey %s: %v", tc.name, err)
		}
	}
	view(t, s, func(tx store.Tx) error {
		ks, err := tx.ListSigningKeys(ctx, "t1")
		if len(ks) != 2 || !sameKey(ks[0], k1) || !sameKey(ks[1], k2) {
			t.Errorf("ListSigningKeys = %+v", ks)
		}
		return err
	})
	update(t, s, func(tx store.Tx) error { return tx.DeleteSigningKey(ctx, "t1", "k1") })
	err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteSigningKey(ctx, "t1", "k1") })
	wantErr(t, "DeleteSigningKey twice", err, store.ErrNotFound)
}

// sameKey compares keys exactly: the public JWK is published as stored.
func sameKey(a, b store.SigningKey) bool {
	return a.TenantID == b.TenantID && a.KID == b.KID && a.Alg == b.Alg && string(a.PublicJWK) == string(b.PublicJWK) &&
		slices.Equal(a.PrivateSealed, b.PrivateSealed) && a.CreatedAt.Equal(b.CreatedAt) &&
		a.ActiveAt.Equal(b.ActiveAt) && a.RetireAt.Equal(b.RetireAt)
}

// testUnavailable: a transaction the database cannot run in time fails with
// store.ErrUnavailable, while the store's answers and fn's own errors do
// not carry it.
func testUnavailable(t *testing.T, s store.Store) {
	expired, cancel := context.WithDeadline(t.Context(), time.Unix(0, 0))
	defer cancel()
	for name, run := range map[string]func(context.Context, func(store.Tx) error) error{"Update": s.Update, "View": s.View} {
		err := run(expired, func(tx store.Tx) error { return nil })
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s past its deadline: %v, want store.ErrUnavailable", name, err)
		}
		err = run(t.Context(), func(tx store.Tx) error {
			_, err := tx.GetTenant(t.Context(), "nope")
			return err
		})
		if !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s of a missing tenant: %v, want store.ErrNotFound only", name, err)
		}
		mine := errors.New("mine")
		if err := run(t.Context(), func(store.Tx) error { return mine }); err != mine {
			t.Errorf("%s returning its own error: %v, want it unchanged", name, err)
		}
	}
	if err := s.Ping(expired); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping past its deadline: %v, want store.ErrUnavailable", err)
	}
}

func testDeleteTenant(t *testing.T, s store.Store) {
	ctx := t.Context()
	fill := func(tid string) {
		newTenant(t, s, tid)
		create(t, s, user(tid, "u1", "u1@"+tid+".example", "U1", `{}`), group(tid, "g1", "G1"))
		update(t, s, func(tx store.Tx) error {
			return errors.Join(
				tx.AddLink(ctx, tid, store.Link{SourceID: "g1", Rel: "members", TargetID: "u1"}),
				tx.PutCredential(ctx, store.Credential{TenantID: tid, ObjectID: "u1", KeyID: "k1", Type: "password", Hash: []byte("h"), CreatedAt: base}),
				tx.PutState(ctx, store.State{TenantID: tid, Kind: "code", ID: "s1", Data: []byte(`{}`), CreatedAt: base, ExpiresAt: base.Add(24 * 365 * time.Hour * 100)}),
				tx.AppendAudit(ctx, auditRecord(tid, store.LogSignIn, "a1", base, "", "u1", 0)),
				tx.Enqueue(ctx, store.Message{ID: "m-" + tid, TenantID: tid, Topic: "delete-tenant", Payload: []byte(`{}`), CreatedAt: base}))
		})
	}
	fill("t1")
	fill("t2")
	update(t, s, func(tx store.Tx) error { return tx.DeleteTenant(ctx, "t1") })

	view(t, s, func(tx store.Tx) error {
		_, err := tx.GetTenant(ctx, "t1")
		wantErr(t, "the deleted tenant", err, store.ErrNotFound)
		_, err = tx.GetObject(ctx, "t1", kindUser, "u1")
		wantErr(t, "its user", err, store.ErrNotFound)
		_, err = tx.GetState(ctx, "t1", "code", "s1")
		wantErr(t, "its state", err, store.ErrNotFound)
		_, err = tx.GetAudit(ctx, "t1", store.LogSignIn, "a1")
		wantErr(t, "its sign-in", err, store.ErrNotFound)
		if ch, err := tx.Changes(ctx, "t1", nil, 0, 10); err != nil || len(ch) != 0 {
			t.Errorf("its feed: %v, %v", ch, err)
		}
		// The other tenant keeps everything.
		if _, err := tx.GetObject(ctx, "t2", kindUser, "u1"); err != nil {
			t.Errorf("t2's user: %v", err)
		}
		if _, err := tx.GetAudit(ctx, "t2", store.LogSignIn, "a1"); err != nil {
			t.Errorf("t2's sign-in: %v", err)
		}
		if cs, err := tx.ListCredentials(ctx, "t2", "u1", "password"); err != nil || len(cs) != 1 {
			t.Errorf("t2's credentials: %v, %v", cs, err)
		}
		return nil
	})
	if got := claim(t, s, "delete-tenant", base.Add(time.Second), 10); len(got) != 1 || got[0].TenantID != "t2" {
		t.Errorf("outbox after the deletion: %+v", got)
	}
	// Nothing of t1 is left to collide with: the same ids can be made again.
	fill("t1")
	view(t, s, func(tx store.Tx) error {
		if cs, err := tx.ListCredentials(ctx, "t1", "u1", "password"); err != nil || len(cs) != 1 {
			t.Errorf("t1's credentials made again: %v, %v", cs, err)
		}
		return nil
	})
	err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteTenant(ctx, "t9") })
	wantErr(t, "deleting no tenant", err, store.ErrNotFound)
}
