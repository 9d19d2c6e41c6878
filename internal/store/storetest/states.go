package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// RunStates checks the short-lived protocol state: single use under
// concurrency, expiry by the store's clock, filters, purging and tenant
// isolation. open returns a fresh store that reads the time from now.
// Every test starts with tenants "a" and "b" and the clock at base.
func RunStates(t *testing.T, open func(t *testing.T, now func() time.Time) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store, *clock)
	}{
		{"Lifecycle", testStateLifecycle},
		{"Expiry", testStateExpiry},
		{"Purge", testStatePurge},
		{"ConsumeRace", testStateConsumeRace},
		{"Lock", testStateLock},
		{"LockRace", testStateLockRace},
		{"Filters", testStateFilters},
		{"TenantIsolation", testStateIsolation},
		{"ViewIsReadOnly", testStatesReadOnly},
		{"TxUsableAfterStoreErrors", testStateErrorsKeepTx},
		{"Rollback", testStateRollback},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{at: base}
			s := open(t, c.now)
			newTenant(t, s, "a")
			newTenant(t, s, "b")
			tc.fn(t, s, c)
		})
	}
}

// clock is a settable store clock; concurrent transactions read it.
type clock struct {
	mu sync.Mutex
	at time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

func (c *clock) set(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = at
}

const (
	kindCode    = "code"
	kindRefresh = "refresh"
	kindSession = "session"
	kindLockout = "lockout"
)

// state is a state created at base that lives for ttl.
func state(tenantID, kind, id, family, subject string, ttl time.Duration) store.State {
	return store.State{TenantID: tenantID, Kind: kind, ID: id, Family: family, Subject: subject,
		Data: []byte(`{"id": "` + id + `",  "n":[1, 2]}`), CreatedAt: base, ExpiresAt: base.Add(ttl)}
}

func putStates(t testing.TB, s store.Store, states ...store.State) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for _, st := range states {
			if err := tx.PutState(t.Context(), st); err != nil {
				return fmt.Errorf("put %s/%s: %w", st.Kind, st.ID, err)
			}
		}
		return nil
	})
}

// inTx runs op in its own transaction (run is s.Update or s.View) and
// returns its result; op's error rolls an Update back.
func inTx[T any](ctx context.Context, run func(context.Context, func(store.Tx) error) error, op func(store.Tx) (T, error)) (T, error) {
	var v T
	err := run(ctx, func(tx store.Tx) error {
		var err error
		v, err = op(tx)
		return err
	})
	return v, err
}

func getState(t testing.TB, s store.Store, tenantID, kind, id string) (store.State, error) {
	return inTx(t.Context(), s.View, func(tx store.Tx) (store.State, error) { return tx.GetState(t.Context(), tenantID, kind, id) })
}

func consumeState(t testing.TB, s store.Store, tenantID, kind, id string) (store.State, error) {
	return inTx(t.Context(), s.Update, func(tx store.Tx) (store.State, error) {
		return tx.ConsumeState(t.Context(), tenantID, kind, id)
	})
}

func updateState(t testing.TB, s store.Store, st store.State) error {
	return s.Update(t.Context(), func(tx store.Tx) error { return tx.UpdateState(t.Context(), st) })
}

func listStates(t testing.TB, s store.Store, tenantID string, f store.StateFilter) []store.State {
	t.Helper()
	got, err := inTx(t.Context(), s.View, func(tx store.Tx) ([]store.State, error) { return tx.ListStates(t.Context(), tenantID, f) })
	if err != nil {
		t.Fatalf("ListStates(%s, %+v): %v", tenantID, f, err)
	}
	return got
}

func deleteStates(t testing.TB, s store.Store, tenantID string, f store.StateFilter) int {
	t.Helper()
	n, err := inTx(t.Context(), s.Update, func(tx store.Tx) (int, error) { return tx.DeleteStates(t.Context(), tenantID, f) })
	if err != nil {
		t.Fatalf("DeleteStates(%s, %+v): %v", tenantID, f, err)
	}
	return n
}

func purge(t testing.TB, s store.Store, limit int) int {
	t.Helper()
	n, err := inTx(t.Context(), s.Update, func(tx store.Tx) (int, error) { return tx.PurgeExpiredStates(t.Context(), limit) })
	if err != nil {
		t.Fatalf("PurgeExpiredStates(%d): %v", limit, err)
	}
	return n
}

