package login

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
)

func withScopes(scopes ...string) func(*authn.Request) {
	return func(r *authn.Request) { r.Scopes = scopes }
}

func withPrompt(prompt ...string) func(*authn.Request) {
	return func(r *authn.Request) { r.Prompt = prompt }
}

func withHint(hint string) func(*authn.Request) {
	return func(r *authn.Request) { r.LoginHint = hint }
}

func withMaxAge(d time.Duration) func(*authn.Request) {
	return func(r *authn.Request) { r.MaxAge = &d }
}

func TestFullFlowWithConsent(t *testing.T) {
	h := newHarness(t, false)
	b := h.browser()
	id := h.request(withScopes("openid", "profile", "Notes.Read"))

	b.expect(b.open(id), "username")
	b.expect(b.submit("username", "Alice@Contoso.com"), "password")
	if !strings.Contains(b.last.body, "Alice@Contoso.com") || !strings.Contains(b.last.body, "Contoso Notes") {
		t.Fatalf("password page does not name the account and the app:\n%s", b.last.body)
	}
	h.clock.Advance(time.Second)
	b.expect(b.submit("password", alicePW), "kmsi")
	b.expect(b.submit("stay", "no"), "consent")
	for _, want := range []string{"Contoso Notes", "contoso.com", "Sign you in", "View your basic profile", "Directory says: Notes.Read", "https://notes.example/cb"} {
		if !strings.Contains(b.last.body, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	b.expect(b.submit("decision", "accept"), "FINISHED "+id)

	o := b.outcome(id)
	want := authn.Authentication{TenantID: tenantA, UserID: "u-alice", AuthTime: t0.Add(time.Second), AMR: []string{"pwd"}, SessionID: o.auth.SessionID}
	if !o.finished || o.auth.SessionID == "" || o.auth.UserID != want.UserID || !o.auth.AuthTime.Equal(want.AuthTime) ||
		!slices.Equal(o.auth.AMR, want.AMR) || o.auth.TenantID != want.TenantID {
		t.Fatalf("outcome = %+v, want %+v", o, want)
	}
	if missing, _ := h.dir.MissingConsent(t.Context(), tenantA, "u-alice", client, []string{"Notes.Read"}); len(missing) != 0 {
		t.Fatalf("consent not granted: %v", missing)
	}
	if h.dir.signIns == nil || h.dir.signIns[0] != tenantA+"/u-alice" {
		t.Fatalf("interactive sign-in not recorded: %v", h.dir.signIns)
	}
	// The flow is consumed: re-posting the consent form cannot finish twice.
	h.proto.mu.Lock()
	delete(h.proto.outcomes, id)
	h.proto.mu.Unlock()
	if p := b.post(url.Values{"request": {id}, "csrf": {h.pages.csrfToken(browserCookie(t, b))}, "step": {"consent"}, "decision": {"accept"}}); p.status != http.StatusBadRequest {
		t.Fatalf("replayed consent: status %d:\n%s", p.status, p.body)
	}
}

// browserCookie reads the browser id from a test browser's jar.
func browserCookie(t *testing.T, b *browser) string {
	t.Helper()
	u, _ := url.Parse(b.h.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == b.h.pages.cookies.browser {
			return c.Value
		}
	}
	t.Fatal("browser has no id cookie")
	return ""
}

func TestConsentCancelDenies(t *testing.T) {
	h := newHarness(t, false)
	b := h.browser()
	id := h.request(withScopes("openid", "Notes.Read"))
	b.toConsent(id, "alice@contoso.com", alicePW)
	b.expect(b.submit("decision", "cancel"), "DENIED "+id+" access_denied")
	if missing, _ := h.dir.MissingConsent(t.Context(), tenantA, "u-alice", client, []string{"Notes.Read"}); len(missing) != 1 {
		t.Fatal("cancel granted consent")
	}
}

func TestPromptConsentForcesConsentPage(t *testing.T) {
	h := newHarness(t, false)
	b := h.browser()
	b.signIn(h.request(), "alice@contoso.com", alicePW, false)
	id := h.request(withPrompt("consent"))
	b.expect(b.open(id), "consent")
	b.expect(b.submit("decision", "accept"), "FINISHED "+id)
}

func TestSSO(t *testing.T) {
	h := newHarness(t, false)
	b := h.browser()
	first := b.signIn(h.request(), "alice@contoso.com", alicePW, false)

	h.clock.Advance(time.Minute)
	id := h.request()
	b.expect(b.open(id), "FINISHED "+id)
	second := b.outcome(id)
	if second.auth.UserID != "u-alice" || second.auth.SessionID != first.auth.SessionID || !second.auth.AuthTime.Equal(first.auth.AuthTime) {
		t.Fatalf("SSO outcome %+v, want the first sign-in's session %+v", second.auth, first.auth)
	}
	// Another browser has no session.
	b2 := h.browser()
	b2.expect(b2.open(h.request()), "username")
}

func TestPromptNone(t *testing.T) {
	cases := []struct {
		name    string
		signIn  []string // accounts signed in first
		request []func(*authn.Request)
		age     time.Duration
		want    string
	}{
		{"no session", nil, nil, 0, "login_required"},
		{"one session", []string{"alice@contoso.com"}, nil, 0, "FINISHED"},
		{"hint picks the session", []string{"alice@contoso.com", "bob@contoso.com"}, []func(*authn.Request){withHint("alice@contoso.com")}, 0, "FINISHED"},
		{"hint names no session", []string{"alice@contoso.com"}, []func(*authn.Request){withHint("bob@contoso.com")}, 0, "login_required"},
		{"two sessions", []string{"alice@contoso.com", "bob@contoso.com"}, nil, 0, "interaction_required"},
		{"consent missing", []string{"alice@contoso.com"}, []func(*authn.Request){withScopes("openid", "Notes.Read")}, 0, "consent_required"},
		{"max_age exceeded", []string{"alice@contoso.com"}, []func(*authn.Request){withMaxAge(time.Hour)}, 2 * time.Hour, "login_required"},
		{"max_age met", []string{"alice@contoso.com"}, []func(*authn.Request){withMaxAge(time.Hour)}, 30 * time.Minute, "FINISHED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, false)
			b := h.browser()
			passwords := map[string]string{"alice@contoso.com": alicePW, "bob@contoso.com": "bob's secret"}
			for _, u := range tc.signIn {
				id := h.request(withPrompt("select_account"))
				if b.open(id).step() == "accounts" {
					b.submit("account", "")
				}
				b.continueAtUsername(id, u, passwords[u], false)
			}
			h.clock.Advance(tc.age)
			id := h.request(append(tc.request, withPrompt("none"))...)
			p := b.open(id)
			o, ended := h.proto.outcome(id)
			if !ended {
				t.Fatalf("prompt=none showed a page:\n%s", p.body)
			}
			got := o.code
			if o.finished {
				got = "FINISHED"
			}
			if got != tc.want {
				t.Fatalf("prompt=none ended with %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReauthentication(t *testing.T) {
	cases := []struct {
		name    string
		request func(*authn.Request)
		age     time.Duration
	}{
		{"prompt=login", withPrompt("login"), 0},
		{"max_age exceeded", withMaxAge(10 * time.Minute), 11 * time.Minute},
		{"max_age=0", withMaxAge(0), time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, false)
			b := h.browser()
			first := b.signIn(h.request(), "alice@contoso.com", alicePW, false)
			h.clock.Advance(tc.age)
			id := h.request(tc.request)
			b.expect(b.open(id), "password")
			if !strings.Contains(b.last.body, "alice@contoso.com") {
				t.Fatal("password page does not name the signed-in account")
			}
			b.expect(b.submit("password", alicePW), "kmsi")
			b.expect(b.submit("stay", "no"), "FINISHED "+id)
			o := b.outcome(id)
			if !o.auth.AuthTime.Equal(h.clock.Now()) {
				t.Fatalf("auth time %v, want the re-authentication's %v", o.auth.AuthTime, h.clock.Now())
			}
			// The session rotated: a new id, and the old session is gone.
			if o.auth.SessionID == first.auth.SessionID {
				t.Fatal("session id did not rotate")
			}
			if n := h.store.count(tenantA, kindSession); n != 1 {
				t.Fatalf("%d sessions after rotation, want 1", n)
			}
		})
	}
}

func TestAccountPicker(t *testing.T) {
	h := newHarness(t, false)
	b := h.browser()
	b.signIn(h.request(), "alice@contoso.com", alicePW, false)
	id := h.request(withPrompt("select_account"))
	b.expect(b.open(id), "accounts")
	b.expect(b.submit("account", ""), "username")
	b.continueAtUsername(id, "bob@contoso.com", "bob's secret", false)

	id = h.request()
	b.expect(b.open(id), "accounts")
	for _, want := range []string{"alice@contoso.com", "bob@contoso.com", "Use another account"} {
		if !strings.Contains(b.last.body, want) {
			t.Fatalf("account picker lacks %q:\n%s", want, b.last.body)
		}
	}
	sids := regexp.MustCompile(`name="account" value="([^"]+)">Bob<`).FindStringSubmatch(b.last.body)
	if sids == nil {
		t.Fatalf("no button for Bob:\n%s", b.last.body)
	}
	b.expect(b.submit("account", sids[1]), "FINISHED "+id)
	if o := b.outcome(id); o.auth.UserID != "u-bob" {
		t.Fatalf("picked Bob, finished as %s", o.auth.UserID)
	}
	// A session id that is not this browser's is not accepted.
	id = h.request()
	b.expect(b.open(id), "accounts")
	b.expect(b.submit("account", "someone-elses-session"), "accounts")

	// login_hint picks the account without asking.
	id = h.request(withHint("ALICE@contoso.com"))
	b.expect(b.open(id), "FINISHED "+id)
	if o := b.outcome(id); o.auth.UserID != "u-alice" {
		t.Fatalf("login_hint alice finished as %s", o.auth.UserID)
	}
	// A hint for an account not signed in prefills the username.
	id = h.request(withHint("newbie@contoso.com"))
	b.expect(b.open(id), "username")
	if !strings.Contains(b.last.body, `value="newbie@contoso.com"`) {
		t.Fatal("login_hint not prefilled")
	}
}

func TestStaySignedInCookies(t *testing.T) {
	cases := []struct {
		name             string
		tls, stay        bool
		sso, persistent  string
		persistentMaxAge int
	}{
		{"https, stay", true, true, "__Host-gh-sso", "__Host-gh-ssop", 90 * 24 * 3600},
		{"https, don't stay", true, false, "__Host-gh-sso", "__Host-gh-ssop", 0},
		{"http, stay", false, true, "gh-sso", "gh-ssop", 90 * 24 * 3600},
		{"http, don't stay", false, false, "gh-sso", "gh-ssop", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.tls)
			b := h.browser()
			b.signIn(h.request(), "alice@contoso.com", alicePW, tc.stay)
			sso, persistent := b.last.cookie(tc.sso), b.last.cookie(tc.persistent)
			if sso == nil || persistent == nil {
				t.Fatalf("sign-in set %v, want %s and %s", b.last.set, tc.sso, tc.persistent)
			}
			live, gone := persistent, sso
			if !tc.stay {
				live, gone = sso, persistent
			}
			if live.Value == "" || gone.MaxAge >= 0 {
				t.Fatalf("live cookie %v, cleared cookie %v", live, gone)
			}
			if live.MaxAge != tc.persistentMaxAge {
				t.Fatalf("Max-Age = %d, want %d", live.MaxAge, tc.persistentMaxAge)
			}
			for _, c := range b.last.set {
				if c.Secure != tc.tls || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
					t.Errorf("cookie %s: %v", c.Name, c)
				}
			}
			// The session works and, when persistent, its cookie slides,
			// until the tenant's session policy (30 days by default) ends it.
			h.clock.Advance(20 * 24 * time.Hour)
			id := h.request()
			p := b.open(id)
			if !tc.stay {
				b.expect(p, "username") // the 24-hour browser session is over
				return
			}
			b.expect(p, "FINISHED "+id)
			if c := p.cookie(tc.persistent); c == nil || c.MaxAge != tc.persistentMaxAge {
				t.Fatalf("persistent cookie not slid: %v", c)
			}
			h.clock.Advance(9 * 24 * time.Hour)
			id = h.request()
			b.expect(b.open(id), "FINISHED "+id)
			h.clock.Advance(2 * 24 * time.Hour)
			b.expect(b.open(h.request()), "username")
		})
	}
}

func TestCSRF(t *testing.T) {
	h := newHarness(t, false)
	b := h.browser()
	id := h.request()
	b.expect(b.open(id), "username")
	good := b.last.hidden(t)

	other := h.browser()
	other.open(h.request())
	foreign := other.last.hidden(t).Get("csrf")

	for _, tc := range []struct {
		name string
		csrf *string
	}{{"missing", nil}, {"empty", new("")}, {"garbage", new("not-a-token")}, {"another browser's", &foreign}} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"request": {id}, "step": {"username"}, "username": {"alice@contoso.com"}}
			if tc.csrf != nil {
				form.Set("csrf", *tc.csrf)
			}
			if p := b.post(form); p.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403", p.status)
			}
		})
	}
	// And the page still works with the right token.
	b.post(good)
	b.expect(b.post(url.Values{"request": {id}, "step": {"username"}, "csrf": {good.Get("csrf")}, "username": {"alice@contoso.com"}}), "password")
}

