package oidc

import (
	"crypto/x509"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlite"
)

// TestNodesOnOneSQLiteDatabase runs two nodes, each with its own handle on
// one SQLite file (as two processes would), through first-key creation,
// issuing and cross-verification, with the real store's time round trip.
func TestNodesOnOneSQLiteDatabase(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	var stores [2]store.Store
	for i := range stores {
		st, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores[i] = st
	}
	err := stores[0].Update(t.Context(), func(tx store.Tx) error {
		return tx.CreateTenant(t.Context(), store.Tenant{ID: tenantA, DisplayName: "Contoso", Type: store.TenantWorkforce, CreatedAt: e.clock.now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	var nodes [2]*Provider
	for i := range nodes {
		p, err := New(e.config(testPublicURL), stores[i], e.dir, e.ring)
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = p
	}

	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Go(func() { _, errs[i] = n.keys.signer(t.Context(), tenantA, jose.RS256) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}

	e.clock.advance(settleAfterCreate)
	var kids [2]string
	for i, n := range nodes {
		s, err := n.keys.signer(t.Context(), tenantA, jose.RS256)
		if err != nil {
			t.Fatal(err)
		}
		kids[i] = s.kid
	}
	if kids[0] != kids[1] {
		t.Fatalf("nodes sign with %q and %q", kids[0], kids[1])
	}

	var rows []store.SigningKey
	err = stores[1].View(t.Context(), func(tx store.Tx) error {
		var err error
		rows, err = tx.ListSigningKeys(t.Context(), tenantA)
		return err
	})
	if err != nil || len(rows) == 0 {
		t.Fatalf("stored keys: %d, %v", len(rows), err)
	}
	for _, r := range rows {
		if r.ActiveAt.IsZero() || !r.RetireAt.Equal(r.ActiveAt.Add(defaultRotationInterval+defaultPrePublish)) || r.CreatedAt.Sub(e.clock.now()) > time.Second {
			t.Errorf("key %s times did not round-trip: created %v active %v retire %v", r.KID, r.CreatedAt, r.ActiveAt, r.RetireAt)
		}
		if _, err := x509.ParsePKCS8PrivateKey(r.PrivateSealed); err == nil {
			t.Errorf("key %s stored in the clear", r.KID)
		}
	}

	for i, n := range nodes {
		raw, err := n.issueAppToken(t.Context(), tenantA, App{AppID: appA, ServicePrincipalID: spA})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nodes[1-i].VerifyAccessToken(t.Context(), raw); err != nil {
			t.Fatalf("token of node %d on node %d: %v", i, 1-i, err)
		}
	}

	// Rotation through the real store: one node adds the successor, the
	// other signs with it once active; the expired keys are deleted.
	e.clock.advance(defaultRotationInterval - defaultPrePublish)
	if err := nodes[0].RotateKeys(t.Context(), tenantA); err != nil {
		t.Fatal(err)
	}
	next, err := rowsOf(t, stores[1])
	slices.SortFunc(next, newestFirst)
	if err != nil || len(next) < 2 || !next[0].ActiveAt.After(e.clock.now()) || next[1].ActiveAt.After(e.clock.now()) {
		t.Fatalf("after rotation %d keys (%v), want one pre-published successor", len(next), err)
	}
	e.clock.set(next[0].ActiveAt)
	if s, err := nodes[1].keys.signer(t.Context(), tenantA, jose.RS256); err != nil || s.kid != next[0].KID {
		t.Fatalf("after activation node 1 signs with %v (%v), want %s", s, err, next[0].KID)
	}
	e.clock.advance(3 * time.Hour)
	if err := nodes[1].RotateKeys(t.Context(), tenantA); err != nil {
		t.Fatal(err)
	}
	if left, err := rowsOf(t, stores[0]); err != nil || len(left) != 1 || left[0].KID != next[0].KID {
		t.Fatalf("after expiry %d keys left (%v), want the successor only", len(left), err)
	}
}

func rowsOf(t *testing.T, st store.Store) ([]store.SigningKey, error) {
	var rows []store.SigningKey
	err := st.View(t.Context(), func(tx store.Tx) error {
		var err error
		rows, err = tx.ListSigningKeys(t.Context(), tenantA)
		return err
	})
	return rows, err
}

// TestFlowsOnSQLite runs the code flow, rotation, replay detection,
// concurrent redemption and tenant isolation against the real store, whose
// ConsumeState is the database's conditional update.
func TestFlowsOnSQLite(t *testing.T) {
	e := newEnv(t)
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"), sqlite.Options{Now: e.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	err = st.Update(t.Context(), func(tx store.Tx) error {
		for _, id := range []string{tenantA, tenantB} {
			if err := tx.CreateTenant(t.Context(), store.Tenant{ID: id, DisplayName: id, Type: store.TenantWorkforce, CreatedAt: e.clock.now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f := newFlowOn(t, e, st)
	v := oauth2.GenerateVerifier()

	// Code flow, rotation, and replay of a rotated token.
	code := f.code(t, tenantA, spaApp, spaRedirect, v, nil)
	wantGrantError(t, f.redeemSPA(t, tenantB, code, v), 400, "invalid_grant")
	tr := f.redeemSPA(t, tenantA, code, v)
	if tr.status != 200 || tr.RefreshToken == "" {
		t.Fatalf("redeem %+v", tr)
	}
	wantGrantError(t, f.refreshSPA(t, tenantB, tr.RefreshToken), 400, "invalid_grant")
	next := f.refreshSPA(t, tenantA, tr.RefreshToken)
	if next.status != 200 {
		t.Fatalf("refresh %+v", next)
	}
	wantGrantError(t, f.refreshSPA(t, tenantA, tr.RefreshToken), 400, "invalid_grant")
	wantGrantError(t, f.refreshSPA(t, tenantA, next.RefreshToken), 400, "invalid_grant")

	// A code replayed after its redemption revokes the refresh token.
	code = f.code(t, tenantA, spaApp, spaRedirect, v, nil)
	first := f.redeemSPA(t, tenantA, code, v)
	wantGrantError(t, f.redeemSPA(t, tenantA, code, v), 400, "invalid_grant")
	wantGrantError(t, f.refreshSPA(t, tenantA, first.RefreshToken), 400, "invalid_grant")

	// Concurrent redemptions: exactly one wins, no refresh token survives.
	code = f.code(t, tenantA, spaApp, spaRedirect, v, nil)
	const n = 50
	replies := make([]tokenReply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { replies[i] = f.redeemSPA(t, tenantA, code, v) })
	}
	wg.Wait()
	ok := 0
	for _, r := range replies {
		if r.status == 200 {
			ok++
			wantGrantError(t, f.refreshSPA(t, tenantA, r.RefreshToken), 400, "invalid_grant")
		} else if r.Error != "invalid_grant" {
			t.Errorf("unexpected reply %+v", r)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent redemptions succeeded", ok, n)
	}
	var live []store.State
	err = st.View(t.Context(), func(tx store.Tx) error {
		var err error
		live, err = tx.ListStates(t.Context(), tenantA, store.StateFilter{Kind: kindRefresh})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range live {
		if s.ConsumedAt == nil {
			t.Fatalf("refresh token of family %s alive after replays", s.Family)
		}
	}

	// The device flow: pacing kept with UpdateState, the user code consumed
	// once, wrong codes tallied under LockState, the outcome redeemed once.
	d := f.spaDevice(t)
	wantGrantError(t, f.poll(t, tenantA, spaApp, d.DeviceCode), 400, "slow_down")
	f.clock.advance(10 * time.Second)
	wantGrantError(t, f.poll(t, tenantA, spaApp, d.DeviceCode), 400, "authorization_pending")
	f.clock.advance(time.Second)
	wantGrantError(t, f.poll(t, tenantA, spaApp, d.DeviceCode), 400, "slow_down")
	if resp, body := f.enterCode(t, tenantA, d.UserCode); resp.StatusCode != 200 {
		t.Fatalf("device sign-in: %d %s", resp.StatusCode, body)
	}
	f.clock.advance(20 * time.Second)
	if tr := f.poll(t, tenantA, spaApp, d.DeviceCode); tr.status != 200 || tr.RefreshToken == "" {
		t.Fatalf("device tokens %+v", tr)
	}
	wantGrantError(t, f.poll(t, tenantA, spaApp, d.DeviceCode), 400, "invalid_grant")
	d = f.spaDevice(t)
	for range lockout.DefaultCodePolicy().PerClient {
		if err := startDevice(t, f, tenantA, "192.0.2.7", wrongCode(d.UserCode)); !errors.Is(err, ErrInvalidUserCode) {
			t.Fatal(err)
		}
	}
	if err := startDevice(t, f, tenantA, "192.0.2.7", d.UserCode); !errors.Is(err, ErrTooManyUserCodes) {
		t.Fatalf("after too many wrong codes: %v", err)
	}
}
