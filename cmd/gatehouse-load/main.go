// Command gatehouse-load measures a Gatehouse node over loopback HTTP: it
// seeds a tenant with many users, then drives user lookups by UPN, pages of
// users, user creation and client_credentials tokens, each for a fixed time
// with a fixed number of workers, and prints throughput and latency
// percentiles as a Markdown table for docs/benchmarks.md. With -token-url
// or -gatehouse-tenant it loads the token endpoint of a server started
// separately instead (scripts/compare-token-servers).
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/pagewalk"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func main() {
	storeURL := flag.String("store", "", "store URL (default: a new SQLite file in a temporary directory)")
	users := flag.Int("users", 100_000, "users to seed in the load tenant")
	duration := flag.Duration("duration", 10*time.Second, "how long each phase runs")
	workers := flag.Int("workers", 4, "concurrent clients per phase")
	phases := flag.String("phases", "lookup,page,token,token-es256,create,discovery,jwks,codeflow", "phases to run, comma-separated")
	var r remote
	flag.StringVar(&r.tokenURL, "token-url", "", "measure client_credentials tokens from this endpoint of a server started separately, instead of a node of its own")
	flag.StringVar(&r.clientID, "client-id", "", "with -token-url: the client")
	flag.StringVar(&r.clientSecret, "client-secret", "", "with -token-url: its secret")
	flag.StringVar(&r.scope, "scope", "", "with -token-url: the scope to ask for")
	flag.BoolVar(&r.basic, "basic", false, "with -token-url: authenticate the client with HTTP Basic instead of the form")
	flag.StringVar(&r.gatehouseTenant, "gatehouse-tenant", "", "measure a Gatehouse node started separately: the file `gatehouse tenant create --json` wrote (RS256 with its automation client, ES256 with a client registered through Graph)")
	flag.StringVar(&r.gatehouseURL, "gatehouse-url", "http://127.0.0.1:8080", "with -gatehouse-tenant: the node's public URL")
	flag.StringVar(&r.label, "label", "server", "the name of the measured server in the table")
	flag.IntVar(&r.serverPID, "server-pid", 0, "with -token-url or -gatehouse-tenant: the server's process id, to report the CPU time it spends per token (Linux)")
	tenants := flag.Int("tenants", 0, "instead of the phases: client_credentials (ES256) spread over this many tenants, all warmed at the start, with latency per -window")
	window := flag.Duration("window", 10*time.Second, "with -tenants: the length of each reported window")
	floor := flag.String("serve-floor", "", "instead of measuring: serve at this address the least a Go client_credentials token endpoint does (POST /token, client load-client), the ceiling the comparison is read against")
	floorAlg := flag.String("floor-alg", "ES256", "with -serve-floor: RS256 or ES256")
	flag.Parse()
	if *floor != "" {
		if err := serveFloor(*floor, *floorAlg); err != nil {
			fmt.Fprintln(os.Stderr, "gatehouse-load:", err)
			os.Exit(1)
		}
		return
	}
	if *tenants > 0 {
		if err := manyTenants(*storeURL, *tenants, *duration, *window, *workers); err != nil {
			fmt.Fprintln(os.Stderr, "gatehouse-load:", err)
			os.Exit(1)
		}
		return
	}
	if r.wanted() {
		if err := r.run(*workers, *duration); err != nil {
			fmt.Fprintln(os.Stderr, "gatehouse-load:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*storeURL, *users, *duration, *workers, strings.Split(*phases, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-load:", err)
		os.Exit(1)
	}
}

// node is a Gatehouse node this process serves on a loopback port, over a
// store of its own.
type node struct {
	base  string
	srv   *app.Server
	st    store.Store
	close func()
}

