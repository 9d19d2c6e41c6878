package app_test

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/store/postgres"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// newEnvWith is newEnv with a configuration of the test's own.

// proxyMode is what a dbProxy does with traffic.
type proxyMode int

const (
	proxyUp   proxyMode = iota // forwards
	proxyDown                  // drops every connection and refuses new ones, as a stopped server
	proxyHung                  // accepts and holds every byte, as a server that stopped answering
)

// dbProxy stands between a node and its database so a test can take the
// database down, hang it and bring it back.
type dbProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	mode  proxyMode
	wake  chan struct{} // closed when mode changes
	conns map[net.Conn]bool
}

func newDBProxy(t *testing.T, target string) *dbProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dbProxy{ln: ln, target: target, wake: make(chan struct{}), conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() { _ = ln.Close(); p.set(proxyDown) })
	return p
}

func (p *dbProxy) set(m proxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
	close(p.wake)
	p.wake = make(chan struct{})
	if m == proxyDown {
		for c := range p.conns {
			_ = c.Close()
		}
		clear(p.conns)
	}
}

func (p *dbProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.mode == proxyDown
		p.mu.Unlock()
		if down {
			_ = client.Close()
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.mu.Lock()
		p.conns[client], p.conns[server] = true, true
		p.mu.Unlock()
		go p.pump(client, server)
		go p.pump(server, client)
	}
}

