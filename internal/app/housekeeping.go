package app

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// purgeBatch bounds one purge transaction, so housekeeping never holds
// locks long on a busy database.
const purgeBatch = 1000

// Housekeep runs one pass of the node's housekeeping: expired protocol
// state (authorization requests, codes, refresh tokens, sessions, lockout
// counters) is deleted in batches. It is safe on every node at once.
func (s *Server) Housekeep(ctx context.Context) (purged int, err error) {
	for {
		var n int
		err := s.st.Update(ctx, func(tx store.Tx) error {
			var err error
			n, err = tx.PurgeExpiredStates(ctx, purgeBatch)
			return err
		})
		purged += n
		if err != nil || n < purgeBatch {
			return purged, err
		}
	}
}

// RunHousekeeping runs Housekeep every interval until ctx ends.
func (s *Server) RunHousekeeping(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := s.Housekeep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.cfg.Logger.WarnContext(ctx, "housekeeping failed", "err", err)
		case n > 0:
			s.cfg.Logger.InfoContext(ctx, "housekeeping purged expired state", "states", n)
		}
	}
}
