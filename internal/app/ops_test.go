package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/pagewalk"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// syncBuffer collects log output written from many requests at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// metricValues scrapes /metrics and returns each sample line's value by its
// name and labels as written, e.g. `gatehouse_tokens_issued_total{…}`.
func (e *env) metricValues(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics from this machine: %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// signInAndRefresh signs alice in at the pages and redeems the code, then the
// refresh token, as a confidential web app; it returns what the token
// endpoint answered.
func (e *env) signInAndRefresh(t *testing.T, ten tenant) (code string, tok *oauth2.Token) {
	t.Helper()
	e.addUser(ten, "alice")
	const cb = "https://app.example/cb"
	a := e.mustCall(201, "POST", "/v1.0/applications", ten.token, map[string]any{"displayName": "Web", "web": map[string]any{"redirectUris": []string{cb}}}).body
	secret := e.mustCall(200, "POST", "/v1.0/applications/"+a["id"].(string)+"/addPassword", ten.token, map[string]any{}).body["secretText"].(string)
	conf := oauth2.Config{ClientID: a["appId"].(string), ClientSecret: secret, RedirectURL: cb, Scopes: []string{"openid", "offline_access", "User.Read"},
		Endpoint: oauth2.Endpoint{AuthURL: e.url + "/" + ten.id + "/oauth2/v2.0/authorize", TokenURL: e.url + "/" + ten.id + "/oauth2/v2.0/token"}}
	verifier := oauth2.GenerateVerifier()
	back, err := pagewalk.New(nil).SignIn(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), answersFor("alice@"+ten.domain, "correct horse battery alice"))
	if err != nil {
		t.Fatal(err)
	}
	code = back.Query().Get("code")
	tok, err = conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	expired := *tok
	expired.AccessToken, expired.Expiry = "", expired.Expiry.Add(-24*3600e9)
	if tok, err = conf.TokenSource(context.Background(), &expired).Token(); err != nil {
		t.Fatal(err)
	}
	return code, tok
}

