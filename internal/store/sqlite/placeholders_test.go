package sqlite

import (
	"slices"
	"testing"
)

func TestAnonymousPlaceholders(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		order   []int
		ok      bool
	}{
		{"SELECT 1", "SELECT 1", nil, false},
		{"SELECT a FROM t WHERE a = $1 AND b = $2", "SELECT a FROM t WHERE a = ? AND b = ?", []int{1, 2}, true},
		{"WHERE l.tenant_id = $1 AND o.id = $3 AND o.kind = $2 AND x.tenant_id = $1", "WHERE l.tenant_id = ? AND o.id = ? AND o.kind = ? AND x.tenant_id = ?", []int{1, 3, 2, 1}, true},
		{"VALUES ($10, $11)", "VALUES (?, ?)", []int{10, 11}, true},
		{`SELECT json_extract(data, '$.a'), '$1 it''s', "$2" FROM t WHERE n = $1`, `SELECT json_extract(data, '$.a'), '$1 it''s', "$2" FROM t WHERE n = ?`, []int{1}, true},
		{"SELECT $1 -- $2\n, $3 /* $4 */", "SELECT ? -- $2\n, ? /* $4 */", []int{1, 3}, true},
		{"SELECT ? , $1", "SELECT ? , $1", nil, false},
		{"SELECT '$1'", "SELECT '$1'", nil, false},
		{"SELECT $0", "SELECT $0", nil, false},
		{"SELECT 'unclosed $1", "SELECT 'unclosed $1", nil, false},
	} {
		out, order, ok := anonymous(tc.in)
		if out != tc.out || !slices.Equal(order, tc.order) || ok != tc.ok {
			t.Errorf("anonymous(%q) = %q, %v, %v; want %q, %v, %v", tc.in, out, order, ok, tc.out, tc.order, tc.ok)
		}
	}
}
