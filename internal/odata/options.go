package odata

import (
	"strconv"
	"strings"
)

// MaxTop is the largest page Graph serves for directory objects.
const MaxTop = 999

// ParseOrderBy parses "$orderby=prop [asc|desc], ...". asc and desc are
// case-insensitive; a property may appear once. BindOrderBy checks the
// properties against a schema.
func ParseOrderBy(s string) ([]OrderBy, error) {
	p, err := newParser("$orderby", s)
	if err != nil {
		return nil, err
	}
	var items []OrderBy
	seen := map[string]bool{}
	for {
		t, err := p.ident("a property")
		if err != nil {
			return nil, err
		}
		key := strings.ToLower(t.text)
		if seen[key] {
			return nil, syntaxError(s, t.pos, "property '%s' is already listed", t.text)
		}
		seen[key] = true
		item := OrderBy{Property: t.text}
		if d := p.peek(); isWord(d, "asc") || isWord(d, "desc") {
			item.Desc = isWord(d, "desc")
			p.advance()
		}
		items = append(items, item)
		more, err := p.more("',', 'asc', 'desc' or the end of $orderby")
		if err != nil {
			return nil, err
		}
		if !more {
			return items, nil
		}
	}
}

// ParseSelect parses "$select=a,b": trimmed names, in order, without repeats
// (compared case-insensitively, as Graph matches property names; the first
// spelling wins). Empty items are an error.
func ParseSelect(s string) ([]string, error) {
	p, err := newParser("$select", s)
	if err != nil {
		return nil, err
	}
	var names []string
	seen := map[string]bool{}
	for {
		t, err := p.ident("a property")
		if err != nil {
			return nil, err
		}
		if key := strings.ToLower(t.text); !seen[key] {
			seen[key] = true
			names = append(names, t.text)
		}
		more, err := p.more("',' or the end of $select")
		if err != nil {
			return nil, err
		}
		if !more {
			return names, nil
		}
	}
}

// more consumes the ',' before another list item and reports whether there
// was one; at the end of the input it reports false.
func (p *parser) more(want string) (bool, error) {
	switch t := p.peek(); t.kind {
	case tokEOF:
		return false, nil
	case tokComma:
		p.advance()
		return true, nil
	default:
		return false, p.unexpected(t, want)
	}
}

// ParseTop parses $top: an integer from 1 to MaxTop, written in plain digits.
func ParseTop(s string) (int, error) {
	if err := checkOption("$top", s); err != nil {
		return 0, err
	}
	if !isDigits(s) {
		return 0, badRequest("Invalid value '%s' for $top query option found. The $top query option requires a non-negative integer value.", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxTop {
		return 0, badRequest("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", s, MaxTop)
	}
	return n, nil
}
