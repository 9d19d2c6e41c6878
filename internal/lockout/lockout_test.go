package lockout

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// event is one step of a scenario: a failure at an offset, then whether an
// attempt at the same instant is allowed and when it may be retried.
type event struct {
	at      time.Duration
	fail    bool
	allowed bool
	retryIn time.Duration // from at, when refused
}

func TestPolicy(t *testing.T) {
	p := DefaultPolicy()
	fails := func(from time.Duration, n int, step time.Duration) []event {
		var evs []event
		for i := range n {
			evs = append(evs, event{at: from + time.Duration(i)*step, fail: true, allowed: true})
		}
		return evs
	}
	cases := []struct {
		name   string
		events []event
	}{
		{"nine failures do not lock", append(fails(0, 9, time.Second), event{at: 9 * time.Second, allowed: true})},
		{"the tenth failure locks for a minute", append(fails(0, 9, time.Second),
			event{at: 9 * time.Second, fail: true, allowed: false, retryIn: time.Minute},
			event{at: 9*time.Second + 59*time.Second, allowed: false, retryIn: time.Second},
			event{at: 9*time.Second + time.Minute, allowed: true})},
		{"failures outside the window start a new window", append(fails(0, 9, time.Second),
			event{at: 11 * time.Minute, fail: true, allowed: true},
			event{at: 11*time.Minute + time.Second, allowed: true})},
		{"each failure after a lock doubles it", append(fails(0, 9, 0),
			event{fail: true, allowed: false, retryIn: time.Minute},
			event{at: time.Minute, fail: true, allowed: false, retryIn: 2 * time.Minute},
			event{at: 3 * time.Minute, fail: true, allowed: false, retryIn: 4 * time.Minute},
			event{at: 7 * time.Minute, fail: true, allowed: false, retryIn: 8 * time.Minute})},
		{"a counter left alone is forgotten", append(fails(0, 9, 0),
			event{fail: true, allowed: false, retryIn: time.Minute},
			event{at: time.Minute + p.Window, fail: true, allowed: true})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Counter
			for i, ev := range tc.events {
				now := t0.Add(ev.at)
				if ev.fail {
					if d := p.Check(c, now); !d.Allowed {
						t.Fatalf("event %d: failure recorded while locked: %s", i, d.Reason)
					}
					c = p.Failure(c, now)
				}
				d := p.Check(c, now)
				if d.Allowed != ev.allowed {
					t.Fatalf("event %d at %v: allowed = %v, want %v (%s)", i, ev.at, d.Allowed, ev.allowed, d.Reason)
				}
				if !d.Allowed && d.RetryAt.Sub(now) != ev.retryIn {
					t.Fatalf("event %d: retry in %v, want %v", i, d.RetryAt.Sub(now), ev.retryIn)
				}
				if d.Reason == "" {
					t.Fatalf("event %d: decision without a reason", i)
				}
			}
		})
	}
}

func TestLockLengthCapped(t *testing.T) {
	p := DefaultPolicy()
	for _, tc := range []struct {
		lockouts int
		want     time.Duration
	}{{1, time.Minute}, {2, 2 * time.Minute}, {5, 16 * time.Minute}, {6, 30 * time.Minute}, {1000, 30 * time.Minute}} {
		if got := p.lockLength(tc.lockouts); got != tc.want {
			t.Errorf("lockLength(%d) = %v, want %v", tc.lockouts, got, tc.want)
		}
	}
}

func TestFailureWhileLockedIsIgnored(t *testing.T) {
	p := DefaultPolicy()
	var c Counter
	for range p.Threshold {
		c = p.Failure(c, t0)
	}
	if got := p.Failure(c, t0.Add(time.Second)); got != c {
		t.Fatalf("failure while locked changed the counter: %+v -> %+v", c, got)
	}
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(Rate{Burst: 3, Every: time.Second})
	steps := []struct {
		key   string
		at    time.Duration
		allow bool
	}{
		{"a", 0, true}, {"a", 0, true}, {"a", 0, true}, {"a", 0, false},
		{"b", 0, true}, // keys are independent
		{"a", 999 * time.Millisecond, false},
		{"a", time.Second, true}, {"a", time.Second, false},
		{"a", 10 * time.Second, true}, {"a", 10 * time.Second, true}, {"a", 10 * time.Second, true}, {"a", 10 * time.Second, false},
	}
	for i, s := range steps {
		if got := l.Allow(s.key, t0.Add(s.at)); got != s.allow {
			t.Fatalf("step %d (%s at %v): allow = %v, want %v", i, s.key, s.at, got, s.allow)
		}
	}
}

func TestLimiterSweeps(t *testing.T) {
	l := NewLimiter(Rate{Burst: 1, Every: time.Second})
	for i := range 3 * minSweep {
		l.Allow(fmt.Sprint(i), t0.Add(time.Duration(i)*time.Second))
	}
	if n := len(l.full); n > minSweep {
		t.Fatalf("limiter holds %d keys after sweeping, want at most %d", n, minSweep)
	}
}

func TestExhaustedDoesNotCount(t *testing.T) {
	l := NewLimiter(Rate{Burst: 1, Every: time.Second})
	now := time.Unix(1000, 0)
	for range 3 {
		if l.Exhausted("ip", now) {
			t.Fatal("looking must not use up the budget")
		}
	}
	if !l.Allow("ip", now) || !l.Exhausted("ip", now) {
		t.Fatal("one counted request must exhaust a burst of one")
	}
	if l.Exhausted("ip", now.Add(time.Second)) {
		t.Fatal("the budget refills")
	}
}
