package sqlq

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Order is a validated $orderby for keyset paging: its sort keys, then the
// object id, which makes the order total.
type Order struct {
	d    Dialect
	keys []sortKey
	// sig names the order; cursors carry it so that one made for another
	// order is refused.
	sig string
}

type sortKey struct {
	expr string
	desc bool
	time bool
}

// NewOrder validates items against s. Only Sortable properties with a
// Column may be ordered by. Strings order case-insensitively, byte-wise on
// both backends; missing values order as "".
func NewOrder(d Dialect, s *odata.Schema, items []odata.OrderBy) (Order, error) {
	o := Order{d: d}
	sig := make([]string, 0, len(items)+1)
	for _, it := range items {
		if s == nil {
			return Order{}, fmt.Errorf("sqlq: ordering by %s needs a schema", it.Property)
		}
		prop, ok := lookup(s.Properties, it.Property)
		if !ok {
			return Order{}, unknown(s, it.Property)
		}
		if !prop.Sortable || prop.Column == "" {
			return Order{}, fmt.Errorf("sqlq: %s cannot be sorted by %s", s.Resource, it.Property)
		}
		c, err := columnOf(prop, it.Property)
		if err != nil {
			return Order{}, err
		}
		expr := "o." + prop.Column
		if c.typ == odata.TypeString && !prop.Folded {
			expr = "lower(" + expr + ")"
		}
		if c.nullable {
			expr = "COALESCE(" + expr + ", '')"
		}
		if c.typ == odata.TypeString && expr != "o."+prop.Column {
			expr = d.collate(expr)
		}
		o.keys = append(o.keys, sortKey{expr: expr, desc: it.Desc, time: c.typ == odata.TypeDateTime})
		sig = append(sig, expr+" "+dir(it.Desc))
	}
	o.sig = strings.Join(append(sig, "o.id "+dir(o.idDesc())), ",")
	return o, nil
}

// idDesc orders the tie-breaker like the last key, so that an order whose
// keys all run one way is one row-value comparison an index can serve.
func (o Order) idDesc() bool { return len(o.keys) > 0 && o.keys[len(o.keys)-1].desc }

func dir(desc bool) string {
	if desc {
		return "DESC"
	}
	return "ASC"
}

// Select lists the sort key expressions; a query selects them after its
// other columns so that Cursor gets the values the database compared.
func (o Order) Select() []string {
	out := make([]string, len(o.keys))
	for i, k := range o.keys {
		out[i] = k.expr
	}
	return out
}

// OrderBy is the ORDER BY list.
func (o Order) OrderBy() string {
	parts := make([]string, 0, len(o.keys)+1)
	for _, k := range o.keys {
		parts = append(parts, k.expr+" "+dir(k.desc))
	}
	return strings.Join(append(parts, "o.id "+dir(o.idDesc())), ", ")
}

type cursor struct {
	Order string   `json:"o"`
	Keys  []string `json:"k,omitempty"`
	ID    string   `json:"i"`
}

// Cursor encodes the position after a row with the given sort key values
// (as selected by Select) and id.
func (o Order) Cursor(keys []any, id string) (string, error) {
	if len(keys) != len(o.keys) {
		return "", fmt.Errorf("sqlq: %d sort values for %d keys", len(keys), len(o.keys))
	}
	c := cursor{Order: o.sig, ID: id}
	for _, v := range keys {
		switch v := v.(type) {
		case string:
			c.Keys = append(c.Keys, v)
		case []byte:
			c.Keys = append(c.Keys, string(v))
		case time.Time:
			c.Keys = append(c.Keys, v.UTC().Format(time.RFC3339Nano))
		default:
			return "", fmt.Errorf("sqlq: unexpected sort value %T", v)
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// After returns a condition selecting the rows after the cursor ("" for the
// first page), binding its values in args. A cursor that does not decode or
// was made for another order is store.ErrBadCursor.
func (o Order) After(cur string, args *Args) (string, error) {
	if cur == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil {
		return "", fmt.Errorf("%w: not base64url", store.ErrBadCursor)
	}
	var c cursor
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", fmt.Errorf("%w: malformed", store.ErrBadCursor)
	}
	if c.Order != o.sig || len(c.Keys) != len(o.keys) || c.ID == "" {
		return "", fmt.Errorf("%w: made for another query", store.ErrBadCursor)
	}
	exprs := append(o.Select(), "o.id")
	desc := make([]bool, 0, len(exprs))
	vals := make([]string, 0, len(exprs))
	for i, k := range o.keys {
		var v any = c.Keys[i]
		if k.time {
			at, err := time.Parse(time.RFC3339Nano, c.Keys[i])
			if err != nil {
				return "", fmt.Errorf("%w: bad time", store.ErrBadCursor)
			}
			v = o.d.TimeArg(at)
		}
		desc = append(desc, k.desc)
		vals = append(vals, args.Add(v))
	}
	desc = append(desc, o.idDesc())
	vals = append(vals, args.Add(c.ID))
	return keyset(exprs, vals, desc), nil
}

// keyset is "the row sorts after vals" for the lexicographic order of exprs.
func keyset(exprs, vals []string, desc []bool) string {
	after := map[bool]string{false: " > ", true: " < "}
	if len(exprs) == 1 {
		return exprs[0] + after[desc[0]] + vals[0]
	}
	// The bound on the first key is implied by the rest, but unlike a row
	// comparison over expressions SQLite can seek an index with it.
	from := exprs[0] + map[bool]string{false: " >= ", true: " <= "}[desc[0]] + vals[0] + " AND "
	uniform := true
	for _, d := range desc {
		uniform = uniform && d == desc[0]
	}
	if uniform {
		return "(" + from + "(" + strings.Join(exprs, ", ") + ")" + after[desc[0]] + "(" + strings.Join(vals, ", ") + "))"
	}
	// Mixed directions: (k1 after v1) OR (k1 = v1 AND k2 after v2) OR …
	var ors []string
	for i := range exprs {
		var ands []string
		for j := range i {
			ands = append(ands, exprs[j]+" = "+vals[j])
		}
		ands = append(ands, exprs[i]+after[desc[i]]+vals[i])
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return "(" + from + "(" + strings.Join(ors, " OR ") + "))"
}
