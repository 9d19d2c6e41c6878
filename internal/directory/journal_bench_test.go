package directory

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// BenchmarkCreateUserAudit measures what writing the audit record adds to
// creating a user: the transaction of POST /users (tenant read, UPN and
// identity checks, insert, password credential) with its record, as the
// directory runs it, and over the bare store, alternately on one store so
// that the directory's growth and the machine's other load fall on both
// alike. The argon2id hash, computed before the transaction and the same
// either way, is left out so that the difference shows. Reported:
// audited-ns/op, unaudited-ns/op and their difference, added-ns/op.
func BenchmarkCreateUserAudit(b *testing.B) {
	backends := map[string]func(testing.TB) store.Store{
		"sqlite":   func(tb testing.TB) store.Store { return storetest.SQLite(tb, "") },
		"postgres": func(tb testing.TB) store.Store { return storetest.Postgres(tb, "") },
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			st := backends[backend](b)
			audited, err := New(st, Config{})
			if err != nil {
				b.Fatal(err)
			}
			bare, err := New(st, Config{})
			if err != nil {
				b.Fatal(err)
			}
			bare.st = bare.raw
			ctx := context.Background()
			ten, err := audited.CreateTenant(ctx, NewTenant{DisplayName: "B", Domain: "b.example"})
			if err != nil {
				b.Fatal(err)
			}
			hash := []byte("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo")
			var spent [2]time.Duration
			b.ResetTimer()
			for i := range b.N {
				s := audited
				if i%2 == 1 {
					s = bare
				}
				d, err := userSpec.normalize(Doc{"accountEnabled": true, "displayName": "U", "mailNickname": "u",
					"userPrincipalName": fmt.Sprintf("u%d@b.example", i)})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if _, err := s.storeNewUser(ctx, ten.TenantID, d, map[string]any{"forceChangePasswordNextSignIn": false}, hash); err != nil {
					b.Fatal(err)
				}
				spent[i%2] += time.Since(start)
			}
			half := float64(max(b.N/2, 1))
			a, u := float64(spent[0])/float64((b.N+1)/2), float64(spent[1])/half
			b.ReportMetric(a, "audited-ns/op")
			b.ReportMetric(u, "unaudited-ns/op")
			b.ReportMetric(a-u, "added-ns/op")
		})
	}
}
