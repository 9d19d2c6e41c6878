package outbox

import (
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mail"
)

// Policy is how hard the outbox tries.
type Policy struct {
	// MaxAttempts is how many deliveries are tried before the message is
	// given up (dead-lettered). A claim counts as an attempt even when its
	// worker died before trying.
	MaxAttempts int
	// BaseDelay is the wait after the first failure; each later failure
	// doubles it, up to MaxDelay.
	BaseDelay, MaxDelay time.Duration
	// Lease is how long a claim keeps other workers off a message: the
	// time a node may take to deliver before another node may try.
	Lease time.Duration
	// SendTimeout bounds one delivery. A worker starts a delivery only
	// while at least this much of its lease is left, so no other worker can
	// claim the message while it is being sent.
	SendTimeout time.Duration
}

// DefaultPolicy tries 12 times over about five hours (30 s, 1 m, 2 m … 32 m,
// then hourly), so an SMTP outage of an afternoon loses no invitation.
func DefaultPolicy() Policy {
	return Policy{MaxAttempts: 12, BaseDelay: 30 * time.Second, MaxDelay: time.Hour, Lease: 5 * time.Minute, SendTimeout: 2 * time.Minute}
}

func (p Policy) withDefaults() Policy {
	d := DefaultPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = d.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = max(d.MaxDelay, p.BaseDelay)
	}
	if p.Lease <= 0 {
		p.Lease = d.Lease
	}
	if p.SendTimeout <= 0 {
		p.SendTimeout = min(d.SendTimeout, p.Lease/2)
	}
	return p
}

// Delay is the wait before the next try after attempts failed tries:
// BaseDelay doubled for each try after the first, capped at MaxDelay.
func (p Policy) Delay(attempts int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < attempts && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

// Outcome is what becomes of a message after a delivery attempt.
type Outcome int

const (
	// Sent: the server took the message; it leaves the outbox.
	Sent Outcome = iota
	// Retry: the failure may pass; the message waits Delay and runs again.
	Retry
	// Bounced: the server refused the message for good (5xx); it leaves
	// the outbox at once.
	Bounced
	// GaveUp: the failures went on for MaxAttempts tries; the message
	// leaves the outbox undelivered (dead letter).
	GaveUp
)

func (o Outcome) String() string {
	return [...]string{"sent", "retry", "bounced", "gave up"}[o]
}

// Decide is the outcome of the attempts-th try (1 for the first), which
// ended with err.
func (p Policy) Decide(attempts int, err error) Outcome {
	switch {
	case err == nil:
		return Sent
	case mail.IsPermanent(err):
		return Bounced
	case attempts >= p.MaxAttempts:
		return GaveUp
	}
	return Retry
}

// Final reports whether the message leaves the outbox.
func (o Outcome) Final() bool { return o != Retry }
