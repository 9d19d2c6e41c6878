package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse-id/gatehouse/internal/outbox"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

func invite(to string) mail.Message {
	return mail.Message{To: []mail.Address{{Address: to}}, Subject: "You're invited: " + to, Text: "Accept: https://gatehouse.example/redeem"}
}

// enqueue writes msg through the node's mailer in a directory transaction
// that commits unless fail is set.
func enqueue(t *testing.T, e *env, tenantID string, msg mail.Message, fail error) error {
	t.Helper()
	return e.app.Directory().Update(t.Context(), func(tx store.Tx) error {
		if err := e.app.Mailer().Enqueue(t.Context(), tx, tenantID, msg); err != nil {
			return err
		}
		return fail
	})
}

// quiet waits long enough for every node's worker to have polled a few
// times, so a duplicate delivery would have arrived.
func quiet() { time.Sleep(3 * time.Second) }

// Email leaves a node through the outbox: never for a transaction that
// rolled back, once for one that committed however many nodes run, and
// once even when the node that claimed it died before sending.
func TestMailDeliveredOnceAcrossNodes(t *testing.T) {
	for name, open := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			mp := mailtest.Start(t)
			st := nopClose{open(t)}
			var skew atomic.Int64
			now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
			cfg := app.Config{DataDir: t.TempDir(), SMTPURL: mp.SMTPURL, MailFrom: "Contoso <invites@contoso.example>", Now: now}
			a := newNode(t, st, cfg)
			b := newNode(t, st, cfg)
			tn := a.tenant("Contoso", "contoso.example")

			rollback := errors.New("rolled back")
			if err := enqueue(t, a, tn.id, invite("rolled@fabrikam.example"), rollback); !errors.Is(err, rollback) {
				t.Fatal(err)
			}
			for i := range 3 {
				if err := enqueue(t, []*env{a, b}[i%2], tn.id, invite(fmt.Sprintf("g%d@fabrikam.example", i)), nil); err != nil {
					t.Fatal(err)
				}
			}
			mp.Await(t, 3, 30*time.Second)
			quiet()
			got := mp.Messages(t)
			seen := map[string]bool{}
			for _, m := range got {
				seen[m.To[0].Address] = true
				if m.From.Address != "invites@contoso.example" || m.From.Name != "Contoso" {
					t.Errorf("from %+v", m.From)
				}
			}
			if len(got) != 3 || len(seen) != 3 || seen["rolled@fabrikam.example"] {
				t.Fatalf("received %d messages to %v, want g0..g2 once each", len(got), seen)
			}

			// Both nodes stop; a third one commits a message, claims it
			// and dies before sending (the test plays its worker).
			if err := errors.Join(a.app.Close(), b.app.Close()); err != nil {
				t.Fatal(err)
			}
			if err := enqueue(t, a, tn.id, invite("orphan@fabrikam.example"), nil); err != nil {
				t.Fatal(err)
			}
			err := st.Update(t.Context(), func(tx store.Tx) error {
				ms, err := tx.ClaimMessages(t.Context(), outbox.Topic, now(), outbox.DefaultPolicy().Lease, 10)
				if err == nil && len(ms) != 1 {
					err = fmt.Errorf("the dying node claimed %d messages", len(ms))
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			newNode(t, st, cfg)
			newNode(t, st, cfg)
			skew.Store(int64(outbox.DefaultPolicy().Lease - time.Minute))
			quiet()
			if n := len(mp.Messages(t)); n != 3 {
				t.Fatalf("%d messages while the dead node's lease held, want 3", n)
			}
			skew.Store(int64(outbox.DefaultPolicy().Lease + time.Second))
			mp.Await(t, 4, 30*time.Second)
			quiet()
			if got := mp.Messages(t); len(got) != 4 || got[0].To[0].Address != "orphan@fabrikam.example" {
				t.Errorf("after the lease: %d messages, newest %+v", len(got), got[0].To)
			}
		})
	}
}

func TestDeveloperMailbox(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		tn := e.tenant("Contoso", "contoso.example")
		if err := enqueue(t, e, tn.id, invite("guest@fabrikam.example"), nil); err != nil {
			t.Fatal(err)
		}
		// The test's client is on this machine: the mailbox answers it.
		var body string
		for deadline := time.Now().Add(30 * time.Second); !strings.Contains(body, "guest@fabrikam.example"); {
			if time.Now().After(deadline) {
				t.Fatalf("not in the mailbox: %s", body)
			}
			time.Sleep(100 * time.Millisecond)
			body = get(t, e.url+"/_dev/mailbox", http.StatusOK)
		}
		start := strings.Index(body, `href="/_dev/mailbox/`) + len(`href="`)
		path := body[start : start+strings.IndexByte(body[start:], '"')]
		msg := get(t, e.url+path, http.StatusOK)
		if !strings.Contains(msg, "Accept: https://gatehouse.example/redeem") || !strings.Contains(msg, "Gatehouse &lt;no-reply@gatehouse.localhost&gt;") {
			t.Errorf("message page: %s", msg)
		}
	})
}

// With an SMTP server there is no developer mailbox, not even locally.
func TestNoDeveloperMailboxWithSMTP(t *testing.T) {
	e := newNode(t, storetest.SQLite(t, ""), app.Config{SMTPURL: "smtp://127.0.0.1:1?starttls=none", MailFrom: "a@contoso.example"})
	get(t, e.url+"/_dev/mailbox", http.StatusNotFound)
}

func TestMailConfigRefused(t *testing.T) {
	for _, cfg := range []app.Config{
		{SMTPURL: "smtp://mail.example.com?from=a%40contoso.example&starttls=none"},
		{SMTPURL: "smtp://mail.example.com"}, // no sender
		{SMTPURL: "smtp://mail.example.com", MailFrom: "not an address"},
		{MailFrom: "not an address"},
	} {
		cfg.DataDir = t.TempDir()
		if a, err := app.NewWithStore(cfg, storetest.SQLite(t, "")); err == nil {
			_ = a.Close()
			t.Errorf("NewWithStore(%q, %q) started", cfg.SMTPURL, cfg.MailFrom)
		}
	}
}

func get(t *testing.T, url string, want int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s = %d, want %d: %s", url, resp.StatusCode, want, body)
	}
	return string(body)
}
