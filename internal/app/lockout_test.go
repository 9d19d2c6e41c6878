package app_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/pagewalk"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// clientHeader names a test request's client address: the cluster's front
// makes it the request's RemoteAddr, as a trusted proxy would.
const clientHeader = "X-Test-Client"

// newCluster starts two nodes over one store behind one address, taking
// turns request by request as a load balancer would, so every sign-in is
// served by both.
func newCluster(t *testing.T, st store.Store, cfg app.Config) *env {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg.PublicURL, cfg.MasterKey = "http://"+srv.Listener.Addr().String(), base64.StdEncoding.EncodeToString(key)
	cfg.DataDir, cfg.Logger = t.TempDir(), slog.New(slog.DiscardHandler)
	var nodes []*app.Server
	for range 2 {
		a, err := app.NewWithStore(cfg, st)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, a)
	}
	var turn atomic.Uint64
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if addr := r.Header.Get(clientHeader); addr != "" {
			r.RemoteAddr = addr + ":40000"
		}
		nodes[turn.Add(1)%2].Handler().ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		for _, n := range nodes {
			_ = n.Close()
		}
	})
	return &env{t: t, url: cfg.PublicURL, public: cfg.PublicURL, app: nodes[0]}
}

// eachCluster runs a test against a two-node cluster on SQLite and on PostgreSQL.
func eachCluster(t *testing.T, cfg app.Config, test func(t *testing.T, e *env)) {
	for name, open := range storetest.Backends() {
		t.Run(name, func(t *testing.T) { test(t, newCluster(t, open(t), cfg)) })
	}
}

// from is a transport whose requests come from a client address.
type from string

func (a from) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(clientHeader, string(a))
	return http.DefaultTransport.RoundTrip(r)
}

// attempt walks the sign-in pages once from a new browser at addr and
// returns where it ended: back at the application, or on a page.
func attempt(authURL, addr string, answers map[string]string) (*url.URL, *pagewalk.Final, error) {
	back, err := pagewalk.New(from(addr)).SignIn(authURL, answers)
	var final *pagewalk.Final
	if errors.As(err, &final) {
		return nil, final, nil
	}
	return back, nil, err
}

// each runs fn(0) … fn(n-1), a few at a time.
func each(n int, fn func(i int)) {
	var wg sync.WaitGroup
	work := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range work {
				fn(i)
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
}

// users creates n users named prefix0…, each with the password "correct
// horse battery " and its name.
func (e *env) users(t *testing.T, a tenant, prefix string, n int) {
	t.Helper()
	each(n, func(i int) {
		u := newUser(fmt.Sprintf("%s%d", prefix, i), a.domain)
		u["passwordProfile"] = map[string]any{"password": fmt.Sprintf("correct horse battery %s%d", prefix, i), "forceChangePasswordNextSignIn": false}
		if r := e.call("POST", "/v1.0/users", a.token, u); r.status != 201 {
			t.Errorf("creating user %d: %d %s", i, r.status, r.raw)
		}
	})
}

// outcomes counts how password attempts ended, from many goroutines.
type outcomes struct {
	mu sync.Mutex
	n  map[string]int
}

// tryPassword walks a new browser at addr through the username and
// password pages once and counts where it ended: "incorrect" (the password
// was checked), "locked", "paced" (a spray's pace), or what else happened.
func (o *outcomes) tryPassword(authURL, addr, username, password string) {
	_, final, err := attempt(authURL, addr, map[string]string{"username": username, "password": password})
	var end string
	switch {
	case err != nil:
		end = err.Error()
	case final == nil:
		end = "signed in"
	case final.Status == http.StatusOK && strings.Contains(final.Body, "Your account or password is incorrect."):
		end = "incorrect"
	case final.Status == http.StatusOK && strings.Contains(final.Body, "Your account is temporarily locked"):
		end = "locked"
	case final.Status == http.StatusTooManyRequests && strings.Contains(final.Body, "sign-ins from new devices are slowed down"):
		end = "paced"
	default:
		end = fmt.Sprintf("%d: %.300s", final.Status, final.Body)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[string]int{}
	}
	o.n[end]++
}

// TestConcurrentWrongPasswordsMeetTheLockout: 99 wrong passwords for one
// account sent at once from 99 browsers at 99 addresses, to two nodes,
// are checked at most the policy's threshold of times; the right password
// from another unfamiliar browser then meets the lock.
func TestConcurrentWrongPasswordsMeetTheLockout(t *testing.T) {
	eachCluster(t, app.Config{}, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		e.users(t, a, "alice", 1)
		const cb = "https://app.example/cb"
		rp := e.registerApp(t, a, "App", cb, "openid")
		authURL := rp.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
		const n = 99
		var got outcomes
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { got.tryPassword(authURL, fmt.Sprintf("198.51.100.%d", i), "alice0@"+a.domain, "Winter2026!") })
		}
		wg.Wait()
		threshold := lockout.DefaultPolicy().Threshold
		if got.n["incorrect"] > threshold || got.n["incorrect"]+got.n["locked"] != n {
			t.Fatalf("99 wrong passwords at once ended %v, want at most %d checked and the rest locked", got.n, threshold)
		}
		var last outcomes
		last.tryPassword(authURL, "203.0.113.1", "alice0@"+a.domain, "correct horse battery alice0")
		if last.n["locked"] != 1 {
			t.Fatalf("the right password from an unfamiliar browser while locked: %v", last.n)
		}
	})
}

