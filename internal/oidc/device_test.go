package oidc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/lockout"
)

// deviceReply is a device authorization endpoint answer, success or error.
type deviceReply struct {
	status           int
	DeviceCode       string `json:"device_code"`
	UserCode         string `json:"user_code"`
	VerificationURI  string `json:"verification_uri"`
	ExpiresIn        int    `json:"expires_in"`
	Interval         int    `json:"interval"`
	Message          string `json:"message"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

func (f *flow) deviceCode(t *testing.T, tenant string, form url.Values, basic ...string) deviceReply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/"+tenant+"/oauth2/v2.0/devicecode", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := deviceReply{status: resp.StatusCode}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("devicecode: %d %s", resp.StatusCode, raw)
	}
	if resp.StatusCode == http.StatusOK && resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("device authorization response may be cached")
	}
	return out
}

// spaDevice starts the device flow for the SPA in tenant A.
func (f *flow) spaDevice(t *testing.T) deviceReply {
	t.Helper()
	d := f.deviceCode(t, tenantA, url.Values{"client_id": {spaApp}, "scope": {"openid profile offline_access User.Read"}})
	if d.status != http.StatusOK {
		t.Fatalf("devicecode: %+v", d)
	}
	return d
}

func (f *flow) poll(t *testing.T, tenant, client, deviceCode string) tokenReply {
	t.Helper()
	return f.token(t, tenant, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {client}, "device_code": {deviceCode}})
}

// enterCode types a user code into the device login page and follows the
// sign-in to its end.
func (f *flow) enterCode(t *testing.T, tenant, code string) (*http.Response, string) {
	t.Helper()
	return f.browse(t, f.srv.URL+"/"+tenant+"/devicelogin?"+url.Values{"code": {code}}.Encode())
}

var userCodeShape = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

func TestDeviceFlow(t *testing.T) {
	f := newFlow(t)
	d := f.deviceCode(t, "contoso.example", url.Values{"client_id": {spaApp}, "scope": {"openid profile offline_access User.Read"}})
	verify := f.srv.URL + "/" + tenantA + "/devicelogin"
	switch {
	case d.status != http.StatusOK, len(d.DeviceCode) != 43, !userCodeShape.MatchString(d.UserCode):
		t.Fatalf("devicecode: %+v", d)
	case d.VerificationURI != verify, d.ExpiresIn != 900, d.Interval != 5:
		t.Fatalf("devicecode: %+v", d)
	case !strings.Contains(d.Message, verify) || !strings.Contains(d.Message, d.UserCode):
		t.Fatalf("message %q", d.Message)
	}

	// Polling: sooner than the interval is slow_down, which adds five
	// seconds to it; otherwise authorization_pending.
	for _, step := range []struct {
		wait time.Duration
		want string
	}{
		{time.Second, "slow_down"}, // interval now 10 s
		{10 * time.Second, "authorization_pending"},
		{9 * time.Second, "slow_down"},  // interval now 15 s
		{14 * time.Second, "slow_down"}, // interval now 20 s
		{20 * time.Second, "authorization_pending"},
	} {
		f.clock.advance(step.wait)
		wantGrantError(t, f.poll(t, tenantA, spaApp, d.DeviceCode), http.StatusBadRequest, step.want)
	}

	// The user types the code in any case and spacing, and signs in.
	typed := strings.ToLower(strings.Replace(d.UserCode, "-", " ", 1))
	resp, body := f.enterCode(t, tenantA, typed)
	csp := resp.Header.Get("Content-Security-Policy")
	_, nonce, _ := strings.Cut(csp, "style-src 'nonce-")
	nonce, _, _ = strings.Cut(nonce, "'")
	switch {
	case resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "":
		t.Fatalf("device sign-in ends with %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	case !strings.Contains(body, "You have signed in to SPA on your device. You can close this window."):
		t.Fatalf("page:\n%s", body)
	case len(nonce) < 16 || !strings.Contains(body, `<style nonce="`+nonce+`">`) || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src"):
		t.Fatalf("CSP %q with page:\n%s", csp, body)
	case strings.Contains(body, "<script") || strings.Contains(body, "<form"):
		t.Fatalf("page runs or submits something:\n%s", body)
	}
	if req := f.pages.last(); !req.Device || req.ClientID != spaApp || req.ClientName != "SPA" || req.RedirectURI != "" || !slices.Contains(req.Scopes, "User.Read") {
		t.Fatalf("pending request seen by the pages: %+v", req)
	}

	f.clock.advance(20 * time.Second)
	tr := f.poll(t, tenantA, spaApp, d.DeviceCode)
	if tr.status != http.StatusOK || tr.AccessToken == "" || tr.IDToken == "" || tr.RefreshToken == "" || !strings.Contains(tr.Scope, "offline_access") {
		t.Fatalf("tokens: %+v", tr)
	}
	id := verifyAnyWithJWKS(t, f.srv.URL+"/"+tenantA+"/discovery/v2.0/keys", tr.IDToken)
	if id["aud"] != spaApp || id["tid"] != tenantA || id["oid"] != userAlice || id["nonce"] != nil || id["name"] != "Alice Liddell" {
		t.Fatalf("ID token %v", id)
	}
	at, err := f.p.VerifyAccessToken(t.Context(), tr.AccessToken)
	if err != nil || !at.Delegated || at.AppID != spaApp || !strings.Contains(at.Scopes, "User.Read") {
		t.Fatalf("access token %+v, %v", at, err)
	}
	next := f.refreshSPA(t, tenantA, tr.RefreshToken)
	if next.status != http.StatusOK {
		t.Fatalf("refresh %+v", next)
	}

	// The device code redeems once; a second redemption revokes the sign-in.
	wantGrantError(t, f.poll(t, tenantA, spaApp, d.DeviceCode), http.StatusBadRequest, "invalid_grant")
	wantGrantError(t, f.refreshSPA(t, tenantA, next.RefreshToken), http.StatusBadRequest, "invalid_grant")
	// The user code starts one sign-in only.
	if resp, _ := f.enterCode(t, tenantA, d.UserCode); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("user code entered twice: %d", resp.StatusCode)
	}

	// Neither code is stored in the clear.
	plain := strings.ReplaceAll(d.UserCode, "-", "")
	f.st.mu.Lock()
	defer f.st.mu.Unlock()
	for k, s := range f.st.states {
		for _, secret := range []string{d.DeviceCode, plain, d.UserCode} {
			if strings.Contains(k.id, secret) || bytes.Contains(s.Data, []byte(secret)) {
				t.Fatalf("%s state %s holds a device or user code in the clear", k.kind, k.id)
			}
		}
	}
}

func TestDeviceFlowDenied(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*flow)
		page  string
	}{
		{"user declines", func(f *flow) { f.pages.setDeny("access_denied") }, "denied by the test pages"},
		{"consent missing", func(f *flow) { f.dir.setGrants(tenantA, spaApp) }, "AADSTS65001"},
		{"user disabled", func(f *flow) { f.dir.setUser(tenantA, func(u *fakeUser) { u.gone = true }) }, "AADSTS50057"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow(t)
			d := f.spaDevice(t)
			tt.setup(f)
			resp, body := f.enterCode(t, tenantA, d.UserCode)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" || !strings.Contains(body, "Sign-in declined") || !strings.Contains(body, tt.page) {
				t.Fatalf("%d %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			f.clock.advance(devicePollInterval)
			wantGrantError(t, f.poll(t, tenantA, spaApp, d.DeviceCode), http.StatusBadRequest, "access_denied")
			wantGrantError(t, f.poll(t, tenantA, spaApp, d.DeviceCode), http.StatusBadRequest, "invalid_grant")
		})
	}
}

func TestDeviceFlowExpiry(t *testing.T) {
	t.Run("nobody signs in", func(t *testing.T) {
		f := newFlow(t)
		d := f.spaDevice(t)
		f.clock.advance(deviceCodeLifetime)
		wantGrantError(t, f.poll(t, tenantA, spaApp, d.DeviceCode), http.StatusBadRequest, "expired_token")
		if resp, _ := f.enterCode(t, tenantA, d.UserCode); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("expired user code: %d", resp.StatusCode)
		}
		f.clock.advance(devicePollGrace)
		wantGrantError(t, f.poll(t, tenantA, spaApp, d.DeviceCode), http.StatusBadRequest, "invalid_grant")
	})
	t.Run("signed in, polled too late", func(t *testing.T) {
		f := newFlow(t)
		d := f.spaDevice(t)
		f.clock.advance(deviceCodeLifetime - time.Minute)
		if resp, body := f.enterCode(t, tenantA, d.UserCode); resp.StatusCode != http.StatusOK {
			t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
		}
		f.clock.advance(time.Minute)
		wantGrantError(t, f.poll(t, tenantA, spaApp, d.DeviceCode), http.StatusBadRequest, "expired_token")
	})
	t.Run("code expires during sign-in", func(t *testing.T) {
		f := newFlow(t)
		d := f.spaDevice(t)
		f.clock.advance(deviceCodeLifetime - time.Second)
		resp, err := noRedirects.Get(f.srv.URL + "/" + tenantA + "/devicelogin?" + url.Values{"code": {d.UserCode}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		login := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(login, f.srv.URL+"/"+tenantA+"/login?request=") {
			t.Fatalf("devicelogin: %d %q", resp.StatusCode, login)
		}
		f.clock.advance(2 * time.Second)
		// The request does not outlive the device code.
		if resp, _ := f.browse(t, login); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("sign-in after the code expired: %d", resp.StatusCode)
		}
	})
}

// startDevice calls StartDevice as the page would for a client at addr,
// and checks that an error left the response untouched.
func startDevice(t *testing.T, f *flow, tenant, addr, code string) error {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, f.srv.URL+"/"+tenant+"/devicelogin", nil)
	r.RemoteAddr = addr + ":40000"
	w := httptest.NewRecorder()
	err := f.p.StartDevice(w, r, tenant, code)
	if err != nil && (len(w.Header()) != 0 || w.Body.Len() != 0) {
		t.Fatalf("StartDevice failed with %v but wrote a response", err)
	}
	if err == nil && (w.Code != http.StatusFound || !strings.Contains(w.Header().Get("Location"), "/login?request=")) {
		t.Fatalf("StartDevice: %d %q", w.Code, w.Header().Get("Location"))
	}
	return err
}

// wrongCode is a well-formed user code other than right.
func wrongCode(right string) string {
	for {
		if c := displayUserCode(newUserCode()); c != right {
			return c
		}
	}
}

func TestDeviceUserCodeGuessing(t *testing.T) {
	f := newFlow(t)
	policy := lockout.DefaultCodePolicy()
	d := f.spaDevice(t)

	// From one address: malformed and wrong codes count alike.
	for i := range policy.PerClient {
		code := wrongCode(d.UserCode)
		if i == 0 {
			code = "HELLO"
		}
		if err := startDevice(t, f, tenantA, "192.0.2.1", code); !errors.Is(err, ErrInvalidUserCode) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	if err := startDevice(t, f, tenantA, "192.0.2.1", d.UserCode); !errors.Is(err, ErrTooManyUserCodes) {
		t.Fatalf("the right code after too many wrong ones from the address: %v", err)
	}
	// The refused attempt did not use the code up: another address may.
	if err := startDevice(t, f, tenantA, "192.0.2.2", d.UserCode); err != nil {
		t.Fatalf("the right code from another address: %v", err)
	}

	// Wrong codes across the tenant, spread over addresses that each stay
	// under their allowance, raise the alarm: each guessing address is then
	// held to fewer codes, and a clean address is still let in.
	d = f.spaDevice(t)
	for i := range policy.TenantAlarm {
		addr := fmt.Sprintf("198.51.100.%d", i/policy.UnderAttack)
		if err := startDevice(t, f, tenantA, addr, wrongCode(d.UserCode)); !errors.Is(err, ErrInvalidUserCode) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	if err := startDevice(t, f, tenantA, "198.51.100.0", wrongCode(d.UserCode)); !errors.Is(err, ErrTooManyUserCodes) {
		t.Fatalf("a guessing address past its allowance under attack: %v", err)
	}
	if err := startDevice(t, f, tenantA, "203.0.113.9", d.UserCode); err != nil {
		t.Fatalf("the right code from a clean address while the tenant is under attack: %v", err)
	}
	// Another tenant is not affected; after the window, this one recovers.
	dB := f.deviceCode(t, tenantB, url.Values{"client_id": {spaApp}, "scope": {"openid"}})
	if err := startDevice(t, f, tenantB, "198.51.100.0", dB.UserCode); err != nil {
		t.Fatalf("tenant B: %v", err)
	}
	f.clock.advance(policy.Window)
	d = f.spaDevice(t)
	if err := startDevice(t, f, tenantA, "192.0.2.1", d.UserCode); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestDeviceCodesStayInTheirTenant(t *testing.T) {
	f := newFlow(t)
	d := f.spaDevice(t)
	if err := startDevice(t, f, tenantB, "192.0.2.1", d.UserCode); !errors.Is(err, ErrInvalidUserCode) {
		t.Fatalf("tenant A's user code at tenant B: %v", err)
	}
	f.clock.advance(devicePollInterval)
	wantGrantError(t, f.poll(t, tenantB, spaApp, d.DeviceCode), http.StatusBadRequest, "invalid_grant")
	// Still good at home, and only for the client it was issued to.
	if resp, body := f.enterCode(t, tenantA, d.UserCode); resp.StatusCode != http.StatusOK {
		t.Fatalf("tenant A: %d %s", resp.StatusCode, body)
	}
	f.dir.clients[tenantA+"/"+legacyApp] = Client{AppID: legacyApp, DisplayName: "Legacy", AllowPublicClient: true}
	wantGrantError(t, f.poll(t, tenantA, legacyApp, d.DeviceCode), http.StatusBadRequest, "invalid_grant")
	wantGrantError(t, f.token(t, tenantA, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {d.DeviceCode}}, webApp, f.secretW), http.StatusBadRequest, "invalid_grant")
	if tr := f.poll(t, tenantA, spaApp, d.DeviceCode); tr.status != http.StatusOK {
		t.Fatalf("poll at home %+v", tr)
	}
}

func TestDeviceAuthorizationErrors(t *testing.T) {
	f := newFlow(t)
	scope := url.Values{"scope": {"openid User.Read"}}
	with := func(extra url.Values) url.Values {
		out := url.Values{}
		for k, v := range scope {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name   string
		tenant string
		form   url.Values
		basic  []string
		status int
		code   string
	}{
		{"confidential-only client", tenantA, with(url.Values{"client_id": {webApp}}), nil, 400, "unauthorized_client"},
		{"confidential-only client with its secret", tenantA, scope, []string{webApp, f.secretW}, 400, "unauthorized_client"},
		{"unknown client", tenantA, with(url.Values{"client_id": {"nobody"}}), nil, 401, "invalid_client"},
		{"no client", tenantA, scope, nil, 400, "invalid_request"},
		{"no scope", tenantA, url.Values{"client_id": {spaApp}}, nil, 400, "invalid_request"},
		{"other resource", tenantA, url.Values{"client_id": {spaApp}, "scope": {"https://other.example/x"}}, nil, 400, "invalid_scope"},
		{"unknown tenant", "nowhere.example", with(url.Values{"client_id": {spaApp}}), nil, 400, "invalid_request"},
		{"allowed public client flows", tenantA, with(url.Values{"client_id": {legacyApp}}), nil, 200, ""},
	}
	f.dir.clients[tenantA+"/"+legacyApp] = Client{AppID: legacyApp, DisplayName: "Legacy", WebRedirectURIs: []string{legacyRedirect}, Confidential: true, AllowPublicClient: true}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := f.deviceCode(t, tt.tenant, tt.form, tt.basic...)
			if d.status != tt.status || d.Error != tt.code || (tt.code != "") != (d.DeviceCode == "") {
				t.Fatalf("got %+v, want %d %s", d, tt.status, tt.code)
			}
		})
	}
	resp, err := http.Get(f.srv.URL + "/" + tenantA + "/oauth2/v2.0/devicecode?client_id=" + spaApp + "&scope=openid")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET devicecode: %d", resp.StatusCode)
	}
}

func TestUserCodes(t *testing.T) {
	seen := map[string]bool{}
	counts := map[rune]int{}
	for range 2000 {
		c := newUserCode()
		if !userCodeShape.MatchString(displayUserCode(c)) {
			t.Fatalf("user code %q", c)
		}
		seen[c] = true
		for _, r := range c {
			counts[r]++
		}
	}
	if len(seen) < 1999 {
		t.Fatalf("%d distinct codes in 2000", len(seen))
	}
	// 16000 letters over 20: each near 800; a bias (say modulo 256) would
	// push the first letters far above.
	for _, r := range userCodeAlphabet {
		if counts[r] < 600 || counts[r] > 1000 {
			t.Fatalf("letter %c drawn %d times in 16000", r, counts[r])
		}
	}
	tests := []struct {
		typed, want string
		ok          bool
	}{
		{"BCDF-GHJK", "BCDFGHJK", true},
		{"bcdf ghjk", "BCDFGHJK", true},
		{" bcdfghjk ", "BCDFGHJK", true},
		{"BCDF-GHJ", "", false},
		{"BCDF-GHJKL", "", false},
		{"BCDA-GHJK", "", false}, // A is not in the alphabet
		{"BCDF_GHJK", "", false},
		{"", "", false},
		{strings.Repeat("B", 1000), "", false},
	}
	for _, tt := range tests {
		if got, ok := normalizeUserCode(tt.typed); got != tt.want || ok != tt.ok {
			t.Errorf("normalizeUserCode(%q) = %q, %v", tt.typed, got, ok)
		}
	}
}
