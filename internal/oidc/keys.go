package oidc

import (
	"cmp"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
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
//	ActiveAt   may sign from this instant (rotation inserts a key with a
//	           later ActiveAt so relying parties fetch it before it signs)
//	RetireAt   stops signing (zero: never); stays published for one access
//	           token lifetime more, so tokens it signed verify until they expire
//
// Among the keys of the signing algorithm that are active, the newest signs:
// latest ActiveAt, then latest CreatedAt, then greatest KID. That is a total
// order over rows, so every node reading the same rows picks the same key;
// nodes that raced to create a tenant's first key converge on one of them.
//
// A key's KID is its RFC 7638 thumbprint. The private key is stored as PKCS#8
// (any key type, so ES256 keys fit the same rows), sealed by the master
// keyring with the tenant and KID as associated data.

const (
	signingAlg = jose.RS256
	rsaBits    = 2048

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
)

// errNoSigningKey: the tenant has no key that may sign now.
var errNoSigningKey = errors.New("oidc: no active signing key")

type keyManager struct {
	st    store.Store
	ring  *secrets.Keyring
	now   func() time.Time
	ttl   time.Duration // how long a cached key set is trusted
	grace time.Duration // how long a retired key stays published

	mu      sync.Mutex
	tenants map[string]*tenantKeys
}

// tenantKeys is one tenant's cache entry. Readers load the current set
// without locking; reloads of one tenant are serialised so a burst of
// requests causes one store read (and at most one key generation).
type tenantKeys struct {
	reload sync.Mutex
	set    atomic.Pointer[keySet]
}

// keySet is an immutable snapshot of a tenant's keys.
type keySet struct {
	loadedAt  time.Time
	staleAt   time.Time                  // when to read the store again
	jwks      jose.JSONWebKeySet         // published public keys, newest first
	byKID     map[string]jose.JSONWebKey // the same, by kid
	signer    *signer                    // nil when signerErr says why
	signerErr error
}

// signer signs with one decrypted private key.
type signer struct {
	kid  string
	jose jose.Signer
}

func newKeyManager(st store.Store, ring *secrets.Keyring, now func() time.Time, ttl, grace time.Duration) *keyManager {
	return &keyManager{st: st, ring: ring, now: now, ttl: ttl, grace: grace, tenants: map[string]*tenantKeys{}}
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

// forIssuing returns a key set with a usable signer or its error, creating
// the tenant's first key when it has none. The tenant must exist.
func (m *keyManager) forIssuing(ctx context.Context, tenantID string) (*keySet, error) {
	if ks := m.cached(tenantID); fresh(ks, m.now()) && !errors.Is(ks.signerErr, errNoSigningKey) {
		return ks, nil
	}
	return m.refresh(ctx, tenantID, true)
}

// signer returns the key that signs the tenant's tokens now.
func (m *keyManager) signer(ctx context.Context, tenantID string) (*signer, error) {
	ks, err := m.forIssuing(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if ks.signer == nil {
		return nil, ks.signerErr
	}
	return ks.signer, nil
}

// published returns the tenant's JWKS. Serving it does not need the private
// key, so a key that cannot be decrypted here is still published.
func (m *keyManager) published(ctx context.Context, tenantID string) (jose.JSONWebKeySet, error) {
	ks, err := m.forIssuing(ctx, tenantID)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	return ks.jwks, nil
}

// verificationKey returns the tenant's published key kid. tenantID comes
// from an unverified token, so a tenant that has no keys gets no cache
// entry: tokens naming made-up tenants cost a store read, not memory.
func (m *keyManager) verificationKey(ctx context.Context, tenantID, kid string) (jose.JSONWebKey, error) {
	now := m.now()
	ks := m.cached(tenantID)
	if ks != nil {
		k, ok := ks.byKID[kid]
		if ok && fresh(ks, now) {
			return k, nil
		}
		if !ok && now.Sub(ks.loadedAt) < missReloadAfter {
			return jose.JSONWebKey{}, fmt.Errorf("%w: unknown key %q for tenant %s", ErrInvalidToken, kid, tenantID)
		}
	}
	var err error
	if ks == nil {
		ks, err = m.read(ctx, tenantID, nil)
		if err == nil && len(ks.byKID) > 0 {
			m.entry(tenantID).set.CompareAndSwap(nil, ks)
		}
	} else {
		ks, err = m.refresh(ctx, tenantID, false)
	}
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	k, ok := ks.byKID[kid]
	if !ok {
		return jose.JSONWebKey{}, fmt.Errorf("%w: unknown key %q for tenant %s", ErrInvalidToken, kid, tenantID)
	}
	return k, nil
}

// refresh replaces the tenant's cached key set with the store's, creating a
// signing key when create is set and none may sign. A caller that waited
// while another refreshed uses that result.
func (m *keyManager) refresh(ctx context.Context, tenantID string, create bool) (*keySet, error) {
	asked := m.now()
	tk := m.entry(tenantID)
	tk.reload.Lock()
	defer tk.reload.Unlock()
	prev := tk.set.Load()
	if prev != nil && !prev.loadedAt.Before(asked) && (!create || !errors.Is(prev.signerErr, errNoSigningKey)) {
		return prev, nil
	}
	ks, err := m.read(ctx, tenantID, prev)
	if err != nil {
		return nil, err
	}
	if create && errors.Is(ks.signerErr, errNoSigningKey) {
		if err := m.create(ctx, tenantID); err != nil {
			return nil, err
		}
		// Re-read rather than use the key just made: another node may have
		// inserted one too, and the total order decides which signs.
		if ks, err = m.read(ctx, tenantID, prev); err != nil {
			return nil, err
		}
		if errors.Is(ks.signerErr, errNoSigningKey) {
			return nil, fmt.Errorf("oidc: tenant %s has no active signing key after creating one", tenantID)
		}
		ks.staleAt = ks.loadedAt.Add(settleAfterCreate)
	}
	tk.set.Store(ks)
	return ks, nil
}

// read loads the tenant's keys from the store into a new key set. The
// signer is decrypted only if it is not prev's.
func (m *keyManager) read(ctx context.Context, tenantID string, prev *keySet) (*keySet, error) {
	var rows []store.SigningKey
	err := m.st.View(ctx, func(tx store.Tx) error {
		var err error
		rows, err = tx.ListSigningKeys(ctx, tenantID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: reading signing keys of tenant %s: %w", errUnavailable, tenantID, err)
	}
	now := m.now()
	slices.SortFunc(rows, newestFirst)
	ks := &keySet{loadedAt: now, staleAt: now.Add(m.ttl), byKID: make(map[string]jose.JSONWebKey, len(rows))}
	for _, row := range rows {
		if !m.isPublished(row, now) {
			continue
		}
		jwk, err := publicJWK(row)
		if err != nil {
			return nil, err
		}
		ks.jwks.Keys = append(ks.jwks.Keys, jwk)
		ks.byKID[row.KID] = jwk
	}
	row, ok := pickSigner(rows, now)
	switch {
	case !ok:
		ks.signerErr = errNoSigningKey
	case prev != nil && prev.signer != nil && prev.signer.kid == row.KID:
		ks.signer = prev.signer
	default:
		ks.signer, ks.signerErr = m.open(row)
	}
	return ks, nil
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

func isActive(k store.SigningKey, now time.Time) bool {
	return !k.ActiveAt.After(now.Add(nodeClockSkew)) && (k.RetireAt.IsZero() || now.Before(k.RetireAt))
}

func (m *keyManager) isPublished(k store.SigningKey, now time.Time) bool {
	return k.RetireAt.IsZero() || now.Before(k.RetireAt.Add(m.grace))
}

// pickSigner returns the key that signs at now: the first active key of the
// signing algorithm in newestFirst order.
func pickSigner(rows []store.SigningKey, now time.Time) (store.SigningKey, bool) {
	var best store.SigningKey
	found := false
	for _, k := range rows {
		if k.Alg != string(signingAlg) || !isActive(k, now) {
			continue
		}
		if !found || newestFirst(k, best) < 0 {
			best, found = k, true
		}
	}
	return best, found
}

// create generates a key and inserts it unless, by the time the write
// transaction looks, the tenant already has a key that may sign. The key is
// generated outside the transaction so a slow generation never holds a write
// lock; a key that loses the race is simply dropped.
func (m *keyManager) create(ctx context.Context, tenantID string) error {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return fmt.Errorf("oidc: generating signing key: %w", err)
	}
	now := m.now()
	row, err := m.seal(tenantID, priv, now)
	if err != nil {
		return err
	}
	err = m.st.Update(ctx, func(tx store.Tx) error {
		rows, err := tx.ListSigningKeys(ctx, tenantID)
		if err != nil {
			return err
		}
		if _, ok := pickSigner(rows, now); ok {
			return nil
		}
		return tx.AddSigningKey(ctx, row)
	})
	if err != nil {
		return fmt.Errorf("%w: storing signing key of tenant %s: %w", errUnavailable, tenantID, err)
	}
	return nil
}

// keyAAD binds a sealed private key to its row.
func keyAAD(tenantID, kid string) []byte {
	return []byte("gatehouse signing key\x00" + tenantID + "\x00" + kid)
}

// seal turns a new private key into a row that signs from now on.
func (m *keyManager) seal(tenantID string, priv crypto.Signer, now time.Time) (store.SigningKey, error) {
	pub := jose.JSONWebKey{Key: priv.Public(), Algorithm: string(signingAlg), Use: "sig"}
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
		Alg:           string(signingAlg),
		PublicJWK:     pubJSON,
		PrivateSealed: sealed,
		CreatedAt:     now,
		ActiveAt:      now,
	}, nil
}

// open decrypts a row's private key and checks it is the private half of the
// published key, so a row cannot publish one key and sign with another.
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
	priv, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("oidc: signing key %s of tenant %s is %T, not RSA", row.KID, row.TenantID, key)
	}
	pub, err := publicJWK(row)
	if err != nil {
		return nil, err
	}
	if !priv.PublicKey.Equal(pub.Key) {
		return nil, fmt.Errorf("oidc: signing key %s of tenant %s does not match its published key", row.KID, row.TenantID)
	}
	js, err := jose.NewSigner(
		jose.SigningKey{Algorithm: signingAlg, Key: jose.JSONWebKey{Key: priv, KeyID: row.KID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("oidc: signer for key %s: %w", row.KID, err)
	}
	return &signer{kid: row.KID, jose: js}, nil
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
func (s *signer) sign(payload []byte) (string, error) {
	jws, err := s.jose.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}
