package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func (t *txn) Enqueue(ctx context.Context, m store.Message) error {
	if err := t.writable(); err != nil {
		return err
	}
	if err := required("message topic", m.Topic); err != nil {
		return err
	}
	if m.ID == "" {
		m.ID = t.s.newID()
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = t.s.now()
	}
	if m.NotBefore.IsZero() {
		m.NotBefore = m.CreatedAt
	}
	n, err := t.exec(ctx, `INSERT INTO outbox (id, tenant_id, topic, payload, created_at, not_before) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT DO NOTHING`,
		m.ID, m.TenantID, m.Topic, append([]byte{}, m.Payload...), t.at(m.CreatedAt), t.at(m.NotBefore))
	if err == nil && n == 0 {
		return &store.ConflictError{Key: "id"}
	}
	return err
}

func (t *txn) ClaimMessages(ctx context.Context, topic string, now time.Time, lease time.Duration, limit int) ([]store.Message, error) {
	if err := t.writable(); err != nil {
		return nil, err
	}
	if limit < 1 || lease <= 0 {
		return nil, errors.New("store: claim needs a positive limit and lease")
	}
	// SkipLocked lets concurrent workers pass over the rows another claim
	// holds instead of waiting for them and then finding them leased.
	var out []store.Message
	err := t.query(ctx, `UPDATE outbox SET lease_until = $3, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox
			WHERE topic = $1 AND not_before <= $2 AND (lease_until IS NULL OR lease_until <= $2)
			ORDER BY not_before, id `+limitTo(`$4`)+` `+t.s.b.SkipLocked+`)
		RETURNING id, tenant_id, topic, payload, created_at, not_before, attempts, last_error`,
		[]any{topic, t.at(now), t.at(now.Add(lease)), limit}, func(r *sql.Rows) error {
			var m store.Message
			var payload []byte
			err := r.Scan(&m.ID, &m.TenantID, &m.Topic, &payload, timeScan{&m.CreatedAt}, timeScan{&m.NotBefore}, &m.Attempts, &m.LastError)
			m.Payload = payload
			out = append(out, m)
			return err
		})
	// RETURNING follows no ORDER BY.
	slices.SortFunc(out, func(a, b store.Message) int {
		return cmp.Or(a.NotBefore.Compare(b.NotBefore), cmp.Compare(a.ID, b.ID))
	})
	return out, err
}

func (t *txn) CompleteMessage(ctx context.Context, id string) error {
	if err := t.writable(); err != nil {
		return err
	}
	return changed(t.exec(ctx, `DELETE FROM outbox WHERE id = $1`, id))
}

func (t *txn) RetryMessage(ctx context.Context, id string, notBefore time.Time, lastError string) error {
	if err := t.writable(); err != nil {
		return err
	}
	return changed(t.exec(ctx, `UPDATE outbox SET not_before = $2, last_error = $3, lease_until = NULL WHERE id = $1`,
		id, t.at(notBefore), lastError))
}

func (t *txn) OutboxDepth(ctx context.Context, now time.Time) ([]store.TopicDepth, error) {
	var out []store.TopicDepth
	err := t.query(ctx, `SELECT topic,
			COALESCE(SUM(CASE WHEN lease_until > $1 THEN 0 WHEN not_before <= $1 THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN lease_until > $1 THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN lease_until > $1 THEN 0 WHEN not_before > $1 THEN 1 ELSE 0 END), 0)
		FROM outbox GROUP BY topic ORDER BY topic`, []any{t.at(now)}, func(r *sql.Rows) error {
		var d store.TopicDepth
		err := r.Scan(&d.Topic, &d.Due, &d.Leased, &d.Waiting)
		out = append(out, d)
		return err
	})
	return out, err
}
