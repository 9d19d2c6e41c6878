package app_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// env is one Gatehouse node behind a real HTTP listener.
type env struct {
	t   testing.TB
	url string // where this node is reached
	// public is the deployment's address, the audience of its tokens: url,
	// or another node's for a second node behind one name.
	public string
	app    *app.Server
}

type tenant struct {
	id, domain, token string
	created           directory.CreatedTenant
}

func newEnv(t testing.TB, st store.Store) *env {
	t.Helper()
	return newNode(t, st, app.Config{})
}

// newNode starts a node over st reached at its own address. cfg.DataDir
// (its master key) is a new directory unless set; cfg.PublicURL, when set,
// is the deployment's address instead of the node's own, as for a second
// node behind one name; cfg.Logger discards unless set.
func newNode(t testing.TB, st store.Store, cfg app.Config) *env {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	if cfg.PublicURL == "" {
		cfg.PublicURL = base
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a, err := app.NewWithStore(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = a.Handler()
	srv.Start()
	t.Cleanup(func() { srv.Close(); _ = a.Close() })
	return &env{t: t, url: base, public: cfg.PublicURL, app: a}
}

// eachBackend runs a test against a fresh node on SQLite and on PostgreSQL.
func eachBackend(t *testing.T, test func(t *testing.T, e *env)) {
	for name, open := range storetest.Backends() {
		t.Run(name, func(t *testing.T) { test(t, newEnv(t, open(t))) })
	}
}

func (e *env) tenant(name, domain string) tenant {
	e.t.Helper()
	c, err := e.app.Directory().CreateTenant(context.Background(), directory.NewTenant{DisplayName: name, Domain: domain})
	if err != nil {
		e.t.Fatal(err)
	}
	return tenant{id: c.TenantID, domain: domain, token: e.token(c.TenantID, c.Auto.ClientID, c.Auto.ClientSecret), created: c}
}

func (e *env) token(tenantID, clientID, secret string) string {
	e.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {e.public + "/.default"}}
	resp, err := http.PostForm(e.url+"/"+tenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&tok) != nil || tok.AccessToken == "" {
		e.t.Fatalf("token request: status %d", resp.StatusCode)
	}
	return tok.AccessToken
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r reply) errorCode() string {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func (r reply) values() []map[string]any {
	var out []map[string]any
	for _, v := range r.body["value"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// call sends a request; body may be a string (sent verbatim) or a value to encode.
func (e *env) call(method, path, token string, body any, headers ...string) reply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, _ := json.Marshal(b)
		rd = bytes.NewReader(buf)
	}
	target := path
	if !strings.HasPrefix(path, "http") {
		target = e.url + path
	}
	req, _ := http.NewRequest(method, target, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (e *env) mustCall(want int, method, path, token string, body any, headers ...string) reply {
	e.t.Helper()
	r := e.call(method, path, token, body, headers...)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.raw)
	}
	return r
}

func newUser(alias, domain string) map[string]any {
	return map[string]any{
		"accountEnabled": true, "displayName": "User " + alias, "mailNickname": alias,
		"userPrincipalName": alias + "@" + domain,
		"passwordProfile":   map[string]any{"password": "correct horse battery " + alias, "forceChangePasswordNextSignIn": true},
	}
}

func TestUsersAndGroupsAreIsolatedPerTenant(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		b := e.tenant("Fabrikam", "fabrikam.example")

		alice := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("alice", a.domain)).body
		group := e.mustCall(201, "POST", "/v1.0/groups", a.token, map[string]any{"displayName": "Sales", "mailEnabled": false, "mailNickname": "sales", "securityEnabled": true}).body
		e.mustCall(204, "POST", "/v1.0/groups/"+group["id"].(string)+"/members/$ref", a.token, map[string]any{"@odata.id": e.url + "/v1.0/directoryObjects/" + alice["id"].(string)})
		e.mustCall(201, "POST", "/v1.0/users", b.token, newUser("bob", b.domain))

		// Tenant B sees none of A's objects, by id, by UPN, in lists, filters or delta.
		for _, path := range []string{
			"/v1.0/users/" + alice["id"].(string),
			"/v1.0/users/alice@contoso.example",
			"/v1.0/groups/" + group["id"].(string),
			"/v1.0/groups/" + group["id"].(string) + "/members",
		} {
			r := e.call("GET", path, b.token, nil)
			if r.status != 404 || r.errorCode() != "Request_ResourceNotFound" {
				t.Errorf("B GET %s: %d %s", path, r.status, r.raw)
			}
		}
		for _, method := range []string{"PATCH", "DELETE"} {
			r := e.call(method, "/v1.0/users/"+alice["id"].(string), b.token, map[string]any{"jobTitle": "x"})
			if r.status != 404 {
				t.Errorf("B %s A's user: %d", method, r.status)
			}
		}
		r := e.call("POST", "/v1.0/groups/"+group["id"].(string)+"/members/$ref", b.token, map[string]any{"@odata.id": e.url + "/v1.0/directoryObjects/" + alice["id"].(string)})
		if r.status != 404 {
			t.Errorf("B adding to A's group: %d", r.status)
		}
		for _, path := range []string{"/v1.0/users", "/v1.0/users?$filter=" + url.QueryEscape("userPrincipalName eq 'alice@contoso.example'"), "/v1.0/groups", "/v1.0/users/delta", "/v1.0/groups/delta"} {
			body := e.mustCall(200, "GET", path, b.token, nil).raw
			if strings.Contains(body, alice["id"].(string)) || strings.Contains(body, group["id"].(string)) || strings.Contains(body, "contoso") {
				t.Errorf("B's %s shows tenant A's objects: %s", path, body)
			}
		}
		// And A still sees its own.
		got := e.mustCall(200, "GET", "/v1.0/users/alice@contoso.example?$select=id,userType,accountEnabled", a.token, nil).body
		if got["id"] != alice["id"] || got["userType"] != "Member" || got["accountEnabled"] != true {
			t.Errorf("A's own user: %v", got)
		}
	})
}

func TestUserLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		created := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("carol", a.domain))
		id := created.body["id"].(string)
		if _, leaked := created.body["passwordProfile"]; leaked || strings.Contains(created.raw, "correct horse") {
			t.Fatalf("password echoed: %s", created.raw)
		}
		if created.header.Get("Location") == "" || created.body["@odata.etag"] == nil {
			t.Errorf("create: missing Location or etag: %v %s", created.header, created.raw)
		}
		e.mustCall(204, "PATCH", "/v1.0/users/"+id, a.token, map[string]any{"jobTitle": "Engineer", "otherMails": []string{"carol@home.example"}})
		got := e.mustCall(200, "GET", "/v1.0/users/"+id+"?$select=jobTitle,otherMails,displayName", a.token, nil).body
		if got["jobTitle"] != "Engineer" || got["displayName"] != "User carol" || fmt.Sprint(got["otherMails"]) != "[carol@home.example]" {
			t.Errorf("after patch: %v", got)
		}
		// The default property set, with unset properties as null.
		def := e.mustCall(200, "GET", "/v1.0/users/"+id, a.token, nil).body
		if _, ok := def["surname"]; !ok || def["surname"] != nil || def["userType"] != nil {
			t.Errorf("default select: %v", def)
		}
		// A guest-style UPN with #EXT# is addressable URL-encoded.
		e.mustCall(204, "PATCH", "/v1.0/users/"+id, a.token, map[string]any{"userPrincipalName": "carol_home.example#EXT#@" + a.domain})
		e.mustCall(200, "GET", "/v1.0/users/carol_home.example%23EXT%23@"+a.domain, a.token, nil)
		e.mustCall(204, "DELETE", "/v1.0/users/"+id, a.token, nil)
		e.mustCall(404, "GET", "/v1.0/users/"+id, a.token, nil)
		// The UPN is free again once the user is deleted.
		e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("carol", a.domain))
	})
}

