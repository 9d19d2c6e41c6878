package outbox

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Reporter learns how a delivery went, so the domain that sent a message
// can audit it. final is false while the message will be tried again, true
// once it left the outbox: err nil (sent), a 5xx bounce (mail.IsPermanent),
// or the last error of a message given up. It is called after the outcome
// is recorded in the store, so a report is never taken back.
type Reporter interface {
	Delivered(ctx context.Context, msg mail.Message, err error, final bool)
}

// WorkerConfig configures a worker.
type WorkerConfig struct {
	Store    store.Store
	Keys     *secrets.Keyring
	Sender   mail.Sender
	Reporter Reporter // nil: nobody is told
	Logger   *slog.Logger
	// Now is the clock of claims, leases and backoff; time.Now when nil.
	Now    func() time.Time
	Policy Policy // zero fields: DefaultPolicy's
	// Poll is how often the worker looks for due messages (default 2 s);
	// Wake makes it look at once.
	Poll time.Duration
	// Batch is how many messages one claim takes (default 10).
	Batch int
}

// Worker delivers the outbox's email. Any number of workers, on any nodes,
// may run over one store.
type Worker struct {
	cfg  WorkerConfig
	wake chan struct{}
}

// NewWorker makes a worker; Run starts it.
func NewWorker(cfg WorkerConfig) *Worker {
	cfg.Policy = cfg.Policy.withDefaults()
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 10
	}
	return &Worker{cfg: cfg, wake: make(chan struct{}, 1)}
}

// Wake makes a running worker look for due messages now, e.g. after a
// transaction that enqueued one committed.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// maxIdle bounds how long a worker waits between claims while the store
// fails.
const maxIdle = 30 * time.Second

// Run delivers due messages until ctx ends, then returns nil. A delivery
// under way when ctx ends is finished (within SendTimeout), so that what
// the server took is recorded; the rest of its batch is released for
// other workers.
func (w *Worker) Run(ctx context.Context) error {
	idle := w.cfg.Poll
	for {
		n, err := w.RunOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case err != nil:
			w.cfg.Logger.WarnContext(ctx, "outbox: claiming email failed", "err", err)
			idle = min(2*idle, maxIdle)
		case n == w.cfg.Batch:
			// More may be due at once.
			continue
		default:
			idle = w.cfg.Poll
		}
		t := time.NewTimer(idle)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-w.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// RunOnce claims one batch of due messages and delivers them; it reports
// how many it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	claimedAt := w.cfg.Now()
	var msgs []store.Message
	err := w.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		msgs, err = tx.ClaimMessages(ctx, Topic, claimedAt, w.cfg.Policy.Lease, w.cfg.Batch)
		return err
	})
	if err != nil {
		return 0, err
	}
	leaseEnd := claimedAt.Add(w.cfg.Policy.Lease)
	for i, m := range msgs {
		// Past this point another worker could claim the message while
		// this one is still sending it: leave it to the lease.
		if w.cfg.Now().Add(w.cfg.Policy.SendTimeout).After(leaseEnd) {
			break
		}
		if ctx.Err() != nil {
			w.release(ctx, msgs[i:])
			break
		}
		w.deliver(ctx, m)
	}
	return len(msgs), nil
}

// release gives messages claimed but not tried back to the outbox, so
// other workers need not wait for their lease to end. It runs only while at
// least SendTimeout of the lease is left, so no other worker holds them.
func (w *Worker) release(ctx context.Context, msgs []store.Message) {
	ctx = context.WithoutCancel(ctx)
	now := w.cfg.Now()
	err := w.cfg.Store.Update(ctx, func(tx store.Tx) error {
		for _, m := range msgs {
			if err := tx.RetryMessage(ctx, m.ID, now, m.LastError); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		w.cfg.Logger.WarnContext(ctx, "outbox: releasing claimed email failed; it runs when the lease ends", "err", err)
	}
}

// deliver sends one claimed message and records the outcome. The outcome
// is recorded even when ctx ends meanwhile: a sent message left claimed
// would be sent again.
func (w *Worker) deliver(ctx context.Context, m store.Message) {
	ctx = context.WithoutCancel(ctx)
	log := w.cfg.Logger.With("outbox_id", m.ID, "tenant", m.TenantID, "attempt", m.Attempts)
	msg, err := open(w.cfg.Keys, m)
	if err != nil {
		// Not the sender's fault and nothing to report against: perhaps
		// a node with another master key. Another node may open it.
		err = errors.Join(errors.New("outbox: cannot open the sealed message"), err)
	} else {
		sendCtx, cancel := context.WithTimeout(ctx, w.cfg.Policy.SendTimeout)
		err = w.cfg.Sender.Send(sendCtx, m.TenantID, msg)
		cancel()
	}
	outcome := w.cfg.Policy.Decide(m.Attempts, err)
	rerr := w.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if outcome.Final() {
			return tx.CompleteMessage(ctx, m.ID)
		}
		return tx.RetryMessage(ctx, m.ID, w.cfg.Now().Add(w.cfg.Policy.Delay(m.Attempts)), errString(err))
	})
	switch {
	case rerr != nil && outcome == Sent:
		log.ErrorContext(ctx, "outbox: email sent but not recorded; it will be sent again when the lease ends", "err", rerr, "message_id", msg.MessageID)
		return
	case rerr != nil:
		log.WarnContext(ctx, "outbox: recording a delivery attempt failed; it runs again when the lease ends", "err", rerr, "send_err", err)
		return
	case outcome == Sent:
		log.DebugContext(ctx, "outbox: email sent", "message_id", msg.MessageID)
	case outcome == Retry:
		log.WarnContext(ctx, "outbox: email not sent; will retry", "err", err, "message_id", msg.MessageID)
	default:
		log.ErrorContext(ctx, "outbox: email not delivered", "outcome", outcome.String(), "err", err, "message_id", msg.MessageID)
	}
	if w.cfg.Reporter != nil && msg.MessageID != "" {
		w.cfg.Reporter.Delivered(ctx, msg, err, outcome.Final())
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if len(s) > 1000 {
		s = s[:1000]
	}
	return s
}
