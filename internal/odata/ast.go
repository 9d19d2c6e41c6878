// Package odata parses the OData query options Gatehouse's Graph surface accepts
// ($filter, $orderby, $select, $top, $count, $skiptoken) into a small AST that the
// store translates to SQL, and evaluates filters over in-memory documents with
// the same meaning (Match). It knows nothing about HTTP or storage.
package odata

// Expr is a node of a parsed $filter expression.
type Expr interface{ isExpr() }

// Logical is "and" / "or" over two operands.
type Logical struct {
	Op          string // "and" | "or"
	Left, Right Expr
}

// Not negates its operand.
type Not struct{ X Expr }

// Compare is "<property> <op> <literal>", e.g. userType eq 'Guest'.
// Op is one of eq, ne, gt, ge, lt, le. Value may be a Null literal.
type Compare struct {
	Op       string
	Property Path
	Value    Literal
}

// In is "<property> in (<literal>, ...)".
type In struct {
	Property Path
	Values   []Literal
}

// Func is startsWith(<property>, '<prefix>') or endsWith(<property>, '<suffix>').
type Func struct {
	Name     string // "startsWith" | "endsWith"
	Property Path
	Arg      Literal
}

// Any is "<collection>/any(<var>:<body>)". Inside Body, paths that start with
// the range variable refer to the element: Path{Var: true} is the element itself
// (a string collection), Path{Var: true, Segments: []string{"issuer"}} a field of it.
type Any struct {
	Collection string
	Var        string
	Body       Expr
}

// CountCompare is "<collection>/$count <op> <number>", e.g. otherMails/$count eq 0.
type CountCompare struct {
	Collection string
	Op         string
	Value      int64
}

// Path names a property. Outside a lambda it is a top-level property (Segments
// has one element, or more for a nested complex property such as
// passwordProfile/forceChangePasswordNextSignIn). Inside a lambda Var is true and
// Segments are relative to the range variable.
type Path struct {
	Var      bool
	Segments []string
}

// LiteralKind is the type of a literal as written in the URL.
type LiteralKind int

const (
	LitString LiteralKind = iota
	LitNumber
	LitBool
	LitNull
	LitGUID
	LitDateTime
)

// Literal is a constant in a filter. Text holds strings (unescaped), GUIDs and
// date-times in canonical form; Number and Bool hold their typed values.
type Literal struct {
	Kind   LiteralKind
	Text   string
	Number float64
	Bool   bool
}

// OrderBy is one $orderby item.
type OrderBy struct {
	Property string
	Desc     bool
}

func (Logical) isExpr()      {}
func (Not) isExpr()          {}
func (Compare) isExpr()      {}
func (In) isExpr()           {}
func (Func) isExpr()         {}
func (Any) isExpr()          {}
func (CountCompare) isExpr() {}
