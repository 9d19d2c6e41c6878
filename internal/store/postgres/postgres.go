// Package postgres is the scale-out store backend: PostgreSQL through pgx's
// database/sql driver, shared by any number of Gatehouse nodes. Update runs
// READ COMMITTED; View runs REPEATABLE READ READ ONLY, so everything one View
// reads (the change feed's head and the objects, say) comes from one snapshot.
//
// The URL may name a schema with the search_path parameter; the store's
// tables, migrations and migration lock then live in that schema.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/crc64"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlq"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// Store is a store.Store over one PostgreSQL database (or schema).
type Store = sqlstore.Store

// Options are the settings Open accepts.
type Options = sqlstore.Options

// defaultMaxConns bounds a node's connections when Options.MaxConns is 0.
const defaultMaxConns = 16

//go:embed migrations/*.sql
var migrationFiles embed.FS

func migrations() (sqlstore.Migrations, error) {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return sqlstore.Migrations{}, fmt.Errorf("store: %w", err)
	}
	return sqlstore.Migrations{Dialect: goose.DialectPostgres, FS: fsys, Locker: migrationLock}, nil
}

// migrationLock is a session advisory lock, so that nodes starting together
// migrate one after the other. Its ID derives from the schema: deployments
// in different schemas of one database do not wait for each other.
func migrationLock(ctx context.Context, db *sql.DB) (lock.SessionLocker, error) {
	var schema sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return nil, err
	}
	if !schema.Valid {
		return nil, errors.New("no schema of the search_path exists")
	}
	id := crc64.Checksum([]byte("gatehouse migrations "+schema.String), crc64.MakeTable(crc64.ECMA))
	// Poll every second for up to ten minutes.
	return lock.NewPostgresSessionLocker(lock.WithLockID(int64(id)), lock.WithLockTimeout(1, 600))
}

// Open connects to the database at url (a postgres:// URL or key=value
// string) and, unless SkipMigrations, migrates it. opts is at most one
// Options.
func Open(ctx context.Context, url string, opts ...Options) (*Store, error) {
	o, err := sqlstore.OptionsOf(opts)
	if err != nil {
		return nil, err
	}
	m, err := migrations()
	if err != nil {
		return nil, err
	}
	db, err := openDB(url, o)
	if err != nil {
		return nil, err
	}
	s, err := sqlstore.New(ctx, sqlstore.Backend{
		Dialect:    sqlq.Postgres,
		Write:      db,
		Read:       db,
		WriteTx:    sql.TxOptions{Isolation: sql.LevelReadCommitted},
		ReadTx:     sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
		ShareLock:  "FOR SHARE",
		UpdateLock: "FOR UPDATE",
		SkipLocked: "FOR UPDATE SKIP LOCKED",
		Classify:   classify,
		Migrations: m,
	}, o)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return s, nil
}

// Migrate brings the database at url to the current schema. Concurrent
// migrations of one schema run one after the other.
func Migrate(ctx context.Context, url string) error {
	m, err := migrations()
	if err != nil {
		return err
	}
	db, err := openDB(url, Options{MaxConns: 2})
	if err != nil {
		return err
	}
	return errors.Join(m.Up(ctx, db), db.Close())
}

func openDB(url string, opts Options) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// Date-times in documents without an offset read as UTC, as SQLite
	// reads them.
	if _, ok := cfg.RuntimeParams["timezone"]; !ok {
		cfg.RuntimeParams["timezone"] = "UTC"
	}
	db := stdlib.OpenDB(*cfg)
	n := opts.MaxConns
	if n <= 0 {
		n = defaultMaxConns
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	return db, nil
}

// conflictKeys maps unique constraints to the key a *store.ConflictError
// reports.
var conflictKeys = map[string]string{
	"objects_pkey":              "id",
	"objects_upn":               "userPrincipalName",
	"objects_app_id":            "appId",
	"objects_app_id_deployment": "appId",
	"identifier_uris_pkey":      "identifierUris",
	"links_pkey":                "link",
	"tenants_pkey":              "id",
	"domains_pkey":              "id",
	"outbox_pkey":               "id",
	"signing_keys_pkey":         "kid",
}

const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

func classify(err error) error {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code {
	case uniqueViolation:
		if k, ok := conflictKeys[e.ConstraintName]; ok {
			return &store.ConflictError{Key: k}
		}
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	case foreignKeyViolation:
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	return err
}
