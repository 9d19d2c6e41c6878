package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Group commit, for a backend with a single writer (SQLite).
//
// One goroutine owns the writer connection. Writes that arrive while it
// works queue up, and it runs as many of them as are waiting in one
// database transaction, each under its own savepoint, then commits them
// together. A write whose fn fails is rolled back to its savepoint and
// answered at once; the others are answered after the commit, with its
// outcome. What each caller observes is what a transaction of its own
// would give it: its writes are durable when Update returns nil, and
// absent when Update returns an error.
//
// Why: with one writer, the writer's hold time is the node's write
// throughput. A commit writes every page the transaction dirtied to the
// WAL, one system call each; writes that share a commit share those pages
// and that commit. And the writer no longer passes from one request's
// goroutine to the next through the connection pool, a wake-up that on a
// busy machine kept the lock held by a goroutine waiting for a CPU.
const (
	// maxGroup bounds the writes one commit carries, and maxGroupTime how
	// long a group keeps taking writes, so that the first of a group is
	// not held back for long by those that came after it.
	maxGroup     = 32
	maxGroupTime = 5 * time.Millisecond
	// groupQueue is how many writes may wait for the writer.
	groupQueue = 256
)

var errStoreClosed = errors.New("store: closed")

// committer runs the group commits of one store.
type committer struct {
	s     *Store
	queue chan *groupWrite
	quit  chan struct{}
	done  chan struct{}
	stop  sync.Once
}

// groupWrite is one Update waiting for the committer.
type groupWrite struct {
	ctx context.Context
	fn  func(store.Tx) error
	// state moves from waiting to taken (by the committer) or to abandoned
	// (by the caller, whose deadline passed first), never back.
	state  atomic.Int32
	result chan groupResult
}

const (
	waiting int32 = iota
	taken
	abandoned
)

type groupResult struct {
	err error
	// panicked is fn's panic, re-raised on the caller's goroutine.
	panicked any
}

