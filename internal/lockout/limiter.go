package lockout

import (
	"sync"
	"time"
)

// Rate allows Burst requests at once, then one every Every.
type Rate struct {
	Burst int
	Every time.Duration
}

// Limiter throttles requests per key (a client address). It is the generic
// cell rate algorithm: per key it keeps only the time at which the key's
// bucket is full again. Buckets live in this node's memory: behind a load
// balancer each node throttles on its own, so the effective rate is at most
// the node count times Rate, which is enough to slow down guessing while
// the per-account lockout, kept in the store, holds across nodes.
type Limiter struct {
	rate Rate

	mu      sync.Mutex
	full    map[string]time.Time // when each key's bucket is full again
	sweepAt int
}

// minSweep is how many keys the limiter holds before sweeping full buckets.
const minSweep = 1024

// NewLimiter returns a limiter allowing rate per key.
func NewLimiter(rate Rate) *Limiter {
	return &Limiter{rate: rate, full: make(map[string]time.Time), sweepAt: minSweep}
}

// Exhausted reports whether key has no request left at now, without
// counting anything.
func (l *Limiter) Exhausted(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	tat := l.full[key]
	if tat.Before(now) {
		tat = now
	}
	return tat.Add(l.rate.Every).Sub(now) > time.Duration(l.rate.Burst)*l.rate.Every
}

// Allow reports whether a request for key at now is within the rate, and
// counts it if so.
func (l *Limiter) Allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	tat := l.full[key]
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(l.rate.Every)
	if next.Sub(now) > time.Duration(l.rate.Burst)*l.rate.Every {
		return false
	}
	l.full[key] = next
	if len(l.full) >= l.sweepAt {
		l.sweep(now)
	}
	return true
}

// sweep drops keys whose buckets are full again: they behave like new keys.
// The next sweep waits until the map has doubled, so sweeping stays
// amortised constant time per request.
func (l *Limiter) sweep(now time.Time) {
	for k, t := range l.full {
		if !t.After(now) {
			delete(l.full, k)
		}
	}
	l.sweepAt = max(minSweep, 2*len(l.full))
}
