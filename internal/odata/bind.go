package odata

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Bind checks a parsed filter against schema and returns a copy in which every
// property name is the schema's key for it (names match case-insensitively; a
// nested path such as passwordProfile/forceChangePasswordNextSignIn is looked
// up by its '/'-joined name) and every quoted GUID compared with a TypeGUID
// property has become a LitGUID. advanced tells whether the request carries
// Graph's advanced query parameters (ConsistencyLevel: eventual and
// $count=true), which operators in Property.AdvancedOps need.
//
// A not counts as operator "not" on every property beneath it, up to the
// nearest lambda. Inside a lambda, a complex element's fields are checked
// against their own Ops, and a string element against eq, in, startsWith,
// ne and not (the last two advanced) plus its collection's lists; a field
// with Requires needs those fields pinned too. Errors are *Error:
// CodeUnsupportedQuery for properties and operators the schema does not
// allow, CodeBadRequest for literals of the wrong type. A nil filter binds
// to nil.
func Bind(schema *Schema, e Expr, advanced bool) (Expr, error) {
	if e == nil {
		return nil, nil
	}
	if schema == nil {
		return nil, errNoSchema
	}
	b := binder{schema: schema, advanced: advanced}
	return b.expr(e, nil, false)
}

// BindOrderBy checks that every item names a Sortable property of schema and
// returns a copy with the schema's names.
func BindOrderBy(schema *Schema, items []OrderBy) ([]OrderBy, error) {
	if schema == nil {
		return nil, errNoSchema
	}
	out := make([]OrderBy, len(items))
	for i, it := range items {
		name, p, ok := lookup(schema.Properties, it.Property)
		if !ok || !p.Sortable {
			return nil, unsupportedSort(it.Property, schema.Resource)
		}
		out[i] = OrderBy{Property: name, Desc: it.Desc}
	}
	return out, nil
}

// errNoSchema is a programming error, not a client's, so it is no *Error.
var errNoSchema = errors.New("odata: binding needs a schema")

type binder struct {
	schema   *Schema
	advanced bool
}

// element is what a lambda's range variable stands for.
type element struct {
	name string // the collection's schema key
	coll Property
}

// expr binds e; elem is non-nil inside a lambda, negated under a not.
func (b *binder) expr(e Expr, elem *element, negated bool) (Expr, error) {
	switch e := e.(type) {
	case Logical:
		if e.Op != "and" && e.Op != "or" {
			return nil, badRequest("Invalid filter clause: unknown logical operator '%s'.", e.Op)
		}
		left, err := b.expr(e.Left, elem, negated)
		if err != nil {
			return nil, err
		}
		right, err := b.expr(e.Right, elem, negated)
		if err != nil {
			return nil, err
		}
		return Logical{Op: e.Op, Left: left, Right: right}, nil
	case Not:
		x, err := b.expr(e.X, elem, true)
		if err != nil {
			return nil, err
		}
		return Not{X: x}, nil
	case Compare:
		return b.compare(e, elem, negated)
	case In:
		return b.in(e, elem, negated)
	case Func:
		return b.function(e, elem, negated)
	case Any:
		return b.lambda(e, elem, negated)
	case CountCompare:
		return b.count(e, elem, negated)
	}
	return nil, badRequest("Invalid filter clause: unsupported expression %T.", e)
}

func (b *binder) compare(e Compare, elem *element, negated bool) (Expr, error) {
	name, prop, path, err := b.resolve(e.Property, elem)
	if err != nil {
		return nil, err
	}
	if !compareOps[e.Op] {
		return nil, unsupportedProperty(name, b.schema.Resource)
	}
	if err := b.allow(name, prop, negated, e.Op); err != nil {
		return nil, err
	}
	v, err := fit(prop, e.Op, e.Value)
	if err != nil {
		return nil, err
	}
	return Compare{Op: e.Op, Property: path, Value: v}, nil
}

func (b *binder) in(e In, elem *element, negated bool) (Expr, error) {
	name, prop, path, err := b.resolve(e.Property, elem)
	if err != nil {
		return nil, err
	}
	if err := b.allow(name, prop, negated, "in"); err != nil {
		return nil, err
	}
	if len(e.Values) == 0 {
		return nil, badRequest("Invalid filter clause: the in operator needs at least one value.")
	}
	values := make([]Literal, len(e.Values))
	for i, v := range e.Values {
		if values[i], err = fit(prop, "in", v); err != nil {
			return nil, err
		}
	}
	return In{Property: path, Values: values}, nil
}

func (b *binder) function(e Func, elem *element, negated bool) (Expr, error) {
	name, prop, path, err := b.resolve(e.Property, elem)
	if err != nil {
		return nil, err
	}
	if err := b.allow(name, prop, negated, e.Name); err != nil {
		return nil, err
	}
	if prop.Type != TypeString || e.Arg.Kind != LitString {
		return nil, badRequest("Invalid filter clause: No function signature for the function with name '%s' matches the specified arguments. "+
			"The function signatures considered are: %s(Edm.String Nullable=true, Edm.String Nullable=true).", e.Name, e.Name)
	}
	return Func{Name: e.Name, Property: path, Arg: e.Arg}, nil
}