func TestGraphErrors(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		user := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("dave", a.domain)).body
		id := user["id"].(string)
		cases := []struct {
			name, method, path string
			body               any
			headers            []string
			status             int
			code               string
		}{
			{"malformed JSON", "POST", "/v1.0/users", `{"displayName": `, nil, 400, "BadRequest"},
			{"not an object", "POST", "/v1.0/users", `[1,2]`, nil, 400, "BadRequest"},
			{"unknown property", "POST", "/v1.0/users", map[string]any{"displayName": "x", "favouriteColour": "red"}, nil, 400, "Request_BadRequest"},
			{"read-only property", "PATCH", "/v1.0/users/" + id, map[string]any{"createdDateTime": "2020-01-01T00:00:00Z"}, nil, 400, "Request_BadRequest"},
			{"wrong type", "PATCH", "/v1.0/users/" + id, map[string]any{"accountEnabled": "yes"}, nil, 400, "Request_BadRequest"},
			{"missing required", "POST", "/v1.0/users", map[string]any{"displayName": "x"}, nil, 400, "Request_BadRequest"},
			{"unverified UPN domain", "POST", "/v1.0/users", newUser("eve", "elsewhere.example"), nil, 400, "Request_BadRequest"},
			{"weak password", "POST", "/v1.0/users", map[string]any{"accountEnabled": true, "displayName": "E", "mailNickname": "e", "userPrincipalName": "e@" + a.domain, "passwordProfile": map[string]any{"password": "short"}}, nil, 400, "Request_BadRequest"},
			{"common password", "POST", "/v1.0/users", map[string]any{"accountEnabled": true, "displayName": "E", "mailNickname": "e", "userPrincipalName": "e@" + a.domain, "passwordProfile": map[string]any{"password": "Password123!"}}, nil, 400, "Request_BadRequest"},
			{"password from the account's name", "PATCH", "/v1.0/users/" + id, map[string]any{"passwordProfile": map[string]any{"password": "Dave-2026!"}}, nil, 400, "Request_BadRequest"},
			{"duplicate UPN", "POST", "/v1.0/users", newUser("dave", a.domain), nil, 400, "Request_BadRequest"},
			{"not JSON", "POST", "/v1.0/users", "displayName=x", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "Request_BadRequest"},
			{"unknown encoding", "POST", "/v1.0/users", "{}", []string{"Content-Encoding", "br"}, 415, "Request_BadRequest"},
			{"bad filter syntax", "GET", "/v1.0/users?$filter=" + url.QueryEscape("displayName eq"), nil, nil, 400, "Request_BadRequest"},
			{"unsupported filter property", "GET", "/v1.0/users?$filter=" + url.QueryEscape("jobTitle gt 'a'"), nil, nil, 400, "Request_UnsupportedQuery"},
			{"endsWith without advanced query", "GET", "/v1.0/users?$filter=" + url.QueryEscape("endsWith(mail,'@x.example')"), nil, nil, 400, "Request_UnsupportedQuery"},
			{"$top too large", "GET", "/v1.0/users?$top=1000", nil, nil, 400, "Request_BadRequest"},
			{"unknown $select", "GET", "/v1.0/users?$select=nope", nil, nil, 400, "Request_BadRequest"},
			{"$count without header", "GET", "/v1.0/users/$count", nil, nil, 400, "Request_BadRequest"},
			{"bad skiptoken", "GET", "/v1.0/users?$skiptoken=garbage", nil, nil, 400, "Request_BadRequest"},
			{"missing object", "GET", "/v1.0/users/00000000-0000-0000-0000-000000000001", nil, nil, 404, "Request_ResourceNotFound"},
			{"missing object patch", "PATCH", "/v1.0/groups/00000000-0000-0000-0000-000000000001", map[string]any{"description": "x"}, nil, 404, "Request_ResourceNotFound"},
			{"stale etag", "PATCH", "/v1.0/users/" + id, map[string]any{"jobTitle": "x"}, []string{"If-Match", `W/"999"`}, 412, "Request_PreconditionFailed"},
			{"no token", "GET", "/v1.0/users", nil, []string{"Authorization", ""}, 401, "InvalidAuthenticationToken"},
			{"forged token", "GET", "/v1.0/users", nil, []string{"Authorization", "Bearer eyJhbGciOiJub25lIn0.eyJ0aWQiOiJ4In0."}, 401, "InvalidAuthenticationToken"},
			{"unknown segment", "GET", "/v1.0/nonsense", nil, nil, 400, "BadRequest"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.call(c.method, c.path, a.token, c.body, append(c.headers, "client-request-id", "abc-123")...)
				if r.status != c.status || r.errorCode() != c.code {
					t.Fatalf("got %d %q, want %d %q: %s", r.status, r.errorCode(), c.status, c.code, r.raw)
				}
				inner, _ := r.body["error"].(map[string]any)["innerError"].(map[string]any)
				if msg, _ := r.body["error"].(map[string]any)["message"].(string); msg == "" || inner["request-id"] == "" || inner["date"] == nil {
					t.Errorf("incomplete error body: %s", r.raw)
				}
				if r.header.Get("request-id") == "" || r.header.Get("client-request-id") != "abc-123" {
					t.Errorf("request ids: %v", r.header)
				}
			})
		}
	})
}

