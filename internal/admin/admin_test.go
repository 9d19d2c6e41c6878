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

func TestSearchOf(t *testing.T) {
	cases := map[string]string{
		"car":         `"displayName:car" OR "userPrincipalName:car" OR "mail:car"`,
		`a"b`:         `"displayName:a b" OR "userPrincipalName:a b" OR "mail:a b"`,
		" two words ": `"displayName:two words" OR "userPrincipalName:two words" OR "mail:two words"`,
	}
	for in, want := range cases {
		if got := searchOf(in); got != want {
			t.Errorf("searchOf(%q) = %s, want %s", in, got, want)
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
		"user": userPage{User: directory.Object{Doc: directory.Doc{"accountEnabled": true}}, CanWrite: true, CanGroups: true, CanRoles: true, IsGuest: true, CanInvite: true, Done: "saved"},
	}
	for name, pg := range data {
		for _, lang := range i18n.Languages {
			vw := &view{L: cat.Locale(lang), Langs: i18n.Languages, Tenant: "t", CSRF: "x", Title: "T", Page: pg,
				Nav: []navItem{{Href: "/admin/t/", Label: "o", Current: true}}}
			var b strings.Builder
			if err := pages[name].ExecuteTemplate(&b, "layout", vw); err != nil {
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
