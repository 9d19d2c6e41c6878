package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testBlobs: a blob reads back as written, byte for byte, a put replaces it,
// another tenant can neither read nor delete it under the same name, and
// it goes with its tenant.
func testBlobs(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "a")
	newTenant(t, s, "b")
	logo := []byte{0x89, 'P', 'N', 'G', 0, 1, 2, 0xff}
	update(t, s, func(tx store.Tx) error {
		return tx.PutBlob(ctx, store.Blob{TenantID: "a", Name: "0/bannerLogo", ContentType: "image/png", Data: logo, UpdatedAt: base})
	})
	get := func(tenant, name string) (store.Blob, error) {
		var b store.Blob
		err := s.View(ctx, func(tx store.Tx) error {
			var err error
			b, err = tx.GetBlob(ctx, tenant, name)
			return err
		})
		return b, err
	}
	b, err := get("a", "0/bannerLogo")
	if err != nil || b.TenantID != "a" || b.Name != "0/bannerLogo" || b.ContentType != "image/png" || !bytes.Equal(b.Data, logo) || !b.UpdatedAt.Equal(base) {
		t.Fatalf("blob read back: %+v, %v", b, err)
	}
	digest := func(data []byte) string { sum := sha256.Sum256(data); return hex.EncodeToString(sum[:]) }
	if b.SHA256 != digest(logo) {
		t.Errorf("blob digest %q, want the store's own %q", b.SHA256, digest(logo))
	}
	stat := func(tenant, name string) (store.Blob, error) {
		var b store.Blob
		err := s.View(ctx, func(tx store.Tx) error {
			var err error
			b, err = tx.StatBlob(ctx, tenant, name)
			return err
		})
		return b, err
	}
	if st, err := stat("a", "0/bannerLogo"); err != nil || st.Data != nil || st.ContentType != "image/png" || st.SHA256 != b.SHA256 || !st.UpdatedAt.Equal(base) {
		t.Errorf("blob's stat: %+v, %v", st, err)
	}
	_, err = stat("b", "0/bannerLogo")
	wantErr(t, "another tenant's blob's stat", err, store.ErrNotFound)
	_, err = get("b", "0/bannerLogo")
	wantErr(t, "another tenant's blob", err, store.ErrNotFound)
	_, err = get("a", "0/squareLogo")
	wantErr(t, "a blob never put", err, store.ErrNotFound)
	err = s.Update(ctx, func(tx store.Tx) error { return tx.DeleteBlob(ctx, "b", "0/bannerLogo") })
	wantErr(t, "deleting another tenant's blob", err, store.ErrNotFound)
	err = s.View(ctx, func(tx store.Tx) error {
		return tx.PutBlob(ctx, store.Blob{TenantID: "a", Name: "x", ContentType: "image/png", Data: logo})
	})
	if err == nil {
		t.Error("PutBlob in a read-only transaction")
	}

	// The same name in b is b's own; a put in a replaces a's alone.
	jpeg := []byte{0xff, 0xd8, 0xff, 0xe0}
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutBlob(ctx, store.Blob{TenantID: "b", Name: "0/bannerLogo", ContentType: "image/gif", Data: []byte("GIF89a")}); err != nil {
			return err
		}
		// A digest the caller claims is not the store's.
		return tx.PutBlob(ctx, store.Blob{TenantID: "a", Name: "0/bannerLogo", ContentType: "image/jpeg", Data: jpeg, UpdatedAt: base.Add(1e9), SHA256: digest(logo)})
	})
	if b, err := get("a", "0/bannerLogo"); err != nil || b.ContentType != "image/jpeg" || !bytes.Equal(b.Data, jpeg) || !b.UpdatedAt.Equal(base.Add(1e9)) || b.SHA256 != digest(jpeg) {
		t.Errorf("blob replaced: %+v, %v", b, err)
	}
	if b, err := get("b", "0/bannerLogo"); err != nil || string(b.Data) != "GIF89a" {
		t.Errorf("b's blob: %+v, %v", b, err)
	}

	update(t, s, func(tx store.Tx) error { return tx.DeleteBlob(ctx, "a", "0/bannerLogo") })
	_, err = get("a", "0/bannerLogo")
	wantErr(t, "a deleted blob", err, store.ErrNotFound)
	err = s.Update(ctx, func(tx store.Tx) error { return tx.DeleteBlob(ctx, "a", "0/bannerLogo") })
	wantErr(t, "deleting it again", err, store.ErrNotFound)

	update(t, s, func(tx store.Tx) error { return tx.DeleteTenant(ctx, "b") })
	_, err = get("b", "0/bannerLogo")
	wantErr(t, "the blob of a deleted tenant", err, store.ErrNotFound)
	newTenant(t, s, "b")
	_, err = get("b", "0/bannerLogo")
	wantErr(t, "the blob of a tenant deleted and made again", err, store.ErrNotFound)
}
