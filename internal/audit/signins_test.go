package audit

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

func countSignIns(t *testing.T, st store.Store) int {
	t.Helper()
	p, err := NewLog(st).List(context.Background(), "t1", store.LogSignIn, Query{Top: 999})
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Records)
}

// TestRecorderBatchesTokenSignIns: interactive sign-ins are written at
// once; token sign-ins wait for a flush (never a write per token), unless
// the buffer reaches its bound; Close writes what is left.
func TestRecorderBatchesTokenSignIns(t *testing.T) {
	ctx := context.Background()
	st := storetest.SQLite(t, "")
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.CreateTenant(ctx, store.Tenant{ID: "t1", Type: store.TenantWorkforce, CreatedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	n := 0
	r := NewRecorder(st, RecorderConfig{FlushEvery: time.Hour, BatchSize: 5, Bound: 5, NewID: func() string { n++; return fmt.Sprint(n) }})

	r.RecordSignIn(ctx, authn.SignIn{TenantID: "t1", UserID: "u1", Interactive: true, ErrorCode: 50126, FailureReason: "wrong"})
	if got := countSignIns(t, st); got != 1 {
		t.Fatalf("interactive sign-in: %d records, want 1 at once", got)
	}
	for range 4 {
		r.RecordSignIn(ctx, authn.SignIn{TenantID: "t1", AppID: "a1"})
	}
	if got := countSignIns(t, st); got != 1 {
		t.Fatalf("token sign-ins were written one by one: %d records", got)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := countSignIns(t, st); got != 5 {
		t.Fatalf("after a flush: %d records, want 5", got)
	}
	// At the bound the caller writes the batch itself.
	for range 5 {
		r.RecordSignIn(ctx, authn.SignIn{TenantID: "t1", AppID: "a1"})
	}
	r.mu.Lock()
	left := len(r.buf)
	r.mu.Unlock()
	if left != 0 {
		t.Errorf("%d records buffered past the bound", left)
	}
	r.RecordSignIn(ctx, authn.SignIn{TenantID: "t1", AppID: "a1"})
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := countSignIns(t, st); got != 11 {
		t.Fatalf("after Close: %d records, want 11", got)
	}
	rec, err := NewLog(st).Get(ctx, "t1", store.LogSignIn, "1")
	if err != nil {
		t.Fatal(err)
	}
	if s := string(rec); !containsAll(s, `"isInteractive":true`, `"errorCode":50126`, `"failureReason":"wrong"`, `"clientAppUsed":"Browser"`) {
		t.Errorf("interactive record: %s", s)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// BenchmarkRecordTokenSignIn is what a token request pays to be in the
// sign-in log, on every core, with the batches written meanwhile (SQLite).
func BenchmarkRecordTokenSignIn(b *testing.B) {
	ctx := context.Background()
	st := storetest.SQLite(b, "")
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.CreateTenant(ctx, store.Tenant{ID: "t1", Type: store.TenantWorkforce, CreatedAt: time.Now()})
	}); err != nil {
		b.Fatal(err)
	}
	r := NewRecorder(st, RecorderConfig{})
	s := authn.SignIn{TenantID: "t1", AppID: "6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f10", AppDisplayName: "Automation",
		ServicePrincipalID: "0b7c5e1a-0000-4000-8000-000000000001", IPAddress: "192.0.2.1", UserAgent: "bench"}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.RecordSignIn(ctx, s)
		}
	})
	if err := r.Close(ctx); err != nil {
		b.Fatal(err)
	}
}
