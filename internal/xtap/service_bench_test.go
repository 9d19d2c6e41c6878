package xtap_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
	"github.com/gatehouse-id/gatehouse/internal/xtap"
)

// benchPartners is how many partner configurations each of the two
// tenants holds in the stored benchmark; the decision reads two of them by
// key, so their number matters to the store's index, not to the work.
const benchPartners = 1000

// BenchmarkDecideStored is the policy check a guest's sign-in and every
// refresh of their tokens add (b2b.CrossTenantAccess, and GuestAccess
// after the home account read it already did): both tenants' settings
// read from the store and compiled, the home user's 50 groups read through
// the cross-tenant lookup, and Evaluate, one read transaction, on a node
// with benchPartners partner configurations in each tenant.
func BenchmarkDecideStored(b *testing.B) {
	for _, be := range []struct {
		name string
		open func(testing.TB) store.Store
	}{
		{"sqlite", func(tb testing.TB) store.Store { return storetest.SQLite(tb, "") }},
		{"postgres", func(tb testing.TB) store.Store { return storetest.Postgres(tb, "") }},
	} {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			st := be.open(b)
			dir, err := directory.New(st, directory.Config{})
			if err != nil {
				b.Fatal(err)
			}
			home, err := dir.CreateTenant(ctx, directory.NewTenant{DisplayName: "Fabrikam", Domain: "fabrikam.example"})
			if err != nil {
				b.Fatal(err)
			}
			res, err := dir.CreateTenant(ctx, directory.NewTenant{DisplayName: "Contoso", Domain: "contoso.example"})
			if err != nil {
				b.Fatal(err)
			}
			user := seedUserInGroups(b, st, home.TenantID, 50)
			x := xtap.NewService(dir)
			for i := range benchPartners {
				for _, t := range []string{home.TenantID, res.TenantID} {
					body := fmt.Sprintf(`{"tenantId":"%08x-0000-4000-8000-000000000000","b2bCollaborationInbound":{"usersAndGroups":{"accessType":"allowed","targets":[{"target":"AllUsers","targetType":"user"}]}}}`, i)
					if _, err := x.CreatePartner(ctx, t, []byte(body)); err != nil {
						b.Fatal(err)
					}
				}
			}
			// The pair decided on has partner configurations both ways:
			// the home lets its user out only to one application, the
			// resource lets in one of the user's groups.
			if _, err := x.CreatePartner(ctx, home.TenantID, []byte(`{"tenantId":"`+res.TenantID+`","b2bCollaborationOutbound":{"applications":{"accessType":"allowed","targets":[{"target":"`+appID+`","targetType":"application"}]}}}`)); err != nil {
				b.Fatal(err)
			}
			if _, err := x.CreatePartner(ctx, res.TenantID, []byte(`{"tenantId":"`+home.TenantID+`","b2bCollaborationInbound":{"usersAndGroups":{"accessType":"allowed","targets":[{"target":"`+groupID(49)+`","targetType":"group"}]}}}`)); err != nil {
				b.Fatal(err)
			}
			// The planner's statistics, as a database that has seen its
			// data has them (PostgreSQL's autovacuum analyzes on its own).
			if a, ok := st.(interface{ Analyze(context.Context) error }); ok {
				if err := a.Analyze(ctx); err != nil {
					b.Fatal(err)
				}
			}
			a := xtap.Access{Type: xtap.B2BCollaboration, ResourceTenantID: res.TenantID, HomeTenantID: home.TenantID, HomeUserID: user, AppID: appID}
			if r, err := x.Decide(ctx, a); err != nil || !r.Allowed() {
				b.Fatalf("the benchmarked access: %+v, %v", r, err)
			}
			// In its own read transaction (an upper bound: what Decide
			// costs a caller that reads nothing else), and inside the
			// transaction a sign-in or refresh already has open, where
			// the check adds its three reads alone.
			measure := func(b *testing.B, decide func() (time.Duration, error)) {
				took := make([]time.Duration, 0, b.N)
				for b.Loop() {
					d, err := decide()
					if err != nil {
						b.Fatal(err)
					}
					took = append(took, d)
				}
				b.StopTimer()
				slices.Sort(took)
				at := func(p int) float64 { return float64(took[min(len(took)*p/100, len(took)-1)].Microseconds()) / 1000 }
				b.ReportMetric(at(50), "p50-ms")
				b.ReportMetric(at(99), "p99-ms")
			}
			b.Run("transaction", func(b *testing.B) {
				measure(b, func() (time.Duration, error) {
					start := time.Now()
					_, err := x.Decide(ctx, a)
					return time.Since(start), err
				})
			})
			b.Run("inSignIn", func(b *testing.B) {
				measure(b, func() (took time.Duration, err error) {
					err = st.View(ctx, func(tx store.Tx) error {
						start := time.Now()
						_, err := xtap.DecideIn(ctx, tx, a)
						took = time.Since(start)
						return err
					})
					return took, err
				})
			})
		})
	}
}

const appID = "11111111-2222-4333-8444-555555555555"

func groupID(i int) string { return fmt.Sprintf("00000000-0000-4000-9000-%012d", i) }

// seedUserInGroups writes an enabled user in n groups of the tenant
// straight into the store: the benchmark is of reading them.
func seedUserInGroups(b *testing.B, st store.Store, tenantID string, n int) string {
	b.Helper()
	ctx := context.Background()
	const user = "00000000-0000-4000-a000-000000000001"
	now := time.Now().UTC()
	doc := func(v map[string]any) json.RawMessage {
		raw, _ := json.Marshal(v)
		return raw
	}
	err := st.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateObject(ctx, &store.Object{TenantID: tenantID, Kind: directory.KindUser, ID: user, CreatedAt: now, UpdatedAt: now,
			UPN: "ana@fabrikam.example", DisplayName: "Ana", Data: doc(map[string]any{"id": user, "accountEnabled": true, "displayName": "Ana"})}); err != nil {
			return err
		}
		for i := range n {
			g := groupID(i)
			if err := tx.CreateObject(ctx, &store.Object{TenantID: tenantID, Kind: directory.KindGroup, ID: g, CreatedAt: now, UpdatedAt: now,
				DisplayName: g, Data: doc(map[string]any{"id": g, "displayName": g})}); err != nil {
				return err
			}
			if err := tx.AddLink(ctx, tenantID, store.Link{SourceID: g, Rel: directory.RelMembers, TargetID: user}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return user
}