// TestPasswordSprayIsSlowed: one password tried on 150 accounts from 150
// addresses is slowed once the tenant has seen the spray threshold of
// failures, while a user whose browser signed in before signs in at once.
// The pace is an hour so that nothing here depends on timing.
func TestPasswordSprayIsSlowed(t *testing.T) {
	spray := lockout.DefaultSprayPolicy()
	spray.Pace = time.Hour
	eachCluster(t, app.Config{Spray: spray}, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		const n = 150
		e.users(t, a, "user", n)
		const cb = "https://app.example/cb"
		rp := e.registerApp(t, a, "App", cb, "openid")
		authURL := func(extra ...oauth2.AuthCodeOption) string {
			return rp.conf.AuthCodeURL("s", append(extra, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))...)
		}
		// user0 signs in from their browser before the spray.
		home := pagewalk.New(from("192.0.2.10"))
		answers := map[string]string{"username": "user0@" + a.domain, "password": "correct horse battery user0", "stay": "no", "decision": "accept"}
		if back, err := home.SignIn(authURL(), answers); err != nil || back.Query().Get("code") == "" {
			t.Fatalf("user0 before the spray: %v %v", back, err)
		}

		var got outcomes
		each(n, func(i int) {
			got.tryPassword(authURL(), fmt.Sprintf("198.51.%d.%d", 100+i/200, i%200), fmt.Sprintf("user%d@%s", i, a.domain), "Winter2026!")
		})
		// The threshold's failures, then one paced attempt; the rest wait.
		if got.n["incorrect"] != spray.Threshold+1 || got.n["paced"] != n-spray.Threshold-1 {
			t.Fatalf("the spray ended %v, want %d checked and %d paced", got.n, spray.Threshold+1, n-spray.Threshold-1)
		}
		// user0's own browser signs in during the spray: no account is locked.
		if back, err := home.SignIn(authURL(oauth2.SetAuthURLParam("prompt", "login")), answers); err != nil || back.Query().Get("code") == "" {
			t.Fatalf("user0 from their browser during the spray: %v %v", back, err)
		}
	})
}

// TestWrongDeviceCodesDoNotBlockTheTenant: 200 wrong user codes from an
// attacker's addresses do not stop a user at another address from
// completing device sign-in, while the attacker's addresses are refused.
func TestWrongDeviceCodesDoNotBlockTheTenant(t *testing.T) {
	eachCluster(t, app.Config{}, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		e.users(t, a, "dana", 1)
		appID := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "TV app", "isFallbackPublicClient": true}).body["appId"].(string)
		resp, err := http.PostForm(e.url+"/"+a.id+"/oauth2/v2.0/devicecode", url.Values{"client_id": {appID}, "scope": {"openid"}})
		if err != nil {
			t.Fatal(err)
		}
		var dev struct {
			DeviceCode      string `json:"device_code"`
			UserCode        string `json:"user_code"`
			VerificationURI string `json:"verification_uri"`
		}
		err = json.NewDecoder(resp.Body).Decode(&dev)
		resp.Body.Close()
		if err != nil || dev.UserCode == "" {
			t.Fatalf("devicecode: %d %v", resp.StatusCode, err)
		}
		wrong := strings.Map(func(r rune) rune {
			switch r {
			case '-':
				return r
			case 'B':
				return 'C'
			}
			return 'B'
		}, dev.UserCode)

		policy := lockout.DefaultCodePolicy()
		const attackers = 200
		each(attackers, func(i int) {
			_, final, err := attempt(dev.VerificationURI, fmt.Sprintf("198.51.100.%d", i/policy.UnderAttack), map[string]string{"code": wrong})
			if err != nil || final == nil || final.Status != http.StatusOK {
				t.Errorf("wrong code %d: %v %v", i, final, err)
			}
		})
		if _, final, err := attempt(dev.VerificationURI, "198.51.100.0", map[string]string{"code": wrong}); err != nil || final == nil || final.Status != http.StatusTooManyRequests {
			t.Fatalf("an attacker's address past its allowance: %v %v", final, err)
		}

		_, final, err := attempt(dev.VerificationURI, "203.0.113.7", map[string]string{"code": dev.UserCode,
			"username": "dana0@" + a.domain, "password": "correct horse battery dana0", "stay": "no", "decision": "accept"})
		if err != nil || final == nil || final.Status != http.StatusOK || !strings.Contains(final.Body, "signed in") {
			t.Fatalf("the user's device sign-in after the wrong codes: %v %v", final, err)
		}
		resp, err = http.PostForm(e.url+"/"+a.id+"/oauth2/v2.0/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {appID}, "device_code": {dev.DeviceCode}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("device token: %d", resp.StatusCode)
		}
	})
}
