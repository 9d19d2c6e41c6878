package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func claim(t testing.TB, s store.Store, topic string, now time.Time, limit int) []store.Message {
	t.Helper()
	var ms []store.Message
	update(t, s, func(tx store.Tx) error {
		var err error
		ms, err = tx.ClaimMessages(t.Context(), topic, now, time.Minute, limit)
		return err
	})
	return ms
}

// attempts maps claimed message IDs to their attempt counts.
func attempts(ms []store.Message) map[string]int {
	out := map[string]int{}
	for _, m := range ms {
		out[m.ID] = m.Attempts
	}
	return out
}

func sameAttempts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func testOutbox(t *testing.T, s store.Store) {
	ctx := t.Context()
	msgs := []store.Message{
		{ID: "m1", TenantID: "t1", Topic: "mail", Payload: []byte(`{"to":"a@x.example"}`), CreatedAt: base},
		{ID: "m2", TenantID: "t1", Topic: "mail", Payload: []byte(`{"to":"b@x.example"}`), CreatedAt: base, NotBefore: base.Add(10 * time.Minute)},
		{ID: "m3", Topic: "sms", Payload: []byte(`{}`), CreatedAt: base},
	}
	update(t, s, func(tx store.Tx) error {
		for _, m := range msgs {
			if err := tx.Enqueue(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	err := s.Update(ctx, func(tx store.Tx) error { return tx.Enqueue(ctx, msgs[0]) })
	wantConflict(t, "Enqueue of a taken id", err, "id")

	got := claim(t, s, "mail", base.Add(time.Second), 10)
	if len(got) != 1 || got[0].ID != "m1" || got[0].Attempts != 1 || got[0].TenantID != "t1" || got[0].Topic != "mail" ||
		!sameJSON(t, got[0].Payload, msgs[0].Payload) || !got[0].CreatedAt.Equal(base) || !got[0].NotBefore.Equal(base) {
		t.Fatalf("first claim = %+v", got)
	}
	steps := []struct {
		name  string
		now   time.Duration
		topic string
		act   func(tx store.Tx) error
		want  map[string]int
	}{
		{name: "while leased", now: 30 * time.Second, topic: "mail", want: map[string]int{}},
		{name: "lease expired", now: 2 * time.Minute, topic: "mail", want: map[string]int{"m1": 2}},
		{name: "not before is due", now: 11 * time.Minute, topic: "mail", want: map[string]int{"m1": 3, "m2": 1}},
		{name: "completed and retried later", now: 13 * time.Minute, topic: "mail", act: func(tx store.Tx) error {
			if err := tx.CompleteMessage(ctx, "m1"); err != nil {
				return err
			}
			return tx.RetryMessage(ctx, "m2", base.Add(20*time.Minute), "smtp down")
		}, want: map[string]int{}},
		{name: "retry due", now: 21 * time.Minute, topic: "mail", want: map[string]int{"m2": 2}},
		{name: "other topic", now: time.Second, topic: "sms", want: map[string]int{"m3": 1}},
	}
	for _, st := range steps {
		if st.act != nil {
			update(t, s, st.act)
		}
		ms := claim(t, s, st.topic, base.Add(st.now), 10)
		if got := attempts(ms); !sameAttempts(got, st.want) {
			t.Errorf("%s: claimed %v, want %v", st.name, got, st.want)
		}
		for _, m := range ms {
			if m.ID == "m2" && m.Attempts == 2 && m.LastError != "smtp down" {
				t.Errorf("retried message lost its error: %+v", m)
			}
		}
	}
	for name, fn := range map[string]func(store.Tx) error{
		"CompleteMessage twice":     func(tx store.Tx) error { return tx.CompleteMessage(ctx, "m1") },
		"RetryMessage of a missing": func(tx store.Tx) error { return tx.RetryMessage(ctx, "nope", base, "x") },
	} {
		wantErr(t, name, s.Update(ctx, fn), store.ErrNotFound)
	}
	// A message without an ID gets one; without times it is due now.
	update(t, s, func(tx store.Tx) error {
		return tx.Enqueue(ctx, store.Message{Topic: "webhook", Payload: []byte(`{}`)})
	})
	if ms := claim(t, s, "webhook", time.Now().Add(time.Second), 10); len(ms) != 1 || ms[0].ID == "" {
		t.Errorf("claim of an unnamed message = %+v", ms)
	}
	err = s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.ClaimMessages(ctx, "mail", base, time.Minute, 0)
		return err
	})
	if err == nil {
		t.Error("ClaimMessages with limit 0: nil error")
	}
}

func testOutboxConcurrentClaims(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n, workers = 60, 6
	update(t, s, func(tx store.Tx) error {
		for i := range n {
			if err := tx.Enqueue(ctx, store.Message{ID: fmt.Sprintf("m%02d", i), Topic: "mail", Payload: []byte(`{}`), CreatedAt: base}); err != nil {
				return err
			}
		}
		return nil
	})
	var (
		mu      sync.Mutex
		claimed = map[string]int{}
		wg      sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				var ms []store.Message
				err := s.Update(ctx, func(tx store.Tx) error {
					var err error
					ms, err = tx.ClaimMessages(ctx, "mail", base.Add(time.Second), time.Hour, 4)
					return err
				})
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(ms) == 0 {
					return
				}
				mu.Lock()
				for _, m := range ms {
					claimed[m.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != n {
		t.Errorf("%d of %d messages claimed", len(claimed), n)
	}
	for id, k := range claimed {
		if k != 1 {
			t.Errorf("message %s claimed %d times", id, k)
		}
	}
}

// testOutboxVisibleAfterCommit claims from another transaction while the
// enqueuing one is still open: the claim may wait for it (one writer) or
// miss the message (concurrent writers), but must never take it before the
// commit.
func testOutboxVisibleAfterCommit(t *testing.T, s store.Store) {
	ctx := t.Context()
	enqueued := make(chan struct{})
	var committing atomic.Bool
	result := make(chan []store.Message, 1)
	go func() {
		<-enqueued
		var ms []store.Message
		err := s.Update(ctx, func(tx store.Tx) error {
			var err error
			ms, err = tx.ClaimMessages(ctx, "mail", base.Add(time.Second), time.Minute, 10)
			if len(ms) > 0 && !committing.Load() {
				return errors.New("claimed a message before its transaction committed")
			}
			return err
		})
		if err != nil {
			t.Error(err)
		}
		result <- ms
	}()
	update(t, s, func(tx store.Tx) error {
		if err := tx.Enqueue(ctx, store.Message{ID: "m1", Topic: "mail", Payload: []byte(`{}`), CreatedAt: base}); err != nil {
			return err
		}
		close(enqueued)
		time.Sleep(100 * time.Millisecond)
		committing.Store(true)
		return nil
	})
	ms := <-result
	if len(ms) == 0 {
		ms = claim(t, s, "mail", base.Add(time.Second), 10)
	}
	if !slices.EqualFunc(ms, []store.Message{{ID: "m1"}}, func(a, b store.Message) bool { return a.ID == b.ID }) {
		t.Errorf("claimed %+v after commit, want m1", ms)
	}
}

func testOutboxDepth(t *testing.T, s store.Store) {
	ctx := t.Context()
	depth := func(now time.Time) map[string]store.TopicDepth {
		t.Helper()
		out := map[string]store.TopicDepth{}
		view(t, s, func(tx store.Tx) error {
			ds, err := tx.OutboxDepth(ctx, now)
			for _, d := range ds {
				if d.Topic == "depth-mail" || d.Topic == "depth-sms" {
					out[d.Topic] = d
				}
			}
			return err
		})
		return out
	}
	if got := depth(base); len(got) != 0 {
		t.Fatalf("an empty outbox: %+v", got)
	}
	update(t, s, func(tx store.Tx) error {
		for _, m := range []store.Message{
			{ID: "d1", TenantID: "t1", Topic: "depth-mail", Payload: []byte(`{}`), CreatedAt: base},
			{ID: "d2", TenantID: "t2", Topic: "depth-mail", Payload: []byte(`{}`), CreatedAt: base},
			{ID: "d3", TenantID: "t1", Topic: "depth-mail", Payload: []byte(`{}`), CreatedAt: base, NotBefore: base.Add(time.Hour)},
			{ID: "d4", Topic: "depth-sms", Payload: []byte(`{}`), CreatedAt: base},
		} {
			if err := tx.Enqueue(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	want := map[string]store.TopicDepth{
		"depth-mail": {Topic: "depth-mail", Due: 2, Waiting: 1},
		"depth-sms":  {Topic: "depth-sms", Due: 1},
	}
	if got := depth(base); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("depth = %+v, want %+v", got, want)
	}
	// A claim leases one for a minute; when the lease runs out it is due again.
	if got := claim(t, s, "depth-mail", base, 1); len(got) != 1 {
		t.Fatalf("claimed %d", len(got))
	}
	want["depth-mail"] = store.TopicDepth{Topic: "depth-mail", Due: 1, Leased: 1, Waiting: 1}
	if got := depth(base.Add(time.Second)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("with one leased: %+v, want %+v", got, want)
	}
	want["depth-mail"] = store.TopicDepth{Topic: "depth-mail", Due: 3}
	if got := depth(base.Add(2 * time.Hour)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("two hours on: %+v, want %+v", got, want)
	}
}
