package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/devcert"
	"github.com/gatehouse-id/gatehouse/internal/pagewalk"
)

func runCLI(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	root := newRoot(&stdout, &stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return stdout.String(), err
}

func TestTenantCreateJSONContract(t *testing.T) {
	dir := t.TempDir()
	storeURL := "sqlite:" + filepath.Join(dir, "g.db")
	seen := map[string]bool{}
	for i, domain := range []string{"contoso.example", "fabrikam.example"} {
		out, err := runCLI(t, context.Background(), "tenant", "create", "--display-name", fmt.Sprint("T", i), "--domain", domain, "--store", storeURL, "--data-dir", dir, "--json")
		if err != nil {
			t.Fatal(err)
		}
		var got createdTenantJSON
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("output is not the JSON contract: %v\n%s", err, out)
		}
		if dec.More() {
			t.Fatalf("more than one JSON value printed: %s", out)
		}
		if got.TenantID == "" || got.Admin.UserPrincipalName != "admin@"+domain || len(got.Admin.Password) < 16 || got.Automation.ClientID == "" || len(got.Automation.ClientSecret) < 32 {
			t.Fatalf("incomplete: %+v", got)
		}
		if seen[got.TenantID] {
			t.Fatal("same tenant twice")
		}
		seen[got.TenantID] = true
	}
	if _, err := runCLI(t, context.Background(), "tenant", "create", "--display-name", "Again", "--domain", "contoso.example", "--store", storeURL, "--json"); err == nil || !strings.Contains(err.Error(), "contoso.example") {
		t.Fatalf("a taken domain must be refused clearly, got %v", err)
	}
}

