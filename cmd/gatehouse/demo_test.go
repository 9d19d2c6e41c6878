package main

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
)

// demoServer serves a node over dir at publicURL, whose listener ln is.
func demoServer(t *testing.T, dir string, ln net.Listener) {
	t.Helper()
	srv, err := app.New(context.Background(), app.Config{DataDir: dir, PublicURL: "http://" + ln.Addr().String(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.Listener = ln
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
}

func get(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var (
	firstForm = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)">(.*?)</form>`)
	hidden    = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	stepOf    = regexp.MustCompile(`<main data-step="([^"]*)">`)
)

// walk opens a redeem URL in a browser that keeps cookies and follows the
// node's redirects, answers each page's first form from answers (and its
// passcode from code), and returns where it ends: on an organizations page.
func walk(t *testing.T, start string, answers map[string]string, code func() string) (string, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(start)
	var steps []string
	for range 12 {
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(body)
		step := stepOf.FindStringSubmatch(page)
		if step == nil || step[1] == "orgs" {
			return resp.Request.URL.String(), page
		}
		steps = append(steps, step[1])
		form := firstForm.FindStringSubmatch(page)
		if resp.StatusCode != 200 || form == nil {
			t.Fatalf("walk stopped at %s (%d):\n%s", resp.Request.URL, resp.StatusCode, page)
		}
		values := url.Values{}
		for _, h := range hidden.FindAllStringSubmatch(form[2], -1) {
			values.Set(h[1], html.UnescapeString(h[2]))
		}
		for name, v := range answers {
			if strings.Contains(form[2], `name="`+name+`"`) {
				values.Set(name, v)
			}
		}
		if strings.Contains(form[2], `name="code"`) {
			values.Set("code", code())
		}
		next, _ := resp.Request.URL.Parse(html.UnescapeString(form[1]))
		req, _ := http.NewRequest("POST", next.String(), strings.NewReader(values.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", next.Scheme+"://"+next.Host)
		resp, err = client.Do(req)
	}
	t.Fatalf("walk did not end: %v", steps)
	return "", ""
}

func TestDemoMakesAWalkthroughThatServeOpens(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public := "http://" + ln.Addr().String()
	out, err := runCLI(t, context.Background(), "demo", "--data-dir", dir, "--public-url", public, "--json")
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	var d demoJSON
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil || dec.More() {
		ln.Close()
		t.Fatalf("output is not one JSON object of the contract: %v\n%s", err, out)
	}
	c, f := d.Contoso, d.Fabrikam
	if d.PublicURL != public || d.Mailbox != public+"/_dev/mailbox" || d.Serve != "go run ./cmd/gatehouse serve --data-dir "+dir+" --public-url "+public+" --addr "+ln.Addr().String() ||
		c.TenantID == "" || c.Admin.UserPrincipalName != "admin@contoso.example" || len(c.Admin.Password) < 16 || c.Automation.ClientID == "" || c.Automation.ClientSecret == "" ||
		c.App.ClientID == "" || c.App.ClientSecret == "" || c.App.RedirectURI != public+"/"+c.TenantID+"/myorganizations" ||
		f.TenantID == "" || f.TenantID == c.TenantID || f.User.UserPrincipalName != "ana@fabrikam.example" || len(f.User.Password) < 16 || f.User.ID == "" {
		ln.Close()
		t.Fatalf("incomplete: %+v", d)
	}
	if len(d.Invitations) != 2 || d.Invitations[0].Email != "ana@fabrikam.example" || d.Invitations[1].Email != "sam@example.net" {
		ln.Close()
		t.Fatalf("invitations: %+v", d.Invitations)
	}
	for _, inv := range d.Invitations {
		if !strings.HasPrefix(inv.InviteRedeemURL, public+"/redeem?ticket="+c.TenantID+".") || inv.InvitedUserID == "" {
			ln.Close()
			t.Fatalf("invitation: %+v", inv)
		}
	}

	demoServer(t, dir, ln)
	sam := d.Invitations[1]
	if status, page := get(t, sam.InviteRedeemURL, ""); status != 200 || !strings.Contains(page, "Contoso") || !strings.Contains(page, sam.Email) {
		t.Fatalf("the OTP invitation's redeem page: %d\n%s", status, page)
	}

	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.Automation.ClientID}, "client_secret": {c.Automation.ClientSecret}, "scope": {public + "/.default"}}
	resp, err := http.PostForm(public+"/"+c.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	status, body := get(t, public+"/v1.0/users?$filter="+url.QueryEscape("userType eq 'Guest'")+"&$select=id,mail,externalUserState", tok.AccessToken)
	var users struct {
		Value []struct{ ID, Mail, ExternalUserState string }
	}
	if err := json.Unmarshal([]byte(body), &users); status != 200 || err != nil {
		t.Fatalf("guests: %d %v %s", status, err, body)
	}
	pending := map[string]string{}
	for _, u := range users.Value {
		if u.ExternalUserState == "PendingAcceptance" {
			pending[u.ID] = u.Mail
		}
	}
	if len(users.Value) != 2 || pending[d.Invitations[0].InvitedUserID] != "ana@fabrikam.example" || pending[sam.InvitedUserID] != sam.Email {
		t.Fatalf("Contoso's guests must be the two invitees, pending: %s", body)
	}

	// The serving node's worker delivers what demo enqueued.
	links := regexp.MustCompile(`href="(/_dev/mailbox/[^"]+)"`)
	var list string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if status, list = get(t, d.Mailbox, ""); status == 200 && len(links.FindAllStringSubmatch(list, -1)) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mailbox did not receive both invitations: %d\n%s", status, list)
		}
	}
	got := map[string]bool{}
	for _, m := range links.FindAllStringSubmatch(list, -1) {
		_, msg := get(t, public+m[1], "")
		for _, inv := range d.Invitations {
			if strings.Contains(msg, inv.Email) && strings.Contains(msg, inv.InviteRedeemURL) {
				got[inv.Email] = true
			}
		}
	}
	if len(got) != 2 {
		t.Fatalf("each invitation email must carry its redeem URL: %v", got)
	}

	// What the README walks through: Ana accepts with her Fabrikam account
	// and lands on her organizations, Contoso among them; Sam accepts with
	// the passcode the mailbox shows.
	end, page := walk(t, d.Invitations[0].InviteRedeemURL, map[string]string{"username": f.User.UserPrincipalName, "password": f.User.Password, "stay": "no", "decision": "accept"}, nil)
	if end != public+"/"+f.TenantID+"/myorganizations" || !strings.Contains(page, "<li>Fabrikam <small>") || !strings.Contains(page, "<li>Contoso\n<form") {
		t.Fatalf("Ana's redemption ended at %s:\n%s", end, page)
	}
	passcode := func() string {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			_, list := get(t, d.Mailbox, "")
			for _, m := range links.FindAllStringSubmatch(list, -1) {
				_, msg := get(t, public+m[1], "")
				if code := regexp.MustCompile(`verification code is: (\d+)`).FindStringSubmatch(msg); code != nil && strings.Contains(msg, sam.Email) {
					return code[1]
				}
			}
		}
		t.Fatal("no passcode reached the mailbox")
		return ""
	}
	if end, page := walk(t, sam.InviteRedeemURL, map[string]string{"decision": "accept"}, passcode); end != c.App.RedirectURI {
		t.Fatalf("Sam's redemption ended at %s:\n%s", end, page)
	}
	_, body = get(t, public+"/v1.0/users?$filter="+url.QueryEscape("userType eq 'Guest'")+"&$select=id,mail,externalUserState", tok.AccessToken)
	if strings.Count(body, `"externalUserState":"Accepted"`) != 2 {
		t.Fatalf("both guests must have accepted: %s", body)
	}

	// A second run, while the server holds the store, is refused for the
	// domain, not for the lock.
	if _, err := runCLI(t, context.Background(), "demo", "--data-dir", dir, "--public-url", public); err == nil || !strings.Contains(err.Error(), "contoso.example already belongs") {
		t.Fatalf("a second demo must be refused clearly, got %v", err)
	}
}

func TestDemoChangesNothingWhenFabrikamIsTaken(t *testing.T) {
	dir := t.TempDir()
	if _, err := runCLI(t, context.Background(), "tenant", "create", "--display-name", "Other", "--domain", "fabrikam.example", "--data-dir", dir); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, context.Background(), "demo", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "fabrikam.example already belongs") {
		t.Fatalf("demo must refuse a taken domain clearly, got %v", err)
	}
	// Contoso was not made: its domain is still free.
	if _, err := runCLI(t, context.Background(), "tenant", "create", "--display-name", "Contoso", "--domain", "contoso.example", "--data-dir", dir); err != nil {
		t.Fatalf("demo left Contoso behind: %v", err)
	}
}

