package xtap

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// benchTenants is how many partner configurations each tenant holds.
const benchTenants = 10000

var benchUsers = 256

func benchID(kind byte, n int) string {
	return fmt.Sprintf("%08x-%04x-4000-8000-%012x", uint32(kind)<<24|uint32(n), n&0xffff, n)
}

// benchPolicies builds a home tenant and a resource tenant with
// benchTenants partner configurations each, scoped to groups and
// applications, and users in 50 groups each, some of which the partner
// lists name.
func benchPolicies(b *testing.B) (home, resource *Compiled, homes, resources []string, users []User, apps []string, names []string) {
	r := rand.New(rand.NewPCG(1, 2))
	groups := make([]string, 2000)
	for i := range groups {
		groups[i] = benchID('g', i)
	}
	apps = make([]string, 200)
	for i := range apps {
		apps[i] = benchID('a', i)
	}
	pick := func(pool []string, n int, typ string) []Target {
		var ts []Target
		for range n {
			ts = append(ts, Target{pool[r.IntN(len(pool))], typ})
		}
		return ts
	}
	var homeP, resP []Partner
	for i := range benchTenants {
		homes = append(homes, benchID('h', i))
		names = append(names, fmt.Sprintf("Partner %d Ltd", i))
		resources = append(resources, benchID('r', i))
		// The resource tenant lets in only some of each partner's groups
		// to some applications; the home tenant keeps some groups in.
		resP = append(resP, Partner{TenantID: homes[i],
			InboundTrust: &InboundTrust{IsMfaAccepted: i%2 == 0},
			B2BCollaborationInbound: &B2BSetting{
				UsersAndGroups: &TargetConfiguration{Allowed, pick(groups, 20, TargetTypeGroup)},
				Applications:   &TargetConfiguration{Allowed, pick(apps, 10, TargetTypeApplication)},
			}})
		homeP = append(homeP, Partner{TenantID: resources[i],
			B2BCollaborationOutbound: &B2BSetting{
				UsersAndGroups: &TargetConfiguration{Blocked, pick(groups, 5, TargetTypeGroup)},
				Applications:   &TargetConfiguration{Blocked, []Target{{AllApplications, TargetTypeApplication}}},
			}})
	}
	home = Compile(homes[0], SystemDefault(), homeP)
	resource = Compile(resources[0], SystemDefault(), resP)
	for range benchUsers {
		u := User{ID: benchID('u', r.IntN(1<<20))}
		for range 50 {
			u.Groups = append(u.Groups, groups[r.IntN(len(groups))])
		}
		users = append(users, u)
	}
	return
}

// BenchmarkEvaluate times one decision as enforcement makes it: both
// partner configurations looked up by tenant id among 10,000, then
// Evaluate for a user in 50 groups. It reports the median and 99th
// percentile of single decisions. Requests pick tenant pairs at random, so
// the partners' compiled lists are mostly not in the CPU's caches, as on a
// server with many tenants.
//
// "decide" is Evaluate alone (every sign-in and refresh); "explain" adds
// Layers, every layer's rule and reason written (the what-if, or a refusal
// being logged), with the tenants' display names as enforcement passes
// them; "explain-ids" the same without names, so reasons name tenants by id.
//
//	go test ./internal/xtap -run '^$' -bench 'BenchmarkEvaluate$' -benchtime 200000x
func BenchmarkEvaluate(b *testing.B) {
	b.Run("decide", func(b *testing.B) { benchmarkEvaluate(b, false, true) })
	b.Run("explain", func(b *testing.B) { benchmarkEvaluate(b, true, true) })
	b.Run("explain-ids", func(b *testing.B) { benchmarkEvaluate(b, true, false) })
}

func benchmarkEvaluate(b *testing.B, explain, withNames bool) {
	home, resource, homes, resources, users, apps, names := benchPolicies(b)
	r := rand.New(rand.NewPCG(3, 4))
	// Requests are drawn before timing; half name an application.
	type req struct {
		h, res int
		user   int
		app    string
	}
	reqs := make([]req, 4096)
	for i := range reqs {
		reqs[i] = req{r.IntN(benchTenants), r.IntN(benchTenants), r.IntN(len(users)), ""}
		if i%2 == 0 {
			reqs[i].app = apps[r.IntN(len(apps))]
		}
	}
	durations := make([]time.Duration, 0, b.N)
	allowed := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := reqs[i%len(reqs)]
		start := time.Now()
		in := Input{
			AccessType:   B2BCollaboration,
			HomeTenantID: homes[q.h], ResourceTenantID: resources[q.res],
			HomeOutbound:    home.For(resources[q.res]),
			ResourceInbound: resource.For(homes[q.h]),
			User:            users[q.user],
			AppID:           q.app,
			HomeClaims:      Claims{MFA: true},
			Required:        Claims{MFA: true},
		}
		if withNames {
			in.HomeTenantName, in.ResourceTenantName = names[q.h], names[q.res]
		}
		res := Evaluate(in)
		if explain && len(res.Layers()) != 5 {
			b.Fatal("no explanation")
		}
		durations = append(durations, time.Since(start))
		if res.Allowed() {
			allowed++
		}
	}
	b.StopTimer()
	slices.Sort(durations)
	p := func(q float64) float64 { return float64(durations[int(q*float64(len(durations)-1))].Nanoseconds()) }
	b.ReportMetric(p(0.50), "p50-ns")
	b.ReportMetric(p(0.99), "p99-ns")
	b.ReportMetric(100*float64(allowed)/float64(b.N), "%allowed")
}

// BenchmarkCompile times compiling a tenant's policy with 10,000 partner
// configurations: the cost of rebuilding after a change.
func BenchmarkCompile(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	var partners []Partner
	for i := range benchTenants {
		partners = append(partners, Partner{TenantID: benchID('h', i),
			B2BCollaborationInbound: &B2BSetting{
				UsersAndGroups: &TargetConfiguration{Allowed, []Target{{benchID('g', r.IntN(2000)), TargetTypeGroup}, {benchID('g', r.IntN(2000)), TargetTypeGroup}}},
				Applications:   &TargetConfiguration{Allowed, []Target{{AllApplications, TargetTypeApplication}}},
			}})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if c := Compile(contoso, SystemDefault(), partners); c.Len() != benchTenants {
			b.Fatal(c.Len())
		}
	}
}
