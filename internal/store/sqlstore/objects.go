package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlq"
)

const objectColumns = `o.tenant_id, o.kind, o.id, o.version, o.created_at, o.updated_at, o.deleted_at, o.upn, o.mail, o.app_id, o.display_name, o.data`

// scanObject reads objectColumns, then extra.
func scanObject(sc scanner, extra ...any) (store.Object, error) {
	var (
		o          store.Object
		deletedAt  time.Time
		upn, appID sql.NullString
		data       []byte
	)
	dest := append([]any{&o.TenantID, &o.Kind, &o.ID, &o.Version, timeScan{&o.CreatedAt}, timeScan{&o.UpdatedAt},
		timeScan{&deletedAt}, &upn, &o.Mail, &appID, &o.DisplayName, &data}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return store.Object{}, err
	}
	if !deletedAt.IsZero() {
		o.DeletedAt = &deletedAt
	}
	o.UPN, o.AppID, o.Data = upn.String, appID.String, data
	return o, nil
}

// key is the stored form of a unique key: NULL when unset, so that the
// unique indexes ignore it.
func key(v string) any {
	if v == "" {
		return nil
	}
	return v
}

func document(data []byte) string {
	if len(data) == 0 {
		return "{}"
	}
	return string(data)
}

func (t *txn) CreateObject(ctx context.Context, o *store.Object) error {
	if err := t.writable(); err != nil {
		return err
	}
	if err := required("object tenant, kind and id", o.TenantID, o.Kind, o.ID); err != nil {
		return err
	}
	err := t.undoOnError(ctx, o.Kind == kindApplication, func() error {
		n, err := t.exec(ctx, `INSERT INTO objects (tenant_id, id, kind, version, created_at, updated_at, upn, mail, app_id, display_name, data)
			VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
			o.TenantID, o.ID, o.Kind, t.at(o.CreatedAt), t.at(o.UpdatedAt),
			key(strings.ToLower(o.UPN)), strings.ToLower(o.Mail), key(o.AppID), o.DisplayName, document(o.Data))
		if err != nil {
			return err
		}
		if n == 0 {
			return t.conflict(ctx, o, true)
		}
		return t.claimURIs(ctx, o, false)
	})
	if err != nil {
		return err
	}
	o.Version, o.DeletedAt = 1, nil
	t.record(o.TenantID, store.Change{Kind: o.Kind, ObjectID: o.ID, Op: store.OpCreated, Version: 1})
	return nil
}

// kindApplication is the kind whose keys name it across tenants: sign-in
// resolves an application by its appId before it knows the user's tenant,
// and a resource by its identifier URI, so both are unique in the
// deployment.
const kindApplication = "application"

// appIDScope confines an appId comparison with objects x to where appIds
// are unique: the tenant ($1), or the deployment for applications.
const appIDScope = `(x.tenant_id = $1 OR x.kind = '` + kindApplication + `')`

// undoOnError runs a write of several statements, when guarded, under a
// savepoint, so that a failure (an identifier URI found taken after the row
// was written) leaves the transaction as it was: callers may go on, as
// after any other expected failure.
func (t *txn) undoOnError(ctx context.Context, guarded bool, write func() error) error {
	if !guarded {
		return write()
	}
	if _, err := t.exec(ctx, `SAVEPOINT object_write`); err != nil {
		return err
	}
	if err := write(); err != nil {
		if _, undoErr := t.exec(ctx, `ROLLBACK TO SAVEPOINT object_write`); undoErr != nil {
			return errors.Join(err, undoErr)
		}
		return err
	}
	_, err := t.exec(ctx, `RELEASE SAVEPOINT object_write`)
	return err
}

// claimURIs makes the identifier URIs the application holds exactly
// o.IdentifierURIs. The primary key on the URI makes each claim atomic
// across tenants and nodes: of two writers, the second inserts nothing and
// reports the conflict. replace (an update) first gives up what it held; a
// new application holds nothing yet.
func (t *txn) claimURIs(ctx context.Context, o *store.Object, replace bool) error {
	if o.Kind != kindApplication {
		return nil
	}
	if replace {
		if _, err := t.exec(ctx, `DELETE FROM identifier_uris WHERE tenant_id = $1 AND object_id = $2`, o.TenantID, o.ID); err != nil {
			return err
		}
	}
	var uris []string
	for _, u := range o.IdentifierURIs {
		if u = strings.ToLower(u); !slices.Contains(uris, u) {
			uris = append(uris, u)
		}
	}
	if len(uris) == 0 {
		return nil
	}
	args := []any{o.TenantID, o.ID}
	rows := make([]string, len(uris))
	for i, u := range uris {
		args = append(args, u)
		rows[i] = fmt.Sprintf("($%d, $1, $2)", len(args))
	}
	n, err := t.exec(ctx, `INSERT INTO identifier_uris (uri, tenant_id, object_id) VALUES `+strings.Join(rows, ", ")+` ON CONFLICT DO NOTHING`, args...)
	if err != nil {
		return err
	}
	if n < int64(len(uris)) {
		return &store.ConflictError{Key: "identifierUris"}
	}
	return nil
}

// conflict names the unique key of o that another object holds.
func (t *txn) conflict(ctx context.Context, o *store.Object, create bool) error {
	type check struct {
		key, q string
		args   []any
	}
	var checks []check
	if create {
		checks = append(checks, check{"id", `SELECT 1 FROM objects WHERE tenant_id = $1 AND id = $2`, []any{o.TenantID, o.ID}})
	}
	if o.UPN != "" {
		checks = append(checks, check{"userPrincipalName", `SELECT 1 FROM objects
			WHERE tenant_id = $1 AND kind = $2 AND upn = $3 AND id <> $4 AND deleted_at IS NULL`,
			[]any{o.TenantID, o.Kind, strings.ToLower(o.UPN), o.ID}})
	}
	if o.AppID != "" {
		checks = append(checks, check{"appId", `SELECT 1 FROM objects x
			WHERE ` + appIDScope + ` AND x.kind = $2 AND x.app_id = $3 AND NOT (x.tenant_id = $1 AND x.id = $4) AND x.deleted_at IS NULL`,
			[]any{o.TenantID, o.Kind, o.AppID, o.ID}})
	}
	for _, c := range checks {
		taken, err := t.exists(ctx, c.q, c.args...)
		if err != nil {
			return err
		}
		if taken {
			return &store.ConflictError{Key: c.key}
		}
	}
	// The holder let go between the write and the checks; the caller's
	// write still failed on a key.
	return fmt.Errorf("%w: a key of %s was taken concurrently", store.ErrConflict, o.ID)
}

func (t *txn) GetObject(ctx context.Context, tenantID, kind, id string) (store.Object, error) {
	return t.object(ctx, `o.id = $3`, tenantID, kind, id)
}

func (t *txn) GetObjects(ctx context.Context, keys []store.ObjectKey) ([]store.Object, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	if len(keys) > store.MaxObjectKeys {
		return nil, fmt.Errorf("store: GetObjects takes at most %d keys", store.MaxObjectKeys)
	}
	args := &sqlq.Args{}
	either := make([]string, len(keys))
	for i, k := range keys {
		either[i] = "(o.tenant_id = " + args.Add(k.TenantID) + " AND o.kind = " + args.Add(k.Kind) + " AND o.id = " + args.Add(k.ID) + ")"
	}
	var out []store.Object
	err := t.query(ctx, `SELECT `+objectColumns+` FROM objects o WHERE (`+strings.Join(either, " OR ")+`) AND o.deleted_at IS NULL`, args.Values(),
		func(r *sql.Rows) error {
			o, err := scanObject(r)
			out = append(out, o)
			return err
		})
	return out, err
}

func (t *txn) GetObjectByUPN(ctx context.Context, tenantID, kind, upn string) (store.Object, error) {
	if upn == "" {
		return store.Object{}, store.ErrNotFound
	}
	return t.object(ctx, `o.upn = $3`, tenantID, kind, strings.ToLower(upn))
}

func (t *txn) GetObjectByAppID(ctx context.Context, tenantID, kind, appID string) (store.Object, error) {
	if appID == "" {
		return store.Object{}, store.ErrNotFound
	}
	return t.object(ctx, `o.app_id = $3`, tenantID, kind, appID)
}

func (t *txn) LookupApplication(ctx context.Context, appID string) (store.Object, error) {
	if appID == "" {
		return store.Object{}, store.ErrNotFound
	}
	return t.oneObject(ctx, `SELECT `+objectColumns+` FROM objects o
		WHERE o.kind = '`+kindApplication+`' AND o.app_id = $1 AND o.deleted_at IS NULL`, appID)
}

// oneObject runs q, which selects objectColumns of at most one object.
func (t *txn) oneObject(ctx context.Context, q string, args ...any) (store.Object, error) {
	var o store.Object
	err := t.row(ctx, q, args, func(r *sql.Row) (err error) {
		o, err = scanObject(r)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return store.Object{}, store.ErrNotFound
	}
	return o, err
}

func (t *txn) object(ctx context.Context, cond string, args ...any) (store.Object, error) {
	return t.oneObject(ctx, `SELECT `+objectColumns+` FROM objects o
		WHERE o.tenant_id = $1 AND o.kind = $2 AND `+cond+` AND o.deleted_at IS NULL`, args...)
}

func (t *txn) UpdateObject(ctx context.Context, o *store.Object) error {
	if err := t.writable(); err != nil {
		return err
	}
	err := t.undoOnError(ctx, o.Kind == kindApplication, func() error {
		// The NOT EXISTS terms turn a key collision into "no row updated"
		// rather than a unique violation, which would abort a PostgreSQL
		// transaction; the unique indexes still catch a concurrent taker.
		n, err := t.exec(ctx, `UPDATE objects SET version = version + 1, updated_at = $5,
				upn = $6, mail = $7, app_id = $8, display_name = $9, data = $10
			WHERE tenant_id = $1 AND kind = $2 AND id = $3 AND version = $4 AND deleted_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM objects x WHERE x.tenant_id = $1 AND x.kind = $2 AND x.upn = $6 AND x.id <> $3 AND x.deleted_at IS NULL)
			AND NOT EXISTS (SELECT 1 FROM objects x WHERE `+appIDScope+` AND x.kind = $2 AND x.app_id = $8 AND NOT (x.tenant_id = $1 AND x.id = $3) AND x.deleted_at IS NULL)`,
			o.TenantID, o.Kind, o.ID, o.Version, t.at(o.UpdatedAt),
			key(strings.ToLower(o.UPN)), strings.ToLower(o.Mail), key(o.AppID), o.DisplayName, document(o.Data))
		if err != nil {
			return err
		}
		if n == 0 {
			if err := t.checkVersion(ctx, o.TenantID, o.Kind, o.ID, o.Version, false); err != nil {
				return err
			}
			return t.conflict(ctx, o, false)
		}
		return t.claimURIs(ctx, o, true)
	})
	if err != nil {
		return err
	}
	o.Version++
	t.record(o.TenantID, store.Change{Kind: o.Kind, ObjectID: o.ID, Op: store.OpUpdated, Version: o.Version})
	return nil
}

// checkVersion explains why a conditional write changed nothing: no such
// live object, or another version (unless anyVersion and version is 0).
func (t *txn) checkVersion(ctx context.Context, tenantID, kind, id string, version int64, anyVersion bool) error {
	var current int64
	if err := t.get(ctx, `SELECT version FROM objects WHERE tenant_id = $1 AND kind = $2 AND id = $3 AND deleted_at IS NULL`,
		[]any{tenantID, kind, id}, &current); err != nil {
		return err
	}
	if current != version && !(anyVersion && version == 0) {
		return store.ErrPrecondition
	}
	return nil
}

func (t *txn) DeleteObject(ctx context.Context, tenantID, kind, id string, version int64) error {
	if err := t.writable(); err != nil {
		return err
	}
	q := `UPDATE objects SET deleted_at = $4, version = version + 1
		WHERE tenant_id = $1 AND kind = $2 AND id = $3 AND deleted_at IS NULL`
	args := []any{tenantID, kind, id, t.at(t.s.now())}
	if version != 0 {
		q += ` AND version = $5`
		args = append(args, version)
	}
	var next int64
	err := t.get(ctx, q+` RETURNING version`, args, &next)
	if errors.Is(err, store.ErrNotFound) {
		if err := t.checkVersion(ctx, tenantID, kind, id, version, true); err != nil {
			return err
		}
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	// The object's own links go with it. Links to it are taken out of their
	// sources, and each source's change feed says so (a group's members@delta).
	if _, err := t.exec(ctx, `DELETE FROM links WHERE tenant_id = $1 AND source_id = $2`, tenantID, id); err != nil {
		return err
	}
	var incoming []store.Link
	err = t.query(ctx, `DELETE FROM links WHERE tenant_id = $1 AND target_id = $2 RETURNING source_id, rel`, []any{tenantID, id}, func(r *sql.Rows) error {
		var l store.Link
		err := r.Scan(&l.SourceID, &l.Rel)
		incoming = append(incoming, l)
		return err
	})
	if err != nil {
		return err
	}
	for _, l := range incoming {
		srcKind, srcVersion, err := t.liveObject(ctx, tenantID, l.SourceID, false)
		if err != nil {
			return err
		}
		t.record(tenantID, store.Change{Kind: srcKind, ObjectID: l.SourceID, Op: store.OpUnlinked, Version: srcVersion, Rel: l.Rel, TargetID: id})
	}
	t.record(tenantID, store.Change{Kind: kind, ObjectID: id, Op: store.OpDeleted, Version: next})
	return nil
}

func (t *txn) ListDeletedObjects(ctx context.Context, tenantID, kind string, q store.Query) (store.Page, error) {
	args := &sqlq.Args{}
	conds := []string{"o.tenant_id = " + args.Add(tenantID), "o.kind = " + args.Add(kind), "o.deleted_at IS NOT NULL"}
	return t.page(ctx, "objects o", conds, args, q)
}

func (t *txn) GetDeletedObject(ctx context.Context, tenantID, kind, id string) (store.Object, error) {
	return t.oneObject(ctx, `SELECT `+objectColumns+` FROM objects o
		WHERE o.tenant_id = $1 AND o.kind = $2 AND o.id = $3 AND o.deleted_at IS NOT NULL`, tenantID, kind, id)
}

func (t *txn) RestoreObject(ctx context.Context, tenantID, kind, id string) (store.Object, error) {
	if err := t.writable(); err != nil {
		return store.Object{}, err
	}
	o, err := t.GetDeletedObject(ctx, tenantID, kind, id)
	if err != nil {
		return store.Object{}, err
	}
	// A live object may have taken a unique key while this one was deleted.
	for _, c := range []struct{ key, cond, val string }{{"userPrincipalName", "x.tenant_id = $1 AND x.upn = $3", o.UPN}, {"appId", appIDScope + " AND x.app_id = $3", o.AppID}} {
		if c.val == "" {
			continue
		}
		taken, err := t.exists(ctx, `SELECT 1 FROM objects x WHERE `+c.cond+` AND x.kind = $2 AND x.deleted_at IS NULL`, tenantID, kind, c.val)
		if err != nil {
			return store.Object{}, err
		}
		if taken {
			return store.Object{}, &store.ConflictError{Key: c.key}
		}
	}
	if err := t.get(ctx, `UPDATE objects SET deleted_at = NULL, version = version + 1, updated_at = $4
		WHERE tenant_id = $1 AND kind = $2 AND id = $3 AND deleted_at IS NOT NULL RETURNING version`,
		[]any{tenantID, kind, id, t.at(t.s.now())}, &o.Version); err != nil {
		return store.Object{}, err
	}
	o.DeletedAt = nil
	t.record(tenantID, store.Change{Kind: kind, ObjectID: id, Op: store.OpCreated, Version: o.Version})
	return o, nil
}

func (t *txn) PurgeObject(ctx context.Context, tenantID, kind, id string) error {
	if err := t.writable(); err != nil {
		return err
	}
	if err := changed(t.exec(ctx, `DELETE FROM objects WHERE tenant_id = $1 AND kind = $2 AND id = $3 AND deleted_at IS NOT NULL`, tenantID, kind, id)); err != nil {
		return err
	}
	// Its identifier URIs and external identities go with the row (ON
	// DELETE CASCADE).
	_, err := t.exec(ctx, `DELETE FROM credentials WHERE tenant_id = $1 AND object_id = $2`, tenantID, id)
	return err
}

func (t *txn) PurgeDeletedObjects(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if err := t.writable(); err != nil {
		return 0, err
	}
	if limit < 1 {
		return 0, errors.New("store: purge limit must be positive")
	}
	type key struct{ tenant, kind, id string }
	var doomed []key
	err := t.query(ctx, `SELECT tenant_id, kind, id FROM objects WHERE deleted_at IS NOT NULL AND deleted_at < $1 ORDER BY deleted_at `+limitTo(`$2`),
		[]any{t.at(cutoff), limit}, func(r *sql.Rows) error {
			var k key
			err := r.Scan(&k.tenant, &k.kind, &k.id)
			doomed = append(doomed, k)
			return err
		})
	if err != nil {
		return 0, err
	}
	for _, k := range doomed {
		if err := t.PurgeObject(ctx, k.tenant, k.kind, k.id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return 0, err
		}
	}
	return len(doomed), nil
}

func (t *txn) ListObjects(ctx context.Context, tenantID, kind string, q store.Query) (store.Page, error) {
	args := &sqlq.Args{}
	conds := []string{"o.tenant_id = " + args.Add(tenantID), "o.kind = " + args.Add(kind), "o.deleted_at IS NULL"}
	return t.page(ctx, "objects o", conds, args, q)
}

func (t *txn) CountObjects(ctx context.Context, tenantID, kind string, schema *odata.Schema, filter odata.Expr) (int64, error) {
	return t.countObjects(ctx, tenantID, kind, schema, filter, "o.deleted_at IS NULL")
}

func (t *txn) CountDeletedObjects(ctx context.Context, tenantID, kind string, schema *odata.Schema, filter odata.Expr) (int64, error) {
	return t.countObjects(ctx, tenantID, kind, schema, filter, "o.deleted_at IS NOT NULL")
}

// countObjects counts the objects of a kind in the state alive names.
func (t *txn) countObjects(ctx context.Context, tenantID, kind string, schema *odata.Schema, filter odata.Expr, alive string) (int64, error) {
	args := &sqlq.Args{}
	conds := []string{"o.tenant_id = " + args.Add(tenantID), "o.kind = " + args.Add(kind), alive}
	where, err := sqlq.Filter(t.s.b.Dialect, schema, filter, args)
	if err != nil {
		return 0, err
	}
	var n int64
	err = t.get(ctx, `SELECT COUNT(*) FROM objects o WHERE `+strings.Join(append(conds, where), " AND "), args.Values(), &n)
	return n, err
}

// maxTop is the largest page a query may ask for.
const maxTop = 999

// page runs q over the objects (alias o) of from that meet conds.
func (t *txn) page(ctx context.Context, from string, conds []string, args *sqlq.Args, q store.Query) (store.Page, error) {
	objs, next, err := pageRows(ctx, t, from, objectColumns, conds, args, q, scanObject, func(o store.Object) string { return o.ID })
	return store.Page{Objects: objs, Next: next}, err
}

// scanner is a row to scan.
type scanner interface{ Scan(...any) error }

// pageRows runs q over the rows (alias o, with an id column) of from that
// meet conds, reading cols and then the sort keys of each row with scan,
// and returns the page and the cursor of the next one.
func pageRows[T any](ctx context.Context, t *txn, from, cols string, conds []string, args *sqlq.Args, q store.Query,
	scan func(sc scanner, extra ...any) (T, error), id func(T) string) ([]T, string, error) {
	if q.Top < 1 || q.Top > maxTop {
		return nil, "", fmt.Errorf("store: page size %d outside 1..%d", q.Top, maxTop)
	}
	d := t.s.b.Dialect
	order, err := sqlq.NewOrder(d, q.Schema, q.OrderBy)
	if err != nil {
		return nil, "", err
	}
	where, err := sqlq.Filter(d, q.Schema, q.Filter, args)
	if err != nil {
		return nil, "", err
	}
	conds = append(conds, where)
	after, err := order.After(q.Cursor, args)
	if err != nil {
		return nil, "", err
	}
	if after != "" {
		conds = append(conds, after)
	}
	keys := order.Select()
	if len(keys) > 0 {
		cols += ", " + strings.Join(keys, ", ")
	}
	stmt := `SELECT ` + cols + ` FROM ` + from + ` WHERE ` + strings.Join(conds, " AND ") +
		` ORDER BY ` + order.OrderBy() + ` ` + limitTo(args.Add(q.Top+1))

	var (
		rows    []T
		next    string
		lastKey []any // sort values of the page's last row
	)
	err = t.query(ctx, stmt, args.Values(), func(r *sql.Rows) error {
		vals := make([]any, len(keys))
		ptrs := make([]any, len(keys))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		row, err := scan(r, ptrs...)
		if err != nil {
			return err
		}
		if len(rows) < q.Top {
			rows = append(rows, row)
			lastKey = vals
			return nil
		}
		// A row beyond the page: there is a next page, starting after
		// the page's last row.
		next, err = order.Cursor(lastKey, id(rows[len(rows)-1]))
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return rows, next, nil
}
