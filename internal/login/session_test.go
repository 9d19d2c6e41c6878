package login

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/revocation"
	"github.com/gatehouse-id/gatehouse/internal/sessionpolicy"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func TestParseSSOTokens(t *testing.T) {
	secret := strings.Repeat("A", 43)
	cases := []struct {
		value string
		want  []ssoToken
	}{
		{"", nil},
		{"tenant-a." + secret, []ssoToken{{"tenant-a", secret}}},
		{"tenant-a." + secret + "~bad~tenant_b." + secret + "~t." + secret[1:] + "~T-2." + secret, []ssoToken{{"tenant-a", secret}, {"T-2", secret}}},
		{strings.Repeat("t."+secret+"~", maxSessions+3), slices.Repeat([]ssoToken{{"t", secret}}, maxSessions)},
	}
	for _, tc := range cases {
		got := parseSSOTokens(tc.value)
		if !slices.Equal(got, tc.want) {
			t.Errorf("parseSSOTokens(%q) = %v, want %v", tc.value, got, tc.want)
		}
		if again := parseSSOTokens(formatSSOTokens(got)); !slices.Equal(again, got) {
			t.Errorf("round trip of %v gave %v", got, again)
		}
	}
}

// FuzzParseSSOTokens: a cookie value never panics the parser, and what it
// accepts formats back into a valid cookie value that parses the same.
func FuzzParseSSOTokens(f *testing.F) {
	f.Add("tenant-a." + strings.Repeat("A", 43))
	f.Add("~.~..~a.b~")
	f.Fuzz(func(t *testing.T, v string) {
		toks := parseSSOTokens(v)
		if len(toks) > maxSessions {
			t.Fatalf("%d tokens", len(toks))
		}
		out := formatSSOTokens(toks)
		c := &http.Cookie{Name: "c", Value: out}
		if err := c.Valid(); err != nil {
			t.Fatalf("formatted cookie %q invalid: %v", out, err)
		}
		if again := parseSSOTokens(out); !slices.Equal(again, toks) {
			t.Fatalf("round trip %v -> %v", toks, again)
		}
	})
}

// TestPutStateReusesExpiredID: a derived state id whose earlier state has
// expired but is not purged yet can be written again.
func TestPutStateReusesExpiredID(t *testing.T) {
	h := newHarness(t, false)
	s := store.State{TenantID: tenantA, Kind: kindLockout, ID: "x", Family: "x", Data: []byte(`{}`), ExpiresAt: t0.Add(time.Minute)}
	write := func() error {
		return h.store.Update(t.Context(), func(tx store.Tx) error { return putState(t.Context(), tx, s) })
	}
	if err := write(); err != nil {
		t.Fatal(err)
	}
	s.Data = []byte(`{"failures":1}`)
	if err := write(); err != nil {
		t.Fatal("update of a live state:", err)
	}
	h.clock.Advance(2 * time.Minute)
	s.ExpiresAt = h.clock.Now().Add(time.Minute)
	if err := write(); err != nil {
		t.Fatal("rewrite of an expired state:", err)
	}
	if n := h.store.count(tenantA, kindLockout); n != 1 {
		t.Fatalf("%d live states, want 1", n)
	}
}

// TestSignOutKeepsOtherTenants: signing out of one tenant leaves the
// browser's sessions in other tenants.
func TestSignOutKeepsOtherTenants(t *testing.T) {
	h := newHarness(t, false)
	b := h.browser()
	b.signIn(h.request(), "alice@contoso.com", alicePW, false)
	if p := b.get("/" + tenantB + "/logout"); p.body != "SIGNED OUT" {
		t.Fatalf("sign-out: %s", p.body)
	}
	if n := h.store.count(tenantA, kindSession); n != 1 {
		t.Fatalf("signing out of another tenant ended %d sessions", 1-n)
	}
	id := h.request()
	b.expect(b.open(id), "FINISHED "+id)
}

// aal2 is NIST SP 800-63B's AAL2 reauthentication: 12 hours, 30 minutes idle.
var aal2 = sessionpolicy.Policy{
	Session: sessionpolicy.Lifetime{MaxAge: 12 * time.Hour, IdleTimeout: 30 * time.Minute},
	Refresh: sessionpolicy.Lifetime{MaxAge: 12 * time.Hour, IdleTimeout: 30 * time.Minute},
}

// TestSessionPolicy: an SSO session used within its idle timeout signs the
// user in silently, with the original auth_time, until its maximum age and
// not after, however often it is used; an idle one asks for sign-in.
func TestSessionPolicy(t *testing.T) {
	h := newHarness(t, false)
	h.dir.setPolicy(aal2)
	b := h.browser()
	first := b.signIn(h.request(), "alice@contoso.com", alicePW, true)
	for h.clock.Now().Sub(first.auth.AuthTime) < 12*time.Hour-20*time.Minute {
		h.clock.Advance(20 * time.Minute)
		id := h.request()
		b.expect(b.open(id), "FINISHED "+id)
		if o := b.outcome(id); !o.auth.AuthTime.Equal(first.auth.AuthTime) {
			t.Fatalf("SSO auth time %v, want the sign-in's %v", o.auth.AuthTime, first.auth.AuthTime)
		}
		for _, st := range h.store.statesOf(kindSession) {
			if st.ExpiresAt.After(first.auth.AuthTime.Add(12 * time.Hour)) {
				t.Fatalf("the session expires %s after sign-in, past its maximum age", st.ExpiresAt.Sub(first.auth.AuthTime))
			}
		}
	}
	h.clock.Advance(first.auth.AuthTime.Add(12*time.Hour + time.Second).Sub(h.clock.Now()))
	b.expect(b.open(h.request()), "username")

	// A policy tightened after the session began applies at its next use.
	h.dir.setPolicy(sessionpolicy.Default)
	idle := h.browser()
	idle.signIn(h.request(), "bob@contoso.com", "bob's secret", true)
	h.dir.setPolicy(aal2)
	h.clock.Advance(31 * time.Minute)
	idle.expect(idle.open(h.request()), "username")
}

// TestRevocationEndsSessionForClient: a revocation of the user at the
// client (a deleted grant, a deleted service principal, a replayed code)
// ends the SSO sessions it covers, so the client's next request asks the
// user to sign in instead of completing silently.
func TestRevocationEndsSessionForClient(t *testing.T) {
	h := newHarness(t, false, func(c *Config) { c.Revocations = revocation.NewView(c.Store, c.Now) })
	b := h.browser()
	b.signIn(h.request(), "alice@contoso.com", alicePW, false)
	id := h.request()
	b.expect(b.open(id), "FINISHED "+id)

	h.clock.Advance(time.Millisecond)
	err := h.store.Update(t.Context(), func(tx store.Tx) error {
		return revocation.Record(t.Context(), tx, tenantA, revocation.Fact{At: h.clock.Now(), UserID: "u-alice", ClientID: client, Reason: "grant deleted"})
	})
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(revocation.RefreshAfter)
	b.expect(b.open(h.request()), "username")
	if n := len(h.store.statesOf(kindSession)); n != 0 {
		t.Fatalf("%d sessions left", n)
	}
}

// statesOf lists the live states of a kind.
func (m *memStore) statesOf(kind string) []store.State {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.State
	for k, s := range m.states {
		if k.kind == kind && m.clock.Now().Before(s.ExpiresAt) {
			out = append(out, s)
		}
	}
	return out
}