func TestDuplicateNamesTheProperty(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("hank", a.domain))
		r := e.mustCall(400, "POST", "/v1.0/users", a.token, newUser("hank", a.domain))
		details, _ := r.body["error"].(map[string]any)["details"].([]any)
		if len(details) != 1 || fmt.Sprint(details[0]) != "map[code:ObjectConflict target:userPrincipalName]" {
			t.Fatalf("details: %s", r.raw)
		}
	})
}

func TestGzippedBodies(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_ = json.NewEncoder(zw).Encode(newUser("ivy", a.domain))
		_ = zw.Close()
		e.mustCall(201, "POST", "/v1.0/users", a.token, buf.String(), "Content-Encoding", "gzip")
		// A body that inflates past the limit is refused, not buffered.
		buf.Reset()
		zw = gzip.NewWriter(&buf)
		_, _ = zw.Write([]byte(`{"displayName":"`))
		_, _ = zw.Write(bytes.Repeat([]byte("a"), 4<<20))
		_ = zw.Close()
		e.mustCall(413, "POST", "/v1.0/users", a.token, buf.String(), "Content-Encoding", "gzip")
		e.mustCall(400, "POST", "/v1.0/users", a.token, "not gzip", "Content-Encoding", "gzip")
	})
}

func TestParallelPatchesWithOneETag(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		created := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("frank", a.domain))
		id, etag := created.body["id"].(string), created.body["@odata.etag"].(string)
		var mu sync.Mutex
		statuses := map[int]int{}
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.call("PATCH", "/v1.0/users/"+id, a.token, map[string]any{"jobTitle": fmt.Sprint("title ", i)}, "If-Match", etag)
				mu.Lock()
				statuses[r.status]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if statuses[204] != 1 || statuses[412] != 49 {
			t.Fatalf("statuses %v, want exactly one 204 and 49 412", statuses)
		}
		got := e.mustCall(200, "GET", "/v1.0/users/"+id, a.token, nil)
		if got.header.Get("ETag") == etag {
			t.Errorf("etag did not change after the successful patch")
		}
	})
}

func TestPagingFilteringAndCount(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		ctx := context.Background()
		for i := range 23 {
			body := newUser(fmt.Sprintf("p%02d", i), a.domain)
			if i%2 == 0 {
				body["jobTitle"] = "Even"
			}
			if _, err := e.app.Directory().CreateUser(ctx, a.id, body); err != nil {
				t.Fatal(err)
			}
		}
		seen := map[string]bool{}
		next := "/v1.0/users?$top=5&$select=id,displayName&$filter=" + url.QueryEscape("startsWith(displayName,'User p')")
		pages := 0
		for next != "" {
			r := e.mustCall(200, "GET", next, a.token, nil)
			for _, v := range r.values() {
				if seen[v["id"].(string)] {
					t.Fatalf("user %v seen twice", v["id"])
				}
				seen[v["id"].(string)] = true
				if _, extra := v["userPrincipalName"]; extra {
					t.Fatalf("$select not honoured: %v", v)
				}
			}
			next, _ = r.body["nextLink"].(string)
			if n, ok := r.body["@odata.nextLink"].(string); ok {
				next = n
			}
			pages++
		}
		if len(seen) != 23 || pages != 5 {
			t.Fatalf("saw %d users over %d pages, want 23 over 5", len(seen), pages)
		}
		ev := e.mustCall(200, "GET", "/v1.0/users?$filter="+url.QueryEscape("jobTitle eq 'even'")+"&$count=true", a.token, nil, "ConsistencyLevel", "eventual")
		if len(ev.values()) != 12 || ev.body["@odata.count"] != float64(12) {
			t.Fatalf("filter+count: %d values, count %v", len(ev.values()), ev.body["@odata.count"])
		}
		noHeader := e.mustCall(200, "GET", "/v1.0/users?$count=true", a.token, nil)
		if _, ok := noHeader.body["@odata.count"]; ok {
			t.Errorf("$count=true without ConsistencyLevel must be ignored")
		}
		n := e.mustCall(200, "GET", "/v1.0/users/$count", a.token, nil, "ConsistencyLevel", "eventual")
		if strings.TrimSpace(n.raw) != "24" { // 23 plus the administrator
			t.Errorf("/users/$count = %q", n.raw)
		}
		ordered := e.mustCall(200, "GET", "/v1.0/users?$orderby=displayName%20desc&$top=2&$select=displayName", a.token, nil).values()
		if ordered[0]["displayName"] != "User p22" || ordered[1]["displayName"] != "User p21" {
			t.Errorf("orderby desc: %v", ordered)
		}
	})
}

func TestDeltaReturnsEachChangeOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		// Initial round: every user, then a delta link.
		var deltaLink string
		next := "/v1.0/users/delta?$select=displayName,jobTitle&$top=1"
		initial := 0
		for next != "" {
			r := e.mustCall(200, "GET", next, a.token, nil)
			initial += len(r.values())
			next, _ = r.body["@odata.nextLink"].(string)
			deltaLink, _ = r.body["@odata.deltaLink"].(string)
		}
		if initial != 1 || deltaLink == "" {
			t.Fatalf("initial round: %d users, deltaLink %q", initial, deltaLink)
		}
		u1 := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("g1", a.domain)).body["id"].(string)
		u2 := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("g2", a.domain)).body["id"].(string)
		e.mustCall(204, "PATCH", "/v1.0/users/"+u1, a.token, map[string]any{"jobTitle": "first"})
		e.mustCall(204, "PATCH", "/v1.0/users/"+u1, a.token, map[string]any{"jobTitle": "second"})
		e.mustCall(204, "DELETE", "/v1.0/users/"+u2, a.token, nil)

		// The round pages by the $top the link carries; follow it to the end.
		var vals []map[string]any
		var r reply
		for link := deltaLink; link != ""; link, _ = r.body["@odata.nextLink"].(string) {
			r = e.mustCall(200, "GET", link, a.token, nil)
			vals = append(vals, r.values()...)
		}
		if len(vals) != 2 {
			t.Fatalf("delta: %d items, want 2: %v", len(vals), vals)
		}
		byID := map[string]map[string]any{}
		for _, v := range vals {
			byID[v["id"].(string)] = v
		}
		if byID[u1]["jobTitle"] != "second" || byID[u1]["@removed"] != nil {
			t.Errorf("changed user: %v", byID[u1])
		}
		if byID[u2]["@removed"] == nil {
			t.Errorf("deleted user not @removed: %v", byID[u2])
		}
		again := r.body["@odata.deltaLink"].(string)
		if empty := e.mustCall(200, "GET", again, a.token, nil).values(); len(empty) != 0 {
			t.Errorf("changes returned twice: %v", empty)
		}
	})
}

func TestPermissionsAreEnforced(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		app := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "reader"}).body
		e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": app["appId"]})
		secret := e.mustCall(200, "POST", "/v1.0/applications/"+app["id"].(string)+"/addPassword", a.token, map[string]any{"passwordCredential": map[string]any{"displayName": "t"}}).body
		appToken := e.token(a.id, app["appId"].(string), secret["secretText"].(string))
		if r := e.call("GET", "/v1.0/users", appToken, nil); r.status != 403 || r.errorCode() != "Authorization_RequestDenied" {
			t.Fatalf("app without permissions: %d %s", r.status, r.raw)
		}
		// The secret is listed only by its hint.
		listed := e.mustCall(200, "GET", "/v1.0/applications/"+app["id"].(string), a.token, nil).raw
		if strings.Contains(listed, secret["secretText"].(string)) {
			t.Fatal("client secret readable after creation")
		}
	})
}

func TestNodesStartingTogetherBootstrapOnce(t *testing.T) {
	for name, open := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			const nodes = 4
			outputs := make([]bytes.Buffer, nodes)
			errs := make([]error, nodes)
			var wg sync.WaitGroup
			for i := range nodes {
				a, err := app.NewWithStore(app.Config{PublicURL: "http://127.0.0.1:1", DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)}, nopClose{st})
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = a.Bootstrap(context.Background(), &outputs[i])
				}()
			}
			wg.Wait()
			printed := 0
			for i := range nodes {
				if errs[i] != nil {
					t.Errorf("node %d: %v", i, errs[i])
				}
				if strings.Contains(outputs[i].String(), "Client secret") {
					printed++
				}
			}
			n, err := newEnv(t, nopClose{st}).app.Directory().CountTenants(context.Background())
			if err != nil || n != 1 || printed != 1 {
				t.Fatalf("%d tenants, credentials printed %d times; want 1 and 1 (%v)", n, printed, err)
			}
		})
	}
}