func TestCrossOriginPostRefused(t *testing.T) {
	h := newHarness(t, false)
	b := h.browser()
	b.expect(b.open(h.request()), "username")
	form := b.last.hidden(t)
	form.Set("username", "alice@contoso.com")
	b.header.Set("Sec-Fetch-Site", "cross-site")
	if p := b.post(form); p.status != http.StatusForbidden {
		t.Fatalf("cross-site post: status %d, want 403", p.status)
	}
	b.header.Set("Sec-Fetch-Site", "same-origin")
	b.expect(b.post(form), "password")
}

func TestRequestRevalidatedOnPost(t *testing.T) {
	h := newHarness(t, false)
	b := h.browser()
	b.expect(b.open(h.request()), "username")
	form := b.last.hidden(t)
	form.Set("request", "req-unknown")
	if p := b.post(form); p.status != http.StatusBadRequest || p.step() != "error" {
		t.Fatalf("unknown request: status %d step %s", p.status, p.step())
	}
	if p := b.open("req-unknown"); p.status != http.StatusBadRequest {
		t.Fatalf("GET unknown request: status %d", p.status)
	}
}

// errorPage signs in with a password on a fresh harness whose randomness
// is seeded, so that two runs differ only in what the directory says.
func errorPage(t *testing.T, users bool) string {
	h := newHarness(t, false, withRandom(7))
	if !users {
		h.dir.users = map[string]*fakeUser{}
	}
	b := h.browser()
	b.expect(b.open(h.request()), "username")
	b.expect(b.submit("username", "alice@contoso.com"), "password")
	p := b.submit("password", "wrong password")
	if !strings.Contains(p.body, "Your account or password is incorrect.") {
		t.Fatalf("no uniform error:\n%s", p.body)
	}
	return p.body
}

