package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"
)

// writerCheckpointPages is when the writer copies the WAL back into the
// database itself, in the commit that crosses it: a safety net that bounds
// the WAL (about 80 MB) should the checkpointer fall behind or fail. SQLite's
// default is 1000 pages, which put a checkpoint with two fsyncs into every
// few dozen commits and held the one writer for a fifth of its time.
const writerCheckpointPages = 20000

// checkpointDelay gathers the commits of a burst into one checkpoint, so a
// page changed by many of them is copied once. It is short because a
// checkpoint holds the core while it copies: at 100 ms, under a sustained
// token load on one core, each copied a tenth of a second of writes at
// once, and the p99 of token requests was 10.7–11.0 ms; at 25 ms it was
// 8.5–9.6 ms, for the same CPU per token (docs/benchmarks.md, session 8).
const checkpointDelay = 25 * time.Millisecond

// checkpointer copies committed WAL pages back into the database file from
// a connection of its own, after writes and off the writer's path. A PASSIVE
// checkpoint waits for no one: it copies what no reader still needs, and the
// writer starts the WAL over once all of it has been copied.
type checkpointer struct {
	db     *sql.DB
	poke   chan struct{}
	cancel context.CancelFunc
	done   sync.WaitGroup
	// warned is when a failure was last logged: a failing disk fails
	// every checkpoint, and one line a minute says so.
	warned time.Time
}

func startCheckpointer(db *sql.DB) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, poke: make(chan struct{}, 1), cancel: cancel}
	c.done.Go(func() { c.run(ctx) })
	return c
}

// written tells the checkpointer that a transaction committed.
func (c *checkpointer) written() {
	select {
	case c.poke <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.poke:
		}
		t := time.NewTimer(checkpointDelay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		// A failure leaves the pages in the WAL, where readers find them;
		// the next commit pokes again, and the writer's own threshold
		// bounds the WAL meanwhile.
		_, err := c.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
		if err != nil && ctx.Err() == nil && time.Since(c.warned) > time.Minute {
			c.warned = time.Now()
			slog.WarnContext(ctx, "store: sqlite checkpoint failed; the writer will checkpoint instead", "err", err)
		}
	}
}

// stop ends the checkpointer and closes its connection. Closing the last
// connection checkpoints what is left.
func (c *checkpointer) stop() error {
	c.cancel()
	c.done.Wait()
	return c.db.Close()
}
