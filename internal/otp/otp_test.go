package otp

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// clock is the codes' settable clock. It starts at the real time so that
// the store, which judges expiry by its own clock, agrees with it until a
// test moves it on; from then on the codes' own expiry check decides.
type clock struct {
	mu sync.Mutex
	at time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}

const (
	tenant1 = "t1"
	tenant2 = "t2"
	redeem  = "redeem"
	ann     = "ann@example.com"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

type fixture struct {
	st    store.Store
	codes *Codes
	clock *clock
}

// each runs fn on a fresh store of every backend with tenants t1 and t2.
func each(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for name, open := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			err := st.Update(t.Context(), func(tx store.Tx) error {
				for _, id := range []string{tenant1, tenant2} {
					if err := tx.CreateTenant(t.Context(), store.Tenant{ID: id, DisplayName: id, Type: store.TenantWorkforce, CreatedAt: time.Now()}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			c := &clock{at: time.Now()}
			fn(t, &fixture{st: st, codes: New(testKey, DefaultPolicy(), c.now, nil), clock: c})
		})
	}
}

func (f *fixture) issue(t testing.TB, tenantID, purpose, address string) (string, error) {
	t.Helper()
	var code string
	err := f.st.Update(t.Context(), func(tx store.Tx) error {
		var err error
		code, err = f.codes.Issue(t.Context(), tx, tenantID, purpose, address)
		return err
	})
	return code, err
}

func (f *fixture) mustIssue(t testing.TB, tenantID, purpose, address string) string {
	t.Helper()
	code, err := f.issue(t, tenantID, purpose, address)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func (f *fixture) check(t testing.TB, tenantID, purpose, address, code string) error {
	t.Helper()
	return f.codes.Check(t.Context(), f.st, tenantID, purpose, address, code)
}

// wrong is a well-formed code other than code.
func wrong(code string, i int) string {
	w := fmt.Sprintf("%08d", i)
	if w == code {
		w = fmt.Sprintf("%08d", i+1)
	}
	return w
}

func TestCheckOnce(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		code := f.mustIssue(t, tenant1, redeem, "Ann@Example.COM")
		if len(code) != 8 || strings.Trim(code, "0123456789") != "" {
			t.Fatalf("code %q: want 8 digits", code)
		}
		for _, c := range []struct {
			name                     string
			tenant, purpose, address string
		}{
			{"another tenant", tenant2, redeem, ann},
			{"another purpose", tenant1, "signin", ann},
			{"another address", tenant1, redeem, "bob@example.com"},
		} {
			if err := f.check(t, c.tenant, c.purpose, c.address, code); !errors.Is(err, ErrNoCode) {
				t.Fatalf("the code for %s: %v, want ErrNoCode", c.name, err)
			}
		}
		// The address is folded; the code may come with spaces around it.
		if err := f.check(t, tenant1, redeem, " "+ann, " "+code+"\n"); err != nil {
			t.Fatalf("the right code: %v", err)
		}
		if err := f.check(t, tenant1, redeem, ann, code); !errors.Is(err, ErrNoCode) {
			t.Fatalf("the code replayed: %v, want ErrNoCode", err)
		}
	})
}

func TestExpiry(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		life := DefaultPolicy().Lifetime
		code := f.mustIssue(t, tenant1, redeem, ann)
		f.clock.advance(life - time.Second)
		if err := f.check(t, tenant1, redeem, ann, code); err != nil {
			t.Fatalf("a second before expiry: %v", err)
		}
		code = f.mustIssue(t, tenant1, redeem, ann)
		f.clock.advance(life)
		if err := f.check(t, tenant1, redeem, ann, code); !errors.Is(err, ErrNoCode) {
			t.Fatalf("at expiry: %v, want ErrNoCode", err)
		}
		if err := f.check(t, tenant1, redeem, ann, wrong(code, 1)); !errors.Is(err, ErrNoCode) {
			t.Fatalf("a wrong code at expiry: %v, want ErrNoCode", err)
		}
	})
}

func TestWrongTries(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		max := DefaultPolicy().MaxWrong
		// MaxWrong-1 wrong tries leave the code usable.
		code := f.mustIssue(t, tenant1, redeem, ann)
		for i := range max - 1 {
			if err := f.check(t, tenant1, redeem, ann, wrong(code, i)); !errors.Is(err, ErrWrongCode) {
				t.Fatalf("wrong try %d: %v", i+1, err)
			}
		}
		if err := f.check(t, tenant1, redeem, ann, code); err != nil {
			t.Fatalf("the right code after %d wrong tries: %v", max-1, err)
		}
		// The MaxWrong-th voids it.
		code = f.mustIssue(t, tenant1, redeem, ann)
		for i := range max {
			if err := f.check(t, tenant1, redeem, ann, wrong(code, i)); !errors.Is(err, ErrWrongCode) {
				t.Fatalf("wrong try %d: %v", i+1, err)
			}
		}
		for _, c := range []string{code, wrong(code, 99), "", "not a code"} {
			if err := f.check(t, tenant1, redeem, ann, c); !errors.Is(err, ErrNoCode) {
				t.Fatalf("%q after %d wrong tries: %v, want ErrNoCode", c, max, err)
			}
		}
	})
}

