package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// errReadOnly is what write methods return inside View.
var errReadOnly = errors.New("store: write in a read-only transaction")

// txn is a store.Tx over one database/sql transaction.
type txn struct {
	s  *Store
	tx *sql.Tx
	// caller is the context Update or View was given; bounded is caller
	// ending at the store's timeout, which the transaction began under.
	caller, bounded context.Context
	readOnly        bool
	// detached statements run under bounded alone, not under the context
	// a caller passes: in a group commit, one caller's cancellation must
	// not interrupt a statement, which would roll back the others' writes.
	// bounded cannot end then; a statement fails instead when it would
	// start after deadline.
	detached bool
	deadline time.Time
	// pending are the change-feed entries of this transaction not yet
	// numbered; see flush.
	pending []pendingChange
}

var _ store.Tx = (*txn)(nil)

func (t *txn) writable() error {
	if t.readOnly {
		return errReadOnly
	}
	return nil
}

// bound is the context a statement runs under: ctx, ending no later than
// the transaction. database/sql cannot roll a transaction back while one of
// its statements runs, so a statement on a hung connection must be stopped
// by its own context or it would pin the request and the connection.
func (t *txn) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if t.detached {
		if time.Now().After(t.deadline) {
			return expired, func() {}
		}
		return t.bounded, func() {}
	}
	if ctx == t.caller {
		return t.bounded, func() {}
	}
	d, _ := t.bounded.Deadline()
	return context.WithDeadline(ctx, d)
}

// expired is a context whose deadline has passed.
var expired = func() context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), time.Time{})
	cancel()
	return ctx
}()

// exec runs a statement and returns how many rows it changed.
func (t *txn) exec(ctx context.Context, q string, args ...any) (int64, error) {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	res, err := t.tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, t.s.b.Classify(err)
	}
	return res.RowsAffected()
}

// get scans the single row of q into dest; no row is store.ErrNotFound.
func (t *txn) get(ctx context.Context, q string, args []any, dest ...any) error {
	err := t.row(ctx, q, args, func(r *sql.Row) error { return r.Scan(dest...) })
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return t.s.b.Classify(err)
	}
	return nil
}

// row runs q, which returns at most one row, and scans that row with scan.
func (t *txn) row(ctx context.Context, q string, args []any, scan func(*sql.Row) error) error {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	return scan(t.tx.QueryRowContext(ctx, q, args...))
}

// exists reports whether q returns a row.
func (t *txn) exists(ctx context.Context, q string, args ...any) (bool, error) {
	var one int
	err := t.get(ctx, q, args, &one)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// query runs q and calls scan for every row.
func (t *txn) query(ctx context.Context, q string, args []any, scan func(*sql.Rows) error) error {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	rows, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return t.s.b.Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// changed maps "no row changed" to store.ErrNotFound.
func changed(n int64, err error) error {
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return err
}

// at is the parameter form of an instant.
func (t *txn) at(v time.Time) any { return t.s.b.Dialect.TimeArg(v) }

// optAt stores the zero time, which means "not set", as NULL.
func (t *txn) optAt(v time.Time) any {
	if v.IsZero() {
		return nil
	}
	return t.at(v)
}

// timeScan reads an instant stored by either dialect (text or timestamp);
// NULL reads as the zero time.
type timeScan struct{ dst *time.Time }

func (s timeScan) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*s.dst = time.Time{}
	case time.Time:
		*s.dst = v.UTC()
	case string:
		return s.parse(v)
	case []byte:
		return s.parse(string(v))
	default:
		return fmt.Errorf("store: cannot read %T as a time", v)
	}
	return nil
}

func (s timeScan) parse(v string) error {
	at, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return fmt.Errorf("store: stored time %q: %w", v, err)
	}
	*s.dst = at.UTC()
	return nil
}

func required(what string, vals ...string) error {
	for _, v := range vals {
		if v == "" {
			return fmt.Errorf("store: %s required", what)
		}
	}
	return nil
}

// Tenants.