func stateIDs(states []store.State) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = s.TenantID + "/" + s.Kind + "/" + s.ID
	}
	return out
}

// sameState compares states field by field; Data byte for byte, since the
// store keeps it verbatim.
func sameState(t testing.TB, what string, got, want store.State) {
	t.Helper()
	consumed := func(at *time.Time) string {
		if at == nil {
			return "unconsumed"
		}
		return at.UTC().Format(time.RFC3339Nano)
	}
	if got.TenantID != want.TenantID || got.Kind != want.Kind || got.ID != want.ID || got.Family != want.Family ||
		got.Subject != want.Subject || !bytes.Equal(got.Data, want.Data) || !got.CreatedAt.Equal(want.CreatedAt) ||
		!got.ExpiresAt.Equal(want.ExpiresAt) || consumed(got.ConsumedAt) != consumed(want.ConsumedAt) {
		t.Errorf("%s: got %+v (data %s, %s), want %+v (data %s, %s)", what,
			got, got.Data, consumed(got.ConsumedAt), want, want.Data, consumed(want.ConsumedAt))
	}
}

func consumedAt(at time.Time) *time.Time { return &at }

func testStateLifecycle(t *testing.T, s store.Store, c *clock) {
	ctx := t.Context()
	code := state("a", kindCode, "c1", "", "u1", time.Minute)
	// A lockout counter: no data, no family, and a creation time the store fills in.
	lockout := store.State{TenantID: "a", Kind: kindLockout, ID: "u1", Subject: "u1", ExpiresAt: base.Add(time.Hour)}
	c.set(base.Add(time.Second))
	putStates(t, s, code, lockout)
	lockout.CreatedAt = base.Add(time.Second)
	for _, want := range []store.State{code, lockout} {
		got, err := getState(t, s, "a", want.Kind, want.ID)
		if err != nil {
			t.Fatalf("GetState %s: %v", want.ID, err)
		}
		sameState(t, "GetState "+want.ID, got, want)
	}
	_, err := getState(t, s, "a", kindSession, "c1")
	wantErr(t, "GetState of another kind", err, store.ErrNotFound)

	for _, tc := range []struct {
		name string
		st   store.State
		want func(error) bool
	}{
		{"taken id", state("a", kindCode, "c1", "", "u2", time.Hour), isConflict("id")},
		{"missing tenant", state("nope", kindCode, "c9", "", "", time.Hour), is(store.ErrNotFound)},
		{"no expiry", store.State{TenantID: "a", Kind: kindCode, ID: "c9"}, func(err error) bool { return err != nil }},
		{"no id", state("a", kindCode, "", "", "", time.Hour), func(err error) bool { return err != nil }},
		{"no kind", state("a", "", "c9", "", "", time.Hour), func(err error) bool { return err != nil }},
	} {
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.PutState(ctx, tc.st) }); !tc.want(err) {
			t.Errorf("PutState %s: %v", tc.name, err)
		}
	}

	// UpdateState replaces data and expiry only.
	changed := code
	changed.Family, changed.Subject, changed.CreatedAt = "other", "other", base.Add(time.Hour)
	changed.Data, changed.ExpiresAt = []byte(`{"step":2}`), base.Add(2*time.Minute)
	if err := updateState(t, s, changed); err != nil {
		t.Fatalf("UpdateState: %v", err)
	}
	code.Data, code.ExpiresAt = changed.Data, changed.ExpiresAt
	got, err := getState(t, s, "a", kindCode, "c1")
	if err != nil {
		t.Fatal(err)
	}
	sameState(t, "after UpdateState", got, code)

	c.set(base.Add(2 * time.Second))
	got, err = consumeState(t, s, "a", kindCode, "c1")
	if err != nil {
		t.Fatalf("first ConsumeState: %v", err)
	}
	code.ConsumedAt = consumedAt(base.Add(2 * time.Second))
	sameState(t, "first ConsumeState", got, code)
	// A replay reports when the state was first consumed.
	c.set(base.Add(3 * time.Second))
	got, err = consumeState(t, s, "a", kindCode, "c1")
	wantErr(t, "second ConsumeState", err, store.ErrConsumed)
	sameState(t, "second ConsumeState", got, code)
	got, err = getState(t, s, "a", kindCode, "c1")
	if err != nil {
		t.Fatal(err)
	}
	sameState(t, "GetState after consuming", got, code)
	wantErr(t, "UpdateState of a consumed state", updateState(t, s, code), store.ErrConsumed)

	_, err = consumeState(t, s, "a", kindCode, "nope")
	wantErr(t, "ConsumeState of a missing state", err, store.ErrNotFound)
	wantErr(t, "UpdateState of a missing state", updateState(t, s, state("a", kindCode, "nope", "", "", time.Hour)), store.ErrNotFound)
	// The failed update changed nothing.
	got, err = getState(t, s, "a", kindCode, "c1")
	if err != nil {
		t.Fatal(err)
	}
	sameState(t, "after the failed UpdateState", got, code)
}

