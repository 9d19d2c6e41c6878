package sessionpolicy

import (
	"testing"
	"time"
)

func TestAllows(t *testing.T) {
	l := Lifetime{MaxAge: 12 * time.Hour, IdleTimeout: 30 * time.Minute}
	auth := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name           string
		lastUsed, now  time.Time
		want           bool
		wantExpiryWhen time.Time
	}{
		{"fresh", auth, auth.Add(time.Minute), true, auth.Add(31 * time.Minute)},
		{"used often, within age", auth.Add(11*time.Hour + 50*time.Minute), auth.Add(11*time.Hour + 55*time.Minute), true, auth.Add(12 * time.Hour)},
		{"idle too long", auth.Add(time.Hour), auth.Add(time.Hour + 31*time.Minute), false, auth.Add(2*time.Hour + time.Minute)},
		{"past max age although just used", auth.Add(12*time.Hour - time.Minute), auth.Add(12*time.Hour + time.Second), false, auth.Add(12 * time.Hour)},
		{"exactly at max age", auth.Add(12*time.Hour - time.Minute), auth.Add(12 * time.Hour), true, auth.Add(12 * time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := l.Allows(auth, tc.lastUsed, tc.now); got != tc.want {
				t.Errorf("Allows = %v, want %v", got, tc.want)
			}
			// Refreshing at now can never push the expiry past the maximum age.
			if got := l.Expiry(auth, tc.now); !got.Equal(tc.wantExpiryWhen) || got.After(auth.Add(l.MaxAge)) {
				t.Errorf("Expiry = %v, want %v", got, tc.wantExpiryWhen)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	aal2 := Policy{Session: Lifetime{12 * time.Hour, 30 * time.Minute}, Refresh: Lifetime{12 * time.Hour, 30 * time.Minute}}
	for _, tc := range []struct {
		name string
		p    Policy
		ok   bool
	}{
		{"default", Default, true},
		{"AAL2", aal2, true},
		{"idle beyond age", Policy{Session: Lifetime{time.Hour, 2 * time.Hour}, Refresh: aal2.Refresh}, false},
		{"too short", Policy{Session: aal2.Session, Refresh: Lifetime{time.Minute, time.Minute}}, false},
		{"beyond what revocations cover", Policy{Session: Lifetime{91 * day, day}, Refresh: aal2.Refresh}, false},
		{"zero", Policy{}, false},
	} {
		if err := tc.p.Check(); (err == nil) != tc.ok {
			t.Errorf("%s: Check = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestDurations(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		out  string
	}{
		{"P30D", 30 * day, "P30D"},
		{"PT12H", 12 * time.Hour, "PT12H"},
		{"PT30M", 30 * time.Minute, "PT30M"},
		{"P1DT2H3M4S", day + 2*time.Hour + 3*time.Minute + 4*time.Second, "P1DT2H3M4S"},
		{"PT90M", 90 * time.Minute, "PT1H30M"},
		{"PT0S", 0, "PT0S"},
	} {
		got, err := ParseDuration(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if s := FormatDuration(got); s != tc.out {
			t.Errorf("FormatDuration(%v) = %q, want %q", got, s, tc.out)
		}
	}
	for _, bad := range []string{"", "P", "PT", "P1Y", "P1M", "PT1.5H", "30D", "P-1D", "P1DT", "PT99999999999S", "p1d"} {
		if d, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", bad, d)
		}
	}
}
