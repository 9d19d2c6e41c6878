package admin

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/xtap"
)

// TestCatalogComplete keeps every language's catalog in step with English.
func TestCatalogComplete(t *testing.T) {
	cat, err := i18n.Load(pageFS, "messages")
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range i18n.CheckComplete(cat) {
		t.Error(err)
	}
}

// TestCookies: on https the console's cookies are __Host- prefixed,
// Secure, HttpOnly and SameSite=Lax; on http (development) they cannot be
// Secure and so carry no prefix.
func TestCookies(t *testing.T) {
	for _, secure := range []bool{true, false} {
		c := &Console{secure: secure, cookies: newCookieNames(secure)}
		w := httptest.NewRecorder()
		c.setCookie(w, c.cookies.session, "v", 0)
		ck := w.Result().Cookies()[0]
		if strings.HasPrefix(ck.Name, "__Host-") != secure || ck.Secure != secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
			t.Errorf("secure %v: %+v", secure, ck)
		}
	}
}

func TestTenantCookie(t *testing.T) {
	const tenant = "0b6f6a4e-2f5c-4c1e-9a59-3d0c7d8e9f10"
	secret := strings.Repeat("A", 43)
	cases := []struct {
		value string
		ok    bool
	}{
		{tenant + "." + secret, true},
		{"contoso.example." + secret, false},
		{tenant + "." + secret + "A", false},
		{tenant + "." + strings.Repeat("A", 42) + "B", false}, // not canonical base64url
		{tenant, false},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/admin", nil)
		r.AddCookie(&http.Cookie{Name: "gh-admin", Value: tc.value})
		if _, _, ok := tenantCookie(r, "gh-admin"); ok != tc.ok {
			t.Errorf("%q: ok = %v", tc.value, ok)
		}
	}
}