func testStateExpiry(t *testing.T, s store.Store, c *clock) {
	ctx := t.Context()
	putStates(t, s,
		state("a", kindCode, "c1", "", "u1", time.Minute),
		state("a", kindRefresh, "r1", "f1", "u1", time.Minute),
		state("a", kindSession, "s1", "", "u1", 2*time.Minute))
	if _, err := consumeState(t, s, "a", kindRefresh, "r1"); err != nil {
		t.Fatal(err)
	}

	// A state lives until just before ExpiresAt.
	c.set(base.Add(time.Minute - time.Microsecond))
	if _, err := getState(t, s, "a", kindCode, "c1"); err != nil {
		t.Errorf("GetState a microsecond before expiry: %v", err)
	}
	if got := stateIDs(listStates(t, s, "a", store.StateFilter{Subject: "u1"})); len(got) != 3 {
		t.Errorf("ListStates before expiry = %v", got)
	}
	// Sliding a session's expiry keeps it alive past the old one.
	slid := state("a", kindSession, "s1", "", "u1", 10*time.Minute)
	if err := updateState(t, s, slid); err != nil {
		t.Fatalf("UpdateState extending the expiry: %v", err)
	}

	c.set(base.Add(time.Minute))
	for name, op := range map[string]func(store.Tx) error{
		"GetState":                func(tx store.Tx) error { _, err := tx.GetState(ctx, "a", kindCode, "c1"); return err },
		"ConsumeState":            func(tx store.Tx) error { _, err := tx.ConsumeState(ctx, "a", kindCode, "c1"); return err },
		"UpdateState":             func(tx store.Tx) error { return tx.UpdateState(ctx, state("a", kindCode, "c1", "", "u1", time.Hour)) },
		"GetState (consumed)":     func(tx store.Tx) error { _, err := tx.GetState(ctx, "a", kindRefresh, "r1"); return err },
		"ConsumeState (consumed)": func(tx store.Tx) error { _, err := tx.ConsumeState(ctx, "a", kindRefresh, "r1"); return err },
		"UpdateState (consumed)":  func(tx store.Tx) error { return tx.UpdateState(ctx, state("a", kindRefresh, "r1", "", "", time.Hour)) },
	} {
		wantErr(t, name+" at expiry", s.Update(ctx, op), store.ErrNotFound)
	}
	for _, tc := range []struct {
		f    store.StateFilter
		want []string
	}{
		{store.StateFilter{Kind: kindCode}, nil},
		{store.StateFilter{Family: "f1"}, nil},
		{store.StateFilter{Subject: "u1"}, []string{"a/session/s1"}},
	} {
		if got := stateIDs(listStates(t, s, "a", tc.f)); !slices.Equal(got, tc.want) {
			t.Errorf("ListStates(%+v) at expiry = %v, want %v", tc.f, got, tc.want)
		}
	}

	// An expired id is free again, consumed or not.
	code2, refresh2 := state("a", kindCode, "c1", "", "u2", time.Hour), state("a", kindRefresh, "r1", "f2", "u2", time.Hour)
	code2.CreatedAt, refresh2.CreatedAt = base.Add(time.Minute), base.Add(time.Minute)
	code2.Data = []byte(`{"second":true}`)
	putStates(t, s, code2, refresh2)
	for _, want := range []store.State{code2, refresh2} {
		got, err := getState(t, s, "a", want.Kind, want.ID)
		if err != nil {
			t.Fatalf("GetState of the new %s: %v", want.ID, err)
		}
		sameState(t, "state put over an expired one", got, want)
	}
	if _, err := consumeState(t, s, "a", kindRefresh, "r1"); err != nil {
		t.Errorf("ConsumeState of a state put over a consumed, expired one: %v", err)
	}

	// Setting an expiry in the past ends a state.
	c.set(base.Add(5 * time.Minute))
	slid.ExpiresAt = base.Add(5 * time.Minute)
	if err := updateState(t, s, slid); err != nil {
		t.Fatalf("UpdateState ending the session: %v", err)
	}
	_, err := getState(t, s, "a", kindSession, "s1")
	wantErr(t, "GetState of an ended session", err, store.ErrNotFound)
}