func startNode(ctx context.Context, storeURL string) (*node, error) {
	dataDir, err := os.MkdirTemp("", "gatehouse-load-")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, errors.Join(err, os.RemoveAll(dataDir))
	}
	base := "http://" + ln.Addr().String()
	st, err := app.OpenStore(ctx, storeURL, dataDir)
	if err != nil {
		return nil, errors.Join(err, ln.Close(), os.RemoveAll(dataDir))
	}
	srv, err := app.NewWithStore(app.Config{PublicURL: base, DataDir: dataDir, Logger: slog.New(slog.DiscardHandler)}, st)
	if err != nil {
		return nil, errors.Join(err, ln.Close(), os.RemoveAll(dataDir))
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	return &node{base: base, srv: srv, st: st, close: func() {
		_ = hs.Close()
		_ = srv.Close()
		_ = os.RemoveAll(dataDir)
	}}, nil
}

func run(storeURL string, users int, duration time.Duration, workers int, phases []string) error {
	ctx := context.Background()
	n, err := startNode(ctx, storeURL)
	if err != nil {
		return err
	}
	defer n.close()
	base, srv, st := n.base, n.srv, n.st

	domain := fmt.Sprintf("load%d.example", time.Now().UnixNano())
	t, err := srv.Directory().CreateTenant(ctx, directory.NewTenant{DisplayName: "Load", Domain: domain})
	if err != nil {
		return err
	}
	start := time.Now()
	if err := seed(ctx, srv.Directory(), t.TenantID, domain, users); err != nil {
		return err
	}
	// After a bulk load, planners need fresh statistics (as any importer's
	// operator would run ANALYZE); backends that can, do it here.
	if a, ok := st.(interface{ Analyze(context.Context) error }); ok {
		if err := a.Analyze(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "seeded %d users in %s\n", users, time.Since(start).Round(time.Millisecond))

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers * 2}}
	tokenForm := url.Values{"grant_type": {"client_credentials"}, "client_id": {t.Auto.ClientID}, "client_secret": {t.Auto.ClientSecret}, "scope": {base + "/.default"}}
	tokenURL := base + "/" + t.TenantID + "/oauth2/v2.0/token"
	token, err := fetchToken(client, tokenURL, tokenForm)
	if err != nil {
		return err
	}
	auth := "Bearer " + token

	flow, err := newCodeFlow(ctx, srv.Directory(), client, base, t.TenantID, domain)
	if err != nil {
		return err
	}
	es256Form, err := es256Client(ctx, srv.Directory(), t.TenantID, base)
	if err != nil {
		return err
	}

	ops := map[string]func(w int, state *string) error{
		"discovery": func(int, *string) error {
			_, err := getBody(client, base+"/"+t.TenantID+"/v2.0/.well-known/openid-configuration", "")
			return err
		},
		"jwks": func(int, *string) error {
			_, err := getBody(client, base+"/"+t.TenantID+"/discovery/v2.0/keys", "")
			return err
		},
		"codeflow": func(int, *string) error { return flow.run() },
		"lookup": func(int, *string) error {
			upn := fmt.Sprintf("user%d@%s", mrand.IntN(users), domain)
			return get(client, base+"/v1.0/users?$filter="+url.QueryEscape("userPrincipalName eq '"+upn+"'"), auth, 1)
		},
		"page": func(_ int, next *string) error {
			if *next == "" {
				*next = base + "/v1.0/users?$top=100"
			}
			body, err := getBody(client, *next, auth)
			if err != nil {
				return err
			}
			var page struct {
				Value []json.RawMessage `json:"value"`
				Next  string            `json:"@odata.nextLink"`
			}
			if err := json.Unmarshal(body, &page); err != nil {
				return err
			}
			if page.Next != "" && len(page.Value) != 100 {
				return fmt.Errorf("short page: %d", len(page.Value))
			}
			*next = page.Next
			return nil
		},
		"token": func(int, *string) error {
			_, err := fetchToken(client, tokenURL, tokenForm)
			return err
		},
		"token-es256": func(int, *string) error {
			_, err := fetchToken(client, tokenURL, es256Form)
			return err
		},
		"create": func(w int, _ *string) error {
			alias := fmt.Sprintf("new%d-%d-%d", w, time.Now().UnixNano(), mrand.Int())
			body, _ := json.Marshal(map[string]any{
				"accountEnabled": true, "displayName": "New " + alias, "mailNickname": alias,
				"userPrincipalName": alias + "@" + domain, "passwordProfile": map[string]any{"password": "load test password " + alias},
			})
			req, _ := http.NewRequest("POST", base+"/v1.0/users", bytes.NewReader(body))
			req.Header.Set("Authorization", auth)
			req.Header.Set("Content-Type", "application/json")
			return expect(client.Do(req))(201)
		},
	}
	fmt.Printf("| phase | workers | requests | errors | req/s | p50 | p99 |\n|---|---|---|---|---|---|---|\n")
	for _, name := range phases {
		op, ok := ops[strings.TrimSpace(name)]
		if !ok {
			return fmt.Errorf("unknown phase %q", name)
		}
		r := measure(op, workers, duration)
		fmt.Printf("| %s | %d | %d | %d | %.0f | %s | %s |\n", name, workers, r.n, r.errs, float64(r.n)/duration.Seconds(), r.pct(50), r.pct(99))
		if r.firstErr != nil {
			fmt.Fprintf(os.Stderr, "%s: first error: %v\n", name, r.firstErr)
		}
	}
	fmt.Printf("\nGOMAXPROCS %d, peak RSS %s (load generator and server in one process)\n", runtime.GOMAXPROCS(0), peakRSS())
	return nil
}

