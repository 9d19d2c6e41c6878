package sqlstore

import (
	"context"
	"database/sql"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const externalIdentityColumns = `e.tenant_id, e.issuer, e.subject, e.user_id, e.home_tenant_id, e.created_at`

func scanExternalIdentity(sc interface{ Scan(...any) error }) (store.ExternalIdentity, error) {
	var e store.ExternalIdentity
	err := sc.Scan(&e.TenantID, &e.Issuer, &e.Subject, &e.UserID, &e.HomeTenantID, timeScan{&e.CreatedAt})
	return e, err
}

func (t *txn) PutExternalIdentity(ctx context.Context, e store.ExternalIdentity) error {
	if err := t.writable(); err != nil {
		return err
	}
	if err := required("external identity tenant, issuer, subject and user", e.TenantID, e.Issuer, e.Subject, e.UserID); err != nil {
		return err
	}
	if _, _, err := t.liveObject(ctx, e.TenantID, e.UserID, true); err != nil {
		return err
	}
	// One statement decides, so two transactions binding the identity to
	// different users cannot both win: the row is taken over only from a
	// user that is no longer live.
	if _, err := t.exec(ctx, `INSERT INTO external_identities AS x (tenant_id, issuer, subject, user_id, home_tenant_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (tenant_id, issuer, subject) DO UPDATE
			SET user_id = excluded.user_id, home_tenant_id = excluded.home_tenant_id, created_at = excluded.created_at
			WHERE x.user_id <> excluded.user_id AND NOT EXISTS (
				SELECT 1 FROM objects o WHERE o.tenant_id = x.tenant_id AND o.id = x.user_id AND o.deleted_at IS NULL)`,
		e.TenantID, e.Issuer, e.Subject, e.UserID, e.HomeTenantID, t.at(e.CreatedAt)); err != nil {
		return err
	}
	held, err := t.GetExternalIdentity(ctx, e.TenantID, e.Issuer, e.Subject)
	if err != nil {
		return err
	}
	if held.UserID != e.UserID {
		return &store.ConflictError{Key: "identity"}
	}
	return nil
}

func (t *txn) GetExternalIdentity(ctx context.Context, tenantID, issuer, subject string) (store.ExternalIdentity, error) {
	var e store.ExternalIdentity
	err := t.row(ctx, `SELECT `+externalIdentityColumns+` FROM external_identities e
		WHERE e.tenant_id = $1 AND e.issuer = $2 AND e.subject = $3`, []any{tenantID, issuer, subject}, func(r *sql.Row) (err error) {
		e, err = scanExternalIdentity(r)
		return err
	})
	if err == sql.ErrNoRows {
		return store.ExternalIdentity{}, store.ErrNotFound
	}
	if err != nil {
		return store.ExternalIdentity{}, t.s.b.Classify(err)
	}
	return e, nil
}

func (t *txn) DeleteExternalIdentities(ctx context.Context, tenantID, userID string) (int, error) {
	if err := t.writable(); err != nil {
		return 0, err
	}
	n, err := t.exec(ctx, `DELETE FROM external_identities WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID)
	return int(n), err
}

func (t *txn) ListGuestAccounts(ctx context.Context, issuer, subject string) ([]store.ExternalIdentity, error) {
	var out []store.ExternalIdentity
	err := t.query(ctx, `SELECT `+externalIdentityColumns+` FROM external_identities e
		JOIN objects o ON o.tenant_id = e.tenant_id AND o.id = e.user_id AND o.deleted_at IS NULL
		WHERE e.issuer = $1 AND e.subject = $2 ORDER BY e.tenant_id`, []any{issuer, subject}, func(r *sql.Rows) error {
		e, err := scanExternalIdentity(r)
		out = append(out, e)
		return err
	})
	return out, err
}