// pollDeviceCode starts a device sign-in for the CLI and polls n times
// while nobody has signed in; it returns the polls' request ids.
func (e *env) pollDeviceCode(t *testing.T, ten tenant, n int) []string {
	t.Helper()
	var dc struct {
		DeviceCode string `json:"device_code"`
	}
	resp, err := http.PostForm(e.url+"/"+ten.id+"/oauth2/v2.0/devicecode", url.Values{"client_id": {directory.CLIAppID}, "scope": {"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&dc)
	resp.Body.Close()
	if err != nil || dc.DeviceCode == "" {
		t.Fatalf("device code: %d %v", resp.StatusCode, err)
	}
	var ids []string
	for range n {
		r := e.form("/"+ten.id+"/oauth2/v2.0/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {directory.CLIAppID}, "device_code": {dc.DeviceCode}})
		if r.status != 400 || (r.body["error"] != "authorization_pending" && r.body["error"] != "slow_down") {
			t.Fatalf("poll: %d %s", r.status, r.raw)
		}
		ids = append(ids, r.header.Get("request-id"))
	}
	return ids
}

func TestMetricsMoveWithTokensGraphCallsAndSignIns(t *testing.T) {
	logs := &syncBuffer{}
	e := newNode(t, storetest.SQLite(t, ""), app.Config{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	before := e.metricValues(t)
	ten := e.tenant("Contoso", "contoso.example") // a client_credentials token request
	users := e.mustCall(200, "GET", "/v1.0/users", ten.token, nil, "client-request-id", "ops-test-1")
	code, tok := e.signInAndRefresh(t, ten)
	e.mustCall(404, "GET", "/v1.0/users/nobody@contoso.example?$select=id", ten.token, nil)
	polls := e.pollDeviceCode(t, ten, 2)
	after := e.metricValues(t)

	moved := func(sample string) float64 { return after[sample] - before[sample] }
	for sample, want := range map[string]float64{
		`gatehouse_http_requests_total{route="POST /{tenant}/oauth2/v2.0/token",status="200"}`:   3,
		`gatehouse_http_requests_total{route="GET /v1.0/users",status="200"}`:                    1,
		`gatehouse_http_requests_total{route="GET /v1.0/users/{id}",status="404"}`:               1,
		`gatehouse_http_request_duration_seconds_count{route="GET /v1.0/users"}`:                 1,
		`gatehouse_http_requests_total{route="GET /metrics",status="200"}`:                       1,
		`gatehouse_tokens_issued_total{grant_type="authorization_code",tenant="` + ten.id + `"}`: 1,
		`gatehouse_tokens_issued_total{grant_type="refresh_token",tenant="` + ten.id + `"}`:      1,
		`gatehouse_tokens_issued_total{grant_type="client_credentials",tenant="` + ten.id + `"}`: 1,
		`gatehouse_sign_ins_total{interactive="true",outcome="success"}`:                         1,
		`gatehouse_sign_ins_total{interactive="false",outcome="success"}`:                        2, // client credentials, refresh
		`gatehouse_http_requests_total{route="POST /{tenant}/oauth2/v2.0/token",status="400"}`:   2, // the pending polls
	} {
		if got := moved(sample); got != want {
			t.Errorf("%s moved by %v, want %v", sample, got, want)
		}
	}
	if _, ok := after[`gatehouse_outbox_messages{state="due",topic="email"}`]; !ok {
		t.Error("no outbox depth for email")
	}
	if moved(`gatehouse_store_transaction_duration_seconds_count{kind="view",result="ok"}`) < 1 ||
		moved(`gatehouse_store_transaction_duration_seconds_count{kind="update",result="ok"}`) < 1 {
		t.Error("store transactions not timed")
	}
	for sample := range after {
		if strings.Contains(sample, "alice") || strings.Contains(sample, "nobody") || strings.Contains(sample, "contoso.example") {
			t.Errorf("a path became a label: %s", sample)
		}
	}

	// The access log has the Graph call under its route and ids, and none
	// of the secrets that passed through the node.
	var graphLine map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "request" && m["route"] == "GET /v1.0/users" {
			graphLine = m
		}
		if m["msg"] == "request" && m["route"] == "POST /{tenant}/oauth2/v2.0/token" && m["status"] == float64(400) {
			t.Errorf("a pending device-code poll logged at info: %v", m)
		}
		if m["request_id"] != nil && slices.Contains(polls, m["request_id"].(string)) {
			t.Errorf("a line of a pending poll at info: %v", m)
		}
	}
	if graphLine == nil || graphLine["request_id"] != users.header.Get("request-id") || graphLine["client_request_id"] != "ops-test-1" ||
		graphLine["status"] != float64(200) || graphLine["remote"] != "127.0.0.1" || graphLine["method"] != "GET" {
		t.Errorf("access line of the Graph call: %v (request-id %s)", graphLine, users.header.Get("request-id"))
	}
	for name, secret := range map[string]string{"authorization code": code, "access token": tok.AccessToken, "refresh token": tok.RefreshToken, "app token": ten.token, "bearer": "Bearer", "query": "$select"} {
		if secret == "" || strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds the %s (or it is empty)", name)
		}
	}
}

func TestMetricsExposure(t *testing.T) {
	st := storetest.SQLite(t, "")
	get := func(h http.Handler, remote string, headers ...string) int {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.RemoteAddr = remote
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == 200 && !strings.Contains(rec.Body.String(), "go_goroutines") {
			t.Errorf("200 without metrics: %.200s", rec.Body.String())
		}
		return rec.Code
	}
	for _, c := range []struct {
		exposure                       app.MetricsExposure
		local, proxied, remote, listen int
	}{
		{app.MetricsLocal, 200, 404, 404, 200},
		{app.MetricsPublic, 200, 200, 200, 200},
		{app.MetricsSeparate, 404, 404, 404, 200},
	} {
		a, err := app.NewWithStore(app.Config{PublicURL: "http://127.0.0.1:1", DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), Metrics: c.exposure}, nopClose{st})
		if err != nil {
			t.Fatal(err)
		}
		h := a.Handler()
		local, proxied := get(h, "127.0.0.1:4000"), get(h, "127.0.0.1:4000", "X-Forwarded-For", "203.0.113.9")
		remote, listen := get(h, "203.0.113.9:4000"), get(a.MetricsHandler(), "203.0.113.9:4000")
		if local != c.local || proxied != c.proxied || remote != c.remote || listen != c.listen {
			t.Errorf("exposure %d: local %d, proxied %d, remote %d, own listener %d; want %d %d %d %d",
				c.exposure, local, proxied, remote, listen, c.local, c.proxied, c.remote, c.listen)
		}
		_ = a.Close()
	}
}

// Every response, not only Graph's, carries a request-id, and the caller's
// client-request-id only when it is safe to echo.
func TestRequestIDsOnEveryRoute(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	for _, path := range []string{"/healthz", "/gatehouse.localhost/v2.0/.well-known/openid-configuration", "/nothing/here", "/v1.0/users"} {
		for _, c := range []struct{ sent, echoed string }{{"abc-123", "abc-123"}, {"has space", ""}, {strings.Repeat("x", 129), ""}} {
			r := e.call("GET", path, "", nil, "client-request-id", c.sent)
			if len(r.header.Get("request-id")) != 36 || r.header.Get("client-request-id") != c.echoed {
				t.Errorf("%s with client-request-id %.20q: request-id %q, echoed %q", path, c.sent, r.header.Get("request-id"), r.header.Get("client-request-id"))
			}
			if strings.HasPrefix(path, "/v1.0/") {
				inner, _ := r.body["error"].(map[string]any)["innerError"].(map[string]any)
				if inner["request-id"] != r.header.Get("request-id") || (c.echoed != "" && inner["client-request-id"] != c.echoed) || (c.echoed == "" && inner["client-request-id"] != nil) {
					t.Errorf("innerError %v", inner)
				}
			}
		}
	}
}
