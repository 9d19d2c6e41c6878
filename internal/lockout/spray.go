package lockout

import (
	"fmt"
	"time"
)

// SprayPolicy slows a password spray: one password tried against many
// accounts, from many addresses, each account too few times to lock it and
// each address too few times to be throttled. Failed attempts from browsers
// unfamiliar to the account are counted per tenant; once Threshold of them
// fall within Window, the tenant is being sprayed, and unfamiliar attempts
// are let through one per Pace across the tenant. No account is locked, and
// browsers that signed in as the account before are never counted nor
// slowed, so the real users keep signing in.
type SprayPolicy struct {
	Threshold int           // a tenant's failed unfamiliar attempts within Window that mean a spray
	Window    time.Duration // measured from the window's first failure
	Pace      time.Duration // during a spray, the tenant's unfamiliar attempts are this far apart
}

// DefaultSprayPolicy: 100 failures in 10 minutes mean a spray, which then
// gets one guess a second.
func DefaultSprayPolicy() SprayPolicy {
	return SprayPolicy{Threshold: 100, Window: 10 * time.Minute, Pace: time.Second}
}

// SprayCounter is what is stored per tenant. The zero value is a quiet tenant.
type SprayCounter struct {
	Failures Tally     `json:"failures"`      // failed (or pending) unfamiliar attempts
	Next     time.Time `json:"next,omitzero"` // during a spray, no unfamiliar attempt before this
}

// Reserve decides whether an unfamiliar attempt may verify a password now
// and, if it may, counts it as a failure in advance (Release takes it back
// after a success), so a spray sent all at once is counted as it arrives.
// A spray gets at most Threshold + Window/Pace guesses per Window (700 by
// default) instead of as many as it can send.
func (p SprayPolicy) Reserve(c SprayCounter, now time.Time) (SprayCounter, Decision) {
	c.Failures = c.Failures.current(p.Window, now)
	d := Decision{Allowed: true, Reason: fmt.Sprintf("%d of %d failures in the tenant", c.Failures.Count, p.Threshold)}
	if c.Failures.Count >= p.Threshold {
		if now.Before(c.Next) {
			return c, Decision{RetryAt: c.Next, Reason: fmt.Sprintf("password spray: %d failures since %s; unfamiliar attempts are paced",
				c.Failures.Count, c.Failures.First.UTC().Format(time.RFC3339))}
		}
		c.Next = now.Add(p.Pace)
		d.Reason = fmt.Sprintf("password spray: %d failures; this attempt takes the paced slot", c.Failures.Count)
	}
	c.Failures = c.Failures.add(1, p.Window, now)
	return c, d
}

// Release takes back a reserved failure whose password was right.
func (p SprayPolicy) Release(c SprayCounter, now time.Time) SprayCounter {
	c.Failures = c.Failures.add(-1, p.Window, now)
	return c
}

// Expiry is when the counter may be forgotten.
func (p SprayPolicy) Expiry(c SprayCounter) time.Time {
	return maxTime(c.Failures.expiry(p.Window), c.Next)
}

// Tally counts events in a window that starts at its first event.
type Tally struct {
	Count int       `json:"count,omitempty"`
	First time.Time `json:"first,omitzero"`
}

// current starts a new window once the tally's has passed.
func (t Tally) current(window time.Duration, now time.Time) Tally {
	if t.Count > 0 && now.Sub(t.First) >= window {
		return Tally{}
	}
	return t
}

// add counts n more events (n < 0 takes back reserved ones) at now.
func (t Tally) add(n int, window time.Duration, now time.Time) Tally {
	t = t.current(window, now)
	t.Count = max(0, t.Count+n)
	switch {
	case t.Count == 0:
		return Tally{}
	case t.First.IsZero():
		t.First = now
	}
	return t
}

func (t Tally) expiry(window time.Duration) time.Time { return t.First.Add(window) }

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