// pump copies src to dst, holding each chunk while the proxy is hung.
func (p *dbProxy) pump(src, dst net.Conn) {
	defer src.Close()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		for {
			p.mu.Lock()
			mode, wake := p.mode, p.wake
			p.mu.Unlock()
			if mode == proxyDown {
				return
			}
			if mode == proxyUp {
				break
			}
			<-wake
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

// outageProbe is a request every surface must answer 503 with Retry-After
// while the store is down or hung.
type outageProbe struct {
	name, method, url, body string
	header                  http.Header
}

func (pr outageProbe) do(t *testing.T) (status int, header http.Header, body string) {
	t.Helper()
	req, err := http.NewRequest(pr.method, pr.url, strings.NewReader(pr.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range pr.header {
		req.Header[k] = v
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", pr.name, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(raw)
}

// TestStoreOutageIsServiceUnavailable runs a node on PostgreSQL through a
// proxy and takes the database down, then hangs it, then brings it back:
// every surface answers 503 with Retry-After meanwhile (never 401 to a good
// token, never invalid_client), each within the store's timeout, and the
// same token works again afterwards without a restart.
func TestStoreOutageIsServiceUnavailable(t *testing.T) {
	const timeout = time.Second
	direct := storetest.PostgresURL(t)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newDBProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	st, err := postgres.Open(t.Context(), u.String(), postgres.Options{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	// The tenant and its app are made through a node on the database itself
	// with the tests' usual patience (under the race detector that can take
	// longer than the timeout tested); the node under test shares its master
	// key and name and reaches the database only through the proxy.
	dataDir := t.TempDir()
	setup := newNode(t, storetest.Postgres(t, direct), app.Config{DataDir: dataDir})
	a := setup.tenant("Contoso", "contoso.example")
	web := setup.registerApp(t, a, "Web", "https://app.example/cb", "openid")
	var skew atomic.Int64 // how far the node's clock is ahead
	e := newNode(t, st, app.Config{DataDir: dataDir, PublicURL: setup.url, Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	authorize := e.url + "/" + a.id + "/oauth2/v2.0/authorize?" + url.Values{
		"client_id": {web.conf.ClientID}, "response_type": {"code"}, "redirect_uri": {"https://app.example/cb"}, "scope": {"openid"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGlSstw-cM"}, "code_challenge_method": {"S256"}, "state": {"s"},
	}.Encode()
	status, header, _ := outageProbe{name: "authorize", method: "GET", url: authorize}.do(t)
	loginURL := header.Get("Location")
	if status != http.StatusFound || !strings.Contains(loginURL, "/login?") {
		t.Fatalf("authorize: status %d to %q, want a redirect to the sign-in page", status, loginURL)
	}
	// The pages are on this node, whatever name the deployment goes by.
	loginURL = e.url + strings.TrimPrefix(loginURL, e.public)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {a.created.Auto.ClientID}, "client_secret": {a.created.Auto.ClientSecret}, "scope": {e.public + "/.default"}}
	formHeader := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	bearer := http.Header{"Authorization": {"Bearer " + a.token}}
	probes := []outageProbe{
		{name: "graph", method: "GET", url: e.url + "/v1.0/users", header: bearer},
		{name: "graph write", method: "POST", url: e.url + "/v1.0/groups", header: http.Header{"Authorization": bearer["Authorization"], "Content-Type": {"application/json"}},
			body: `{"displayName":"G","mailEnabled":false,"mailNickname":"g","securityEnabled":true}`},
		{name: "token", method: "POST", url: e.url + "/" + a.id + "/oauth2/v2.0/token", header: formHeader, body: form.Encode()},
		{name: "authorize", method: "GET", url: authorize},
		{name: "login page", method: "GET", url: loginURL},
		{name: "readyz", method: "GET", url: e.url + "/readyz"},
		{name: "discovery", method: "GET", url: e.url + "/" + a.domain + "/v2.0/.well-known/openid-configuration"},
		{name: "jwks", method: "GET", url: e.url + "/" + a.id + "/discovery/v2.0/keys"},
		{name: "userinfo", method: "GET", url: e.url + "/" + a.id + "/oidc/userinfo", header: bearer},
		{name: "introspection", method: "POST", url: e.url + "/" + a.id + "/oauth2/v2.0/introspect", header: formHeader,
			body: url.Values{"token": {a.token}, "client_id": {a.created.Auto.ClientID}, "client_secret": {a.created.Auto.ClientSecret}}.Encode()},
		{name: "device code", method: "POST", url: e.url + "/" + a.id + "/oauth2/v2.0/devicecode", header: formHeader,
			body: url.Values{"client_id": {web.conf.ClientID}, "scope": {"openid"}}.Encode()},
	}
	check := func(t *testing.T, pr outageProbe) time.Duration {
		t.Helper()
		start := time.Now()
		status, header, body := pr.do(t)
		took := time.Since(start)
		retry := header.Get("Retry-After")
		if status != http.StatusServiceUnavailable || retry == "" {
			t.Errorf("%s: status %d, Retry-After %q, want 503 with Retry-After: %.300s", pr.name, status, retry, body)
		}
		if strings.Contains(body, "invalid_client") || strings.Contains(body, "invalid_grant") || strings.Contains(body, "InvalidAuthenticationToken") {
			t.Errorf("%s blames the client for an outage: %.300s", pr.name, body)
		}
		return took
	}

	e.mustCall(200, "GET", "/v1.0/users", a.token, nil)
	// Hung first, while the pool holds live connections: requests stall on
	// them and on new ones alike.
	t.Run("hung", func(t *testing.T) {
		proxy.set(proxyHung)
		// With the signing keys and the client's authentication cached,
		// the token verifies and the request fails at the store, and no
		// token is issued from the caches.
		slowest := max(check(t, probes[0]), check(t, probes[2]))
		// Once the cached keys are stale, verifying the token (and serving
		// the keys) needs the store too: still 503, never 401.
		skew.Store(int64(2 * time.Minute))
		for _, pr := range probes {
			slowest = max(slowest, check(t, pr))
		}
		// Each answer comes within a few store timeouts (verifying the
		// token and serving the request may each wait one), not never.
		t.Logf("slowest answer while hung: %v (store timeout %v)", slowest, timeout)
		if slowest > 4*timeout {
			t.Errorf("slowest answer while the database hung took %v, store timeout %v", slowest, timeout)
		}
	})
	t.Run("down", func(t *testing.T) {
		proxy.set(proxyDown)
		for _, pr := range probes {
			check(t, pr)
		}
	})
	proxy.set(proxyUp)
	e.mustCall(200, "GET", "/v1.0/users", a.token, nil)
	e.token(a.id, a.created.Auto.ClientID, a.created.Auto.ClientSecret)
	e.mustCall(200, "GET", "/readyz", "", nil)
}

// TestLockedSQLiteIsServiceUnavailable: another process holding the
// database's write lock beyond the store's timeout makes writes 503, not
// 500, and they succeed again once it lets go.
func TestLockedSQLiteIsServiceUnavailable(t *testing.T) {
	path, dataDir := filepath.Join(t.TempDir(), "gatehouse.db"), t.TempDir()
	// The tenant is made through a node with the tests' usual patience (under
	// the race detector that takes longer than the timeout tested); a second
	// node over the same file and master key gives up after a second.
	setup := newNode(t, storetest.SQLite(t, path), app.Config{DataDir: dataDir})
	a := setup.tenant("Contoso", "contoso.example")
	e := newNode(t, storetest.SQLite(t, path, sqlite.Options{Timeout: time.Second}), app.Config{DataDir: dataDir, PublicURL: setup.url})
	release := storetest.HoldSQLiteWriteLock(t, path)
	r := e.call("POST", "/v1.0/users", a.token, newUser("alice", a.domain))
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || r.errorCode() != "serviceNotAvailable" {
		t.Errorf("write while the file is locked: %d, Retry-After %q: %s", r.status, r.header.Get("Retry-After"), r.raw)
	}
	release()
	e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("alice", a.domain))
}