func TestUniformErrors(t *testing.T) {
	wrongPassword := errorPage(t, true)
	unknownUser := errorPage(t, false)
	if wrongPassword != unknownUser {
		t.Fatalf("wrong password and unknown user pages differ:\n%s\n----\n%s", wrongPassword, unknownUser)
	}
}

func TestSmartLockout(t *testing.T) {
	h := newHarness(t, false)
	victim := h.browser()
	victim.signIn(h.request(), "alice@contoso.com", alicePW, false)

	attacker := h.browser()
	fail := func(username string) {
		t.Helper()
		attacker.expect(attacker.open(h.request()), "username")
		attacker.expect(attacker.submit("username", username), "password")
		for i := range 10 {
			p := attacker.submit("password", "guess")
			if !strings.Contains(p.body, "Your account or password is incorrect.") {
				t.Fatalf("failure %d:\n%s", i+1, p.body)
			}
		}
	}
	const locked = "Your account is temporarily locked"
	fail("alice@contoso.com")
	if p := attacker.submit("password", alicePW); !strings.Contains(p.body, locked) || p.step() != "password" {
		t.Fatalf("the right password got through a lockout:\n%s", p.body)
	}
	// Unknown accounts lock alike, so locking reveals nothing.
	fail("ghost@contoso.com")
	if p := attacker.submit("password", "guess"); !strings.Contains(p.body, locked) {
		t.Fatalf("unknown account did not lock:\n%s", p.body)
	}

	// The victim's browser is familiar: its counter is its own.
	id := h.request(withPrompt("login"))
	victim.expect(victim.open(id), "password")
	victim.expect(victim.submit("password", alicePW), "kmsi")

	// After the minute the attacker may try again; a success clears the counter.
	h.clock.Advance(61 * time.Second)
	attacker.expect(attacker.open(h.request()), "username")
	attacker.expect(attacker.submit("username", "alice@contoso.com"), "password")
	attacker.expect(attacker.submit("password", alicePW), "kmsi")
	if n := h.store.count(tenantA, kindLockout); n != 1 { // ghost's remains
		t.Fatalf("%d lockout counters, want only the unknown account's", n)
	}
}

