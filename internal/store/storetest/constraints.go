package storetest

import (
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// RunConstraints provokes real constraint violations through exec, a raw
// statement on a migrated, empty database, and checks that classify (the
// backend's mapping of driver errors) reports each as the store error it
// stands for. The store avoids most violations in the common case, so they
// arise only in races that tests cannot easily stage.
func RunConstraints(t *testing.T, exec func(q string, args ...any) error, classify func(error) error) {
	const (
		at  = `'2026-01-02T03:04:05.000000Z'`
		obj = `INSERT INTO objects (tenant_id, id, kind, version, created_at, updated_at, upn, app_id, data) VALUES `
		key = `INSERT INTO signing_keys (tenant_id, kid, alg, public_jwk, private_sealed, created_at) VALUES ('t1', 'k', 'RS256', '{}', $1, ` + at + `)`
	)
	sealed := []byte{0}
	for _, q := range []string{
		`INSERT INTO tenants (id, type, created_at) VALUES ('t1', 'workforce', ` + at + `)`,
		obj + `('t1', 'o1', 'user', 1, ` + at + `, ` + at + `, 'a@x', 'app', '{}')`,
		obj + `('t1', 'o2', 'group', 1, ` + at + `, ` + at + `, NULL, NULL, '{}')`,
		`INSERT INTO links VALUES ('t1', 'o2', 'members', 'o1')`,
		`INSERT INTO tenants (id, type, created_at) VALUES ('t2', 'workforce', ` + at + `)`,
		obj + `('t1', 'a1', 'application', 1, ` + at + `, ` + at + `, NULL, 'shared', '{}')`,
		`INSERT INTO identifier_uris VALUES ('api://x', 't1', 'a1')`,
	} {
		if err := exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := exec(key, sealed); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    string
		args []any
		key  string // conflict key, or "" for ErrNotFound
	}{
		{q: `INSERT INTO tenants (id, type, created_at) VALUES ('t1', 'workforce', ` + at + `)`, key: "id"},
		{q: obj + `('t1', 'o1', 'group', 1, ` + at + `, ` + at + `, NULL, NULL, '{}')`, key: "id"},
		{q: obj + `('t1', 'o3', 'user', 1, ` + at + `, ` + at + `, 'a@x', NULL, '{}')`, key: "userPrincipalName"},
		{q: obj + `('t1', 'o4', 'user', 1, ` + at + `, ` + at + `, NULL, 'app', '{}')`, key: "appId"},
		{q: `INSERT INTO links VALUES ('t1', 'o2', 'members', 'o1')`, key: "link"},
		{q: obj + `('t2', 'a2', 'application', 1, ` + at + `, ` + at + `, NULL, 'shared', '{}')`, key: "appId"},
		{q: `INSERT INTO identifier_uris VALUES ('api://x', 't1', 'o2')`, key: "identifierUris"},
		{q: key, args: []any{sealed}, key: "kid"},
		{q: `INSERT INTO domains VALUES ('x.example', 'nope', TRUE, TRUE, TRUE, ` + at + `)`},
		{q: obj + `('nope', 'o5', 'user', 1, ` + at + `, ` + at + `, NULL, NULL, '{}')`},
		{q: `INSERT INTO links VALUES ('t1', 'o2', 'members', 'nope')`},
	} {
		err := classify(exec(tc.q, tc.args...))
		var ce *store.ConflictError
		switch {
		case tc.key == "" && !errors.Is(err, store.ErrNotFound):
			t.Errorf("%s: %v, want ErrNotFound", tc.q, err)
		case tc.key != "" && (!errors.As(err, &ce) || ce.Key != tc.key):
			t.Errorf("%s: %v, want a conflict on %s", tc.q, err, tc.key)
		}
	}
}
