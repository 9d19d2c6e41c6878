package login

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/federation"
)

// postOrgs posts the organizations page's form with the browser's token.
func (b *browser) postOrgs(tenant string, form url.Values) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.h.srv.URL+"/"+tenant+"/myorganizations", strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfField = `<input type="hidden" name="csrf" value="`

func (p *page) csrf(t *testing.T) string {
	t.Helper()
	_, rest, ok := strings.Cut(p.body, csrfField)
	if !ok {
		t.Fatalf("no token:\n%s", p.body)
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

func TestMyOrganizations(t *testing.T) {
	h := newB2BHarness(t)
	h.guests.orgs[tenantA+"/u-alice"] = []Organization{{TenantID: tenantB, Name: "Fabrikam"}, {TenantID: tenantA, Name: "Contoso", Home: true}, {TenantID: "tenant-d", Name: "Datum"}}
	b := h.browser()

	// Without a session the page offers to sign in, at the tenant itself.
	b.expect(b.get("/"+tenantA+"/myorganizations"), "orgs")
	if strings.Contains(b.last.body, "Contoso") || !strings.Contains(b.last.body, `value="signin"`) {
		t.Fatalf("signed out:\n%s", b.last.body)
	}
	p := b.postOrgs(tenantA, url.Values{"csrf": {b.last.csrf(t)}, "action": {"signin"}})
	q, _ := url.ParseQuery(strings.SplitN(p.header.Get("Location"), "?", 2)[1])
	if trip := h.fed.trips[q.Get("state")]; trip.tenant != tenantA || trip.provider != h.pages.tenantProvider(tenantA) || !strings.HasSuffix(trip.provider.Issuer, "/"+tenantA+"/v2.0") {
		t.Fatalf("sign-in trip %+v", trip)
	}
	// The tenant's own sign-in leaves a session there (not in this fake),
	// and its callback comes back to the page.
	h.fed.as("", federation.Identity{Issuer: "https://login.example/" + tenantA + "/v2.0", Subject: "u-alice", HomeTenantID: tenantA, HomeObjectID: "u-alice"})
	b.follow()
	if p := b.follow(); p.status != http.StatusFound || p.header.Get("Location") != "/"+tenantA+"/myorganizations" {
		t.Fatalf("back from signing in: status %d, location %q", p.status, p.header.Get("Location"))
	}

	// Signed in, the home organization comes first and cannot be left.
	b.signIn(h.request(), "alice@contoso.com", alicePW, false)
	b.expect(b.get("/"+tenantA+"/myorganizations"), "orgs")
	body := b.last.body
	if i, j, k := strings.Index(body, "Contoso"), strings.Index(body, "Fabrikam"), strings.Index(body, "Datum"); i < 0 || j < i || k < j {
		t.Fatalf("order:\n%s", body)
	}
	if strings.Contains(body, `name="org" value="`+tenantA+`"`) || !strings.Contains(body, `name="org" value="`+tenantB+`"`) {
		t.Fatalf("leave buttons:\n%s", body)
	}

	// Leaving needs the browser's token.
	token := b.last.csrf(t)
	if p := b.postOrgs(tenantA, url.Values{"csrf": {"forged"}, "action": {"leave"}, "org": {tenantB}}); p.status != http.StatusForbidden || len(h.guests.left) != 0 {
		t.Fatalf("forged leave: status %d, left %v", p.status, h.guests.left)
	}
	b.expect(b.postOrgs(tenantA, url.Values{"csrf": {token}, "action": {"leave"}, "org": {tenantA}}), "orgs")
	b.expect(b.postOrgs(tenantA, url.Values{"csrf": {token}, "action": {"leave"}, "org": {tenantB}}), "orgs")
	if !slices.Equal(h.guests.left, []string{tenantA + "/u-alice/" + tenantB}) || strings.Contains(b.last.body, "Fabrikam") || !strings.Contains(b.last.body, "Datum") {
		t.Fatalf("left %v:\n%s", h.guests.left, b.last.body)
	}
}

// A guest of this deployment sees their home account's organizations.
func TestMyOrganizationsOfGuest(t *testing.T) {
	h := newB2BHarness(t)
	h.addGuest("hugo@fabrikam.com", "g-hugo", false)
	h.guests.routes["hugo@fabrikam.com"] = Route{Provider: tenantBProvider}
	h.fed.as("hugo@fabrikam.com", homeIdentity)
	h.guests.orgs[tenantB+"/u-hugo"] = []Organization{{TenantID: tenantB, Name: "Fabrikam", Home: true}, {TenantID: tenantA, Name: "Contoso"}}
	b := h.browser()
	b.expect(b.open(h.request()), "username")
	b.submit("username", "hugo@fabrikam.com")
	b.viaProvider()
	b.expect(b.follow(), "kmsi")
	b.submit("stay", "no")
	b.expect(b.get("/"+tenantA+"/myorganizations"), "orgs")
	if !strings.Contains(b.last.body, "Fabrikam") || !strings.Contains(b.last.body, "hugo@fabrikam.com") {
		t.Fatalf("guest's organizations:\n%s", b.last.body)
	}
}

func TestSignUpInConsumersTenant(t *testing.T) {
	h := newB2BHarness(t)
	b := h.browser()
	id := h.request(func(r *authn.Request) { r.TenantID = tenantC })
	b.expect(b.get("/"+tenantC+"/login?request="+id), "username")
	if !strings.Contains(b.last.body, `value="signup"`) {
		t.Fatalf("no sign-up offered:\n%s", b.last.body)
	}
	b.expect(b.submitForm("action", "signup"), "signup")
	b.expect(b.submitForm("username", "not-an-address"), "signup")
	b.expect(b.submitForm("username", "pat@mail.example"), "signupcode")
	b.expect(b.submitForm("code", "0", "displayName", "Pat", "new", "long enough", "confirm", "long enough"), "signupcode")
	b.expect(b.submitForm("code", otpCode, "displayName", "Pat", "new", "short", "confirm", "short"), "signupcode")
	if !strings.Contains(b.last.body, "at least 8") {
		t.Fatalf("a refused password:\n%s", b.last.body)
	}
	b.expect(b.submitForm("action", "resend"), "signupcode")
	if !strings.Contains(b.last.body, `name="action" value="back"`) {
		t.Fatalf("no way back:\n%s", b.last.body)
	}
	b.expect(b.submitForm("action", "back"), "signup")
	b.expect(b.submitForm("username", "pat@mail.example"), "signupcode")
	b.expect(b.submitForm("code", otpCode, "displayName", "Pat", "new", "long enough", "confirm", "long enough"), "kmsi")
	b.expect(b.submitForm("stay", "no"), "consent")
	if a, ok := h.guests.accounts["pat@mail.example"]; !ok || a.DisplayName != "Pat" || a.TenantID != tenantC {
		t.Fatalf("accounts %v", h.guests.accounts)
	}

	// Other tenants offer no sign-up, and their guests' addresses are not
	// personal accounts.
	other := h.browser()
	other.expect(other.open(h.request()), "username")
	if strings.Contains(other.last.body, `value="signup"`) {
		t.Fatal("sign-up offered outside the consumers tenant")
	}
}

// A guest whose identity is not an account of this deployment has no home
// account to list the organizations of.
func TestMyOrganizationsOfPasscodeGuest(t *testing.T) {
	h := newB2BHarness(t)
	h.addGuest(guestEmail, "g-gita", false)
	b := h.browser()
	b.expect(b.open(h.request()), "username")
	b.expect(b.submit("username", guestEmail), "code")
	b.expect(b.submit("code", otpCode), "kmsi")
	b.submit("stay", "no")
	b.expect(b.get("/"+tenantA+"/myorganizations"), "orgs")
	if !strings.Contains(b.last.body, "can&#39;t be listed") || strings.Contains(b.last.body, `name="org"`) || strings.Contains(b.last.body, `value="signin"`) {
		t.Fatalf("passcode guest:\n%s", b.last.body)
	}
}
