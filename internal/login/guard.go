package login

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// kindLockout is the state kind of smart-lockout counters. A username has
// two: one for attempts from browsers it has signed in from before, one for
// all others, so that guessing from elsewhere cannot lock the user out of
// their own browser. Counters are kept for any username, existing or not,
// so that locking reveals nothing about which accounts exist.
const kindLockout = "lockout"

func lockoutID(tenantID, username string, familiar bool) string {
	from := "unfamiliar"
	if familiar {
		from = "familiar"
	}
	return hashID("lockout", tenantID, foldUsername(username), from)
}

// lockoutCheck decides whether a password attempt for username may be
// verified now, and returns the counter's id for recording the outcome.
func (p *Pages) lockoutCheck(ctx context.Context, r *http.Request, tenantID, username string) (string, lockout.Decision, error) {
	id := lockoutID(tenantID, username, p.isFamiliar(r, tenantID, username))
	var c lockout.Counter
	err := p.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		c, err = readCounter(ctx, tx, tenantID, id)
		return err
	})
	if err != nil {
		return "", lockout.Decision{}, err
	}
	return id, p.cfg.Lockout.Check(c, p.cfg.Now()), nil
}

// lockoutFailure records a failed attempt on the counter.
func (p *Pages) lockoutFailure(ctx context.Context, tenantID, id string) error {
	return p.cfg.Store.Update(ctx, func(tx store.Tx) error {
		c, err := readCounter(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		now := p.cfg.Now()
		c = p.cfg.Lockout.Failure(c, now)
		data, err := json.Marshal(c)
		if err != nil {
			return err
		}
		return putState(ctx, tx, store.State{TenantID: tenantID, Kind: kindLockout, ID: id, Family: id,
			Data: data, CreatedAt: now, ExpiresAt: p.cfg.Lockout.Expiry(c)})
	})
}

// lockoutReset forgets both of a username's counters after it signed in.
func (p *Pages) lockoutReset(ctx context.Context, tenantID, username string) error {
	return p.cfg.Store.Update(ctx, func(tx store.Tx) error {
		for _, familiar := range []bool{false, true} {
			id := lockoutID(tenantID, username, familiar)
			if _, err := tx.DeleteStates(ctx, tenantID, store.StateFilter{Kind: kindLockout, Family: id}); err != nil {
				return err
			}
		}
		return nil
	})
}

func readCounter(ctx context.Context, tx store.Tx, tenantID, id string) (lockout.Counter, error) {
	var c lockout.Counter
	st, err := tx.GetState(ctx, tenantID, kindLockout, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(st.Data, &c)
}

// putState writes a state whose id the caller derives (so it recurs): it
// updates the live state, or replaces an expired one that the store has not
// purged yet, which still holds the id. Such states have Family = ID, so
// deleting by family deletes exactly that state.
func putState(ctx context.Context, tx store.Tx, s store.State) error {
	_, err := tx.GetState(ctx, s.TenantID, s.Kind, s.ID)
	if err == nil {
		return tx.UpdateState(ctx, s)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if _, err := tx.DeleteStates(ctx, s.TenantID, store.StateFilter{Kind: s.Kind, Family: s.Family}); err != nil {
		return err
	}
	return tx.PutState(ctx, s)
}

// throttled counts a password attempt against the client's rate.
// throttled reports whether the client address has used up its failed
// password attempts. Only failures count (see chargeFailure): a busy office
// behind one address signs in freely, a guesser from one address is slowed.
func (p *Pages) throttled(r *http.Request) bool {
	return p.limiter.Exhausted(p.clientKey(r), p.cfg.Now())
}

// chargeFailure counts a failed password attempt against the client address.
func (p *Pages) chargeFailure(r *http.Request) {
	p.limiter.Allow(p.clientKey(r), p.cfg.Now())
}
