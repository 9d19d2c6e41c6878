package login

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestDeviceLoginPage(t *testing.T) {
	h := newHarness(t, false)
	b := h.browser()
	path := "/" + tenantA + "/devicelogin"
	entry := b.get(path)
	if entry.status != http.StatusOK || entry.step() != "device" || !strings.Contains(entry.body, `name="code"`) {
		t.Fatalf("device page: %d\n%s", entry.status, entry.body)
	}
	send := func(form url.Values) *page {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return b.do(req)
	}
	withCode := func(code string) url.Values {
		f := entry.hidden(t)
		f.Set("code", code)
		return f
	}
	cases := []struct {
		name, code string
		status     int
		says       string
	}{
		{"wrong code", "ZZZZ-ZZZZ", http.StatusOK, "didn&#39;t work"},
		{"empty code", "", http.StatusOK, "didn&#39;t work"},
		{"throttled", "SLOW-SLOW", http.StatusTooManyRequests, "Too many codes"},
	}
	for _, c := range cases {
		p := send(withCode(c.code))
		if p.status != c.status || !strings.Contains(p.body, c.says) {
			t.Errorf("%s: %d\n%s", c.name, p.status, p.body)
		}
	}
	if p := send(url.Values{"code": {"BCDF-GHJK"}}); p.status != http.StatusForbidden {
		t.Errorf("a post without its CSRF token: %d", p.status)
	}
	ok := send(withCode("BCDF-GHJK"))
	if ok.status != http.StatusFound || !strings.Contains(ok.header.Get("Location"), "/login?request=from-device") {
		t.Errorf("a good code must start the sign-in: %d %v", ok.status, ok.header)
	}
}