// nopClose shares one store between several nodes of a test.
type nopClose struct{ store.Store }

func (nopClose) Close() error { return nil }

func TestGroupLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		u := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("jo", a.domain)).body["id"].(string)
		g := e.mustCall(201, "POST", "/v1.0/groups", a.token, map[string]any{"displayName": "Eng", "mailEnabled": false, "mailNickname": "eng", "securityEnabled": true}).body
		gid := g["id"].(string)
		if g["groupTypes"] == nil || g["@odata.etag"] == nil {
			t.Errorf("created group: %v", g)
		}
		var deltaLink string
		for link := "/v1.0/groups/delta"; link != ""; {
			r := e.mustCall(200, "GET", link, a.token, nil)
			link, _ = r.body["@odata.nextLink"].(string)
			deltaLink, _ = r.body["@odata.deltaLink"].(string)
		}
		ref := map[string]any{"@odata.id": e.url + "/v1.0/directoryObjects/" + u}
		e.mustCall(204, "POST", "/v1.0/groups/"+gid+"/members/$ref", a.token, ref)
		dup := e.mustCall(400, "POST", "/v1.0/groups/"+gid+"/members/$ref", a.token, ref)
		if !strings.Contains(dup.raw, "already exist") {
			t.Errorf("duplicate member: %s", dup.raw)
		}
		e.mustCall(204, "POST", "/v1.0/groups/"+gid+"/owners/$ref", a.token, ref)
		members := e.mustCall(200, "GET", "/v1.0/groups/"+gid+"/members", a.token, nil).values()
		if len(members) != 1 || members[0]["id"] != u || members[0]["@odata.type"] != "#microsoft.graph.user" {
			t.Fatalf("members: %v", members)
		}
		memberOf := e.mustCall(200, "GET", "/v1.0/users/"+u+"/memberOf", a.token, nil).values()
		if len(memberOf) != 1 || memberOf[0]["id"] != gid || memberOf[0]["@odata.type"] != "#microsoft.graph.group" {
			t.Fatalf("memberOf: %v", memberOf)
		}
		e.mustCall(204, "PATCH", "/v1.0/groups/"+gid, a.token, map[string]any{"description": "Engineering"})
		if r := e.call("PATCH", "/v1.0/groups/"+gid, a.token, map[string]any{"mailEnabled": true}); r.status != 400 {
			t.Errorf("mail-enabled group accepted: %d", r.status)
		}
		if got := e.mustCall(200, "GET", "/v1.0/groups/"+gid, a.token, nil).body; got["description"] != "Engineering" {
			t.Errorf("after patch: %v", got)
		}
		changed := e.mustCall(200, "GET", deltaLink, a.token, nil)
		vals := changed.values()
		if len(vals) != 1 || vals[0]["id"] != gid || !strings.Contains(fmt.Sprint(vals[0]["members@delta"]), u) {
			t.Fatalf("group delta: %s", changed.raw)
		}
		e.mustCall(204, "DELETE", "/v1.0/groups/"+gid+"/members/"+u+"/$ref", a.token, nil)
		e.mustCall(404, "DELETE", "/v1.0/groups/"+gid+"/members/"+u+"/$ref", a.token, nil)
		if m := e.mustCall(200, "GET", "/v1.0/groups/"+gid+"/members", a.token, nil).values(); len(m) != 0 {
			t.Errorf("member not removed: %v", m)
		}
		removed := e.mustCall(200, "GET", changed.body["@odata.deltaLink"].(string), a.token, nil).values()
		if len(removed) != 1 || !strings.Contains(fmt.Sprint(removed[0]["members@delta"]), "@removed") {
			t.Errorf("removal not in delta: %v", removed)
		}
		// Deleting a member shows in the group's delta as a removed member.
		e.mustCall(204, "POST", "/v1.0/groups/"+gid+"/members/$ref", a.token, ref)
		var link string
		for l := "/v1.0/groups/delta"; l != ""; {
			r := e.mustCall(200, "GET", l, a.token, nil)
			l, _ = r.body["@odata.nextLink"].(string)
			link, _ = r.body["@odata.deltaLink"].(string)
		}
		e.mustCall(204, "DELETE", "/v1.0/users/"+u, a.token, nil)
		gone := e.mustCall(200, "GET", link, a.token, nil).values()
		if len(gone) != 1 || gone[0]["id"] != gid || !strings.Contains(fmt.Sprint(gone[0]["members@delta"]), "@removed") {
			t.Errorf("a deleted member is not removed in the group's delta: %v", gone)
		}
		e.mustCall(204, "DELETE", "/v1.0/groups/"+gid, a.token, nil)
		e.mustCall(404, "GET", "/v1.0/groups/"+gid, a.token, nil)

	})
}

func TestPasswordBlocklistFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "breached.txt")
	if err := os.WriteFile(file, []byte("# from a breach corpus\nTr0ub4dor&3-horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir, err := app.NewDirectory(storetest.SQLite(t, filepath.Join(t.TempDir(), "b.db")), file, "")
	if err != nil {
		t.Fatal(err)
	}
	ten, err := dir.CreateTenant(context.Background(), directory.NewTenant{DisplayName: "C", Domain: "c.example"})
	if err != nil {
		t.Fatal(err)
	}
	body := newUser("zed", "c.example")
	body["passwordProfile"] = map[string]any{"password": "tr0ub4dor&3-HORSE"}
	if _, err := dir.CreateUser(context.Background(), ten.TenantID, body); err == nil || !strings.Contains(err.Error(), "breached") {
		t.Fatalf("a listed password was accepted: %v", err)
	}
	if _, err := app.NewDirectory(nil, filepath.Join(t.TempDir(), "missing.txt"), ""); err == nil {
		t.Fatal("a missing blocklist file must stop the start")
	}
}

func TestES256ChosenPerApplication(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		app := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "EC daemon", "tags": []string{"gatehouse:signingAlg=ES256"}}).body
		sp := e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": app["appId"]}).body
		graphSP := e.mustCall(200, "GET", "/v1.0/servicePrincipals?$filter="+url.QueryEscape("appId eq '00000003-0000-0000-c000-000000000000'"), a.token, nil).values()[0]
		e.mustCall(201, "POST", "/v1.0/servicePrincipals/"+graphSP["id"].(string)+"/appRoleAssignedTo", a.token, map[string]any{
			"principalId": sp["id"], "resourceId": graphSP["id"], "appRoleId": "df021288-bdef-4463-88db-98f22de89214"}) // User.Read.All
		secret := e.mustCall(200, "POST", "/v1.0/applications/"+app["id"].(string)+"/addPassword", a.token, map[string]any{}).body["secretText"].(string)
		token := e.token(a.id, app["appId"].(string), secret)
		header, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
		if !strings.Contains(string(header), `"alg":"ES256"`) {
			t.Fatalf("token header %s", header)
		}
		e.mustCall(200, "GET", "/v1.0/users", token, nil)
		// The tenant's other apps keep RS256.
		other, _ := base64.RawURLEncoding.DecodeString(strings.Split(a.token, ".")[0])
		if !strings.Contains(string(other), `"alg":"RS256"`) {
			t.Fatalf("automation token header %s", other)
		}
	})
}

func TestSignInIdentityIsUniqueUnderConcurrency(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		c, err := e.app.Directory().CreateTenant(context.Background(), directory.NewTenant{DisplayName: "Shop", Domain: "shop.example", Type: "external"})
		if err != nil {
			t.Fatal(err)
		}
		token := e.token(c.TenantID, c.Auto.ClientID, c.Auto.ClientSecret)
		body := map[string]any{"accountEnabled": true, "displayName": "Customer",
			"identities":      []map[string]any{{"signInType": "emailAddress", "issuer": "shop.example", "issuerAssignedId": "buyer@mail.example"}},
			"passwordProfile": map[string]any{"password": "correct horse battery buyer", "forceChangePasswordNextSignIn": false}}
		var mu sync.Mutex
		statuses := map[int]int{}
		var wg sync.WaitGroup
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.call("POST", "/v1.0/users", token, body)
				mu.Lock()
				statuses[r.status]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if statuses[201] != 1 || statuses[400] != 9 {
			t.Fatalf("statuses %v: want one account per sign-in identity", statuses)
		}
		// And the one account signs in with its email.
		if _, err := e.app.Directory().SignIn(context.Background(), c.TenantID, "buyer@mail.example", "correct horse battery buyer"); err != nil {
			t.Fatalf("sign-in by email identity: %v", err)
		}
	})
}

