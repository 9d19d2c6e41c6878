// Package sqlite is the embedded store backend: one SQLite file in WAL mode
// on modernc.org/sqlite (no cgo). One connection writes and serves Update;
// a pool of read-only connections serves View, so readers never wait for the
// writer and concurrent writers queue in-process instead of failing with
// "database is locked".
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlq"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// Store is a store.Store over one SQLite file.
type Store = sqlstore.Store

// Options are the settings Open accepts.
type Options = sqlstore.Options

//go:embed migrations/*.sql
var migrationFiles embed.FS

func migrations() (sqlstore.Migrations, error) {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return sqlstore.Migrations{}, fmt.Errorf("store: %w", err)
	}
	return sqlstore.Migrations{Dialect: goose.DialectSQLite3, FS: fsys}, nil
}

// Open opens (creating it and its directory if needed) the database at path
// and, unless SkipMigrations, migrates it. opts is at most one Options.
func Open(ctx context.Context, path string, opts ...Options) (*Store, error) {
	o, err := sqlstore.OptionsOf(opts)
	if err != nil {
		return nil, err
	}
	m, err := migrations()
	if err != nil {
		return nil, err
	}
	write, read, err := open(ctx, path, o)
	if err != nil {
		return nil, err
	}
	cdb, err := connect(path, url.Values{"_busy_timeout": {busyTimeout(o)}})
	if err != nil {
		return nil, errors.Join(err, write.Close(), read.Close())
	}
	cdb.SetMaxOpenConns(1)
	cp := startCheckpointer(cdb)
	s, err := sqlstore.New(ctx, sqlstore.Backend{
		Dialect:     sqlq.SQLite,
		Write:       write,
		Read:        read,
		ReadTx:      sql.TxOptions{ReadOnly: true},
		Classify:    classify,
		Unavailable: unavailable,
		Migrations:  m,
		Committed:   cp.written,
		Stop:        cp.stop,
		GroupCommit: true,
	}, o)
	if err != nil {
		return nil, errors.Join(err, cp.stop(), write.Close(), read.Close())
	}
	return s, nil
}

// Migrate brings the database at path to the current schema.
func Migrate(ctx context.Context, path string) error {
	m, err := migrations()
	if err != nil {
		return err
	}
	write, read, err := open(ctx, path, Options{})
	if err != nil {
		return err
	}
	return errors.Join(m.Up(ctx, write), write.Close(), read.Close())
}

// busyTimeout is how long a connection waits for a lock held by another
// process (a backup, the CLI): as long as the store's timeout allows, then
// the store is unavailable.
func busyTimeout(opts Options) string {
	return strconv.FormatInt(opts.TimeoutOf().Milliseconds(), 10)
}

// connect opens a pool over the file at path with the connection
// parameters q.
func connect(path string, q url.Values) (*sql.DB, error) {
	drv, err := driverOnce()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return sql.OpenDB(connector{drv: drv, dsn: dsn(abs, q)}), nil
}

func open(ctx context.Context, path string, opts Options) (write, read *sql.DB, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("store: %w", err)
	}
	busy := busyTimeout(opts)
	q := url.Values{}
	q.Set("_busy_timeout", busy)
	q.Set("_foreign_keys", "1")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	// BEGIN IMMEDIATE takes the write lock up front, so a transaction never
	// fails upgrading from reader to writer.
	q.Set("_txlock", "immediate")
	// Statement journals (the undo of one statement inside a transaction)
	// stay in memory: written to a temporary file, the audit insert of an
	// invitation alone cost an open, writes and a close.
	q.Add("_pragma", "temp_store(2)")
	q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", writerCheckpointPages))
	// A page cache of 16 MiB rather than 2: a batch of sign-in records
	// dirties more pages than 2 MiB hold, and SQLite then spills them to
	// the WAL before the commit, writing some twice.
	q.Add("_pragma", "cache_size(-16384)")
	if write, err = connect(path, q); err != nil {
		return nil, nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	// The writer runs first so that the file exists in WAL mode before a
	// reader opens it.
	if err := write.PingContext(ctx); err != nil {
		return nil, nil, errors.Join(fmt.Errorf("store: open %s: %w", path, err), write.Close())
	}
	q = url.Values{}
	q.Set("_busy_timeout", busy)
	q.Set("_query_only", "1")
	q.Add("_pragma", "temp_store(2)")
	if read, err = connect(path, q); err != nil {
		return nil, nil, errors.Join(err, write.Close())
	}
	n := opts.MaxConns
	if n <= 0 {
		n = max(4, runtime.GOMAXPROCS(0))
	}
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	return write, read, nil
}

func dsn(abs string, q url.Values) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}).String()
}

// driverOnce builds the one driver whose connections have the Unicode-aware
// lower(). It is private to this package, so the replacement reaches no
// other user of modernc.org/sqlite in the process.
var driverOnce = sync.OnceValues(func() (*sqlite.Driver, error) {
	drv := &sqlite.Driver{}
	// SQLite's own lower() folds ASCII only. Filters and the displayName
	// index fold with this one, which matches Go's and PostgreSQL's.
	if err := drv.RegisterDeterministicScalarFunction("lower", 1, lower); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return drv, nil
})

func lower(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	switch v := args[0].(type) {
	case string:
		return strings.ToLower(v), nil
	case []byte:
		return strings.ToLower(string(v)), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	default:
		return v, nil
	}
}

type connector struct {
	drv *sqlite.Driver
	dsn string
}

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dc, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return newCachingConn(dc)
}

func (c connector) Driver() driver.Driver { return c.drv }

// conflictKeys maps the columns SQLite names in a unique violation to the
// key a *store.ConflictError reports.
var conflictKeys = map[string]string{
	"objects.tenant_id, objects.id":                   "id",
	"objects.tenant_id, objects.kind, objects.upn":    "userPrincipalName",
	"objects.tenant_id, objects.kind, objects.app_id": "appId",
	"objects.app_id":                    "appId",
	"index 'objects_app_id_deployment'": "appId",
	"identifier_uris.uri":               "identifierUris",
	"links.tenant_id, links.source_id, links.rel, links.target_id": "link",
	"tenants.id":   "id",
	"domains.name": "id",
	"outbox.id":    "id",
	"signing_keys.tenant_id, signing_keys.kid": "kid",
}

// unavailable: the file is locked by another process beyond the busy
// timeout, or cannot be read, written or opened.
func unavailable(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL:
		return true
	}
	return false
}

func classify(err error) error {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		// "… UNIQUE constraint failed: objects.tenant_id, objects.id (1555)"
		msg, cols := e.Error(), ""
		if i := strings.LastIndex(msg, "failed: "); i >= 0 {
			cols, _, _ = strings.Cut(msg[i+len("failed: "):], " (")
		}
		if k, ok := conflictKeys[cols]; ok {
			return &store.ConflictError{Key: k}
		}
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	return err
}
