package outbox_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse-id/gatehouse/internal/outbox"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// clock is a test's time, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type report struct {
	messageID string
	err       error
	final     bool
}

type reporter struct {
	mu  sync.Mutex
	got []report
}

// Delivered keeps the report, and writes it into tx as a state whose id
// is the message's and the outcome's: a report that did not commit with
// its outcome is not in the store.
func (r *reporter) Delivered(ctx context.Context, tx store.Tx, m mail.Message, err error, final bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, report{m.MessageID, err, final})
	now := time.Now()
	_ = tx.PutState(ctx, store.State{TenantID: "t1", Kind: "report", ID: fmt.Sprintf("%s %v %d", m.MessageID, final, len(r.got)),
		Subject: m.To[0].Address, Data: []byte(fmt.Sprintf("%q", errString(err))), CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (r *reporter) reports() []report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]report(nil), r.got...)
}

type fixture struct {
	st     store.Store
	keys   *secrets.Keyring
	clock  *clock
	mailer *outbox.Mailer
	mp     *mailtest.Server
	sender mail.Sender
	rep    *reporter
}

var ids atomic.Int64

func newFixture(t *testing.T, st store.Store) *fixture {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	keys, err := secrets.FromBase64(base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now().UTC().Truncate(time.Millisecond)}
	err = st.Update(t.Context(), func(tx store.Tx) error {
		return tx.CreateTenant(t.Context(), store.Tenant{ID: "t1", DisplayName: "Contoso", CreatedAt: c.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	mp := mailtest.Start(t)
	cfg, err := mail.ParseSMTPURL(mp.SMTPURL)
	if err != nil {
		t.Fatal(err)
	}
	newID := func() string { return fmt.Sprintf("msg-%d", ids.Add(1)) }
	return &fixture{
		st: st, keys: keys, clock: c, mp: mp, sender: mail.NewSMTP(cfg, nil), rep: &reporter{},
		mailer: outbox.NewMailer(keys, newID, c.Now).WithFrom(mail.Address{Name: "Contoso", Address: "invites@contoso.example"}),
	}
}

func (f *fixture) worker(policy outbox.Policy) *outbox.Worker {
	return outbox.NewWorker(outbox.WorkerConfig{
		Store: f.st, Keys: f.keys, Sender: f.sender, Reporter: f.rep, Now: f.clock.Now, Policy: policy,
		Poll: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
	})
}

func (f *fixture) enqueue(t *testing.T, to string, fail error) error {
	t.Helper()
	return f.st.Update(t.Context(), func(tx store.Tx) error {
		err := f.mailer.Enqueue(t.Context(), tx, "t1", mail.Message{
			To: []mail.Address{{Address: to}}, Subject: "Invitation for " + to, Text: "https://gatehouse.example/redeem?ticket=secret-" + to,
		})
		if err != nil {
			return err
		}
		return fail
	})
}

// drain runs w until nothing is due.
func drain(t *testing.T, w *outbox.Worker) {
	t.Helper()
	for {
		n, err := w.RunOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func eachBackend(t *testing.T, test func(t *testing.T, f *fixture)) {
	for name, open := range storetest.Backends() {
		t.Run(name, func(t *testing.T) { test(t, newFixture(t, open(t))) })
	}
}

func TestDeliveredOnlyIfCommitted(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		rollback := errors.New("rolled back")
		if err := f.enqueue(t, "rolled@fabrikam.example", rollback); !errors.Is(err, rollback) {
			t.Fatal(err)
		}
		if err := f.enqueue(t, "kept@fabrikam.example", nil); err != nil {
			t.Fatal(err)
		}
		w := f.worker(outbox.Policy{})
		drain(t, w)
		drain(t, w)
		got := f.mp.Await(t, 1, 10*time.Second)
		if len(got) != 1 || got[0].To[0].Address != "kept@fabrikam.example" || got[0].From.Address != "invites@contoso.example" {
			t.Fatalf("received %+v", got)
		}
		if id := got[0].MessageID; !strings.HasPrefix(id, "msg-") || !strings.HasSuffix(id, "@contoso.example") {
			t.Errorf("Message-ID %q, want <outbox id@sender's domain>", got[0].MessageID)
		}
		if r := f.rep.reports(); len(r) != 1 || r[0].err != nil || !r[0].final || r[0].messageID != "<"+got[0].MessageID+">" {
			t.Errorf("reports = %+v", r)
		}
	})
}

func TestSealedAtRest(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		if err := f.enqueue(t, "guest@fabrikam.example", nil); err != nil {
			t.Fatal(err)
		}
		var ms []store.Message
		err := f.st.Update(t.Context(), func(tx store.Tx) error {
			var err error
			ms, err = tx.ClaimMessages(t.Context(), outbox.Topic, f.clock.Now(), time.Minute, 10)
			return err
		})
		if err != nil || len(ms) != 1 {
			t.Fatal(ms, err)
		}
		if ms[0].TenantID != "t1" || bytes.Contains(ms[0].Payload, []byte("fabrikam")) || bytes.Contains(ms[0].Payload, []byte("secret-")) {
			t.Errorf("outbox row in clear: %+v %s", ms[0], ms[0].Payload)
		}
	})
}

func TestRacingWorkersSendOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		const n = 12
		for i := range n {
			if err := f.enqueue(t, fmt.Sprintf("guest%d@fabrikam.example", i), nil); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for range 4 {
			w := f.worker(outbox.Policy{})
			wg.Go(func() { _ = w.Run(ctx) })
		}
		f.mp.Await(t, n, 30*time.Second)
		time.Sleep(200 * time.Millisecond) // a duplicate would arrive meanwhile
		cancel()
		wg.Wait()
		got := f.mp.Messages(t)
		seen := map[string]int{}
		for _, m := range got {
			seen[m.To[0].Address]++
		}
		if len(got) != n || len(seen) != n {
			t.Errorf("%d messages to %d addresses, want %d each once: %v", len(got), len(seen), n, seen)
		}
	})
}

