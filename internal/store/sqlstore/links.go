package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlq"
)

// liveObject reads the kind and version of a live object of the tenant.
// With lock, where the backend has concurrent writers, it also keeps the
// object from being deleted until commit.
func (t *txn) liveObject(ctx context.Context, tenantID, id string, lock bool) (kind string, version int64, err error) {
	q := `SELECT kind, version FROM objects WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`
	if lock {
		q += " " + t.s.b.ShareLock
	}
	err = t.get(ctx, q, []any{tenantID, id}, &kind, &version)
	return kind, version, err
}

func (t *txn) AddLink(ctx context.Context, tenantID string, l store.Link) error {
	if err := t.writable(); err != nil {
		return err
	}
	kind, version, err := t.liveObject(ctx, tenantID, l.SourceID, true)
	if err != nil {
		return err
	}
	if _, _, err := t.liveObject(ctx, tenantID, l.TargetID, true); err != nil {
		return err
	}
	n, err := t.exec(ctx, `INSERT INTO links (tenant_id, source_id, rel, target_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		tenantID, l.SourceID, l.Rel, l.TargetID)
	if err != nil {
		return err
	}
	if n == 0 {
		return &store.ConflictError{Key: "link"}
	}
	t.record(tenantID, store.Change{Kind: kind, ObjectID: l.SourceID, Op: store.OpLinked, Version: version, Rel: l.Rel, TargetID: l.TargetID})
	return nil
}

func (t *txn) RemoveLink(ctx context.Context, tenantID string, l store.Link) error {
	if err := t.writable(); err != nil {
		return err
	}
	err := changed(t.exec(ctx, `DELETE FROM links WHERE tenant_id = $1 AND source_id = $2 AND rel = $3 AND target_id = $4`,
		tenantID, l.SourceID, l.Rel, l.TargetID))
	if err != nil {
		return err
	}
	// Links of deleted objects are gone, so the source is live.
	kind, version, err := t.liveObject(ctx, tenantID, l.SourceID, false)
	if err != nil {
		return err
	}
	t.record(tenantID, store.Change{Kind: kind, ObjectID: l.SourceID, Op: store.OpUnlinked, Version: version, Rel: l.Rel, TargetID: l.TargetID})
	return nil
}

func (t *txn) ListRelated(ctx context.Context, tenantID string, r store.Related, q store.Query) (store.Page, error) {
	from, conds, args, err := t.related(ctx, tenantID, r)
	if err != nil {
		return store.Page{}, err
	}
	return t.page(ctx, from, conds, args, q)
}

func (t *txn) CountRelated(ctx context.Context, tenantID string, r store.Related, schema *odata.Schema, filter odata.Expr) (int64, error) {
	from, conds, args, err := t.related(ctx, tenantID, r)
	if err != nil {
		return 0, err
	}
	where, err := sqlq.Filter(t.s.b.Dialect, schema, filter, args)
	if err != nil {
		return 0, err
	}
	var n int64
	err = t.get(ctx, `SELECT COUNT(*) FROM `+from+` WHERE `+strings.Join(append(conds, where), " AND "), args.Values(), &n)
	return n, err
}

// related is the join and conditions of the live objects on the other side
// of r's links, after checking r's own object is live.
func (t *txn) related(ctx context.Context, tenantID string, r store.Related) (string, []string, *sqlq.Args, error) {
	if _, _, err := t.liveObject(ctx, tenantID, r.ID, false); err != nil {
		return "", nil, nil, err
	}
	near, far := "l.source_id", "l.target_id"
	if r.Reverse {
		near, far = far, near
	}
	args := &sqlq.Args{}
	conds := []string{"l.tenant_id = " + args.Add(tenantID), near + " = " + args.Add(r.ID), "l.rel = " + args.Add(r.Rel), "o.deleted_at IS NULL"}
	if r.Kind != "" {
		conds = append(conds, "o.kind = "+args.Add(r.Kind))
	}
	return "links l JOIN objects o ON o.tenant_id = l.tenant_id AND o.id = " + far, conds, args, nil
}

func (t *txn) Ancestors(ctx context.Context, tenantID, rel, sourceKind, id string, limit int) ([]string, error) {
	if limit < 1 {
		return nil, errors.New("store: Ancestors needs a positive limit")
	}
	// UNION (not UNION ALL) keeps each source once, which also ends the
	// walk around a cycle. The walk follows links alone and the sources
	// are checked once, at the end: a deleted object has no links left,
	// and joining objects at every step made PostgreSQL plan for longer
	// than it ran. CROSS JOIN fixes SQLite's join order (links by target,
	// then each source by key); without statistics it walked every group
	// of the tenant instead.
	q := `WITH RECURSIVE up(id) AS (
			SELECT l.source_id FROM links l WHERE l.tenant_id = $1 AND l.target_id = $3 AND l.rel = $2
		UNION
			SELECT l.source_id FROM up CROSS JOIN links l WHERE l.tenant_id = $1 AND l.target_id = up.id AND l.rel = $2)
		SELECT o.id FROM up CROSS JOIN objects o WHERE o.tenant_id = $1 AND o.id = up.id AND o.kind = $4 AND o.deleted_at IS NULL
		ORDER BY o.id ` + limitTo(`$5`)
	var out []string
	err := t.query(ctx, q, []any{tenantID, rel, id, sourceKind, limit}, func(r *sql.Rows) error {
		var src string
		err := r.Scan(&src)
		out = append(out, src)
		return err
	})
	return out, err
}
