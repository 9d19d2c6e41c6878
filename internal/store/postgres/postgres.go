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
	"io"
	"io/fs"
	"net"
	"strconv"
	"time"

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
	// Migrations run on a pool of their own, free of the statement
	// timeout: building an index can rightly take longer than any request.
	if !o.SkipMigrations {
		if err := Migrate(ctx, url); err != nil {
			return nil, err
		}
	}
	db, err := openDB(url, o, true)
	if err != nil {
		return nil, err
	}
	o.SkipMigrations = true
	s, err := sqlstore.New(ctx, sqlstore.Backend{
		Dialect:     sqlq.Postgres,
		Write:       db,
		Read:        db,
		WriteTx:     sql.TxOptions{Isolation: sql.LevelReadCommitted},
		ReadTx:      sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
		ShareLock:   "FOR SHARE",
		UpdateLock:  "FOR UPDATE",
		SkipLocked:  "FOR UPDATE SKIP LOCKED",
		Classify:    classify,
		Unavailable: unavailable,
		Migrations:  m,
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
	db, err := openDB(url, Options{MaxConns: 2}, false)
	if err != nil {
		return err
	}
	return errors.Join(m.Up(ctx, db), db.Close())
}

// openDB opens a pool; with serverTimeouts, its sessions have the
// statement and idle-transaction timeouts of opts.
func openDB(url string, opts Options, serverTimeouts bool) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// Date-times in documents without an offset read as UTC, as SQLite
	// reads them.
	if _, ok := cfg.RuntimeParams["timezone"]; !ok {
		cfg.RuntimeParams["timezone"] = "UTC"
	}
	// The server ends what the client's deadline cannot reach: a statement
	// still running, or a transaction left open, after the client gave up
	// (a cut connection is noticed by the server only when it next writes).
	timeout := opts.TimeoutOf()
	for param, v := range map[string]time.Duration{"statement_timeout": timeout, "idle_in_transaction_session_timeout": 2 * timeout} {
		if _, ok := cfg.RuntimeParams[param]; !ok && serverTimeouts {
			cfg.RuntimeParams[param] = strconv.FormatInt(v.Milliseconds(), 10)
		}
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > timeout {
		cfg.ConnectTimeout = timeout
	}
	db := stdlib.OpenDB(*cfg)
	n := opts.MaxConns
	if n <= 0 {
		n = defaultMaxConns
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(opts.ConnLifetime)
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

// unavailable: the server could not be reached or talked to, is starting or
// shutting down, is out of connections or resources, or cancelled the
// statement at its timeout or for a lock it could not get.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code[:min(2, len(pe.Code))] {
		case "08", "53", "57", "58": // connection exception, insufficient resources, operator intervention, system error
			return true
		}
		return pe.Code == "55P03" // lock_not_available
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

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
