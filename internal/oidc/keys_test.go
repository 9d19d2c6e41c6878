package oidc

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func TestPickSigner(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	key := func(kid string, created, active, retire time.Duration, alg string) store.SigningKey {
		k := store.SigningKey{KID: kid, Alg: alg, CreatedAt: now.Add(created), ActiveAt: now.Add(active)}
		if retire != 0 {
			k.RetireAt = now.Add(retire)
		}
		return k
	}
	tests := []struct {
		name string
		rows []store.SigningKey
		want string // "" = none
	}{
		{"none", nil, ""},
		{"one", []store.SigningKey{key("a", -time.Hour, -time.Hour, 0, "RS256")}, "a"},
		{"latest ActiveAt wins", []store.SigningKey{key("a", -2*time.Hour, -time.Hour, 0, "RS256"), key("b", -3*time.Hour, -time.Minute*30, 0, "RS256")}, "b"},
		{"then latest CreatedAt", []store.SigningKey{key("a", -2*time.Hour, -time.Hour, 0, "RS256"), key("b", -90*time.Minute, -time.Hour, 0, "RS256")}, "b"},
		{"then greatest KID", []store.SigningKey{key("b", -time.Hour, -time.Hour, 0, "RS256"), key("a", -time.Hour, -time.Hour, 0, "RS256")}, "b"},
		{"pre-published key does not sign yet", []store.SigningKey{key("old", -48*time.Hour, -48*time.Hour, 0, "RS256"), key("next", -time.Hour, 24*time.Hour, 0, "RS256")}, "old"},
		{"a node slightly ahead of us made it", []store.SigningKey{key("old", -48*time.Hour, -48*time.Hour, 0, "RS256"), key("new", 10*time.Second, 10*time.Second, 0, "RS256")}, "new"},
		{"retired key does not sign", []store.SigningKey{key("old", -48*time.Hour, -48*time.Hour, -time.Minute, "RS256")}, ""},
		{"retiring later still signs", []store.SigningKey{key("a", -48*time.Hour, -48*time.Hour, time.Hour, "RS256")}, "a"},
		{"other algorithm does not sign RS256", []store.SigningKey{key("ec", -time.Hour, -time.Minute, 0, "ES256"), key("rsa", -2*time.Hour, -time.Hour, 0, "RS256")}, "rsa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := pickSigner(tt.rows, jose.RS256, now)
			if (tt.want == "") == ok || (ok && got.KID != tt.want) {
				t.Fatalf("pickSigner = %q, %v; want %q", got.KID, ok, tt.want)
			}
		})
	}
}

func TestIsPublished(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	m := newKeyManager(nil, nil, nil, keyPolicy{ttl: time.Minute, grace: time.Hour})
	key := func(kid, alg string, active, retire time.Duration) store.SigningKey {
		k := store.SigningKey{KID: kid, Alg: alg, CreatedAt: now.Add(active), ActiveAt: now.Add(active)}
		if retire != 0 {
			k.RetireAt = now.Add(retire)
		}
		return k
	}
	tests := []struct {
		name string
		k    store.SigningKey
		rows []store.SigningKey // besides k
		want bool
	}{
		{"never retires", key("k", "RS256", -48*time.Hour, 0), nil, true},
		{"retires later", key("k", "RS256", -48*time.Hour, time.Hour), nil, true},
		{"retired, tokens may still be live", key("k", "RS256", -48*time.Hour, -59*time.Minute), nil, true},
		{"retired longer than a token lives", key("k", "RS256", -48*time.Hour, -61*time.Minute), nil, false},
		{"successor pending", key("k", "RS256", -48*time.Hour, 0), []store.SigningKey{key("s", "RS256", time.Hour, 0)}, true},
		{"successor took over recently", key("k", "RS256", -48*time.Hour, 0), []store.SigningKey{key("s", "RS256", -59*time.Minute, 0)}, true},
		{"successor took over long ago", key("k", "RS256", -48*time.Hour, 0), []store.SigningKey{key("s", "RS256", -61*time.Minute, 0)}, false},
		{"successor of another algorithm", key("k", "RS256", -48*time.Hour, 0), []store.SigningKey{key("s", "ES256", -61*time.Minute, 0)}, true},
		{"successor retired before activating", key("k", "RS256", -48*time.Hour, 0), []store.SigningKey{key("s", "RS256", -61*time.Minute, -62*time.Minute)}, true},
		{"older key does not end a newer one", key("k", "RS256", -48*time.Hour, 0), []store.SigningKey{key("o", "RS256", -72*time.Hour, 0)}, true},
		{"tie lost: never signed", key("a", "RS256", -61*time.Minute, 0), []store.SigningKey{key("b", "RS256", -61*time.Minute, 0)}, false},
	}
	for _, tt := range tests {
		rows := append([]store.SigningKey{tt.k}, tt.rows...)
		if got := m.isPublished(tt.k, rows, now); got != tt.want {
			t.Errorf("%s: isPublished = %v", tt.name, got)
		}
	}
}

