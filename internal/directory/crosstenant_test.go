package directory

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// TestLookUpHomeAccount: a home account's groups are found through nested
// groups, each once, even when nesting loops; a deleted group counts no
// more; a missing account is neither there nor active.
func TestLookUpHomeAccount(t *testing.T) {
	for name, open := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			now := time.Now().UTC()
			doc := func(v map[string]any) json.RawMessage { raw, _ := json.Marshal(v); return raw }
			err := st.Update(ctx, func(tx store.Tx) error {
				if err := tx.CreateTenant(ctx, store.Tenant{ID: "t1", DisplayName: "Fabrikam", CreatedAt: now}); err != nil {
					return err
				}
				objs := []store.Object{{Kind: KindUser, ID: "ana", Data: doc(map[string]any{"accountEnabled": true})}}
				for _, g := range []string{"g1", "g2", "g3", "g4", "other"} {
					objs = append(objs, store.Object{Kind: KindGroup, ID: g, Data: doc(map[string]any{})})
				}
				for i := range objs {
					o := objs[i]
					o.TenantID, o.CreatedAt, o.UpdatedAt = "t1", now, now
					if err := tx.CreateObject(ctx, &o); err != nil {
						return err
					}
				}
				// ana ∈ g1 ∈ g2 ∈ g3 ∈ g1 (a loop), and ana ∈ g4.
				for _, l := range [][2]string{{"g1", "ana"}, {"g2", "g1"}, {"g3", "g2"}, {"g1", "g3"}, {"g4", "ana"}} {
					if err := tx.AddLink(ctx, "t1", store.Link{SourceID: l[0], Rel: RelMembers, TargetID: l[1]}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			look := func(user string) HomeAccount {
				t.Helper()
				var h HomeAccount
				if err := st.View(ctx, func(tx store.Tx) (err error) {
					h, err = LookUpHomeAccount(ctx, tx, "t1", user)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return h
			}
			if h := look("ana"); !h.Exists || !h.Active || !slices.Equal(h.Groups, []string{"g1", "g2", "g3", "g4"}) {
				t.Errorf("Ana: %+v", h)
			}
			if err := st.Update(ctx, func(tx store.Tx) error { return tx.DeleteObject(ctx, "t1", KindGroup, "g2", 0) }); err != nil {
				t.Fatal(err)
			}
			if h := look("ana"); !slices.Equal(h.Groups, []string{"g1", "g4"}) {
				t.Errorf("Ana after g2 was deleted: %+v", h)
			}
			if h := look("nobody"); h.Exists || h.Active || len(h.Groups) != 0 {
				t.Errorf("a missing account: %+v", h)
			}
		})
	}
}
