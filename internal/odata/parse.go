package odata

import (
	"strconv"
	"strings"
)

// Limits on a $filter beyond MaxQueryLength, so that hostile input cannot
// drive deep recursion here, in Bind or in the SQL translator, nor produce
// statements with thousands of parameters.
const (
	// MaxFilterDepth bounds the nesting of parentheses, not and lambdas.
	MaxFilterDepth = 32
	// MaxFilterNodes bounds the expression nodes plus in-list values.
	MaxFilterNodes = 256
)

// reserved words cannot name properties or range variables, so that every
// parsed filter renders back unambiguously.
var reserved = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "any": true,
	"eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true,
	"true": true, "false": true, "null": true,
}

// ParseFilter parses a $filter expression in the subset of OData that Graph
// accepts on directory objects. Keywords and function names are
// case-insensitive; property names are kept as written (Bind canonicalises
// them). Errors are *Error with code CodeBadRequest.
func ParseFilter(s string) (Expr, error) {
	p, err := newParser("$filter", s)
	if err != nil {
		return nil, err
	}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.unexpected(t, "'and', 'or' or the end of the filter")
	}
	return e, nil
}

type parser struct {
	option   string
	src      string
	toks     []token // ends with tokEOF
	i        int
	depth    int
	nodes    int
	rangeVar string // the enclosing lambda's variable; "" outside lambdas
}

func newParser(option, src string) (*parser, error) {
	toks, err := lex(option, src)
	if err != nil {
		return nil, err
	}
	return &parser{option: option, src: src, toks: toks}, nil
}

func (p *parser) peek() token { return p.peekAt(0) }

func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

// advance consumes and returns the next token; tokEOF is never consumed.
func (p *parser) advance() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) expect(k tokenKind, what string) error {
	if t := p.peek(); t.kind != k {
		return p.unexpected(t, what)
	}
	p.advance()
	return nil
}

func (p *parser) unexpected(t token, want string) error {
	found := "the end of the input"
	switch t.kind {
	case tokEOF:
	case tokString:
		found = p.src[t.pos:t.end] // already quoted
	default:
		found = "'" + p.src[t.pos:t.end] + "'"
	}
	return syntaxError(p.src, t.pos, "expected %s but found %s", want, found)
}

// ident consumes an identifier.
func (p *parser) ident(what string) (token, error) {
	t := p.peek()
	if t.kind != tokIdent {
		return t, p.unexpected(t, what)
	}
	return p.advance(), nil
}

// name consumes a property name or range variable: an identifier that is not
// a reserved word nor followed by '(' (which would make it a function).
func (p *parser) name(what string) (token, error) {
	t := p.peek()
	if t.kind != tokIdent || reserved[strings.ToLower(t.text)] {
		return t, p.unexpected(t, what)
	}
	if p.peekAt(1).kind == tokLParen {
		return t, syntaxError(p.src, t.pos, "'%s' is not a supported function or lambda operator", t.text)
	}
	return p.advance(), nil
}

