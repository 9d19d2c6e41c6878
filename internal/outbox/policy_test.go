package outbox

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mail"
)

func TestDelay(t *testing.T) {
	p := Policy{BaseDelay: 30 * time.Second, MaxDelay: time.Hour}
	for attempts, want := range map[int]time.Duration{
		0: 30 * time.Second, 1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 7: 32 * time.Minute,
		8: time.Hour, 9: time.Hour, 100: time.Hour, 1 << 30: time.Hour,
	} {
		if got := p.Delay(attempts); got != want {
			t.Errorf("Delay(%d) = %v, want %v", attempts, got, want)
		}
	}
	if got := (Policy{BaseDelay: time.Minute, MaxDelay: 90 * time.Second}).Delay(3); got != 90*time.Second {
		t.Errorf("cap not a power of two: %v", got)
	}
}

func TestDecide(t *testing.T) {
	p := Policy{MaxAttempts: 3}
	down := errors.New("dial tcp: connection refused")
	bounce := fmt.Errorf("deliver: %w", &mail.RejectedError{Code: 550, Err: errors.New("no such user")})
	tests := []struct {
		attempts int
		err      error
		want     Outcome
	}{
		{1, nil, Sent},
		{3, nil, Sent},
		{1, down, Retry},
		{2, down, Retry},
		{3, down, GaveUp},
		{4, down, GaveUp}, // claims by workers that died count too
		{1, bounce, Bounced},
		{3, bounce, Bounced},
	}
	for _, tt := range tests {
		if got := p.Decide(tt.attempts, tt.err); got != tt.want {
			t.Errorf("Decide(%d, %v) = %v, want %v", tt.attempts, tt.err, got, tt.want)
		}
		if got := p.Decide(tt.attempts, tt.err).Final(); got != (tt.want != Retry) {
			t.Errorf("Final(%v) = %v", tt.want, got)
		}
	}
}

func TestPolicyDefaults(t *testing.T) {
	p := Policy{}.withDefaults()
	if p != DefaultPolicy() {
		t.Errorf("zero policy = %+v, want %+v", p, DefaultPolicy())
	}
	// A short lease leaves room to send within it.
	if q := (Policy{Lease: time.Minute}).withDefaults(); q.SendTimeout != 30*time.Second {
		t.Errorf("SendTimeout with a 1m lease = %v", q.SendTimeout)
	}
	// The whole schedule of DefaultPolicy: about five hours before giving up.
	var total time.Duration
	for a := 1; a < p.MaxAttempts; a++ {
		total += p.Delay(a)
	}
	if total < 4*time.Hour || total > 6*time.Hour {
		t.Errorf("DefaultPolicy gives up after %v", total)
	}
}
