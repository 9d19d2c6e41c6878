package sqlstore

import (
	"context"
	"database/sql"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlq"
)

const credentialColumns = `tenant_id, object_id, key_id, type, hash, hint, display_name, start_at, end_at, created_at`

func (t *txn) PutCredential(ctx context.Context, c store.Credential) error {
	if err := t.writable(); err != nil {
		return err
	}
	if err := required("credential tenant, object and key id", c.TenantID, c.ObjectID, c.KeyID); err != nil {
		return err
	}
	if _, _, err := t.liveObject(ctx, c.TenantID, c.ObjectID, true); err != nil {
		return err
	}
	_, err := t.exec(ctx, `INSERT INTO credentials (`+credentialColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (tenant_id, object_id, key_id) DO UPDATE SET type = excluded.type, hash = excluded.hash, hint = excluded.hint,
			display_name = excluded.display_name, start_at = excluded.start_at, end_at = excluded.end_at, created_at = excluded.created_at`,
		c.TenantID, c.ObjectID, c.KeyID, c.Type, append([]byte{}, c.Hash...), c.Hint, c.DisplayName,
		t.optAt(c.StartAt), t.optAt(c.EndAt), t.at(c.CreatedAt))
	return err
}

func (t *txn) ListCredentials(ctx context.Context, tenantID, objectID, typ string) ([]store.Credential, error) {
	args := &sqlq.Args{}
	q := `SELECT ` + credentialColumns + ` FROM credentials WHERE tenant_id = ` + args.Add(tenantID) + ` AND object_id = ` + args.Add(objectID)
	if typ != "" {
		q += ` AND type = ` + args.Add(typ)
	}
	var out []store.Credential
	err := t.query(ctx, q+` ORDER BY created_at, key_id`, args.Values(), func(r *sql.Rows) error {
		var c store.Credential
		err := r.Scan(&c.TenantID, &c.ObjectID, &c.KeyID, &c.Type, &c.Hash, &c.Hint, &c.DisplayName,
			timeScan{&c.StartAt}, timeScan{&c.EndAt}, timeScan{&c.CreatedAt})
		out = append(out, c)
		return err
	})
	return out, err
}

func (t *txn) DeleteCredential(ctx context.Context, tenantID, objectID, keyID string) error {
	if err := t.writable(); err != nil {
		return err
	}
	return changed(t.exec(ctx, `DELETE FROM credentials WHERE tenant_id = $1 AND object_id = $2 AND key_id = $3`, tenantID, objectID, keyID))
}

const signingKeyColumns = `tenant_id, kid, alg, public_jwk, private_sealed, created_at, active_at, retire_at`

func (t *txn) AddSigningKey(ctx context.Context, k store.SigningKey) error {
	if err := t.writable(); err != nil {
		return err
	}
	if err := required("signing key tenant and kid", k.TenantID, k.KID); err != nil {
		return err
	}
	n, err := t.exec(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		k.TenantID, k.KID, k.Alg, string(k.PublicJWK), append([]byte{}, k.PrivateSealed...),
		t.at(k.CreatedAt), t.optAt(k.ActiveAt), t.optAt(k.RetireAt))
	if err == nil && n == 0 {
		return &store.ConflictError{Key: "kid"}
	}
	return err
}

func (t *txn) ListSigningKeys(ctx context.Context, tenantID string) ([]store.SigningKey, error) {
	var out []store.SigningKey
	err := t.query(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at, kid`, []any{tenantID},
		func(r *sql.Rows) error {
			var k store.SigningKey
			var jwk string
			err := r.Scan(&k.TenantID, &k.KID, &k.Alg, &jwk, &k.PrivateSealed,
				timeScan{&k.CreatedAt}, timeScan{&k.ActiveAt}, timeScan{&k.RetireAt})
			k.PublicJWK = []byte(jwk)
			out = append(out, k)
			return err
		})
	return out, err
}

func (t *txn) DeleteSigningKey(ctx context.Context, tenantID, kid string) error {
	if err := t.writable(); err != nil {
		return err
	}
	return changed(t.exec(ctx, `DELETE FROM signing_keys WHERE tenant_id = $1 AND kid = $2`, tenantID, kid))
}
