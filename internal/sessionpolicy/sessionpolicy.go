// Package sessionpolicy owns a tenant's session lifetime rules: how long an
// SSO session and a refresh-token family may be used after the user
// authenticated (maximum age) and after they were last used (idle timeout),
// and the decisions that follow from them. Both ages count from the actual
// authentication, so neither refreshing a token nor reusing a session makes
// anything outlive its policy.
package sessionpolicy

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Lifetime bounds one kind of session.
type Lifetime struct {
	MaxAge      time.Duration // since the user authenticated
	IdleTimeout time.Duration // since the session or family was last used
}

// Policy is a tenant's session lifetime policy.
type Policy struct {
	Session Lifetime // SSO sessions of the sign-in pages
	Refresh Lifetime // refresh-token families: every token rotated from one sign-in
}

const day = 24 * time.Hour

// Default is the policy of a tenant that has not set one. Gatehouse signs
// users in with a password alone, which is NIST SP 800-63B's AAL1: the
// subscriber must reauthenticate at least once every 30 days, with no
// inactivity bound of its own. Entra's defaults keep refresh tokens for 90
// days of inactivity, rolling, and SSO session tokens for 24 hours of
// inactivity (90 days when persistent), both until revoked, with no maximum
// age. The 30-day age is the stricter bound, so it is the default for both,
// with an idle timeout as long; the sign-in pages' own sliding lifetimes
// (24 hours, or 90 days for "stay signed in") still apply within it. A
// tenant that needs AAL2 sets 12 hours and 30 minutes.
var Default = Policy{
	Session: Lifetime{MaxAge: 30 * day, IdleTimeout: 30 * day},
	Refresh: Lifetime{MaxAge: 30 * day, IdleTimeout: 30 * day},
}

// Limits bound what a tenant may set: below MinDuration nobody could finish
// signing in; above MaxDuration revocation records (package revocation)
// would no longer be kept long enough to cover what they revoke.
const (
	MinDuration = 5 * time.Minute
	MaxDuration = 90 * day
)

// Allows reports whether a session or family that authenticated at
// authTime and was last used at lastUsed may be used at now.
func (l Lifetime) Allows(authTime, lastUsed, now time.Time) bool {
	return now.Sub(authTime) <= l.MaxAge && now.Sub(lastUsed) <= l.IdleTimeout
}

// Expiry is when a session or family used at now lapses unless it is used
// again: after the idle timeout, and never past its maximum age.
func (l Lifetime) Expiry(authTime, now time.Time) time.Time {
	idle, age := now.Add(l.IdleTimeout), authTime.Add(l.MaxAge)
	if idle.Before(age) {
		return idle
	}
	return age
}

// Check refuses a policy with a duration outside [MinDuration, MaxDuration],
// or an idle timeout longer than its maximum age, naming the property.
func (p Policy) Check() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"signInSessionMaxAge", p.Session.MaxAge}, {"signInSessionIdleTimeout", p.Session.IdleTimeout},
		{"refreshTokenMaxAge", p.Refresh.MaxAge}, {"refreshTokenIdleTimeout", p.Refresh.IdleTimeout},
	} {
		if d.v < MinDuration || d.v > MaxDuration {
			return fmt.Errorf("%s must be between %s and %s", d.name, FormatDuration(MinDuration), FormatDuration(MaxDuration))
		}
	}
	if p.Session.IdleTimeout > p.Session.MaxAge || p.Refresh.IdleTimeout > p.Refresh.MaxAge {
		return fmt.Errorf("an idle timeout cannot exceed its maximum age")
	}
	return nil
}

// isoDuration is the part of ISO 8601 durations (Edm.Duration) a lifetime
// needs: days, hours, minutes and seconds, e.g. "P30D", "PT12H", "P1DT30M".
var isoDuration = regexp.MustCompile(`^P(?:(\d{1,3})D)?(?:T(?:(\d{1,4})H)?(?:(\d{1,6})M)?(?:(\d{1,8})S)?)?$`)

// ParseDuration reads an ISO 8601 duration of days, hours, minutes and
// seconds. Years, months and fractions are refused: their length varies or
// they are finer than any lifetime needs.
func ParseDuration(s string) (time.Duration, error) {
	m := isoDuration.FindStringSubmatch(s)
	if m == nil || s == "P" || s[len(s)-1] == 'T' {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration of days, hours, minutes and seconds, such as P30D or PT12H", s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{day, time.Hour, time.Minute, time.Second} {
		if m[i+1] == "" {
			continue
		}
		n, _ := strconv.Atoi(m[i+1]) // the pattern admits digits only, at most 8
		d += time.Duration(n) * unit
	}
	return d, nil
}

// FormatDuration writes d as the ISO 8601 duration ParseDuration reads,
// in whole seconds.
func FormatDuration(d time.Duration) string {
	secs := int64(d / time.Second)
	days, secs := secs/86400, secs%86400
	h, secs := secs/3600, secs%3600
	m, secs := secs/60, secs%60
	out := "P"
	if days > 0 {
		out += strconv.FormatInt(days, 10) + "D"
	}
	if h+m+secs == 0 {
		if days == 0 {
			return "PT0S"
		}
		return out
	}
	out += "T"
	for _, part := range []struct {
		n    int64
		unit string
	}{{h, "H"}, {m, "M"}, {secs, "S"}} {
		if part.n > 0 {
			out += strconv.FormatInt(part.n, 10) + part.unit
		}
	}
	return out
}
