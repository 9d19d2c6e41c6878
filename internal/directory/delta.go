package directory

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"sort"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// deltaState is what a delta link carries. The first round pages through the
// live objects (Cursor) and remembers the change-feed head it started at; each
// later round replays the changes in (From, To], one entry per object.
type deltaState struct {
	Kind   string `json:"k"`
	Cursor string `json:"c,omitempty"`
	From   int64  `json:"f"`
	To     int64  `json:"t"`
	Offset int    `json:"o,omitempty"`
	Sync   bool   `json:"s,omitempty"` // still in the first round
}

func (d deltaState) encode() string {
	b, _ := json.Marshal(d)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeDelta(token, kind string) (deltaState, error) {
	var d deltaState
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || json.Unmarshal(b, &d) != nil || d.Kind != kind || d.From < 0 || d.To < d.From || d.Offset < 0 {
		return deltaState{}, usererr.New(usererr.Invalid, "The delta token is invalid or belongs to another resource.")
	}
	return d, nil
}

// DeltaItem is one entry of a delta response.
type DeltaItem struct {
	Object  Object
	Removed bool
	// LinkChanges lists member references added (Removed false) or removed in
	// the window, for groups' members@delta.
	LinkChanges []LinkChange
}

// LinkChange is a relationship change reported by delta.
type LinkChange struct {
	TargetID string
	Kind     string // the member's kind when known (always in a first round)
	Removed  bool
}

// DeltaPage is one page of a delta round. Exactly one of Next (more pages in
// this round) and DeltaLink (the start of the next round) is set.
type DeltaPage struct {
	Items     []DeltaItem
	Next      string
	DeltaLink string
}

// maxDeltaChanges bounds one round's replay; a client that falls further
// behind than this must restart with a full sync.
const maxDeltaChanges = 200_000

// DeltaLatest is the delta token that skips the first round: the answer is
// no objects and a delta link from now on, as Graph's $deltatoken=latest.
const DeltaLatest = "latest"

// Delta runs one page of change tracking for users or groups. token is "" for
// a new round-trip, DeltaLatest, or the opaque token from a previous Next or
// DeltaLink.
//
// With members, a group's items carry its member changes: every member in
// the first round, what was added or removed in later ones.
func (s *Service) Delta(ctx context.Context, tenantID, kind, token string, top int, members bool) (DeltaPage, error) {
	st := deltaState{Kind: kind, Sync: true}
	if token != "" && token != DeltaLatest {
		var err error
		if st, err = decodeDelta(token, kind); err != nil {
			return DeltaPage{}, err
		}
	}
	var out DeltaPage
	err := s.st.View(ctx, func(tx store.Tx) error {
		if _, err := mayRead(ctx, tx, tenantID, listing(kind)); err != nil {
			return err
		}
		if token == DeltaLatest {
			head, err := tx.HeadSeq(ctx, tenantID)
			out.DeltaLink = deltaState{Kind: kind, From: head, To: head}.encode()
			return err
		}
		var err error
		if st.Sync {
			err = s.deltaSync(ctx, tx, tenantID, st, top, &out)
		} else {
			err = s.deltaReplay(ctx, tx, tenantID, st, top, &out)
		}
		if err != nil || kind != KindGroup || !members {
			for i := range out.Items {
				out.Items[i].LinkChanges = nil
			}
			return err
		}
		if st.Sync {
			return s.deltaMembers(ctx, tx, tenantID, out.Items)
		}
		return nil
	})
	return out, err
}

// deltaMembers fills the first round's members@delta: each group's
// members as they are now.
func (s *Service) deltaMembers(ctx context.Context, tx store.Tx, tenantID string, items []DeltaItem) error {
	for i, it := range items {
		members, err := related(ctx, tx, tenantID, store.Related{ID: it.Object.ID, Rel: RelMembers})
		if err != nil {
			return err
		}
		for _, m := range members {
			items[i].LinkChanges = append(items[i].LinkChanges, LinkChange{TargetID: m.ID, Kind: m.Kind})
		}
	}
	return nil
}

func (s *Service) deltaSync(ctx context.Context, tx store.Tx, tenantID string, st deltaState, top int, out *DeltaPage) error {
	if st.Cursor == "" {
		head, err := tx.HeadSeq(ctx, tenantID)
		if err != nil {
			return err
		}
		st.From, st.To = head, head
	}
	p, err := tx.ListObjects(ctx, tenantID, st.Kind, store.Query{Top: top, Cursor: st.Cursor})
	if err != nil {
		return translate(err, "")
	}
	objs, err := toObjects(p.Objects)
	if err != nil {
		return err
	}
	for _, o := range objs {
		out.Items = append(out.Items, DeltaItem{Object: o})
	}
	if p.Next != "" {
		st.Cursor = p.Next
		out.Next = st.encode()
		return nil
	}
	// Changes made while the client paged are replayed in the next round;
	// an object may then appear twice, but no change is lost.
	out.DeltaLink = deltaState{Kind: st.Kind, From: st.To, To: st.To}.encode()
	return nil
}

func (s *Service) deltaReplay(ctx context.Context, tx store.Tx, tenantID string, st deltaState, top int, out *DeltaPage) error {
	if st.Offset == 0 && st.To == st.From {
		head, err := tx.HeadSeq(ctx, tenantID)
		if err != nil {
			return err
		}
		st.To = head
	}
	changes, err := s.window(ctx, tx, tenantID, st)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(changes))
	for id := range changes {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return changes[ids[i]].last < changes[ids[j]].last })
	end := min(st.Offset+top, len(ids))
	for _, id := range ids[st.Offset:end] {
		c := changes[id]
		o, err := tx.GetObject(ctx, tenantID, st.Kind, id)
		if isNotFound(err) {
			out.Items = append(out.Items, DeltaItem{Object: Object{Kind: st.Kind, ID: id}, Removed: true})
			continue
		}
		if err != nil {
			return err
		}
		obj, err := toObject(o)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, DeltaItem{Object: obj, LinkChanges: c.links})
	}
	if end < len(ids) {
		st.Offset = end
		out.Next = st.encode()
		return nil
	}
	out.DeltaLink = deltaState{Kind: st.Kind, From: st.To, To: st.To}.encode()
	return nil
}

