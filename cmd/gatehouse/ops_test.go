package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/app"
)

// settingsProbe is a command with one flag per source of a setting; it
// records the values it ran with.
func settingsProbe(got map[string]string) *cobra.Command {
	root := &cobra.Command{Use: "gatehouse", SilenceUsage: true, SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return applySettings(cmd) }}
	root.PersistentFlags().String("config", "", "")
	run := &cobra.Command{Use: "run", RunE: func(cmd *cobra.Command, _ []string) error {
		for _, name := range []string{"from-flag", "from-env", "from-file", "from-default", "store-timeout"} {
			got[name], _ = cmd.Flags().GetString(name)
		}
		return nil
	}}
	for _, name := range []string{"from-flag", "from-env", "from-file", "from-default", "store-timeout"} {
		run.Flags().String(name, "default", "")
	}
	other := &cobra.Command{Use: "other", RunE: func(*cobra.Command, []string) error { return nil }}
	other.Flags().String("only-other", "", "")
	root.AddCommand(run, other)
	return root
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSettingsPrecedence(t *testing.T) {
	file := writeFile(t, "gatehouse.yaml", "# every source names each key\nfrom-flag: file\nfrom-env: file\nfrom-file: file\nstore-timeout: 7s\nonly-other: ignored here\n")
	t.Setenv("GATEHOUSE_FROM_FLAG", "env")
	t.Setenv("GATEHOUSE_FROM_ENV", "env")
	got := map[string]string{}
	root := settingsProbe(got)
	root.SetArgs([]string{"run", "--config", file, "--from-flag", "flag"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"from-flag": "flag", "from-env": "env", "from-file": "file", "from-default": "default", "store-timeout": "7s"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}

	// The file can be named by the environment too.
	t.Setenv("GATEHOUSE_CONFIG", file)
	got = map[string]string{}
	root = settingsProbe(got)
	root.SetArgs([]string{"run"})
	if err := root.Execute(); err != nil || got["from-file"] != "file" {
		t.Errorf("GATEHOUSE_CONFIG: %v %v", err, got)
	}
}

func TestConfigFileRefusals(t *testing.T) {
	known := map[string]bool{"addr": true, "public-url": true}
	for _, c := range []struct{ body, want string }{
		{"addr: 0.0.0.0:8080\npublic_url: https://id.example.com\n", `line 2: unknown key "public_url"`},
		{"addr: 1\naddr: 2\n", `"addr" given twice`},
		{"addr:\n  host: x\n", `"addr" needs one value`},
		{"addr:\n", `"addr" needs one value`},
		{"- addr\n", "want settings as key: value lines"},
		{"addr: [\n", "config file"},
		{"addr: a\n---\naddr: b\n", "one YAML document only"},
	} {
		if _, err := parseConfig("f.yaml", []byte(c.body), known); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error with %q", c.body, err, c.want)
		}
	}
	got, err := parseConfig("f.yaml", []byte("# nothing yet\n"), known)
	if err != nil || len(got) != 0 {
		t.Errorf("an empty file: %v %v", got, err)
	}
	got, err = parseConfig("f.yaml", []byte("addr: 0.0.0.0:8080\npublic-url: \"https://id.example.com\"\n"), known)
	if err != nil || len(got) != 2 || got[1] != (setting{"public-url", "https://id.example.com"}) {
		t.Errorf("settings: %v %v", got, err)
	}
}