func testStatePurge(t *testing.T, s store.Store, c *clock) {
	ctx := t.Context()
	putStates(t, s,
		state("a", kindCode, "e1", "", "", time.Minute),
		state("a", kindCode, "e2", "", "", 2*time.Minute),
		state("b", kindCode, "e3", "", "", 3*time.Minute),
		state("b", kindRefresh, "e4", "f", "u", 4*time.Minute),
		state("a", kindCode, "live", "", "", time.Hour),
		state("b", kindCode, "live", "", "", time.Hour))
	if _, err := consumeState(t, s, "b", kindRefresh, "e4"); err != nil {
		t.Fatal(err)
	}
	if _, err := inTx(ctx, s.Update, func(tx store.Tx) (int, error) { return tx.PurgeExpiredStates(ctx, 0) }); err == nil {
		t.Error("PurgeExpiredStates(0): nil error")
	}
	if n := purge(t, s, 10); n != 0 {
		t.Errorf("purged %d before anything expired", n)
	}
	// Oldest first, up to the limit.
	c.set(base.Add(150 * time.Second))
	if n := purge(t, s, 1); n != 1 {
		t.Errorf("first purge of two expired states deleted %d, want 1", n)
	}
	if n := purge(t, s, 10); n != 1 {
		t.Errorf("second purge deleted %d, want the 1 left", n)
	}
	// Across tenants, consumed or not.
	c.set(base.Add(10 * time.Minute))
	if n := purge(t, s, 10); n != 2 {
		t.Errorf("purge of B's expired states deleted %d, want 2", n)
	}
	if n := purge(t, s, 10); n != 0 {
		t.Errorf("purge with nothing expired deleted %d", n)
	}
	for _, tenant := range []string{"a", "b"} {
		if _, err := getState(t, s, tenant, kindCode, "live"); err != nil {
			t.Errorf("%s's live state after purging: %v", tenant, err)
		}
		// DeleteStates removes expired rows too: only the live one is left to count.
		if n := deleteStates(t, s, tenant, store.StateFilter{Kind: kindCode}); n != 1 {
			t.Errorf("%s's codes after purging: %d rows, want 1", tenant, n)
		}
	}
}

// testStateConsumeRace consumes one state from many transactions at once:
// exactly one wins, and every other learns it lost and when it was
// consumed. A few rounds make a check-then-act implementation lose reliably.
func testStateConsumeRace(t *testing.T, s store.Store, _ *clock) {
	const rounds, n = 5, 50
	for round := range rounds {
		id := fmt.Sprintf("c%d", round)
		putStates(t, s, state("a", kindCode, id, "", "u1", time.Minute))
		if won := consumeRace(t, s, id, n); won != 1 {
			t.Fatalf("round %d: %d of %d consumers won, want exactly 1", round, won, n)
		}
	}
}