// A node that claimed a message and died before sending it: once the lease
// ends, another node delivers it, once.
func TestClaimedByADeadNode(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		if err := f.enqueue(t, "guest@fabrikam.example", nil); err != nil {
			t.Fatal(err)
		}
		policy := outbox.Policy{Lease: time.Minute}
		err := f.st.Update(t.Context(), func(tx store.Tx) error {
			ms, err := tx.ClaimMessages(t.Context(), outbox.Topic, f.clock.Now(), policy.Lease, 10)
			if err == nil && len(ms) != 1 {
				err = fmt.Errorf("claimed %d", len(ms))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		w := f.worker(policy)
		f.clock.Add(59 * time.Second)
		drain(t, w)
		if got := f.mp.Messages(t); len(got) != 0 {
			t.Fatalf("delivered while the dead node's lease held: %+v", got)
		}
		f.clock.Add(time.Second)
		drain(t, w)
		f.mp.Await(t, 1, 10*time.Second)
		f.clock.Add(time.Hour)
		drain(t, w)
		time.Sleep(100 * time.Millisecond)
		if got := f.mp.Messages(t); len(got) != 1 {
			t.Errorf("%d deliveries, want 1", len(got))
		}
	})
}

// A worker whose lease is nearly over does not start a delivery another
// worker could start too.
func TestNoSendOnAnEndingLease(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		for _, to := range []string{"a@fabrikam.example", "b@fabrikam.example"} {
			if err := f.enqueue(t, to, nil); err != nil {
				t.Fatal(err)
			}
		}
		policy := outbox.Policy{Lease: time.Minute, SendTimeout: 30 * time.Second}
		var calls atomic.Int32
		smtp := f.sender
		f.sender = senderFunc(func(ctx context.Context, tenantID string, m mail.Message) error {
			calls.Add(1)
			f.clock.Add(31 * time.Second) // the first delivery takes most of the lease
			return smtp.Send(ctx, tenantID, m)
		})
		w := f.worker(policy)
		if n, err := w.RunOnce(t.Context()); err != nil || n != 2 {
			t.Fatal(n, err)
		}
		if calls.Load() != 1 {
			t.Fatalf("%d deliveries started in one lease, want 1", calls.Load())
		}
		f.clock.Add(time.Minute)
		drain(t, w)
		if got := f.mp.Await(t, 2, 10*time.Second); len(got) != 2 || calls.Load() != 2 {
			t.Errorf("%d messages after %d calls", len(got), calls.Load())
		}
	})
}