// The real commands: a file's unknown key stops every command, naming it;
// a file's store is used, and the environment and flags win over it.
func TestConfigFileWithTheRealCommands(t *testing.T) {
	dir := t.TempDir()
	for key, line := range map[string]string{"listen": "listen: 0.0.0.0:8080", "json": "json: true", "config": "config: other.yaml"} {
		bad := writeFile(t, "bad.yaml", "data-dir: "+dir+"\n"+line+"\n")
		if _, err := runCLI(t, context.Background(), "migrate", "--config", bad); err == nil || !strings.Contains(err.Error(), `unknown key "`+key+`"`) {
			t.Errorf("%s in the file: %v", key, err)
		}
	}
	// serve's keys are fine in a file migrate reads.
	good := writeFile(t, "good.yaml", "data-dir: "+dir+"\nstore: sqlite:"+filepath.Join(dir, "file.db")+"\naddr: 0.0.0.0:8080\nlog-format: json\n")
	if _, err := runCLI(t, context.Background(), "migrate", "--config", good); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "file.db")); err != nil {
		t.Fatal("the file's store was not used")
	}
	t.Setenv("GATEHOUSE_STORE", "sqlite:"+filepath.Join(dir, "env.db"))
	if _, err := runCLI(t, context.Background(), "migrate", "--config", good); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "env.db")); err != nil {
		t.Fatal("the environment did not win over the file")
	}
	if _, err := runCLI(t, context.Background(), "migrate", "--config", good, "--store", "sqlite:"+filepath.Join(dir, "flag.db")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "flag.db")); err != nil {
		t.Fatal("the flag did not win")
	}
}

func TestCheckListen(t *testing.T) {
	for _, c := range []struct {
		addr, public string
		ok           bool
	}{
		{"127.0.0.1:8080", "", true},
		{"localhost:8080", "", true},
		{"[::1]:8080", "", true},
		{"127.0.0.2:8080", "", true},
		{"0.0.0.0:8080", "", false},
		{":8080", "", false},
		{"[::]:8080", "", false},
		{"192.168.1.10:8080", "", false},
		{"id.example.com:443", "", false},
		{"0.0.0.0:8080", "https://id.example.com", true},
		{":8080", "http://localhost:8080", true},
		{"nonsense", "", false},
	} {
		err := checkListen(c.addr, c.public)
		if (err == nil) != c.ok {
			t.Errorf("checkListen(%q, %q) = %v", c.addr, c.public, err)
		}
		if err != nil && c.addr != "nonsense" && !strings.Contains(err.Error(), "--public-url") {
			t.Errorf("the refusal of %s does not say what to pass: %v", c.addr, err)
		}
	}
}

func TestServeRefusesEveryInterfaceWithoutPublicURL(t *testing.T) {
	dir := t.TempDir()
	_, err := runCLI(t, context.Background(), "serve", "--addr", "0.0.0.0:0", "--data-dir", dir)
	if err == nil || !strings.Contains(err.Error(), "every interface") || !strings.Contains(err.Error(), "--public-url") {
		t.Fatalf("serve --addr 0.0.0.0:0: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused start left %d files", len(entries))
	}
}

func TestMetricsExposureFlags(t *testing.T) {
	for _, c := range []struct {
		addr   string
		public bool
		want   app.MetricsExposure
		ok     bool
	}{
		{"", false, app.MetricsLocal, true},
		{"", true, app.MetricsPublic, true},
		{"127.0.0.1:9090", false, app.MetricsSeparate, true},
		{"127.0.0.1:9090", true, 0, false},
	} {
		got, err := metricsExposure(c.addr, c.public)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("metricsExposure(%q, %v) = %v, %v", c.addr, c.public, got, err)
		}
	}
}

func TestVersion(t *testing.T) {
	out, err := runCLI(t, context.Background(), "version")
	if err != nil || !strings.HasPrefix(out, "gatehouse ") || !strings.Contains(out, "\ncommit  ") || !strings.Contains(out, "\ndate    ") {
		t.Fatalf("version: %v\n%s", err, out)
	}
	defer func(v, c, d string) { version, commit, date = v, c, d }(version, commit, date)
	version, commit, date = "v1.2.3", "abc123", "2026-12-01T10:00:00Z"
	out, err = runCLI(t, context.Background(), "version", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var b build
	if err := json.Unmarshal([]byte(out), &b); err != nil || b.Version != "v1.2.3" || b.Commit != "abc123" || b.Date != "2026-12-01T10:00:00Z" || b.Go == "" {
		t.Fatalf("version --json with -X values: %v %s", err, out)
	}
}

func TestVersionFromBuildInfo(t *testing.T) {
	base := build{Version: "dev", Commit: "unknown", Date: "unknown"}
	got := fromBuildInfo(base, &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "f2eaba3"}, {Key: "vcs.time", Value: "2026-12-03T17:00:00Z"}, {Key: "vcs.modified", Value: "true"}, {Key: "GOOS", Value: "linux"},
	}})
	if got.Version != "dev" || got.Commit != "f2eaba3" || got.Date != "2026-12-03T17:00:00Z" || !got.Modified {
		t.Errorf("from a work tree: %+v", got)
	}
	got = fromBuildInfo(base, &debug.BuildInfo{Main: debug.Module{Version: "v1.0.0"}})
	if got.Version != "v1.0.0" || got.Commit != "unknown" {
		t.Errorf("from a module download: %+v", got)
	}
}

