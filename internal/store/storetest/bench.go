package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// BenchUsersEnv names the environment variable that sizes the benchmark
// directory; CI keeps the default small.
const BenchUsersEnv = "GATEHOUSE_BENCH_USERS"

const defaultBenchUsers = 2000

func benchUsers(b *testing.B) int {
	v := os.Getenv(BenchUsersEnv)
	if v == "" {
		return defaultBenchUsers
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number", BenchUsersEnv, v)
	}
	return n
}

func benchUser(tenantID string, i int) *store.Object {
	userType := "Member"
	if i%4 == 0 {
		userType = "Guest"
	}
	upn := fmt.Sprintf("user%07d@contoso.example", i)
	name := fmt.Sprintf("User %07d", i)
	return &store.Object{TenantID: tenantID, Kind: kindUser, ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
		UPN: upn, Mail: upn, DisplayName: name, CreatedAt: base, UpdatedAt: base,
		Data: []byte(fmt.Sprintf(`{"userPrincipalName":%q,"displayName":%q,"userType":%q,"accountEnabled":true,`+
			`"otherMails":[],"identities":[{"signInType":"userPrincipalName","issuer":"contoso.example","issuerAssignedId":%q}]}`,
			upn, name, userType, upn))}
}

// Bench measures the store's hot paths over a directory of
// $GATEHOUSE_BENCH_USERS users (2000 by default): creating a user, reading
// one by UPN, and listing a page of 100 with a filter on a document property
// and with a filter and order on an indexed one. open returns a fresh store;
// if it has an Analyze(context.Context) error method (as the SQL stores do),
// Bench calls it after seeding, as an importer would.
func Bench(b *testing.B, open func(b *testing.B) store.Store) {
	n := benchUsers(b)
	s := open(b)
	newTenant(b, s, "t1")
	start := time.Now()
	const batch = 1000
	for lo := 0; lo < n; lo += batch {
		update(b, s, func(tx store.Tx) error {
			for i := lo; i < min(lo+batch, n); i++ {
				if err := tx.CreateObject(b.Context(), benchUser("t1", i)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	ctx := b.Context()
	if a, ok := s.(interface{ Analyze(context.Context) error }); ok {
		if err := a.Analyze(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded and analyzed %d users in %v", n, time.Since(start))

	b.Run("CreateObject", func(b *testing.B) {
		next := n
		for b.Loop() {
			o := benchUser("t1", next)
			next++
			if err := s.Update(ctx, func(tx store.Tx) error { return tx.CreateObject(ctx, o) }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetObjectByUPN", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			upn := fmt.Sprintf("user%07d@contoso.example", rng.IntN(n))
			if err := s.View(ctx, func(tx store.Tx) error {
				_, err := tx.GetObjectByUPN(ctx, "t1", kindUser, upn)
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, q := range []struct {
		name  string
		query store.Query
	}{
		{"ListPage100/documentFilter", store.Query{Schema: userSchema, Filter: compare("userType", "eq", str("member")), Top: 100}},
		{"ListPage100/indexedFilterAndOrder", store.Query{Schema: userSchema, Filter: fn("startsWith", path("displayName"), "user 00"),
			OrderBy: []odata.OrderBy{{Property: "displayName"}}, Top: 100}},
	} {
		b.Run(q.name, func(b *testing.B) {
			cursor := ""
			for b.Loop() {
				qq := q.query
				qq.Cursor = cursor
				var p store.Page
				if err := s.View(ctx, func(tx store.Tx) error {
					var err error
					p, err = tx.ListObjects(ctx, "t1", kindUser, qq)
					return err
				}); err != nil {
					b.Fatal(err)
				}
				// Walk the listing page by page, starting over at its end,
				// so that later pages are measured too.
				cursor = p.Next
			}
		})
	}
}