// TestNodesRaceToCreateFirstKey makes two nodes both find no key and both
// insert one (as two PostgreSQL transactions can). Right after, a node may
// still sign with the key it made, but within settleAfterCreate both sign
// with the same key and both publish both keys.
func TestNodesRaceToCreateFirstKey(t *testing.T) {
	e := newEnv(t)
	nodes := []*Provider{e.nodeAt(t, testPublicURL), e.nodeAt(t, testPublicURL)}
	var listed sync.WaitGroup
	listed.Add(len(nodes))
	e.st.writeListHook = func() { listed.Done(); listed.Wait() }

	kids := make([]string, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			var s *signer
			if s, errs[i] = n.keys.signer(t.Context(), tenantA, jose.RS256); errs[i] == nil {
				kids[i] = s.kid
			}
		})
	}
	wg.Wait()
	e.st.writeListHook = nil
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
	rows := e.st.rows(tenantA)
	if len(rows) != 2 {
		t.Fatalf("%d keys stored; the race should have made both nodes insert", len(rows))
	}
	// Whatever each node signs with now is published by the other already
	// or after the settle re-read; tokens verify everywhere.
	e.clock.advance(settleAfterCreate)
	for i, n := range nodes {
		s, err := n.keys.signer(t.Context(), tenantA, jose.RS256)
		if err != nil {
			t.Fatal(err)
		}
		kids[i] = s.kid
	}
	if kids[0] != kids[1] {
		t.Fatalf("after settling, nodes sign with different keys %q and %q", kids[0], kids[1])
	}
	if want, _ := pickSigner(rows, jose.RS256, e.clock.now()); kids[0] != want.KID {
		t.Fatalf("nodes sign with %q, the total order picks %q", kids[0], want.KID)
	}
	for i, n := range nodes {
		set, err := n.keys.published(t.Context(), tenantA, jose.RS256)
		if err != nil || len(set.Keys) != 2 {
			t.Fatalf("node %d publishes %d keys (%v), want both", i, len(set.Keys), err)
		}
	}
	// A token from either node verifies on the other.
	for i, n := range nodes {
		raw, err := n.issueAppToken(t.Context(), tenantA, App{AppID: appA, ServicePrincipalID: spA})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nodes[1-i].VerifyAccessToken(t.Context(), raw); err != nil {
			t.Fatalf("token of node %d on node %d: %v", i, 1-i, err)
		}
	}
}