// TestConcurrentGuessesAreCountedFirst: 99 wrong passwords sent at once
// from 99 browsers reach the password check at most Threshold times,
// because each attempt is counted before its password is checked; the
// right password then meets the lock.
func TestConcurrentGuessesAreCountedFirst(t *testing.T) {
	h := newHarness(t, false)
	const n = 99
	forms := make([]url.Values, n)
	browsers := make([]*browser, n)
	for i := range n {
		b := h.browser()
		b.expect(b.open(h.request()), "username")
		b.expect(b.submit("username", "alice@contoso.com"), "password")
		forms[i], browsers[i] = b.last.hidden(t), b
		forms[i].Set("password", "guess")
	}
	// Each attempt either reaches the password check, where it waits, or
	// is answered without one; once all are accounted for, the waiting
	// ones go on. Without counting first, all 99 would be waiting here.
	checking, answered, release := make(chan struct{}), make(chan int), make(chan struct{})
	h.dir.checking = func() { checking <- struct{}{}; <-release }
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/"+tenantA+"/login", strings.NewReader(forms[i].Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := browsers[i].c.Do(req)
			status := -1
			if err == nil {
				status = resp.StatusCode
				resp.Body.Close()
			}
			answered <- status
		})
	}
	checked, early := 0, 0
	for checked+early < n {
		select {
		case <-checking:
			checked++
		case status := <-answered:
			if status != http.StatusOK {
				t.Errorf("an attempt answered %d", status)
			}
			early++
		}
	}
	close(release)
	for range checked {
		<-answered
	}
	wg.Wait()
	h.dir.checking = nil
	if threshold := h.pages.cfg.Lockout.Threshold; checked > threshold {
		t.Fatalf("%d of %d simultaneous wrong passwords were checked, want at most %d", checked, n, threshold)
	}
	b := h.browser()
	b.expect(b.open(h.request()), "username")
	b.expect(b.submit("username", "alice@contoso.com"), "password")
	if p := b.submit("password", alicePW); !strings.Contains(p.body, "Your account is temporarily locked") {
		t.Fatalf("the right password after the guesses:\n%s", p.body)
	}
}

