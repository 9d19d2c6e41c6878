package odata

import (
	"fmt"
	"strconv"
	"strings"
)

// Format renders e in canonical $filter syntax: lower-case keywords, single
// spaces, and only the parentheses the tree needs. For every expression
// ParseFilter returns, parsing Format's output yields an equal expression
// (unless the canonical text outgrows MaxQueryLength, which takes date-times
// written without seconds near the limit). A nil filter renders as "";
// nodes ParseFilter never produces render as "<T>", which does not parse.
func Format(e Expr) string {
	var w strings.Builder
	writeExpr(&w, e, "")
	return w.String()
}

// writeExpr renders e; rangeVar names the enclosing lambda's variable.
func writeExpr(w *strings.Builder, e Expr, rangeVar string) {
	switch e := e.(type) {
	case Logical:
		writeOperand(w, e.Left, e.Op, false, rangeVar)
		w.WriteString(" " + e.Op + " ")
		writeOperand(w, e.Right, e.Op, true, rangeVar)
	case Not:
		w.WriteString("not ")
		_, group := e.X.(Logical)
		writeGrouped(w, e.X, group, rangeVar)
	case Compare:
		writePath(w, e.Property, rangeVar)
		w.WriteString(" " + e.Op + " ")
		writeLiteral(w, e.Value)
	case In:
		writePath(w, e.Property, rangeVar)
		w.WriteString(" in (")
		for i, v := range e.Values {
			if i > 0 {
				w.WriteByte(',')
			}
			writeLiteral(w, v)
		}
		w.WriteByte(')')
	case Func:
		w.WriteString(e.Name + "(")
		writePath(w, e.Property, rangeVar)
		w.WriteByte(',')
		writeLiteral(w, e.Arg)
		w.WriteByte(')')
	case Any:
		w.WriteString(e.Collection + "/any(" + e.Var + ":")
		writeExpr(w, e.Body, e.Var)
		w.WriteByte(')')
	case CountCompare:
		w.WriteString(e.Collection + "/$count " + e.Op + " " + strconv.FormatInt(e.Value, 10))
	case nil:
	default:
		fmt.Fprintf(w, "<%T>", e)
	}
}

// writeOperand renders an operand of a logical operator, parenthesised
// where the parser's precedence (and over or) and left associativity would
// otherwise regroup it.
func writeOperand(w *strings.Builder, x Expr, parentOp string, right bool, rangeVar string) {
	l, ok := x.(Logical)
	group := ok && (right && l.Op == parentOp || parentOp == "and" && l.Op == "or")
	writeGrouped(w, x, group, rangeVar)
}

func writeGrouped(w *strings.Builder, x Expr, group bool, rangeVar string) {
	if group {
		w.WriteByte('(')
	}
	writeExpr(w, x, rangeVar)
	if group {
		w.WriteByte(')')
	}
}

func writePath(w *strings.Builder, p Path, rangeVar string) {
	segs := p.Segments
	if p.Var {
		segs = append([]string{rangeVar}, segs...)
	}
	w.WriteString(strings.Join(segs, "/"))
}

func writeLiteral(w *strings.Builder, v Literal) {
	switch v.Kind {
	case LitString:
		w.WriteString("'" + strings.ReplaceAll(v.Text, "'", "''") + "'")
	case LitNumber:
		w.WriteString(strconv.FormatFloat(v.Number, 'f', -1, 64))
	case LitBool:
		w.WriteString(strconv.FormatBool(v.Bool))
	case LitNull:
		w.WriteString("null")
	case LitGUID, LitDateTime:
		w.WriteString(v.Text)
	default:
		fmt.Fprintf(w, "<literal kind %d>", v.Kind)
	}
}