// TestConcurrentFirstUseOnOneNode: many requests for a new tenant on one node
// create exactly one key.
func TestConcurrentFirstUseOnOneNode(t *testing.T) {
	e := newEnv(t)
	p := e.nodeAt(t, testPublicURL)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := p.issueAppToken(t.Context(), tenantB, App{AppID: appB, ServicePrincipalID: spB}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(e.st.rows(tenantB)); n != 1 {
		t.Fatalf("%d keys created, want 1", n)
	}
}

func TestSigningKeySealedAtRest(t *testing.T) {
	e := newEnv(t)
	p := e.nodeAt(t, testPublicURL)
	if _, err := p.keys.signer(t.Context(), tenantA, jose.RS256); err != nil {
		t.Fatal(err)
	}
	if _, err := p.keys.signer(t.Context(), tenantB, jose.RS256); err != nil {
		t.Fatal(err)
	}
	rowA, rowB := e.st.rows(tenantA)[0], e.st.rows(tenantB)[0]
	priv, _ := tenantPrivateKey(t, e, tenantA)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	pkcs1 := x509.MarshalPKCS1PrivateKey(priv)
	if bytes.Contains(rowA.PrivateSealed, der) || bytes.Contains(rowA.PrivateSealed, pkcs1) ||
		bytes.Contains(rowA.PrivateSealed, priv.D.Bytes()) || bytes.Contains(rowA.PrivateSealed, priv.Primes[0].Bytes()) {
		t.Fatal("the stored private key contains the plaintext key")
	}
	if _, err := x509.ParsePKCS8PrivateKey(rowA.PrivateSealed); err == nil {
		t.Fatal("the stored private key parses as a plaintext key")
	}
	if bytes.Contains(rowA.PublicJWK, []byte(`"d"`)) {
		t.Fatal("the stored public JWK has a private exponent")
	}
	// Moving a sealed key to another tenant's row, or to another kid, breaks it.
	for _, aad := range [][]byte{keyAAD(tenantB, rowA.KID), keyAAD(tenantA, rowB.KID)} {
		if _, err := e.ring.Open(rowA.PrivateSealed, aad); !errors.Is(err, secrets.ErrOpen) {
			t.Fatalf("opened with foreign associated data: %v", err)
		}
	}
	moved := rowA
	moved.TenantID, moved.KID = tenantB, rowB.KID
	if _, err := p.keys.open(moved); err == nil {
		t.Fatal("a sealed key copied into another tenant's row was accepted")
	}
	// A row whose published key is not the sealed key's public half is refused.
	swapped := rowA
	swapped.PublicJWK = rowB.PublicJWK
	if _, err := p.keys.open(swapped); err == nil {
		t.Fatal("a row publishing another key was accepted")
	}
}

func TestWrongMasterKeyFailsClosed(t *testing.T) {
	e := newEnv(t)
	first := e.nodeAt(t, testPublicURL)
	if _, err := first.keys.signer(t.Context(), tenantA, jose.RS256); err != nil {
		t.Fatal(err)
	}
	// A node started with another master key.
	other, err := secrets.FromBase64(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	e.ring = other
	_, srv := e.node(t)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {appA}, "client_secret": {e.secretA}, "scope": {srv.URL + "/.default"}}
	resp, err := http.PostForm(srv.URL+"/"+tenantA+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("token with an undecryptable key: %d, want 500", resp.StatusCode)
	}
	if n := len(e.st.rows(tenantA)); n != 1 {
		t.Fatalf("%d keys: a node that cannot open the key must not add another", n)
	}
	// The public key is still published, and when rotation is due such a
	// node adds no successor, which no other node could open.
	for _, wait := range []time.Duration{0, defaultRotationInterval - defaultPrePublish} {
		e.clock.advance(wait)
		resp, err = http.Get(srv.URL + "/" + tenantA + "/discovery/v2.0/keys")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("keys: %d", resp.StatusCode)
		}
		if n := len(e.st.rows(tenantA)); n != 1 {
			t.Fatalf("%d keys after %s: a node that cannot open the key rotated it", n, wait)
		}
	}
	if err := first.RotateKeys(t.Context(), tenantA); err != nil || len(e.st.rows(tenantA)) != 2 {
		t.Fatalf("a node with the right master key does rotate: %v", err)
	}
}

