package app

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// purgeBatch bounds one purge transaction, so housekeeping never holds
// locks long on a busy database.
const purgeBatch = 1000

// Housekeep runs one pass of the node's housekeeping, in batches, safe on
// every node at once: expired protocol state (authorization requests, codes,
// refresh tokens, sessions, lockout counters) is deleted, and so are
// directory objects deleted longer ago than the retention period, and audit
// and sign-in records older than the audit retention; then every tenant's
// signing keys are rotated if due.
func (s *Server) Housekeep(ctx context.Context) (purged int, err error) {
	now := s.cfg.Now()
	cutoff, auditCutoff := now.Add(-directory.DeletedRetention), now.Add(-s.cfg.AuditRetention)
	passes := []func(tx store.Tx) (int, error){
		func(tx store.Tx) (int, error) { return tx.PurgeExpiredStates(ctx, purgeBatch) },
		func(tx store.Tx) (int, error) { return tx.PurgeDeletedObjects(ctx, cutoff, purgeBatch) },
		func(tx store.Tx) (int, error) { return tx.PurgeAuditRecords(ctx, auditCutoff, purgeBatch) },
	}
	for _, pass := range passes {
		for {
			var n int
			err := s.st.Update(ctx, func(tx store.Tx) error {
				var err error
				n, err = pass(tx)
				return err
			})
			purged += n
			if err != nil {
				return purged, err
			}
			if n < purgeBatch {
				break
			}
		}
	}
	return purged, s.rotateKeys(ctx)
}

// rotateKeys creates the successors that are due and deletes the keys past
// publication of every tenant. Issuing a token does the same for its
// tenant; this pass reaches tenants nobody requests tokens from, whose
// keys would otherwise sign past their interval (up to their RetireAt) and
// stay published after it.
func (s *Server) rotateKeys(ctx context.Context) error {
	return s.eachTenant(ctx, func(t store.Tenant) error {
		return s.provider.RotateKeys(ctx, t.ID)
	})
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
			s.cfg.Logger.InfoContext(ctx, "housekeeping purged expired state and old deletions", "rows", n)
		}
	}
}