func (b *binder) lambda(e Any, elem *element, negated bool) (Expr, error) {
	name, coll, err := b.collection(e.Collection, elem)
	if err != nil {
		return nil, err
	}
	if err := b.allow(name, coll, negated, "any"); err != nil {
		return nil, err
	}
	// The body's operators are checked against the element, not the not
	// outside the lambda: not(x/any(...)) negates the lambda as a whole.
	body, err := b.expr(e.Body, &element{name: name, coll: coll}, false)
	if err != nil {
		return nil, err
	}
	if err := b.checkRequires(coll, body); err != nil {
		return nil, err
	}
	return Any{Collection: name, Var: e.Var, Body: body}, nil
}

func (b *binder) count(e CountCompare, elem *element, negated bool) (Expr, error) {
	name, coll, err := b.collection(e.Collection, elem)
	if err != nil {
		return nil, err
	}
	if !compareOps[e.Op] || e.Value < 0 {
		return nil, unsupportedProperty(name, b.schema.Resource)
	}
	if err := b.allow(name, coll, negated, "count"); err != nil {
		return nil, err
	}
	return CountCompare{Collection: name, Op: e.Op, Value: e.Value}, nil
}

// collection resolves the top-level collection property a lambda or $count
// applies to.
func (b *binder) collection(written string, elem *element) (string, Property, error) {
	name, prop, ok := lookup(b.schema.Properties, written)
	if !ok || elem != nil || scalar(prop.Type) {
		return "", Property{}, unsupportedProperty(orWritten(name, written), b.schema.Resource)
	}
	return name, prop, nil
}

// resolve finds the scalar property a path names: a top-level (possibly
// nested) property outside lambdas, the element or one of its fields inside.
// It returns the name for messages, the property, and the canonical path.
func (b *binder) resolve(path Path, elem *element) (string, Property, Path, error) {
	written := strings.Join(path.Segments, "/")
	if elem == nil {
		name, prop, ok := lookup(b.schema.Properties, written)
		if !ok || path.Var || !scalar(prop.Type) {
			return "", Property{}, Path{}, unsupportedProperty(orWritten(name, written), b.schema.Resource)
		}
		return name, prop, Path{Segments: strings.Split(name, "/")}, nil
	}
	if !path.Var {
		return "", Property{}, Path{}, unsupportedProperty(written, b.schema.Resource)
	}
	if elem.coll.Type == TypeStringCollection {
		if len(path.Segments) != 0 {
			return "", Property{}, Path{}, unsupportedProperty(elem.name+"/"+written, b.schema.Resource)
		}
		el := Property{
			Name:        elem.coll.Name,
			Type:        TypeString,
			Ops:         slices.Concat(elementOps, elem.coll.Ops),
			AdvancedOps: slices.Concat(elementAdvancedOps, elem.coll.AdvancedOps),
		}
		return elem.name, el, Path{Var: true}, nil
	}
	if len(path.Segments) == 0 {
		return "", Property{}, Path{}, unsupportedProperty(elem.name, b.schema.Resource)
	}
	name, field, ok := lookup(elem.coll.Fields, written)
	if !ok || len(path.Segments) != 1 || !scalar(field.Type) {
		return "", Property{}, Path{}, unsupportedProperty(orWritten(name, written), b.schema.Resource)
	}
	return name, field, Path{Var: true, Segments: []string{name}}, nil
}

// The elements of every string collection take eq, in and startsWith, and
// ne and not with the advanced parameters, as they do everywhere; a
// collection's own lists add more (Graph allows endsWith on otherMails).
var (
	elementOps         = []string{"eq", "in", "startsWith"}
	elementAdvancedOps = []string{"ne", "not"}
)

func orWritten(name, written string) string {
	if name == "" {
		return written
	}
	return name
}

func scalar(t PropType) bool { return t != TypeStringCollection && t != TypeComplexCollection }

// allow checks op, and "not" when negated, against the property. A missing
// operator outranks one that merely needs the advanced parameters, since
// adding those would not help.
func (b *binder) allow(name string, prop Property, negated bool, op string) error {
	ops := []string{op}
	if negated {
		ops = append(ops, "not")
	}
	needs := ""
	for _, o := range ops {
		switch {
		case hasOp(prop.Ops, o):
		case hasOp(prop.AdvancedOps, o):
			if !b.advanced && needs == "" {
				needs = o
			}
		default:
			return unsupportedProperty(name, b.schema.Resource)
		}
	}
	if needs != "" {
		return needsAdvanced(needs)
	}
	return nil
}

