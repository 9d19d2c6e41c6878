package oidc

import (
	"cmp"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Signing keys.
//
// A tenant's keys are store.SigningKey rows whose times carry the lifecycle:
//
//	CreatedAt  inserted, and published in the JWKS from then on
//	ActiveAt   may sign from this instant. A tenant's first key of an
//	           algorithm signs at once; a successor is inserted PrePublish
//	           before its ActiveAt, so relying parties and every node have
//	           fetched it before the first token it signs
//	RetireAt   signs no longer (zero: no limit, as on keys made before
//	           rotation existed): ActiveAt + Interval + PrePublish, a bound
//	           for tenants so idle that no rotation ran in time
//
// A key stops signing at its end: its RetireAt, or the ActiveAt of a newer
// key of its algorithm, whichever comes first. Rows are never updated (the
// store cannot), so handing over needs nothing but the successor's row. A
// key stays published until every token it can have signed has expired (its
// end plus the longest token lifetime and the clock allowances), and is
// deleted after that.
//
// Among the active keys of an algorithm, the newest signs: latest ActiveAt,
// then latest CreatedAt, then greatest KID. That is a total order over rows,
// so every node reading the same rows picks the same key. Nodes that race to
// create a key both insert one; a successor's ActiveAt is rounded up to the
// minute, so racing successors tie on it and the order lets exactly one of
// them ever sign, while both are published.
//
// Rotation runs lazily: whenever a node issues a token or serves the JWKS
// for a tenant whose cached keys are stale, it creates the successors that
// are due and deletes keys past their publication. Provider.RotateKeys does
// the same on demand. A node's cache goes stale at the next instant a row
// changes role (activation, end, unpublication, rotation due), so nodes
// switch keys together.
//
// A key's KID is its RFC 7638 thumbprint. The private key is stored as PKCS#8
// (RSA and P-256 keys alike), sealed by the master keyring with the tenant
// and KID as associated data.

const (
	rsaBits = 2048

	// nodeClockSkew is how far apart nodes' clocks may be while still
	// agreeing which keys are active: a key whose ActiveAt another node set a
	// moment ago by its own clock is already active here.
	nodeClockSkew = time.Minute

	// missReloadAfter limits how often a verifier that meets an unknown kid
	// re-reads the tenant's keys, so made-up kids cannot turn every request
	// into a store read.
	missReloadAfter = 2 * time.Second

	// settleAfterCreate is how soon a node that created a key reads the
	// keys again. Another node may have created one at the same time and
	// committed after our re-read; the total order may prefer that key, and
	// this node should learn so in seconds rather than after KeyCacheTTL.
	settleAfterCreate = 2 * time.Second

	// jwksMaxAge is how long relying parties may cache the JWKS.
	jwksMaxAge = 5 * time.Minute

	// activationStep rounds successors' ActiveAt up, so that nodes racing to
	// rotate agree on it.
	activationStep = time.Minute

	defaultRotationInterval = 30 * 24 * time.Hour
	defaultPrePublish       = 24 * time.Hour
)

// KeyRotation sets how often a tenant's signing keys are replaced.
type KeyRotation struct {
	// Interval is how long a key signs before its successor takes over.
	// Defaults to 30 days.
	Interval time.Duration
	// PrePublish is how long a successor is published before it signs, so
	// that relying parties caching the JWKS know it in time. Defaults to one
	// day; it must exceed KeyCacheTTL plus the JWKS's cache lifetime (five
	// minutes) and be shorter than Interval.
	PrePublish time.Duration
}

// errNoSigningKey: the tenant has no key of the algorithm that may sign now.
var errNoSigningKey = errors.New("oidc: no active signing key")

// keyPolicy is the timing a keyManager works by.
type keyPolicy struct {
	ttl        time.Duration // how long a cached key set is trusted
	grace      time.Duration // how long a key stays published after its end
	interval   time.Duration // how long a key signs
	prePublish time.Duration // how long a successor is published before it signs
}

type keyManager struct {
	st   store.Store
	ring *secrets.Keyring
	now  func() time.Time
	pol  keyPolicy

	mu      sync.Mutex
	tenants map[string]*tenantKeys
}

// tenantKeys is one tenant's cache entry. Readers load the current set
// without locking; reloads of one tenant are serialised so a burst of
// requests causes one store read (and at most one key generation).
type tenantKeys struct {
	reload   sync.Mutex
	set      atomic.Pointer[keySet]
	renewing atomic.Bool // a background renewal is under way
}

// keySet is an immutable snapshot of a tenant's keys.
type keySet struct {
	loadedAt time.Time
	staleAt  time.Time // when to read the store again
	// renewAt, before staleAt, is when a request that finds the set starts
	// reading it again in the background, so a busy tenant never waits for
	// its keys. It falls at a point of the set's life that differs by
	// tenant, so tenants loaded together are not reloaded together.
	renewAt time.Time
	jwks    jose.JSONWebKeySet         // published public keys, newest first
	byKID   map[string]jose.JSONWebKey // the same, by kid
	// signers holds, per algorithm, the key that signs now; openErrs why an
	// algorithm's signing key could not be opened on this node.
	signers  map[jose.SignatureAlgorithm]*signer
	openErrs map[jose.SignatureAlgorithm]error
	// maintained: this snapshot was read by a caller that also created due
	// keys and deleted expired ones.
	maintained bool
}

// staleFrom sets when the set goes stale, and when it is renewed before.
func (ks *keySet) staleFrom(at time.Time, tenantID string) {
	ks.staleAt = at
	ks.renewAt = ks.loadedAt.Add(time.Duration(float64(at.Sub(ks.loadedAt)) * renewPoint(tenantID)))
}

// signer returns the set's signer for alg, or why there is none.
func (ks *keySet) signer(alg jose.SignatureAlgorithm) (*signer, error) {
	if s := ks.signers[alg]; s != nil {
		return s, nil
	}
	if err := ks.openErrs[alg]; err != nil {
		return nil, err
	}
	return nil, errNoSigningKey
}

// settled: the set answers for alg without creating a key, with a signer or
// with the error that opening it gave (which another key would not cure).
func (ks *keySet) settled(alg jose.SignatureAlgorithm) bool {
	_, err := ks.signer(alg)
	return !errors.Is(err, errNoSigningKey)
}

func newKeyManager(st store.Store, ring *secrets.Keyring, now func() time.Time, pol keyPolicy) *keyManager {
	return &keyManager{st: st, ring: ring, now: now, pol: pol, tenants: map[string]*tenantKeys{}}
}

func (m *keyManager) entry(tenantID string) *tenantKeys {
	m.mu.Lock()
	defer m.mu.Unlock()
	tk, ok := m.tenants[tenantID]
	if !ok {
		tk = &tenantKeys{}
		m.tenants[tenantID] = tk
	}
	return tk
}

// cached returns the tenant's last key set of any age, or nil, without
// creating a cache entry.
func (m *keyManager) cached(tenantID string) *keySet {
	m.mu.Lock()
	tk := m.tenants[tenantID]
	m.mu.Unlock()
	if tk == nil {
		return nil
	}
	return tk.set.Load()
}

func fresh(ks *keySet, now time.Time) bool {
	return ks != nil && now.Before(ks.staleAt)
}

// forIssuing returns a key set that has a signer for alg or the error
// opening it gave, creating the tenant's first key of alg when it has none
// and rotating keys that are due. The tenant must exist.
func (m *keyManager) forIssuing(ctx context.Context, tenantID string, alg jose.SignatureAlgorithm) (*keySet, error) {
	if ks := m.cached(tenantID); fresh(ks, m.now()) && ks.maintained && ks.settled(alg) {
		m.renewIfDue(ctx, tenantID, ks, true)
		return ks, nil
	}
	return m.refresh(ctx, tenantID, alg, true)
}

// renewIfDue starts reading the tenant's keys again in the background once
// ks is past its renewAt, unless a reload of the tenant is under way.
func (m *keyManager) renewIfDue(ctx context.Context, tenantID string, ks *keySet, maintain bool) {
	if m.now().Before(ks.renewAt) {
		return
	}
	tk := m.entry(tenantID)
	if !tk.renewing.CompareAndSwap(false, true) {
		return
	}
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer tk.renewing.Store(false)
		// A failure leaves the set as it is: the next request after
		// staleAt reads the store itself and reports what it finds.
		_, _ = m.refresh(ctx, tenantID, "", maintain)
	}()
}

