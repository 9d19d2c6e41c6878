package sqlite

import (
	"database/sql"
	"net/url"
)

// Classify lets the external tests check the mapping of real errors.
var Classify = classify

// MigrationSet lets the external tests migrate step by step.
var MigrationSet = migrations

// OpenCaching opens path with one connection that keeps its statements
// prepared, and reports how many it holds.
func OpenCaching(path string) (*sql.DB, func(*sql.Conn) int, error) {
	drv, err := driverOnce()
	if err != nil {
		return nil, nil, err
	}
	db := sql.OpenDB(connector{drv: drv, dsn: dsn(path, url.Values{})})
	db.SetMaxOpenConns(1)
	cached := func(c *sql.Conn) (n int) {
		_ = c.Raw(func(dc any) error {
			n = len(dc.(*cachingConn).stmts)
			return nil
		})
		return n
	}
	return db, cached, nil
}

// MaxCachedStatements is the bound of one connection's cache.
const MaxCachedStatements = maxCachedStatements