func hasOp(ops []string, op string) bool {
	for _, o := range ops {
		if strings.EqualFold(o, op) {
			return true
		}
	}
	return false
}

// checkRequires enforces Property.Requires inside a lambda over a complex
// collection: each field a used field requires must be pinned in every way
// the body can match.
func (b *binder) checkRequires(coll Property, body Expr) error {
	if coll.Type != TypeComplexCollection {
		return nil
	}
	pinned := pinnedFields(body)
	for _, f := range usedFields(body, nil) {
		for _, r := range coll.Fields[f].Requires {
			if !pinned[r] {
				return unsupportedProperty(f, b.schema.Resource)
			}
		}
	}
	return nil
}

// usedFields lists the element fields a bound lambda body mentions, in order.
func usedFields(e Expr, out []string) []string {
	switch e := e.(type) {
	case Logical:
		return usedFields(e.Right, usedFields(e.Left, out))
	case Not:
		return usedFields(e.X, out)
	case Compare:
		return append(out, e.Property.Segments...)
	case In:
		return append(out, e.Property.Segments...)
	case Func:
		return append(out, e.Property.Segments...)
	}
	return out
}

// pinnedFields returns the fields that every match of a bound lambda body
// holds to given values (eq a non-null value, or in a list).
func pinnedFields(e Expr) map[string]bool {
	switch e := e.(type) {
	case Compare:
		if e.Op == "eq" && e.Value.Kind != LitNull && len(e.Property.Segments) == 1 {
			return map[string]bool{e.Property.Segments[0]: true}
		}
	case In:
		if len(e.Property.Segments) == 1 {
			return map[string]bool{e.Property.Segments[0]: true}
		}
	case Logical:
		left, right := pinnedFields(e.Left), pinnedFields(e.Right)
		out := map[string]bool{}
		for f := range left {
			if e.Op == "and" || right[f] {
				out[f] = true
			}
		}
		if e.Op == "and" {
			for f := range right {
				out[f] = true
			}
		}
		return out
	}
	return nil
}

// fit checks that literal v can be compared with prop by op and returns it,
// normalised for the property's type.
func fit(prop Property, op string, v Literal) (Literal, error) {
	if v.Kind == LitNull {
		if op == "eq" || op == "ne" {
			return v, nil
		}
		return Literal{}, incompatible(prop.Type, v, op)
	}
	ok := false
	switch prop.Type {
	case TypeString:
		ok = v.Kind == LitString
	case TypeBool:
		ok = v.Kind == LitBool
	case TypeInt:
		// From 2^53 on, the float64 may not be the integer the client wrote.
		ok = v.Kind == LitNumber && v.Number == math.Trunc(v.Number) && math.Abs(v.Number) < 1<<53
	case TypeDateTime:
		ok = v.Kind == LitDateTime
	case TypeGUID:
		// Clients often quote GUIDs; Graph accepts both spellings.
		if g, isGUID := canonicalGUID(v.Text); v.Kind == LitString && isGUID {
			return Literal{Kind: LitGUID, Text: g}, nil
		}
		ok = v.Kind == LitGUID
	}
	if !ok {
		return Literal{}, incompatible(prop.Type, v, op)
	}
	return v, nil
}

var edmTypes = map[PropType]string{
	TypeString:   "Edm.String",
	TypeBool:     "Edm.Boolean",
	TypeInt:      "Edm.Int64",
	TypeDateTime: "Edm.DateTimeOffset",
	TypeGUID:     "Edm.Guid",
}

var operatorKinds = map[string]string{
	"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual",
	"lt": "LessThan", "le": "LessThanOrEqual", "in": "In",
}

func incompatible(t PropType, v Literal, op string) error {
	return badRequest("Invalid filter clause: A binary operator with incompatible types was detected. "+
		"Found operand types '%s' and '%s' for operator kind '%s'.", edmTypes[t], literalType(v), operatorKinds[op])
}

func literalType(v Literal) string {
	switch v.Kind {
	case LitString:
		return "Edm.String"
	case LitBool:
		return "Edm.Boolean"
	case LitGUID:
		return "Edm.Guid"
	case LitDateTime:
		return "Edm.DateTimeOffset"
	case LitNull:
		return "<null>"
	case LitNumber:
		switch {
		case v.Number != math.Trunc(v.Number):
			return "Edm.Decimal"
		case math.Abs(v.Number) <= math.MaxInt32:
			return "Edm.Int32"
		}
		return "Edm.Int64"
	}
	return fmt.Sprintf("kind %d", v.Kind)
}

// lookup finds name among props, preferring an exact match and otherwise
// ignoring case, and returns the key it is stored under. Schemas never hold
// two names that differ only in case.
func lookup(props map[string]Property, name string) (string, Property, bool) {
	if p, ok := props[name]; ok {
		return name, p, true
	}
	for k, p := range props {
		if strings.EqualFold(k, name) {
			return k, p, true
		}
	}
	return "", Property{}, false
}
