package odata

import (
	"cmp"
	"encoding/json"
	"strings"
	"time"
)

// Match reports whether the JSON document doc satisfies the bound filter e
// (see Bind), for resource sets small enough to be filtered in memory rather
// than by the store. doc holds what encoding/json decodes (json.Number or
// float64 for numbers) or the same shapes built in Go: strings, bools,
// ints, []any and map[string]any. A nil filter matches every document.
//
// The semantics are the SQL backends' (internal/store/sqlq), so a filter
// means the same wherever it runs: strings and GUIDs compare
// case-insensitively; `eq null` matches an absent or null value; a
// comparison with an absent value, or one of another type, is false, so ne
// and not match it; startsWith and endsWith match their argument literally.
func Match(e Expr, doc map[string]any) bool {
	return e == nil || match(e, doc, nil)
}

// match evaluates e; inside a lambda elem is the current element.
func match(e Expr, doc map[string]any, elem any) bool {
	switch e := e.(type) {
	case Logical:
		if e.Op == "or" {
			return match(e.Left, doc, elem) || match(e.Right, doc, elem)
		}
		return e.Op == "and" && match(e.Left, doc, elem) && match(e.Right, doc, elem)
	case Not:
		return !match(e.X, doc, elem)
	case Compare:
		return compareValue(valueAt(e.Property, doc, elem), e.Op, e.Value)
	case In:
		v := valueAt(e.Property, doc, elem)
		for _, lit := range e.Values {
			if compareValue(v, "eq", lit) {
				return true
			}
		}
		return false
	case Func:
		s, ok := valueAt(e.Property, doc, elem).(string)
		if !ok || e.Arg.Kind != LitString {
			return false
		}
		s, arg := strings.ToLower(s), strings.ToLower(e.Arg.Text)
		switch {
		case strings.EqualFold(e.Name, "startsWith"):
			return strings.HasPrefix(s, arg)
		case strings.EqualFold(e.Name, "endsWith"):
			return strings.HasSuffix(s, arg)
		}
		return false
	case Any:
		list, _ := doc[e.Collection].([]any)
		for _, el := range list {
			if e.Body == nil || match(e.Body, doc, el) {
				return true
			}
		}
		return false
	case CountCompare:
		list, _ := doc[e.Collection].([]any)
		return holds(cmp.Compare(int64(len(list)), e.Value), e.Op)
	}
	return false
}

// valueAt reads the value a path names: a (nested) property of doc, or the
// lambda's element or a field of it. Absent values are nil.
func valueAt(p Path, doc map[string]any, elem any) any {
	var v any = doc
	if p.Var {
		v = elem
	}
	for _, seg := range p.Segments {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[seg]
	}
	return v
}

// compareValue applies op to a document value and a literal. ne is the
// negation of eq, so that absent values match it as they do in SQL.
func compareValue(v any, op string, lit Literal) bool {
	if op == "ne" {
		return !compareValue(v, "eq", lit)
	}
	if lit.Kind == LitNull {
		return op == "eq" && v == nil
	}
	switch lit.Kind {
	case LitString, LitGUID:
		s, ok := v.(string)
		return ok && holds(strings.Compare(strings.ToLower(s), strings.ToLower(lit.Text)), op)
	case LitBool:
		b, ok := v.(bool)
		return ok && op == "eq" && b == lit.Bool
	case LitNumber:
		n, ok := number(v)
		return ok && holds(cmp.Compare(n, lit.Number), op)
	case LitDateTime:
		s, ok := v.(string)
		if !ok {
			return false
		}
		at, err1 := time.Parse(time.RFC3339Nano, s)
		want, err2 := time.Parse(time.RFC3339Nano, lit.Text)
		return err1 == nil && err2 == nil && holds(at.Compare(want), op)
	}
	return false
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

// holds tells whether an ordering c (-1, 0, 1) satisfies op.
func holds(c int, op string) bool {
	switch op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}