type objectChanges struct {
	last  int64
	links []LinkChange
}

// window folds the changes in (From, To] to one entry per object, keeping
// each member reference's final state.
func (s *Service) window(ctx context.Context, tx store.Tx, tenantID string, st deltaState) (map[string]*objectChanges, error) {
	out := map[string]*objectChanges{}
	linkState := map[string]map[string]bool{}
	var order = map[string][]string{}
	after := st.From
	for after < st.To {
		batch, err := tx.Changes(ctx, tenantID, []string{st.Kind}, after, 1000)
		if err != nil {
			return nil, err
		}
		if len(batch) == 0 {
			break
		}
		for _, c := range batch {
			if c.Seq > st.To {
				after = st.To
				break
			}
			after = c.Seq
			oc := out[c.ObjectID]
			if oc == nil {
				oc = &objectChanges{}
				out[c.ObjectID] = oc
				if len(out) > maxDeltaChanges {
					return nil, usererr.WithCode(usererr.Invalid, "SyncStateNotFound", "Too many changes since this delta link; start a new round without a token.")
				}
			}
			oc.last = c.Seq
			if (c.Op == store.OpLinked || c.Op == store.OpUnlinked) && c.Rel == RelMembers {
				if linkState[c.ObjectID] == nil {
					linkState[c.ObjectID] = map[string]bool{}
				}
				if _, seen := linkState[c.ObjectID][c.TargetID]; !seen {
					order[c.ObjectID] = append(order[c.ObjectID], c.TargetID)
				}
				linkState[c.ObjectID][c.TargetID] = c.Op == store.OpUnlinked
			}
		}
	}
	for id, targets := range order {
		for _, t := range targets {
			out[id].links = append(out[id].links, LinkChange{TargetID: t, Removed: linkState[id][t]})
		}
	}
	return out, nil
}