// renewPoint is the fraction of a key set's life after which it is renewed
// in the background: between one half and nine tenths, fixed per tenant.
func renewPoint(tenantID string) float64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(tenantID))
	return 0.5 + 0.4*float64(h.Sum32()%1024)/1024
}

// signer returns the key that signs the tenant's tokens of alg now.
func (m *keyManager) signer(ctx context.Context, tenantID string, alg jose.SignatureAlgorithm) (*signer, error) {
	ks, err := m.forIssuing(ctx, tenantID, alg)
	if err != nil {
		return nil, err
	}
	return ks.signer(alg)
}

// published returns the tenant's JWKS, making sure a key of alg (the
// tenant's default) is in it. Serving it does not need the private key, so a
// key that cannot be decrypted here is still published.
func (m *keyManager) published(ctx context.Context, tenantID string, alg jose.SignatureAlgorithm) (jose.JSONWebKeySet, error) {
	ks, err := m.forIssuing(ctx, tenantID, alg)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	return ks.jwks, nil
}

// rotate creates the tenant's due successors and deletes its expired keys
// now, whatever the cache says. A tenant without keys gets none.
func (m *keyManager) rotate(ctx context.Context, tenantID string) error {
	_, err := m.refresh(ctx, tenantID, "", true)
	return err
}

