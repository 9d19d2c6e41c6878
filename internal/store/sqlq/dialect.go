// Package sqlq translates OData filters and orderings (internal/odata) into SQL
// over the objects table (and the audit log table, which has the same id,
// created_at and data columns) of Gatehouse's SQL backends, for SQLite and
// PostgreSQL, and pages through results with keyset cursors.
//
// The table is aliased "o" in every fragment. Properties with a
// Column are read from that typed column; the others from the JSON document
// o.data by their Name ("a/b" names a nested property). Every literal and
// every JSON path is bound as a parameter; column names come from a fixed
// list, never from the schema's text.
package sqlq

import (
	"strconv"
	"strings"
	"time"
)

// Dialect is the SQL flavour of one backend. Only this package implements it.
type Dialect interface {
	// TimeArg is the parameter value that compares correctly with the
	// dialect's timestamp columns.
	TimeArg(t time.Time) any

	// pathArg is the bound form of a JSON path.
	pathArg(segs []string) any
	// docText is the text of the JSON value at path p (a placeholder) of the
	// JSON document doc; NULL when absent or JSON null.
	docText(doc, p string) string
	// docIsBool is true when the value at p is the JSON boolean named by the
	// placeholder lit ("true" or "false").
	docIsBool(doc, p, lit string) string
	// docNumber is the numeric value at p; NULL unless it is a JSON number.
	docNumber(doc, p string) string
	// docTime is a comparable instant for the value at p; NULL unless it is a
	// date-time string. timeLit wraps a TimeArg placeholder to compare with it.
	docTime(doc, p string) string
	timeLit(ph string) string
	// docIsNull is true when the value at p is absent or JSON null.
	docIsNull(doc, p string) string
	// arrayLen is the length of the array at p, 0 when it is not an array.
	arrayLen(doc, p string) string
	// elements is a FROM item yielding the array elements at p as rows of
	// alias e, and a condition those rows must meet (complex: only objects).
	elements(doc, p string, complex bool) (from, guard string)
	// elemText is the current element of a string collection as text.
	elemText() string
	// elemDoc is the current element of a complex collection as a JSON
	// document for docText and friends.
	elemDoc() string
	// collate makes a computed string compare byte-wise, as both backends'
	// typed key columns do.
	collate(expr string) string
}

// SQLite is the dialect of modernc.org/sqlite: JSON held as TEXT, timestamps
// as fixed-width UTC text that sorts chronologically, and lower() replaced by
// a Unicode-aware function (see store/sqlite).
var SQLite Dialect = sqliteDialect{}

// Postgres is the dialect of PostgreSQL: JSON held as JSONB, timestamps as
// timestamptz, typed key columns collated "C".
var Postgres Dialect = postgresDialect{}

// sqliteTimeFormat is how SQLite columns store instants: UTC with a fixed
// number of fractional digits, so text order is time order.
const sqliteTimeFormat = "2006-01-02T15:04:05.000000Z"

type sqliteDialect struct{}

func (sqliteDialect) TimeArg(t time.Time) any { return t.UTC().Format(sqliteTimeFormat) }

func (sqliteDialect) pathArg(segs []string) any {
	var b strings.Builder
	b.WriteString("$")
	for _, s := range segs {
		b.WriteString(`."`)
		b.WriteString(s)
		b.WriteString(`"`)
	}
	return b.String()
}

func (sqliteDialect) docText(doc, p string) string { return "json_extract(" + doc + ", " + p + ")" }

func (sqliteDialect) docIsBool(doc, p, lit string) string {
	return "json_type(" + doc + ", " + p + ") = " + lit
}

func (sqliteDialect) docNumber(doc, p string) string {
	return "(CASE WHEN json_type(" + doc + ", " + p + ") IN ('integer', 'real') THEN json_extract(" + doc + ", " + p + ") END)"
}

func (sqliteDialect) docTime(doc, p string) string {
	return "julianday(CASE WHEN json_type(" + doc + ", " + p + ") = 'text' THEN json_extract(" + doc + ", " + p + ") END)"
}

func (sqliteDialect) timeLit(ph string) string { return "julianday(" + ph + ")" }

func (sqliteDialect) docIsNull(doc, p string) string {
	return "json_extract(" + doc + ", " + p + ") IS NULL"
}

func (sqliteDialect) arrayLen(doc, p string) string {
	return "COALESCE(json_array_length(" + doc + ", " + p + "), 0)"
}

func (sqliteDialect) elements(doc, p string, complex bool) (string, string) {
	// json_each over a scalar yields the scalar itself, hence the guard.
	guard := "json_type(" + doc + ", " + p + ") = 'array'"
	if complex {
		guard += " AND e.type = 'object'"
	}
	return "json_each(" + doc + ", " + p + ") AS e", guard
}

func (sqliteDialect) elemText() string        { return "e.value" }
func (sqliteDialect) elemDoc() string         { return "e.value" }
func (sqliteDialect) collate(e string) string { return e }

type postgresDialect struct{}

func (postgresDialect) TimeArg(t time.Time) any { return t.UTC() }

func (postgresDialect) pathArg(segs []string) any { return append([]string(nil), segs...) }

func pgPath(doc, op, p string) string { return "(" + doc + " " + op + " " + p + "::text[])" }

func (postgresDialect) docText(doc, p string) string { return pgPath(doc, "#>>", p) }

func (postgresDialect) docIsBool(doc, p, lit string) string {
	return pgPath(doc, "#>", p) + " = " + lit + "::jsonb"
}

func (postgresDialect) docNumber(doc, p string) string {
	return "(CASE WHEN jsonb_typeof" + pgPath(doc, "#>", p) + " = 'number' THEN " + pgPath(doc, "#>>", p) + "::numeric END)"
}

func (postgresDialect) docTime(doc, p string) string {
	// gatehouse_timestamptz (see the PostgreSQL migrations) yields NULL for
	// text that is not a date-time instead of failing the whole query.
	return "gatehouse_timestamptz" + pgPath(doc, "#>>", p)
}

func (postgresDialect) timeLit(ph string) string { return ph + "::timestamptz" }

func (postgresDialect) docIsNull(doc, p string) string { return pgPath(doc, "#>>", p) + " IS NULL" }

func (postgresDialect) arrayLen(doc, p string) string {
	v := pgPath(doc, "#>", p)
	return "(CASE WHEN jsonb_typeof" + v + " = 'array' THEN jsonb_array_length" + v + " ELSE 0 END)"
}

func (postgresDialect) elements(doc, p string, complex bool) (string, string) {
	// jsonb_array_elements fails on anything but an array.
	v := pgPath(doc, "#>", p)
	from := "jsonb_array_elements(CASE WHEN jsonb_typeof" + v + " = 'array' THEN " + v + " END) AS e(value)"
	guard := "TRUE"
	if complex {
		guard = "jsonb_typeof(e.value) = 'object'"
	}
	return from, guard
}

func (postgresDialect) elemText() string        { return "(e.value #>> '{}')" }
func (postgresDialect) elemDoc() string         { return "e.value" }
func (postgresDialect) collate(e string) string { return e + ` COLLATE "C"` }

// Args collects the parameters of one statement. Both dialects take
// PostgreSQL-style $n placeholders (modernc.org/sqlite binds $n by ordinal),
// so one statement text serves both.
type Args struct{ vals []any }

// Add binds v and returns its placeholder.
func (a *Args) Add(v any) string {
	a.vals = append(a.vals, v)
	return "$" + strconv.Itoa(len(a.vals))
}

// Values are the bound parameters in placeholder order.
func (a *Args) Values() []any { return a.vals }
