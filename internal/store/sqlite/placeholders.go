package sqlite

import (
	"strconv"
	"strings"
)

// anonymous rewrites q's numbered placeholders ($1, $2 and on: the store's
// statements are written so for both backends) into SQLite's anonymous
// ones (?), and returns the rewritten text with, for each ? in order, the
// number it stood for. modernc binds a numbered parameter by looking its
// name up in a list, once per parameter, so a multi-row INSERT of 1,200
// parameters spent more time naming them than inserting; an anonymous
// parameter needs no lookup. Quoted strings, quoted identifiers and
// comments are copied as they are. ok is false when q has no numbered
// placeholder or already has an anonymous one (it is then run as given).
func anonymous(q string) (text string, order []int, ok bool) {
	if !strings.Contains(q, "$") {
		return q, nil, false
	}
	var b strings.Builder
	b.Grow(len(q))
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			end := closing(q, i+1, c)
			b.WriteString(q[i:end])
			i = end
		case c == '-' && strings.HasPrefix(q[i:], "--"):
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				end = len(q) - i
			}
			b.WriteString(q[i : i+end])
			i += end
		case c == '/' && strings.HasPrefix(q[i:], "/*"):
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				b.WriteString(q[i:])
				i = len(q)
				break
			}
			b.WriteString(q[i : i+2+end+2])
			i += 2 + end + 2
		case c == '?':
			return q, nil, false
		case c == '$' && i+1 < len(q) && isDigit(q[i+1]):
			j := i + 1
			for j < len(q) && isDigit(q[j]) {
				j++
			}
			n, err := strconv.Atoi(q[i+1 : j])
			if err != nil || n < 1 {
				return q, nil, false
			}
			order = append(order, n)
			b.WriteByte('?')
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	if len(order) == 0 {
		return q, nil, false
	}
	return b.String(), order, true
}

// closing returns the index just past the quote that closes the quoted
// text starting at from (a doubled quote is an escaped one), or len(q).
func closing(q string, from int, quote byte) int {
	for i := from; i < len(q); i++ {
		if q[i] != quote {
			continue
		}
		if i+1 < len(q) && q[i+1] == quote {
			i++
			continue
		}
		return i + 1
	}
	return len(q)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
