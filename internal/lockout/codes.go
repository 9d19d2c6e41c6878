package lockout

import (
	"fmt"
	"net/netip"
	"time"
)

// CodePolicy limits wrong one-time codes typed by people, such as device
// sign-in's user codes. Wrong codes are counted per client and per tenant.
// The tenant's count never refuses anyone on its own: past TenantAlarm it
// only shrinks every client's allowance from PerClient to UnderAttack, so a
// guesser spread over many addresses gets few guesses from each, while a
// person typing a code from an address that has not been guessing from is
// never turned away (a tenant-wide block would let anyone stop device
// sign-in for a whole tenant).
type CodePolicy struct {
	PerClient   int           // wrong codes a client may type within Window
	UnderAttack int           // the same while the tenant is under attack
	TenantAlarm int           // wrong codes in the tenant within Window that mean an attack
	Window      time.Duration // measured from a tally's first wrong code
}

// DefaultCodePolicy: ten wrong codes per client in fifteen minutes, three
// once the tenant has seen two hundred.
func DefaultCodePolicy() CodePolicy {
	return CodePolicy{PerClient: 10, UnderAttack: 3, TenantAlarm: 200, Window: 15 * time.Minute}
}

// Reserve decides whether a client may have a code checked now and, if it
// may, counts the code as wrong in both tallies in advance (Release takes
// it back when the code was right), so codes sent at once cannot all be
// checked against the same fresh tallies.
func (p CodePolicy) Reserve(client, tenant Tally, now time.Time) (Tally, Tally, Decision) {
	client, tenant = client.current(p.Window, now), tenant.current(p.Window, now)
	limit, why := p.PerClient, "per client"
	if tenant.Count >= p.TenantAlarm {
		limit, why = p.UnderAttack, fmt.Sprintf("per client while the tenant is under attack (%d wrong codes)", tenant.Count)
	}
	if client.Count >= limit {
		return client, tenant, Decision{RetryAt: client.expiry(p.Window), Reason: fmt.Sprintf("%d wrong codes, the limit %s is %d", client.Count, why, limit)}
	}
	d := Decision{Allowed: true, Reason: fmt.Sprintf("%d of %d wrong codes %s", client.Count, limit, why)}
	return client.add(1, p.Window, now), tenant.add(1, p.Window, now), d
}

// Release takes back a reserved wrong code that was right.
func (p CodePolicy) Release(client, tenant Tally, now time.Time) (Tally, Tally) {
	return client.add(-1, p.Window, now), tenant.add(-1, p.Window, now)
}

// Expiry is when a tally may be forgotten.
func (p CodePolicy) Expiry(t Tally) time.Time { return t.expiry(p.Window) }

// ClientKey is what per-client limits count by: the address, or for IPv6
// its /64, since one client usually holds a whole /64.
func ClientKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String()
	}
	prefix, err := addr.WithZone("").Prefix(64)
	if err != nil {
		return addr.String()
	}
	return prefix.String()
}