func seed(ctx context.Context, dir *directory.Service, tenantID, domain string, n int) error {
	const chunk = 5000
	for start := 0; start < n; start += chunk {
		docs := make([]directory.Doc, 0, chunk)
		for i := start; i < min(start+chunk, n); i++ {
			docs = append(docs, directory.Doc{
				"accountEnabled": true, "displayName": fmt.Sprintf("User %06d", i), "mailNickname": fmt.Sprintf("user%d", i),
				"userPrincipalName": fmt.Sprintf("user%d@%s", i, domain), "mail": fmt.Sprintf("user%d@%s", i, domain),
			})
		}
		if err := dir.ImportUsers(ctx, tenantID, docs); err != nil {
			return err
		}
	}
	return nil
}

type result struct {
	n, errs   int
	latencies []time.Duration
	firstErr  error
}

func (r result) pct(p int) string {
	if len(r.latencies) == 0 {
		return "-"
	}
	return r.latencies[(len(r.latencies)-1)*p/100].Round(10 * time.Microsecond).String()
}

// measure runs op from workers goroutines until duration has passed.
func measure(op func(w int, state *string) error, workers int, duration time.Duration) result {
	var mu sync.Mutex
	var total result
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local result
			var state string
			for time.Now().Before(deadline) {
				t0 := time.Now()
				err := op(w, &state)
				local.latencies = append(local.latencies, time.Since(t0))
				local.n++
				if err != nil {
					local.errs++
					if local.firstErr == nil {
						local.firstErr = err
					}
				}
			}
			mu.Lock()
			total.n += local.n
			total.errs += local.errs
			total.latencies = append(total.latencies, local.latencies...)
			if total.firstErr == nil {
				total.firstErr = local.firstErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(total.latencies)
	return total
}

func fetchToken(c *http.Client, tokenURL string, form url.Values) (string, error) {
	return requestToken(c, tokenURL, form, "", "")
}

// requestToken asks tokenURL for a token with form; a non-empty user
// authenticates the client with HTTP Basic instead of the form.
func requestToken(c *http.Client, tokenURL string, form url.Values, user, password string) (string, error) {
	req, err := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(password))
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("token: %d %s", resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		return "", errors.New("token: no access_token")
	}
	return tok.AccessToken, nil
}