type senderFunc func(ctx context.Context, tenantID string, m mail.Message) error

func (f senderFunc) Send(ctx context.Context, tenantID string, m mail.Message) error {
	return f(ctx, tenantID, m)
}

func TestSMTPDownThenBack(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		if err := f.enqueue(t, "guest@fabrikam.example", nil); err != nil {
			t.Fatal(err)
		}
		policy := outbox.Policy{BaseDelay: time.Minute, MaxDelay: 10 * time.Minute}
		w := f.worker(policy)
		f.mp.Stop(t)
		drain(t, w) // attempt 1 fails: due again in 1 minute
		f.clock.Add(59 * time.Second)
		drain(t, w) // not due
		f.clock.Add(time.Second)
		drain(t, w) // attempt 2 fails: due again in 2 minutes
		if r := f.rep.reports(); len(r) != 2 || r[0].err == nil || r[0].final || r[1].final || mail.IsPermanent(r[0].err) {
			t.Fatalf("reports while down = %+v", r)
		}
		f.mp.Restart(t)
		f.clock.Add(119 * time.Second)
		drain(t, w)
		if len(f.rep.reports()) != 2 {
			t.Fatalf("retried before its backoff: %+v", f.rep.reports())
		}
		f.clock.Add(time.Second)
		drain(t, w)
		if got := f.mp.Await(t, 1, 10*time.Second); len(got) != 1 {
			t.Errorf("received %d", len(got))
		}
		if r := f.rep.reports(); len(r) != 3 || r[2].err != nil || !r[2].final {
			t.Errorf("reports = %+v", r)
		}
	})
}

func TestBounceIsFinal(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		if err := f.enqueue(t, "nobody@fabrikam.example", nil); err != nil {
			t.Fatal(err)
		}
		f.mp.Chaos(t, 550)
		w := f.worker(outbox.Policy{})
		drain(t, w)
		r := f.rep.reports()
		if len(r) != 1 || !r[0].final || !mail.IsPermanent(r[0].err) {
			t.Fatalf("reports = %+v", r)
		}
		f.mp.Chaos(t, 0)
		f.clock.Add(24 * time.Hour)
		drain(t, w)
		if got := f.mp.Messages(t); len(got) != 0 || len(f.rep.reports()) != 1 {
			t.Errorf("a bounced message was tried again: %d received, reports %+v", len(got), f.rep.reports())
		}
	})
}

func TestGivesUp(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		if err := f.enqueue(t, "guest@fabrikam.example", nil); err != nil {
			t.Fatal(err)
		}
		f.mp.Chaos(t, 451)
		w := f.worker(outbox.Policy{MaxAttempts: 3, BaseDelay: time.Minute})
		for range 5 {
			drain(t, w)
			f.clock.Add(time.Hour)
		}
		r := f.rep.reports()
		if len(r) != 3 || r[0].final || r[1].final || !r[2].final || r[2].err == nil || mail.IsPermanent(r[2].err) {
			t.Fatalf("reports = %+v", r)
		}
		f.mp.Chaos(t, 0)
		drain(t, w)
		if got := f.mp.Messages(t); len(got) != 0 {
			t.Errorf("a message given up was sent: %d", len(got))
		}
	})
}