func TestHousekeepingPurgesExpiredState(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		err := e.app.Directory().Store().Update(context.Background(), func(tx store.Tx) error {
			for i := range purgeTestStates {
				exp := past
				if i == 0 {
					exp = future
				}
				if err := tx.PutState(context.Background(), store.State{TenantID: a.id, Kind: "test", ID: fmt.Sprint(i), Data: []byte(`{}`), CreatedAt: past, ExpiresAt: exp}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		n, err := e.app.Housekeep(context.Background())
		if err != nil || n != purgeTestStates-1 {
			t.Fatalf("purged %d (%v), want %d", n, err, purgeTestStates-1)
		}
		err = e.app.Directory().Store().View(context.Background(), func(tx store.Tx) error {
			live, err := tx.ListStates(context.Background(), a.id, store.StateFilter{Kind: "test"})
			if len(live) != 1 || live[0].ID != "0" {
				t.Errorf("live states after housekeeping: %v", live)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// purgeTestStates spans more than one purge batch.
const purgeTestStates = 1203

func TestDeletedItemsRestoreAndPurge(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		id := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("rita", a.domain)).body["id"].(string)
		e.mustCall(204, "DELETE", "/v1.0/users/"+id, a.token, nil)

		list := e.mustCall(200, "GET", "/v1.0/directory/deletedItems/microsoft.graph.user?$select=id,userPrincipalName", a.token, nil).values()
		if len(list) != 1 || list[0]["id"] != id || list[0]["deletedDateTime"] == nil || list[0]["@odata.type"] != "#microsoft.graph.user" {
			t.Fatalf("deleted users: %v", list)
		}
		if got := e.mustCall(200, "GET", "/v1.0/directory/deletedItems/"+id, a.token, nil).body; got["userPrincipalName"] != "rita@"+a.domain {
			t.Fatalf("deleted item: %v", got)
		}
		e.mustCall(400, "GET", "/v1.0/directory/deletedItems/microsoft.graph.nonsense", a.token, nil)

		// While another user holds the UPN, restoring is refused and names the property.
		other := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("rita", a.domain)).body["id"].(string)
		r := e.mustCall(400, "POST", "/v1.0/directory/deletedItems/"+id+"/restore", a.token, map[string]any{})
		if !strings.Contains(r.raw, "userPrincipalName") {
			t.Errorf("restore onto a taken UPN: %s", r.raw)
		}
		e.mustCall(204, "DELETE", "/v1.0/users/"+other, a.token, nil)
		restored := e.mustCall(200, "POST", "/v1.0/directory/deletedItems/"+id+"/restore", a.token, map[string]any{}).body
		if restored["id"] != id {
			t.Fatalf("restored: %v", restored)
		}
		e.mustCall(200, "GET", "/v1.0/users/"+id, a.token, nil)
		if _, err := e.app.Directory().SignIn(context.Background(), a.id, "rita@"+a.domain, "correct horse battery rita"); err != nil {
			t.Errorf("a restored user keeps the password: %v", err)
		}

		// Permanently deleting: gone from deletedItems, and not restorable.
		e.mustCall(204, "DELETE", "/v1.0/directory/deletedItems/"+other, a.token, nil)
		e.mustCall(404, "GET", "/v1.0/directory/deletedItems/"+other, a.token, nil)
		e.mustCall(404, "POST", "/v1.0/directory/deletedItems/"+other+"/restore", a.token, map[string]any{})

		// Another tenant sees none of it.
		b := e.tenant("Fabrikam", "fabrikam.example")
		e.mustCall(204, "DELETE", "/v1.0/users/"+id, a.token, nil)
		e.mustCall(404, "GET", "/v1.0/directory/deletedItems/"+id, b.token, nil)
		e.mustCall(404, "POST", "/v1.0/directory/deletedItems/"+id+"/restore", b.token, map[string]any{})
		if l := e.mustCall(200, "GET", "/v1.0/directory/deletedItems/microsoft.graph.user", b.token, nil).values(); len(l) != 0 {
			t.Errorf("tenant B sees deleted users of A: %v", l)
		}
	})
}
