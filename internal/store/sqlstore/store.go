// Package sqlstore implements store.Store over database/sql once for both SQL
// backends. store/sqlite and store/postgres supply the connections, the SQL
// dialect, the mapping of driver errors and the migrations; everything else,
// from the change feed to keyset paging, lives here.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlq"
)

// Options are the backend-independent settings of a store.
type Options struct {
	// Now is the clock of change-feed entries and deletions; time.Now when nil.
	Now func() time.Time
	// NewID names outbox messages enqueued without an ID; random UUIDs when nil.
	NewID func() string
	// SkipMigrations leaves the schema to `gatehouse migrate`; Ping fails
	// until it has run.
	SkipMigrations bool
	// MaxConns bounds the connections of the backend's (read) pool; a
	// backend default when 0.
	MaxConns int
	// ConnLifetime closes pooled connections of a server backend older
	// than this (0: never), so that a pool moves to a restarted or
	// failed-over server in time.
	ConnLifetime time.Duration
	// Timeout bounds every transaction, from waiting for a connection to
	// commit, so that a hung database fails requests with
	// store.ErrUnavailable instead of pinning them; DefaultTimeout when 0.
	Timeout time.Duration
}

// DefaultTimeout is how long a transaction may take when Options.Timeout is
// not set: far above any healthy transaction, far below a client's patience.
const DefaultTimeout = 5 * time.Second

// TimeoutOf is opts.Timeout or its default.
func (o Options) TimeoutOf() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

// OptionsOf returns the one Options a backend's Open was given, or the zero
// Options, so that Open can take its options as an optional argument.
func OptionsOf(opts []Options) (Options, error) {
	switch len(opts) {
	case 0:
		return Options{}, nil
	case 1:
		return opts[0], nil
	}
	return Options{}, errors.New("store: at most one Options")
}

// Backend is what a SQL backend contributes.
type Backend struct {
	Dialect sqlq.Dialect
	// Write runs Update transactions and Read runs View transactions; they
	// may be the same pool.
	Write, Read     *sql.DB
	WriteTx, ReadTx sql.TxOptions
	// ShareLock and SkipLocked are the row-locking clauses a SELECT ends
	// with to keep a row from changing until commit and to skip rows other
	// transactions hold; empty where one writer runs at a time.
	ShareLock, SkipLocked string
	// UpdateLock is the clause that keeps a selected row for this
	// transaction's writes until commit; empty where one writer runs at a time.
	UpdateLock string
	// Classify maps a driver error to a store error (*store.ConflictError,
	// store.ErrNotFound) and returns other errors unchanged.
	Classify func(error) error
	// Unavailable reports whether a driver error is a failure of the
	// database itself (unreachable, restarting, out of connections or
	// locks) rather than an answer to the statement.
	Unavailable func(error) bool
	// Migrations is the backend's schema.
	Migrations Migrations
	// Committed, when set, is told after each Update commits.
	Committed func()
	// Stop, when set, ends the backend's own work before the pools close.
	Stop func() error
	// GroupCommit runs Update transactions through one goroutine that
	// commits the writes waiting at once together (see group.go); for a
	// backend whose Write pool is a single connection.
	GroupCommit bool
}

// Store is a store.Store over one SQL database.
type Store struct {
	b        Backend
	now      func() time.Time
	newID    func() string
	timeout  time.Duration
	migrated atomic.Bool
	// group runs Updates when the backend asks for group commit.
	group *committer
}

var _ store.Store = (*Store)(nil)

// New returns a store over b. Unless opts.SkipMigrations, b's migrations are
// applied first.
func New(ctx context.Context, b Backend, opts Options) (*Store, error) {
	s := &Store{b: b, now: opts.Now, newID: opts.NewID, timeout: opts.TimeoutOf()}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = uuid.NewString
	}
	if !opts.SkipMigrations {
		if err := b.Migrations.Up(ctx, b.Write); err != nil {
			return nil, err
		}
	}
	if b.GroupCommit {
		s.group = newCommitter(s)
	}
	return s, nil
}

// Update runs fn in a read-write transaction and commits unless fn fails.
// Change-feed entries are numbered just before commit (see txn.flush).
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if s.group != nil {
		return s.outage(s.group.update(ctx, fn))
	}
	return s.run(ctx, s.b.Write, s.b.WriteTx, false, fn)
}

// View runs fn in a read-only transaction over one snapshot.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.run(ctx, s.b.Read, s.b.ReadTx, true, fn)
}

func (s *Store) run(ctx context.Context, db *sql.DB, opts sql.TxOptions, readOnly bool, fn func(store.Tx) error) error {
	bounded, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.outage(s.runTx(ctx, bounded, db, opts, readOnly, fn))
}

// runTx runs fn in a transaction that begins under bounded, ctx with the
// store's deadline.
func (s *Store) runTx(ctx, bounded context.Context, db *sql.DB, opts sql.TxOptions, readOnly bool, fn func(store.Tx) error) error {
	stx, err := db.BeginTx(bounded, &opts)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	// Rollback after Commit is a no-op; deferring it also covers a panicking fn.
	defer stx.Rollback()
	t := &txn{s: s, tx: stx, caller: ctx, bounded: bounded, readOnly: readOnly}
	if err := fn(t); err != nil {
		return err
	}
	if err := t.flush(bounded, ""); err != nil {
		return err
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", s.b.Classify(err))
	}
	if !readOnly && s.b.Committed != nil {
		s.b.Committed()
	}
	return nil
}

// outage marks err with store.ErrUnavailable when the database failed
// rather than answered: the deadline passed (waiting for a connection, a
// lock or a reply), the connection broke, or the backend says so. Answers
// (not found, conflict, the caller's own errors) pass unchanged.
func (s *Store) outage(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || s.b.Unavailable(err) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// Ping reports whether the database answers and its schema is current.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.b.Read.PingContext(ctx); err != nil {
		return s.outage(fmt.Errorf("store: ping: %w", err))
	}
	if s.migrated.Load() {
		return nil
	}
	if err := s.b.Migrations.Check(ctx, s.b.Read); err != nil {
		return err
	}
	s.migrated.Store(true)
	return nil
}

// tables are the store's tables, for Analyze.
var tables = []string{"tenants", "domains", "objects", "links", "changes", "outbox", "credentials", "states", "signing_keys"}

// Analyze refreshes the query planner's statistics of the store's tables.
// The databases do so on their own in time (PostgreSQL's autovacuum; SQLite
// never without being asked); after a bulk load, plans chosen without
// statistics can scan whole tenants, so importers and benchmarks call this.
func (s *Store) Analyze(ctx context.Context) error {
	for _, t := range tables {
		if _, err := s.b.Write.ExecContext(ctx, "ANALYZE "+t); err != nil {
			return fmt.Errorf("store: analyze %s: %w", t, err)
		}
	}
	return nil
}

// Close closes the backend's pools.
func (s *Store) Close() error {
	if s.group != nil {
		s.group.close()
	}
	var err error
	if s.b.Stop != nil {
		err = s.b.Stop()
	}
	err = errors.Join(err, s.b.Write.Close())
	if s.b.Read != s.b.Write {
		err = errors.Join(err, s.b.Read.Close())
	}
	return err
}
