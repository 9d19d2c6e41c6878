package login

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/pagewalk"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

const (
	tenantC    = "tenant-consumers"
	guestEmail = "gita@gmail.example"
)

// newB2BHarness is a harness whose pages have Guests, Federation, Accounts
// and a sign-in log, all fakes, and tenantC as the consumers tenant.
func newB2BHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	g, f, l := newFakeGuests(), newFakeFederation(), &fakeSignInLog{}
	b2b := func(c *Config) {
		c.Guests, c.Federation, c.Accounts, c.SignInLog, c.ConsumersTenantID = g, f, g, l, tenantC
	}
	h := newHarness(t, false, append([]option{b2b}, opts...)...)
	h.guests, h.fed, h.log = g, f, l
	h.mux.HandleFunc("GET /fake-idp/authorize", f.authorize)
	return h
}

// addGuest adds a guest of tenant A with the address, as the directory and
// Guests know them; the guest has consented to the client.
func (h *harness) addGuest(email, id string, pending bool) {
	upn := strings.ReplaceAll(email, "@", "_") + "#EXT#@contoso.com"
	h.dir.addUser(fakeUser{User: User{ID: id, TenantID: tenantA, UserPrincipalName: upn, DisplayName: "Guest " + id}})
	h.dir.grant(tenantA, id, client, "openid", "profile")
	h.guests.addGuest(tenantA, email, Guest{UserID: id, UserPrincipalName: upn, DisplayName: "Guest " + id, Pending: pending})
}

