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
// It also holds only for the same secret, and not past that secret's expiry.
// Failures are never cached.
type authCache struct {
	mu      sync.Mutex
	entries map[string]authEntry
}

type authEntry struct {
	head       int64
	secret     [32]byte // SHA-256 of the secret that succeeded, never the secret
	validUntil time.Time
	app        AuthenticatedApp
}

// maxAuthEntries bounds the cache; when full it starts over, which costs
// only a re-authentication per client.
const maxAuthEntries = 10_000

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