func (t *txn) CreateTenant(ctx context.Context, tn store.Tenant) error {
	if err := t.writable(); err != nil {
		return err
	}
	if err := required("tenant id", tn.ID); err != nil {
		return err
	}
	n, err := t.exec(ctx, `INSERT INTO tenants (id, display_name, type, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		tn.ID, tn.DisplayName, tn.Type, t.at(tn.CreatedAt))
	if err == nil && n == 0 {
		return &store.ConflictError{Key: "id"}
	}
	return err
}

// DeleteTenant deletes the tenant's row, which every table of its data
// references with ON DELETE CASCADE (directly, or through its objects),
// but for the feed and the outbox, whose rows go first.
func (t *txn) DeleteTenant(ctx context.Context, id string) error {
	if err := t.writable(); err != nil {
		return err
	}
	for _, q := range []string{`DELETE FROM changes WHERE tenant_id = $1`, `DELETE FROM outbox WHERE tenant_id = $1`} {
		if _, err := t.exec(ctx, q, id); err != nil {
			return err
		}
	}
	return changed(t.exec(ctx, `DELETE FROM tenants WHERE id = $1`, id))
}

const tenantColumns = `id, display_name, type, created_at`

func tenantDest(tn *store.Tenant) []any {
	return []any{&tn.ID, &tn.DisplayName, &tn.Type, timeScan{&tn.CreatedAt}}
}

func (t *txn) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	var tn store.Tenant
	err := t.get(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, []any{id}, tenantDest(&tn)...)
	return tn, err
}

func (t *txn) ListTenants(ctx context.Context, after string, limit int) ([]store.Tenant, error) {
	var out []store.Tenant
	err := t.query(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id > $1 ORDER BY id `+limitTo(`$2`), []any{after, limit}, func(r *sql.Rows) error {
		var tn store.Tenant
		err := r.Scan(tenantDest(&tn)...)
		out = append(out, tn)
		return err
	})
	return out, err
}

func (t *txn) LockTenant(ctx context.Context, tenantID string) error {
	if err := t.writable(); err != nil {
		return err
	}
	var id string
	return t.get(ctx, `SELECT id FROM tenants WHERE id = $1 `+t.s.b.UpdateLock, []any{tenantID}, &id)
}

func (t *txn) CountTenants(ctx context.Context) (int, error) {
	var n int
	err := t.get(ctx, `SELECT COUNT(*) FROM tenants`, nil, &n)
	return n, err
}

// Domains.

const domainColumns = `name, tenant_id, verified, is_initial, is_default, created_at`

func scanDomain(sc interface{ Scan(...any) error }) (store.Domain, error) {
	var d store.Domain
	err := sc.Scan(&d.Name, &d.TenantID, &d.Verified, &d.Initial, &d.Default, timeScan{&d.CreatedAt})
	return d, err
}

func (t *txn) AddDomain(ctx context.Context, d store.Domain) error {
	if err := t.writable(); err != nil {
		return err
	}
	if err := required("domain name and tenant", d.Name, d.TenantID); err != nil {
		return err
	}
	n, err := t.exec(ctx, `INSERT INTO domains (`+domainColumns+`) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		strings.ToLower(d.Name), d.TenantID, d.Verified, d.Initial, d.Default, t.at(d.CreatedAt))
	if err == nil && n == 0 {
		return &store.ConflictError{Key: "id"}
	}
	return err
}

func (t *txn) UpdateDomain(ctx context.Context, d store.Domain) error {
	if err := t.writable(); err != nil {
		return err
	}
	return changed(t.exec(ctx, `UPDATE domains SET verified = $3, is_initial = $4, is_default = $5 WHERE tenant_id = $1 AND name = $2`,
		d.TenantID, strings.ToLower(d.Name), d.Verified, d.Initial, d.Default))
}

func (t *txn) GetDomain(ctx context.Context, tenantID, name string) (store.Domain, error) {
	return t.domain(ctx, `SELECT `+domainColumns+` FROM domains WHERE name = $1 AND tenant_id = $2`, strings.ToLower(name), tenantID)
}

func (t *txn) LookupDomain(ctx context.Context, name string) (store.Domain, error) {
	return t.domain(ctx, `SELECT `+domainColumns+` FROM domains WHERE name = $1`, strings.ToLower(name))
}

func (t *txn) domain(ctx context.Context, q string, args ...any) (store.Domain, error) {
	var d store.Domain
	err := t.row(ctx, q, args, func(r *sql.Row) (err error) {
		d, err = scanDomain(r)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return store.Domain{}, store.ErrNotFound
	}
	return d, err
}

func (t *txn) ListDomains(ctx context.Context, tenantID string) ([]store.Domain, error) {
	var out []store.Domain
	err := t.query(ctx, `SELECT `+domainColumns+` FROM domains WHERE tenant_id = $1 ORDER BY name`, []any{tenantID}, func(r *sql.Rows) error {
		d, err := scanDomain(r)
		out = append(out, d)
		return err
	})
	return out, err
}

func (t *txn) DeleteDomain(ctx context.Context, tenantID, name string) error {
	if err := t.writable(); err != nil {
		return err
	}
	return changed(t.exec(ctx, `DELETE FROM domains WHERE tenant_id = $1 AND name = $2`, tenantID, strings.ToLower(name)))
}

// limitTo is a LIMIT clause of the placeholder ph. SQLite re-prepares, on
// every run, a statement whose LIMIT is a bare bound value (its planner
// reads the value), which doubled what a prepared page query cost; the
// cast keeps the plan independent of the value.
func limitTo(ph string) string {
	return `LIMIT CAST(` + ph + ` AS INTEGER)`
}