func isWord(t token, w string) bool { return t.kind == tokIdent && strings.EqualFold(t.text, w) }

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxFilterDepth {
		return badRequest("The %s query option is nested more than %d levels deep.", p.option, MaxFilterDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// node counts one more node of the tree being built.
func (p *parser) node() error {
	p.nodes++
	if p.nodes > MaxFilterNodes {
		return badRequest("The %s query option has more than %d clauses and values.", p.option, MaxFilterNodes)
	}
	return nil
}

func (p *parser) or() (Expr, error)  { return p.logical("or", p.and) }
func (p *parser) and() (Expr, error) { return p.logical("and", p.unary) }

// logical parses a left-associative chain of operand joined by op. Chains are
// iterative, so only parentheses, not and lambdas deepen the recursion.
func (p *parser) logical(op string, operand func() (Expr, error)) (Expr, error) {
	left, err := operand()
	if err != nil {
		return nil, err
	}
	for isWord(p.peek(), op) {
		p.advance()
		if err := p.node(); err != nil {
			return nil, err
		}
		right, err := operand()
		if err != nil {
			return nil, err
		}
		left = Logical{Op: op, Left: left, Right: right}
	}
	return left, nil
}

// unary binds not tighter than and, and looser than comparisons, so
// "not a eq 1" is not(a eq 1) as Graph reads it.
func (p *parser) unary() (Expr, error) {
	if !isWord(p.peek(), "not") {
		return p.primary()
	}
	p.advance()
	if err := p.enter(); err != nil {
		return nil, err
	}
	if err := p.node(); err != nil {
		return nil, err
	}
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	p.leave()
	return Not{X: x}, nil
}

func (p *parser) primary() (Expr, error) {
	t := p.peek()
	switch {
	case t.kind == tokLParen:
		p.advance()
		if err := p.enter(); err != nil {
			return nil, err
		}
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if err := p.expect(tokRParen, "')'"); err != nil {
			return nil, err
		}
		p.leave()
		return e, nil
	case t.kind == tokIdent && p.peekAt(1).kind == tokLParen:
		return p.function()
	case t.kind == tokIdent:
		return p.clause()
	}
	return nil, p.unexpected(t, "a property, a function or '('")
}

var functions = []string{"startsWith", "endsWith"}

func (p *parser) function() (Expr, error) {
	t := p.advance()
	name := ""
	for _, f := range functions {
		if strings.EqualFold(t.text, f) {
			name = f
		}
	}
	if name == "" {
		return nil, syntaxError(p.src, t.pos, "unknown function '%s', expected startsWith or endsWith", t.text)
	}
	p.advance() // '('
	prop, err := p.path()
	if err != nil {
		return nil, err
	}
	if err := p.expect(tokComma, "','"); err != nil {
		return nil, err
	}
	arg, err := p.literal()
	if err != nil {
		return nil, err
	}
	if err := p.expect(tokRParen, "')'"); err != nil {
		return nil, err
	}
	return Func{Name: name, Property: prop, Arg: arg}, p.node()
}

// path parses a property path. Inside a lambda it must start with the range
// variable. It stops before "/$count" and "/any(", which clause handles.
func (p *parser) path() (Path, error) {
	first, err := p.name("a property")
	if err != nil {
		return Path{}, err
	}
	var path Path
	switch {
	case p.rangeVar == "":
		path.Segments = []string{first.text}
	case strings.EqualFold(first.text, p.rangeVar):
		path.Var = true
	default:
		return Path{}, syntaxError(p.src, first.pos, "expected a path starting with the range variable '%s' but found '%s'", p.rangeVar, first.text)
	}
	for p.peek().kind == tokSlash && !p.atSuffix() {
		p.advance()
		seg, err := p.name("a property name")
		if err != nil {
			return Path{}, err
		}
		path.Segments = append(path.Segments, seg.text)
	}
	return path, nil
}

// atSuffix reports whether the next tokens are "/$count" or "/any(".
func (p *parser) atSuffix() bool {
	next := p.peekAt(1)
	return next.kind == tokCount || isWord(next, "any") && p.peekAt(2).kind == tokLParen
}

// clause parses everything that starts with a property path: comparisons,
// in, lambdas and $count.
func (p *parser) clause() (Expr, error) {
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	if slash := p.peek(); slash.kind == tokSlash {
		p.advance()
		switch {
		case p.rangeVar != "":
			return nil, syntaxError(p.src, slash.pos, "lambda operators and $count cannot be used inside a lambda")
		case len(path.Segments) != 1:
			return nil, syntaxError(p.src, slash.pos, "lambda operators and $count apply only to a top-level collection property")
		case p.peek().kind == tokCount:
			return p.count(path.Segments[0])
		}
		return p.lambda(path.Segments[0])
	}
	t := p.peek()
	if isWord(t, "in") {
		return p.in(path)
	}
	op, ok := compareOp(t)
	if !ok {
		return nil, p.unexpected(t, "a comparison operator or 'in'")
	}
	p.advance()
	v, err := p.literal()
	if err != nil {
		return nil, err
	}
	return Compare{Op: op, Property: path, Value: v}, p.node()
}

var compareOps = map[string]bool{"eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true}

func compareOp(t token) (string, bool) {
	op := strings.ToLower(t.text)
	return op, t.kind == tokIdent && compareOps[op]
}

func (p *parser) in(path Path) (Expr, error) {
	p.advance() // in
	if err := p.expect(tokLParen, "'('"); err != nil {
		return nil, err
	}
	var values []Literal
	for {
		v, err := p.literal()
		if err != nil {
			return nil, err
		}
		if err := p.node(); err != nil {
			return nil, err
		}
		values = append(values, v)
		t := p.advance()
		if t.kind == tokRParen {
			return In{Property: path, Values: values}, p.node()
		}
		if t.kind != tokComma {
			return nil, p.unexpected(t, "',' or ')'")
		}
	}
}

// lambda parses "any(v:body)" after "collection/".
func (p *parser) lambda(collection string) (Expr, error) {
	p.advance() // any
	p.advance() // '('
	if err := p.enter(); err != nil {
		return nil, err
	}
	v, err := p.name("a range variable")
	if err != nil {
		return nil, err
	}
	if err := p.expect(tokColon, "':'"); err != nil {
		return nil, err
	}
	p.rangeVar = v.text
	body, err := p.or()
	if err != nil {
		return nil, err
	}
	p.rangeVar = ""
	if err := p.expect(tokRParen, "')'"); err != nil {
		return nil, err
	}
	p.leave()
	return Any{Collection: collection, Var: v.text, Body: body}, p.node()
}

// count parses "$count <op> <n>" after "collection/".
func (p *parser) count(collection string) (Expr, error) {
	p.advance() // $count
	t := p.peek()
	op, ok := compareOp(t)
	if !ok {
		return nil, p.unexpected(t, "a comparison operator")
	}
	p.advance()
	t = p.peek()
	if t.kind != tokNumber || !isDigits(t.text) {
		return nil, p.unexpected(t, "a non-negative integer")
	}
	n, err := strconv.ParseInt(t.text, 10, 64)
	if err != nil {
		return nil, syntaxError(p.src, t.pos, "count '%s' is out of range", t.text)
	}
	p.advance()
	return CountCompare{Collection: collection, Op: op, Value: n}, p.node()
}

func (p *parser) literal() (Literal, error) {
	t := p.peek()
	var v Literal
	switch t.kind {
	case tokString:
		v = Literal{Kind: LitString, Text: t.text}
	case tokNumber:
		v = Literal{Kind: LitNumber, Number: t.num}
	case tokGUID:
		v = Literal{Kind: LitGUID, Text: t.text}
	case tokDateTime:
		v = Literal{Kind: LitDateTime, Text: t.text}
	case tokIdent:
		switch strings.ToLower(t.text) {
		case "true", "false":
			v = Literal{Kind: LitBool, Bool: strings.EqualFold(t.text, "true")}
		case "null":
			v = Literal{Kind: LitNull}
		default:
			return Literal{}, p.unexpected(t, "a literal")
		}
	default:
		return Literal{}, p.unexpected(t, "a literal")
	}
	p.advance()
	return v, nil
}
