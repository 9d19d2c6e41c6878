package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
)

// maxCachedStatements bounds the statements one connection keeps prepared.
// The store's queries are a few hundred fixed texts; filters built from a
// request add more, and those may push others out.
const maxCachedStatements = 256

// cachingConn keeps every statement it runs prepared for the connection's
// life. modernc's connection parses and plans each statement anew, which
// was a quarter of the CPU an invitation cost; its prepared statements
// keep their plan, so running one again only binds and steps.
//
// database/sql uses a connection from one goroutine at a time, so the
// cache needs no lock. A statement whose rows are still open is busy: a
// second use of the same text meanwhile (a query inside another's scan)
// runs on the connection unprepared, as it would without the cache.
type cachingConn struct {
	conn  conn
	stmts map[string]*cachedStmt
}

// conn is what database/sql needs of modernc's connection.
type conn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type cachedStmt struct {
	stmt interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	}
	// order, when set, is the statement's parameters as it was prepared
	// (anonymous ?) by their numbers in the text it was asked for ($N).
	order []int
	busy  bool
}

// args are the arguments of s's parameters, in s's order.
func (s *cachedStmt) args(given []driver.NamedValue) ([]driver.NamedValue, error) {
	if s.order == nil {
		return given, nil
	}
	out := make([]driver.NamedValue, len(s.order))
	for i, n := range s.order {
		if n > len(given) {
			return nil, fmt.Errorf("store: statement names $%d of %d arguments", n, len(given))
		}
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: given[n-1].Value}
	}
	return out, nil
}

var (
	_ conn        = (*cachingConn)(nil)
	_ driver.Rows = (*cachedRows)(nil)
)

func newCachingConn(c driver.Conn) (driver.Conn, error) {
	cc, ok := c.(conn)
	if !ok {
		return nil, errors.Join(errors.New("store: the sqlite driver's connection lacks a context method"), c.Close())
	}
	return &cachingConn{conn: cc, stmts: map[string]*cachedStmt{}}, nil
}

// prepared returns the cached statement of q, preparing it first, or nil
// when q is busy or cannot be prepared alone (the caller then runs it on
// the connection, which reports any error).
func (c *cachingConn) prepared(ctx context.Context, q string) *cachedStmt {
	if s, ok := c.stmts[q]; ok {
		if s.busy {
			return nil
		}
		return s
	}
	text, order, _ := anonymous(q)
	ds, err := c.conn.PrepareContext(ctx, text)
	if err != nil {
		return nil
	}
	st, ok := ds.(interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	})
	if !ok {
		_ = ds.Close()
		return nil
	}
	if len(c.stmts) >= maxCachedStatements {
		c.evictOne()
	}
	s := &cachedStmt{stmt: st, order: order}
	c.stmts[q] = s
	return s
}

// evictOne closes one statement not in use; which one does not matter
// enough to track.
func (c *cachingConn) evictOne() {
	for q, s := range c.stmts {
		if !s.busy {
			_ = s.stmt.Close()
			delete(c.stmts, q)
			return
		}
	}
}

func (c *cachingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	s := c.prepared(ctx, q)
	if s == nil {
		return c.conn.ExecContext(ctx, q, args)
	}
	args, err := s.args(args)
	if err != nil {
		return nil, err
	}
	return s.stmt.ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	s := c.prepared(ctx, q)
	if s == nil {
		return c.conn.QueryContext(ctx, q, args)
	}
	args, err := s.args(args)
	if err != nil {
		return nil, err
	}
	rows, err := s.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, stmt: s}, nil
}

func (c *cachingConn) Close() error {
	var errs []error
	for _, s := range c.stmts {
		errs = append(errs, s.stmt.Close())
	}
	clear(c.stmts)
	return errors.Join(append(errs, c.conn.Close())...)
}

func (c *cachingConn) Prepare(q string) (driver.Stmt, error) { return c.conn.Prepare(q) }
func (c *cachingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.conn.PrepareContext(ctx, q)
}
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.conn.BeginTx(context.Background(), driver.TxOptions{})
}
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.conn.BeginTx(ctx, opts)
}
func (c *cachingConn) Ping(ctx context.Context) error         { return c.conn.Ping(ctx) }
func (c *cachingConn) ResetSession(ctx context.Context) error { return c.conn.ResetSession(ctx) }
func (c *cachingConn) IsValid() bool                          { return c.conn.IsValid() }

// cachedRows frees its statement for the next use when closed.
type cachedRows struct {
	driver.Rows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.stmt.busy = false
	return err
}
