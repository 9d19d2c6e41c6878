package oidc

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// kidOf is the kid in a compact JWS's header.
func kidOf(t *testing.T, raw string) string {
	t.Helper()
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Header.KeyID
}

// rotationRig is two nodes of one deployment and helpers to look at them.
type rotationRig struct {
	*env
	t     *testing.T
	nodes [2]*Provider
}

func newRotationRig(t *testing.T) *rotationRig {
	e := newEnv(t)
	return &rotationRig{env: e, t: t, nodes: [2]*Provider{e.nodeAt(t, testPublicURL), e.nodeAt(t, testPublicURL)}}
}

// issue signs an app token on node i and returns it with its kid.
func (r *rotationRig) issue(i int) (string, string) {
	r.t.Helper()
	raw, err := r.nodes[i].issueAppToken(r.t.Context(), tenantA, App{AppID: appA, ServicePrincipalID: spA})
	if err != nil {
		r.t.Fatal(err)
	}
	return raw, kidOf(r.t, raw)
}

// published is node i's JWKS for tenant A as kids, newest first.
func (r *rotationRig) published(i int) []string {
	r.t.Helper()
	set, err := r.nodes[i].keys.published(r.t.Context(), tenantA, jose.RS256)
	if err != nil {
		r.t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

func (r *rotationRig) stored() []store.SigningKey {
	rows := r.st.rows(tenantA)
	slices.SortFunc(rows, newestFirst)
	return rows
}

// expect checks, on both nodes, the kid that signs and the published kids.
func (r *rotationRig) expect(stage, signs string, published ...string) {
	r.t.Helper()
	for i := range r.nodes {
		if _, kid := r.issue(i); kid != signs {
			r.t.Fatalf("%s: node %d signs with %s, want %s", stage, i, kid, signs)
		}
		if got := r.published(i); !slices.Equal(got, published) {
			r.t.Fatalf("%s: node %d publishes %v, want %v", stage, i, got, published)
		}
	}
}

func (r *rotationRig) verifies(stage, raw string, want bool) {
	r.t.Helper()
	for i, n := range r.nodes {
		if _, err := n.VerifyAccessToken(r.t.Context(), raw); (err == nil) != want {
			r.t.Fatalf("%s: node %d verifies the token: %v, want success %v", stage, i, err, want)
		}
	}
}

// TestKeyRotationLifecycle walks a tenant's keys through a rotation on two
// nodes with the default policy (30 days, pre-published one day ahead).
func TestKeyRotationLifecycle(t *testing.T) {
	r := newRotationRig(t)
	t0 := r.clock.now()
	_, k1 := r.issue(0)
	grace := time.Hour + verifyLeeway + nodeClockSkew

	// Before pre-publication: one key, signing.
	r.clock.set(t0.Add(defaultRotationInterval - defaultPrePublish - time.Minute))
	r.expect("before pre-publication", k1, k1)
	if n := len(r.stored()); n != 1 {
		t.Fatalf("%d keys stored before rotation is due", n)
	}

	// Due: a successor is published, and does not sign yet.
	r.clock.set(t0.Add(defaultRotationInterval - defaultPrePublish + 30*time.Second))
	due := r.clock.now()
	_, kid := r.issue(1)
	rows := r.stored()
	if kid != k1 || len(rows) != 2 {
		t.Fatalf("at rotation: signed with %s, %d keys stored", kid, len(rows))
	}
	k2 := rows[0]
	if want := ceilTime(due.Add(defaultPrePublish), time.Minute); !k2.ActiveAt.Equal(want) || !k2.CreatedAt.Equal(due) {
		t.Fatalf("successor created %v active %v, want created %v active %v", k2.CreatedAt, k2.ActiveAt, due, want)
	}
	if !k2.RetireAt.Equal(k2.ActiveAt.Add(defaultRotationInterval + defaultPrePublish)) {
		t.Fatalf("successor retires %v", k2.RetireAt)
	}
	r.expect("published, not signing", k1, k2.KID, k1)

	// Just before activation (as this node's clock allowance sees it), a
	// token signed by the old key, and caches loaded then.
	r.clock.set(k2.ActiveAt.Add(-nodeClockSkew - time.Second))
	r.expect("last moment of the old key", k1, k2.KID, k1)
	old, _ := r.issue(0)

	// Caches loaded a second ago are less than KeyCacheTTL old, yet expire
	// at activation: both nodes switch together.
	r.clock.advance(2 * time.Second)
	r.expect("signing", k2.KID, k2.KID, k1)

	// The old key's tokens verify on both nodes while they live.
	r.clock.set(k2.ActiveAt.Add(59 * time.Minute))
	r.verifies("old still verifying", old, true)
	r.clock.set(k2.ActiveAt.Add(grace - time.Second))
	r.expect("old still published", k2.KID, k2.KID, k1)

	// Past every token's expiry the old key leaves the JWKS and the store.
	r.clock.set(k2.ActiveAt.Add(grace + time.Second))
	r.expect("old gone", k2.KID, k2.KID)
	if rows := r.stored(); len(rows) != 1 || rows[0].KID != k2.KID {
		t.Fatalf("stored keys after the old one expired: %d", len(rows))
	}
	r.verifies("old gone", old, false)
}

// TestNodesRaceToRotate makes two nodes, whose clocks are three seconds
// apart, both find the successor due and both insert one. The successors
// tie on ActiveAt, so exactly one of them ever signs, on both nodes; the
// other is published until it expires.
func TestNodesRaceToRotate(t *testing.T) {
	r := newRotationRig(t)
	cfg := r.config(testPublicURL)
	cfg.Now = func() time.Time { return r.clock.now().Add(3 * time.Second) }
	skewed, err := New(cfg, r.st, r.dir, r.ring)
	if err != nil {
		t.Fatal(err)
	}
	r.nodes[1] = skewed
	t0 := r.clock.now()
	_, k1 := r.issue(0)
	r.clock.set(t0.Add(defaultRotationInterval - defaultPrePublish + 17*time.Second))

	var listed sync.WaitGroup
	listed.Add(len(r.nodes))
	r.st.writeListHook = func() { listed.Done(); listed.Wait() }
	var wg sync.WaitGroup
	kids := make([]string, len(r.nodes))
	for i := range r.nodes {
		wg.Go(func() { _, kids[i] = r.issue(i) })
	}
	wg.Wait()
	r.st.writeListHook = nil
	rows := r.stored()
	if len(rows) != 3 || kids[0] != k1 || kids[1] != k1 {
		t.Fatalf("%d keys stored, nodes signed with %v; want both successors stored and the old key signing", len(rows), kids)
	}
	if !rows[0].ActiveAt.Equal(rows[1].ActiveAt) {
		t.Fatalf("racing successors activate at %v and %v", rows[0].ActiveAt, rows[1].ActiveAt)
	}
	winner, loser := rows[0], rows[1]
	r.clock.advance(settleAfterCreate)
	r.expect("both successors pre-published", k1, winner.KID, loser.KID, k1)

	r.clock.set(winner.ActiveAt.Add(-nodeClockSkew))
	r.expect("after activation", winner.KID, winner.KID, loser.KID, k1)
	for i := range r.nodes {
		raw, _ := r.issue(i)
		if _, err := r.nodes[1-i].VerifyAccessToken(t.Context(), raw); err != nil {
			t.Fatalf("token of node %d on node %d: %v", i, 1-i, err)
		}
	}

	r.clock.set(winner.ActiveAt.Add(2 * time.Hour))
	if err := r.nodes[1].RotateKeys(t.Context(), tenantA); err != nil {
		t.Fatal(err)
	}
	if rows := r.stored(); len(rows) != 1 || rows[0].KID != winner.KID {
		t.Fatalf("%d keys left; want the winner only", len(rows))
	}
	r.expect("settled", winner.KID, winner.KID)
}

// TestRotateKeys: the housekeeping call rotates and deletes without
// traffic, and makes no key for a tenant that has none.
func TestRotateKeys(t *testing.T) {
	r := newRotationRig(t)
	if err := r.nodes[0].RotateKeys(t.Context(), tenantB); err != nil {
		t.Fatal(err)
	}
	if n := len(r.st.rows(tenantB)); n != 0 {
		t.Fatalf("RotateKeys made %d keys for a tenant without any", n)
	}
	t0 := r.clock.now()
	_, k1 := r.issue(0)
	for _, tt := range []struct {
		at   time.Duration
		want int
	}{
		{defaultRotationInterval - defaultPrePublish - time.Second, 1},
		{defaultRotationInterval - defaultPrePublish, 2},
		{defaultRotationInterval + 2*time.Hour, 1},
	} {
		r.clock.set(t0.Add(tt.at))
		if err := r.nodes[1].RotateKeys(t.Context(), tenantA); err != nil {
			t.Fatal(err)
		}
		if n := len(r.stored()); n != tt.want {
			t.Fatalf("%s after the first key: %d keys stored, want %d", tt.at, n, tt.want)
		}
	}
	if r.stored()[0].KID == k1 {
		t.Fatal("the old key was kept and the new one deleted")
	}
}

// TestIdleTenantRotation: a tenant that issued nothing for longer than a
// key's whole life gets a fresh key at its next token, and the old one is
// neither used nor kept.
func TestIdleTenantRotation(t *testing.T) {
	r := newRotationRig(t)
	t0 := r.clock.now()
	_, k1 := r.issue(0)
	r.clock.set(t0.Add(defaultRotationInterval + defaultPrePublish + 2*time.Hour))
	_, kid := r.issue(1)
	if kid == k1 {
		t.Fatal("signed with a key past its RetireAt")
	}
	r.expect("after idling", kid, kid)
	if n := len(r.stored()); n != 1 {
		t.Fatalf("%d keys stored", n)
	}
}
