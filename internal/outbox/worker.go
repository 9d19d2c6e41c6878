package outbox

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Reporter learns how a delivery went, so the domain that sent a message
// can audit it. final is false while the message will be tried again, true
// once it left the outbox: err nil (sent), a 5xx bounce (mail.IsPermanent),
// or the last error of a message given up. It is called inside the
// transaction that records the outcome, so what it writes in tx commits
// with the outcome or not at all.
type Reporter interface {
	Delivered(ctx context.Context, tx store.Tx, msg mail.Message, err error, final bool)
}

// Updater runs read-write transactions: the store, or a domain's wrapper
// of it whose transactions also commit what a Reporter writes (the
// directory's audit journal).
type Updater interface {
	Update(ctx context.Context, fn func(store.Tx) error) error
}

// WorkerConfig configures a worker.
type WorkerConfig struct {
	Store    Updater
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
	if ts, ok := w.cfg.Sender.(mail.TxSender); ok && len(msgs) > 0 {
		if err := w.deliverTogether(ctx, ts, msgs); err == nil {
			return len(msgs), nil
		}
		// One message may be what failed the batch: one at a time, each
		// outcome is its own.
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
	msg, err := open(w.cfg.Keys, m)
	if err == nil {
		sendCtx, cancel := context.WithTimeout(ctx, w.cfg.Policy.SendTimeout)
		err = w.cfg.Sender.Send(sendCtx, m.TenantID, msg)
		cancel()
	}
	d := delivery{m: m, msg: msg, err: err, outcome: w.cfg.Policy.Decide(m.Attempts, err)}
	rerr := w.cfg.Store.Update(ctx, func(tx store.Tx) error { return w.record(ctx, tx, d) })
	w.log(ctx, d, rerr)
}

// deliverTogether delivers a batch through a sender that writes into the
// store, in one transaction with the outcomes: each message is delivered
// exactly once, and the batch costs the writer one commit instead of three
// per message.
func (w *Worker) deliverTogether(ctx context.Context, ts mail.TxSender, msgs []store.Message) error {
	ctx = context.WithoutCancel(ctx)
	var done []delivery
	err := w.cfg.Store.Update(ctx, func(tx store.Tx) error {
		done = done[:0]
		for _, m := range msgs {
			msg, err := open(w.cfg.Keys, m)
			if err == nil {
				err = ts.SendTx(ctx, tx, m.TenantID, msg)
			}
			d := delivery{m: m, msg: msg, err: err, outcome: w.cfg.Policy.Decide(m.Attempts, err)}
			if err := w.record(ctx, tx, d); err != nil {
				return err
			}
			done = append(done, d)
		}
		return nil
	})
	if err != nil {
		w.cfg.Logger.WarnContext(ctx, "outbox: delivering a batch in one transaction failed; delivering its messages one by one", "err", err)
		return err
	}
	for _, d := range done {
		w.log(ctx, d, nil)
	}
	return nil
}

// delivery is one attempt at a claimed message.
type delivery struct {
	m       store.Message
	msg     mail.Message // zero when the message could not be opened
	err     error
	outcome Outcome
}

// record writes d's outcome in tx and reports it there.
func (w *Worker) record(ctx context.Context, tx store.Tx, d delivery) error {
	var err error
	if d.outcome.Final() {
		err = tx.CompleteMessage(ctx, d.m.ID)
	} else {
		err = tx.RetryMessage(ctx, d.m.ID, w.cfg.Now().Add(w.cfg.Policy.Delay(d.m.Attempts)), errString(d.err))
	}
	if err != nil {
		return err
	}
	if w.cfg.Reporter != nil && d.msg.MessageID != "" {
		w.cfg.Reporter.Delivered(ctx, tx, d.msg, d.err, d.outcome.Final())
	}
	return nil
}

// log says how d went once its record committed (rerr nil) or failed.
func (w *Worker) log(ctx context.Context, d delivery, rerr error) {
	log := w.cfg.Logger.With("outbox_id", d.m.ID, "tenant", d.m.TenantID, "attempt", d.m.Attempts)
	switch {
	case rerr != nil && d.outcome == Sent:
		log.ErrorContext(ctx, "outbox: email sent but not recorded; it will be sent again when the lease ends", "err", rerr, "message_id", d.msg.MessageID)
	case rerr != nil:
		log.WarnContext(ctx, "outbox: recording a delivery attempt failed; it runs again when the lease ends", "err", rerr, "send_err", d.err)
	case d.outcome == Sent:
		log.DebugContext(ctx, "outbox: email sent", "message_id", d.msg.MessageID)
	case d.outcome == Retry:
		log.WarnContext(ctx, "outbox: email not sent; will retry", "err", d.err, "message_id", d.msg.MessageID)
	default:
		log.ErrorContext(ctx, "outbox: email not delivered", "outcome", d.outcome.String(), "err", d.err, "message_id", d.msg.MessageID)
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
