package revocation

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 500_000_000, time.UTC)

func TestCovers(t *testing.T) {
	before, after := t0.Add(-time.Millisecond), t0.Add(time.Millisecond)
	for _, tc := range []struct {
		name string
		f    Fact
		s    Subject
		want bool
	}{
		{"user: their token from before", Fact{At: t0, UserID: "u"}, Subject{UserID: "u", ClientID: "c", SessionID: "s", IssuedAt: before}, true},
		{"user: within the same second, after", Fact{At: t0, UserID: "u"}, Subject{UserID: "u", ClientID: "c", IssuedAt: after}, false},
		{"user: at the same instant", Fact{At: t0, UserID: "u"}, Subject{UserID: "u", IssuedAt: t0}, false},
		{"user: another user", Fact{At: t0, UserID: "u"}, Subject{UserID: "v", IssuedAt: before}, false},
		{"user: an app-only token", Fact{At: t0, UserID: "u"}, Subject{ClientID: "c", IssuedAt: before}, false},
		{"client: app-only token", Fact{At: t0, ClientID: "c"}, Subject{ClientID: "c", IssuedAt: before}, true},
		{"client: any user's token", Fact{At: t0, ClientID: "c"}, Subject{UserID: "u", ClientID: "c", IssuedAt: before}, true},
		{"client: another client", Fact{At: t0, ClientID: "c"}, Subject{UserID: "u", ClientID: "d", IssuedAt: before}, false},
		{"client: a session checked without a client", Fact{At: t0, ClientID: "c"}, Subject{UserID: "u", SessionID: "s", IssuedAt: before}, false},
		{"grant: the user at the client", Fact{At: t0, UserID: "u", ClientID: "c"}, Subject{UserID: "u", ClientID: "c", IssuedAt: before}, true},
		{"grant: the user at another client", Fact{At: t0, UserID: "u", ClientID: "c"}, Subject{UserID: "u", ClientID: "d", IssuedAt: before}, false},
		{"session: its tokens", Fact{At: t0, UserID: "u", ClientID: "c", SessionID: "s"}, Subject{UserID: "u", ClientID: "c", SessionID: "s", IssuedAt: before}, true},
		{"session: another session's", Fact{At: t0, UserID: "u", ClientID: "c", SessionID: "s"}, Subject{UserID: "u", ClientID: "c", SessionID: "t", IssuedAt: before}, false},
	} {
		if got := tc.f.Covers(tc.s); got != tc.want {
			t.Errorf("%s: Covers = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// storeFor opens a SQLite store with tenant "t".
func storeFor(tb testing.TB) store.Store {
	tb.Helper()
	st := storetest.SQLite(tb, "")
	err := st.Update(tb.Context(), func(tx store.Tx) error {
		return tx.CreateTenant(tb.Context(), store.Tenant{ID: "t", DisplayName: "T", Type: store.TenantWorkforce, CreatedAt: time.Now()})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

func recordIn(tb testing.TB, st store.Store, f Fact) {
	tb.Helper()
	if err := st.Update(tb.Context(), func(tx store.Tx) error { return Record(tb.Context(), tx, "t", f) }); err != nil {
		tb.Fatal(err)
	}
}

func TestRecordDeletesWhatItNames(t *testing.T) {
	st := storeFor(t)
	now := time.Now()
	put := func(kind, id, family, subject string) {
		err := st.Update(t.Context(), func(tx store.Tx) error {
			return tx.PutState(t.Context(), store.State{TenantID: "t", Kind: kind, ID: id, Family: family, Subject: subject, Data: []byte("{}"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put("refresh", "r1", "f1", "u")
	put("session", "s1", "sid1", "u")
	put("refresh", "r2", "f2", "v")
	put("session", "s2", "sid2", "v")

	recordIn(t, st, Fact{At: now, UserID: "u", Reason: "password reset"})
	recordIn(t, st, Fact{At: now, UserID: "v", ClientID: "c", SessionID: "sid2", Reason: "code replayed"})
	recordIn(t, st, Fact{At: now.Add(time.Second), UserID: "u", Reason: "password changed"}) // supersedes the first

	var left []string
	err := st.View(t.Context(), func(tx store.Tx) error {
		for _, kind := range []string{"refresh", "session"} {
			ss, err := tx.ListStates(t.Context(), "t", store.StateFilter{Kind: kind})
			if err != nil {
				return err
			}
			for _, s := range ss {
				left = append(left, s.ID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The user's states went with the fact about them; the client's family
	// of v stays (it is refused at use), the session of the replay went.
	if len(left) != 1 || left[0] != "r2" {
		t.Errorf("states left = %v, want [r2]", left)
	}
	facts, err := load(t.Context(), st, "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(facts.byScope) != 2 {
		t.Fatalf("facts = %+v, want 2 (the later fact about u replaces the earlier)", facts)
	}
	if err := st.Update(t.Context(), func(tx store.Tx) error { return Record(t.Context(), tx, "t", Fact{At: now}) }); err == nil {
		t.Error("a fact without a user or client was recorded")
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestViewSeesNewFactsWithinASecondAndFailsClosed(t *testing.T) {
	st := storeFor(t)
	c := &clock{t: time.Now()}
	v := NewView(st, c.now)
	ctx := context.Background()
	token := Subject{UserID: "u", ClientID: "c", IssuedAt: time.Now().Add(-time.Minute)}

	if _, revoked, err := v.Revoked(ctx, "t", token); err != nil || revoked {
		t.Fatalf("before any fact: revoked %v, %v", revoked, err)
	}
	recordIn(t, st, Fact{At: time.Now(), UserID: "u", Reason: "password reset"})
	// Within RefreshAfter the copy answers without reading the store.
	if _, revoked, _ := v.Revoked(ctx, "t", token); revoked {
		t.Fatal("the copy was read again before RefreshAfter")
	}
	c.t = c.t.Add(RefreshAfter)
	f, revoked, err := v.Revoked(ctx, "t", token)
	if err != nil || !revoked || f.Reason != "password reset" {
		t.Fatalf("after RefreshAfter: %+v, revoked %v, %v", f, revoked, err)
	}

	// The store goes away: a recent copy still answers, an old one does not.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(RefreshAfter)
	if _, revoked, err := v.Revoked(ctx, "t", token); err != nil || !revoked {
		t.Fatalf("store down, copy %s old: revoked %v, %v", RefreshAfter, revoked, err)
	}
	c.t = c.t.Add(MaxStale)
	other := Subject{UserID: "w", IssuedAt: token.IssuedAt}
	if _, revoked, err := v.Revoked(ctx, "t", other); err == nil || revoked {
		t.Fatalf("store down, copy older than MaxStale: revoked %v, err %v; want an error", revoked, err)
	}
	if _, _, err := v.Revoked(ctx, "t", other); errors.Is(err, nil) {
		t.Fatal("a second check allowed from the stale copy")
	}
}

// TestViewWaitHonoursTheContext: while another request reads a hung store,
// a request that has no recent copy to answer from gives up with its
// context instead of queueing behind it.
func TestViewWaitHonoursTheContext(t *testing.T) {
	v := NewView(storeFor(t), nil)
	v.entry("t").refreshing <- struct{}{} // a read under way
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := v.Revoked(ctx, "t", Subject{UserID: "u", IssuedAt: time.Now()}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the context's", err)
	}
}
