package sqlq

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/odata"
)

// column describes a typed column of the objects table that a Property may
// name, and how it holds "no value", which `eq null` tests.
type column struct {
	typ odata.PropType
	// nullable columns hold NULL for no value, emptyUnset ones the empty
	// string; columns with neither always have a value.
	nullable, emptyUnset bool
}

// columns are the typed columns of the objects table and of the audit log
// table. UPN, appId and user id are NULL when unset so that unique indexes
// ignore them, and the audit log's category and activity so that its
// partial indexes leave them out; the other strings hold the empty string
// so that they sort without NULL handling.
var columns = map[string]column{
	"id":           {typ: odata.TypeString},
	"upn":          {typ: odata.TypeString, nullable: true},
	"mail":         {typ: odata.TypeString, emptyUnset: true},
	"app_id":       {typ: odata.TypeString, nullable: true},
	"display_name": {typ: odata.TypeString, emptyUnset: true},
	"created_at":   {typ: odata.TypeDateTime},
	// Audit log only.
	"category":   {typ: odata.TypeString, nullable: true},
	"activity":   {typ: odata.TypeString, nullable: true},
	"user_id":    {typ: odata.TypeString, nullable: true},
	"result":     {typ: odata.TypeString, emptyUnset: true},
	"error_code": {typ: odata.TypeInt},
}

func (c column) isNull(qualified string) string {
	switch {
	case c.nullable:
		return qualified + " IS NULL"
	case c.emptyUnset:
		return qualified + " = ''"
	}
	return "FALSE"
}

// columnOf validates the column a property names.
func columnOf(prop odata.Property, name string) (column, error) {
	c, ok := columns[prop.Column]
	if !ok {
		return column{}, fmt.Errorf("sqlq: %s names unknown column %q", name, prop.Column)
	}
	if compatible(c.typ) != compatible(prop.Type) {
		return column{}, fmt.Errorf("sqlq: %s has a type its column %s cannot hold", name, prop.Column)
	}
	return c, nil
}

// Filter returns a boolean SQL expression over the objects table (alias o)
// that holds exactly for the rows f matches under s, binding its values in
// args. A nil filter matches every row.
//
// Semantics: string comparisons are case-insensitive; `eq null` matches an
// absent or JSON-null value; ne, not and negated lambdas match rows where the
// property is absent; startsWith and endsWith match their argument literally.
func Filter(d Dialect, s *odata.Schema, f odata.Expr, args *Args) (string, error) {
	if f == nil {
		return "TRUE", nil
	}
	if s == nil {
		return "", errors.New("sqlq: a filter needs a schema")
	}
	t := translator{d: d, s: s, args: args}
	return t.expr(f, false, nil)
}

type translator struct {
	d    Dialect
	s    *odata.Schema
	args *Args
}

// lambda is the range variable of the any() being translated.
type lambda struct {
	prop odata.Property
}

// operand is where a compared value comes from: a typed column, a JSON path
// in a document, or the element of a string collection.
type operand struct {
	name string
	typ  odata.PropType
	// col is the column's name when the value lives in a typed column.
	col    string
	folded bool
	// doc and path locate a JSON value when col is "".
	doc  string
	path []string
	// elem is the current element of a string collection.
	elem bool
}

// expr translates e; neg asks for its negation. Negation is pushed down to
// the primitives, which negate as "IS NOT TRUE" so that rows where the
// primitive is NULL (an absent property) count as not matching it.
func (t *translator) expr(e odata.Expr, neg bool, lam *lambda) (string, error) {
	switch e := deref(e).(type) {
	case odata.Logical:
		op := strings.ToLower(e.Op)
		if op != "and" && op != "or" {
			return "", fmt.Errorf("sqlq: unknown logical operator %q", e.Op)
		}
		if neg {
			op = map[string]string{"and": "or", "or": "and"}[op]
		}
		l, err := t.expr(e.Left, neg, lam)
		if err != nil {
			return "", err
		}
		r, err := t.expr(e.Right, neg, lam)
		if err != nil {
			return "", err
		}
		return "(" + l + " " + strings.ToUpper(op) + " " + r + ")", nil
	case odata.Not:
		return t.expr(e.X, !neg, lam)
	case odata.Compare:
		if strings.EqualFold(e.Op, "ne") {
			e.Op = "eq"
			return t.expr(e, !neg, lam)
		}
	}
	p, err := t.primitive(e, lam)
	if err != nil {
		return "", err
	}
	if neg {
		return "(" + p + ") IS NOT TRUE", nil
	}
	return "(" + p + ")", nil
}

