package storetest

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func ids(objs []store.Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.ID
	}
	return out
}

// related pages through ListRelated with small pages.
func related(t testing.TB, tx store.Tx, tenantID string, r store.Related) ([]string, error) {
	var out []string
	q := store.Query{Top: 2}
	for {
		p, err := tx.ListRelated(t.Context(), tenantID, r, q)
		if err != nil {
			return nil, err
		}
		out = append(out, ids(p.Objects)...)
		if p.Next == "" {
			return out, nil
		}
		q.Cursor = p.Next
	}
}

func testLinks(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	create(t, s, group("t1", "g1", "G1"), group("t1", "g2", "G2"),
		user("t1", "u1", "u1@x.example", "U1", `{}`), user("t1", "u2", "u2@x.example", "U2", `{}`),
		user("t1", "u3", "u3@x.example", "U3", `{}`))
	links := []store.Link{
		{SourceID: "g1", Rel: "members", TargetID: "u1"},
		{SourceID: "g1", Rel: "members", TargetID: "u2"},
		{SourceID: "g1", Rel: "members", TargetID: "u3"},
		{SourceID: "g1", Rel: "members", TargetID: "g2"},
		{SourceID: "g1", Rel: "owners", TargetID: "u1"},
		{SourceID: "g2", Rel: "members", TargetID: "u1"},
	}
	update(t, s, func(tx store.Tx) error {
		for _, l := range links {
			if err := tx.AddLink(ctx, "t1", l); err != nil {
				return err
			}
		}
		return nil
	})
	for _, tc := range []struct {
		name string
		l    store.Link
		want func(error) bool
	}{
		{"duplicate", links[0], isConflict("link")},
		{"missing source", store.Link{SourceID: "nope", Rel: "members", TargetID: "u1"}, is(store.ErrNotFound)},
		{"missing target", store.Link{SourceID: "g1", Rel: "members", TargetID: "nope"}, is(store.ErrNotFound)},
	} {
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.AddLink(ctx, "t1", tc.l) }); !tc.want(err) {
			t.Errorf("AddLink %s: %v", tc.name, err)
		}
	}
	checkRelated := func(when string, want map[store.Related][]string) {
		t.Helper()
		view(t, s, func(tx store.Tx) error {
			for r, w := range want {
				got, err := related(t, tx, "t1", r)
				if err != nil {
					return err
				}
				if !slices.Equal(got, w) {
					t.Errorf("%s: related %+v = %v, want %v", when, r, got, w)
				}
			}
			return nil
		})
	}
	checkRelated("after adding", map[store.Related][]string{
		{ID: "g1", Rel: "members"}:                                {"g2", "u1", "u2", "u3"},
		{ID: "g1", Rel: "owners"}:                                 {"u1"},
		{ID: "u1", Rel: "members", Reverse: true}:                 {"g1", "g2"},
		{ID: "u1", Rel: "owners", Reverse: true}:                  {"g1"},
		{ID: "u2", Rel: "members"}:                                nil,
		{ID: "g1", Rel: "members", Kind: kindUser}:                {"u1", "u2", "u3"},
		{ID: "g1", Rel: "members", Kind: kindGroup}:               {"g2"},
		{ID: "u1", Rel: "members", Reverse: true, Kind: kindUser}: nil,
	})
	// CountRelated counts what ListRelated lists, type cast and filter included.
	view(t, s, func(tx store.Tx) error {
		for _, tc := range []struct {
			r      store.Related
			filter odata.Expr
			want   int64
		}{
			{store.Related{ID: "g1", Rel: "members"}, nil, 4},
			{store.Related{ID: "g1", Rel: "members", Kind: kindUser}, nil, 3},
			{store.Related{ID: "g1", Rel: "members", Kind: kindUser}, compare("displayName", "ne", str("u2")), 2},
			{store.Related{ID: "u1", Rel: "members", Reverse: true}, nil, 2},
			{store.Related{ID: "u2", Rel: "members"}, nil, 0},
		} {
			n, err := tx.CountRelated(ctx, "t1", tc.r, userSchema, tc.filter)
			if err != nil || n != tc.want {
				t.Errorf("CountRelated %+v = %d, %v; want %d", tc.r, n, err, tc.want)
			}
		}
		_, err := tx.CountRelated(ctx, "t1", store.Related{ID: "nope", Rel: "members"}, nil, nil)
		wantErr(t, "CountRelated of a missing object", err, store.ErrNotFound)
		return nil
	})
	// Ancestors walks up memberships, nested ones included, from sources
	// of the kind asked only, and in another tenant finds nothing.
	ancestors := func(what, tenantID, kind, id string, limit int, want ...string) {
		t.Helper()
		view(t, s, func(tx store.Tx) error {
			got, err := tx.Ancestors(ctx, tenantID, "members", kind, id, limit)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("Ancestors %s = %v, %v; want %v", what, got, err, want)
			}
			return nil
		})
	}
	ancestors("of u1", "t1", kindGroup, "u1", 10, "g1", "g2")
	ancestors("of u1, one", "t1", kindGroup, "u1", 1, "g1")
	ancestors("of g2", "t1", kindGroup, "g2", 10, "g1")
	ancestors("of no one", "t1", kindGroup, "nope", 10)
	ancestors("that are users", "t1", kindUser, "u1", 10)
	ancestors("in another tenant", "t2", kindGroup, "u1", 10)
	// Filters and orders apply to the related objects.
	view(t, s, func(tx store.Tx) error {
		p, err := tx.ListRelated(ctx, "t1", store.Related{ID: "g1", Rel: "members"},
			store.Query{Schema: userSchema, Filter: compare("displayName", "ne", str("u2")), OrderBy: orderBy("displayName", true), Top: 10})
		if got := ids(p.Objects); !slices.Equal(got, []string{"u3", "u1", "g2"}) {
			t.Errorf("filtered members = %v", got)
		}
		return err
	})
	update(t, s, func(tx store.Tx) error { return tx.RemoveLink(ctx, "t1", links[1]) })
	err := s.Update(ctx, func(tx store.Tx) error { return tx.RemoveLink(ctx, "t1", links[1]) })
	wantErr(t, "RemoveLink twice", err, store.ErrNotFound)
	// Deleting an object drops its links in both directions.
	update(t, s, func(tx store.Tx) error { return tx.DeleteObject(ctx, "t1", kindGroup, "g2", 0) })
	ancestors("of u1 after deleting g2", "t1", kindGroup, "u1", 10, "g1")
	checkRelated("after removing and deleting", map[store.Related][]string{
		{ID: "g1", Rel: "members"}:                {"u1", "u3"},
		{ID: "u1", Rel: "members", Reverse: true}: {"g1"},
	})
	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.AddLink(ctx, "t1", store.Link{SourceID: "g1", Rel: "members", TargetID: "g2"})
	})
	wantErr(t, "AddLink to a deleted object", err, store.ErrNotFound)
	err = s.View(ctx, func(tx store.Tx) error {
		_, err := tx.ListRelated(ctx, "t1", store.Related{ID: "g2", Rel: "members"}, store.Query{Top: 10})
		return err
	})
	wantErr(t, "ListRelated of a deleted object", err, store.ErrNotFound)

	// Deleting a member tells the group's change feed it lost that member.
	var head int64
	view(t, s, func(tx store.Tx) error {
		var err error
		head, err = tx.HeadSeq(ctx, "t1")
		return err
	})
	update(t, s, func(tx store.Tx) error { return tx.DeleteObject(ctx, "t1", kindUser, "u3", 0) })
	view(t, s, func(tx store.Tx) error {
		cs, err := tx.Changes(ctx, "t1", []string{kindGroup}, head, 10)
		if err != nil {
			return err
		}
		if len(cs) != 1 || cs[0].ObjectID != "g1" || cs[0].Op != store.OpUnlinked || cs[0].TargetID != "u3" || cs[0].Rel != "members" {
			t.Errorf("group changes after deleting a member: %+v", cs)
		}
		return nil
	})

	// Groups in each other: the walk finds each once and ends.
	newTenant(t, s, "t3")
	create(t, s, group("t3", "a", "A"), group("t3", "b", "B"), group("t3", "c", "C"), user("t3", "u", "u@x.example", "U", `{}`))
	update(t, s, func(tx store.Tx) error {
		for _, l := range []store.Link{{SourceID: "a", Rel: "members", TargetID: "u"}, {SourceID: "b", Rel: "members", TargetID: "a"},
			{SourceID: "a", Rel: "members", TargetID: "b"}, {SourceID: "c", Rel: "members", TargetID: "b"}} {
			if err := tx.AddLink(ctx, "t3", l); err != nil {
				return err
			}
		}
		return nil
	})
	ancestors("around a cycle", "t3", kindGroup, "u", 10, "a", "b", "c")
}

