package postgres_test

import (
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/postgres"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return storetest.Postgres(t, "") })
}

func TestClock(t *testing.T) {
	storetest.RunClock(t, func(t *testing.T, now func() time.Time) store.Store {
		return storetest.Postgres(t, "", postgres.Options{Now: now})
	})
}

func TestStates(t *testing.T) {
	storetest.RunStates(t, func(t *testing.T, now func() time.Time) store.Store {
		return storetest.Postgres(t, "", postgres.Options{Now: now})
	})
}

func TestMigrate(t *testing.T) {
	url := storetest.PostgresURL(t)
	storetest.RunMigrate(t,
		func(t *testing.T) store.Store {
			return storetest.Postgres(t, url, postgres.Options{SkipMigrations: true})
		},
		func(t *testing.T) {
			if err := postgres.Migrate(t.Context(), url); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
		})
}

// TestConcurrentMigrations starts several nodes on one empty schema at
// once: the migration lock lets one migrate while the others wait.
func TestConcurrentMigrations(t *testing.T) {
	url := storetest.PostgresURL(t)
	const nodes = 3
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), url)
			if err == nil {
				err = s.Ping(t.Context())
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
}

func TestClassify(t *testing.T) {
	url := storetest.PostgresURL(t)
	storetest.Postgres(t, url) // migrates
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.RunConstraints(t, func(q string, args ...any) error {
		_, err := db.ExecContext(t.Context(), q, args...)
		return err
	}, postgres.Classify)
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return storetest.Postgres(b, "") })
}

func TestFirstPartyMigration(t *testing.T) {
	url := storetest.PostgresURL(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := postgres.MigrationSet()
	if err != nil {
		t.Fatal(err)
	}
	storetest.RunFirstPartyMigration(t, db, m, func() store.Store { return storetest.Postgres(t, url) })
}

// TestSessionLimits: the store's pool has the configured size and its
// sessions end statements and idle transactions at the store's timeout on
// the server too; the migrations' pool does not.
func TestSessionLimits(t *testing.T) {
	url := storetest.PostgresURL(t)
	for _, c := range []struct {
		serverTimeouts bool
		want           string
	}{{true, "1500ms"}, {false, "0"}} {
		db, err := postgres.OpenDB(url, postgres.Options{Timeout: 1500 * time.Millisecond, MaxConns: 3}, c.serverTimeouts)
		if err != nil {
			t.Fatal(err)
		}
		var statement, idle string
		err = db.QueryRowContext(t.Context(), `SELECT current_setting('statement_timeout'), current_setting('idle_in_transaction_session_timeout')`).Scan(&statement, &idle)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]string{true: "3s", false: "0"}[c.serverTimeouts]; statement != c.want || idle != want {
			t.Errorf("server timeouts %v: statement_timeout %s, idle_in_transaction_session_timeout %s; want %s, %s", c.serverTimeouts, statement, idle, c.want, want)
		}
		if n := db.Stats().MaxOpenConnections; n != 3 {
			t.Errorf("pool of %d connections, want 3", n)
		}
		db.Close()
	}
}
