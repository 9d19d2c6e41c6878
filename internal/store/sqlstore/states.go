package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlq"
)

const stateColumns = `tenant_id, kind, id, family, subject, data, created_at, expires_at, consumed_at`

// stateRow is the scan target of stateColumns.
type stateRow struct {
	s          store.State
	data       []byte
	consumedAt time.Time
}

func (r *stateRow) dest() []any {
	return []any{&r.s.TenantID, &r.s.Kind, &r.s.ID, &r.s.Family, &r.s.Subject, &r.data,
		timeScan{&r.s.CreatedAt}, timeScan{&r.s.ExpiresAt}, timeScan{&r.consumedAt}}
}

func (r *stateRow) state() store.State {
	s := r.s
	s.Data = r.data
	if !r.consumedAt.IsZero() {
		at := r.consumedAt
		s.ConsumedAt = &at
	}
	return s
}

var errNoExpiry = errors.New("store: state expiry required")

func (t *txn) PutState(ctx context.Context, s store.State) error {
	if err := t.writable(); err != nil {
		return err
	}
	if err := required("state tenant, kind and id", s.TenantID, s.Kind, s.ID); err != nil {
		return err
	}
	if s.ExpiresAt.IsZero() {
		return errNoExpiry
	}
	now := t.s.now()
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	// An expired state reads as absent, so its id is free again even before
	// housekeeping purges the row: a lockout counter keyed by a user id, say,
	// starts over once it has expired.
	n, err := t.exec(ctx, `INSERT INTO states (tenant_id, kind, id, family, subject, data, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (tenant_id, kind, id) DO UPDATE SET family = excluded.family, subject = excluded.subject,
			data = excluded.data, created_at = excluded.created_at, expires_at = excluded.expires_at, consumed_at = NULL
		WHERE states.expires_at <= $9`,
		s.TenantID, s.Kind, s.ID, s.Family, s.Subject, append([]byte{}, s.Data...),
		t.at(s.CreatedAt), t.at(s.ExpiresAt), t.at(now))
	if err == nil && n == 0 {
		return &store.ConflictError{Key: "id"}
	}
	return err
}

// LockState is one upsert: inserting takes the row, and a conflict takes
// the existing row's lock (PostgreSQL locks the row of ON CONFLICT DO
// UPDATE, and a concurrent insert of the same key waits for the first to
// commit, then updates the committed row; SQLite has one writer). The SET
// keeps a live row as it is and replaces an expired one with s.
func (t *txn) LockState(ctx context.Context, s store.State) (store.State, error) {
	if err := t.writable(); err != nil {
		return store.State{}, err
	}
	if err := required("state tenant, kind and id", s.TenantID, s.Kind, s.ID); err != nil {
		return store.State{}, err
	}
	if s.ExpiresAt.IsZero() {
		return store.State{}, errNoExpiry
	}
	now := t.s.now()
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	keep := func(column string) string {
		return column + ` = CASE WHEN states.expires_at <= $9 THEN excluded.` + column + ` ELSE states.` + column + ` END`
	}
	var r stateRow
	err := t.get(ctx, `INSERT INTO states (tenant_id, kind, id, family, subject, data, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (tenant_id, kind, id) DO UPDATE SET `+keep("family")+`, `+keep("subject")+`, `+keep("data")+`,
			`+keep("created_at")+`, `+keep("expires_at")+`,
			consumed_at = CASE WHEN states.expires_at <= $9 THEN NULL ELSE states.consumed_at END
		RETURNING `+stateColumns,
		[]any{s.TenantID, s.Kind, s.ID, s.Family, s.Subject, append([]byte{}, s.Data...), t.at(s.CreatedAt), t.at(s.ExpiresAt), t.at(now)},
		r.dest()...)
	if err != nil {
		return store.State{}, err
	}
	return r.state(), nil
}

func (t *txn) GetState(ctx context.Context, tenantID, kind, id string) (store.State, error) {
	return t.liveState(ctx, tenantID, kind, id, t.s.now())
}

// liveState reads a state that has not expired at now, consumed or not.
func (t *txn) liveState(ctx context.Context, tenantID, kind, id string, now time.Time) (store.State, error) {
	var r stateRow
	err := t.get(ctx, `SELECT `+stateColumns+` FROM states WHERE tenant_id = $1 AND kind = $2 AND id = $3 AND expires_at > $4`,
		[]any{tenantID, kind, id, t.at(now)}, r.dest()...)
	if err != nil {
		return store.State{}, err
	}
	return r.state(), nil
}

