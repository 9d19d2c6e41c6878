package directory

import (
	"context"
	"fmt"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// BenchmarkCreateUserAudit measures what writing the audit record adds to
// creating a user: the transaction of POST /users (tenant read, UPN and
// identity checks, insert, password credential) with its record
// ("audited", the directory as it runs) and over the bare store
// ("unaudited"). The argon2id hash, computed before the transaction and
// the same either way, is left out so that the difference shows.
func BenchmarkCreateUserAudit(b *testing.B) {
	backends := map[string]func(testing.TB) store.Store{
		"sqlite":   func(tb testing.TB) store.Store { return storetest.SQLite(tb, "") },
		"postgres": func(tb testing.TB) store.Store { return storetest.Postgres(tb, "") },
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, audited := range []bool{true, false} {
			name := backend + "/audited"
			if !audited {
				name = backend + "/unaudited"
			}
			b.Run(name, func(b *testing.B) {
				s, err := New(backends[backend](b), Config{})
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				ten, err := s.CreateTenant(ctx, NewTenant{DisplayName: "B", Domain: "b.example"})
				if err != nil {
					b.Fatal(err)
				}
				if !audited {
					s.st = s.raw
				}
				hash := []byte("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo")
				b.ResetTimer()
				for i := range b.N {
					d, err := userSpec.normalize(Doc{"accountEnabled": true, "displayName": "U", "mailNickname": "u",
						"userPrincipalName": fmt.Sprintf("u%d@b.example", i)})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := s.storeNewUser(ctx, ten.TenantID, d, map[string]any{"forceChangePasswordNextSignIn": false}, hash); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
