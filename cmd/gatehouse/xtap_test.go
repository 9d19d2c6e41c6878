package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/pagewalk"
)

// adminSession is a tenant's administrator signed in with `gatehouse
// login`, each with their own credentials directory.
type adminSession struct {
	t         *testing.T
	configDir string
}

// signInAdmin runs `gatehouse login` for the tenant and completes the
// device code sign-in (with its consent) in a browser.
func signInAdmin(t *testing.T, base, tenant, upn, password string) adminSession {
	t.Helper()
	s := adminSession{t: t, configDir: t.TempDir()}
	t.Setenv("GATEHOUSE_CONFIG_DIR", s.configDir)
	out := &lineWriter{}
	done := make(chan error, 1)
	go func() {
		root := newRoot(out, io.Discard)
		root.SetArgs([]string{"login", "--url", base, "--tenant", tenant})
		done <- root.ExecuteContext(context.Background())
	}()
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil; m = userCodeLine.FindStringSubmatch(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no user code printed: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err := pagewalk.New(nil).SignIn(m[1], map[string]string{"code": m[2], "username": upn, "password": password, "stay": "no", "decision": "accept"})
	var final *pagewalk.Final
	if !errors.As(err, &final) || final.Status != http.StatusOK {
		t.Fatalf("device sign-in of %s: %v", upn, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("login of %s: %v\n%s", upn, err, out.String())
	}
	return s
}

// run runs a gatehouse command as this administrator.
func (s adminSession) run(args ...string) (string, error) {
	s.t.Helper()
	s.t.Setenv("GATEHOUSE_CONFIG_DIR", s.configDir)
	return runCLI(s.t, context.Background(), args...)
}

func (s adminSession) must(args ...string) string {
	s.t.Helper()
	out, err := s.run(args...)
	if err != nil {
		s.t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// mustContain fails unless out holds every want.
func mustContain(t *testing.T, label, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s: %q not in\n%s", label, w, out)
		}
	}
}

// layerRow matches a row of the evaluate table: layer, then decision.
func layerRow(layer, decision string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^` + layer + `\s+` + decision + `\s`)
}

func TestXtapCommandsThroughGraph(t *testing.T) {
	dir := t.TempDir()
	base, _, _, _ := startServe(t, dir)
	tenants := map[string]createdTenantJSON{}
	for name, domain := range map[string]string{"Contoso": "contoso.example", "Fabrikam": "fabrikam.example"} {
		out, err := runCLI(t, context.Background(), "tenant", "create", "--display-name", name, "--domain", domain, "--data-dir", dir, "--json")
		if err != nil {
			t.Fatal(err)
		}
		var c createdTenantJSON
		if err := json.Unmarshal([]byte(out), &c); err != nil {
			t.Fatal(err)
		}
		tenants[domain] = c
	}
	contosoID, fabrikamID := tenants["contoso.example"].TenantID, tenants["fabrikam.example"].TenantID
	contoso := signInAdmin(t, base, "contoso.example", "admin@contoso.example", tenants["contoso.example"].Admin.Password)
	fabrikam := signInAdmin(t, base, "fabrikam.example", "admin@fabrikam.example", tenants["fabrikam.example"].Admin.Password)

	// Two Fabrikam users, through Graph as Fabrikam's admin.
	homeUser := func(nick string) string {
		out := fabrikam.must("api", "POST", "/v1.0/users", "--body", `{"accountEnabled":true,"displayName":"`+nick+`","mailNickname":"`+nick+
			`","userPrincipalName":"`+nick+`@fabrikam.example","passwordProfile":{"password":"correct horse battery `+nick+`"}}`)
		var u struct{ ID string }
		if err := json.Unmarshal([]byte(out), &u); err != nil || u.ID == "" {
			t.Fatalf("creating %s: %v\n%s", nick, err, out)
		}
		return u.ID
	}
	ana, ben := homeUser("ana"), homeUser("ben")

	out := contoso.must("xtap", "lookup", "fabrikam.example")
	mustContain(t, "lookup", out, fabrikamID, "Fabrikam", "fabrikam.example")

	// Fabrikam blocks its users going out to Contoso, naming Contoso by domain.
	out = fabrikam.must("xtap", "partner", "add", "contoso.example", "--outbound", "block")
	mustContain(t, "partner add", out, "Added a partner configuration for Contoso (contoso.example, "+contosoID+")",
		"b2bCollaborationOutbound", "blocked: all users", "blocked: all applications")
	if !regexp.MustCompile(`b2bCollaborationInbound\s+inherits the default\n`).MatchString(out) {
		t.Errorf("partner add: the unset inbound setting is not shown as inherited:\n%s", out)
	}

	// Contoso's what-if says home outbound refuses Ana: 500212.
	out = contoso.must("xtap", "evaluate", "--home", "fabrikam.example", "--user", ana)
	mustContain(t, "evaluate after the outbound block", out, "Decision: blocked, decided by homeOutbound (error AADSTS500212)", "LAYER", "DECISION", "RULE")
	if !layerRow("homeOutbound", "blocked").MatchString(out) || !layerRow("resourceInbound", "allowed").MatchString(out) {
		t.Errorf("the layers of the outbound block:\n%s", out)
	}
	var verdict struct {
		Decision      string
		DecidingLayer string
		ErrorCode     *int
		Layers        []struct{ Layer, Decision, Rule, Reason string }
	}
	if err := json.Unmarshal([]byte(contoso.must("xtap", "evaluate", "--home", fabrikamID, "--user", ana, "--json")), &verdict); err != nil {
		t.Fatal(err)
	}
	if verdict.Decision != "blocked" || verdict.DecidingLayer != "homeOutbound" || verdict.ErrorCode == nil || *verdict.ErrorCode != 500212 || len(verdict.Layers) != 5 {
		t.Errorf("evaluate --json: %+v", verdict)
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, l := range verdict.Layers {
		if !strings.Contains(flat, strings.Join(strings.Fields(l.Reason), " ")) || !strings.Contains(out, strings.Split(l.Rule, "; ")[0]) {
			t.Errorf("the table leaves out the %s rule or reason %+v:\n%s", l.Layer, l, out)
		}
	}

	// Fabrikam lets them go again; Contoso blocks everyone coming in by
	// default: 500213, at Contoso's word.
	out = fabrikam.must("xtap", "partner", "remove", "contoso.example")
	mustContain(t, "partner remove", out, "Removed the partner configuration for Contoso")
	out = contoso.must("xtap", "default", "set", "--inbound", "block")
	mustContain(t, "default set", out, "Default (customized)", "b2bCollaborationInbound", "blocked: all users")
	out = contoso.must("xtap", "evaluate", "--home", "fabrikam.example", "--user", ana)
	mustContain(t, "evaluate after the inbound default block", out, "decided by resourceInbound (error AADSTS500213)")
	if !layerRow("homeOutbound", "allowed").MatchString(out) || !layerRow("resourceInbound", "blocked").MatchString(out) {
		t.Errorf("the layers of the inbound block:\n%s", out)
	}

	// A partner entry lets Ana alone in and trusts Fabrikam's MFA.
	out = contoso.must("xtap", "partner", "add", fabrikamID, "--inbound", "allow", "--inbound-users", ana, "--trust-mfa", "--auto-redeem-inbound")
	mustContain(t, "partner add by id", out, "Added a partner configuration for Fabrikam (fabrikam.example, "+fabrikamID+")", "allowed: user "+ana,
		"MFA trusted, compliant device not trusted", "inbound on, outbound off (inherited)")
	mustContain(t, "Ana let in", contoso.must("xtap", "evaluate", "--home", "fabrikam.example", "--user", ana), "Decision: allowed")
	mustContain(t, "Ben not let in", contoso.must("xtap", "evaluate", "--home", "fabrikam.example", "--user", ben), "(error AADSTS500213)")
	out = contoso.must("xtap", "show")
	mustContain(t, "show", out, "Default (customized)", "Partner Fabrikam (fabrikam.example, "+fabrikamID+")", "allowed: user "+ana)
	var all struct {
		Policy   map[string]any   `json:"crossTenantAccessPolicy"`
		Default  map[string]any   `json:"default"`
		Partners []map[string]any `json:"partners"`
	}
	if err := json.Unmarshal([]byte(contoso.must("xtap", "show", "--json")), &all); err != nil || all.Policy["id"] != "crossTenantAccessPolicy" ||
		all.Default["isServiceDefault"] != false || len(all.Partners) != 1 || all.Partners[0]["tenantId"] != fabrikamID {
		t.Errorf("show --json: %v %+v", err, all)
	}

	// Changing one trusted claim keeps the others; --inherit gives a setting back.
	out = contoso.must("xtap", "partner", "set", "fabrikam.example", "--trust-compliant-device", "--inherit", "inbound")
	mustContain(t, "partner set", out, "MFA trusted, compliant device trusted")
	if !regexp.MustCompile(`b2bCollaborationInbound\s+inherits the default\n`).MatchString(out) {
		t.Errorf("partner set --inherit inbound:\n%s", out)
	}
	mustContain(t, "Ben under the default again", contoso.must("xtap", "evaluate", "--home", "fabrikam.example", "--user", ben), "(error AADSTS500213)")

	// Reset: everyone allowed by default again, the partner entry kept.
	out = contoso.must("xtap", "default", "reset")
	mustContain(t, "default reset", out, "system default again")
	mustContain(t, "default after reset", contoso.must("xtap", "default", "show"), "Default (the system default)", "allowed: all users")
	mustContain(t, "Ben after the reset", contoso.must("xtap", "evaluate", "--home", "fabrikam.example", "--user", ben), "Decision: allowed")
	out = contoso.must("xtap", "evaluate", "--email", "ben@fabrikam.example")
	if !layerRow("externalCollaborationSettings", "allowed").MatchString(out) || !strings.Contains(out, "Decision: allowed") {
		t.Errorf("evaluate --email, the home tenant found from the domain:\n%s", out)
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(contoso.must("xtap", "partner", "show", "fabrikam.example", "--json")), &p); err != nil ||
		p["inboundTrust"].(map[string]any)["isCompliantDeviceAccepted"] != true || p["b2bCollaborationInbound"] != nil {
		t.Errorf("partner show --json: %v %v", err, p)
	}

	// The changes were Contoso's admin's, in Contoso's audit log (read by
	// Contoso's automation app: the CLI does not ask for AuditLog.Read.All).
	var audits struct {
		Value []struct {
			InitiatedBy struct {
				User struct{ UserPrincipalName string }
			}
			TargetResources []struct{ DisplayName string }
		}
	}
	if err := json.Unmarshal([]byte(tenantAudits(t, base, tenants["contoso.example"])), &audits); err != nil {
		t.Fatal(err)
	}
	byAdmin := map[string]int{}
	for _, a := range audits.Value {
		if a.InitiatedBy.User.UserPrincipalName == "admin@contoso.example" && len(a.TargetResources) == 1 {
			byAdmin[a.TargetResources[0].DisplayName]++
		}
	}
	// default set, default reset; partner add, partner set.
	if byAdmin["Default cross-tenant access settings"] < 2 || byAdmin["Partner cross-tenant access settings "+fabrikamID] < 2 {
		t.Errorf("Contoso's audit log of its admin's changes: %v", byAdmin)
	}

	// A body for what the flags do not cover.
	bodyFile := filepath.Join(t.TempDir(), "default.json")
	if err := os.WriteFile(bodyFile, []byte(`{"b2bDirectConnectInbound":{"usersAndGroups":{"accessType":"allowed","targets":[{"target":"AllUsers","targetType":"user"}]},`+
		`"applications":{"accessType":"allowed","targets":[{"target":"AllApplications","targetType":"application"}]}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out = contoso.must("xtap", "default", "set", "--body", bodyFile)
	if !regexp.MustCompile(`b2bDirectConnectInbound\s+users and groups\s+allowed: all users`).MatchString(out) {
		t.Errorf("default set --body:\n%s", out)
	}

	// The same from standard input: back to the system's direct connect.
	t.Setenv("GATEHOUSE_CONFIG_DIR", contoso.configDir)
	var stdout bytes.Buffer
	root := newRoot(&stdout, io.Discard)
	root.SetIn(strings.NewReader(`{"b2bDirectConnectInbound": null}`))
	root.SetArgs([]string{"xtap", "default", "set", "--body", "-"})
	if err := root.ExecuteContext(context.Background()); err != nil || !regexp.MustCompile(`b2bDirectConnectInbound\s+users and groups\s+blocked: all users`).MatchString(stdout.String()) {
		t.Errorf("default set --body -: %v\n%s", err, stdout.String())
	}

	// Graph's refusals come back as Graph's messages.
	unknown := "0b7c6a5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"xtap", "partner", "show", unknown}, "The partner configuration '" + unknown + "' does not exist. (Request_ResourceNotFound)"},
		{[]string{"xtap", "partner", "remove", unknown}, "does not exist"},
		{[]string{"xtap", "partner", "set", unknown, "--outbound", "block"}, "does not exist"},
		{[]string{"xtap", "partner", "add", "nowhere.example"}, "Request_ResourceNotFound"},
		{[]string{"xtap", "evaluate", "--home", fabrikamID, "--user", unknown}, "has no user '" + unknown + "'"},
		{[]string{"xtap", "partner", "add", "fabrikam.example"}, "(Request_MultipleObjectsWithSameKeyValue)"},
		{[]string{"xtap", "default", "set", "--body", bodyFile + ".missing"}, "no such file"},
	} {
		if out, err := contoso.run(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("gatehouse %s: %v, want %q\n%s", strings.Join(tc.args, " "), err, tc.want, out)
		}
	}

	// Flags are refused before anything is sent: these fail the same way
	// with nobody signed in.
	t.Setenv("GATEHOUSE_CONFIG_DIR", t.TempDir())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"xtap", "default", "set"}, "nothing to change"},
		{[]string{"xtap", "default", "set", "--inbound", "maybe"}, "--inbound is allow or block"},
		{[]string{"xtap", "default", "set", "--inbound-groups", unknown}, "go with --inbound allow or --inbound block"},
		{[]string{"xtap", "default", "set", "--outbound", "allow", "--outbound-users", "ana"}, "--outbound-users takes all or object ids"},
		{[]string{"xtap", "default", "set", "--outbound", "allow", "--outbound-users", "all", "--outbound-groups", unknown}, "already covers every group"},
		{[]string{"xtap", "default", "set", "--inbound", "block", "--body", bodyFile}, "--body replaces the other setting flags"},
		{[]string{"xtap", "default", "set", "--auto-redeem-inbound"}, "unknown flag"},
		{[]string{"xtap", "partner", "add", "not a domain"}, "neither a tenant id (a GUID) nor a domain name"},
		{[]string{"xtap", "partner", "set", "fabrikam.example"}, "nothing to change"},
		{[]string{"xtap", "partner", "set", "fabrikam.example", "--inherit", "trust", "--trust-mfa"}, "contradict"},
		{[]string{"xtap", "partner", "set", "fabrikam.example", "--inherit", "everything"}, "--inherit takes"},
		{[]string{"xtap", "evaluate", "--home", "fabrikam.example"}, "give --user"},
		{[]string{"xtap", "evaluate", "--user", ana}, "--user needs --home"},
		{[]string{"xtap", "evaluate", "--home", "fabrikam.example", "--user", "ana"}, "--user is the user's object id"},
		{[]string{"xtap", "evaluate", "--home", "fabrikam.example", "--user", ana, "--email", "ana@fabrikam.example"}, "not both"},
		{[]string{"xtap", "evaluate", "--home", "fabrikam.example", "--user", ana, "--app", "web"}, "--app is an application (client) id"},
		{[]string{"xtap", "evaluate", "--home", "fabrikam.example", "--user", ana, "--access-type", "sideways"}, "--access-type is b2bCollaboration or b2bDirectConnect"},
		{[]string{"xtap", "lookup", "fabrikam"}, "neither a tenant id"},
	} {
		if out, err := runCLI(t, context.Background(), tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("gatehouse %s: %v, want %q\n%s", strings.Join(tc.args, " "), err, tc.want, out)
		}
	}
	// And with nobody signed in, a valid command says so.
	if _, err := runCLI(t, context.Background(), "xtap", "show"); err == nil || !strings.Contains(err.Error(), "not signed in") {
		t.Errorf("xtap show signed out: %v", err)
	}
}

// tenantAudits reads the tenant's directory audit log with its automation app.
func tenantAudits(t *testing.T, base string, c createdTenantJSON) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.Automation.ClientID}, "client_secret": {c.Automation.ClientSecret}, "scope": {base + "/.default"}}
	resp, err := http.PostForm(base+"/"+c.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("automation token: %d %v", resp.StatusCode, err)
	}
	status, body := get(t, base+"/v1.0/auditLogs/directoryAudits", tok.AccessToken)
	if status != http.StatusOK {
		t.Fatalf("directory audits: %d %s", status, body)
	}
	return body
}
