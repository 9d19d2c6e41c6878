package graphsdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	mainModulePath = "module github.com/gatehouse-id/gatehouse"
	readyTimeout   = 60 * time.Second
	stopTimeout    = 10 * time.Second
	logTailBytes   = 16 << 10
)

// tenantInfo is what `gatehouse tenant create --json` promises to print.
type tenantInfo struct {
	TenantID string `json:"tenantId"`
	Admin    struct {
		UserPrincipalName string `json:"userPrincipalName"`
		Password          string `json:"password"`
	} `json:"admin"`
	Automation struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	} `json:"automation"`
}

// gatehouse is one built binary plus the store and data directory every
// subcommand of this test shares.
type gatehouse struct {
	bin     string
	store   string
	dataDir string
}

// mainModuleRoot finds the repository root two levels above this test's
// directory and checks it really is Gatehouse, so a moved test fails loudly
// instead of building something else.
func mainModuleRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	root := filepath.Clean(filepath.Join(wd, "..", ".."))
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatalf("main module not found two levels above %s: %v", wd, err)
	}
	if !bytes.Contains(gomod, []byte(mainModulePath+"\n")) {
		t.Fatalf("%s/go.mod does not declare %q", root, mainModulePath)
	}
	return root
}

// buildGatehouse compiles ./cmd/gatehouse of the main module. Failing to
// build is a test failure, never a skip: this test exists to catch that.
func buildGatehouse(t *testing.T) *gatehouse {
	t.Helper()
	root := mainModuleRoot(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "gatehouse")
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not found on PATH: %v", err)
	}
	cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/gatehouse")
	cmd.Dir = root
	// The main module must build on its own, not through a workspace that
	// might pull this test module in.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/gatehouse in %s: %v\n%s", root, err, out)
	}
	return &gatehouse{
		bin:     bin,
		store:   "sqlite:" + filepath.Join(dir, "gatehouse.db"),
		dataDir: filepath.Join(dir, "data"),
	}
}

// createTenant runs `tenant create --json` and insists on exactly one JSON
// object carrying every field the contract names.
func (g *gatehouse) createTenant(t *testing.T, displayName, domain string) tenantInfo {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(g.bin, "tenant", "create",
		"--display-name", displayName, "--domain", domain,
		"--store", g.store, "--data-dir", g.dataDir, "--json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", cmd, err, stdout.String(), stderr.String())
	}
	var info tenantInfo
	dec := json.NewDecoder(bytes.NewReader(stdout.Bytes()))
	if err := dec.Decode(&info); err != nil {
		t.Fatalf("tenant create printed no JSON object: %v\nstdout:\n%s", err, stdout.String())
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		t.Fatalf("tenant create printed more than one JSON value (next: %s, err %v)\nstdout:\n%s", extra, err, stdout.String())
	}
	for field, v := range map[string]string{
		"tenantId":                info.TenantID,
		"admin.userPrincipalName": info.Admin.UserPrincipalName,
		"admin.password":          info.Admin.Password,
		"automation.clientId":     info.Automation.ClientID,
		"automation.clientSecret": info.Automation.ClientSecret,
	} {
		if v == "" {
			t.Fatalf("tenant create JSON has empty %s\nstdout:\n%s", field, stdout.String())
		}
	}
	if !strings.HasSuffix(strings.ToLower(info.Admin.UserPrincipalName), "@"+strings.ToLower(domain)) {
		t.Errorf("admin UPN %q is not in the tenant's domain %q", info.Admin.UserPrincipalName, domain)
	}
	return info
}

// serve starts `gatehouse serve` on a free loopback port, waits for /readyz
// and returns the base URL. The process is stopped when the test ends, and
// its log is shown if the test failed.
func (g *gatehouse) serve(t *testing.T) string {
	t.Helper()
	addr := freeLoopbackAddr(t)
	logPath := filepath.Join(t.TempDir(), "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("create server log: %v", err)
	}
	// No load balancer to drain away from: stop at once.
	cmd := exec.Command(g.bin, "serve", "--store", g.store, "--data-dir", g.dataDir, "--addr", addr, "--drain-period", "0")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = serverSysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		t.Fatalf("start %s: %v", cmd, err)
	}
	proc := &serverProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		proc.waitErr = cmd.Wait()
		close(proc.done)
	}()
	t.Cleanup(func() {
		proc.stop(t)
		_ = logFile.Close()
		if t.Failed() {
			t.Logf("gatehouse serve log (tail):\n%s", fileTail(logPath, logTailBytes))
		}
	})

	base := "http://" + addr
	if err := waitReady(base+"/readyz", proc); err != nil {
		t.Fatalf("gatehouse serve on %s never became ready: %v", addr, err)
	}
	return base
}

// serverProcess is a started `gatehouse serve`; done is closed once it has
// exited, after which waitErr holds how.
type serverProcess struct {
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
}

// stop interrupts the server and kills it if it lingers.
func (p *serverProcess) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Logf("interrupt gatehouse serve: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		t.Logf("gatehouse serve ignored SIGINT for %s; killing it", stopTimeout)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// waitReady polls url until it answers 200, the process exits, or
// readyTimeout passes.
func waitReady(url string, proc *serverProcess) error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET %s: status %s", url, resp.Status)
		}
		select {
		case <-proc.done:
			return fmt.Errorf("process exited before ready (%v); last probe: %w", proc.waitErr, err)
		case <-ctx.Done():
			return fmt.Errorf("timed out after %s; last probe: %w", readyTimeout, err)
		case <-tick.C:
		}
	}
}

// freeLoopbackAddr asks the kernel for an unused port. Another process could
// grab it before the server binds, which then shows up as a startup failure.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("release port %s: %v", addr, err)
	}
	return addr
}

func fileTail(path string, n int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
	}
	return string(b)
}
