package login

import (
	"context"
	"errors"
	"net/http"
	"time"

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

// kindSpray is the state kind of a tenant's password-spray counter, one
// per tenant (its id is the tenant's).
const kindSpray = "spray"

// reserveAttempt decides whether a password attempt may be verified now
// and, if it may, counts it as a failure before the password is checked:
// on the username's counter for this browser's familiarity and, from an
// unfamiliar browser, on the tenant's spray counter. Both are read and
// written under the store's lock in one transaction, so attempts sent at
// once, to any node, are judged one after another. spray reports that the
// tenant's spray pace refused it (no account was charged then).
func (p *Pages) reserveAttempt(ctx context.Context, tenantID, username string, familiar bool) (d lockout.Decision, spray bool, err error) {
	now := p.cfg.Now()
	err = p.cfg.Store.Update(ctx, func(tx store.Tx) error {
		// Always the account's counter first, then the tenant's, so two
		// transactions never wait for each other's.
		id := lockoutID(tenantID, username, familiar)
		var c lockout.Counter
		st, err := lockCounter(ctx, tx, tenantID, kindLockout, id, now, p.cfg.Lockout.Window, &c)
		if err != nil {
			return err
		}
		if c, d = p.cfg.Lockout.Reserve(c, now); !d.Allowed {
			return nil
		}
		if !familiar {
			var sc lockout.SprayCounter
			sst, err := lockCounter(ctx, tx, tenantID, kindSpray, tenantID, now, p.cfg.Spray.Window, &sc)
			if err != nil {
				return err
			}
			sc, sd := p.cfg.Spray.Reserve(sc, now)
			if !sd.Allowed {
				d, spray = sd, true
				return nil
			}
			if err := store.UpdateJSON(ctx, tx, sst, sc, p.cfg.Spray.Expiry(sc)); err != nil {
				return err
			}
		}
		return store.UpdateJSON(ctx, tx, st, c, p.cfg.Lockout.Expiry(c))
	})
	return d, spray, err
}

// attemptSucceeded forgets both of a username's counters after it signed
// in, and gives an unfamiliar attempt's reserved failure back to the
// tenant's spray counter.
func (p *Pages) attemptSucceeded(ctx context.Context, tenantID, username string, familiar bool) error {
	now := p.cfg.Now()
	return p.cfg.Store.Update(ctx, func(tx store.Tx) error {
		for _, from := range []bool{false, true} {
			id := lockoutID(tenantID, username, from)
			if _, err := tx.DeleteStates(ctx, tenantID, store.StateFilter{Kind: kindLockout, Family: id}); err != nil {
				return err
			}
		}
		if familiar {
			return nil
		}
		var sc lockout.SprayCounter
		sst, err := lockCounter(ctx, tx, tenantID, kindSpray, tenantID, now, p.cfg.Spray.Window, &sc)
		if err != nil {
			return err
		}
		sc = p.cfg.Spray.Release(sc, now)
		return store.UpdateJSON(ctx, tx, sst, sc, p.cfg.Spray.Expiry(sc))
	})
}

// lockCounter reads a counter state into v under the store's lock,
// creating an empty one (kept for ttl) when there is none.
func lockCounter(ctx context.Context, tx store.Tx, tenantID, kind, id string, now time.Time, ttl time.Duration, v any) (store.State, error) {
	return store.LockJSON(ctx, tx, store.State{TenantID: tenantID, Kind: kind, ID: id, Family: id, Data: []byte(`{}`), CreatedAt: now, ExpiresAt: now.Add(ttl)}, v)
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