// A worker that is stopped finishes nothing new, and its unstarted claims
// go back to the outbox at once rather than when the lease ends.
func TestStopReleasesClaims(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		for i := range 3 {
			if err := f.enqueue(t, fmt.Sprintf("g%d@fabrikam.example", i), nil); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		smtp := f.sender
		f.sender = senderFunc(func(sctx context.Context, tenantID string, m mail.Message) error {
			cancel() // the node is told to stop during its first delivery
			return smtp.Send(sctx, tenantID, m)
		})
		w := f.worker(outbox.Policy{})
		if err := w.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if got := f.mp.Await(t, 1, 10*time.Second); len(got) != 1 {
			t.Fatalf("the delivery under way at stop: %d received", len(got))
		}
		f.sender = smtp
		drain(t, f.worker(outbox.Policy{})) // same instant: no lease had to end
		if got := f.mp.Await(t, 3, 10*time.Second); len(got) != 3 {
			t.Errorf("%d received", len(got))
		}
	})
}

func TestEnqueueRefuses(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t, ""))
	err := f.st.Update(t.Context(), func(tx store.Tx) error {
		return errors.Join(
			f.mailer.Enqueue(t.Context(), tx, "", mail.Message{To: []mail.Address{{Address: "a@b.example"}}}),
			f.mailer.Enqueue(t.Context(), tx, "t1", mail.Message{}),
		)
	})
	if err == nil {
		t.Fatal("enqueued a message without tenant or recipient")
	}
	if !strings.Contains(err.Error(), "tenant") || !strings.Contains(err.Error(), "recipient") {
		t.Errorf("err = %v", err)
	}
}

// TestDeliveredInTheRecordingTransaction: a sender that writes into the
// store (the developer mailbox) delivers a claimed batch in the
// transaction that records it, with the reports: every message once, each
// report beside its outcome, and a message whose delivery fails (here it
// breaks the whole transaction on PostgreSQL) costs the others nothing.
func TestDeliveredInTheRecordingTransaction(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		box := mail.NewMailbox(f.st, f.keys, f.clock.Now, mail.Address{Address: "dev@gatehouse.example"})
		f.sender = poisonSender{Mailbox: box, st: f.st, poison: "poison@fabrikam.example"}
		const n = 12
		for i := range n {
			if err := f.enqueue(t, fmt.Sprintf("guest%d@fabrikam.example", i), nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.enqueue(t, "poison@fabrikam.example", nil); err != nil {
			t.Fatal(err)
		}
		drain(t, f.worker(outbox.Policy{BaseDelay: time.Minute}))

		stored, err := box.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, m := range stored {
			seen[m.Message.To[0].Address]++
		}
		if len(stored) != n || len(seen) != n || seen["poison@fabrikam.example"] != 0 {
			t.Errorf("mailbox holds %d messages to %d addresses, want %d, each once, the poisoned one not: %v", len(stored), len(seen), n, seen)
		}
		var reports []store.State
		err = f.st.View(ctx, func(tx store.Tx) error {
			var err error
			reports, err = tx.ListStates(ctx, "t1", store.StateFilter{Kind: "report"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		sent, retried := 0, 0
		for _, r := range reports {
			switch {
			case r.Subject == "poison@fabrikam.example" && string(r.Data) != `""`:
				retried++
			case string(r.Data) == `""` && seen[r.Subject] == 1:
				sent++
			default:
				t.Errorf("report %s for %s: %s", r.ID, r.Subject, r.Data)
			}
		}
		if sent != n || retried != 1 {
			t.Errorf("committed reports: %d sent, %d retried; want %d and 1", sent, retried, n)
		}
	})
}

// poisonSender delivers to the developer mailbox, except to poison: that
// delivery writes a state of a tenant that does not exist, which fails the
// statement on SQLite and the whole transaction on PostgreSQL.
type poisonSender struct {
	*mail.Mailbox
	st     store.Store
	poison string
}

func (p poisonSender) Send(ctx context.Context, tenantID string, m mail.Message) error {
	return p.st.Update(ctx, func(tx store.Tx) error { return p.SendTx(ctx, tx, tenantID, m) })
}

func (p poisonSender) SendTx(ctx context.Context, tx store.Tx, tenantID string, m mail.Message) error {
	if m.To[0].Address == p.poison {
		return tx.PutState(ctx, store.State{TenantID: "no-such-tenant", Kind: "x", ID: "x", ExpiresAt: time.Now().Add(time.Hour)})
	}
	return p.Mailbox.SendTx(ctx, tx, tenantID, m)
}