func TestEnvironmentFillsUnsetFlags(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GATEHOUSE_STORE", "sqlite:"+filepath.Join(dir, "env.db"))
	t.Setenv("GATEHOUSE_DATA_DIR", dir)
	if _, err := runCLI(t, context.Background(), "migrate"); err != nil {
		t.Fatal(err)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "env.db*")); len(matches) == 0 {
		t.Fatal("GATEHOUSE_STORE was not used")
	}
	t.Setenv("GATEHOUSE_STORE", "mysql://nope")
	if _, err := runCLI(t, context.Background(), "migrate", "--store", "sqlite:"+filepath.Join(dir, "flag.db")); err != nil {
		t.Fatalf("a flag must win over the environment: %v", err)
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs serve in-process on a free port until the test ends and
// waits for /readyz; it returns the base URL and the captured output.
func startServe(t *testing.T, dir string, extra ...string) (base string, stdout, stderr *bytes.Buffer, stop func()) {
	t.Helper()
	return startServeWith(t, dir, http.DefaultClient, "http", extra...)
}

func startServeWith(t *testing.T, dir string, client *http.Client, scheme string, extra ...string) (base string, stdout, stderr *bytes.Buffer, stop func()) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	done := make(chan error, 1)
	root := newRoot(stdout, stderr)
	root.SetArgs(append([]string{"serve", "--addr", addr, "--data-dir", dir, "--drain-period", "0"}, extra...))
	go func() { done <- root.ExecuteContext(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(scheme + "://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return scheme + "://" + addr, stdout, stderr, stop
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %v\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serveOnce starts serve, checks /healthz, stops it, and returns its stdout.
func serveOnce(t *testing.T, dir string) string {
	base, stdout, stderr, stop := startServe(t, dir)
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("healthz body %q", body)
	}
	stop()
	if strings.Contains(stderr.String(), "Client secret") || strings.Contains(stderr.String(), "password") {
		t.Fatalf("secrets in the log: %s", stderr.String())
	}
	return stdout.String()
}

func TestTenantCreateWhileServing(t *testing.T) {
	dir := t.TempDir()
	base, _, _, _ := startServe(t, dir)
	out, err := runCLI(t, context.Background(), "tenant", "create", "--display-name", "Live", "--domain", "live.example", "--data-dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var created createdTenantJSON
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {created.Automation.ClientID}, "client_secret": {created.Automation.ClientSecret}, "scope": {base + "/.default"}}
	resp, err := http.PostForm(base+"/live.example/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("token from the running server: %d %v", resp.StatusCode, err)
	}
	req, _ := http.NewRequest("GET", base+"/v1.0/users?$select=userPrincipalName", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "admin@live.example") {
		t.Fatalf("the new tenant's users: %d %s", resp.StatusCode, body)
	}
}

func TestServeBootstrapsOnceWithZeroConfiguration(t *testing.T) {
	dir := t.TempDir()
	first := serveOnce(t, dir)
	if !strings.Contains(first, "Global Administrator admin@gatehouse.localhost") || !strings.Contains(first, "Client secret") {
		t.Fatalf("first start must print how to sign in:\n%s", first)
	}
	if second := serveOnce(t, dir); strings.Contains(second, "Client secret") {
		t.Fatalf("credentials printed again on the second start:\n%s", second)
	}
}

func TestServeDevelopmentTLS(t *testing.T) {
	dir := t.TempDir()
	// The CA is made before the server answers; the client trusts only it.
	pool := x509.NewCertPool()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	caFile := filepath.Join(dir, "dev-ca.pem")
	go func() {
		for range 200 {
			if pem, err := os.ReadFile(caFile); err == nil && pool.AppendCertsFromPEM(pem) {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	base, stdout, _, _ := startServeWith(t, dir, client, "https", "--dev-tls")
	if !strings.Contains(stdout.String(), caFile) {
		t.Fatalf("the CA path is not printed:\n%s", stdout)
	}
	resp, err := client.Get(base + "/" + "gatehouse.localhost/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var disco struct {
		Issuer string `json:"issuer"`
	}
	err = json.NewDecoder(resp.Body).Decode(&disco)
	resp.Body.Close()
	if err != nil || !strings.HasPrefix(disco.Issuer, "https://") {
		t.Fatalf("issuer over dev TLS: %q %v", disco.Issuer, err)
	}
	if resp, err := http.Get(strings.Replace(base, "https", "http", 1) + "/readyz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain http served on the TLS port")
		}
	}
}

// lineWriter is a goroutine-safe buffer tests can watch for a line.
type lineWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lineWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

var userCodeLine = regexp.MustCompile(`open (\S+) and enter the code (\S+)`)

func TestLoginByDeviceCodeAndCallTheAPI(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GATEHOUSE_CONFIG_DIR", t.TempDir())
	base, serveOut, _, _ := startServe(t, dir)
	field := func(label string) string {
		m := regexp.MustCompile(label + `\s+(\S+)`).FindStringSubmatch(serveOut.String())
		if m == nil {
			t.Fatalf("%s not in the first-start output", label)
		}
		return m[1]
	}
	tenantID, adminUPN, adminPassword := field("Tenant id"), field("Global Administrator"), field("Password")

	// A CA given by a relative path is kept by its absolute one, so the
	// commands after login work from any directory.
	caDir := t.TempDir()
	ca, err := devcert.Ensure(caDir, []string{"localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(caDir)

	out := &lineWriter{}
	done := make(chan error, 1)
	go func() {
		root := newRoot(out, io.Discard)
		root.SetArgs([]string{"login", "--url", base, "--tenant", "gatehouse.localhost", "--ca-file", filepath.Base(ca.CA)})
		done <- root.ExecuteContext(context.Background())
	}()
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil; m = userCodeLine.FindStringSubmatch(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no user code printed: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m[1] != base+"/"+tenantID+"/devicelogin" {
		t.Errorf("verification URI %s", m[1])
	}
	_, err = pagewalk.New(nil).SignIn(m[1], map[string]string{"code": m[2], "username": adminUPN, "password": adminPassword, "stay": "no", "decision": "accept"})
	var final *pagewalk.Final
	if !errors.As(err, &final) || final.Status != http.StatusOK {
		t.Fatalf("device sign-in in the browser: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("login: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Signed in as "+adminUPN) {
		t.Fatalf("login output: %s", out.String())
	}

	who, err := runCLI(t, context.Background(), "whoami")
	if err != nil || !strings.Contains(who, adminUPN) {
		t.Fatalf("whoami: %v\n%s", err, who)
	}
	created, err := runCLI(t, context.Background(), "api", "POST", "/v1.0/users", "--body",
		`{"accountEnabled":true,"displayName":"Made by CLI","mailNickname":"cli","userPrincipalName":"cli@gatehouse.localhost","passwordProfile":{"password":"correct horse battery cli"}}`)
	if err != nil || !strings.Contains(created, `"displayName": "Made by CLI"`) {
		t.Fatalf("api POST as the admin: %v\n%s", err, created)
	}
	if _, err := runCLI(t, context.Background(), "api", "GET", "/v1.0/users/nobody@gatehouse.localhost"); err == nil {
		t.Error("a 404 must make the command fail")
	}

	// An expired access token is refreshed, and the rotated refresh token kept.
	p, _ := credentialsPath()
	var c credentials
	raw, _ := os.ReadFile(p)
	_ = json.Unmarshal(raw, &c)
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v", st.Mode().Perm())
	}
	if c.CAFile != ca.CA {
		t.Errorf("the CA file is kept as %q, want %q", c.CAFile, ca.CA)
	}
	oldRefresh := c.RefreshToken
	c.ExpiresAt = time.Now().Add(-time.Hour)
	if err := c.save(); err != nil {
		t.Fatal(err)
	}
	if who, err := runCLI(t, context.Background(), "whoami"); err != nil || !strings.Contains(who, adminUPN) {
		t.Fatalf("whoami after expiry: %v", err)
	}
	if c, _ = loadCredentials(); c.RefreshToken == oldRefresh {
		t.Error("the rotated refresh token was not saved")
	}

	if _, err := runCLI(t, context.Background(), "logout"); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, context.Background(), "whoami"); err == nil || !strings.Contains(err.Error(), "not signed in") {
		t.Fatalf("after logout: %v", err)
	}
}

// The email flags reach the node, from the command line or GATEHOUSE_*: a
// sender in clear text to another machine is refused at start.
func TestServeRefusesCleartextSMTPElsewhere(t *testing.T) {
	dir := t.TempDir()
	_, err := runCLI(t, context.Background(), "serve", "--addr", freeAddr(t), "--data-dir", dir, "--smtp-url", "smtp://mail.example.com:25?starttls=none", "--mail-from", "a@contoso.example")
	if err == nil || !strings.Contains(err.Error(), "only for a relay on this machine") {
		t.Errorf("serve --smtp-url clear text elsewhere: %v", err)
	}
	t.Setenv("GATEHOUSE_SMTP_URL", "smtps://mail.example.com")
	t.Setenv("GATEHOUSE_MAIL_FROM", "not an address")
	if _, err := runCLI(t, context.Background(), "serve", "--addr", freeAddr(t), "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "--mail-from") {
		t.Errorf("GATEHOUSE_MAIL_FROM not an address: %v", err)
	}
}