// ConsumeState lets the database pick the one winner: the conditional
// UPDATE changes the row only while consumed_at is NULL. On PostgreSQL a
// concurrent consumer waits for the winner's row lock and then re-checks
// the condition against the committed row; SQLite has one writer.
func (t *txn) ConsumeState(ctx context.Context, tenantID, kind, id string) (store.State, error) {
	if err := t.writable(); err != nil {
		return store.State{}, err
	}
	now := t.s.now()
	var r stateRow
	err := t.get(ctx, `UPDATE states SET consumed_at = $4
		WHERE tenant_id = $1 AND kind = $2 AND id = $3 AND consumed_at IS NULL AND expires_at > $4
		RETURNING `+stateColumns,
		[]any{tenantID, kind, id, t.at(now)}, r.dest()...)
	if errors.Is(err, store.ErrNotFound) {
		return t.missed(ctx, tenantID, kind, id, now)
	}
	if err != nil {
		return store.State{}, err
	}
	return r.state(), nil
}

func (t *txn) UpdateState(ctx context.Context, s store.State) error {
	if err := t.writable(); err != nil {
		return err
	}
	if s.ExpiresAt.IsZero() {
		return errNoExpiry
	}
	now := t.s.now()
	n, err := t.exec(ctx, `UPDATE states SET data = $4, expires_at = $5
		WHERE tenant_id = $1 AND kind = $2 AND id = $3 AND consumed_at IS NULL AND expires_at > $6`,
		s.TenantID, s.Kind, s.ID, append([]byte{}, s.Data...), t.at(s.ExpiresAt), t.at(now))
	if err != nil || n > 0 {
		return err
	}
	_, err = t.missed(ctx, s.TenantID, s.Kind, s.ID, now)
	return err
}

// missed explains why a write to a live, unconsumed state changed nothing:
// the state with ErrConsumed, or ErrNotFound. It never returns a nil error.
func (t *txn) missed(ctx context.Context, tenantID, kind, id string, now time.Time) (store.State, error) {
	s, err := t.liveState(ctx, tenantID, kind, id, now)
	if err != nil {
		return store.State{}, err
	}
	if s.ConsumedAt == nil {
		// Committed after the write took its snapshot (PostgreSQL's READ
		// COMMITTED takes one per statement): absent for that write.
		return store.State{}, store.ErrNotFound
	}
	return s, store.ErrConsumed
}

// stateFilter is the condition selecting the tenant's states matching f.
func stateFilter(args *sqlq.Args, tenantID string, f store.StateFilter) (string, error) {
	if f == (store.StateFilter{}) {
		return "", errors.New("store: a state filter needs a kind, family or subject")
	}
	cond := `tenant_id = ` + args.Add(tenantID)
	for _, c := range []struct{ column, value string }{{"kind", f.Kind}, {"family", f.Family}, {"subject", f.Subject}} {
		if c.value != "" {
			cond += ` AND ` + c.column + ` = ` + args.Add(c.value)
		}
	}
	return cond, nil
}

// DeleteStates removes matching rows whether or not they have expired, so
// a revoked family leaves nothing behind for housekeeping; the count
// includes expired rows.
func (t *txn) DeleteStates(ctx context.Context, tenantID string, f store.StateFilter) (int, error) {
	if err := t.writable(); err != nil {
		return 0, err
	}
	args := &sqlq.Args{}
	cond, err := stateFilter(args, tenantID, f)
	if err != nil {
		return 0, err
	}
	n, err := t.exec(ctx, `DELETE FROM states WHERE `+cond, args.Values()...)
	return int(n), err
}

func (t *txn) ListStates(ctx context.Context, tenantID string, f store.StateFilter) ([]store.State, error) {
	args := &sqlq.Args{}
	cond, err := stateFilter(args, tenantID, f)
	if err != nil {
		return nil, err
	}
	var out []store.State
	err = t.query(ctx, `SELECT `+stateColumns+` FROM states WHERE `+cond+` AND expires_at > `+args.Add(t.at(t.s.now()))+`
		ORDER BY created_at, kind, id`, args.Values(), func(rows *sql.Rows) error {
		var r stateRow
		if err := rows.Scan(r.dest()...); err != nil {
			return err
		}
		out = append(out, r.state())
		return nil
	})
	return out, err
}

func (t *txn) PurgeExpiredStates(ctx context.Context, limit int) (int, error) {
	if err := t.writable(); err != nil {
		return 0, err
	}
	if limit < 1 {
		return 0, errors.New("store: purge needs a positive limit")
	}
	// SkipLocked lets purges on several nodes share the work instead of
	// queueing behind each other's rows.
	n, err := t.exec(ctx, `DELETE FROM states WHERE (tenant_id, kind, id) IN (
		SELECT tenant_id, kind, id FROM states WHERE expires_at <= $1 ORDER BY expires_at `+limitTo(`$2`)+` `+t.s.b.SkipLocked+`)`,
		t.at(t.s.now()), limit)
	return int(n), err
}
