package mfa

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// kindGuard is the state kind of a user's second-factor guard: one per
// user (id and family the user's id), read and written under the store's
// row lock by every check of a code, on any node.
const kindGuard = "mfaGuard"

// guard is what a user's second factor remembers between checks.
type guard struct {
	// Counter counts wrong codes of any method (internal/lockout).
	Counter lockout.Counter `json:"counter"`
	// Steps are the last TOTP time step used per method: a code of that
	// step or an earlier one is refused (RFC 6238 §5.2).
	Steps map[string]int64 `json:"steps,omitempty"`
	// StepsUntil is when every step kept is out of the verification
	// window, so the steps may be forgotten.
	StepsUntil time.Time `json:"stepsUntil,omitzero"`
}

// lockGuard reads the user's guard under the store's lock in tx, creating
// an empty one when there is none.
func (s *Service) lockGuard(ctx context.Context, tx store.Tx, tenantID, userID string) (store.State, guard, error) {
	now := s.now()
	var g guard
	st, err := store.LockJSON(ctx, tx, store.State{TenantID: tenantID, Kind: kindGuard, ID: userID, Family: userID, Subject: userID,
		Data: []byte(`{}`), CreatedAt: now, ExpiresAt: now.Add(s.lock.Window)}, &g)
	if err != nil {
		return st, g, err
	}
	if !now.Before(g.StepsUntil) {
		g.Steps, g.StepsUntil = nil, time.Time{}
	}
	return st, g, nil
}

// saveGuard writes the guard back, kept as long as its counter or its
// steps matter (and never less than a moment, so the row stays live for
// the rest of the transaction).
func (s *Service) saveGuard(ctx context.Context, tx store.Tx, st store.State, g guard) error {
	expires := s.lock.Expiry(g.Counter)
	if g.StepsUntil.After(expires) {
		expires = g.StepsUntil
	}
	if floor := s.now().Add(time.Minute); expires.Before(floor) {
		expires = floor
	}
	return store.UpdateJSON(ctx, tx, st, g, expires)
}

// refuse returns the LockedError of a guard whose counter refuses a check
// now, or nil.
func (s *Service) refuse(g guard) error {
	if d := s.lock.Check(g.Counter, s.now()); !d.Allowed {
		return &LockedError{RetryAt: d.RetryAt}
	}
	return nil
}

// reserve counts a check of an email code as wrong before it is made, in
// its own transaction (the code is checked in another, internal/otp's):
// codes sent at once are judged one after another against the counter,
// and a right code gives the reservation back (succeeded).
func (s *Service) reserve(ctx context.Context, tenantID, userID string) error {
	var refused error
	err := s.st.Update(ctx, func(tx store.Tx) error {
		st, g, err := s.lockGuard(ctx, tx, tenantID, userID)
		if err != nil {
			return err
		}
		if refused = s.refuse(g); refused != nil {
			return nil
		}
		g.Counter, _ = s.lock.Reserve(g.Counter, s.now())
		return s.saveGuard(ctx, tx, st, g)
	})
	if err != nil {
		return err
	}
	return refused
}

// succeeded forgets the wrong codes of a user whose code was right.
func (s *Service) succeeded(ctx context.Context, tenantID, userID string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		st, g, err := s.lockGuard(ctx, tx, tenantID, userID)
		if err != nil {
			return err
		}
		g.Counter = lockout.Counter{}
		return s.saveGuard(ctx, tx, st, g)
	})
}

// Locked reports whether the user's second factor is locked now, and
// until when: the pages say so before sending a code that could not be
// checked.
func (s *Service) Locked(ctx context.Context, tenantID, userID string) (time.Time, bool, error) {
	var g guard
	err := s.st.View(ctx, func(tx store.Tx) error {
		st, err := tx.GetState(ctx, tenantID, kindGuard, userID)
		if err != nil {
			return err
		}
		return decodeState(st, &g)
	})
	if err != nil && !isNotFound(err) {
		return time.Time{}, false, err
	}
	if d := s.lock.Check(g.Counter, s.now()); !d.Allowed {
		return d.RetryAt, true, nil
	}
	return time.Time{}, false, nil
}

func decodeState(st store.State, v any) error { return json.Unmarshal(st.Data, v) }

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
