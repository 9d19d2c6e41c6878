package login

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/federation"
)

const (
	ticket      = tenantA + ".invitation-secret"
	redirectURL = "https://myapps.example/?tenantId=" + tenantA
)

// invite adds a pending invitation of tenant A to the address, with its
// pending guest.
func (h *harness) invite(email, guestID string) {
	h.addGuest(email, guestID, true)
	h.guests.mu.Lock()
	defer h.guests.mu.Unlock()
	h.guests.invitations[ticket] = &fakeInvitation{Invitation: Invitation{TenantID: tenantA, TenantName: "Contoso", InvitedEmail: email,
		InviterName: "Alice", PrivacyURL: "https://contoso.example/privacy"}, redirect: redirectURL}
}

func (b *browser) openInvitation() *page {
	b.t.Helper()
	return b.get("/redeem?ticket=" + url.QueryEscape(ticket))
}

// The link only shows the invitation, however often it is followed.
func TestRedeemLinkChangesNothing(t *testing.T) {
	h := newB2BHarness(t)
	h.invite(guestEmail, "g-gita")
	for range 3 {
		b := h.browser()
		b.expect(b.openInvitation(), "invite")
		for _, want := range []string{"Alice of Contoso invited you (" + guestEmail + ")", `value="` + ticket + `"`} {
			if !strings.Contains(b.last.body, want) {
				t.Fatalf("invitation page lacks %q:\n%s", want, b.last.body)
			}
		}
	}
	for _, m := range []string{"Route", "SendCode", "Redeem"} {
		if n := h.guests.count(m); n != 0 {
			t.Errorf("%d calls of %s", n, m)
		}
	}
	if n := len(h.store.states); n != 0 {
		t.Fatalf("%d states written", n)
	}
}

