package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

func countSignIns(t *testing.T, st store.Store) int {
	t.Helper()
	p, err := NewLog(st).List(context.Background(), "t1", store.LogSignIn, Query{Top: 999})
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Records)
}

// TestRecorderBatchesTokenSignIns: interactive sign-ins are written at
// once; token sign-ins wait for a flush (never a write per token), unless
// the buffer reaches its bound; Close writes what is left.
func TestRecorderBatchesTokenSignIns(t *testing.T) {
	ctx := context.Background()
	st := storetest.SQLite(t, "")
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.CreateTenant(ctx, store.Tenant{ID: "t1", Type: store.TenantWorkforce, CreatedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	n := 0
	r := NewRecorder(st, RecorderConfig{FlushEvery: time.Hour, BatchSize: 5, Bound: 5, NewID: func() string { n++; return fmt.Sprint(n) }})

	r.RecordSignIn(ctx, authn.SignIn{TenantID: "t1", UserID: "u1", Interactive: true, ErrorCode: 50126, FailureReason: "wrong"})
	if got := countSignIns(t, st); got != 1 {
		t.Fatalf("interactive sign-in: %d records, want 1 at once", got)
	}
	for range 4 {
		r.RecordSignIn(ctx, authn.SignIn{TenantID: "t1", AppID: "a1"})
	}
	if got := countSignIns(t, st); got != 1 {
		t.Fatalf("token sign-ins were written one by one: %d records", got)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := countSignIns(t, st); got != 5 {
		t.Fatalf("after a flush: %d records, want 5", got)
	}
	// At the bound the caller writes the batch itself.
	for range 5 {
		r.RecordSignIn(ctx, authn.SignIn{TenantID: "t1", AppID: "a1"})
	}
	r.mu.Lock()
	left := len(r.buf)
	r.mu.Unlock()
	if left != 0 {
		t.Errorf("%d records buffered past the bound", left)
	}
	r.RecordSignIn(ctx, authn.SignIn{TenantID: "t1", AppID: "a1"})
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := countSignIns(t, st); got != 11 {
		t.Fatalf("after Close: %d records, want 11", got)
	}
	rec, err := NewLog(st).Get(ctx, "t1", store.LogSignIn, "1")
	if err != nil {
		t.Fatal(err)
	}
	if s := string(rec); !containsAll(s, `"isInteractive":true`, `"errorCode":50126`, `"failureReason":"wrong"`, `"clientAppUsed":"Browser"`) {
		t.Errorf("interactive record: %s", s)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// BenchmarkRecordTokenSignIn measures the two costs of a token request's
// sign-in record (SQLite): "request" is what the request itself pays, on
// every core (building the record and buffering it); "write" is writing
// buffered records in batches, per record, which the background writer
// pays once a second.
func BenchmarkRecordTokenSignIn(b *testing.B) {
	ctx := context.Background()
	s := authn.SignIn{TenantID: "t1", AppID: "6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f10", AppDisplayName: "Automation",
		ServicePrincipalID: "0b7c5e1a-0000-4000-8000-000000000001", IPAddress: "192.0.2.1", UserAgent: "bench"}
	recorder := func(b *testing.B) *Recorder {
		st := storetest.SQLite(b, "")
		if err := st.Update(ctx, func(tx store.Tx) error {
			return tx.CreateTenant(ctx, store.Tenant{ID: "t1", Type: store.TenantWorkforce, CreatedAt: time.Now()})
		}); err != nil {
			b.Fatal(err)
		}
		// Nothing is written until the benchmark says so.
		return NewRecorder(st, RecorderConfig{FlushEvery: time.Hour, BatchSize: 1 << 30, Bound: 1 << 30})
	}
	b.Run("request", func(b *testing.B) {
		r := recorder(b)
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				r.RecordSignIn(ctx, s)
				// The buffer is emptied now and then, as the writer would,
				// so that what is measured is a record, not a slice grown
				// to b.N records.
				if i%4096 == 4095 {
					r.mu.Lock()
					r.buf = r.buf[:0]
					r.mu.Unlock()
				}
			}
		})
		b.StopTimer()
		r.mu.Lock()
		r.buf = nil
		r.mu.Unlock()
		if err := r.Close(ctx); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("write", func(b *testing.B) {
		r := recorder(b)
		r.cfg.BatchSize = 500
		for range b.N {
			r.RecordSignIn(ctx, s)
		}
		b.ResetTimer()
		cpu := processCPU()
		if err := r.Close(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	})
}

// processCPU is the CPU time the process has spent, its background
// writers and garbage collector included: unlike ns/op, it does not count
// the time another process held the core.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestGuestSignInTenants: a guest's sign-in names their home tenant and the
// resource tenant and is a b2bCollaboration access; a member's names the
// tenant twice and crossed nothing. Both are filterable.
func TestGuestSignInTenants(t *testing.T) {
	const home, resource = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	for name, open := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			st := open(t)
			if err := st.Update(ctx, func(tx store.Tx) error {
				return tx.CreateTenant(ctx, store.Tenant{ID: resource, Type: store.TenantWorkforce, CreatedAt: time.Now()})
			}); err != nil {
				t.Fatal(err)
			}
			ids := []string{"member", "guest", "otp guest"}
			r := NewRecorder(st, RecorderConfig{NewID: func() string { id := ids[0]; ids = ids[1:]; return id }})
			r.RecordSignIn(ctx, authn.SignIn{TenantID: resource, UserID: "u1", Interactive: true})
			r.RecordSignIn(ctx, authn.SignIn{TenantID: resource, UserID: "u2", Interactive: true,
				HomeTenantID: home, ResourceTenantID: resource, CrossTenantAccessType: authn.AccessB2BCollaboration})
			r.RecordSignIn(ctx, authn.SignIn{TenantID: resource, UserID: "u3", CrossTenantAccessType: authn.AccessB2BCollaboration})
			if err := r.Close(ctx); err != nil {
				t.Fatal(err)
			}
			log := NewLog(st)
			for id, want := range map[string][3]string{
				"member":    {resource, resource, "none"},
				"guest":     {home, resource, "b2bCollaboration"},
				"otp guest": {resource, resource, "b2bCollaboration"},
			} {
				rec, err := log.Get(ctx, resource, store.LogSignIn, id)
				if err != nil {
					t.Fatal(err)
				}
				var s SignIn
				if err := json.Unmarshal(rec, &s); err != nil {
					t.Fatal(err)
				}
				if got := [3]string{s.HomeTenantID, s.ResourceTenantID, s.CrossTenantAccessType}; got != want {
					t.Errorf("%s sign-in: home, resource tenant and access type %q, want %q", id, got, want)
				}
			}
			for filter, want := range map[string]string{
				"crossTenantAccessType eq 'b2bCollaboration'":               `["u2","u3"]`,
				"crossTenantAccessType eq 'none'":                           `["u1"]`,
				"homeTenantId eq '" + home + "'":                            `["u2"]`,
				"resourceTenantId eq '" + resource + "' and userId eq 'u1'": `["u1"]`,
			} {
				e, err := odata.ParseFilter(filter)
				if err != nil {
					t.Fatal(err)
				}
				p, err := log.List(ctx, resource, store.LogSignIn, Query{Filter: e, Top: 10})
				if err != nil {
					t.Fatalf("%s: %v", filter, err)
				}
				var users []string
				for _, rec := range p.Records {
					var s SignIn
					if err := json.Unmarshal(rec, &s); err != nil {
						t.Fatal(err)
					}
					users = append(users, s.UserID)
				}
				slices.Sort(users)
				if got, _ := json.Marshal(users); string(got) != want {
					t.Errorf("%s: %s, want %s", filter, got, want)
				}
			}
		})
	}
}

// TestRecorderCallerAtTheBoundWritesOneBatch: the request that finds the
// buffer full writes one batch, not the whole buffer, and a flush writes
// what was buffered when it began.
func TestRecorderCallerAtTheBoundWritesOneBatch(t *testing.T) {
	ctx := context.Background()
	st := storetest.SQLite(t, "")
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.CreateTenant(ctx, store.Tenant{ID: "t1", Type: store.TenantWorkforce, CreatedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	n := 0
	// No background writer: only callers write.
	r := &Recorder{st: st, kick: make(chan struct{}, 1), cfg: RecorderConfig{BatchSize: 2, Bound: 6, Now: time.Now,
		NewID: func() string { n++; return fmt.Sprint(n) }, Logger: slog.New(slog.DiscardHandler)}}
	buffered := func() int {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.buf)
	}
	for range 5 {
		r.RecordSignIn(ctx, authn.SignIn{TenantID: "t1", AppID: "a1"})
	}
	if got := countSignIns(t, st); got != 0 || buffered() != 5 {
		t.Fatalf("below the bound: %d written, %d buffered", got, buffered())
	}
	r.RecordSignIn(ctx, authn.SignIn{TenantID: "t1", AppID: "a1"})
	if got := countSignIns(t, st); got != 2 || buffered() != 4 {
		t.Fatalf("at the bound: %d written, %d buffered; want one batch of 2 written, 4 left", got, buffered())
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := countSignIns(t, st); got != 6 || buffered() != 0 {
		t.Fatalf("after a flush: %d written, %d buffered", got, buffered())
	}
}

// TestSignInStoredCompactReadWhole: a sign-in is stored as what varies,
// read as Graph's whole signIn (the same document the log wrote before
// signInDoc, which old records still hold), and each property $filter may
// name still filters.
func TestSignInStoredCompactReadWhole(t *testing.T) {
	for name, open := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			st := open(t)
			if err := st.Update(ctx, func(tx store.Tx) error {
				return tx.CreateTenant(ctx, store.Tenant{ID: "t1", Type: store.TenantWorkforce, CreatedAt: time.Now()})
			}); err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 12, 3, 21, 0, 0, 123456000, time.UTC)
			ids := []string{"app", "user"}
			r := NewRecorder(st, RecorderConfig{Now: func() time.Time { return at }, NewID: func() string { id := ids[0]; ids = ids[1:]; return id }})
			r.RecordSignIn(ctx, authn.SignIn{TenantID: "t1", AppID: "a1", AppDisplayName: "Automation", ServicePrincipalID: "sp1",
				IPAddress: "192.0.2.1", UserAgent: "Go-http-client/1.1", CorrelationID: "c1"})
			r.RecordSignIn(ctx, authn.SignIn{TenantID: "t1", UserID: "u1", UserDisplayName: "Alice", UserPrincipalName: "Alice@x.example",
				AppID: "a2", AppDisplayName: "Portal", IPAddress: "192.0.2.2", Interactive: true, ErrorCode: 50126, FailureReason: "Invalid username or password."})
			if err := r.Close(ctx); err != nil {
				t.Fatal(err)
			}
			// What Record wrote before the document was compact, for the app's
			// sign-in: the log must read it back as it reads the new form.
			whole := func(id string, at time.Time) SignIn {
				return SignIn{ID: id, CreatedDateTime: at, AppID: "a1", AppDisplayName: "Automation", ServicePrincipalID: "sp1",
					IPAddress: "192.0.2.1", UserAgent: "Go-http-client/1.1", ClientAppUsed: "Mobile Apps and Desktop clients", CorrelationID: "c1",
					ConditionalAccessStatus: "notApplied", AppliedConditionalAccessPolicies: []any{}, ResourceDisplayName: "Microsoft Graph",
					ResourceID: graphAppID, ResourceTenantID: "t1", HomeTenantID: "t1", Status: SignInStatus{FailureReason: "Other."},
					RiskDetail: "none", RiskLevelAggregated: "none", RiskLevelDuringSignIn: "none", RiskState: "none", CrossTenantAccessType: "none"}
			}
			oldDoc, _ := json.Marshal(whole("old", at.Add(-time.Hour)))
			if err := st.Update(ctx, func(tx store.Tx) error {
				return tx.AppendAudit(ctx, store.AuditRecord{TenantID: "t1", Log: store.LogSignIn, ID: "old", At: at.Add(-time.Hour),
					AppID: "a1", Result: "success", Data: oldDoc})
			}); err != nil {
				t.Fatal(err)
			}

			var stored store.AuditRecord
			if err := st.View(ctx, func(tx store.Tx) (err error) {
				stored, err = tx.GetAudit(ctx, "t1", store.LogSignIn, "app")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			for _, constant := range []string{"riskDetail", "resourceId", "Microsoft Graph", "Other.", "createdDateTime", `"id"`, "appliedConditionalAccessPolicies"} {
				if strings.Contains(string(stored.Data), constant) {
					t.Errorf("the stored sign-in holds %s: %s", constant, stored.Data)
				}
			}
			if len(stored.Data) > len(oldDoc)/2+100 {
				t.Errorf("the stored sign-in is %d bytes, the whole one %d", len(stored.Data), len(oldDoc))
			}

			log := NewLog(st)
			read := func(id string) map[string]any {
				rec, err := log.Get(ctx, "t1", store.LogSignIn, id)
				if err != nil {
					t.Fatal(err)
				}
				var doc map[string]any
				if err := json.Unmarshal(rec, &doc); err != nil {
					t.Fatal(err)
				}
				return doc
			}
			for id, want := range map[string]SignIn{"app": whole("app", at), "old": whole("old", at.Add(-time.Hour))} {
				wantDoc, _ := json.Marshal(want)
				var wantMap map[string]any
				_ = json.Unmarshal(wantDoc, &wantMap)
				if got := read(id); fmt.Sprint(got) != fmt.Sprint(wantMap) {
					t.Errorf("%s sign-in read as\n%v\nwant\n%v", id, got, wantMap)
				}
			}
			user := read("user")
			if st := user["status"].(map[string]any); st["errorCode"] != float64(50126) || st["failureReason"] != "Invalid username or password." ||
				user["userPrincipalName"] != "Alice@x.example" || user["clientAppUsed"] != "Browser" || user["riskState"] != "none" {
				t.Errorf("user's sign-in read as %v", user)
			}

			for filter, want := range map[string]string{
				"conditionalAccessStatus eq 'notApplied'":                     `[app old user]`,
				"clientAppUsed eq 'Browser'":                                  `[user]`,
				"isInteractive eq false":                                      `[app old]`,
				"homeTenantId eq 't1' and resourceTenantId eq 't1'":           `[app old user]`,
				"crossTenantAccessType eq 'none'":                             `[app old user]`,
				"appDisplayName eq 'Automation' and ipAddress eq '192.0.2.1'": `[app old]`,
				"correlationId eq 'c1'":                                       `[app old]`,
				"startsWith(userDisplayName, 'Ali')":                          `[user]`,
				"status/errorCode eq 0":                                       `[app old]`,
			} {
				e, err := odata.ParseFilter(filter)
				if err != nil {
					t.Fatal(err)
				}
				p, err := log.List(ctx, "t1", store.LogSignIn, Query{Filter: e, Top: 10})
				if err != nil {
					t.Fatalf("%s: %v", filter, err)
				}
				var got []string
				for _, rec := range p.Records {
					var s SignIn
					if err := json.Unmarshal(rec, &s); err != nil {
						t.Fatal(err)
					}
					got = append(got, s.ID)
				}
				slices.Sort(got)
				if fmt.Sprint(got) != want {
					t.Errorf("%s: %v, want %s", filter, got, want)
				}
			}
		})
	}
}

// TestSignInDocIsEncodingJSON: the stored sign-in written without
// reflection is what encoding/json writes for it, for members set or
// empty, failures included, and strings that need escaping.
func TestSignInDocIsEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	pieces := []string{"", "a", "0b7c5e1a-0000-4000-8000-000000000001", `"`, `\`, "<>&", "\x00\n", "é", "\u2028", "\xff", "😀", "192.0.2.1"}
	str := func() string {
		var b strings.Builder
		for range rng.IntN(4) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	for i := range 3000 {
		d := signInDoc{UserID: str(), UserDisplayName: str(), UserPrincipalName: str(), AppID: str(), AppDisplayName: str(),
			ServicePrincipalID: str(), IPAddress: str(), UserAgent: str(), ClientAppUsed: str(), CorrelationID: str(),
			ConditionalAccessStatus: str(), IsInteractive: rng.IntN(2) == 0, ResourceTenantID: str(), HomeTenantID: str(),
			CrossTenantAccessType: str()}
		if rng.IntN(2) == 0 {
			d.Status = &signInDocStatus{ErrorCode: rng.IntN(100000) - 10, FailureReason: str()}
		}
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.appendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
