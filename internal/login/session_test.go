package login

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

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