// consumeRace consumes code id from n transactions at once and reports how
// many succeeded; the others must have got ErrConsumed.
func consumeRace(t *testing.T, s store.Store, id string, n int) int {
	ctx := t.Context()
	type result struct {
		st  store.State
		err error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			st, err := inTx(ctx, s.Update, func(tx store.Tx) (store.State, error) {
				return tx.ConsumeState(ctx, "a", kindCode, id)
			})
			results[i] = result{st, err}
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, r := range results {
		switch {
		case r.err == nil:
			won++
		case !errors.Is(r.err, store.ErrConsumed):
			t.Errorf("consumer %d of %s: %v, want nil or ErrConsumed", i, id, r.err)
		}
		if r.st.ID != id || r.st.ConsumedAt == nil || !r.st.ConsumedAt.Equal(base) {
			t.Errorf("consumer %d got %+v, want %s consumed at %v", i, r.st, id, base)
		}
	}
	return won
}

func lockState(t testing.TB, s store.Store, st store.State) store.State {
	t.Helper()
	got, err := inTx(t.Context(), s.Update, func(tx store.Tx) (store.State, error) { return tx.LockState(t.Context(), st) })
	if err != nil {
		t.Fatalf("LockState(%s): %v", st.ID, err)
	}
	return got
}

// testStateLock: LockState creates a missing state, returns a live one as
// it is, and replaces an expired one.
func testStateLock(t *testing.T, s store.Store, c *clock) {
	first := state("a", kindLockout, "n1", "n1", "", time.Minute)
	sameState(t, "a new state", lockState(t, s, first), first)
	again := first
	again.Data, again.ExpiresAt = []byte(`{"other":true}`), base.Add(time.Hour)
	sameState(t, "a live state is kept", lockState(t, s, again), first)
	got, err := getState(t, s, "a", kindLockout, "n1")
	if err != nil {
		t.Fatal(err)
	}
	sameState(t, "the stored state", got, first)
	if _, err := getState(t, s, "b", kindLockout, "n1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tenant b sees tenant a's state: %v", err)
	}

	c.set(base.Add(time.Minute))
	fresh := state("a", kindLockout, "n1", "n1", "", time.Hour)
	fresh.CreatedAt, fresh.Data = base.Add(time.Minute), []byte(`{"fresh":true}`)
	sameState(t, "an expired state is replaced", lockState(t, s, fresh), fresh)
	err = s.Update(t.Context(), func(tx store.Tx) error {
		_, err := tx.LockState(t.Context(), store.State{TenantID: "a", Kind: kindLockout, ID: "n2"})
		return err
	})
	if err == nil {
		t.Error("LockState without an expiry: nil error")
	}
}

// testStateLockRace increments one counter from many transactions at once,
// each reading it through LockState and writing it back: no increment is
// lost, and the first writers' inserts do not collide.
func testStateLockRace(t *testing.T, s store.Store, _ *clock) {
	const n = 40
	ctx := t.Context()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.Update(ctx, func(tx store.Tx) error {
				st, err := tx.LockState(ctx, store.State{TenantID: "a", Kind: kindLockout, ID: "c", Data: []byte(`0`), ExpiresAt: base.Add(time.Hour)})
				if err != nil {
					return err
				}
				var count int
				if err := json.Unmarshal(st.Data, &count); err != nil {
					return err
				}
				st.Data = []byte(strconv.Itoa(count + 1))
				return tx.UpdateState(ctx, st)
			})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("incrementer %d: %v", i, err)
		}
	}
	got, err := getState(t, s, "a", kindLockout, "c")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != strconv.Itoa(n) {
		t.Fatalf("counter = %s after %d increments", got.Data, n)
	}
}