// follow makes the request the last page redirected to, on the test server.
func (b *browser) follow() *page {
	b.t.Helper()
	loc := b.last.header.Get("Location")
	if b.last.status != http.StatusFound || loc == "" {
		b.t.Fatalf("not a redirect (status %d):\n%s", b.last.status, b.last.body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.get(u.RequestURI())
}

// viaProvider goes from a redirect to the provider back through the callback.
func (b *browser) viaProvider() *page {
	b.t.Helper()
	if loc := b.last.header.Get("Location"); !strings.HasPrefix(loc, "/fake-idp/authorize?") {
		b.t.Fatalf("not sent to the provider (status %d, location %q):\n%s", b.last.status, loc, b.last.body)
	}
	b.follow()
	return b.follow()
}

// homeIdentity is Hugo of tenant B, as tenant B vouches for him.
var homeIdentity = federation.Identity{Issuer: "https://login.example/" + tenantB + "/v2.0", Subject: "u-hugo", Email: "hugo@fabrikam.com",
	EmailVerified: true, DisplayName: "Hugo", HomeTenantID: tenantB, HomeObjectID: "u-hugo", IdP: "https://login.example/" + tenantB + "/v2.0",
	AuthTime: t0.Add(-time.Minute), AMR: []string{"pwd", "mfa"}}

var tenantBProvider = federation.Provider{Kind: federation.KindTenant, TenantID: tenantB, Issuer: homeIdentity.Issuer}

func TestGuestSignInThroughProviderAndSSO(t *testing.T) {
	h := newB2BHarness(t)
	h.addGuest("hugo@fabrikam.com", "g-hugo", false)
	h.guests.routes["hugo@fabrikam.com"] = Route{Provider: tenantBProvider}
	h.fed.as("hugo@fabrikam.com", homeIdentity)
	b := h.browser()
	id := h.request()
	b.expect(b.open(id), "username")
	b.submit("username", "hugo@fabrikam.com")
	if p := b.viaProvider(); p.status != http.StatusFound {
		t.Fatalf("back from the provider: status %d:\n%s", p.status, p.body)
	}
	b.expect(b.follow(), "kmsi")
	if !strings.Contains(b.last.body, `<p class="identity">hugo@fabrikam.com</p>`) || strings.Contains(b.last.body, "#EXT#") {
		t.Fatalf("the guest is not named by their address:\n%s", b.last.body)
	}
	b.expect(b.submit("stay", "no"), "FINISHED "+id)
	// The tenant accepts the home tenant's MFA only through inbound trust,
	// which nothing here grants: its tokens say "pwd", and the home claim
	// rides along as it came.
	want := authn.Authentication{TenantID: tenantA, UserID: "g-hugo", AuthTime: homeIdentity.AuthTime, AMR: []string{"pwd"},
		IdP: homeIdentity.IdP, HomeTenantID: tenantB, HomeObjectID: "u-hugo", HomeAMR: homeIdentity.AMR}
	got := b.outcome(id).auth
	got.SessionID = ""
	if !equalAuth(got, want) {
		t.Fatalf("authentication\n%+v, want\n%+v", got, want)
	}
	if logged := h.log.all(); len(logged) != 1 || logged[0].ErrorCode != 0 || logged[0].UserID != "g-hugo" ||
		logged[0].HomeTenantID != tenantB || logged[0].ResourceTenantID != tenantA || logged[0].CrossTenantAccessType != authn.AccessB2BCollaboration {
		t.Fatalf("sign-in log %+v", logged)
	}
	if h.guests.count("AcceptPending") != 0 {
		t.Error("an accepted guest was asked to accept again")
	}

	// The session remembers the guest's provider and home account.
	again := h.request()
	b.expect(b.open(again), "FINISHED "+again)
	sso := b.outcome(again).auth
	if sso.IdP != want.IdP || sso.HomeTenantID != tenantB || sso.HomeObjectID != "u-hugo" || sso.UserID != "g-hugo" ||
		!slices.Equal(sso.AMR, want.AMR) || !slices.Equal(sso.HomeAMR, want.HomeAMR) {
		t.Fatalf("SSO authentication %+v", sso)
	}
	if n := h.fed.exchanged(); n != 1 {
		t.Fatalf("%d exchanges, want 1 (the SSO sign-in needs none)", n)
	}

	// The account picker names the guest by their address, and signing
	// in again (prompt=login) goes back to their provider, not to a
	// password the guest does not have here.
	b.expect(b.open(h.request(func(r *authn.Request) { r.Prompt = []string{"select_account"} })), "accounts")
	if !strings.Contains(b.last.body, "<small>hugo@fabrikam.com</small>") {
		t.Fatalf("account picker:\n%s", b.last.body)
	}
	b.expect(b.open(h.request(func(r *authn.Request) { r.Prompt = []string{"login"} })), "username")
	if b.last.hidden(t); !strings.Contains(b.last.body, `value="hugo@fabrikam.com"`) {
		t.Fatalf("sign in again:\n%s", b.last.body)
	}
}

func equalAuth(a, b authn.Authentication) bool {
	return a.TenantID == b.TenantID && a.UserID == b.UserID && a.AuthTime.Equal(b.AuthTime) && slices.Equal(a.AMR, b.AMR) &&
		a.IdP == b.IdP && a.HomeTenantID == b.HomeTenantID && a.HomeObjectID == b.HomeObjectID && slices.Equal(a.HomeAMR, b.HomeAMR)
}

func TestGuestSignInWithPasscode(t *testing.T) {
	h := newB2BHarness(t)
	h.addGuest(guestEmail, "g-gita", false)
	b := h.browser()
	id := h.request()
	b.expect(b.open(id), "username")
	b.expect(b.submit("username", guestEmail), "code")
	b.expect(b.submit("code", "87654321"), "code")
	if !strings.Contains(b.last.body, "didn&#39;t work") {
		t.Fatalf("a wrong code:\n%s", b.last.body)
	}
	if !strings.Contains(b.last.body, `name="action" value="back"`) {
		t.Fatalf("no way back:\n%s", b.last.body)
	}
	b.expect(b.submit("action", "back"), "username")
	b.expect(b.submit("username", guestEmail), "code")
	b.expect(b.submit("code", otpCode), "kmsi")
	b.expect(b.submit("stay", "yes"), "FINISHED "+id)
	a := b.outcome(id).auth
	if a.UserID != "g-gita" || a.IdP != federation.IssuerMail || a.HomeTenantID != "" || !slices.Equal(a.AMR, []string{"otp"}) || !a.AuthTime.Equal(t0) {
		t.Fatalf("authentication %+v", a)
	}
	if h.fed.exchanged() != 0 {
		t.Fatal("a passcode sign-in went to a provider")
	}
}

// The code page says the same for an address with a guest and one without:
// it cannot tell anyone which addresses are guests.
func TestPasscodePageSameForUnknownAddress(t *testing.T) {
	h := newB2BHarness(t, withRandom(1))
	h.addGuest(guestEmail, "g-gita", false)
	pageFor := func(email string) string {
		b := h.browser()
		b.expect(b.open(h.request()), "username")
		p := b.submit("username", email)
		b.expect(p, "code")
		if p.status != http.StatusOK {
			t.Fatalf("status %d", p.status)
		}
		return neutral(p.body, email)
	}
	known, unknown := pageFor(guestEmail), pageFor("nobody@gmail.example")
	if known != unknown {
		t.Fatalf("the pages differ:\n%s\n---\n%s", known, unknown)
	}
	if h.guests.sent[tenantA+"/nobody@gmail.example"] != 1 || h.guests.sent[tenantA+"/"+guestEmail] != 1 {
		t.Fatalf("codes sent: %v", h.guests.sent)
	}
	// The unknown address's code proves it, and then there is no guest.
	b := h.browser()
	id := h.request()
	b.expect(b.open(id), "username")
	b.expect(b.submit("username", "nobody@gmail.example"), "code")
	b.expect(b.submit("code", otpCode), "username")
	if b.last.status != http.StatusForbidden || !strings.Contains(b.last.body, "AADSTS50020") || !strings.Contains(b.last.body, "nobody@gmail.example") {
		t.Fatalf("not a guest (status %d):\n%s", b.last.status, b.last.body)
	}
	logged := h.log.all()
	if len(logged) != 1 || logged[0].ErrorCode != 50020 || logged[0].UserPrincipalName != "nobody@gmail.example" || logged[0].TenantID != tenantA || logged[0].CorrelationID != id ||
		logged[0].HomeTenantID != "" || logged[0].ResourceTenantID != tenantA || logged[0].CrossTenantAccessType != authn.AccessB2BCollaboration {
		t.Fatalf("sign-in log %+v", logged)
	}
	if _, ended := h.proto.outcome(id); ended {
		t.Fatal("the request ended; the user may try another account")
	}
}

var volatile = regexp.MustCompile(`(nonce|value)="[^"]*"|(request)=[^&"]*`)

// cardDetails are a message card's request ids and time.
var cardDetails = regexp.MustCompile(`<dd data-id="[a-z]+">[^\n]*</dd>`)

// neutral blanks what differs between any two renderings of a page.
func neutral(body, email string) string {
	body = cardDetails.ReplaceAllString(body, "<dd></dd>")
	return strings.ReplaceAll(volatile.ReplaceAllString(body, `$1=""`), email, "EMAIL")
}

func TestPasscodeLimit(t *testing.T) {
	h := newB2BHarness(t)
	h.guests.limited[guestEmail] = true
	b := h.browser()
	b.expect(b.open(h.request()), "username")
	p := b.submit("username", guestEmail)
	b.expect(p, "code")
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") != "90" {
		t.Fatalf("status %d, Retry-After %q", p.status, p.header.Get("Retry-After"))
	}
	// Past the limit the form still takes a code sent earlier, and asks again.
	h.guests.mu.Lock()
	h.guests.limited[guestEmail] = false
	h.guests.mu.Unlock()
	b.expect(b.submit("action", "resend"), "code")
	if b.last.status != http.StatusOK || h.guests.sent[tenantA+"/"+guestEmail] != 1 {
		t.Fatalf("resend: status %d, sent %v", b.last.status, h.guests.sent)
	}
}

func TestPendingGuestReviewsPermissions(t *testing.T) {
	h := newB2BHarness(t)
	h.addGuest(guestEmail, "g-gita", true)
	h.dir.branding[tenantA] = Branding{TenantName: "Contoso"}
	b := h.browser()
	id := h.request()
	b.expect(b.open(id), "username")
	b.expect(b.submit("username", guestEmail), "code")
	b.expect(b.submit("code", otpCode), "review")
	for _, want := range []string{"Contoso would like to", guestEmail, "name", "email address"} {
		if !strings.Contains(b.last.body, want) {
			t.Fatalf("review page lacks %q:\n%s", want, b.last.body)
		}
	}
	b.expect(b.submit("decision", "accept"), "kmsi")
	if !slices.Equal(h.guests.accepted, []string{tenantA + "/g-gita"}) {
		t.Fatalf("accepted %v", h.guests.accepted)
	}
	b.expect(b.submit("stay", "no"), "FINISHED "+id)
}

func TestPendingGuestDeclines(t *testing.T) {
	h := newB2BHarness(t)
	h.addGuest(guestEmail, "g-gita", true)
	b := h.browser()
	id := h.request()
	b.expect(b.open(id), "username")
	b.expect(b.submit("username", guestEmail), "code")
	b.expect(b.submit("code", otpCode), "review")
	b.expect(b.submit("decision", "cancel"), "DENIED "+id+" access_denied")
	if len(h.guests.accepted) != 0 {
		t.Fatal("a declined invitation was accepted")
	}
}

// An identity that does not prove the guest's address is refused.
func TestGuestWrongIdentity(t *testing.T) {
	h := newB2BHarness(t)
	h.addGuest("hugo@fabrikam.com", "g-hugo", false)
	h.guests.routes["hugo@fabrikam.com"] = Route{Provider: tenantBProvider}
	unverified := homeIdentity
	unverified.EmailVerified = false
	h.fed.as("hugo@fabrikam.com", unverified)
	b := h.browser()
	id := h.request()
	b.expect(b.open(id), "username")
	b.submit("username", "hugo@fabrikam.com")
	b.expect(b.viaProvider(), "username")
	if b.last.status != http.StatusForbidden || !strings.Contains(b.last.body, "can&#39;t be used for hugo@fabrikam.com") {
		t.Fatalf("status %d:\n%s", b.last.status, b.last.body)
	}
	if logged := h.log.all(); len(logged) != 1 || logged[0].ErrorCode != 50020 || logged[0].UserPrincipalName != "hugo@fabrikam.com" ||
		logged[0].HomeTenantID != tenantB || logged[0].ResourceTenantID != tenantA || logged[0].CrossTenantAccessType != authn.AccessB2BCollaboration {
		t.Fatalf("sign-in log %+v", logged)
	}
	if _, ended := h.proto.outcome(id); ended {
		t.Fatal("the request ended")
	}
}

// A member route goes to the password page as before; without Guests the
// username page keeps telling other tenants' users they have no account.
func TestGuestRoutes(t *testing.T) {
	h := newB2BHarness(t)
	h.guests.routes["ann@partner.example"] = Route{Member: true}
	b := h.browser()
	b.expect(b.open(h.request()), "username")
	b.expect(b.submit("username", "ann@partner.example"), "password")
	b.expect(b.submit("action", "back"), "username")
	b.expect(b.submit("username", "alice@contoso.com"), "password")
	if n := h.guests.count("Route"); n != 1 {
		t.Fatalf("%d routes; the tenant's own domain needs none", n)
	}

	// An address with no way to sign in is told so.
	b.expect(b.submit("action", "back"), "username")
	b.expect(b.submit("username", "zed@nowhere.example"), "username")
	if b.last.status != http.StatusOK || !strings.Contains(b.last.body, "no way for this address") {
		t.Fatalf("status %d:\n%s", b.last.status, b.last.body)
	}

	plain := newHarness(t, false)
	c := plain.browser()
	c.expect(c.open(plain.request()), "username")
	c.expect(c.submit("username", "bea@fabrikam.com"), "username")
	if !strings.Contains(c.last.body, "AADSTS50020") {
		t.Fatalf("without guests:\n%s", c.last.body)
	}
	c.expect(c.submit("username", guestEmail), "password")
	for _, path := range []string{"/redeem?ticket=" + tenantA + ".x", "/federation/callback?state=x", "/" + tenantA + "/myorganizations"} {
		if p := c.get(path); p.status != http.StatusNotFound {
			t.Errorf("without guests, %s: status %d", path, p.status)
		}
	}
}

func TestFederationCallbackRefusals(t *testing.T) {
	h := newB2BHarness(t)
	h.addGuest("hugo@fabrikam.com", "g-hugo", false)
	h.guests.routes["hugo@fabrikam.com"] = Route{Provider: tenantBProvider}
	h.fed.as("hugo@fabrikam.com", homeIdentity)

	// leave starts a sign-in in a new browser and returns the callback URL
	// the provider sends it back to.
	leave := func() (*browser, string) {
		b := h.browser()
		b.expect(b.open(h.request()), "username")
		b.submit("username", "hugo@fabrikam.com")
		b.follow()
		return b, b.last.header.Get("Location")
	}
	generic := func(p *page) {
		t.Helper()
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "identity provider") {
			t.Fatalf("status %d:\n%s", p.status, p.body)
		}
	}

	// Another browser cannot use the callback, and spends it by trying;
	// one without cookies cannot either.
	b, callback := leave()
	generic(h.browser().get(callback))
	other := h.browser()
	other.get("/" + tenantA + "/devicelogin")
	generic(other.get(callback))
	generic(b.get(callback))
	if n := h.fed.exchanged(); n != 0 {
		t.Fatalf("%d codes exchanged for a refused callback", n)
	}

	// A callback works once.
	b, callback = leave()
	if p := b.get(callback); p.status != http.StatusFound {
		t.Fatalf("status %d:\n%s", p.status, p.body)
	}
	b.expect(b.follow(), "kmsi")
	generic(b.get(callback))

	// Unknown, malformed and error states.
	state, _ := url.ParseQuery(strings.SplitN(callback, "?", 2)[1])
	tid, _, _ := strings.Cut(state.Get("state"), ".")
	for _, q := range []string{
		"state=" + tid + "." + strings.Repeat("A", 43) + "&code=x",
		"state=" + tid + "&code=x",
		"state=..&code=x",
		"code=x",
	} {
		generic(b.get("/federation/callback?" + q))
	}
	b, callback = leave()
	generic(b.get(strings.Replace(callback, "code=", "error=access_denied&x=", 1)))
	if n := h.fed.exchanged(); n != 1 {
		t.Fatalf("%d codes exchanged, want 1", n)
	}
}

