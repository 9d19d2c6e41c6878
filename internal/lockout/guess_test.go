package lockout

import (
	"testing"
	"time"
)

// TestReserveCountsBeforeTheCheck: attempts arriving together are judged
// one after another against the stored counter, so at most Threshold of
// them are let through to the password, and the next lock follows at once.
func TestReserveCountsBeforeTheCheck(t *testing.T) {
	p := DefaultPolicy()
	var c Counter
	allowed := 0
	for range 99 {
		var d Decision
		c, d = p.Reserve(c, t0)
		if d.Allowed {
			allowed++
		}
	}
	if allowed != p.Threshold {
		t.Fatalf("%d of 99 simultaneous attempts reached the password, want %d", allowed, p.Threshold)
	}
	if d := p.Check(c, t0); d.Allowed || d.RetryAt != t0.Add(p.Lock) {
		t.Fatalf("after the reservations: %+v", d)
	}
	// After the lock one attempt is let through, and it locks again at
	// once (a right password resets the counter instead).
	c, d := p.Reserve(c, t0.Add(p.Lock))
	if !d.Allowed {
		t.Fatalf("the attempt after the lock: %+v", d)
	}
	if _, d := p.Reserve(c, t0.Add(p.Lock)); d.Allowed || d.RetryAt != t0.Add(3*p.Lock) {
		t.Fatalf("the second attempt after the lock: %+v", d)
	}
}

func TestSprayPolicy(t *testing.T) {
	p := SprayPolicy{Threshold: 3, Window: 10 * time.Minute, Pace: time.Second}
	type step struct {
		at      time.Duration
		release bool // the attempt's password was right
		allowed bool
		retryIn time.Duration
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"below the threshold every attempt goes through", []step{{0, false, true, 0}, {0, false, true, 0}, {0, false, true, 0}}},
		{"past the threshold one attempt per pace", []step{
			{0, false, true, 0}, {0, false, true, 0}, {0, false, true, 0},
			{0, false, true, 0}, // the first paced slot
			{0, false, false, time.Second}, {500 * time.Millisecond, false, false, 500 * time.Millisecond},
			{time.Second, false, true, 0}, {time.Second, false, false, time.Second}}},
		{"right passwords are not counted", []step{
			{0, true, true, 0}, {0, true, true, 0}, {0, true, true, 0}, {0, true, true, 0}, {0, false, true, 0}, {0, false, true, 0}, {0, false, true, 0}}},
		{"a new window starts quiet", []step{
			{0, false, true, 0}, {0, false, true, 0}, {0, false, true, 0}, {0, false, true, 0},
			{10 * time.Minute, false, true, 0}, {10 * time.Minute, false, true, 0}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c SprayCounter
			for i, s := range tc.steps {
				now := t0.Add(s.at)
				var d Decision
				c, d = p.Reserve(c, now)
				if d.Allowed != s.allowed || (!d.Allowed && d.RetryAt.Sub(now) != s.retryIn) || d.Reason == "" {
					t.Fatalf("step %d at %v: %+v, want allowed %v retry in %v", i, s.at, d, s.allowed, s.retryIn)
				}
				if d.Allowed && s.release {
					c = p.Release(c, now)
				}
				if exp := p.Expiry(c); c.Failures.Count > 0 && !exp.After(now) {
					t.Fatalf("step %d: counter expires at %v, before it is done", i, exp)
				}
			}
		})
	}
}

func TestCodePolicy(t *testing.T) {
	p := CodePolicy{PerClient: 3, UnderAttack: 1, TenantAlarm: 5, Window: 15 * time.Minute}
	type tallies struct {
		clients map[string]Tally
		tenant  Tally
	}
	try := func(s *tallies, client string, at time.Duration, right bool) Decision {
		now := t0.Add(at)
		c, ten, d := p.Reserve(s.clients[client], s.tenant, now)
		if d.Allowed && right {
			c, ten = p.Release(c, ten, now)
		}
		s.clients[client], s.tenant = c, ten
		return d
	}
	s := &tallies{clients: map[string]Tally{}}
	for i := range 3 {
		if d := try(s, "attacker", 0, false); !d.Allowed {
			t.Fatalf("wrong code %d refused: %+v", i, d)
		}
	}
	if d := try(s, "attacker", time.Minute, false); d.Allowed || d.RetryAt != t0.Add(p.Window) {
		t.Fatalf("the fourth wrong code from one client: %+v", d)
	}
	if d := try(s, "user", time.Minute, true); !d.Allowed || s.clients["user"].Count != 0 || s.tenant.Count != 3 {
		t.Fatalf("a right code from another client: %+v, tallies %+v", d, s)
	}
	// Two more clients guessing raise the alarm: then each client has one
	// wrong code, but a client that has not guessed is still let through.
	try(s, "bot1", time.Minute, false)
	try(s, "bot2", time.Minute, false)
	if d := try(s, "bot1", time.Minute, false); d.Allowed {
		t.Fatalf("a second wrong code from a client while the tenant is under attack: %+v", d)
	}
	for i := range 50 {
		if d := try(s, "user", time.Duration(i)*time.Second, true); !d.Allowed {
			t.Fatalf("the user's right code %d during the attack: %+v", i, d)
		}
	}
	if d := try(s, "bot3", 2*time.Minute, false); !d.Allowed {
		t.Fatalf("a new client's first code during the attack: %+v", d)
	}
	if d := try(s, "attacker", 16*time.Minute, false); !d.Allowed {
		t.Fatalf("a client's tally outlived its window: %+v", d)
	}
}

func TestClientKey(t *testing.T) {
	cases := map[string]string{
		"192.0.2.7":            "192.0.2.7",
		"::ffff:192.0.2.7":     "192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"fe80::1%eth0":         "fe80::/64",
		"not an address":       "not an address",
	}
	for ip, want := range cases {
		if got := ClientKey(ip); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", ip, got, want)
		}
	}
}