// verificationKey returns the tenant's published key kid. tenantID comes
// from an unverified token, so a tenant that has no keys gets no cache
// entry: tokens naming made-up tenants cost a store read, not memory.
// errUnknownKey: a token names a key the tenant does not publish (any more).
var errUnknownKey = errors.New("unknown key")

func (m *keyManager) verificationKey(ctx context.Context, tenantID, kid string) (jose.JSONWebKey, error) {
	now := m.now()
	ks := m.cached(tenantID)
	if ks != nil {
		k, ok := ks.byKID[kid]
		if ok && fresh(ks, now) {
			m.renewIfDue(ctx, tenantID, ks, ks.maintained)
			return k, nil
		}
		if !ok && now.Sub(ks.loadedAt) < missReloadAfter {
			return jose.JSONWebKey{}, fmt.Errorf("%w: %w %q for tenant %s", ErrInvalidToken, errUnknownKey, kid, tenantID)
		}
	}
	var err error
	if ks == nil {
		ks, _, err = m.read(ctx, tenantID, nil)
		if err == nil && len(ks.byKID) > 0 {
			m.entry(tenantID).set.CompareAndSwap(nil, ks)
		}
	} else {
		ks, err = m.refresh(ctx, tenantID, "", false)
	}
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	k, ok := ks.byKID[kid]
	if !ok {
		return jose.JSONWebKey{}, fmt.Errorf("%w: %w %q for tenant %s", ErrInvalidToken, errUnknownKey, kid, tenantID)
	}
	return k, nil
}

// refresh replaces the tenant's cached key set with the store's. With
// maintain it also carries out the key plan: the first key of want (when
// set and missing), due successors, deletion of expired keys. A caller that
// waited while another refreshed uses that result when it suffices.
func (m *keyManager) refresh(ctx context.Context, tenantID string, want jose.SignatureAlgorithm, maintain bool) (*keySet, error) {
	asked := m.now()
	tk := m.entry(tenantID)
	tk.reload.Lock()
	defer tk.reload.Unlock()
	prev := tk.set.Load()
	if prev != nil && !prev.loadedAt.Before(asked) && (!maintain || prev.maintained && (want == "" || prev.settled(want))) {
		return prev, nil
	}
	ks, rows, err := m.read(ctx, tenantID, prev)
	if err != nil {
		return nil, err
	}
	if maintain {
		plan := m.plan(rows, ks.loadedAt, want)
		// A node that cannot open an algorithm's key (a wrong master key)
		// must not rotate it: its successor would be sealed with that key
		// and unusable by every other node.
		plan.create = slices.DeleteFunc(plan.create, func(c newKey) bool { return ks.openErrs[c.alg] != nil })
		if !plan.empty() {
			if err := m.apply(ctx, tenantID, plan, want); err != nil {
				return nil, err
			}
			// Re-read rather than use the keys just made: another node may
			// have inserted some too, and the total order decides which signs.
			if ks, _, err = m.read(ctx, tenantID, prev); err != nil {
				return nil, err
			}
			if len(plan.create) > 0 {
				ks.staleFrom(minTime(ks.staleAt, ks.loadedAt.Add(settleAfterCreate)), tenantID)
			}
		}
		if want != "" && !ks.settled(want) {
			return nil, fmt.Errorf("oidc: tenant %s has no active %s signing key after creating one", tenantID, want)
		}
		ks.maintained = true
	}
	tk.set.Store(ks)
	return ks, nil
}