func newCommitter(s *Store) *committer {
	c := &committer{s: s, queue: make(chan *groupWrite, groupQueue), quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// close stops the committer after its current group; writes still
// queued fail with errStoreClosed.
func (c *committer) close() {
	c.stop.Do(func() {
		close(c.quit)
		<-c.done
	})
}

// update is Store.Update through the committer.
func (c *committer) update(ctx context.Context, fn func(store.Tx) error) error {
	w := &groupWrite{ctx: ctx, fn: fn, result: make(chan groupResult, 1)}
	wait, cancel := context.WithTimeout(ctx, c.s.timeout)
	defer cancel()
	if err := wait.Err(); err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	select {
	case c.queue <- w:
	case <-wait.Done():
		return fmt.Errorf("store: begin: %w", wait.Err())
	case <-c.quit:
		return errStoreClosed
	}
	var r groupResult
	select {
	case r = <-w.result:
	case <-wait.Done():
		if w.state.CompareAndSwap(waiting, abandoned) {
			return fmt.Errorf("store: begin: %w", wait.Err())
		}
		// Taken: its outcome is near, and only it says whether the write
		// happened.
		r = <-w.result
	}
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.err
}

func (c *committer) run() {
	defer close(c.done)
	for {
		select {
		case w := <-c.queue:
			c.group(w)
		case <-c.quit:
			for {
				select {
				case w := <-c.queue:
					if w.state.CompareAndSwap(waiting, taken) {
						w.result <- groupResult{err: errStoreClosed}
					}
				default:
					return
				}
			}
		}
	}
}

// group runs first and the writes queued behind it in one transaction.
func (c *committer) group(first *groupWrite) {
	// The transaction belongs to no caller: one caller going away must not
	// interrupt the statements of the others (SQLite rolls the whole
	// transaction back when a write statement is interrupted). Its
	// statements run under a context that cannot end, because modernc
	// watches a context that can with a goroutine per statement, a fifth
	// of an invitation's CPU; the store's timeout is applied as each
	// statement starts instead (see txn.bound).
	ctx := context.Background()
	deadline := time.Now().Add(c.s.timeout)
	var (
		stx     *sql.Tx
		pending []*groupWrite // fn succeeded; answered after the commit
		broken  error         // the transaction can take no more
		start   = time.Now()
	)
	for w := first; ; {
		if w.state.CompareAndSwap(waiting, taken) && c.live(w) {
			if stx == nil {
				var err error
				if stx, err = c.s.b.Write.BeginTx(ctx, &c.s.b.WriteTx); err != nil {
					w.result <- groupResult{err: c.s.outage(fmt.Errorf("store: begin: %w", err))}
					return
				}
			}
			// The first write of a transaction needs no savepoint: when it
			// fails, the whole transaction goes. A savepoint makes SQLite
			// copy every page the write touches into a statement journal,
			// which cost a batch of sign-in records a fifth of its CPU.
			alone := len(pending) == 0
			ok, err := c.runOne(ctx, stx, w, deadline, alone)
			if err != nil {
				broken = err
				break
			}
			switch {
			case ok:
				pending = append(pending, w)
			case alone:
				_ = stx.Rollback()
				stx = nil
			}
		}
		if len(pending) >= maxGroup || time.Since(start) >= maxGroupTime {
			break
		}
		select {
		case w = <-c.queue:
			continue
		default:
		}
		break
	}
	if stx == nil {
		return
	}
	err := broken
	if err == nil && len(pending) > 0 {
		if cerr := stx.Commit(); cerr != nil {
			err = fmt.Errorf("store: commit: %w", c.s.b.Classify(cerr))
		}
	} else {
		_ = stx.Rollback()
	}
	if err == nil && len(pending) > 0 && c.s.b.Committed != nil {
		c.s.b.Committed()
	}
	for _, w := range pending {
		w.result <- groupResult{err: c.s.outage(err)}
	}
}

// live answers a taken write whose caller has gone, as a transaction
// beginning under its context would, and reports whether it is still
// wanted.
func (c *committer) live(w *groupWrite) bool {
	if err := w.ctx.Err(); err != nil {
		w.result <- groupResult{err: c.s.outage(fmt.Errorf("store: begin: %w", err))}
		return false
	}
	return true
}

// runOne runs w in stx, under a savepoint unless w is alone in it, and
// reports whether w's writes stay in the group (ok). When w fails it is
// answered at once, and its writes are undone (rolled back to the
// savepoint; when alone, the caller rolls the transaction back). A non-nil
// error means the transaction itself failed (SQLite rolls it back on some
// errors, such as an interrupted write or a full disk); w has been
// answered with it, and the group must end.
func (c *committer) runOne(ctx context.Context, stx *sql.Tx, w *groupWrite, deadline time.Time, alone bool) (ok bool, broken error) {
	exec := func(what, stmt string) error {
		if _, err := stx.ExecContext(ctx, stmt); err != nil {
			return c.s.outage(fmt.Errorf("store: %s: %w", what, err))
		}
		return nil
	}
	if !alone {
		if err := exec("savepoint", "SAVEPOINT group_write"); err != nil {
			w.result <- groupResult{err: err}
			return false, err
		}
	}
	t := &txn{s: c.s, tx: stx, caller: w.ctx, bounded: ctx, detached: true, deadline: deadline}
	panicked, err := callFn(t, w.fn)
	if err == nil && panicked == nil {
		err = t.flush(ctx, "")
	}
	if err == nil && panicked == nil {
		if alone {
			return true, nil
		}
		if rerr := exec("release", "RELEASE group_write"); rerr != nil {
			w.result <- groupResult{err: rerr}
			return false, rerr
		}
		return true, nil
	}
	failed := groupResult{err: c.s.outage(err), panicked: panicked}
	if alone {
		w.result <- failed
		return false, nil
	}
	// Undo w's writes; failing that, the transaction is gone.
	for _, step := range [][2]string{{"rollback", "ROLLBACK TO group_write"}, {"release", "RELEASE group_write"}} {
		if rerr := exec(step[0], step[1]); rerr != nil {
			w.result <- failed
			return false, rerr
		}
	}
	w.result <- failed
	return false, nil
}

// callFn calls fn, turning a panic into a value to re-raise on the
// caller's goroutine: a panicking write must not take the committer, and
// every other write waiting on it, down with it.
func callFn(t *txn, fn func(store.Tx) error) (panicked any, err error) {
	defer func() {
		if p := recover(); p != nil {
			panicked = p
		}
	}()
	return nil, fn(t)
}
