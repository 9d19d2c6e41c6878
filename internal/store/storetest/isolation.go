package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testTenantIsolation gives tenant A an object of every sort and checks
// that tenant B can neither see nor change nor link to any of it.
func testTenantIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "a")
	newTenant(t, s, "b")
	ua := user("a", "ua", "alice@a.example", "Alice", `{"userType":"Member"}`)
	ga := group("a", "ga", "Group A")
	app := &store.Object{TenantID: "a", Kind: kindApp, ID: "appa", AppID: "app-a", CreatedAt: base, UpdatedAt: base}
	create(t, s, ua, ga, app)
	create(t, s, user("b", "ub", "bob@b.example", "Bob", `{"userType":"Member"}`), group("b", "gb", "Group B"))
	la := store.Link{SourceID: "ga", Rel: "members", TargetID: "ua"}
	update(t, s, func(tx store.Tx) error {
		return errors.Join(
			tx.AddLink(ctx, "a", la),
			tx.PutCredential(ctx, store.Credential{TenantID: "a", ObjectID: "ua", KeyID: "password", Type: store.CredPassword, Hash: []byte("h"), CreatedAt: base}),
			tx.AddSigningKey(ctx, store.SigningKey{TenantID: "a", KID: "ka", Alg: "RS256", PublicJWK: []byte(`{}`), PrivateSealed: []byte("s"), CreatedAt: base}),
			tx.AddDomain(ctx, store.Domain{Name: "a.example", TenantID: "a", Verified: true, CreatedAt: base}),
		)
	})

	notFound := map[string]func(store.Tx) error{
		"GetObject":        func(tx store.Tx) error { _, err := tx.GetObject(ctx, "b", kindUser, "ua"); return err },
		"GetObjectByUPN":   func(tx store.Tx) error { _, err := tx.GetObjectByUPN(ctx, "b", kindUser, ua.UPN); return err },
		"GetObjectByAppID": func(tx store.Tx) error { _, err := tx.GetObjectByAppID(ctx, "b", kindApp, "app-a"); return err },
		"ListRelated": func(tx store.Tx) error {
			_, err := tx.ListRelated(ctx, "b", store.Related{ID: "ga", Rel: "members"}, store.Query{Top: 10})
			return err
		},
		"GetDomain": func(tx store.Tx) error { _, err := tx.GetDomain(ctx, "b", "a.example"); return err },
	}
	for name, fn := range notFound {
		wantErr(t, name+" from another tenant", s.View(ctx, fn), store.ErrNotFound)
	}
	writes := map[string]func(store.Tx) error{
		"UpdateObject": func(tx store.Tx) error {
			o := *ua
			o.TenantID, o.DisplayName = "b", "Hijacked"
			return tx.UpdateObject(ctx, &o)
		},
		"DeleteObject": func(tx store.Tx) error { return tx.DeleteObject(ctx, "b", kindUser, "ua", 0) },
		"AddLink to A's object": func(tx store.Tx) error {
			return tx.AddLink(ctx, "b", store.Link{SourceID: "gb", Rel: "members", TargetID: "ua"})
		},
		"AddLink from A's object": func(tx store.Tx) error {
			return tx.AddLink(ctx, "b", store.Link{SourceID: "ga", Rel: "members", TargetID: "ub"})
		},
		"RemoveLink": func(tx store.Tx) error { return tx.RemoveLink(ctx, "b", la) },
		"PutCredential": func(tx store.Tx) error {
			return tx.PutCredential(ctx, store.Credential{TenantID: "b", ObjectID: "ua", KeyID: "password", Type: store.CredPassword, Hash: []byte("x"), CreatedAt: base})
		},
		"DeleteCredential": func(tx store.Tx) error { return tx.DeleteCredential(ctx, "b", "ua", "password") },
		"DeleteSigningKey": func(tx store.Tx) error { return tx.DeleteSigningKey(ctx, "b", "ka") },
		"UpdateDomain":     func(tx store.Tx) error { return tx.UpdateDomain(ctx, store.Domain{Name: "a.example", TenantID: "b"}) },
		"DeleteDomain":     func(tx store.Tx) error { return tx.DeleteDomain(ctx, "b", "a.example") },
	}
	for name, fn := range writes {
		wantErr(t, name+" from another tenant", s.Update(ctx, fn), store.ErrNotFound)
	}

	view(t, s, func(tx store.Tx) error {
		// B's listings hold only B's things.
		p, err := tx.ListObjects(ctx, "b", kindUser, store.Query{Schema: userSchema, Filter: or(compare("id", "eq", str("ua")), compare("userType", "eq", str("member"))), Top: 10})
		if err != nil {
			return err
		}
		if got := ids(p.Objects); !slices.Equal(got, []string{"ub"}) {
			t.Errorf("B's users = %v", got)
		}
		if n, err := tx.CountObjects(ctx, "b", kindUser, nil, nil); err != nil || n != 1 {
			t.Errorf("B counts %d users, %v", n, err)
		}
		cs, err := tx.Changes(ctx, "b", nil, 0, 100)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.ObjectID != "ub" && c.ObjectID != "gb" {
				t.Errorf("B's feed shows %+v", c)
			}
		}
		if head, err := tx.HeadSeq(ctx, "b"); err != nil || head != int64(len(cs)) || head != 2 {
			t.Errorf("B's head = %d, %v with %d changes", head, err, len(cs))
		}
		if creds, err := tx.ListCredentials(ctx, "b", "ua", ""); err != nil || len(creds) != 0 {
			t.Errorf("B lists A's credentials: %+v, %v", creds, err)
		}
		if keys, err := tx.ListSigningKeys(ctx, "b"); err != nil || len(keys) != 0 {
			t.Errorf("B lists A's keys: %+v, %v", keys, err)
		}
		if ds, err := tx.ListDomains(ctx, "b"); err != nil || len(ds) != 0 {
			t.Errorf("B lists A's domains: %+v, %v", ds, err)
		}
		// A's things are intact.
		o, err := tx.GetObject(ctx, "a", kindUser, "ua")
		if err != nil || o.DisplayName != "Alice" || o.Version != 1 {
			t.Errorf("A's user: %+v, %v", o, err)
		}
		members, err := related(t, tx, "a", store.Related{ID: "ga", Rel: "members"})
		if err != nil || !slices.Equal(members, []string{"ua"}) {
			t.Errorf("A's members: %v, %v", members, err)
		}
		creds, err := tx.ListCredentials(ctx, "a", "ua", "")
		keys, err2 := tx.ListSigningKeys(ctx, "a")
		d, err3 := tx.GetDomain(ctx, "a", "a.example")
		if len(creds) != 1 || len(keys) != 1 || !d.Verified {
			t.Errorf("A's secrets and domain: %+v %+v %+v", creds, keys, d)
		}
		return errors.Join(err, err2, err3)
	})
	// Ids and keys are per tenant, but for an application's (see
	// testDeploymentKeys): a tenant's principal of A's application shares its appId.
	create(t, s, user("b", "ua", "alice@a.example", "Alice in B", `{}`),
		&store.Object{TenantID: "b", Kind: kindSP, ID: "appa", AppID: "app-a", CreatedAt: base, UpdatedAt: base})
}