// TestSpraySlowsOnlyUnfamiliarBrowsers: one password tried on many
// accounts is slowed once the tenant has seen the spray policy's threshold
// of failures; no account is locked, and a browser that signed in as its
// user before signs in at once.
func TestSpraySlowsOnlyUnfamiliarBrowsers(t *testing.T) {
	spray := lockout.SprayPolicy{Threshold: 5, Window: 10 * time.Minute, Pace: time.Minute}
	h := newHarness(t, false, func(c *Config) { c.Spray = spray })
	alice := h.browser()
	alice.signIn(h.request(), "alice@contoso.com", alicePW, false)

	try := func(username, password string) *page {
		t.Helper()
		b := h.browser()
		b.expect(b.open(h.request()), "username")
		b.expect(b.submit("username", username), "password")
		return b.submit("password", password)
	}
	for i := range spray.Threshold + 1 { // the last one takes the first paced slot
		if p := try(fmt.Sprintf("user%d@contoso.com", i), "Summer2026!"); p.status != http.StatusOK || !strings.Contains(p.body, "Your account or password is incorrect.") {
			t.Fatalf("spray attempt %d: %d\n%s", i, p.status, p.body)
		}
	}
	p := try("user99@contoso.com", "Summer2026!")
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") != "60" || p.step() != "password" || !strings.Contains(p.body, "slowed down") {
		t.Fatalf("spray attempt past the pace: %d, Retry-After %q\n%s", p.status, p.header.Get("Retry-After"), p.body)
	}
	// Alice's own browser is not slowed.
	alice.expect(alice.open(h.request(withPrompt("login"))), "password")
	alice.expect(alice.submit("password", alicePW), "kmsi")
	// Bob on a new device waits for the pace, then signs in: his account
	// is not locked.
	if p := try("bob@contoso.com", "bob's secret"); p.status != http.StatusTooManyRequests {
		t.Fatalf("an unfamiliar browser during the spray: %d", p.status)
	}
	h.clock.Advance(spray.Pace)
	if p := try("bob@contoso.com", "bob's secret"); p.step() != "kmsi" {
		t.Fatalf("bob after the pace: %d\n%s", p.status, p.body)
	}
}

func TestClientThrottle(t *testing.T) {
	h := newHarness(t, false, withClientRate(lockout.Rate{Burst: 2, Every: time.Minute}))
	b := h.browser()
	b.expect(b.open(h.request()), "username")
	b.expect(b.submit("username", "alice@contoso.com"), "password")
	b.submit("password", "one")
	b.submit("password", "two")
	p := b.submit("password", alicePW)
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") != "60" || p.step() != "password" {
		t.Fatalf("third attempt: status %d, Retry-After %q:\n%s", p.status, p.header.Get("Retry-After"), p.body)
	}
	h.clock.Advance(time.Minute)
	b.expect(b.submit("password", alicePW), "kmsi")

	// Successful sign-ins from one address (an office behind NAT) are not throttled.
	office := newHarness(t, false, withClientRate(lockout.Rate{Burst: 2, Every: time.Minute}))
	for range 5 {
		c := office.browser()
		c.expect(c.open(office.request()), "username")
		c.expect(c.submit("username", "alice@contoso.com"), "password")
		c.expect(c.submit("password", alicePW), "kmsi")
	}
}

func TestSignOut(t *testing.T) {
	h := newHarness(t, false)
	b := h.browser()
	b.signIn(h.request(), "alice@contoso.com", alicePW, true)
	id := h.request(withPrompt("select_account"))
	b.expect(b.open(id), "accounts")
	b.expect(b.submit("account", ""), "username")
	b.continueAtUsername(id, "bob@contoso.com", "bob's secret", false)
	if n := h.store.count(tenantA, kindSession); n != 2 {
		t.Fatalf("%d sessions, want 2", n)
	}
	if p := b.get("/" + tenantA + "/logout"); p.body != "SIGNED OUT" {
		t.Fatalf("sign-out: %s", p.body)
	}
	if n := h.store.count(tenantA, kindSession); n != 0 {
		t.Fatalf("%d sessions after sign-out, want 0", n)
	}
	for _, name := range []string{"gh-sso", "gh-ssop"} {
		if c := b.last.cookie(name); c == nil || c.MaxAge >= 0 {
			t.Fatalf("cookie %s not cleared: %v", name, c)
		}
	}
	id = h.request(withPrompt("none"))
	b.open(id)
	if o := b.outcome(id); o.code != "login_required" {
		t.Fatalf("after sign-out prompt=none ended %+v", o)
	}
}

