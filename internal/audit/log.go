package audit

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// Log reads a tenant's directory audit and sign-in logs.
type Log struct{ st store.Store }

// NewLog returns a reader of the logs in st.
func NewLog(st store.Store) *Log { return &Log{st: st} }

// Query selects one page of a log: a parsed $filter and $orderby (checked
// here against the log's schema), the page size and the cursor of a
// previous page.
type Query struct {
	Filter  odata.Expr
	OrderBy []odata.OrderBy
	Top     int
	Cursor  string
}

// Page is one page of a log's records, as their Graph documents.
type Page struct {
	Records []json.RawMessage
	Next    string
}

// schemas and the time property of each log, which orders it newest first
// unless $orderby says otherwise.
var schemas = map[string]struct {
	schema *odata.Schema
	time   string
}{
	store.LogDirectoryAudit: {DirectoryAuditSchema, "activityDateTime"},
	store.LogSignIn:         {SignInSchema, "createdDateTime"},
}

// List returns one page of a tenant's log (store.LogDirectoryAudit or
// store.LogSignIn). A filter or order the log does not support is an
// *odata.Error, never ignored.
func (l *Log) List(ctx context.Context, tenantID, log string, q Query) (Page, error) {
	s, ok := schemas[log]
	if !ok {
		return Page{}, errors.New("audit: unknown log " + log)
	}
	filter, err := odata.Bind(s.schema, q.Filter, false)
	if err != nil {
		return Page{}, err
	}
	order := []odata.OrderBy{{Property: s.time, Desc: true}}
	if len(q.OrderBy) > 0 {
		if order, err = odata.BindOrderBy(s.schema, q.OrderBy); err != nil {
			return Page{}, err
		}
	}
	var out Page
	err = l.st.View(ctx, func(tx store.Tx) error {
		p, err := tx.ListAudit(ctx, tenantID, log, store.Query{Schema: s.schema, Filter: filter, OrderBy: order, Top: q.Top, Cursor: q.Cursor})
		if errors.Is(err, store.ErrBadCursor) {
			return usererr.New(usererr.Invalid, "The $skiptoken is invalid or expired.")
		}
		if err != nil {
			return err
		}
		out.Next = p.Next
		for _, r := range p.Records {
			doc, err := present(log, r)
			if err != nil {
				return err
			}
			out.Records = append(out.Records, doc)
		}
		return nil
	})
	return out, err
}

// Get returns one record of a tenant's log.
func (l *Log) Get(ctx context.Context, tenantID, log, id string) (json.RawMessage, error) {
	var r store.AuditRecord
	err := l.st.View(ctx, func(tx store.Tx) (err error) {
		r, err = tx.GetAudit(ctx, tenantID, log, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, usererr.New(usererr.NotFound, "Resource '%s' does not exist.", id)
	}
	if err != nil {
		return nil, err
	}
	return present(log, r)
}