func getBody(c *http.Client, u, auth string) ([]byte, error) {
	req, _ := http.NewRequest("GET", u, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return b, err
}

// get fetches a collection and checks it has want items.
func get(c *http.Client, u, auth string, want int) error {
	b, err := getBody(c, u, auth)
	if err != nil {
		return err
	}
	var page struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		return err
	}
	if len(page.Value) != want {
		return fmt.Errorf("GET %s: %d items, want %d", u, len(page.Value), want)
	}
	return nil
}

func expect(resp *http.Response, err error) func(status int) error {
	return func(status int) error {
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != status {
			return fmt.Errorf("status %d: %s", resp.StatusCode, b)
		}
		return nil
	}
}

// peakRSS reads the process's high-water resident set size (Linux).
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// codeFlow is a complete interactive sign-in: authorize, the hosted pages
// (username, password: one argon2id hash, stay signed in), the redirect
// back, and the code redeemed with PKCE by a confidential client.
type codeFlow struct {
	transport          http.RoundTripper
	base, tenantID     string
	clientID, secret   string
	username, password string
}

const flowCallback = "https://load.example/cb"

func newCodeFlow(ctx context.Context, dir *directory.Service, client *http.Client, base, tenantID, domain string) (*codeFlow, error) {
	f := &codeFlow{transport: client.Transport, base: base, tenantID: tenantID, username: "flow@" + domain, password: "load test flow password"}
	if _, err := dir.CreateUser(ctx, tenantID, directory.Doc{"accountEnabled": true, "displayName": "Flow", "mailNickname": "flow",
		"userPrincipalName": f.username, "passwordProfile": map[string]any{"password": f.password, "forceChangePasswordNextSignIn": false}}); err != nil {
		return nil, err
	}
	app, err := dir.CreateApplication(ctx, tenantID, directory.Doc{"displayName": "Load app", "web": map[string]any{"redirectUris": []any{flowCallback}}})
	if err != nil {
		return nil, err
	}
	cred, err := dir.AddPassword(ctx, tenantID, app.ID, directory.Doc{})
	if err != nil {
		return nil, err
	}
	f.clientID, _ = app.Doc["appId"].(string)
	f.secret = cred.SecretText
	// The first flow consents; the others find the grant.
	return f, f.run()
}

func (f *codeFlow) run() error {
	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {f.clientID}, "response_type": {"code"}, "redirect_uri": {flowCallback}, "scope": {"openid profile User.Read"},
		"state": {"s"}, "nonce": {"n"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	b := pagewalk.New(f.transport)
	back, err := b.SignIn(f.base+"/"+f.tenantID+"/oauth2/v2.0/authorize?"+q.Encode(),
		map[string]string{"username": f.username, "password": f.password, "stay": "no", "decision": "accept"})
	if err != nil {
		return err
	}
	code := back.Query().Get("code")
	if code == "" {
		return fmt.Errorf("no code: %s", back)
	}
	resp, err := b.Client.PostForm(f.base+"/"+f.tenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {flowCallback}, "client_id": {f.clientID}, "client_secret": {f.secret}, "code_verifier": {verifier}})
	return expect(resp, err)(200)
}

// es256Client registers an application whose tokens are signed with ES256
// and returns its client_credentials form.
func es256Client(ctx context.Context, dir *directory.Service, tenantID, base string) (url.Values, error) {
	app, err := dir.CreateApplication(ctx, tenantID, directory.Doc{"displayName": "ES256 daemon", "tags": []any{"gatehouse:signingAlg=ES256"}})
	if err != nil {
		return nil, err
	}
	appID, _ := app.Doc["appId"].(string)
	if _, err := dir.CreateServicePrincipal(ctx, tenantID, directory.Doc{"appId": appID}); err != nil {
		return nil, err
	}
	cred, err := dir.AddPassword(ctx, tenantID, app.ID, directory.Doc{})
	if err != nil {
		return nil, err
	}
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {cred.SecretText}, "scope": {base + "/.default"}}, nil
}
