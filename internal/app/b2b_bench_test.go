package app_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/b2b"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// benchBackends are the stores the B2B benchmarks run on, in order.
var benchBackends = []struct {
	name string
	open func(testing.TB) store.Store
}{
	{"sqlite", func(tb testing.TB) store.Store { return storetest.SQLite(tb, "") }},
	{"postgres", func(tb testing.TB) store.Store { return storetest.Postgres(tb, "") }},
}

// benchClients is how many requests are in flight at once: RunParallel
// runs benchParallelism × GOMAXPROCS goroutines, so that the node is kept
// busy while some requests wait on the store.
const benchParallelism = 4

// perTenant is the most invitations a benchmark sends to one tenant, below
// the tenant's rate limit (150 in 5 s) however fast they go: the limit is
// not what the throughput benchmarks measure.
const perTenant = 100

// BenchmarkInvitations is POST /v1.0/invitations with an app-only token
// over loopback HTTP, from the request to the 201 that follows the
// transaction's commit (guest, ticket, audit records and
// the invitation email in the outbox), with benchParallelism × GOMAXPROCS
// clients, spread round-robin over enough tenants that none receives
// more than perTenant invitations. The node's outbox worker delivers the
// emails to the developer mailbox meanwhile, as it would in production.
func BenchmarkInvitations(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			e := newEnv(b, be.open(b))
			tenants := inviteTenants(e, (b.N+perTenant-1)/perTenant)
			client := benchClient()
			var next atomic.Int64
			var lat latencies
			b.SetParallelism(benchParallelism)
			lat.start(b)
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				defer func() { lat.add(mine) }()
				for pb.Next() {
					i := int(next.Add(1) - 1)
					start := time.Now()
					status, body := postJSON(client, e.url+"/v1.0/invitations", tenants[i%len(tenants)].token, invitationBody(i))
					mine = append(mine, time.Since(start))
					if status != http.StatusCreated {
						b.Errorf("invitation %d: status %d: %s", i, status, body)
						return
					}
				}
			})
			b.StopTimer()
			lat.report(b, "invitations/s")
		})
	}
}

// BenchmarkInvitationsAtTheLimit is POST /v1.0/invitations to one tenant
// that has used up its rate (150 invitations in 5 s): what a refusal
// (429 with Retry-After) costs the node. The window is renewed whenever
// it ends, so the few invitations admitted then are counted apart.
func BenchmarkInvitationsAtTheLimit(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			e := newEnv(b, be.open(b))
			ten := inviteTenants(e, 1)[0]
			client := benchClient()
			var next atomic.Int64
			spend := func() {
				for {
					i := int(next.Add(1) - 1)
					status, body := postJSON(client, e.url+"/v1.0/invitations", ten.token, invitationBody(i))
					if status == http.StatusTooManyRequests {
						return
					}
					if status != http.StatusCreated {
						b.Fatalf("status %d: %s", status, body)
					}
				}
			}
			spend()
			var lat latencies
			var admitted atomic.Int64
			b.SetParallelism(benchParallelism)
			lat.start(b)
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				defer func() { lat.add(mine) }()
				for pb.Next() {
					i := int(next.Add(1) - 1)
					start := time.Now()
					status, body := postJSON(client, e.url+"/v1.0/invitations", ten.token, invitationBody(i))
					took := time.Since(start)
					switch status {
					case http.StatusTooManyRequests:
						mine = append(mine, took)
					case http.StatusCreated:
						admitted.Add(1)
					default:
						b.Errorf("status %d: %s", status, body)
						return
					}
				}
			})
			b.StopTimer()
			lat.report(b, "refusals/s")
			b.ReportMetric(float64(admitted.Load()), "admitted")
		})
	}
}

// BenchmarkGuestRedemptionOTP is a guest redeeming an invitation with an
// email one-time passcode: SendCode (the guest's route, a code issued
// and its email enqueued), CheckCode and Redeem (the ticket used up, the
// guest accepted with the mail identity, audited), one guest after
// another on benchParallelism × GOMAXPROCS goroutines, each redemption
// timed from the request for a code to the committed redemption. The
// guests (addresses of a domain no tenant holds, so their route is the
// passcode) are invited over Graph beforehand, perTenant to a tenant.
//
// The B2B service is the node's code over the node's directory, mailer
// and federation; only its passcodes are the real internal/otp codes
// wrapped to hand the benchmark the code the email carries.
func BenchmarkGuestRedemptionOTP(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			e := newEnv(b, be.open(b))
			tenants := inviteTenants(e, (b.N+perTenant-1)/perTenant)
			invited := inviteAll(b, e, tenants, b.N)
			key := make([]byte, 32)
			_, _ = rand.Read(key)
			codes := &capturedCodes{Codes: otp.New(key, otp.DefaultPolicy(), nil, nil), sent: map[string]string{}}
			svc, err := b2b.New(b2b.Config{Directory: e.app.Directory(), Mailer: e.app.Mailer(), Providers: e.app.Federation(),
				Codes: codes, PublicURL: e.public, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			var next atomic.Int64
			var lat latencies
			b.SetParallelism(benchParallelism)
			lat.start(b)
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				defer func() { lat.add(mine) }()
				for pb.Next() {
					g := invited[next.Add(1)-1]
					start := time.Now()
					if err := svc.SendCode(ctx, g.tenantID, g.email); err != nil {
						b.Errorf("send code: %v", err)
						return
					}
					id, err := svc.CheckCode(ctx, g.tenantID, g.email, codes.take(g.tenantID, g.email))
					if err != nil {
						b.Errorf("check code: %v", err)
						return
					}
					r, err := svc.Redeem(ctx, g.ticket, id)
					mine = append(mine, time.Since(start))
					if err != nil || r.UserID == "" {
						b.Errorf("redeem: %v", err)
						return
					}
				}
			})
			b.StopTimer()
			lat.report(b, "redemptions/s")
		})
	}
}

