package revocation

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkRevoked is the check every access token presented to Graph,
// userinfo or introspection pays in the common case: the tenant's copy is
// fresh, so no store read, only the scan of its live facts (none, 10, or
// 1,000: a thousand revocations within the last hours).
func BenchmarkRevoked(b *testing.B) {
	for _, n := range []int{0, 10, 1000} {
		b.Run(fmt.Sprintf("facts=%d", n), func(b *testing.B) {
			st := storeFor(b)
			now := time.Now()
			for i := range n {
				recordIn(b, st, Fact{At: now, UserID: fmt.Sprintf("user-%d", i), Reason: "bench"})
			}
			v := NewView(st, nil)
			s := Subject{UserID: "someone", ClientID: "client", SessionID: "sid", IssuedAt: now.Add(-time.Minute)}
			ctx := context.Background()
			if _, _, err := v.Revoked(ctx, "t", s); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, revoked, err := v.Revoked(ctx, "t", s); err != nil || revoked {
					b.Fatal(revoked, err)
				}
			}
		})
	}
}