func TestFederationStateExpires(t *testing.T) {
	h := newB2BHarness(t)
	h.addGuest("hugo@fabrikam.com", "g-hugo", false)
	h.guests.routes["hugo@fabrikam.com"] = Route{Provider: tenantBProvider}
	h.fed.as("hugo@fabrikam.com", homeIdentity)
	b := h.browser()
	b.expect(b.open(h.request()), "username")
	b.submit("username", "hugo@fabrikam.com")
	b.follow()
	h.clock.Advance(federationLifetime + time.Second)
	if p := b.follow(); p.status != http.StatusBadRequest {
		t.Fatalf("an expired state: status %d:\n%s", p.status, p.body)
	}
}

// The state is {tenant}.{secret}, stored only hashed, and the trip keeps no
// verifier or nonce.
func TestFederationStateKeepsNoSecret(t *testing.T) {
	h := newB2BHarness(t)
	h.guests.routes["hugo@fabrikam.com"] = Route{Provider: tenantBProvider}
	b := h.browser()
	b.expect(b.open(h.request()), "username")
	b.submit("username", "hugo@fabrikam.com")
	q, _ := url.ParseQuery(strings.SplitN(b.last.header.Get("Location"), "?", 2)[1])
	state := q.Get("state")
	tid, secret, _ := strings.Cut(state, ".")
	if tid != tenantA || !isSecret(secret) {
		t.Fatalf("state %q", state)
	}
	trip := h.fed.trips[state]
	h.store.mu.Lock()
	defer h.store.mu.Unlock()
	found := false
	for k, s := range h.store.states {
		for _, secret := range []string{secret, trip.verifier, trip.nonce} {
			if strings.Contains(string(s.Data), secret) || k.id == secret {
				t.Fatalf("state %v keeps a secret: %s", k, s.Data)
			}
		}
		found = found || k.kind == kindFederation && k.id == tripStateID(state) && s.ExpiresAt.Equal(t0.Add(federationLifetime))
	}
	if !found {
		t.Fatal("no federation state under the state's hash")
	}
}

