package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSIGTERMDrainsAndFinishesInFlightWork: on the signal, /readyz turns to
// 503 "draining" at once while requests are still served for the drain
// period, every request in flight completes, and serve returns nil (the
// process exits 0).
func TestSIGTERMDrainsAndFinishesInFlightWork(t *testing.T) {
	const creates, lateCreates = 400, 20
	// SQLite writes one transaction at a time: under the race detector 400
	// queued creates can wait longer than the default store timeout, which
	// would (rightly) answer 503; this test is about shutdown.
	base, out, _, stop := startServe(t, t.TempDir(), "--drain-period", "2s", "--shutdown-timeout", "2m", "--store-timeout", "2m")
	field := func(label string) string {
		m := regexp.MustCompile(label + `\s+(\S+)`).FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("%s not in the first-start output", label)
		}
		return m[1]
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {field("Automation client id")}, "client_secret": {field("Client secret")}, "scope": {base + "/.default"}}
	resp, err := http.PostForm(base+"/"+field("Tenant id")+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: creates}}
	var done atomic.Int64
	create := func(client *http.Client, i int, sent *sync.WaitGroup) error {
		body := fmt.Sprintf(`{"displayName":"G%d","mailEnabled":false,"mailNickname":"g%d","securityEnabled":true}`, i, i)
		req, _ := http.NewRequest("POST", base+"/v1.0/groups", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		if sent != nil {
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { sent.Done() }}))
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("create %d: %w", i, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("create %d: status %d: %s", i, resp.StatusCode, raw)
		}
		done.Add(1)
		return nil
	}
	var sent, finished sync.WaitGroup
	errs := make(chan error, creates+lateCreates)
	sent.Add(creates)
	for i := range creates {
		finished.Go(func() { errs <- create(client, i, &sent) })
	}
	// Every request is on the wire, most still running: the signal.
	sent.Wait()
	inFlight := creates - done.Load()
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }() // stop cancels serve's context, as SIGTERM does, and fails the test unless serve returns nil
	draining := false
	for deadline := time.Now().Add(10 * time.Second); !draining && time.Now().Before(deadline); {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatalf("readyz during the drain period: %v", err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		draining = resp.StatusCode == http.StatusServiceUnavailable && strings.TrimSpace(string(raw)) == "draining" && resp.Header.Get("Retry-After") != ""
	}
	if !draining {
		t.Fatal("/readyz never reported draining")
	}
	// A load balancer that has not noticed yet still gets answers on new
	// connections. (An idle keep-alive connection reused now may meet the
	// shutdown that closes it: the race HTTP keep-alive always has, which
	// the drain period lets load balancers avoid.)
	late := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range lateCreates {
		finished.Go(func() { errs <- create(late, creates+i, nil) })
	}
	finished.Wait()
	<-stopped
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	t.Logf("%d of %d creates were in flight at the signal; %d succeeded in all", inFlight, creates, done.Load())
	if inFlight == 0 {
		t.Error("no create was in flight at the signal; the test proves nothing")
	}
}
