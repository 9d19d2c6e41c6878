package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// versionTable records the applied migrations.
const versionTable = "goose_db_version"

// Migrations is a backend's schema history: goose SQL migrations at the
// root of FS.
type Migrations struct {
	Dialect goose.Dialect
	FS      fs.FS
	// Locker, when set, returns the session lock that keeps two processes
	// from migrating the same database at once.
	Locker func(ctx context.Context, db *sql.DB) (lock.SessionLocker, error)
}

func (m Migrations) provider(ctx context.Context, db *sql.DB) (*goose.Provider, error) {
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true), goose.WithTableName(versionTable)}
	if m.Locker != nil {
		l, err := m.Locker(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(l))
	}
	p, err := goose.NewProvider(m.Dialect, db, m.FS, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

// Up applies the pending migrations.
func (m Migrations) Up(ctx context.Context, db *sql.DB) error {
	p, err := m.provider(ctx, db)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// Check fails unless every migration has been applied. It reads the version
// table without creating it or taking the migration lock, so it neither
// writes nor waits for a migration in progress.
func (m Migrations) Check(ctx context.Context, db *sql.DB) error {
	p, err := goose.NewProvider(m.Dialect, db, m.FS, goose.WithDisableGlobalRegistry(true), goose.WithTableName(versionTable))
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	var want int64
	for _, src := range p.ListSources() {
		want = max(want, src.Version)
	}
	var have int64
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version_id), 0) FROM "+versionTable).Scan(&have); err != nil {
		return fmt.Errorf("store: schema not migrated: %w", err)
	}
	if have < want {
		return fmt.Errorf("store: schema at version %d, want %d: run gatehouse migrate", have, want)
	}
	return nil
}