func TestDisabledUserLosesSession(t *testing.T) {
	h := newHarness(t, false)
	b := h.browser()
	b.signIn(h.request(), "alice@contoso.com", alicePW, false)
	h.dir.setDisabled(tenantA, "alice@contoso.com", true)
	b.expect(b.open(h.request()), "username")
	if n := h.store.count(tenantA, kindSession); n != 0 {
		t.Fatalf("disabled user's session kept: %d", n)
	}
}

func TestHomeRealmDiscovery(t *testing.T) {
	h := newHarness(t, false)
	b := h.browser()
	b.expect(b.open(h.request()), "username")
	b.expect(b.submit("username", "eve@Fabrikam.com"), "username")
	for _, want := range []string{"AADSTS50020", "eve@Fabrikam.com", "/" + tenantB + "/v2.0", "does not exist in tenant &#39;" + tenantA} {
		if !strings.Contains(b.last.body, want) {
			t.Fatalf("no %q in:\n%s", want, b.last.body)
		}
	}
	// Domains nobody verified may be local sign-in names.
	b.expect(b.submit("username", "carol@gmail.example"), "password")
	b.expect(b.submit("action", "back"), "username")
	b.expect(b.submit("username", "not a username"), "username")
	if !strings.Contains(b.last.body, "Enter a valid email address or username.") {
		t.Fatalf("invalid username accepted:\n%s", b.last.body)
	}
}

func TestFirstSignInPasswordChange(t *testing.T) {
	h := newHarness(t, false)
	b := h.browser()
	id := h.request()
	b.expect(b.open(id), "username")
	b.expect(b.submit("username", "newbie@contoso.com"), "password")
	b.expect(b.submit("password", "initial-1"), "change")
	steps := []struct {
		current, next, confirm, want string
	}{
		{"initial-1", "long enough", "different", "The new passwords are empty or don&#39;t match."},
		{"wrong", "long enough", "long enough", "Your current password is incorrect."},
		{"initial-1", "short", "short", "The password must have at least 8 characters."},
	}
	for _, s := range steps {
		b.expect(b.submit("current", s.current, "new", s.next, "confirm", s.confirm), "change")
		if !strings.Contains(b.last.body, s.want) {
			t.Fatalf("want %q:\n%s", s.want, b.last.body)
		}
	}
	b.expect(b.submit("current", "initial-1", "new", "long enough", "confirm", "long enough"), "kmsi")
	b.expect(b.submit("stay", "no"), "FINISHED "+id)
	if _, err := h.dir.SignIn(t.Context(), tenantA, "newbie@contoso.com", "long enough"); err != nil {
		t.Fatal("password not changed")
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t, false)
	b := h.browser()
	first := b.open(h.request())
	second := b.open(h.request())
	nonces := map[string]bool{}
	for _, p := range []*page{first, second} {
		m := nonceAttr.FindStringSubmatch(p.body)
		if m == nil {
			t.Fatal("page has no nonced style")
		}
		csp := p.header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "style-src 'nonce-" + m[1] + "'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(p.body, "<script") || strings.Contains(p.body, " style=") {
			t.Error("page allows or uses inline script or style")
		}
		if p.header.Get("X-Frame-Options") != "DENY" || p.header.Get("Cache-Control") != "no-store" {
			t.Errorf("headers %v", p.header)
		}
		nonces[m[1]] = true
	}
	if len(nonces) != 2 {
		t.Fatal("nonce reused across responses")
	}
}

func TestLanguages(t *testing.T) {
	cases := []struct {
		ui     []string
		accept string
		lang   string
		title  string
	}{
		{nil, "", "en", "Sign in"},
		{[]string{"sv-SE"}, "", "sv", "Logga in"},
		{nil, "it-IT,it;q=0.9,en;q=0.8", "it", "Accedi"},
		{nil, "de-DE, pl;q=0.5", "pl", "Zaloguj się"},
		{[]string{"pl"}, "sv", "pl", "Zaloguj się"},
		{[]string{"fr"}, "fr, en;q=0.1, sv;q=0.2", "sv", "Logga in"},
	}
	for _, tc := range cases {
		t.Run(tc.lang+" "+tc.accept, func(t *testing.T) {
			h := newHarness(t, false)
			b := h.browser()
			if tc.accept != "" {
				b.header.Set("Accept-Language", tc.accept)
			}
			p := b.open(h.request(func(r *authn.Request) { r.UILocales = tc.ui }))
			if !strings.Contains(p.body, `<html lang="`+tc.lang+`">`) || !strings.Contains(p.body, "<title>"+tc.title+"</title>") {
				t.Fatalf("want %s page:\n%s", tc.lang, p.body)
			}
			if got := h.dir.locales[len(h.dir.locales)-1]; got != tc.lang {
				t.Fatalf("branding asked for %q, want %q", got, tc.lang)
			}
		})
	}
}

