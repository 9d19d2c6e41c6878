package sqlite_test

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return storetest.SQLite(t, "") })
}

func TestClock(t *testing.T) {
	storetest.RunClock(t, func(t *testing.T, now func() time.Time) store.Store {
		return storetest.SQLite(t, "", sqlite.Options{Now: now})
	})
}

func TestStates(t *testing.T) {
	storetest.RunStates(t, func(t *testing.T, now func() time.Time) store.Store {
		return storetest.SQLite(t, "", sqlite.Options{Now: now})
	})
}

func TestMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	storetest.RunMigrate(t,
		func(t *testing.T) store.Store { return storetest.SQLite(t, path, sqlite.Options{SkipMigrations: true}) },
		func(t *testing.T) {
			if err := sqlite.Migrate(t.Context(), path); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
		})
}

func TestClassify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	storetest.SQLite(t, path) // migrates
	db, err := sql.Open("sqlite", path+"?_foreign_keys=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.RunConstraints(t, func(q string, args ...any) error {
		_, err := db.ExecContext(t.Context(), q, args...)
		return err
	}, sqlite.Classify)
}

// TestTwoHandles writes through two stores on one file, as two processes
// would: the busy timeout makes them take turns instead of failing.
func TestTwoHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	stores := []store.Store{storetest.SQLite(t, path), storetest.SQLite(t, path)}
	if err := stores[0].Update(t.Context(), func(tx store.Tx) error {
		return tx.CreateTenant(t.Context(), store.Tenant{ID: "t1", Type: store.TenantWorkforce})
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			for j := range 20 {
				id := fmt.Sprintf("s%d-%d", i, j)
				err := s.Update(t.Context(), func(tx store.Tx) error {
					return tx.CreateObject(t.Context(), &store.Object{TenantID: "t1", Kind: "user", ID: id})
				})
				if err != nil {
					t.Errorf("store %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	err := stores[1].View(t.Context(), func(tx store.Tx) error {
		head, err := tx.HeadSeq(t.Context(), "t1")
		if head != 40 {
			t.Errorf("HeadSeq = %d, want 40", head)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLockedFileIsUnavailable: a write lock held by another process beyond
// the store's timeout is an outage (store.ErrUnavailable), not an answer.
func TestLockedFileIsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s := storetest.SQLite(t, path, sqlite.Options{Timeout: 100 * time.Millisecond})
	release := storetest.HoldSQLiteWriteLock(t, path)
	err := s.Update(t.Context(), func(tx store.Tx) error {
		return tx.CreateTenant(t.Context(), store.Tenant{ID: "t1", Type: store.TenantWorkforce})
	})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Update while another process holds the write lock: %v, want store.ErrUnavailable", err)
	}
	// Released, the same store writes again.
	release()
	if err := s.Update(t.Context(), func(tx store.Tx) error {
		return tx.CreateTenant(t.Context(), store.Tenant{ID: "t1", Type: store.TenantWorkforce})
	}); err != nil {
		t.Fatalf("Update after the lock was released: %v", err)
	}
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return storetest.SQLite(b, "") })
}

func TestFirstPartyMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	db, err := sql.Open("sqlite", path+"?_foreign_keys=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := sqlite.MigrationSet()
	if err != nil {
		t.Fatal(err)
	}
	storetest.RunFirstPartyMigration(t, db, m, func() store.Store { return storetest.SQLite(t, path) })
}

// TestCheckpointAfterWrites: committed pages reach the database file soon
// after the writes, copied by the checkpointer rather than by the writer
// at its own (far larger) threshold.
func TestCheckpointAfterWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s := storetest.SQLite(t, path)
	ctx := t.Context()
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	blob, _ := json.Marshal(strings.Repeat("x", 64<<10))
	now := time.Now()
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateTenant(ctx, store.Tenant{ID: "t1", DisplayName: "T", CreatedAt: now}); err != nil {
			return err
		}
		for i := range 32 {
			if err := tx.PutState(ctx, store.State{TenantID: "t1", Kind: "blob", ID: fmt.Sprint(i), Data: blob, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for size() < before+(2<<20) {
		if time.Now().After(deadline) {
			t.Fatalf("the database file is %d bytes 5 s after 2 MB were committed (%d before): nothing checkpointed them", size(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPartialIndexesCompareNoValues: a partial index whose condition
// compares a column with a value (kind = 'application') makes SQLite
// re-prepare, on every run, each statement that compares that column
// with a bound value, as the planner must check the value against the
// condition; the statement cache is then worth nothing to those queries.
// Conditions may test only for NULL.
func TestPartialIndexesCompareNoValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s := storetest.SQLite(t, path) // migrates
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	partial := 0
	for rows.Next() {
		var name, text string
		if err := rows.Scan(&name, &text); err != nil {
			t.Fatal(err)
		}
		_, cond, ok := strings.Cut(strings.ToUpper(text), ") WHERE ")
		if !ok {
			continue
		}
		partial++
		rest := strings.NewReplacer("IS NOT NULL", "", "IS NULL", "", "AND", "", " ", "").Replace(cond)
		if strings.ContainsAny(rest, "=<>'()") {
			t.Errorf("index %s has a condition that compares values: %s", name, text)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if partial == 0 {
		t.Fatal("found no partial index: the check looks at nothing")
	}
}