func TestSearchIn(t *testing.T) {
	cases := map[string]string{
		"car":         `"displayName:car" OR "userPrincipalName:car" OR "mail:car"`,
		`a"b`:         `"displayName:a b" OR "userPrincipalName:a b" OR "mail:a b"`,
		" two words ": `"displayName:two words" OR "userPrincipalName:two words" OR "mail:two words"`,
	}
	for in, want := range cases {
		if got := searchIn(in, userSearchProps...); got != want {
			t.Errorf("searchIn(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestPagesRenderInEveryLanguage: each page renders in each language with
// no missing message, and the layout's landmarks.
func TestPagesRenderInEveryLanguage(t *testing.T) {
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := i18n.Load(pageFS, "messages")
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{
		"start": "", "error": nil, "overview": overviewPage{CanReadSignIns: true}, "mine": minePage{},
		"users": usersPage{CanCreate: true, CanInvite: true}, "deleted": deletedPage{},
		"crosstenant": crossTenantPage{CanWrite: true, WhatIf: url.Values{}, Partners: []settingsView{{TenantID: "p"}},
			WhatIfResult: &whatIfView{Decision: "blocked", DecidingLayer: "resourceInbound", Layers: []xtap.LayerResult{{Layer: "l"}}}},
		"audit": &logPage{Form: url.Values{}, Next: "?after=x", Records: []directory.Doc{{"activityDisplayName": "Add user", "initiatedBy": map[string]any{"user": map[string]any{"userPrincipalName": "a@b"}},
			"targetResources": []any{map[string]any{"id": "x"}}}}},
		"signins": &logPage{Form: url.Values{}, Records: []directory.Doc{{"status": map[string]any{"errorCode": 50126}}}},
		"user":    userPage{User: directory.Object{Doc: directory.Doc{"accountEnabled": true}}, CanWrite: true, CanGroups: true, CanRoles: true, IsGuest: true, CanInvite: true, Done: "saved"},
		"apps": appListPage{CanCreate: true, Audiences: audiences, Platforms: platforms, Form: url.Values{}, Next: "x",
			Objects: []directory.Object{{ID: "a", Doc: directory.Doc{"displayName": "A", "signInAudience": "AzureADMyOrg"}}}},
		"app": appPage{App: directory.Object{ID: "a", Doc: directory.Doc{"displayName": "A", "signInAudience": "AzureADMultipleOrgs"}}, Secret: "s",
			Principal: &directory.Object{ID: "p"}, RedirectURI: []redirectURI{{Platform: "spa", URI: "https://a.example/"}}, Secrets: []map[string]any{{"hint": "abc"}},
			Permissions: []permission{{Type: "Role", Name: "R"}}, Offered: []resourcePermissions{{Resource: "G", Options: []permission{{Type: "Scope", Name: "S"}}}},
			Owners:    ownersBox{View: &view{L: cat.Locale("en"), CSRF: "x"}, Can: true, Search: "c", Owners: []directory.Object{{ID: "o"}}, Found: []directory.Object{{ID: "c"}}},
			Platforms: platforms, Lifetimes: secretLifetimes, CanWrite: true, CanSecrets: true, CanOwners: true, CanDelete: true, CanConsent: true, Done: "consented"},
		"enterpriseapp": enterprisePage{SP: directory.Object{ID: "p", Doc: directory.Doc{"appRoleAssignmentRequired": true}}, RoleNames: map[string]string{"r": "R"},
			Resources: map[string]string{}, Roles: []permission{{ID: "r", Name: "R"}}, Principals: []directory.Object{{ID: "u"}},
			Assigned: []directory.Object{{ID: "x", Doc: directory.Doc{"appRoleId": "r"}}}, Held: []directory.Object{{ID: "y"}}, Grants: []directory.Object{{ID: "g", Doc: directory.Doc{"consentType": "AllPrincipals"}}},
			Owners: ownersBox{View: &view{L: cat.Locale("en")}}, CanWrite: true, CanAssign: true, CanRevoke: true, CanOwners: true, CanReadGrants: true, Done: "saved"},
		"groups": groupsPage{CanCreate: true, Next: "x", Form: url.Values{}, Groups: []directory.Object{{ID: "g", Doc: directory.Doc{"displayName": "G"}}}},
		"group": groupPage{Group: directory.Object{ID: "g", Doc: directory.Doc{"securityEnabled": true}}, CanWrite: true, CanMembers: true, CanInvite: true, CanSearch: true,
			Search: "a", Found: []directory.Object{{ID: "u", Kind: directory.KindUser}}, Members: []directory.Object{{ID: "u"}}, Owners: []directory.Object{{ID: "o"}}, Done: "invited"},
		"roles": []directory.Object{{ID: "r", Doc: directory.Doc{"displayName": "R"}}},
		"role":  rolePage{Role: directory.Object{ID: "r"}, Members: []directory.Object{{ID: "u", Kind: directory.KindUser}}, CanAssign: true, CanSearch: true, Search: "x", Done: "saved"},
		"collab": collabPage{WriteAuthz: true, ReadDomains: true, WriteDomains: true, ReadEmailOTP: true, WriteEmailOTP: true, ReadSignUp: true, WriteSignUp: true,
			DomainMode: "block", Domains: []string{"a.example"}, EmailOTP: "default", GuestRoles: guestRoles, OTPChoices: []string{"default"}, InviteChoices: []string{"everyone"}},
		"collab-readonly": collabPage{ReadDomains: true, ReadEmailOTP: true, ReadSignUp: true, DomainMode: "any", EmailOTP: "disabled", AllowInvitesFrom: "none", GuestRoles: guestRoles},
	}
	for name, pg := range data {
		for _, lang := range i18n.Languages {
			vw := &view{L: cat.Locale(lang), Langs: i18n.Languages, Tenant: "t", CSRF: "x", Title: "T", Page: pg,
				Nav: []navItem{{Href: "/admin/t/", Label: "o", Current: true}}}
			var b strings.Builder
			page, _, _ := strings.Cut(name, "-") // a second view of one page: "collab-readonly"
			if err := pages[page].ExecuteTemplate(&b, "layout", vw); err != nil {
				t.Fatalf("%s/%s: %v", name, lang, err)
			}
			out := b.String()
			for _, want := range []string{`<html lang="` + lang + `">`, `<main id="main"`, `class="skip" href="#main"`, `aria-current="page"`} {
				if !strings.Contains(out, want) {
					t.Errorf("%s/%s lacks %s", name, lang, want)
				}
			}
		}
	}
}

// TestTemplateKeysExist: every message a template names literally is in
// the catalog (a missing one would render as nothing).
func TestTemplateKeysExist(t *testing.T) {
	cat, err := i18n.Load(pageFS, "messages")
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(pageFS, "templates/*.html")
	key := regexp.MustCompile(`\.L\.T "([^"]+)"`)
	for _, name := range names {
		b, _ := fs.ReadFile(pageFS, name)
		for _, m := range key.FindAllStringSubmatch(string(b), -1) {
			if _, ok := cat["en"][m[1]]; !ok {
				t.Errorf("%s: no message %q", name, m[1])
			}
		}
	}
	for _, k := range []string{"user.done.enabled", "user.done.disabled", "user.done.saved", "user.done.invited", "user.done.restored", "lang.en", "lang.sv", "lang.it", "lang.pl"} {
		if _, ok := cat["en"][k]; !ok {
			t.Errorf("no message %q", k)
		}
	}
}

func TestLogFilters(t *testing.T) {
	cases := []struct {
		log  string
		form url.Values
		want string
		bad  bool
	}{
		{"audit", url.Values{}, "", false},
		{"audit", url.Values{"activity": {"Add"}, "category": {"UserManagement"}, "result": {"success"}},
			"startsWith(activityDisplayName, 'Add') and category eq 'UserManagement' and result eq 'success'", false},
		{"audit", url.Values{"initiator": {"o'brien@x"}, "target": {"Car"}},
			"startsWith(initiatedBy/user/userPrincipalName, 'o''brien@x') and targetResources/any(t: startsWith(t/displayName, 'Car'))", false},
		{"audit", url.Values{"to": {"2026-12-03"}}, "activityDateTime lt 2026-12-04T00:00:00Z", false},
		{"audit", url.Values{"from": {"3 Dec"}}, "", true},
		{"signins", url.Values{"user": {"al"}, "error": {"0"}, "interactive": {"on"}, "from": {"2026-12-01"}},
			"startsWith(userPrincipalName, 'al') and status/errorCode eq 0 and isInteractive eq true and createdDateTime ge 2026-12-01T00:00:00Z", false},
		{"signins", url.Values{"error": {"x"}}, "", true},
	}
	for _, tc := range cases {
		f := auditFilter
		if tc.log == "signins" {
			f = signInFilter
		}
		got, err := f(tc.form)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("%s %v: %q %v, want %q", tc.log, tc.form, got, err, tc.want)
			continue
		}
		if got != "" {
			if _, err := odata.ParseFilter(got); err != nil {
				t.Errorf("%q does not parse: %v", got, err)
			}
		}
	}
}