// A browser without JavaScript signs a guest in with a passcode, as
// end-to-end tests walk the pages.
func TestPagewalkGuestPasscode(t *testing.T) {
	h := newB2BHarness(t)
	h.addGuest(guestEmail, "g-gita", false)
	id := h.request()
	w := pagewalk.New(h.srv.Client().Transport)
	_, err := w.SignIn(h.srv.URL+"/"+tenantA+"/login?request="+id, map[string]string{"username": guestEmail, "code": otpCode, "stay": "no"})
	var final *pagewalk.Final
	if !errors.As(err, &final) || final.Body != "FINISHED "+id {
		t.Fatalf("walk ended with %v", err)
	}
	if !slices.Equal(w.Steps, []string{"username", "code", "stay"}) {
		t.Fatalf("steps %v", w.Steps)
	}
	if a := h.proto.outcomes[id].auth; a.UserID != "g-gita" || a.IdP != federation.IssuerMail {
		t.Fatalf("authentication %+v", a)
	}
}

func TestTooManyCodes(t *testing.T) {
	cases := []struct {
		err  error
		wait time.Duration
		ok   bool
	}{
		{nil, 0, false},
		{ErrBadCode, 0, false},
		{ErrTooManyCodes{RetryAfter: time.Minute}, time.Minute, true},
		{&ErrTooManyCodes{RetryAfter: 2 * time.Minute}, 2 * time.Minute, true},
		{fmt.Errorf("sending: %w", ErrTooManyCodes{RetryAfter: time.Second}), time.Second, true},
		{usererr.New(usererr.Invalid, "Enter a valid email address."), 0, false},
	}
	for _, tc := range cases {
		if wait, ok := tooManyCodes(tc.err); wait != tc.wait || ok != tc.ok {
			t.Errorf("tooManyCodes(%v) = %v, %v; want %v, %v", tc.err, wait, ok, tc.wait, tc.ok)
		}
	}
}

