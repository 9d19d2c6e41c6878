package app

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/outbox"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// devFrom is the sender of the developer mailbox's messages when
// --mail-from names none: the first tenant's domain, which resolves nowhere.
var devFrom = mail.Address{Name: "Gatehouse", Address: "no-reply@gatehouse.localhost"}

// mailing is a node's email: the mailer domain packages enqueue with, the
// worker that delivers, and the developer mailbox when there is no SMTP
// server.
type mailing struct {
	mailer  *outbox.Mailer
	worker  outbox.WorkerConfig // the worker start runs
	mailbox *mail.Mailbox       // nil when an SMTP server delivers
}

// newMailing delivers over cfg.SMTPURL, or into the developer mailbox when
// it is empty.
func newMailing(cfg Config, st store.Store, keys *secrets.Keyring) (mailing, error) {
	var from mail.Address
	if cfg.MailFrom != "" {
		var err error
		if from, err = mail.ParseAddress(cfg.MailFrom); err != nil {
			return mailing{}, fmt.Errorf("--mail-from: %w", err)
		}
	}
	var m mailing
	var sender mail.Sender
	if cfg.SMTPURL != "" {
		smtp, err := mail.ParseSMTPURL(cfg.SMTPURL)
		if err != nil {
			return mailing{}, err
		}
		if from.Address == "" {
			from = smtp.From
		}
		if from.Address == "" {
			return mailing{}, fmt.Errorf("--smtp-url needs a sender: set --mail-from or its from parameter")
		}
		smtp.From = from
		sender = mail.NewSMTP(smtp, nil)
		cfg.Logger.Info("email is delivered over SMTP", "server", smtp.String(), "from", from.String())
	} else {
		if from.Address == "" {
			from = devFrom
		}
		m.mailbox = mail.NewMailbox(st, keys, cfg.Now, from)
		sender = m.mailbox
		cfg.Logger.Info("no --smtp-url: email is kept in the developer mailbox, readable from this machine only", "url", cfg.PublicURL+"/_dev/mailbox")
	}
	m.mailer = outbox.NewMailer(keys, uuid.NewString, cfg.Now).WithFrom(from)
	m.worker = outbox.WorkerConfig{Store: st, Keys: keys, Sender: sender, Logger: cfg.Logger, Now: cfg.Now, Poll: mailPoll}
	return m, nil
}

// mailPoll is how often a node's worker looks for email to deliver: an
// invitation waits at most this long for its first attempt.
const mailPoll = time.Second

// register serves the developer mailbox, when there is one.
func (m mailing) register(mux *http.ServeMux) {
	if m.mailbox != nil {
		m.mailbox.Register(mux)
	}
}

// start runs the worker, telling reporter of each outcome (B2B audits
// invitations sent and bounced) in the transaction that records it, until
// the returned stop is called; stop waits for a delivery under way to be
// recorded. The worker's transactions are the directory's, so that the
// audit records a reporter notes commit with the outcome.
func (m mailing) start(dir outbox.Updater, reporter outbox.Reporter) (stop func()) {
	cfg := m.worker
	cfg.Store, cfg.Reporter = dir, reporter
	w := outbox.NewWorker(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}