func TestIssueReplaces(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		old := f.mustIssue(t, tenant1, redeem, ann)
		code := f.mustIssue(t, tenant1, redeem, ann)
		if old == code {
			t.Skip("two codes drawn alike")
		}
		if err := f.check(t, tenant1, redeem, ann, old); !errors.Is(err, ErrWrongCode) {
			t.Fatalf("the replaced code: %v, want ErrWrongCode", err)
		}
		if err := f.check(t, tenant1, redeem, ann, code); err != nil {
			t.Fatalf("the new code: %v", err)
		}
	})
}

// TestConcurrentGuesses: guesses sent at once are judged one after another
// under the code's row lock, so exactly MaxWrong are compared and the rest
// find the code voided, the right one included.
func TestConcurrentGuesses(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		code := f.mustIssue(t, tenant1, redeem, ann)
		results := make([]error, 99)
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() { results[i] = f.check(t, tenant1, redeem, ann, wrong(code, 1000+i)) })
		}
		wg.Wait()
		counted := 0
		for i, err := range results {
			switch {
			case errors.Is(err, ErrWrongCode):
				counted++
			case !errors.Is(err, ErrNoCode):
				t.Fatalf("guess %d: %v", i, err)
			}
		}
		if max := DefaultPolicy().MaxWrong; counted != max {
			t.Fatalf("%d of 99 concurrent guesses were compared, want %d", counted, max)
		}
		if err := f.check(t, tenant1, redeem, ann, code); !errors.Is(err, ErrNoCode) {
			t.Fatalf("the right code after the guesses: %v, want ErrNoCode", err)
		}
	})
}

func TestConcurrentRightCode(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		code := f.mustIssue(t, tenant1, redeem, ann)
		results := make([]error, 20)
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() { results[i] = f.check(t, tenant1, redeem, ann, code) })
		}
		wg.Wait()
		ok := 0
		for i, err := range results {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, ErrNoCode):
				t.Fatalf("check %d: %v", i, err)
			}
		}
		if ok != 1 {
			t.Fatalf("the code was accepted %d times, want once", ok)
		}
	})
}

func TestSendLimit(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		p := DefaultPolicy()
		var last string
		for i := range p.Sends {
			last = f.mustIssue(t, tenant1, redeem, ann)
			if i < p.Sends-1 {
				f.clock.advance(time.Minute)
			}
		}
		// The first send was Sends-1 minutes ago.
		_, err := f.issue(t, tenant1, redeem, ann)
		var tm *TooManyError
		if !errors.As(err, &tm) || tm.RetryAfter != p.SendWindow-time.Duration(p.Sends-1)*time.Minute {
			t.Fatalf("send %d: %v, want TooManyError retrying after %v", p.Sends+1, err, p.SendWindow-time.Duration(p.Sends-1)*time.Minute)
		}
		// Other addresses, purposes and tenants have their own limits.
		f.mustIssue(t, tenant1, redeem, "bob@example.com")
		f.mustIssue(t, tenant1, "signin", ann)
		f.mustIssue(t, tenant2, redeem, ann)
		// The refused send replaced nothing.
		if err := f.check(t, tenant1, redeem, ann, last); err != nil {
			t.Fatalf("the last code sent after a refused send: %v", err)
		}
		f.clock.advance(tm.RetryAfter)
		code := f.mustIssue(t, tenant1, redeem, ann)
		if _, err := f.issue(t, tenant1, redeem, ann); !errors.As(err, &tm) || tm.RetryAfter != time.Minute {
			t.Fatalf("a send right after the window moved on: %v, want retry after a minute", err)
		}
		if err := f.check(t, tenant1, redeem, ann, code); err != nil {
			t.Fatal(err)
		}
	})
}

// TestConcurrentSends: the send counter is read and written under its row
// lock, so sends racing each other cannot all pass the limit.
func TestConcurrentSends(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		results := make([]error, 20)
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() { _, results[i] = f.issue(t, tenant1, redeem, ann) })
		}
		wg.Wait()
		sent := 0
		for i, err := range results {
			var tm *TooManyError
			switch {
			case err == nil:
				sent++
			case !errors.As(err, &tm):
				t.Fatalf("send %d: %v", i, err)
			}
		}
		if sent != DefaultPolicy().Sends {
			t.Fatalf("%d of 20 concurrent sends passed, want %d", sent, DefaultPolicy().Sends)
		}
	})
}

