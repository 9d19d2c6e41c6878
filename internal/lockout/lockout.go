// Package lockout owns the rules that slow down password and code
// guessing: smart lockout of an account after repeated failures, slowing a
// tenant-wide password spray, wrong one-time codes per client, and per-client
// request throttling. The rules are pure: callers load a counter under the
// store's lock, ask Reserve before checking the secret (so concurrent
// attempts cannot all be judged against the same fresh counter), store the
// result until Expiry, and release or reset it after a success; nothing here
// does I/O, and the only state kept in memory is the Limiter's per-node
// buckets.
package lockout

import (
	"fmt"
	"time"
)

// Policy is a smart-lockout policy. A counter locks after Threshold failures
// within Window, for Lock; once an account has been locked, every further
// failure (before the counter is forgotten) locks it again for twice as long
// as the previous lock, up to MaxLock. This follows Entra's smart lockout:
// an attacker who keeps guessing after a lockout gets one guess per lock.
type Policy struct {
	Threshold int           // failures within Window that lock
	Window    time.Duration // how long a failure counts, measured from the window's first failure
	Lock      time.Duration // the first lock's length
	MaxLock   time.Duration // the cap on a lock's length
}

// DefaultPolicy is Entra's default: 10 failures, a 60-second first lock.
func DefaultPolicy() Policy {
	return Policy{Threshold: 10, Window: 10 * time.Minute, Lock: time.Minute, MaxLock: 30 * time.Minute}
}

// Counter is what is stored per account (and per browser familiarity).
// The zero Counter is a clean account.
type Counter struct {
	Failures    int       `json:"failures,omitempty"`   // failures in the current window
	First       time.Time `json:"first,omitzero"`       // the current window's first failure
	Lockouts    int       `json:"lockouts,omitempty"`   // locks so far, for doubling
	LockedUntil time.Time `json:"lockedUntil,omitzero"` // refuse attempts before this
	Last        time.Time `json:"last,omitzero"`        // the latest failure
}

// Decision is Check's answer with the reason, for sign-in logs and what-if.
type Decision struct {
	Allowed bool
	RetryAt time.Time // when a refused attempt may be retried
	Reason  string
}

// Check decides whether an attempt may verify a password now.
func (p Policy) Check(c Counter, now time.Time) Decision {
	c = p.current(c, now)
	if now.Before(c.LockedUntil) {
		return Decision{RetryAt: c.LockedUntil, Reason: fmt.Sprintf("locked until %s (lockout %d)", c.LockedUntil.UTC().Format(time.RFC3339), c.Lockouts)}
	}
	if c.Lockouts > 0 {
		return Decision{Allowed: true, Reason: fmt.Sprintf("lock %d expired; the next failure locks again", c.Lockouts)}
	}
	return Decision{Allowed: true, Reason: fmt.Sprintf("%d of %d failures", c.Failures, p.Threshold)}
}

// Reserve decides whether an attempt may verify a password now and, if it
// may, counts it as a failure before the password is checked: N attempts
// made at once are judged one after another against the counter the store
// holds, so at most Threshold of them reach the password (one after a
// lock). A success then resets the counter.
func (p Policy) Reserve(c Counter, now time.Time) (Counter, Decision) {
	d := p.Check(c, now)
	if !d.Allowed {
		return c, d
	}
	return p.Failure(c, now), d
}

// Failure records a failed attempt made at now and returns the new counter.
// A failure while locked cannot happen when callers Check first; it is
// ignored so that a lock is never extended by attempts it refused.
func (p Policy) Failure(c Counter, now time.Time) Counter {
	c = p.current(c, now)
	if now.Before(c.LockedUntil) {
		return c
	}
	if c.Failures == 0 || now.Sub(c.First) >= p.Window {
		c.Failures, c.First = 0, now
	}
	c.Failures++
	c.Last = now
	if c.Lockouts > 0 || c.Failures >= p.Threshold {
		c.Lockouts++
		c.LockedUntil = now.Add(p.lockLength(c.Lockouts))
		c.Failures, c.First = 0, time.Time{}
	}
	return c
}

// Expiry is when the counter may be forgotten: a Window after its latest
// failure or lock ends, whichever is later. Stores keep it until then.
func (p Policy) Expiry(c Counter) time.Time {
	return maxTime(c.Last, c.LockedUntil).Add(p.Window)
}

// current forgets a counter that has expired, so that an old lock's
// doubling does not follow the account forever.
func (p Policy) current(c Counter, now time.Time) Counter {
	if c != (Counter{}) && !now.Before(p.Expiry(c)) {
		return Counter{}
	}
	return c
}

// lockLength is Lock doubled for each earlier lockout, capped at MaxLock.
func (p Policy) lockLength(lockouts int) time.Duration {
	d := p.Lock
	for i := 1; i < lockouts && d < p.MaxLock; i++ {
		d *= 2
	}
	return min(d, p.MaxLock)
}
