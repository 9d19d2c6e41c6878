package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlq"
)

const auditColumns = `o.tenant_id, o.log, o.id, o.created_at, o.category, o.activity, o.user_id, o.app_id, o.upn, o.result, o.error_code, o.data`

func scanAudit(sc scanner, extra ...any) (store.AuditRecord, error) {
	var (
		r                                     store.AuditRecord
		category, activity, userID, appID, up sql.NullString
		data                                  []byte
	)
	dest := append([]any{&r.TenantID, &r.Log, &r.ID, timeScan{&r.At}, &category, &activity, &userID, &appID, &up,
		&r.Result, &r.ErrorCode, &data}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return store.AuditRecord{}, err
	}
	r.Category, r.Activity, r.UserID, r.AppID, r.UPN, r.Data = category.String, activity.String, userID.String, appID.String, up.String, data
	return r, nil
}

// auditChunk is how many records one INSERT carries: a batch of sign-ins
// costs a few statements, not one a record. Between chunks the writer
// yields, so that on a node with one core the requests waiting for it run
// between a large batch's chunks rather than after all of them.
const auditChunk = 100

// auditInsertColumns is how many values a row of auditInsert takes.
const auditInsertColumns = 12

// auditInserts holds the INSERT of n records, n ≤ auditChunk, once built:
// a batch of sign-ins reuses the same few statement texts, which the
// SQLite store's statement cache then finds prepared.
var auditInserts [auditChunk + 1]atomic.Pointer[string]

// auditInsert is the INSERT of n records, whose values are bound in the
// order of its columns, record after record.
func auditInsert(n int) string {
	if q := auditInserts[n].Load(); q != nil {
		return *q
	}
	b := []byte(`INSERT INTO audit_records (tenant_id, log, id, created_at, category, activity, user_id, app_id, upn, result, error_code, data) VALUES `)
	for row := range n {
		if row > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '(')
		for col := range auditInsertColumns {
			if col > 0 {
				b = append(b, ", "...)
			}
			b = append(b, '$')
			b = strconv.AppendInt(b, int64(row*auditInsertColumns+col+1), 10)
		}
		b = append(b, ')')
	}
	q := string(append(b, " ON CONFLICT DO NOTHING"...))
	auditInserts[n].Store(&q)
	return q
}

// AppendAudit inserts the records as they are: no change-feed entry, so
// the tenant's head stays where it is.
func (t *txn) AppendAudit(ctx context.Context, recs ...store.AuditRecord) error {
	if err := t.writable(); err != nil {
		return err
	}
	for len(recs) > 0 {
		chunk := recs[:min(len(recs), auditChunk)]
		recs = recs[len(chunk):]
		vals := make([]any, 0, len(chunk)*auditInsertColumns)
		for _, r := range chunk {
			if err := required("audit record tenant, log and id", r.TenantID, r.Log, r.ID); err != nil {
				return err
			}
			vals = append(vals, r.TenantID, r.Log, r.ID, t.at(r.At), key(strings.ToLower(r.Category)), key(strings.ToLower(r.Activity)),
				key(r.UserID), key(r.AppID), key(strings.ToLower(r.UPN)), r.Result, r.ErrorCode, document(r.Data))
		}
		n, err := t.exec(ctx, auditInsert(len(chunk)), vals...)
		if err != nil {
			return err
		}
		if n != int64(len(chunk)) {
			return &store.ConflictError{Key: "id"}
		}
		if len(recs) > 0 {
			runtime.Gosched()
		}
	}
	return nil
}

func (t *txn) ListAudit(ctx context.Context, tenantID, log string, q store.Query) (store.AuditPage, error) {
	args := &sqlq.Args{}
	conds := []string{"o.tenant_id = " + args.Add(tenantID), "o.log = " + args.Add(log)}
	recs, next, err := pageRows(ctx, t, "audit_records o", auditColumns, conds, args, q, scanAudit,
		func(r store.AuditRecord) string { return r.ID })
	return store.AuditPage{Records: recs, Next: next}, err
}

func (t *txn) GetAudit(ctx context.Context, tenantID, log, id string) (store.AuditRecord, error) {
	var r store.AuditRecord
	err := t.row(ctx, `SELECT `+auditColumns+` FROM audit_records o
		WHERE o.tenant_id = $1 AND o.log = $2 AND o.id = $3`, []any{tenantID, log, id}, func(row *sql.Row) (err error) {
		r, err = scanAudit(row)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return store.AuditRecord{}, store.ErrNotFound
	}
	return r, err
}

func (t *txn) PurgeAuditRecords(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if err := t.writable(); err != nil {
		return 0, err
	}
	if limit < 1 {
		return 0, errors.New("store: purge limit must be positive")
	}
	// Each tenant's logs through audit_time, in the order written: an
	// index on the age alone, across tenants, cost every sign-in one more
	// B-tree to write for a purge that runs once an hour.
	n, err := t.exec(ctx, `DELETE FROM audit_records WHERE (tenant_id, id) IN
		(SELECT a.tenant_id, a.id FROM tenants tn
			CROSS JOIN (SELECT $3 AS log UNION ALL SELECT $4) l
			CROSS JOIN audit_records a
			WHERE a.tenant_id = tn.id AND a.log = l.log AND a.created_at < $1 `+limitTo(`$2`)+`)`,
		t.at(cutoff), limit, store.LogDirectoryAudit, store.LogSignIn)
	return int(n), err
}
