package audit

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Recorder writes sign-ins to the sign-in log. Interactive sign-ins are
// written at once, in their own request. Non-interactive ones (token
// requests: refresh tokens, client credentials, device codes) are frequent
// and on the token hot path, so they wait in a bounded buffer written in
// one transaction every FlushEvery or as soon as it holds BatchSize
// records; a request that finds the buffer at its bound writes the batch
// itself, so a slow store slows token requests rather than losing records.
// Close writes what is left. A node that dies loses at most its unwritten
// batch.
type Recorder struct {
	st      store.Store
	cfg     RecorderConfig
	mu      sync.Mutex
	buf     []store.AuditRecord
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	closing sync.Once
}

// RecorderConfig tunes a Recorder; zero fields take the defaults.
type RecorderConfig struct {
	FlushEvery time.Duration // default 1 s
	// BatchSize trades what a crash loses for what a record costs: each
	// commit rewrites the pages a batch left partly filled, and at 100 a
	// batch a record cost a quarter more to write than at 500. The store
	// inserts a batch in chunks and lets token requests run between them,
	// so a large batch does not hold a node's one core for its whole write.
	BatchSize int // default 500
	Bound     int // default 10 × BatchSize
	Now       func() time.Time
	NewID     func() string
	Logger    *slog.Logger
}

// NewRecorder starts a recorder over st; Close stops it.
func NewRecorder(st store.Store, cfg RecorderConfig) *Recorder {
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = time.Second
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.Bound < cfg.BatchSize {
		cfg.Bound = 10 * cfg.BatchSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = timeOrderedID
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &Recorder{st: st, cfg: cfg, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r
}

var _ authn.SignInLog = (*Recorder)(nil)

// timeOrderedID is a version 7 UUID. Its time prefix makes a node's
// sign-ins arrive in the order of the log's primary key, so each insert
// appends to the key's B-tree instead of dirtying a random page of it.
func timeOrderedID() string { return uuid.Must(uuid.NewV7()).String() }

// RecordSignIn notes a sign-in. Errors are logged: the sign-in itself has
// already been decided.
func (r *Recorder) RecordSignIn(ctx context.Context, s authn.SignIn) {
	rec := r.record(s)
	var err error
	if s.Interactive {
		err = r.st.Update(ctx, func(tx store.Tx) error { return tx.AppendAudit(ctx, rec) })
	} else {
		err = r.enqueue(ctx, rec)
	}
	if err != nil {
		r.cfg.Logger.WarnContext(ctx, "audit: recording a sign-in", "tenant", s.TenantID, "err", err)
	}
}

// maxField bounds what a sign-in record keeps of a value its requester
// chose (a typed username, a client_id, a user agent).
const maxField = 256

func clip(v string) string {
	if len(v) <= maxField {
		return v
	}
	return strings.ToValidUTF8(v[:maxField], "")
}

func (r *Recorder) record(s authn.SignIn) store.AuditRecord {
	for _, f := range []*string{&s.UserPrincipalName, &s.UserDisplayName, &s.AppID, &s.AppDisplayName, &s.UserAgent, &s.FailureReason} {
		*f = clip(*f)
	}
	client := "Browser"
	if !s.Interactive {
		client = "Mobile Apps and Desktop clients"
	}
	return SignIn{
		ID: r.cfg.NewID(), CreatedDateTime: r.cfg.Now().UTC(),
		UserID: s.UserID, UserDisplayName: s.UserDisplayName, UserPrincipalName: s.UserPrincipalName,
		AppID: s.AppID, AppDisplayName: s.AppDisplayName, ServicePrincipalID: s.ServicePrincipalID,
		IPAddress: s.IPAddress, UserAgent: s.UserAgent, ClientAppUsed: client, CorrelationID: s.CorrelationID,
		ConditionalAccessStatus: "notApplied", IsInteractive: s.Interactive,
		ResourceTenantID: or(s.ResourceTenantID, s.TenantID), HomeTenantID: or(s.HomeTenantID, s.TenantID),
		CrossTenantAccessType: or(s.CrossTenantAccessType, authn.AccessNone),
		Status:                SignInStatus{ErrorCode: s.ErrorCode, FailureReason: s.FailureReason},
	}.Record(s.TenantID)
}

func or(v, otherwise string) string {
	if v == "" {
		return otherwise
	}
	return v
}

// graphAppID and graphDisplayName name the resource every Gatehouse token
// is for: the API.
const (
	graphAppID       = "00000003-0000-0000-c000-000000000000"
	graphDisplayName = "Microsoft Graph"
)

// enqueue buffers a record; at the bound the caller writes the batch.
func (r *Recorder) enqueue(ctx context.Context, rec store.AuditRecord) error {
	r.mu.Lock()
	r.buf = append(r.buf, rec)
	n := len(r.buf)
	r.mu.Unlock()
	switch {
	case n >= r.cfg.Bound:
		// One batch, not the whole buffer: a caller that wrote all of it
		// waited for ten writes in a row, half a minute when the store was
		// slow, while the callers after it went on.
		_, err := r.flushBatch(ctx)
		return err
	case n >= r.cfg.BatchSize:
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// Flush writes the records buffered when it is called, in batches of
// BatchSize (records buffered meanwhile wait for the next flush, so a
// flush ends under any load).
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	batches := (len(r.buf) + r.cfg.BatchSize - 1) / r.cfg.BatchSize
	r.mu.Unlock()
	for range batches {
		if empty, err := r.flushBatch(ctx); empty || err != nil {
			return err
		}
	}
	return nil
}

// flushBatch writes the oldest BatchSize records (fewer if fewer wait);
// empty reports that none did. Records the store refuses go back to the
// front of the buffer for the next flush rather than being lost.
func (r *Recorder) flushBatch(ctx context.Context) (empty bool, err error) {
	r.mu.Lock()
	n := min(len(r.buf), r.cfg.BatchSize)
	batch := r.buf[:n:n]
	r.buf = r.buf[n:]
	r.mu.Unlock()
	if n == 0 {
		return true, nil
	}
	if err := r.st.Update(ctx, func(tx store.Tx) error { return tx.AppendAudit(ctx, batch...) }); err != nil {
		r.mu.Lock()
		r.buf = append(batch, r.buf...)
		if over := len(r.buf) - r.cfg.Bound; over > 0 {
			r.buf = r.buf[over:]
			r.cfg.Logger.ErrorContext(ctx, "audit: sign-in records dropped: the store refuses them", "dropped", over)
		}
		r.mu.Unlock()
		return false, err
	}
	return false, nil
}

func (r *Recorder) run() {
	defer close(r.done)
	t := time.NewTicker(r.cfg.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		case <-r.kick:
		}
		if err := r.Flush(context.Background()); err != nil {
			r.cfg.Logger.Warn("audit: writing sign-in records", "err", err)
		}
	}
}

// Close stops the background writer and writes what is buffered.
func (r *Recorder) Close(ctx context.Context) error {
	r.closing.Do(func() { close(r.stop) })
	<-r.done
	return r.Flush(ctx)
}