func TestTenantListAndShow(t *testing.T) {
	dir := t.TempDir()
	var ids []string
	for _, d := range []string{"contoso.example", "fabrikam.example"} {
		out, err := runCLI(t, context.Background(), "tenant", "create", "--display-name", "Org "+d, "--domain", d, "--data-dir", dir, "--json")
		if err != nil {
			t.Fatal(err)
		}
		var c createdTenantJSON
		_ = json.Unmarshal([]byte(out), &c)
		ids = append(ids, c.TenantID)
	}
	out, err := runCLI(t, context.Background(), "tenant", "list", "--data-dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var list []tenantJSONOut
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 {
		t.Fatalf("list --json: %v %s", err, out)
	}
	for _, ten := range list {
		if (ten.ID != ids[0] && ten.ID != ids[1]) || !strings.HasPrefix(ten.DisplayName, "Org ") || ten.Type != "workforce" || ten.CreatedAt.IsZero() {
			t.Errorf("listed %+v", ten)
		}
	}
	out, err = runCLI(t, context.Background(), "tenant", "list", "--data-dir", dir)
	if err != nil || !strings.HasPrefix(out, "ID") || !strings.Contains(out, ids[0]) || !strings.Contains(out, "Org fabrikam.example") {
		t.Errorf("list: %v\n%s", err, out)
	}

	for _, segment := range []string{ids[0], "contoso.example", "CONTOSO.example"} {
		out, err = runCLI(t, context.Background(), "tenant", "show", segment, "--data-dir", dir, "--json")
		var shown tenantJSONOut
		// The domain given at creation is the default; the initial one is
		// the deployment's.
		if err != nil || json.Unmarshal([]byte(out), &shown) != nil || shown.ID != ids[0] || len(shown.Domains) != 2 ||
			!slices.Contains(shown.Domains, domainJSONOut{Name: "contoso.example", Verified: true, Default: true}) {
			t.Errorf("show %s: %v %s", segment, err, out)
		}
	}
	out, err = runCLI(t, context.Background(), "tenant", "show", "fabrikam.example", "--data-dir", dir)
	if err != nil || !regexp.MustCompile(`(?m)^Name\s+Org fabrikam.example$`).MatchString(out) || !regexp.MustCompile(`(?m)^fabrikam.example\s+yes\s+yes\s+no$`).MatchString(out) {
		t.Errorf("show: %v\n%s", err, out)
	}
	if _, err := runCLI(t, context.Background(), "tenant", "show", "nowhere.example", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "Tenant 'nowhere.example' not found") {
		t.Errorf("show an unknown tenant: %v", err)
	}

	// An empty deployment lists nothing, as JSON an empty array.
	out, err = runCLI(t, context.Background(), "tenant", "list", "--data-dir", t.TempDir(), "--json")
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Errorf("empty list: %v %q", err, out)
	}
}