// TestEveryStepRendersInEveryLanguage renders each step's page in each
// language and checks that no message is missing.
func TestEveryStepRendersInEveryLanguage(t *testing.T) {
	h := newHarness(t, false)
	for _, lang := range i18n.Languages {
		for _, s := range []step{stepUsername, stepAccounts, stepPassword, stepChange, stepKMSI, stepConsent} {
			rec := httptest.NewRecorder()
			req, _ := http.NewRequest(http.MethodGet, "/", nil)
			v := &visit{p: h.pages, w: rec, r: req, ctx: t.Context(), loc: h.pages.catalog.Locale(lang),
				req: authn.Request{ID: "r", TenantID: tenantA, ClientName: "App", Scopes: []string{"openid"}}}
			v.show(flow{Step: s, Username: "alice@contoso.com"}, "")
			body := rec.Body.String()
			if rec.Code != http.StatusOK || !strings.Contains(body, `lang="`+lang+`"`) {
				t.Fatalf("%s/%s: status %d", lang, s, rec.Code)
			}
			if strings.Contains(body, "%!") || strings.Contains(body, "<title></title>") {
				t.Fatalf("%s/%s: missing or malformed message:\n%s", lang, s, body)
			}
		}
	}
}

func TestBranding(t *testing.T) {
	cases := []struct {
		name      string
		brand     Branding
		want, not []string
	}{
		{"neutral default", Branding{}, []string{"background:#f2f2f2"}, []string{"<img"}},
		{"custom", Branding{TenantName: "Contoso", LogoURL: "https://cdn.contoso.example/logo.png", BackgroundColor: "#123abc", SignInText: "Authorised users only."},
			[]string{`src="https://cdn.contoso.example/logo.png"`, `alt="Contoso"`, "background:#123abc", "Authorised users only."}, nil},
		{"unsafe values dropped", Branding{TenantName: "Evil", LogoURL: "javascript:alert(1)", BackgroundColor: "red;}body{display:none", SignInText: "<b>hi</b>"},
			[]string{"background:#f2f2f2", "&lt;b&gt;hi&lt;/b&gt;", `<p class="tenant">Evil</p>`}, []string{"javascript:", "display:none", "<b>"}},
		{"uploaded logo first", Branding{TenantName: "Contoso", LogoURL: "https://cdn.contoso.example/logo.png", UploadedLogo: "/branding/t1/0/bannerLogo/ab12.png"},
			[]string{`<img class="logo" src="/branding/t1/0/bannerLogo/ab12.png" alt="Contoso">`}, []string{"cdn.contoso.example"}},
		{"uploaded logo elsewhere dropped", Branding{TenantName: "Evil", UploadedLogo: "//evil.example/x.png"},
			[]string{`<p class="tenant">Evil</p>`}, []string{"evil.example", "<img"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, false)
			h.dir.branding[tenantA] = tc.brand
			b := h.browser()
			p := b.open(h.request())
			for _, w := range tc.want {
				if !strings.Contains(p.body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(p.body, n) {
					t.Errorf("page has %q", n)
				}
			}
		})
	}
}

