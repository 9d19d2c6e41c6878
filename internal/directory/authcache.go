package directory

import (
	"crypto/subtle"
	"sync"
	"time"
)

// authCache remembers recent successful client authentications, so a daemon
// asking for tokens does not cost a handful of queries per token. An entry is
// trusted only while its tenant's change-feed head is where it was when the
// entry was made: every write that can change the outcome (a secret added or
// removed, the service principal disabled or deleted, a permission granted or
// revoked) changes a directory object and so moves the head, on any node.
// The head itself is read at most once per headFreshness per tenant: that
// read was a quarter of a token request, and it is what bounds how late a
// node notices such a write. It also holds only for the same secret, and
// not past that secret's expiry. Failures are never cached.
type authCache struct {
	mu      sync.Mutex
	entries map[string]authEntry
	heads   map[string]headRead
}

type authEntry struct {
	head       int64
	secret     [32]byte // SHA-256 of the secret that succeeded, never the secret
	validUntil time.Time
	app        AuthenticatedApp
}

// headRead is a tenant's change-feed head and when it was read.
type headRead struct {
	head int64
	at   time.Time
}

// headFreshness is how long a node trusts the tenant's head it read last:
// the longest a removed secret, a disabled or deleted service principal or
// a revoked permission keeps working on a node that authenticated the
// client just before (docs/security.md).
const headFreshness = time.Second

// maxAuthEntries bounds the cache; when full it starts over, which costs
// only a re-authentication per client.
const maxAuthEntries = 10_000

// freshHead returns the tenant's head if it was read less than
// headFreshness before now.
func (c *authCache) freshHead(tenantID string, now time.Time) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.heads[tenantID]
	if !ok || now.Before(h.at) || now.Sub(h.at) >= headFreshness {
		return 0, false
	}
	return h.head, true
}

// forgetHeads makes the next authentication in every tenant read its head.
func (c *authCache) forgetHeads() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.heads)
}

// sawHead records the tenant's head, read at (or after) at.
func (c *authCache) sawHead(tenantID string, head int64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.heads == nil || len(c.heads) >= maxAuthEntries {
		c.heads = make(map[string]headRead)
	}
	c.heads[tenantID] = headRead{head: head, at: at}
}

func (c *authCache) lookup(tenantID, clientID string, secret [32]byte, head int64, now time.Time) (AuthenticatedApp, bool) {
	c.mu.Lock()
	e, ok := c.entries[tenantID+"\x00"+clientID]
	c.mu.Unlock()
	if !ok || e.head != head || (!e.validUntil.IsZero() && !now.Before(e.validUntil)) {
		return AuthenticatedApp{}, false
	}
	if subtle.ConstantTimeCompare(e.secret[:], secret[:]) != 1 {
		return AuthenticatedApp{}, false
	}
	return e.app, true
}

func (c *authCache) store(tenantID, clientID string, secret [32]byte, head int64, validUntil time.Time, app AuthenticatedApp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxAuthEntries {
		c.entries = make(map[string]authEntry)
	}
	c.entries[tenantID+"\x00"+clientID] = authEntry{head: head, secret: secret, validUntil: validUntil, app: app}
}