// TestKeyAddedByAnotherNode: a key that another node adds (as rotation will)
// is used once the issuer's cache TTL passes, and a verifier whose cache is
// still fresh re-reads the store when it meets the new kid.
func TestKeyAddedByAnotherNode(t *testing.T) {
	e := newEnv(t)
	issuer := e.nodeAt(t, testPublicURL)
	verifier := e.nodeAt(t, testPublicURL)
	app := App{AppID: appA, ServicePrincipalID: spA}
	raw1, err := issuer.issueAppToken(t.Context(), tenantA, app)
	if err != nil {
		t.Fatal(err)
	}
	old := e.st.rows(tenantA)[0].KID
	// The issuer created the key, so it re-reads once after settling; from
	// then on (T0) its cache lives for the full TTL.
	e.clock.advance(settleAfterCreate)
	if _, err := issuer.keys.signer(t.Context(), tenantA, jose.RS256); err != nil {
		t.Fatal(err)
	}

	e.clock.advance(defaultKeyCacheTTL - 3*time.Second)
	if _, err := verifier.VerifyAccessToken(t.Context(), raw1); err != nil { // verifier caches at T0+TTL-3s
		t.Fatal(err)
	}

	e.clock.advance(time.Second)
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	row, err := issuer.keys.seal(tenantA, priv, jose.RS256, e.clock.now(), e.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.Update(t.Context(), func(tx store.Tx) error { return tx.AddSigningKey(t.Context(), row) }); err != nil {
		t.Fatal(err)
	}
	if s, _ := issuer.keys.signer(t.Context(), tenantA, jose.RS256); s.kid != old {
		t.Fatal("the issuer's cache was bypassed before its TTL")
	}

	e.clock.advance(2 * time.Second) // T0+TTL
	s, err := issuer.keys.signer(t.Context(), tenantA, jose.RS256)
	if err != nil || s.kid != row.KID {
		t.Fatalf("after the TTL the signer is %v (%v), want the new key", s, err)
	}
	raw2, err := issuer.issueAppToken(t.Context(), tenantA, app)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier.VerifyAccessToken(t.Context(), raw2); err != nil {
		t.Fatalf("token signed by the new key: %v", err)
	}
	if _, err := verifier.VerifyAccessToken(t.Context(), raw1); err != nil {
		t.Fatalf("token signed by the old key: %v", err)
	}
	set, _ := verifier.keys.published(t.Context(), tenantA, jose.RS256)
	if len(set.Keys) != 2 || set.Keys[0].KeyID != row.KID {
		t.Fatalf("published %d keys, want new then old", len(set.Keys))
	}
}

func TestUnknownKidReloadIsRateLimited(t *testing.T) {
	e := newEnv(t)
	p := e.nodeAt(t, testPublicURL)
	if _, err := p.keys.signer(t.Context(), tenantA, jose.RS256); err != nil {
		t.Fatal(err)
	}
	reads := 0
	e.st.writeListHook = nil
	counting := &countingStore{memStore: e.st, views: &reads}
	p.keys.st = counting
	step := missReloadAfter / 10
	for range 9 {
		e.clock.advance(step)
		if _, err := p.keys.verificationKey(t.Context(), tenantA, "made-up"); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("err = %v", err)
		}
	}
	if reads != 0 {
		t.Fatalf("%d store reads for unknown kids within %s of loading", reads, missReloadAfter)
	}
	for range 10 {
		e.clock.advance(step)
		p.keys.verificationKey(t.Context(), tenantA, "made-up")
	}
	if reads != 1 {
		t.Fatalf("%d store reads for unknown kids over %s, want 1", reads, missReloadAfter)
	}
}

type countingStore struct {
	*memStore
	views *int
}

func (s *countingStore) View(ctx context.Context, fn func(store.Tx) error) error {
	*s.views++
	return s.memStore.View(ctx, fn)
}

// TestKeysRenewedAheadInTheBackground: a request that finds the tenant's
// keys past their renewal point is answered from them at once, and the
// keys are read again behind it; tenants' renewal points differ.
func TestKeysRenewedAheadInTheBackground(t *testing.T) {
	e := newEnv(t)
	node := e.nodeAt(t, testPublicURL)
	ctx := t.Context()
	if _, err := node.issueAppToken(ctx, tenantA, App{AppID: appA, ServicePrincipalID: spA}); err != nil {
		t.Fatal(err)
	}
	e.clock.advance(settleAfterCreate) // the creator's short first life
	if _, err := node.keys.signer(ctx, tenantA, jose.RS256); err != nil {
		t.Fatal(err)
	}
	before := node.keys.cached(tenantA)
	if !before.renewAt.After(before.loadedAt) || !before.renewAt.Before(before.staleAt) {
		t.Fatalf("renewAt %v outside the set's life %v–%v", before.renewAt, before.loadedAt, before.staleAt)
	}
	e.clock.advance(before.renewAt.Sub(e.clock.now()))
	if _, err := node.keys.signer(ctx, tenantA, jose.RS256); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for node.keys.cached(tenantA) == before {
		if time.Now().After(deadline) {
			t.Fatal("the keys past their renewal point were not read again")
		}
		time.Sleep(time.Millisecond)
	}
	if after := node.keys.cached(tenantA); !after.loadedAt.Equal(e.clock.now()) || !after.maintained {
		t.Fatalf("renewed set loaded at %v (maintained %v), want now %v", after.loadedAt, after.maintained, e.clock.now())
	}

	seen := map[float64]bool{}
	for i := range 100 {
		p := renewPoint(fmt.Sprintf("tenant-%d", i))
		if p < 0.5 || p >= 0.9 {
			t.Fatalf("renewal point %v outside [0.5, 0.9)", p)
		}
		seen[p] = true
	}
	if len(seen) < 50 {
		t.Fatalf("100 tenants share %d renewal points", len(seen))
	}
}