func testStateFilters(t *testing.T, s store.Store, c *clock) {
	ctx := t.Context()
	// A refresh-token family f1 of user u1 (r1 rotated into r2), another
	// family, sessions, a code, and an expired token of f1.
	var states []store.State
	for i, st := range []store.State{
		state("a", kindRefresh, "r1", "f1", "u1", time.Hour),
		state("a", kindRefresh, "r2", "f1", "u1", time.Hour),
		state("a", kindRefresh, "r3", "f2", "u1", time.Hour),
		state("a", kindSession, "s1", "", "u1", time.Hour),
		state("a", kindSession, "s2", "", "u2", time.Hour),
		state("a", kindCode, "c1", "f1", "u2", time.Hour),
		state("a", kindRefresh, "r0", "f1", "u1", time.Second),
		state("b", kindRefresh, "r1", "f1", "u1", time.Hour),
	} {
		// Listings run in creation order, which here is not id order.
		st.CreatedAt = base.Add(time.Duration(10-i) * time.Millisecond)
		states = append(states, st)
	}
	putStates(t, s, states...)
	if _, err := consumeState(t, s, "a", kindRefresh, "r1"); err != nil {
		t.Fatal(err)
	}
	c.set(base.Add(time.Second))
	for _, tc := range []struct {
		f    store.StateFilter
		want []string // in creation order, by the times above
	}{
		{store.StateFilter{Kind: kindRefresh}, []string{"a/refresh/r3", "a/refresh/r2", "a/refresh/r1"}},
		{store.StateFilter{Family: "f1"}, []string{"a/code/c1", "a/refresh/r2", "a/refresh/r1"}},
		{store.StateFilter{Subject: "u1"}, []string{"a/session/s1", "a/refresh/r3", "a/refresh/r2", "a/refresh/r1"}},
		{store.StateFilter{Kind: kindRefresh, Family: "f1"}, []string{"a/refresh/r2", "a/refresh/r1"}},
		{store.StateFilter{Kind: kindSession, Subject: "u1"}, []string{"a/session/s1"}},
		{store.StateFilter{Kind: kindRefresh, Family: "f2", Subject: "u1"}, []string{"a/refresh/r3"}},
		{store.StateFilter{Family: "f2", Subject: "u2"}, nil},
		{store.StateFilter{Subject: "nobody"}, nil},
	} {
		if got := stateIDs(listStates(t, s, "a", tc.f)); !slices.Equal(got, tc.want) {
			t.Errorf("ListStates(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
	got := listStates(t, s, "a", store.StateFilter{Kind: kindRefresh, Family: "f1", Subject: "u1"})
	if len(got) != 2 || got[1].ConsumedAt == nil || got[0].ConsumedAt != nil {
		t.Errorf("listed r2 and r1 as %+v, want r1 consumed and r2 not", got)
	}

	_, err := inTx(ctx, s.View, func(tx store.Tx) ([]store.State, error) { return tx.ListStates(ctx, "a", store.StateFilter{}) })
	if err == nil {
		t.Error("ListStates without a filter: nil error")
	}
	_, err = inTx(ctx, s.Update, func(tx store.Tx) (int, error) { return tx.DeleteStates(ctx, "a", store.StateFilter{}) })
	if err == nil {
		t.Error("DeleteStates without a filter: nil error")
	}
	if got := listStates(t, s, "a", store.StateFilter{Kind: kindSession}); len(got) != 2 {
		t.Errorf("the refused DeleteStates deleted something: sessions %v", stateIDs(got))
	}

	// Revoking family f1 takes its live, consumed and expired members.
	if n := deleteStates(t, s, "a", store.StateFilter{Family: "f1"}); n != 4 {
		t.Errorf("DeleteStates(family f1) = %d, want 4", n)
	}
	if got := stateIDs(listStates(t, s, "a", store.StateFilter{Subject: "u1"})); !slices.Equal(got, []string{"a/session/s1", "a/refresh/r3"}) {
		t.Errorf("u1's states after revoking f1 = %v", got)
	}
	// Signing a subject out everywhere.
	if n := deleteStates(t, s, "a", store.StateFilter{Subject: "u1"}); n != 2 {
		t.Errorf("DeleteStates(subject u1) = %d, want 2", n)
	}
	if n := deleteStates(t, s, "a", store.StateFilter{Subject: "u1"}); n != 0 {
		t.Errorf("DeleteStates(subject u1) again = %d, want 0", n)
	}
	if got := stateIDs(listStates(t, s, "a", store.StateFilter{Kind: kindSession})); !slices.Equal(got, []string{"a/session/s2"}) {
		t.Errorf("sessions left = %v", got)
	}
	if _, err := getState(t, s, "b", kindRefresh, "r1"); err != nil {
		t.Errorf("B's token of a family of the same name: %v", err)
	}
}

// testStateIsolation gives tenants A and B states of the same family and
// subject and checks that B can neither see nor change A's.
func testStateIsolation(t *testing.T, s store.Store, _ *clock) {
	ctx := t.Context()
	mine := state("a", kindRefresh, "r1", "f", "u", time.Hour)
	putStates(t, s, mine, state("b", kindRefresh, "rb", "f", "u", time.Hour))

	ops := map[string]func(store.Tx) error{
		"GetState":     func(tx store.Tx) error { _, err := tx.GetState(ctx, "b", kindRefresh, "r1"); return err },
		"ConsumeState": func(tx store.Tx) error { _, err := tx.ConsumeState(ctx, "b", kindRefresh, "r1"); return err },
		"UpdateState": func(tx store.Tx) error {
			st := mine
			st.TenantID, st.Data = "b", []byte(`{"hijacked":true}`)
			return tx.UpdateState(ctx, st)
		},
	}
	for name, op := range ops {
		wantErr(t, name+" from another tenant", s.Update(ctx, op), store.ErrNotFound)
	}
	for _, f := range []store.StateFilter{{Kind: kindRefresh}, {Family: "f"}, {Subject: "u"}} {
		if got := stateIDs(listStates(t, s, "b", f)); !slices.Equal(got, []string{"b/refresh/rb"}) {
			t.Errorf("B's ListStates(%+v) = %v", f, got)
		}
	}
	if n := deleteStates(t, s, "b", store.StateFilter{Family: "f"}); n != 1 {
		t.Errorf("B's DeleteStates(family f) = %d, want its own 1", n)
	}
	if n := deleteStates(t, s, "b", store.StateFilter{Subject: "u"}); n != 0 {
		t.Errorf("B's DeleteStates(subject u) = %d, want 0", n)
	}
	// Ids are per tenant.
	putStates(t, s, state("b", kindRefresh, "r1", "g", "v", time.Minute))

	got, err := getState(t, s, "a", kindRefresh, "r1")
	if err != nil {
		t.Fatalf("A's state: %v", err)
	}
	sameState(t, "A's state after B's attempts", got, mine)
	if got := stateIDs(listStates(t, s, "a", store.StateFilter{Family: "f"})); !slices.Equal(got, []string{"a/refresh/r1"}) {
		t.Errorf("A's family = %v", got)
	}
}

func testStatesReadOnly(t *testing.T, s store.Store, c *clock) {
	ctx := t.Context()
	mine := state("a", kindCode, "c1", "f", "u", time.Hour)
	putStates(t, s, mine, state("a", kindCode, "old", "", "", time.Second))
	c.set(base.Add(time.Minute))
	writes := map[string]func(store.Tx) error{
		"PutState":     func(tx store.Tx) error { return tx.PutState(ctx, state("a", kindCode, "c2", "", "", time.Hour)) },
		"ConsumeState": func(tx store.Tx) error { _, err := tx.ConsumeState(ctx, "a", kindCode, "c1"); return err },
		"UpdateState": func(tx store.Tx) error {
			st := mine
			st.Data = []byte(`{}`)
			return tx.UpdateState(ctx, st)
		},
		"DeleteStates": func(tx store.Tx) error {
			_, err := tx.DeleteStates(ctx, "a", store.StateFilter{Family: "f"})
			return err
		},
		"PurgeExpiredStates": func(tx store.Tx) error { _, err := tx.PurgeExpiredStates(ctx, 10); return err },
		"LockState": func(tx store.Tx) error {
			_, err := tx.LockState(ctx, state("a", kindCode, "c3", "", "", time.Hour))
			return err
		},
	}
	for name, w := range writes {
		if err := s.View(ctx, w); err == nil {
			t.Errorf("%s in View: nil error", name)
		}
	}
	got, err := getState(t, s, "a", kindCode, "c1")
	if err != nil {
		t.Fatalf("the state after the read-only attempts: %v", err)
	}
	sameState(t, "the state after the read-only attempts", got, mine)
	if got := listStates(t, s, "a", store.StateFilter{Kind: kindCode}); len(got) != 1 {
		t.Errorf("codes after the read-only attempts: %v", stateIDs(got))
	}
	if n := purge(t, s, 10); n != 1 {
		t.Errorf("purge after the read-only one deleted %d, want the 1 expired state", n)
	}
}

// testStateErrorsKeepTx checks that the outcomes callers handle leave the
// transaction usable (PostgreSQL aborts a transaction on a failed statement).
func testStateErrorsKeepTx(t *testing.T, s store.Store, c *clock) {
	ctx := t.Context()
	putStates(t, s,
		state("a", kindCode, "c1", "", "u", time.Hour),
		state("a", kindRefresh, "r1", "f", "u", time.Hour),
		state("a", kindCode, "old", "", "u", time.Second))
	if _, err := consumeState(t, s, "a", kindRefresh, "r1"); err != nil {
		t.Fatal(err)
	}
	c.set(base.Add(time.Minute))
	update(t, s, func(tx store.Tx) error {
		_, errConsumed := tx.ConsumeState(ctx, "a", kindRefresh, "r1")
		_, errMissing := tx.ConsumeState(ctx, "a", kindRefresh, "nope")
		_, errExpired := tx.ConsumeState(ctx, "a", kindCode, "old")
		_, errGet := tx.GetState(ctx, "a", kindCode, "nope")
		_, errList := tx.ListStates(ctx, "a", store.StateFilter{})
		_, errDelete := tx.DeleteStates(ctx, "a", store.StateFilter{})
		_, errPurge := tx.PurgeExpiredStates(ctx, 0)
		steps := []struct {
			name string
			err  error
			want func(error) bool
		}{
			{"taken id", tx.PutState(ctx, state("a", kindCode, "c1", "", "", time.Hour)), isConflict("id")},
			{"consume consumed", errConsumed, is(store.ErrConsumed)},
			{"consume missing", errMissing, is(store.ErrNotFound)},
			{"consume expired", errExpired, is(store.ErrNotFound)},
			{"update consumed", tx.UpdateState(ctx, state("a", kindRefresh, "r1", "", "", time.Hour)), is(store.ErrConsumed)},
			{"update missing", tx.UpdateState(ctx, state("a", kindRefresh, "nope", "", "", time.Hour)), is(store.ErrNotFound)},
			{"get missing", errGet, is(store.ErrNotFound)},
			{"list without a filter", errList, func(err error) bool { return err != nil }},
			{"delete without a filter", errDelete, func(err error) bool { return err != nil }},
			{"purge without a limit", errPurge, func(err error) bool { return err != nil }},
		}
		for _, st := range steps {
			if !st.want(st.err) {
				t.Errorf("%s: unexpected error %v", st.name, st.err)
			}
		}
		_, err := tx.ConsumeState(ctx, "a", kindCode, "c1")
		return errors.Join(err, tx.PutState(ctx, state("a", kindCode, "c2", "", "", time.Hour)))
	})
	if got, err := getState(t, s, "a", kindCode, "c1"); err != nil || got.ConsumedAt == nil {
		t.Errorf("the consumption after the handled errors did not commit: %+v, %v", got, err)
	}
	if _, err := getState(t, s, "a", kindCode, "c2"); err != nil {
		t.Errorf("the put after the handled errors did not commit: %v", err)
	}
}

// testStateRollback checks that a failed transaction's consumption is
// undone: a code whose token response failed can be redeemed again.
func testStateRollback(t *testing.T, s store.Store, _ *clock) {
	ctx := t.Context()
	code := state("a", kindCode, "c1", "f", "u", time.Hour)
	putStates(t, s, code, state("a", kindRefresh, "r1", "f", "u", time.Hour))
	err := s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.ConsumeState(ctx, "a", kindCode, "c1")
		_, err2 := tx.DeleteStates(ctx, "a", store.StateFilter{Kind: kindRefresh})
		if err := errors.Join(err, err2, tx.PutState(ctx, state("a", kindRefresh, "r2", "f", "u", time.Hour))); err != nil {
			t.Errorf("writes before the failure: %v", err)
		}
		return errBoom
	})
	if err != errBoom {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	got, err := getState(t, s, "a", kindCode, "c1")
	if err != nil {
		t.Fatal(err)
	}
	sameState(t, "code after the failed transaction", got, code)
	if got := stateIDs(listStates(t, s, "a", store.StateFilter{Family: "f"})); !slices.Equal(got, []string{"a/code/c1", "a/refresh/r1"}) {
		t.Errorf("family after the failed transaction = %v", got)
	}
	if _, err := consumeState(t, s, "a", kindCode, "c1"); err != nil {
		t.Errorf("ConsumeState after the failed transaction: %v", err)
	}
}
