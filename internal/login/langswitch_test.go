package login

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authn"
)

var switchLink = regexp.MustCompile(`<a href="([^"]+)" lang="([a-z]+)" hreflang="[a-z]+"( aria-current="true")?>`)

// langLinks are the page's language switch: each language's link, and the
// language marked current.
func langLinks(t *testing.T, p *page) (map[string]string, string) {
	t.Helper()
	links, current := map[string]string{}, ""
	for _, m := range switchLink.FindAllStringSubmatch(p.body, -1) {
		links[m[2]] = html.UnescapeString(m[1])
		if m[3] != "" {
			current = m[2]
		}
	}
	if len(links) != 4 {
		t.Fatalf("switch has %d languages:\n%s", len(links), p.body)
	}
	return links, current
}

func pageLang(p *page) string {
	if m := regexp.MustCompile(`<html lang="([a-z]+)">`).FindStringSubmatch(p.body); m != nil {
		return m[1]
	}
	return ""
}

// TestLanguageSwitch: the switch shows the current step again in the
// chosen language, which beats the browser's and the application's and
// lasts for the rest of the flow, and for the error card too.
func TestLanguageSwitch(t *testing.T) {
	h := newHarness(t, false)
	b := h.browser()
	b.header.Set("Accept-Language", "pl")
	id := h.request(func(r *authn.Request) { r.UILocales = []string{"it"} })
	p := b.open(id)
	b.expect(p, "username")
	links, current := langLinks(t, p)
	if pageLang(p) != "it" || current != "it" {
		t.Fatalf("before the switch: page %q, current %q", pageLang(p), current)
	}
	p = b.get(strings.TrimPrefix(links["sv"], h.srv.URL))
	b.expect(p, "username")
	if _, current = langLinks(t, p); pageLang(p) != "sv" || current != "sv" {
		t.Fatalf("after the switch: page %q, current %q", pageLang(p), current)
	}
	// The next step is in the chosen language.
	p = b.submit("username", "alice@contoso.com")
	b.expect(p, "password")
	if pageLang(p) != "sv" || !strings.Contains(p.body, h.pages.catalog.Locale("sv").T("title.password")) {
		t.Fatalf("next step is not in Swedish:\n%s", p.body)
	}
	// So is the error card.
	if p = b.open("req-unknown"); p.status != http.StatusBadRequest || pageLang(p) != "sv" {
		t.Fatalf("error card: %d in %q", p.status, pageLang(p))
	}
}

// TestLanguageSwitchRefusesUnknown: a lang the pages do not speak changes
// nothing and sets no cookie.
func TestLanguageSwitchRefusesUnknown(t *testing.T) {
	h := newHarness(t, false)
	b := h.browser()
	for _, lang := range []string{"de", "SV", "", "sv;", "sv%00"} {
		p := b.get("/" + tenantA + "/login?request=" + h.request() + "&lang=" + lang)
		b.expect(p, "username")
		if pageLang(p) != "en" {
			t.Fatalf("lang=%q: page in %q", lang, pageLang(p))
		}
		for _, c := range p.set {
			if c.Name == h.pages.cookies.lang {
				t.Fatalf("lang=%q set the cookie", lang)
			}
		}
	}
}
