package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func (t *txn) PutBlob(ctx context.Context, b store.Blob) error {
	if err := t.writable(); err != nil {
		return err
	}
	if err := required("blob tenant, name and content type", b.TenantID, b.Name, b.ContentType); err != nil {
		return err
	}
	if b.UpdatedAt.IsZero() {
		b.UpdatedAt = t.s.now()
	}
	sum := sha256.Sum256(b.Data)
	_, err := t.exec(ctx, `INSERT INTO blobs (tenant_id, name, content_type, data, updated_at, sha256) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (tenant_id, name) DO UPDATE SET content_type = excluded.content_type, data = excluded.data,
			updated_at = excluded.updated_at, sha256 = excluded.sha256`,
		b.TenantID, b.Name, b.ContentType, append([]byte{}, b.Data...), t.at(b.UpdatedAt), hex.EncodeToString(sum[:]))
	return err
}

func (t *txn) GetBlob(ctx context.Context, tenantID, name string) (store.Blob, error) {
	b := store.Blob{TenantID: tenantID, Name: name}
	err := t.get(ctx, `SELECT content_type, data, updated_at, sha256 FROM blobs WHERE tenant_id = $1 AND name = $2`, []any{tenantID, name},
		&b.ContentType, &b.Data, timeScan{&b.UpdatedAt}, &b.SHA256)
	if err != nil {
		return store.Blob{}, err
	}
	return b, nil
}

func (t *txn) StatBlob(ctx context.Context, tenantID, name string) (store.Blob, error) {
	b := store.Blob{TenantID: tenantID, Name: name}
	err := t.get(ctx, `SELECT content_type, updated_at, sha256 FROM blobs WHERE tenant_id = $1 AND name = $2`, []any{tenantID, name},
		&b.ContentType, timeScan{&b.UpdatedAt}, &b.SHA256)
	if err != nil {
		return store.Blob{}, err
	}
	return b, nil
}

func (t *txn) DeleteBlob(ctx context.Context, tenantID, name string) error {
	if err := t.writable(); err != nil {
		return err
	}
	return changed(t.exec(ctx, `DELETE FROM blobs WHERE tenant_id = $1 AND name = $2`, tenantID, name))
}
