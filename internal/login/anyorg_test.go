package login

import (
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authn"
)

// anyOrgRequest is a request sent to the organizations endpoint.
func anyOrgRequest(r *authn.Request) {
	r.TenantID, r.AnyOrganization, r.Unbound = "organizations", true, true
}

var formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)

// submitForm posts the current page's form, to where the form says, with
// its hidden fields plus fields.
func (b *browser) submitForm(fields ...string) *page {
	b.t.Helper()
	form := b.last.hidden(b.t)
	for i := 0; i+1 < len(fields); i += 2 {
		form.Set(fields[i], fields[i+1])
	}
	action := formAction.FindStringSubmatch(b.last.body)
	if action == nil {
		b.t.Fatalf("no form action:\n%s", b.last.body)
	}
	req, err := http.NewRequest(http.MethodPost, b.h.srv.URL+html.UnescapeString(action[1]), strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// fabrikamUser adds Bea of tenant B, who has consented to the client.
func (h *harness) fabrikamUser() {
	h.dir.addUser(fakeUser{User: User{ID: "u-bea", TenantID: tenantB, UserPrincipalName: "bea@fabrikam.com", DisplayName: "Bea"}, password: "bea's secret"})
	h.dir.grant(tenantB, "u-bea", client, "openid", "profile")
	h.dir.branding[tenantB] = Branding{TenantName: "Fabrikam"}
}

func TestAnyOrganizationRehomesByUsername(t *testing.T) {
	h := newHarness(t, false)
	h.fabrikamUser()
	b := h.browser()
	id := h.request(anyOrgRequest)
	b.expect(b.get("/organizations/login?request="+id), "username")
	if strings.Contains(b.last.body, "Fabrikam") || !strings.Contains(b.last.body, `action="/organizations/login"`) {
		t.Fatalf("the unbound username page:\n%s", b.last.body)
	}
	b.expect(b.submitForm("username", "bea@fabrikam.com"), "password")
	moved := id + "@" + tenantB
	if !strings.Contains(b.last.body, "Fabrikam") || !strings.Contains(b.last.body, `action="/`+tenantB+`/login"`) || b.last.hidden(t).Get("request") != moved {
		t.Fatalf("the password page after rehoming:\n%s", b.last.body)
	}
	b.expect(b.submitForm("password", "bea's secret"), "kmsi")
	b.expect(b.submitForm("stay", "yes"), "FINISHED "+moved)
	if o := b.outcome(moved); o.auth.TenantID != tenantB || o.auth.UserID != "u-bea" {
		t.Fatalf("finished as %+v", o.auth)
	}

	// The browser's only sessions are in tenant B: the next request for any
	// organization goes there and signs in silently.
	next := h.request(anyOrgRequest, withPrompt("none"))
	b.expect(b.get("/organizations/login?request="+next), "FINISHED "+next+"@"+tenantB)
}

func TestAnyOrganizationRefusals(t *testing.T) {
	h := newHarness(t, false)
	h.fabrikamUser()
	b := h.browser()
	id := h.request(anyOrgRequest)
	b.expect(b.get("/organizations/login?request="+id), "username")
	for _, name := range []string{"x@nowhere.example", "localname"} {
		b.expect(b.submitForm("username", name), "username")
		if !strings.Contains(b.last.body, "AADSTS50034") {
			t.Fatalf("%s found a tenant:\n%s", name, b.last.body)
		}
	}
	// A form for a later step is stale: the username page is shown again.
	b.expect(b.submitForm("step", "password", "password", "x"), "username")

	// Without a session or hint, a silent request cannot find the tenant.
	silent := h.request(anyOrgRequest, withPrompt("none"))
	b.get("/organizations/login?request=" + silent)
	if o := b.outcome(silent); o.code != "login_required" {
		t.Fatalf("silent request for any organization ended %+v", o)
	}

	// A request for one tenant is never rehomed.
	own := h.request()
	b.expect(b.open(own), "username")
	b.expect(b.submit("username", "bea@fabrikam.com"), "username")
	if !strings.Contains(b.last.body, "AADSTS50020") {
		t.Fatalf("a tenant's request took another tenant's user:\n%s", b.last.body)
	}
}

func TestAnyOrganizationLoginHint(t *testing.T) {
	h := newHarness(t, false)
	h.fabrikamUser()
	b := h.browser()
	id := h.request(anyOrgRequest, func(r *authn.Request) { r.LoginHint = "bea@fabrikam.com" })
	b.expect(b.get("/organizations/login?request="+id), "username")
	if b.last.hidden(t).Get("request") != id+"@"+tenantB || !strings.Contains(b.last.body, `value="bea@fabrikam.com"`) {
		t.Fatalf("login_hint did not lead to tenant B:\n%s", b.last.body)
	}
}

func TestAdminConsentPage(t *testing.T) {
	h := newHarness(t, false)
	h.dir.admins[tenantA+"/u-alice"] = true
	scopes := func(r *authn.Request) { r.AdminConsent, r.Scopes = true, []string{"openid", "User.Read"} }

	// Bob is no administrator: he is told so before any Accept button, and
	// an acceptance posted anyway ends the request, granting nothing.
	b := h.browser()
	id := h.request(scopes)
	b.toConsent(id, "bob@contoso.com", "bob's secret")
	if !strings.Contains(b.last.body, "Need admin approval") || !strings.Contains(b.last.body, `value="return"`) ||
		strings.Contains(b.last.body, `value="accept"`) {
		t.Fatalf("a member's organization-wide consent page:\n%s", b.last.body)
	}
	b.expect(b.submit("decision", "return"), "DENIED "+id+" access_denied")
	if o := b.outcome(id); !strings.HasPrefix(o.description, "AADSTS90094: ") {
		t.Fatalf("denied with %q, want AADSTS90094", o.description)
	}
	id = h.request(scopes)
	b.expect(b.open(id), "consent")
	b.expect(b.submit("decision", "accept"), "DENIED "+id+" access_denied")
	if len(h.dir.orgWide) != 0 {
		t.Fatalf("a member granted %v", h.dir.orgWide)
	}

	// Alice, an administrator who already consented for herself, is asked
	// for the organization anyway, and grants it.
	a := h.browser()
	id = h.request(scopes)
	a.toConsent(id, "alice@contoso.com", alicePW)
	if !strings.Contains(a.last.body, "on behalf of your organization") || !strings.Contains(a.last.body, `value="accept"`) {
		t.Fatalf("the consent page does not say it is for the organization:\n%s", a.last.body)
	}
	a.expect(a.submit("decision", "accept"), "FINISHED "+id)
	if got := h.dir.orgWide[tenantA+"/"+client]; !slices.Equal(got, []string{"openid", "User.Read"}) {
		t.Fatalf("granted for the organization: %v", got)
	}
}