// The tenant's links: terms and privacy at the foot of every page, the
// account help on the password page only, in the page's language unless the
// tenant wrote its own text; a link that is not https is not shown.
func TestBrandingLinks(t *testing.T) {
	h := newHarness(t, false)
	h.dir.branding[tenantA] = Branding{TenantName: "Contoso", ResetURL: "https://help.contoso.example/reset",
		TermsURL: "https://contoso.example/terms", TermsText: "Contoso terms", PrivacyURL: "javascript:alert(1)"}
	b := h.browser()
	b.header.Set("Accept-Language", "sv")
	p := b.open(h.request())
	b.expect(p, "username")
	footer := `<footer class="links">` + "\n" + `<a href="https://contoso.example/terms" rel="noopener noreferrer" target="_blank">Contoso terms</a>` + "\n</footer>"
	if !strings.Contains(p.body, footer) {
		t.Errorf("username page lacks the footer %q:\n%s", footer, p.body)
	}
	for _, n := range []string{"help.contoso.example", "javascript:", "Sekretess"} {
		if strings.Contains(p.body, n) {
			t.Errorf("username page has %q", n)
		}
	}
	p = b.submit("username", "bob@contoso.com")
	b.expect(p, "password")
	for _, w := range []string{`<a href="https://help.contoso.example/reset" rel="noopener noreferrer" target="_blank">Kommer du inte åt ditt konto?</a>`, footer} {
		if !strings.Contains(p.body, w) {
			t.Errorf("password page lacks %q", w)
		}
	}

	h.dir.branding[tenantA] = Branding{TenantName: "Contoso"}
	if p := b.open(h.request()); strings.Contains(p.body, "<footer") {
		t.Errorf("a page without links has a footer:\n%s", p.body)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	h := newHarness(t, false)
	good := h.pages.cfg
	cases := map[string]func(*Config){
		"relative URL": func(c *Config) { c.PublicURL = "/login" },
		"ftp URL":      func(c *Config) { c.PublicURL = "ftp://x" },
		"short key":    func(c *Config) { c.Key = []byte("short") },
		"no store":     func(c *Config) { c.Store = nil },
	}
	for name, edit := range cases {
		c := good
		edit(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A member asking for a permission only an administrator may grant is told
// so before any decision, with no Accept to press, as Entra's "Need admin
// approval" page does; the way back to the app tells it why. An
// administrator asked for the same gets the usual consent page.
func TestConsentNeedingAnAdminSaysSoFirst(t *testing.T) {
	h := newHarness(t, false)
	h.dir.admins[tenantA+"/u-alice"] = true
	scopes := withScopes("openid", "User.Read.All")

	b := h.browser()
	id := h.request(scopes)
	b.toConsent(id, "bob@contoso.com", "bob's secret")
	for _, want := range []string{"Need admin approval", "Contoso Notes needs permission", "Directory says: User.Read.All", `value="return"`} {
		if !strings.Contains(b.last.body, want) {
			t.Errorf("needs-admin page lacks %q:\n%s", want, b.last.body)
		}
	}
	if strings.Contains(b.last.body, `value="accept"`) || strings.Contains(b.last.body, "Accept") {
		t.Fatalf("needs-admin page offers to accept:\n%s", b.last.body)
	}
	b.expect(b.submit("decision", "return"), "DENIED "+id+" access_denied")
	if o := b.outcome(id); !strings.HasPrefix(o.description, "AADSTS90094: ") {
		t.Fatalf("denied with %q, want AADSTS90094", o.description)
	}
	// An accept posted anyway grants nothing.
	id2 := h.request(scopes)
	b.expect(b.open(id2), "consent")
	b.expect(b.submit("decision", "accept"), "DENIED "+id2+" access_denied")
	if missing, _ := h.dir.MissingConsent(t.Context(), tenantA, "u-bob", client, []string{"User.Read.All"}); len(missing) != 1 {
		t.Fatal("a member granted an admin-only permission")
	}

	a := h.browser()
	id3 := h.request(scopes)
	a.toConsent(id3, "alice@contoso.com", alicePW)
	if !strings.Contains(a.last.body, `value="accept"`) || strings.Contains(a.last.body, "Need admin approval") {
		t.Fatalf("administrator's consent page:\n%s", a.last.body)
	}
	a.expect(a.submit("decision", "accept"), "FINISHED "+id3)
}

// TestUsernamePageIsTheSignInPage: the admin centre's preview is the page
// a sign-in shows, but for what belongs to a flow (its request id, CSRF
// token, nonce and the application it continues to); unsafe values are
// dropped from it as from the page.
func TestUsernamePageIsTheSignInPage(t *testing.T) {
	flowOnly := []*regexp.Regexp{
		regexp.MustCompile(`nonce="[^"]*"`),
		regexp.MustCompile(`name="(request|csrf)" value="[^"]*"`),
		regexp.MustCompile(`request=[^&"]*`),
		regexp.MustCompile(`\n<p class="app">[^<]*</p>`),
	}
	normal := func(s string) string {
		for _, re := range flowOnly {
			s = re.ReplaceAllString(s, "")
		}
		return s
	}
	for _, brand := range []Branding{
		{},
		{TenantName: "Contoso", LogoURL: "https://cdn.contoso.example/logo.png", BackgroundColor: "#123abc", SignInText: "Authorised users only.",
			TermsURL: "https://contoso.example/terms", PrivacyURL: "https://contoso.example/privacy", PrivacyText: "Privacy"},
		{TenantName: "Evil", LogoURL: "javascript:alert(1)", BackgroundColor: "red;}body{display:none", SignInText: "<b>hi</b>"},
	} {
		for _, lang := range []string{"en", "sv"} {
			h := newHarness(t, false)
			h.dir.branding[tenantA] = brand
			b := h.browser()
			b.header.Set("Accept-Language", lang)
			p := b.open(h.request())
			b.expect(p, "username")
			preview, nonce, err := h.pages.UsernamePage(tenantA, brand, lang)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(preview), `<style nonce="`+nonce+`">`) {
				t.Errorf("the nonce returned is not the page's")
			}
			if got, want := normal(string(preview)), normal(p.body); got != want {
				t.Errorf("%+v in %s: the preview differs from the page:\n%s\n---\n%s", brand, lang, got, want)
			}
		}
	}
}