func testChangeFeed(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	before := time.Now().Add(-time.Second)
	u := user("t1", "u1", "u1@x.example", "U1", `{}`)
	create(t, s, u)
	create(t, s, group("t1", "g1", "G1"))
	l := store.Link{SourceID: "g1", Rel: "members", TargetID: "u1"}
	update(t, s, func(tx store.Tx) error {
		u.DisplayName = "U1 renamed"
		if err := tx.UpdateObject(ctx, u); err != nil {
			return err
		}
		if err := tx.AddLink(ctx, "t1", l); err != nil {
			return err
		}
		if err := tx.RemoveLink(ctx, "t1", l); err != nil {
			return err
		}
		return tx.AddLink(ctx, "t1", l)
	})
	update(t, s, func(tx store.Tx) error { return tx.DeleteObject(ctx, "t1", kindUser, "u1", 0) })
	after := time.Now().Add(time.Second)
	want := []store.Change{
		{Seq: 1, Kind: kindUser, ObjectID: "u1", Op: store.OpCreated, Version: 1},
		{Seq: 2, Kind: kindGroup, ObjectID: "g1", Op: store.OpCreated, Version: 1},
		{Seq: 3, Kind: kindUser, ObjectID: "u1", Op: store.OpUpdated, Version: 2},
		{Seq: 4, Kind: kindGroup, ObjectID: "g1", Op: store.OpLinked, Version: 1, Rel: "members", TargetID: "u1"},
		{Seq: 5, Kind: kindGroup, ObjectID: "g1", Op: store.OpUnlinked, Version: 1, Rel: "members", TargetID: "u1"},
		{Seq: 6, Kind: kindGroup, ObjectID: "g1", Op: store.OpLinked, Version: 1, Rel: "members", TargetID: "u1"},
		// Deleting u1 takes it out of g1, and the group's feed says so.
		{Seq: 7, Kind: kindGroup, ObjectID: "g1", Op: store.OpUnlinked, Version: 1, Rel: "members", TargetID: "u1"},
		{Seq: 8, Kind: kindUser, ObjectID: "u1", Op: store.OpDeleted, Version: 3},
	}
	pick := func(seqs ...int64) []store.Change {
		var out []store.Change
		for _, c := range want {
			if slices.Contains(seqs, c.Seq) {
				out = append(out, c)
			}
		}
		return out
	}
	view(t, s, func(tx store.Tx) error {
		head, err := tx.HeadSeq(ctx, "t1")
		if err != nil || head != 8 {
			t.Errorf("HeadSeq = %d, %v; want 8", head, err)
		}
		for _, tc := range []struct {
			kinds []string
			after int64
			limit int
			want  []store.Change
		}{
			{nil, 0, 100, want},
			{[]string{kindGroup}, 0, 100, pick(2, 4, 5, 6, 7)},
			{[]string{kindGroup, kindUser}, 3, 2, pick(4, 5)},
			{nil, 8, 10, nil},
		} {
			got, err := tx.Changes(ctx, "t1", tc.kinds, tc.after, tc.limit)
			if err != nil {
				return err
			}
			for i := range got {
				if got[i].At.Before(before) || got[i].At.After(after) {
					t.Errorf("change %d at %v, outside the test", got[i].Seq, got[i].At)
				}
				got[i].At = time.Time{}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Changes(%v, %d, %d) =\n%+v\nwant\n%+v", tc.kinds, tc.after, tc.limit, got, tc.want)
			}
		}
		_, err = tx.HeadSeq(ctx, "nope")
		wantErr(t, "HeadSeq of a missing tenant", err, store.ErrNotFound)
		return nil
	})
	// A transaction sees its own changes in the feed.
	update(t, s, func(tx store.Tx) error {
		if err := tx.CreateObject(ctx, group("t1", "g2", "G2")); err != nil {
			return err
		}
		head, err := tx.HeadSeq(ctx, "t1")
		if err != nil || head != 9 {
			t.Errorf("HeadSeq inside the writing transaction = %d, %v; want 9", head, err)
		}
		cs, err := tx.Changes(ctx, "t1", nil, 8, 10)
		if len(cs) != 1 || cs[0].ObjectID != "g2" {
			t.Errorf("Changes inside the writing transaction = %+v", cs)
		}
		return err
	})
}

