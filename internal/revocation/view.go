package revocation

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// A View is one node's copy of its tenants' facts. A tenant's copy is read
// from the store when first needed and again when it is older than
// RefreshAfter, by one request while the others go on with the copy they
// have; so a fact written on any node is seen everywhere within about a
// second, and a busy tenant costs one small read a second, not one per
// request. A copy older than MaxStale is never trusted: if the store cannot
// be read, checks fail with the store's error rather than allow from it.
type View struct {
	st      store.Store
	now     func() time.Time
	tenants sync.Map // tenant id → *tenantFacts
}

const (
	// RefreshAfter is how old a tenant's copy may be before a check reads
	// the facts again.
	RefreshAfter = time.Second
	// MaxStale is how old a copy may be and still answer while another
	// request refreshes it, or while the store does not answer.
	MaxStale = 5 * time.Second
)

type tenantFacts struct {
	// refreshing holds a token while one request reads the store; waiting
	// for it honours the request's context, so requests do not pile up
	// behind a store that hangs.
	refreshing chan struct{}
	snap       atomic.Pointer[snapshot]
}

type snapshot struct {
	facts  Facts
	readAt time.Time
}

// NewView returns a view over st. now is the clock that ages copies (nil:
// time.Now); it is not the clock facts are written with.
func NewView(st store.Store, now func() time.Time) *View {
	if now == nil {
		now = time.Now
	}
	return &View{st: st, now: now}
}

// Revoked reports whether a fact of the tenant covers s, and which. An error
// means the facts could not be read and no recent copy could answer.
func (v *View) Revoked(ctx context.Context, tenantID string, s Subject) (Fact, bool, error) {
	facts, err := v.facts(ctx, tenantID)
	if err != nil {
		return Fact{}, false, err
	}
	f, revoked := facts.Covering(s)
	return f, revoked, nil
}

// Current reads the tenant's facts as they are now, for the paths that must
// end a revoked sign-in at once on every node and can afford a read (an SSO
// session's use by a person); the node's copy is refreshed with them.
func (v *View) Current(ctx context.Context, tenantID string) (Facts, error) {
	readAt := v.now()
	facts, err := load(ctx, v.st, tenantID)
	if err != nil {
		return Facts{}, fmt.Errorf("revocation: reading the facts of tenant %s: %w", tenantID, err)
	}
	v.entry(tenantID).snap.Store(&snapshot{facts: facts, readAt: readAt})
	return facts, nil
}

func (v *View) entry(tenantID string) *tenantFacts {
	e, ok := v.tenants.Load(tenantID)
	if !ok {
		e, _ = v.tenants.LoadOrStore(tenantID, &tenantFacts{refreshing: make(chan struct{}, 1)})
	}
	return e.(*tenantFacts)
}

// Forget drops the tenant's copy, so the next check reads the facts: a node
// that has just recorded a fact sees it at once.
func (v *View) Forget(tenantID string) { v.tenants.Delete(tenantID) }

func (v *View) facts(ctx context.Context, tenantID string) (Facts, error) {
	t := v.entry(tenantID)
	snap := t.snap.Load()
	if snap != nil && v.now().Sub(snap.readAt) < RefreshAfter {
		return snap.facts, nil
	}
	fresh := snap != nil && v.now().Sub(snap.readAt) < MaxStale
	if fresh {
		select {
		case t.refreshing <- struct{}{}:
		default:
			// Another request is reading; this one answers from the copy.
			return snap.facts, nil
		}
	} else {
		select {
		case t.refreshing <- struct{}{}:
		case <-ctx.Done():
			return Facts{}, fmt.Errorf("revocation: waiting for the facts of tenant %s: %w", tenantID, ctx.Err())
		}
		// The request this one waited for may have refreshed the copy.
		if cur := t.snap.Load(); cur != nil && v.now().Sub(cur.readAt) < RefreshAfter {
			<-t.refreshing
			return cur.facts, nil
		}
	}
	defer func() { <-t.refreshing }()
	readAt := v.now()
	facts, err := load(ctx, v.st, tenantID)
	if err != nil {
		if fresh {
			return snap.facts, nil
		}
		return Facts{}, fmt.Errorf("revocation: reading the facts of tenant %s: %w", tenantID, err)
	}
	t.snap.Store(&snapshot{facts: facts, readAt: readAt})
	return facts, nil
}