func TestDemoRefusesAPublicURLInvitationsCannotRedirectTo(t *testing.T) {
	dir := t.TempDir()
	_, err := runCLI(t, context.Background(), "demo", "--data-dir", dir, "--public-url", "http://id.example.com")
	if err == nil || !strings.Contains(err.Error(), "must be https") {
		t.Fatalf("got %v", err)
	}
	if _, err := runCLI(t, context.Background(), "tenant", "create", "--display-name", "Contoso", "--domain", "contoso.example", "--data-dir", dir); err != nil {
		t.Fatalf("demo left Contoso behind: %v", err)
	}
}

func TestServeCommandRepeatsTheStore(t *testing.T) {
	for _, tc := range []struct {
		sf     storeFlags
		public string
		want   string
	}{
		{storeFlags{dataDir: "gatehouse-data"}, defaultPublicURL, "go run ./cmd/gatehouse serve"},
		{storeFlags{dataDir: "my data"}, defaultPublicURL, "go run ./cmd/gatehouse serve --data-dir 'my data'"},
		{storeFlags{store: "sqlite:/tmp/g.db", dataDir: "gatehouse-data"}, "https://id.example.com", "go run ./cmd/gatehouse serve --store sqlite:/tmp/g.db --public-url https://id.example.com"},
		{storeFlags{store: "postgres://u:secret@db/g", dataDir: "gatehouse-data"}, "http://localhost:9000", "go run ./cmd/gatehouse serve --store '<the same --store>' --public-url http://localhost:9000 --addr localhost:9000"},
	} {
		if got := serveCommand(tc.sf, tc.public); got != tc.want {
			t.Errorf("serveCommand(%+v, %s) = %q, want %q", tc.sf, tc.public, got, tc.want)
		}
	}
}
