package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlite"
)

// TestStatementCache runs statements through a connection that keeps them
// prepared: the same text reuses its statement, the same text run again
// while its rows are open (a query inside another's scan) still answers
// right, and the cache stays within its bound with results unchanged.
func TestStatementCache(t *testing.T) {
	db, cached, err := sqlite.OpenCaching(filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "CREATE TABLE t (n INTEGER)"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := c.ExecContext(ctx, "INSERT INTO t (n) VALUES (?)", i); err != nil {
			t.Fatal(err)
		}
	}
	if got := cached(c); got != 2 {
		t.Errorf("after one CREATE and three INSERTs of one text: %d statements cached, want 2", got)
	}

	const q = "SELECT n FROM t WHERE n >= ? ORDER BY n"
	rows, err := c.QueryContext(ctx, q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var outer, inner []int
	for rows.Next() && len(outer) < 10 {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		outer = append(outer, n)
		// The same text while the outer rows are open.
		var m int
		if err := c.QueryRowContext(ctx, q, n).Scan(&m); err != nil {
			t.Fatal(err)
		}
		inner = append(inner, m)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(outer) != "[0 1 2]" || fmt.Sprint(inner) != "[0 1 2]" {
		t.Errorf("nested use of one statement: outer %v, inner %v; want [0 1 2] both", outer, inner)
	}
	var n int
	if err := c.QueryRowContext(ctx, q, 2).Scan(&n); err != nil || n != 2 {
		t.Errorf("the statement after its rows closed: %d, %v; want 2", n, err)
	}

	for i := range sqlite.MaxCachedStatements + 10 {
		var got int
		if err := c.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) + %d FROM t", i)).Scan(&got); err != nil || got != 3+i {
			t.Fatalf("query %d: %d, %v; want %d", i, got, err, 3+i)
		}
	}
	if got := cached(c); got > sqlite.MaxCachedStatements {
		t.Errorf("%d statements cached, bound %d", got, sqlite.MaxCachedStatements)
	}
	// A statement that does not parse fails as it would unprepared.
	if _, err := c.ExecContext(ctx, "INSERT INTO nowhere VALUES (1)"); err == nil {
		t.Error("a statement on a missing table succeeded")
	}
}

// TestNumberedPlaceholdersThroughTheCache: a cached statement prepared with
// anonymous placeholders still binds each numbered one to its argument,
// reused and out of order.
func TestNumberedPlaceholdersThroughTheCache(t *testing.T) {
	db, _, err := sqlite.OpenCaching(filepath.Join(t.TempDir(), "ph.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (a TEXT, b TEXT, c TEXT)"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second run uses the cached statement
		if _, err := db.ExecContext(ctx, "DELETE FROM t"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO t (c, a, b) VALUES ($3, $1, $2), ($1, $1, '$2')", "x", "y", "z"); err != nil {
			t.Fatal(err)
		}
		var got string
		err := db.QueryRowContext(ctx, "SELECT group_concat(a || b || c, ',') FROM (SELECT * FROM t WHERE a = $2 OR c = $1 ORDER BY c)", "z", "x").Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		if want := "x$2x,xyz"; got != want {
			t.Fatalf("rows %q, want %q", got, want)
		}
	}
}