// TestCrossTenantRefusal: when the settings refuse a guest from a home
// tenant, the pages say so with the AADSTS code, the invitation stays
// pending, and both tenants' sign-in logs hold the refusal, each with its
// own account.
func TestCrossTenantRefusal(t *testing.T) {
	for _, c := range []struct {
		code int
		text string
	}{{500212, "AADSTS500212"}, {500213, "AADSTS500213"}} {
		h := newB2BHarness(t)
		h.addGuest("hugo@fabrikam.com", "g-hugo", true)
		h.guests.routes["hugo@fabrikam.com"] = Route{Provider: tenantBProvider}
		h.guests.crossTenant[tenantB] = CrossTenant{Refused: true, Code: c.code, Reason: "the settings refuse"}
		h.fed.as("hugo@fabrikam.com", homeIdentity)
		b := h.browser()
		b.expect(b.open(h.request()), "username")
		b.submit("username", "hugo@fabrikam.com")
		p := b.viaProvider()
		if p.status != http.StatusForbidden || !strings.Contains(p.body, c.text) {
			t.Fatalf("%d: refusal page %d:\n%s", c.code, p.status, p.body)
		}
		if len(h.guests.accepted) != 0 {
			t.Errorf("%d: a refused guest's invitation was accepted", c.code)
		}
		logged := h.log.all()
		if len(logged) != 2 || logged[0].TenantID != tenantA || logged[1].TenantID != tenantB || logged[1].UserID != "u-hugo" {
			t.Fatalf("%d: sign-in logs %+v", c.code, logged)
		}
		for _, s := range logged {
			if s.ErrorCode != c.code || s.FailureReason != "the settings refuse" || s.HomeTenantID != tenantB || s.ResourceTenantID != tenantA ||
				s.CrossTenantAccessType != authn.AccessB2BCollaboration {
				t.Errorf("%d: logged %+v", c.code, s)
			}
		}
	}
}

// TestAutomaticRedemptionSkipsConsent: when both tenants redeem
// automatically, a pending guest is accepted without the permissions page.
func TestAutomaticRedemptionSkipsConsent(t *testing.T) {
	h := newB2BHarness(t)
	h.addGuest("hugo@fabrikam.com", "g-hugo", true)
	h.guests.routes["hugo@fabrikam.com"] = Route{Provider: tenantBProvider}
	h.guests.crossTenant[tenantB] = CrossTenant{AutomaticRedemption: true}
	h.fed.as("hugo@fabrikam.com", homeIdentity)
	b := h.browser()
	id := h.request()
	b.expect(b.open(id), "username")
	b.submit("username", "hugo@fabrikam.com")
	b.viaProvider()
	b.expect(b.follow(), "kmsi")
	if !slices.Equal(h.guests.accepted, []string{tenantA + "/g-hugo"}) {
		t.Fatalf("accepted %v", h.guests.accepted)
	}
	b.expect(b.submit("stay", "no"), "FINISHED "+id)
}