// testChangeFeedConcurrent runs writers in one tenant while a reader tails
// the feed. Positions must be gap-free and appear in order: a reader that
// has seen position N never later finds a position at or below N, and every
// View sees exactly as many objects as the feed's head says were created.
func testChangeFeedConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	const writers, each = 4, 20
	var wg sync.WaitGroup
	var done atomic.Bool
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%d-%02d", w, i)
				if err := s.Update(ctx, func(tx store.Tx) error {
					return tx.CreateObject(ctx, user("t1", id, id+"@x.example", id, `{}`))
				}); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	go func() { wg.Wait(); done.Store(true) }()

	var last int64
	seen := map[string]bool{}
	for {
		finished := done.Load()
		view(t, s, func(tx store.Tx) error {
			head, err := tx.HeadSeq(ctx, "t1")
			if err != nil {
				return err
			}
			n, err := tx.CountObjects(ctx, "t1", kindUser, nil, nil)
			if err != nil {
				return err
			}
			if n != head {
				t.Errorf("a snapshot with head %d holds %d objects", head, n)
			}
			cs, err := tx.Changes(ctx, "t1", nil, last, 1000)
			for _, c := range cs {
				if c.Seq != last+1 {
					t.Fatalf("after position %d the feed shows %d", last, c.Seq)
				}
				if seen[c.ObjectID] {
					t.Fatalf("object %s appears twice", c.ObjectID)
				}
				seen[c.ObjectID] = true
				last = c.Seq
			}
			if last != head {
				t.Errorf("read up to %d of head %d", last, head)
			}
			return err
		})
		if finished {
			break
		}
		time.Sleep(2 * time.Millisecond) // leave the writers room on small machines
	}
	if last != writers*each || len(seen) != writers*each {
		t.Errorf("read %d changes of %d objects, want %d", last, len(seen), writers*each)
	}
}
