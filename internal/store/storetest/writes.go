package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testWritesWaitingTogether: writes that wait for the writer at once (on
// SQLite they then share one commit) are each all or nothing, and each
// caller's answer says which. A write that fails, panics or whose caller
// gives up leaves nothing behind and takes nothing of the others with it.
func testWritesWaitingTogether(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")

	// The first write holds the writer until the others are waiting.
	held, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		err := s.Update(ctx, func(tx store.Tx) error {
			close(held)
			<-release
			return tx.CreateObject(ctx, user("t1", "first", "first@x.example", "first", `{}`))
		})
		if err != nil {
			t.Errorf("the holding write: %v", err)
		}
	})
	<-held

	const n = 12
	type outcome struct {
		err      error
		panicked bool
	}
	out := make([]outcome, n)
	for i := range n {
		wg.Go(func() {
			o := &out[i]
			defer func() {
				if p := recover(); p != nil {
					o.panicked = true
				}
			}()
			wctx := ctx
			if i == 9 {
				// Gives up while it waits behind the holder (on SQLite).
				var cancel context.CancelFunc
				wctx, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
			}
			o.err = s.Update(wctx, func(tx store.Tx) error {
				id := fmt.Sprintf("w%02d", i)
				if err := tx.CreateObject(wctx, user("t1", id, id+"@x.example", id, `{}`)); err != nil {
					return err
				}
				switch i {
				case 3, 6:
					return errBoom
				case 5:
					panic("fn panics")
				}
				return nil
			})
		})
	}
	// Let the waiting write's deadline pass before the holder lets go.
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()

	for i := range n {
		o := &out[i]
		switch i {
		case 3, 6:
			if !errors.Is(o.err, errBoom) {
				t.Errorf("write %d failed with %v, want its own error", i, o.err)
			}
		case 5:
			if !o.panicked {
				t.Errorf("write %d: its panic did not reach its caller (error %v)", i, o.err)
			}
		case 9:
			if o.err != nil && !errors.Is(o.err, store.ErrUnavailable) {
				t.Errorf("write 9 (its caller gave up): %v, want nil or store.ErrUnavailable", o.err)
			}
		default:
			if o.err != nil {
				t.Errorf("write %d: %v", i, o.err)
			}
		}
	}

	// Exactly the writes answered with success are there, and the change
	// feed numbers them without a gap.
	want := map[string]bool{"first": true}
	for i := range n {
		if out[i].err == nil && !out[i].panicked {
			want[fmt.Sprintf("w%02d", i)] = true
		}
	}
	view(t, s, func(tx store.Tx) error {
		for i := range n {
			id := fmt.Sprintf("w%02d", i)
			_, err := tx.GetObject(ctx, "t1", kindUser, id)
			if want[id] && err != nil {
				t.Errorf("object %s of a write answered with success: %v", id, err)
			}
			if !want[id] && !errors.Is(err, store.ErrNotFound) {
				t.Errorf("object %s of a write answered with failure: %v, want not found", id, err)
			}
		}
		head, err := tx.HeadSeq(ctx, "t1")
		if err != nil {
			return err
		}
		cs, err := tx.Changes(ctx, "t1", nil, 0, 1000)
		if err != nil {
			return err
		}
		if int(head) != len(want) || len(cs) != len(want) {
			t.Errorf("the feed's head is %d with %d entries for %d committed objects", head, len(cs), len(want))
		}
		for i, c := range cs {
			if c.Seq != int64(i+1) || !want[c.ObjectID] {
				t.Errorf("feed entry %d: seq %d object %s", i, c.Seq, c.ObjectID)
			}
		}
		return nil
	})
}
