package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlq"
)

type pendingChange struct {
	tenant string
	change store.Change
}

// record queues a change-feed entry of this transaction.
func (t *txn) record(tenantID string, c store.Change) {
	c.At = t.s.now().UTC()
	t.pending = append(t.pending, pendingChange{tenant: tenantID, change: c})
}

// flush numbers and writes the queued entries of tenantID ("" for all).
//
// Positions come from the tenant's counter row, and the row stays locked
// until commit, so a tenant's transactions take positions in commit order:
// a reader never sees position N+1 before N. Numbering at the end (Update
// flushes just before commit) holds that lock only briefly, and tenants are
// taken in ID order so that transactions touching several cannot deadlock.
func (t *txn) flush(ctx context.Context, tenantID string) error {
	byTenant := map[string][]store.Change{}
	var keep []pendingChange
	for _, p := range t.pending {
		if tenantID != "" && p.tenant != tenantID {
			keep = append(keep, p)
			continue
		}
		byTenant[p.tenant] = append(byTenant[p.tenant], p.change)
	}
	tenants := make([]string, 0, len(byTenant))
	for id := range byTenant {
		tenants = append(tenants, id)
	}
	slices.Sort(tenants)
	for _, id := range tenants {
		if err := t.append(ctx, id, byTenant[id]); err != nil {
			return err
		}
	}
	t.pending = keep
	return nil
}

// insertBatch bounds the rows of one INSERT, well below both backends'
// parameter limits.
const insertBatch = 500

func (t *txn) append(ctx context.Context, tenantID string, changes []store.Change) error {
	var last int64
	if err := t.get(ctx, `UPDATE tenants SET seq = seq + $2 WHERE id = $1 RETURNING seq`,
		[]any{tenantID, int64(len(changes))}, &last); err != nil {
		return err
	}
	seq := last - int64(len(changes))
	for batch := range slices.Chunk(changes, insertBatch) {
		args := &sqlq.Args{}
		rows := make([]string, 0, len(batch))
		for _, c := range batch {
			seq++
			rows = append(rows, "("+strings.Join([]string{
				args.Add(tenantID), args.Add(seq), args.Add(c.Kind), args.Add(c.ObjectID), args.Add(c.Op),
				args.Add(c.Version), args.Add(c.Rel), args.Add(c.TargetID), args.Add(t.at(c.At)),
			}, ", ")+")")
		}
		if _, err := t.exec(ctx, `INSERT INTO changes (tenant_id, seq, kind, object_id, op, version, rel, target_id, at) VALUES `+
			strings.Join(rows, ", "), args.Values()...); err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) HeadSeq(ctx context.Context, tenantID string) (int64, error) {
	if err := t.flush(ctx, tenantID); err != nil {
		return 0, err
	}
	var seq int64
	err := t.get(ctx, `SELECT seq FROM tenants WHERE id = $1`, []any{tenantID}, &seq)
	return seq, err
}

func (t *txn) Changes(ctx context.Context, tenantID string, kinds []string, after int64, limit int) ([]store.Change, error) {
	if limit < 1 {
		return nil, errors.New("store: change limit must be positive")
	}
	if err := t.flush(ctx, tenantID); err != nil {
		return nil, err
	}
	args := &sqlq.Args{}
	q := `SELECT seq, kind, object_id, op, version, rel, target_id, at FROM changes WHERE tenant_id = ` + args.Add(tenantID) +
		` AND seq > ` + args.Add(after)
	if len(kinds) > 0 {
		ph := make([]string, len(kinds))
		for i, k := range kinds {
			ph[i] = args.Add(k)
		}
		q += ` AND kind IN (` + strings.Join(ph, ", ") + `)`
	}
	q += ` ORDER BY seq ` + limitTo(args.Add(limit))
	var out []store.Change
	err := t.query(ctx, q, args.Values(), func(r *sql.Rows) error {
		var c store.Change
		err := r.Scan(&c.Seq, &c.Kind, &c.ObjectID, &c.Op, &c.Version, &c.Rel, &c.TargetID, timeScan{&c.At})
		out = append(out, c)
		return err
	})
	return out, err
}
