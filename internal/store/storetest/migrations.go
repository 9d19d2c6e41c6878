package storetest

import (
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// First-party appIds as migration 00004 knows them (internal/directory
// defines them; the store does not import the domain).
const (
	cliAppID          = "6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f10"
	graphAppID        = "00000003-0000-0000-c000-000000000000"
	firstPartyOwnerID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
)

// RunFirstPartyMigration checks migrations 00004 and 00006 on a database that the
// earlier schema filled as tenants had it: each tenant held an editable
// copy of the CLI's registration (one made multitenant with an attacker's
// redirect URI and a secret, one deleted), and two tenants' applications
// listed one identifier URI. db is the unmigrated database, m the
// backend's migrations, and open returns the store over db once migrated.
func RunFirstPartyMigration(t *testing.T, db *sql.DB, m sqlstore.Migrations, open func() store.Store) {
	exec := func(q string, args ...any) error {
		_, err := db.ExecContext(t.Context(), q, args...)
		return err
	}
	migrateTo := migrateTo(t, db, m)
	const (
		at  = `'2026-01-02T03:04:05.000000Z'`
		obj = `INSERT INTO objects (tenant_id, id, kind, version, created_at, updated_at, deleted_at, app_id, data) VALUES `
	)
	migrateTo(3)
	for _, q := range []string{
		`INSERT INTO tenants (id, type, created_at) VALUES ('t1', 'workforce', ` + at + `), ('t2', 'workforce', ` + at + `)`,
		obj + `('t1', 'cli1', 'application', 3, ` + at + `, ` + at + `, NULL, '` + cliAppID + `',
			'{"appId": "` + cliAppID + `", "signInAudience": "AzureADMultipleOrgs", "publicClient": {"redirectUris": ["http://localhost", "https://evil.example/cb"]}}')`,
		obj + `('t1', 'clisp1', 'servicePrincipal', 2, ` + at + `, ` + at + `, NULL, '` + cliAppID + `',
			'{"appId": "` + cliAppID + `", "appOwnerOrganizationId": "t1", "replyUrls": ["http://localhost", "https://evil.example/cb"], "displayName": "Renamed CLI", "accountEnabled": false}')`,
		obj + `('t1', 'graph1', 'servicePrincipal', 1, ` + at + `, ` + at + `, NULL, '` + graphAppID + `', '{"appOwnerOrganizationId": "t1"}')`,
		obj + `('t2', 'cli2', 'application', 2, ` + at + `, ` + at + `, ` + at + `, '` + cliAppID + `', '{}')`,
		obj + `('t2', 'older', 'application', 1, '2026-01-01T00:00:00.000000Z', ` + at + `, NULL, 'app-older', '{"identifierUris": ["api://dup"]}')`,
		obj + `('t1', 'newer', 'application', 1, ` + at + `, ` + at + `, NULL, 'app-newer', '{"identifierUris": ["API://Dup", "api://mine"]}')`,
		obj + `('t1', 'ara1', 'appRoleAssignment', 1, ` + at + `, ` + at + `, NULL, NULL,
			'{"appRoleId": "1bfefb4e-e0b5-418b-a88f-73c6d2cf09a6", "resourceId": "graph1", "principalId": "newer"}')`,
		obj + `('t1', 'ara2', 'appRoleAssignment', 1, ` + at + `, ` + at + `, NULL, NULL,
			'{"appRoleId": "df021288-bdef-4463-88db-98f22de89214", "resourceId": "graph1", "principalId": "newer"}')`,
		`UPDATE tenants SET seq = 5 WHERE id = 't1'`,
	} {
		if err := exec(q); err != nil {
			t.Fatalf("%.80s: %v", q, err)
		}
	}
	if err := exec(`INSERT INTO credentials (tenant_id, object_id, key_id, type, hash, created_at) VALUES ('t1', 'cli1', 'k1', 'clientSecret', $1, `+at+`)`, []byte("h")); err != nil {
		t.Fatal(err)
	}
	migrateTo(0)
	s := open()
	ctx := t.Context()
	view(t, s, func(tx store.Tx) error {
		if o, err := tx.LookupApplication(ctx, cliAppID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a tenant's copy of the CLI is still found: %+v, %v", o, err)
		}
		if _, err := tx.GetDeletedObject(ctx, "t2", kindApp, "cli2"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a deleted copy of the CLI can still be restored: %v", err)
		}
		if creds, err := tx.ListCredentials(ctx, "t1", "cli1", ""); err != nil || len(creds) != 0 {
			t.Errorf("the copy's secrets: %v, %v", creds, err)
		}
		sp, err := tx.GetObject(ctx, "t1", kindSP, "clisp1")
		var doc map[string]any
		if err == nil {
			err = json.Unmarshal(sp.Data, &doc)
		}
		if err != nil || doc["appOwnerOrganizationId"] != firstPartyOwnerID || !slices.Equal(doc["replyUrls"].([]any), []any{"http://localhost"}) ||
			doc["accountEnabled"] != false || doc["displayName"] != "Renamed CLI" || sp.Version != 3 {
			t.Errorf("the CLI's principal: %+v %v, %v", sp, doc, err)
		}
		graph, err := tx.GetObject(ctx, "t1", kindSP, "graph1")
		if err != nil || !json.Valid(graph.Data) || json.Unmarshal(graph.Data, &doc) != nil || doc["appOwnerOrganizationId"] != firstPartyOwnerID {
			t.Errorf("Graph's principal: %s, %v", graph.Data, err)
		}
		// Migration 00006: Application.ReadWrite.All grants carry Graph's
		// real app role id; other grants are untouched.
		for id, want := range map[string]string{"ara1": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "ara2": "df021288-bdef-4463-88db-98f22de89214"} {
			a, err := tx.GetObject(ctx, "t1", "appRoleAssignment", id)
			var ad map[string]any
			if err == nil {
				err = json.Unmarshal(a.Data, &ad)
			}
			if err != nil || ad["appRoleId"] != want {
				t.Errorf("assignment %s: %s, %v; want appRoleId %s", id, a.Data, err, want)
			}
		}
		// The tenant's delta clients learn of all three after its earlier changes.
		cs, err := tx.Changes(ctx, "t1", nil, 0, 10)
		var got []string
		for _, c := range cs {
			got = append(got, c.ObjectID+" "+c.Op)
		}
		if err != nil || !slices.Equal(got, []string{"cli1 deleted", "clisp1 updated", "graph1 updated"}) || cs[0].Seq != 6 || cs[2].Seq != 8 {
			t.Errorf("t1's changes %+v, %v", cs, err)
		}
		if head, err := tx.HeadSeq(ctx, "t1"); err != nil || head != 8 {
			t.Errorf("t1's head %d, %v", head, err)
		}
		return nil
	})
	// The older application holds the URI both listed; the newer keeps its
	// own, and the CLI's appId is free of copies.
	for _, tc := range []struct {
		o   *store.Object
		key string
	}{
		{application("t1", "x1", "app-x1", "api://DUP"), "identifierUris"},
		{application("t2", "x2", "app-x2", "api://mine"), "identifierUris"},
		{application("t2", "x3", "app-older"), "appId"},
	} {
		err := s.Update(ctx, func(tx store.Tx) error { return tx.CreateObject(ctx, tc.o) })
		wantConflict(t, "after the migration, "+tc.o.ID, err, tc.key)
	}
}

// migrateTo returns a function that migrates db to a version of m (0: the
// latest).
func migrateTo(t *testing.T, db *sql.DB, m sqlstore.Migrations) func(version int64) {
	return func(version int64) {
		p, err := goose.NewProvider(m.Dialect, db, m.FS, goose.WithDisableGlobalRegistry(true))
		if err == nil && version == 0 {
			_, err = p.Up(t.Context())
		} else if err == nil {
			_, err = p.UpTo(t.Context(), version)
		}
		if err != nil {
			t.Fatalf("migrating to %d: %v", version, err)
		}
	}
}