// serve's operator flags: metrics on their own listener (none on the main
// one), JSON logs with an access line per request, probes quiet, and the
// OpenID library's lines only at debug.
func TestServeMetricsListenerAndJSONLogs(t *testing.T) {
	for _, level := range []string{"info", "debug"} {
		t.Run(level, func(t *testing.T) {
			metricsAddr := freeAddr(t)
			base, _, stderr, stop := startServe(t, t.TempDir(), "--metrics-addr", metricsAddr, "--log-format", "json", "--log-level", level)
			resp, err := http.Get("http://" + metricsAddr + "/metrics")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("metrics listener: %v", err)
			}
			resp.Body.Close()
			if resp, err = http.Get(base + "/metrics"); err != nil || resp.StatusCode != 404 {
				t.Fatalf("/metrics on the main listener with --metrics-addr: %v %v", err, resp.Status)
			}
			resp.Body.Close()
			resp, err = http.Get(base + "/gatehouse.localhost/v2.0/.well-known/openid-configuration?x=secret-query")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			stop()

			var access, probes, library int
			sc := bufio.NewScanner(strings.NewReader(stderr.String()))
			for sc.Scan() {
				var m map[string]any
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatalf("not a JSON line: %q", sc.Text())
				}
				switch {
				case m["msg"] == "request" && m["route"] == "GET /{tenant}/v2.0/.well-known/openid-configuration":
					access++
					if m["level"] != "INFO" || m["request_id"] == "" {
						t.Errorf("access line %v", m)
					}
				case m["msg"] == "request" && (m["route"] == "GET /readyz" || m["route"] == "GET /metrics"):
					probes++
				case m["msg"] == "registered route":
					library++
					if m["level"] != "DEBUG" {
						t.Errorf("the library's line at %v", m["level"])
					}
				}
			}
			if access != 1 || strings.Contains(stderr.String(), "secret-query") {
				t.Errorf("%d access lines of the discovery request (or its query logged):\n%s", access, stderr)
			}
			if debug := level == "debug"; (probes > 0) != debug || (library > 0) != debug {
				t.Errorf("at %s: %d probe lines, %d library lines", level, probes, library)
			}
		})
	}
	if _, err := runCLI(t, context.Background(), "serve", "--addr", freeAddr(t), "--data-dir", t.TempDir(), "--log-format", "xml"); err == nil || !strings.Contains(err.Error(), "text or json") {
		t.Errorf("--log-format xml: %v", err)
	}
}

// What the CLI prints for later use names absolute paths.
func TestDemoPrintsAbsolutePaths(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	out, err := runCLI(t, context.Background(), "demo", "--data-dir", "data", "--store", "sqlite:data/g.db", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var d demoJSON
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	want := "go run ./cmd/gatehouse serve --store sqlite:" + filepath.Join(dir, "data", "g.db") + " --data-dir " + filepath.Join(dir, "data")
	if d.Serve != want {
		t.Errorf("serve command %q, want %q", d.Serve, want)
	}
}

func TestTenantDelete(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"contoso.example", "fabrikam.example"} {
		if _, err := runCLI(t, context.Background(), "tenant", "create", "--display-name", "Org "+d, "--domain", d, "--data-dir", dir); err != nil {
			t.Fatal(err)
		}
	}
	typed := func(answer string, args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		root := newRoot(&stdout, &stderr)
		root.SetIn(strings.NewReader(answer))
		root.SetArgs(append(append([]string{"tenant", "delete"}, args...), "--data-dir", dir))
		err := root.ExecuteContext(context.Background())
		return stdout.String(), err
	}
	count := func() int {
		out, err := runCLI(t, context.Background(), "tenant", "list", "--data-dir", dir, "--json")
		var list []tenantJSONOut
		if err != nil || json.Unmarshal([]byte(out), &list) != nil {
			t.Fatalf("list: %v %s", err, out)
		}
		return len(list)
	}

	out, err := typed("fabrikam.example\n", "contoso.example")
	if err == nil || !strings.Contains(out, "Type its default domain, contoso.example") || count() != 2 {
		t.Fatalf("a wrong confirmation: %v %q, %d tenants", err, out, count())
	}
	if _, err := typed("", "contoso.example"); err == nil || count() != 2 {
		t.Fatalf("no confirmation: %v, %d tenants", err, count())
	}
	out, err = typed("Contoso.Example\n", "contoso.example")
	if err != nil || !strings.Contains(out, "Deleted tenant") || count() != 1 {
		t.Fatalf("confirmed: %v %q, %d tenants", err, out, count())
	}
	if _, err := runCLI(t, context.Background(), "tenant", "show", "contoso.example", "--data-dir", dir); err == nil {
		t.Error("the deleted tenant is still shown")
	}
	if _, err := typed("", "fabrikam.example", "--yes"); err == nil || !strings.Contains(err.Error(), "last tenant") || count() != 1 {
		t.Errorf("the last tenant: %v, %d tenants", err, count())
	}
}