// TestNothingInClear: the stored states hold neither the code nor the
// address, nor a plain hash of the address that could be looked up.
func TestNothingInClear(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		address := "Secret.Person@Example.com"
		code := f.mustIssue(t, tenant1, redeem, address)
		var states []store.State
		err := f.st.View(t.Context(), func(tx store.Tx) error {
			for _, kind := range []string{kindSends, kindCode} {
				s, err := tx.ListStates(t.Context(), tenant1, store.StateFilter{Kind: kind})
				if err != nil {
					return err
				}
				states = append(states, s...)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(states) != 2 {
			t.Fatalf("%d states, want the counter and the code", len(states))
		}
		for _, s := range states {
			row := strings.ToLower(s.ID + " " + s.Family + " " + s.Subject + " " + string(s.Data))
			for _, secret := range []string{code, "secret.person", "secret", "example.com"} {
				if strings.Contains(row, secret) {
					t.Fatalf("state %s holds %q: %s", s.Kind, secret, row)
				}
			}
		}
		// Another key finds nothing: the id is keyed.
		other := New([]byte("another key, sixteen bytes or more"), DefaultPolicy(), f.clock.now, nil)
		if err := other.Check(t.Context(), f.st, tenant1, redeem, address, code); !errors.Is(err, ErrNoCode) {
			t.Fatalf("checked under another key: %v, want ErrNoCode", err)
		}
	})
}

func TestRandomDigits(t *testing.T) {
	// Bytes from 250 up are skipped, not folded onto 0–5.
	r := bytes.NewReader([]byte{250, 251, 252, 253, 254, 255, 0, 19, 249, 3, 10 /* next read */, 99, 100, 42, 1, 1, 1, 1, 1, 1, 1, 1})
	if got, err := randomDigits(r, 8); err != nil || got != "09930902" {
		t.Fatalf("randomDigits = %q, %v; want 09930902", got, err)
	}
	if _, err := randomDigits(bytes.NewReader([]byte{1, 2, 3}), 8); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a short reader: %v", err)
	}
}

// TestDigitsUniform is a sanity check of codes drawn from crypto/rand: a
// chi-square test of the digits at each position and of all of them (9
// degrees of freedom; 45 is exceeded by chance about once in four million
// runs). Over all 800,000 digits a byte%10 draw's bias (0–5 each 26/256,
// 6–9 each 25/256) would score about 300.
func TestDigitsUniform(t *testing.T) {
	const codes = 100000
	var seen [9][10]int // by position, and all
	for range codes {
		d, err := randomDigits(rand.Reader, 8)
		if err != nil {
			t.Fatal(err)
		}
		for i, ch := range d {
			seen[i][ch-'0']++
			seen[8][ch-'0']++
		}
	}
	for pos, counts := range seen {
		n := codes
		if pos == 8 {
			n *= 8
		}
		want := float64(n) / 10
		chi := 0.0
		for _, got := range counts {
			diff := float64(got) - want
			chi += diff * diff / want
		}
		if chi > 45 {
			t.Errorf("digits at %d (8: all): chi-square %.1f over %v", pos, chi, counts)
		}
	}
}

func TestInvalidSetup(t *testing.T) {
	st := storetest.SQLite(t, "")
	short := DefaultPolicy()
	short.Digits = 4
	for name, c := range map[string]*Codes{
		"short key": New([]byte("short"), DefaultPolicy(), nil, nil),
		"4 digits":  New(testKey, short, nil, nil),
		"no sends":  New(testKey, Policy{Digits: 8, Lifetime: time.Minute, MaxWrong: 5, SendWindow: time.Minute}, nil, nil),
	} {
		err := st.Update(t.Context(), func(tx store.Tx) error {
			_, err := c.Issue(t.Context(), tx, tenant1, redeem, ann)
			return err
		})
		if err == nil {
			t.Errorf("%s: Issue succeeded", name)
		}
		if err := c.Check(t.Context(), st, tenant1, redeem, ann, "12345678"); err == nil || errors.Is(err, ErrNoCode) {
			t.Errorf("%s: Check: %v", name, err)
		}
	}
	c := New(testKey, DefaultPolicy(), nil, nil)
	for _, args := range [][3]string{{"", redeem, ann}, {tenant1, "", ann}, {tenant1, redeem, "  "}} {
		if err := c.Check(t.Context(), st, args[0], args[1], args[2], "12345678"); err == nil || errors.Is(err, ErrNoCode) {
			t.Errorf("Check%q: %v", args, err)
		}
	}
}

// BenchmarkIssueCheck issues a code and checks it, each in its own
// transaction, on SQLite.
func BenchmarkIssueCheck(b *testing.B) {
	st := storetest.SQLite(b, "")
	if err := st.Update(b.Context(), func(tx store.Tx) error {
		return tx.CreateTenant(b.Context(), store.Tenant{ID: tenant1, DisplayName: tenant1, Type: store.TenantWorkforce, CreatedAt: time.Now()})
	}); err != nil {
		b.Fatal(err)
	}
	p := DefaultPolicy()
	p.Sends = 1 << 30
	c := New(testKey, p, nil, nil)
	i := 0
	for b.Loop() {
		i++
		address := fmt.Sprintf("user%d@example.com", i%1000)
		var code string
		if err := st.Update(b.Context(), func(tx store.Tx) error {
			var err error
			code, err = c.Issue(b.Context(), tx, tenant1, redeem, address)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		if err := c.Check(b.Context(), st, tenant1, redeem, address, code); err != nil {
			b.Fatal(err)
		}
	}
}
