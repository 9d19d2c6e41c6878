package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/postgres"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// Backends returns, per backend, a function that opens a fresh store for a
// test and closes it when the test ends: "sqlite" and "postgres". Packages
// above the store run their end-to-end tests over each.
func Backends() map[string]func(t *testing.T) store.Store {
	return map[string]func(t *testing.T) store.Store{
		"sqlite":   func(t *testing.T) store.Store { return SQLite(t, "") },
		"postgres": func(t *testing.T) store.Store { return Postgres(t, "") },
	}
}

// testTimeout bounds a test store's transactions unless the test sets its
// own: the race detector on a loaded 2-core machine makes a burst of
// concurrent sign-ins wait for SQLite's one writer longer than production's
// default, and those tests are about what the requests decide, not about
// overload (the outage tests set short timeouts of their own).
const testTimeout = time.Minute

func withTestTimeout(opts []sqlstore.Options) []sqlstore.Options {
	if len(opts) == 0 {
		return []sqlstore.Options{{Timeout: testTimeout}}
	}
	out := slices.Clone(opts)
	for i := range out {
		if out[i].Timeout == 0 {
			out[i].Timeout = testTimeout
		}
	}
	return out
}

// SQLite opens the SQLite store at path, or at a new file in a directory
// Open has to create when path is "", and closes it when the test ends.
func SQLite(tb testing.TB, path string, opts ...sqlite.Options) store.Store {
	tb.Helper()
	if path == "" {
		path = filepath.Join(tb.TempDir(), "data", "gatehouse.db")
	}
	s, err := sqlite.Open(tb.Context(), path, withTestTimeout(opts)...)
	if err != nil {
		tb.Fatalf("opening SQLite: %v", err)
	}
	closeAtEnd(tb, s)
	return s
}

// Postgres opens the PostgreSQL store at url, or in a fresh schema when url
// is "", and closes it when the test ends.
func Postgres(tb testing.TB, url string, opts ...postgres.Options) store.Store {
	tb.Helper()
	if url == "" {
		url = PostgresURL(tb)
	}
	s, err := postgres.Open(tb.Context(), url, withTestTimeout(opts)...)
	if err != nil {
		tb.Fatalf("opening PostgreSQL: %v", err)
	}
	closeAtEnd(tb, s)
	return s
}

func closeAtEnd(tb testing.TB, s store.Store) {
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("closing the store: %v", err)
		}
	})
}

// HoldSQLiteWriteLock takes the write lock of the SQLite database at path
// from a connection of its own, as another process would, and returns the
// function that lets it go (also called when the test ends).
func HoldSQLiteWriteLock(tb testing.TB, path string) (release func()) {
	tb.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		tb.Fatal(err)
	}
	conn, err := db.Conn(tb.Context())
	if err == nil {
		// Nodes' outbox workers write every second: wait for one's
		// transaction to end, as another process would.
		_, err = conn.ExecContext(tb.Context(), "PRAGMA busy_timeout = 10000")
	}
	if err == nil {
		_, err = conn.ExecContext(tb.Context(), "BEGIN EXCLUSIVE")
	}
	if err != nil {
		db.Close()
		tb.Fatalf("locking %s: %v", path, err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
				tb.Errorf("unlocking %s: %v", path, err)
			}
			conn.Close()
			db.Close()
		})
	}
	tb.Cleanup(release)
	return release
}

// PostgresEnv names the database the PostgreSQL tests use.
const PostgresEnv = "GATEHOUSE_TEST_POSTGRES"

const defaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func postgresBase() string {
	if u := os.Getenv(PostgresEnv); u != "" {
		return u
	}
	return defaultPostgres
}

var postgresReachable = sync.OnceValue(func() error {
	db, err := sql.Open("pgx", postgresBase())
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return db.PingContext(ctx)
})

// PostgresURL creates a schema of $GATEHOUSE_TEST_POSTGRES for one test,
// drops it when the test ends, and returns the URL that selects it. The
// test is skipped when the database is unreachable, and fails if the
// environment variable CI is set.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	if err := postgresReachable(); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("PostgreSQL at $%s is unreachable: %v", PostgresEnv, err)
		}
		tb.Skipf("PostgreSQL at $%s is unreachable: %v", PostgresEnv, err)
	}
	admin, err := sql.Open("pgx", postgresBase())
	if err != nil {
		tb.Fatal(err)
	}
	schema := fmt.Sprintf("gh_test_%016x", rand.Uint64())
	if _, err := admin.ExecContext(tb.Context(), "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(postgresBase())
	if err != nil || u.Scheme == "" {
		return postgresBase() + " search_path=" + schema
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