// read loads the tenant's keys from the store into a new key set, returning
// the rows too. Signers are decrypted only if they are not prev's.
func (m *keyManager) read(ctx context.Context, tenantID string, prev *keySet) (*keySet, []store.SigningKey, error) {
	rows, err := m.rows(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	now := m.now()
	slices.SortFunc(rows, newestFirst)
	ks := &keySet{
		loadedAt: now,
		byKID:    make(map[string]jose.JSONWebKey, len(rows)),
		signers:  map[jose.SignatureAlgorithm]*signer{}, openErrs: map[jose.SignatureAlgorithm]error{},
	}
	ks.staleFrom(minTime(now.Add(m.pol.ttl), m.nextChange(rows, now)), tenantID)
	for _, row := range rows {
		if !m.isPublished(row, rows, now) {
			continue
		}
		jwk, err := publicJWK(row)
		if err != nil {
			return nil, nil, err
		}
		ks.jwks.Keys = append(ks.jwks.Keys, jwk)
		ks.byKID[row.KID] = jwk
	}
	for _, alg := range algorithms(rows) {
		row, ok := pickSigner(rows, alg, now)
		if !ok {
			continue
		}
		if s := prev.reusable(alg, row.KID); s != nil {
			ks.signers[alg] = s
			continue
		}
		if s, err := m.open(row); err != nil {
			ks.openErrs[alg] = err
		} else {
			ks.signers[alg] = s
		}
	}
	return ks, rows, nil
}

// reusable returns prev's signer for alg if it is key kid, so a reload does
// not decrypt a key it already holds.
func (ks *keySet) reusable(alg jose.SignatureAlgorithm, kid string) *signer {
	if ks == nil {
		return nil
	}
	if s := ks.signers[alg]; s != nil && s.kid == kid {
		return s
	}
	return nil
}

// newestFirst is the total order that decides which key signs.
func newestFirst(a, b store.SigningKey) int {
	if c := b.ActiveAt.Compare(a.ActiveAt); c != 0 {
		return c
	}
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(b.KID, a.KID)
}

// algorithms are the distinct algorithms of rows, in a fixed order.
func algorithms(rows []store.SigningKey) []jose.SignatureAlgorithm {
	var out []jose.SignatureAlgorithm
	for _, r := range rows {
		if a := jose.SignatureAlgorithm(r.Alg); !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

func isActive(k store.SigningKey, now time.Time) bool {
	return !k.ActiveAt.After(now.Add(nodeClockSkew)) && (k.RetireAt.IsZero() || now.Before(k.RetireAt))
}

// pickSigner returns the key of alg that signs at now: the first active key
// of that algorithm in newestFirst order.
func pickSigner(rows []store.SigningKey, alg jose.SignatureAlgorithm, now time.Time) (store.SigningKey, bool) {
	var best store.SigningKey
	found := false
	for _, k := range rows {
		if k.Alg != string(alg) || !isActive(k, now) {
			continue
		}
		if !found || newestFirst(k, best) < 0 {
			best, found = k, true
		}
	}
	return best, found
}

// successors are the keys of k's algorithm that rank above k: once active,
// each of them signs instead of k. A key retired before it would activate
// never does and is not one.
func successors(rows []store.SigningKey, k store.SigningKey) []store.SigningKey {
	var out []store.SigningKey
	for _, j := range rows {
		if j.Alg == k.Alg && j.KID != k.KID && newestFirst(j, k) < 0 && (j.RetireAt.IsZero() || j.RetireAt.After(j.ActiveAt)) {
			out = append(out, j)
		}
	}
	return out
}

// signingEnd is when k stops signing: its RetireAt or its first successor's
// ActiveAt, whichever is earlier; zero when neither is set.
func signingEnd(rows []store.SigningKey, k store.SigningKey) time.Time {
	end := k.RetireAt
	for _, j := range successors(rows, k) {
		if end.IsZero() || j.ActiveAt.Before(end) {
			end = j.ActiveAt
		}
	}
	return end
}

// isPublished: tokens k signed may still be valid somewhere.
func (m *keyManager) isPublished(k store.SigningKey, rows []store.SigningKey, now time.Time) bool {
	end := signingEnd(rows, k)
	return end.IsZero() || now.Before(end.Add(m.pol.grace))
}

// rotationDue is when the signing key k needs a successor: PrePublish before
// it has signed for Interval, and early enough that the successor is
// published PrePublish before k's RetireAt.
func (m *keyManager) rotationDue(k store.SigningKey) time.Time {
	due := k.ActiveAt.Add(m.pol.interval - m.pol.prePublish)
	if !k.RetireAt.IsZero() {
		due = minTime(due, k.RetireAt.Add(-2*m.pol.prePublish))
	}
	return due
}

// newKey is a key to create.
type newKey struct {
	alg      jose.SignatureAlgorithm
	activeAt time.Time
}

// keyPlan is what a tenant's keys need at an instant.
type keyPlan struct {
	create []newKey
	remove []string // kids past publication
}

func (p keyPlan) empty() bool { return len(p.create) == 0 && len(p.remove) == 0 }

// plan decides, from the rows alone, which keys to create and delete at
// now: a first key of want when none of it signs, a successor for each
// algorithm whose signing key is due for rotation and has none, and the
// deletion of every key no longer published. Nodes that read the same rows
// plan the same.
func (m *keyManager) plan(rows []store.SigningKey, now time.Time, want jose.SignatureAlgorithm) keyPlan {
	var p keyPlan
	algs := algorithms(rows)
	if want != "" && !slices.Contains(algs, want) {
		algs = append(algs, want)
	}
	for _, alg := range algs {
		cur, ok := pickSigner(rows, alg, now)
		switch {
		case !ok && alg == want:
			p.create = append(p.create, newKey{alg: alg, activeAt: now})
		case !ok, len(successors(rows, cur)) > 0, now.Before(m.rotationDue(cur)):
		default:
			activeAt := ceilTime(now.Add(m.pol.prePublish), activationStep)
			if !cur.RetireAt.IsZero() && cur.RetireAt.Before(activeAt) {
				activeAt = cur.RetireAt
			}
			p.create = append(p.create, newKey{alg: alg, activeAt: activeAt})
		}
	}
	for _, k := range rows {
		if !m.isPublished(k, rows, now) {
			p.remove = append(p.remove, k.KID)
		}
	}
	return p
}

// nextChange is the first instant after now at which the keys' roles
// change: a key activates (by this node's allowance for clock skew), stops
// signing, leaves the JWKS, or needs a successor. Caches expire then, so
// every node switches keys at the same moment.
func (m *keyManager) nextChange(rows []store.SigningKey, now time.Time) time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, k := range rows {
		consider(k.ActiveAt.Add(-nodeClockSkew))
		if end := signingEnd(rows, k); !end.IsZero() {
			consider(end)
			consider(end.Add(m.pol.grace))
		}
	}
	for _, alg := range algorithms(rows) {
		if cur, ok := pickSigner(rows, alg, now); ok && len(successors(rows, cur)) == 0 {
			consider(m.rotationDue(cur))
		}
	}
	if next.IsZero() {
		return now.Add(m.pol.ttl)
	}
	return next
}

// apply carries out plan. Keys are generated outside the transaction so a
// slow generation never holds a write lock; inside it the plan is made again
// over the rows as they are then, so a key another node has just created is
// not duplicated, and a generated key that is no longer needed is dropped.
func (m *keyManager) apply(ctx context.Context, tenantID string, plan keyPlan, want jose.SignatureAlgorithm) error {
	generated := map[jose.SignatureAlgorithm]crypto.Signer{}
	for _, c := range plan.create {
		priv, err := generateKey(c.alg)
		if err != nil {
			return err
		}
		generated[c.alg] = priv
	}
	now := m.now()
	err := m.st.Update(ctx, func(tx store.Tx) error {
		rows, err := tx.ListSigningKeys(ctx, tenantID)
		if err != nil {
			return err
		}
		again := m.plan(rows, now, want)
		for _, c := range again.create {
			priv, ok := generated[c.alg]
			if !ok {
				continue // became due meanwhile; the next maintenance makes it
			}
			row, err := m.seal(tenantID, priv, c.alg, now, c.activeAt)
			if err != nil {
				return err
			}
			if err := tx.AddSigningKey(ctx, row); err != nil {
				return err
			}
		}
		for _, kid := range again.remove {
			if err := tx.DeleteSigningKey(ctx, tenantID, kid); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: storing signing keys of tenant %s: %w", errUnavailable, tenantID, err)
	}
	return nil
}

// ErrSealedKey: a stored signing key does not open with this node's master
// keyring (another deployment's key, or a damaged row).
var ErrSealedKey = errors.New("oidc: a stored signing key does not open with this master key")

// rows reads the tenant's stored keys.
func (m *keyManager) rows(ctx context.Context, tenantID string) ([]store.SigningKey, error) {
	var rows []store.SigningKey
	err := m.st.View(ctx, func(tx store.Tx) error {
		var err error
		rows, err = tx.ListSigningKeys(ctx, tenantID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: reading signing keys of tenant %s: %w", errUnavailable, tenantID, err)
	}
	return rows, nil
}

// check unseals each of the tenant's stored keys.
func (m *keyManager) check(ctx context.Context, tenantID string) error {
	rows, err := m.rows(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, row := range rows {
		der, err := m.ring.Open(row.PrivateSealed, keyAAD(row.TenantID, row.KID))
		if err != nil {
			return fmt.Errorf("%w: key %s of tenant %s: %w", ErrSealedKey, row.KID, tenantID, err)
		}
		clear(der)
	}
	return nil
}

// generateKey makes a private key for alg.
func generateKey(alg jose.SignatureAlgorithm) (crypto.Signer, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case jose.RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("oidc: cannot make %s keys", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("oidc: generating %s signing key: %w", alg, err)
	}
	return priv, nil
}

// keyAAD binds a sealed private key to its row.
func keyAAD(tenantID, kid string) []byte {
	return []byte("gatehouse signing key\x00" + tenantID + "\x00" + kid)
}

// seal turns a new private key into a row that signs from activeAt for one
// rotation interval (and PrePublish more, should rotation not run in time).
func (m *keyManager) seal(tenantID string, priv crypto.Signer, alg jose.SignatureAlgorithm, now, activeAt time.Time) (store.SigningKey, error) {
	pub := jose.JSONWebKey{Key: priv.Public(), Algorithm: string(alg), Use: "sig"}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("oidc: key thumbprint: %w", err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	pubJSON, err := pub.MarshalJSON()
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("oidc: encoding public key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("oidc: encoding private key: %w", err)
	}
	sealed, err := m.ring.Seal(der, keyAAD(tenantID, pub.KeyID))
	clear(der)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("oidc: sealing private key: %w", err)
	}
	return store.SigningKey{
		TenantID:      tenantID,
		KID:           pub.KeyID,
		Alg:           string(alg),
		PublicJWK:     pubJSON,
		PrivateSealed: sealed,
		CreatedAt:     now,
		ActiveAt:      activeAt,
		RetireAt:      activeAt.Add(m.pol.interval + m.pol.prePublish),
	}, nil
}

// open decrypts a row's private key and checks it is the private half of the
// published key and of the row's algorithm, so a row cannot publish one key
// and sign with another.
func (m *keyManager) open(row store.SigningKey) (*signer, error) {
	der, err := m.ring.Open(row.PrivateSealed, keyAAD(row.TenantID, row.KID))
	if err != nil {
		return nil, fmt.Errorf("oidc: signing key %s of tenant %s: %w", row.KID, row.TenantID, err)
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		return nil, fmt.Errorf("oidc: signing key %s of tenant %s: %w", row.KID, row.TenantID, err)
	}
	s, err := newSigner(row.KID, jose.SignatureAlgorithm(row.Alg), key)
	if err != nil {
		return nil, fmt.Errorf("oidc: signing key %s of tenant %s: %w", row.KID, row.TenantID, err)
	}
	pub, err := publicJWK(row)
	if err != nil {
		return nil, err
	}
	if mine, ok := s.key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !mine.Equal(pub.Key) {
		return nil, fmt.Errorf("oidc: signing key %s of tenant %s does not match its published key", row.KID, row.TenantID)
	}
	return s, nil
}

// publicJWK parses a row's published key, refusing rows whose key is not
// public or disagrees with the row.
func publicJWK(row store.SigningKey) (jose.JSONWebKey, error) {
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(row.PublicJWK); err != nil {
		return k, fmt.Errorf("oidc: signing key %s of tenant %s: public JWK: %w", row.KID, row.TenantID, err)
	}
	if !k.IsPublic() || !k.Valid() || k.KeyID != row.KID || k.Algorithm != row.Alg {
		return k, fmt.Errorf("oidc: signing key %s of tenant %s: public JWK is not a public %s key with that kid", row.KID, row.TenantID, row.Alg)
	}
	return k, nil
}

// sign signs a JSON payload as a compact JWS with the key's kid and typ JWT.
func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// ceilTime rounds t up to a multiple of d since the Unix epoch.
func ceilTime(t time.Time, d time.Duration) time.Time {
	if r := t.Truncate(d); !r.Equal(t) {
		return r.Add(d)
	}
	return t
}