// deref accepts AST nodes by value or by pointer.
func deref(e odata.Expr) odata.Expr {
	switch e := e.(type) {
	case *odata.Logical:
		return *e
	case *odata.Not:
		return *e
	case *odata.Compare:
		return *e
	case *odata.In:
		return *e
	case *odata.Func:
		return *e
	case *odata.Any:
		return *e
	case *odata.CountCompare:
		return *e
	}
	return e
}

// compareOps has no "ne": expr rewrites it as a negated eq so that absent
// values match it.
var compareOps = map[string]string{"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}

// countOps compare array lengths, which are never NULL.
var countOps = map[string]string{"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}

func (t *translator) primitive(e odata.Expr, lam *lambda) (string, error) {
	switch e := deref(e).(type) {
	case odata.Compare:
		o, err := t.operand(e.Property, lam)
		if err != nil {
			return "", err
		}
		return t.compare(o, strings.ToLower(e.Op), e.Value)
	case odata.In:
		return t.in(e, lam)
	case odata.Func:
		return t.fn(e, lam)
	case odata.Any:
		return t.any(e, lam)
	case odata.CountCompare:
		prop, err := t.collection(e.Collection, lam)
		if err != nil {
			return "", err
		}
		op, ok := countOps[strings.ToLower(e.Op)]
		if !ok {
			return "", fmt.Errorf("sqlq: unknown operator %q", e.Op)
		}
		p := t.args.Add(t.d.pathArg(jsonPath(prop.Name)))
		return t.d.arrayLen("o.data", p) + " " + op + " " + t.args.Add(e.Value), nil
	case nil:
		return "", errors.New("sqlq: empty expression")
	default:
		return "", fmt.Errorf("sqlq: unsupported expression %T", e)
	}
}

func (t *translator) compare(o operand, op string, lit odata.Literal) (string, error) {
	sqlOp, ok := compareOps[op]
	if !ok {
		return "", fmt.Errorf("sqlq: unknown operator %q", op)
	}
	if lit.Kind == odata.LitNull {
		if op != "eq" {
			return "", fmt.Errorf("sqlq: %s cannot be compared with null using %s", o.name, op)
		}
		return t.isNull(o), nil
	}
	switch o.typ {
	case odata.TypeString, odata.TypeGUID:
		v, err := stringLit(o, lit)
		if err != nil {
			return "", err
		}
		return t.stringExpr(o) + " " + sqlOp + " " + t.args.Add(strings.ToLower(v)), nil
	case odata.TypeBool:
		if lit.Kind != odata.LitBool {
			return "", litError(o, lit)
		}
		if op != "eq" {
			return "", fmt.Errorf("sqlq: %s supports only eq and ne", o.name)
		}
		if o.col != "" || o.elem {
			return "", fmt.Errorf("sqlq: boolean %s must live in the document", o.name)
		}
		return t.d.docIsBool(o.doc, t.path(o), t.args.Add(fmt.Sprint(lit.Bool))), nil
	case odata.TypeInt:
		if lit.Kind != odata.LitNumber {
			return "", litError(o, lit)
		}
		if o.elem {
			return "", fmt.Errorf("sqlq: %s is not a number collection", o.name)
		}
		if o.col != "" {
			return "o." + o.col + " " + sqlOp + " " + t.args.Add(number(lit.Number)), nil
		}
		return t.d.docNumber(o.doc, t.path(o)) + " " + sqlOp + " " + t.args.Add(number(lit.Number)), nil
	case odata.TypeDateTime:
		if lit.Kind != odata.LitDateTime {
			return "", litError(o, lit)
		}
		at, err := time.Parse(time.RFC3339Nano, lit.Text)
		if err != nil {
			return "", fmt.Errorf("sqlq: %s: bad date-time %q", o.name, lit.Text)
		}
		ph := t.args.Add(t.d.TimeArg(at))
		if o.col != "" {
			return "o." + o.col + " " + sqlOp + " " + ph, nil
		}
		if o.elem {
			return "", fmt.Errorf("sqlq: %s is not a date-time collection", o.name)
		}
		return t.d.docTime(o.doc, t.path(o)) + " " + sqlOp + " " + t.d.timeLit(ph), nil
	default:
		return "", fmt.Errorf("sqlq: %s is a collection: use any() or /$count", o.name)
	}
}

func (t *translator) in(e odata.In, lam *lambda) (string, error) {
	o, err := t.operand(e.Property, lam)
	if err != nil {
		return "", err
	}
	if len(e.Values) == 0 {
		return "FALSE", nil
	}
	var parts, list []string
	for _, lit := range e.Values {
		if lit.Kind == odata.LitNull {
			parts = append(parts, t.isNull(o))
			continue
		}
		if o.typ != odata.TypeString && o.typ != odata.TypeGUID {
			p, err := t.compare(o, "eq", lit)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
			continue
		}
		v, err := stringLit(o, lit)
		if err != nil {
			return "", err
		}
		list = append(list, t.args.Add(strings.ToLower(v)))
	}
	if len(list) > 0 {
		parts = append(parts, t.stringExpr(o)+" IN ("+strings.Join(list, ", ")+")")
	}
	return strings.Join(parts, " OR "), nil
}

func (t *translator) fn(e odata.Func, lam *lambda) (string, error) {
	o, err := t.operand(e.Property, lam)
	if err != nil {
		return "", err
	}
	if o.typ != odata.TypeString && o.typ != odata.TypeGUID {
		return "", fmt.Errorf("sqlq: %s on %s, which is not a string", e.Name, o.name)
	}
	if e.Arg.Kind != odata.LitString {
		return "", fmt.Errorf("sqlq: %s needs a string argument", e.Name)
	}
	arg := strings.ToLower(e.Arg.Text)
	switch {
	case strings.EqualFold(e.Name, "startsWith"):
		// A range, unlike LIKE with a bound pattern, lets both backends
		// seek an index; the strings with a prefix are exactly those from
		// it up to its successor, byte-wise.
		if end, ok := prefixEnd(arg); ok {
			x := t.stringExpr(o)
			return x + " >= " + t.args.Add(arg) + " AND " + x + " < " + t.args.Add(end), nil
		}
		return t.stringExpr(o) + " LIKE " + t.args.Add(escapeLike(arg)+"%") + ` ESCAPE '\'`, nil
	case strings.EqualFold(e.Name, "endsWith"):
		return t.stringExpr(o) + " LIKE " + t.args.Add("%"+escapeLike(arg)) + ` ESCAPE '\'`, nil
	}
	return "", fmt.Errorf("sqlq: unknown function %q", e.Name)
}

// prefixEnd returns the least string above, byte-wise, every string that
// starts with p: p with its last code point incremented (UTF-8's byte order
// is code point order). There is none for "" or a p of only the highest
// code point, nor for p that is not UTF-8.
func prefixEnd(p string) (string, bool) {
	if !utf8.ValidString(p) {
		return "", false
	}
	r := []rune(p)
	for len(r) > 0 {
		last := r[len(r)-1]
		r = r[:len(r)-1]
		switch last {
		case utf8.MaxRune:
			continue
		case 0xD7FF: // the next code points are surrogates, which UTF-8 cannot hold
			last = 0xE000
		default:
			last++
		}
		return string(append(r, last)), true
	}
	return "", false
}

func (t *translator) any(e odata.Any, lam *lambda) (string, error) {
	if lam != nil {
		return "", errors.New("sqlq: nested lambdas are not supported")
	}
	prop, err := t.collection(e.Collection, lam)
	if err != nil {
		return "", err
	}
	p := t.args.Add(t.d.pathArg(jsonPath(prop.Name)))
	from, guard := t.d.elements("o.data", p, prop.Type == odata.TypeComplexCollection)
	where := guard
	if e.Body != nil {
		body, err := t.expr(e.Body, false, &lambda{prop: prop})
		if err != nil {
			return "", err
		}
		where += " AND " + body
	}
	return "EXISTS (SELECT 1 FROM " + from + " WHERE " + where + ")", nil
}

// collection resolves the property a lambda or /$count ranges over.
func (t *translator) collection(name string, lam *lambda) (odata.Property, error) {
	if lam != nil {
		return odata.Property{}, errors.New("sqlq: collections inside a lambda are not supported")
	}
	prop, ok := lookup(t.s.Properties, name)
	if !ok {
		return odata.Property{}, unknown(t.s, name)
	}
	if prop.Type != odata.TypeStringCollection && prop.Type != odata.TypeComplexCollection {
		return odata.Property{}, fmt.Errorf("sqlq: %s is not a collection", name)
	}
	if prop.Column != "" {
		return odata.Property{}, fmt.Errorf("sqlq: collection %s must live in the document", name)
	}
	if err := checkJSONName(prop.Name); err != nil {
		return odata.Property{}, err
	}
	return prop, nil
}

// operand resolves a property path, inside the lambda lam if any.
func (t *translator) operand(p odata.Path, lam *lambda) (operand, error) {
	name := strings.Join(p.Segments, "/")
	if !p.Var {
		prop, ok := lookup(t.s.Properties, name)
		if !ok {
			return operand{}, unknown(t.s, name)
		}
		return t.propOperand(prop, name, "o.data")
	}
	if lam == nil {
		return operand{}, errors.New("sqlq: range variable outside a lambda")
	}
	if lam.prop.Type == odata.TypeStringCollection {
		if len(p.Segments) > 0 {
			return operand{}, fmt.Errorf("sqlq: elements of %s have no properties", lam.prop.Name)
		}
		return operand{name: lam.prop.Name, typ: odata.TypeString, elem: true}, nil
	}
	if len(p.Segments) == 0 {
		return operand{}, fmt.Errorf("sqlq: elements of %s can only be compared by property", lam.prop.Name)
	}
	field, ok := lookup(lam.prop.Fields, name)
	if !ok {
		return operand{}, fmt.Errorf("sqlq: %s has no property %q", lam.prop.Name, name)
	}
	if field.Column != "" {
		return operand{}, fmt.Errorf("sqlq: %s/%s cannot name a column", lam.prop.Name, name)
	}
	return t.propOperand(field, lam.prop.Name+"/"+name, t.d.elemDoc())
}

func (t *translator) propOperand(prop odata.Property, name, doc string) (operand, error) {
	o := operand{name: name, typ: prop.Type, folded: prop.Folded}
	if prop.Column == "" {
		if err := checkJSONName(prop.Name); err != nil {
			return operand{}, err
		}
		o.doc, o.path = doc, jsonPath(prop.Name)
		return o, nil
	}
	if _, err := columnOf(prop, name); err != nil {
		return operand{}, err
	}
	o.col = prop.Column
	return o, nil
}

// compatible groups the property types that share a storage representation.
func compatible(t odata.PropType) odata.PropType {
	if t == odata.TypeGUID {
		return odata.TypeString
	}
	return t
}

func (t *translator) path(o operand) string { return t.args.Add(t.d.pathArg(o.path)) }

func (t *translator) isNull(o operand) string {
	switch {
	case o.col != "":
		return columns[o.col].isNull("o." + o.col)
	case o.elem:
		return t.d.elemText() + " IS NULL"
	default:
		return t.d.docIsNull(o.doc, t.path(o))
	}
}

// stringExpr is the operand as case-folded text. Folded columns already hold
// lower-case values and are compared as stored so that their indexes apply.
func (t *translator) stringExpr(o operand) string {
	switch {
	case o.col != "" && o.folded:
		return "o." + o.col
	case o.col != "":
		return t.d.collate("lower(o." + o.col + ")")
	case o.elem:
		return t.d.collate("lower(" + t.d.elemText() + ")")
	default:
		return t.d.collate("lower(" + t.d.docText(o.doc, t.path(o)) + ")")
	}
}

func stringLit(o operand, lit odata.Literal) (string, error) {
	if lit.Kind != odata.LitString && lit.Kind != odata.LitGUID {
		return "", litError(o, lit)
	}
	return lit.Text, nil
}

func litError(o operand, lit odata.Literal) error {
	kinds := map[odata.LiteralKind]string{
		odata.LitString: "a string", odata.LitNumber: "a number", odata.LitBool: "a boolean",
		odata.LitGUID: "a GUID", odata.LitDateTime: "a date-time",
	}
	return fmt.Errorf("sqlq: %s cannot be compared with %s", o.name, kinds[lit.Kind])
}

// number binds integral values as integers so that both backends compare
// them exactly.
func number(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return f
}

// escapeLike makes s match itself literally in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// lookup finds a property by name, case-insensitively as Graph does.
func lookup(props map[string]odata.Property, name string) (odata.Property, bool) {
	if p, ok := props[name]; ok {
		return p, true
	}
	for k, p := range props {
		if strings.EqualFold(k, name) {
			return p, true
		}
	}
	return odata.Property{}, false
}

func unknown(s *odata.Schema, name string) error {
	return fmt.Errorf("sqlq: %s has no filterable property %q", s.Resource, name)
}

func jsonPath(name string) []string { return strings.Split(name, "/") }

// checkJSONName rejects document property names that a JSON path cannot
// spell: SQLite's quoted path labels end at the first double quote.
func checkJSONName(name string) error {
	for _, seg := range jsonPath(name) {
		if seg == "" || strings.ContainsFunc(seg, func(r rune) bool { return r == '"' || unicode.IsControl(r) }) {
			return fmt.Errorf("sqlq: property name %q cannot be stored in a document", name)
		}
	}
	return nil
}