func TestRedeemWithPasscode(t *testing.T) {
	h := newB2BHarness(t)
	h.invite(guestEmail, "g-gita")
	b := h.browser()
	b.expect(b.openInvitation(), "invite")
	b.expect(b.submitForm(), "code")
	if !strings.Contains(b.last.body, guestEmail) || strings.Contains(b.last.body, `value="back"`) || h.guests.sent[tenantA+"/"+guestEmail] != 1 {
		t.Fatalf("code page (sent %v):\n%s", h.guests.sent, b.last.body)
	}
	b.expect(b.submitForm("code", "0000"), "code")
	b.expect(b.submitForm("action", "resend"), "code")
	if h.guests.sent[tenantA+"/"+guestEmail] != 2 {
		t.Fatalf("sent %v", h.guests.sent)
	}
	b.expect(b.submitForm("code", otpCode), "review")
	for _, want := range []string{"Contoso would like to", guestEmail, `href="https://contoso.example/privacy"`} {
		if !strings.Contains(b.last.body, want) {
			t.Fatalf("review page lacks %q:\n%s", want, b.last.body)
		}
	}
	if len(h.guests.redeemed) != 0 {
		t.Fatal("redeemed before acceptance")
	}
	p := b.submitForm("decision", "accept")
	if p.status != http.StatusFound || p.header.Get("Location") != redirectURL {
		t.Fatalf("status %d, location %q:\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if !slices.Equal(h.guests.redeemed, []string{ticket}) {
		t.Fatalf("redeemed %v", h.guests.redeemed)
	}
	// The guest is signed in to the tenant that invited them.
	id := h.request()
	b.expect(b.open(id), "FINISHED "+id)
	if a := b.outcome(id).auth; a.UserID != "g-gita" || a.IdP != federation.IssuerMail {
		t.Fatalf("authentication %+v", a)
	}
	// The redemption is over, and the link spent.
	if n := h.store.count(tenantA, kindRedemption); n != 0 {
		t.Fatalf("%d redemptions left", n)
	}
	b.expect(b.openInvitation(), "error")
}

func TestRedeemThroughProvider(t *testing.T) {
	h := newB2BHarness(t)
	h.invite("hugo@fabrikam.com", "g-hugo")
	h.guests.routes["hugo@fabrikam.com"] = Route{Provider: tenantBProvider}
	h.fed.as("hugo@fabrikam.com", homeIdentity)
	b := h.browser()
	b.expect(b.openInvitation(), "invite")
	b.submitForm()
	// Come back from the provider without signing in, the redemption
	// shows the invitation again, whose form posts the ticket.
	b.expect(b.get("/redeem?request="+url.QueryEscape(tenantA+"."+redemptionHandle(b.browserID(), ticket))), "invite")
	if got := b.last.hidden(t).Get("request"); got != ticket {
		t.Fatalf("the invitation's form posts %q", got)
	}
	b.submitForm()
	if p := b.viaProvider(); p.status != http.StatusFound {
		t.Fatalf("back from the provider: status %d:\n%s", p.status, p.body)
	}
	b.expect(b.follow(), "review")
	p := b.submitForm("decision", "accept")
	if p.status != http.StatusFound || p.header.Get("Location") != redirectURL {
		t.Fatalf("status %d, location %q:\n%s", p.status, p.header.Get("Location"), p.body)
	}
	id := h.request()
	b.expect(b.open(id), "FINISHED "+id)
	if a := b.outcome(id).auth; a.UserID != "g-hugo" || a.IdP != homeIdentity.IdP || a.HomeTenantID != tenantB || a.HomeObjectID != "u-hugo" {
		t.Fatalf("authentication %+v", a)
	}
}

// An identity that does not prove the invited address is refused, and the
// invitation stays pending for the right one.
func TestRedeemWrongIdentity(t *testing.T) {
	h := newB2BHarness(t)
	h.invite("hugo@fabrikam.com", "g-hugo")
	h.guests.routes["hugo@fabrikam.com"] = Route{Provider: tenantBProvider}
	other := homeIdentity
	other.Email, other.Subject = "hugo.private@fabrikam.com", "u-other"
	h.fed.as("hugo@fabrikam.com", other)
	b := h.browser()
	b.expect(b.openInvitation(), "invite")
	b.submitForm()
	b.viaProvider()
	b.expect(b.follow(), "review")
	b.expect(b.submitForm("decision", "accept"), "error")
	if b.last.status != http.StatusForbidden || !strings.Contains(b.last.body, "You signed in as hugo.private@fabrikam.com, but the invitation was sent to hugo@fabrikam.com") {
		t.Fatalf("status %d:\n%s", b.last.status, b.last.body)
	}
	if h.guests.count("Redeem") != 1 || len(h.guests.redeemed) != 0 {
		t.Fatalf("redeemed %v", h.guests.redeemed)
	}
	b.expect(b.openInvitation(), "invite")
}

func TestRedeemRefusals(t *testing.T) {
	h := newB2BHarness(t)
	h.invite(guestEmail, "g-gita")
	b := h.browser()
	invalid := func(p *page) string {
		t.Helper()
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "invalid or has expired") {
			t.Fatalf("status %d:\n%s", p.status, p.body)
		}
		return neutral(p.body, "")
	}
	unknown := invalid(b.get("/redeem?ticket=" + tenantA + ".other"))
	if got := invalid(b.get("/redeem?ticket=" + strings.Repeat("x", maxTicket+1))); got != unknown {
		t.Fatal("a long ticket has its own page")
	}
	invalid(b.get("/redeem"))
	invalid(b.get("/redeem?request=" + tenantA + "." + strings.Repeat("0", 64)))

	// An invited address the tenant can no longer route is told so.
	h.guests.mu.Lock()
	h.guests.invitations[tenantA+".nowhere"] = &fakeInvitation{Invitation: Invitation{TenantID: tenantA, TenantName: "Contoso", InvitedEmail: "zed@nowhere.example"}}
	h.guests.mu.Unlock()
	b.expect(b.get("/redeem?ticket="+tenantA+".nowhere"), "invite")
	b.expect(b.submitForm(), "error")
	if b.last.status != http.StatusForbidden || !strings.Contains(b.last.body, "no way for this address") {
		t.Fatalf("status %d:\n%s", b.last.status, b.last.body)
	}

	// A redemption belongs to the browser that began it.
	b.expect(b.openInvitation(), "invite")
	b.expect(b.submitForm(), "code")
	request := b.last.hidden(t).Get("request")
	thief := h.browser()
	invalid(thief.get("/redeem?request=" + url.QueryEscape(request)))

	// A blocked domain is said so.
	h.guests.blocked["gmail.example"] = true
	b.expect(b.submitForm("code", otpCode), "review")
	b.expect(b.submitForm("decision", "accept"), "error")
	if b.last.status != http.StatusForbidden || !strings.Contains(b.last.body, "email domain") {
		t.Fatalf("blocked: status %d:\n%s", b.last.status, b.last.body)
	}

	// Declining shares nothing; the card says so in the inviting
	// organization's branding.
	h.guests.blocked["gmail.example"] = false
	h.dir.branding[tenantA] = Branding{TenantName: "Contoso", BackgroundColor: "#123abc", UploadedLogo: "/branding/" + tenantA + "/0/bannerLogo/ab.png",
		TermsURL: "https://contoso.example/terms"}
	b.expect(b.openInvitation(), "invite")
	b.expect(b.submitForm(), "code")
	b.expect(b.submitForm("code", otpCode), "review")
	b.expect(b.submitForm("decision", "cancel"), "message")
	if !strings.Contains(b.last.body, "declined") || len(h.guests.redeemed) != 0 {
		t.Fatalf("declined:\n%s", b.last.body)
	}
	for _, want := range []string{"body{background:#123abc}", `<img class="logo" src="/branding/` + tenantA + `/0/bannerLogo/ab.png" alt="Contoso">`,
		`<a href="https://contoso.example/terms" rel="noopener noreferrer" target="_blank">Terms of use</a>`, `data-id="request"`} {
		if !strings.Contains(b.last.body, want) {
			t.Errorf("the declined card lacks %q", want)
		}
	}
	if csp := b.last.header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' https:") {
		t.Errorf("the card's CSP does not let its logo load: %s", csp)
	}

	// A post without the browser's token does nothing.
	calls := h.guests.count("Invitation")
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+"/redeem", strings.NewReader(url.Values{"request": {ticket}, "step": {"invite"}, "csrf": {"forged"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if p := b.do(req); p.status != http.StatusForbidden || h.guests.count("Invitation") != calls {
		t.Fatalf("forged post: status %d", p.status)
	}
}

// browserID is the browser's id cookie.
func (b *browser) browserID() string {
	b.t.Helper()
	u, _ := url.Parse(b.h.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == b.h.pages.cookies.browser {
			return c.Value
		}
	}
	b.t.Fatal("no browser cookie")
	return ""
}

func TestRedeemPasscodeLimit(t *testing.T) {
	h := newB2BHarness(t)
	h.invite(guestEmail, "g-gita")
	h.guests.limited[guestEmail] = true
	b := h.browser()
	b.expect(b.openInvitation(), "invite")
	p := b.submitForm()
	b.expect(p, "code")
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") != "90" || !strings.Contains(p.body, "Too many codes") {
		t.Fatalf("status %d, Retry-After %q:\n%s", p.status, p.header.Get("Retry-After"), p.body)
	}
}

// TestRedeemUnderCrossTenantAccess: a redemption the settings refuse ends
// on a page with the AADSTS code, nothing redeemed and both tenants'
// logs told; one both tenants redeem automatically skips the permissions
// page.
func TestRedeemUnderCrossTenantAccess(t *testing.T) {
	for _, c := range []struct {
		name string
		ct   CrossTenant
	}{
		{"refused", CrossTenant{Refused: true, Code: 500213, Reason: "the resource refuses"}},
		{"automatic", CrossTenant{AutomaticRedemption: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newB2BHarness(t)
			h.invite("hugo@fabrikam.com", "g-hugo")
			h.guests.routes["hugo@fabrikam.com"] = Route{Provider: tenantBProvider}
			h.guests.crossTenant[tenantB] = c.ct
			h.fed.as("hugo@fabrikam.com", homeIdentity)
			b := h.browser()
			b.expect(b.openInvitation(), "invite")
			b.submitForm()
			p := b.viaProvider()
			if c.ct.Refused {
				if p.status != http.StatusForbidden || !strings.Contains(p.body, "AADSTS500213") || len(h.guests.redeemed) != 0 {
					t.Fatalf("refused redemption: status %d, redeemed %v:\n%s", p.status, h.guests.redeemed, p.body)
				}
				if logged := h.log.all(); len(logged) != 2 || logged[0].ErrorCode != 500213 || logged[1].TenantID != tenantB {
					t.Fatalf("sign-in logs %+v", logged)
				}
				return
			}
			if p.status != http.StatusFound || p.header.Get("Location") != redirectURL || len(h.guests.redeemed) != 1 {
				t.Fatalf("automatic redemption: status %d, location %q, redeemed %v:\n%s", p.status, p.header.Get("Location"), h.guests.redeemed, p.body)
			}
		})
	}
}