// inviteTenants creates n tenants of one node (at least one).
func inviteTenants(e *env, n int) []tenant {
	out := make([]tenant, max(n, 1))
	for i := range out {
		out[i] = e.tenant(fmt.Sprintf("Bench %d", i), fmt.Sprintf("bench%d.example", i))
	}
	return out
}

// invitationBody invites the i-th guest, of a domain no tenant holds.
func invitationBody(i int) string {
	return fmt.Sprintf(`{"invitedUserEmailAddress":"guest%d@guests.example","inviteRedirectUrl":"https://app.example/","sendInvitationMessage":true}`, i)
}

type invitedGuest struct{ tenantID, email, ticket string }

// inviteAll invites n guests over Graph, round-robin over tenants.
func inviteAll(b *testing.B, e *env, tenants []tenant, n int) []invitedGuest {
	b.Helper()
	client := benchClient()
	out := make([]invitedGuest, n)
	var wg sync.WaitGroup
	var next atomic.Int64
	var failed atomic.Value
	for range 8 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				ten := tenants[i%len(tenants)]
				status, body := postJSON(client, e.url+"/v1.0/invitations", ten.token, invitationBody(i))
				var inv struct {
					Email     string `json:"invitedUserEmailAddress"`
					RedeemURL string `json:"inviteRedeemUrl"`
				}
				if status != http.StatusCreated || json.Unmarshal(body, &inv) != nil {
					failed.Store(fmt.Sprintf("status %d: %s", status, body))
					return
				}
				u, err := url.Parse(inv.RedeemURL)
				if err != nil {
					failed.Store(err.Error())
					return
				}
				out[i] = invitedGuest{tenantID: ten.id, email: inv.Email, ticket: u.Query().Get("ticket")}
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		b.Fatalf("inviting: %v", f)
	}
	return out
}

// capturedCodes are real one-time passcodes whose issued codes the
// benchmark can read, as the guest reads them in the email.
type capturedCodes struct {
	*otp.Codes
	mu   sync.Mutex
	sent map[string]string
}

func (c *capturedCodes) Issue(ctx context.Context, tx store.Tx, tenantID, purpose, address string) (string, error) {
	code, err := c.Codes.Issue(ctx, tx, tenantID, purpose, address)
	if err == nil {
		// The transaction may yet roll back: the code is the guest's once
		// SendCode returns, which is when take reads it.
		c.mu.Lock()
		c.sent[tenantID+" "+address] = code
		c.mu.Unlock()
	}
	return code, err
}

func (c *capturedCodes) take(tenantID, address string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	code := c.sent[tenantID+" "+address]
	delete(c.sent, tenantID+" "+address)
	return code
}

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}

// postJSON posts body with a bearer token and returns the status and body.
func postJSON(c *http.Client, target, token, body string) (int, []byte) {
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// latencies collects the timings of a parallel benchmark's operations,
// and the CPU time the process (node and clients) spent meanwhile.
type latencies struct {
	mu       sync.Mutex
	took     []time.Duration
	cpuStart time.Duration
}

// start marks the beginning of the timed operations.
func (l *latencies) start(b *testing.B) {
	l.cpuStart, _ = processCPU()
	b.ResetTimer()
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.took = append(l.took, d...)
}

// report gives the rate of the timed operations over the benchmark's
// elapsed time as unit, their p50 and p99, and the process's CPU time per
// operation (a PostgreSQL server's own is not in it).
func (l *latencies) report(b *testing.B, unit string) {
	b.Helper()
	cpu, ok := processCPU()
	if len(l.took) == 0 {
		return
	}
	if ok {
		b.ReportMetric(float64((cpu-l.cpuStart).Microseconds())/1000/float64(len(l.took)), "cpu-ms/op")
	}
	slices.Sort(l.took)
	at := func(p int) float64 {
		return float64(l.took[min(len(l.took)*p/100, len(l.took)-1)].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(l.took))/b.Elapsed().Seconds(), unit)
	b.ReportMetric(at(50), "p50-ms")
	b.ReportMetric(at(99), "p99-ms")
}
