package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
)

// manyTenants spreads client_credentials requests (ES256) over n tenants
// of one node, all warmed up at the start, and prints the latency of each
// window of the run: what a node's caches do when every tenant's entry was
// made in the same second and each expires after a minute.
func manyTenants(storeURL string, n int, duration, window time.Duration, workers int) error {
	ctx := context.Background()
	nd, err := startNode(ctx, storeURL)
	if err != nil {
		return err
	}
	defer nd.close()
	start := time.Now()
	forms := make([]url.Values, n)
	urls := make([]string, n)
	for i := range n {
		t, err := nd.srv.Directory().CreateTenant(ctx, directory.NewTenant{DisplayName: fmt.Sprint("Load ", i), Domain: fmt.Sprintf("load%d-%d.example", i, start.UnixNano())})
		if err != nil {
			return err
		}
		if forms[i], err = es256Client(ctx, nd.srv.Directory(), t.TenantID, nd.base); err != nil {
			return err
		}
		urls[i] = nd.base + "/" + t.TenantID + "/oauth2/v2.0/token"
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers * 2}}
	// Warm every tenant at once, as a node does that starts under load.
	for i := range n {
		if _, err := fetchToken(client, urls[i], forms[i]); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "%d tenants created and warmed in %s\n", n, time.Since(start).Round(time.Second))

	type sample struct {
		at   time.Duration
		took time.Duration
	}
	var (
		mu      sync.Mutex
		samples []sample
		errs    int
	)
	begin := time.Now()
	deadline := begin.Add(duration)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var mine []sample
			bad := 0
			for time.Now().Before(deadline) {
				i := mrand.IntN(n)
				t0 := time.Now()
				if _, err := fetchToken(client, urls[i], forms[i]); err != nil {
					bad++
				}
				mine = append(mine, sample{at: t0.Sub(begin), took: time.Since(t0)})
			}
			mu.Lock()
			samples, errs = append(samples, mine...), errs+bad
			mu.Unlock()
		})
	}
	wg.Wait()
	fmt.Printf("| window | tokens/s | p50 | p99 | max |\n|---|---|---|---|---|\n")
	for from := time.Duration(0); from < duration; from += window {
		var took []time.Duration
		for _, s := range samples {
			if s.at >= from && s.at < from+window {
				took = append(took, s.took)
			}
		}
		if len(took) == 0 {
			continue
		}
		slices.Sort(took)
		at := func(p int) time.Duration { return took[(len(took)-1)*p/100].Round(10 * time.Microsecond) }
		fmt.Printf("| %s–%s | %.0f | %s | %s | %s |\n", from, from+window, float64(len(took))/window.Seconds(), at(50), at(99), took[len(took)-1].Round(10*time.Microsecond))
	}
	fmt.Printf("\n%d tenants, %d workers, %d errors\n", n, workers, errs)
	return nil
}
