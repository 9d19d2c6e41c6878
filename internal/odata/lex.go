package odata

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxQueryLength bounds the text of one query option, in bytes after URL
// decoding. Parsing is linear in the input, so this bounds its cost.
const MaxQueryLength = 8 << 10

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokString
	tokNumber
	tokGUID
	tokDateTime
	tokCount // $count
	tokLParen
	tokRParen
	tokComma
	tokSlash
	tokColon
)

// token is one lexeme. pos and end delimit it in the source, for messages.
type token struct {
	kind     tokenKind
	pos, end int
	text     string  // identifier as written; string unescaped; GUID or date-time canonical
	num      float64 // tokNumber
}

var punctuation = map[byte]tokenKind{'(': tokLParen, ')': tokRParen, ',': tokComma, '/': tokSlash, ':': tokColon}

// lex splits the text of query option (named for messages) into tokens,
// ending with one tokEOF.
func lex(option, src string) ([]token, error) {
	if err := checkOption(option, src); err != nil {
		return nil, err
	}
	l := lexer{src: src}
	var toks []token
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.kind == tokEOF {
			return toks, nil
		}
	}
}

// checkOption applies the limits every query option shares.
func checkOption(option, src string) error {
	if len(src) > MaxQueryLength {
		return badRequest("The %s query option is too long: %d bytes, at most %d are allowed.", option, len(src), MaxQueryLength)
	}
	if !utf8.ValidString(src) {
		return badRequest("The %s query option is not valid UTF-8.", option)
	}
	return nil
}

type lexer struct {
	src string
	pos int
}

func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) && isSpace(l.src[l.pos]) {
		l.pos++
	}
	start := l.pos
	if start == len(l.src) {
		return token{kind: tokEOF, pos: start, end: start}, nil
	}
	c := l.src[start]
	if k, ok := punctuation[c]; ok {
		l.pos++
		return token{kind: k, pos: start, end: l.pos}, nil
	}
	rest := l.src[start:]
	// A GUID may start like a number, a date-time or an identifier, so it is
	// tried first.
	if len(rest) >= 36 && !(len(rest) > 36 && isIdentPart(rest[36])) {
		if g, ok := canonicalGUID(rest[:36]); ok {
			l.pos += 36
			return token{kind: tokGUID, pos: start, end: l.pos, text: g}, nil
		}
	}
	switch {
	case c == '\'':
		return l.str()
	case c == '$':
		return l.dollar()
	case len(rest) >= 5 && isDigits(rest[:4]) && rest[4] == '-':
		return l.dateTime()
	case isDigit(c) || c == '-' && len(rest) > 1 && isDigit(rest[1]):
		return l.number()
	case isIdentStart(c):
		l.pos = skipIdent(l.src, start)
		return token{kind: tokIdent, pos: start, end: l.pos, text: l.src[start:l.pos]}, nil
	}
	return token{}, l.invalidChar(start)
}

func (l *lexer) invalidChar(pos int) error {
	r, _ := utf8.DecodeRuneInString(l.src[pos:])
	shown := string(r)
	if !unicode.IsPrint(r) {
		shown = fmt.Sprintf("%U", r)
	}
	return syntaxError(l.src, pos, "character '%s' is not valid", shown)
}

// str scans a single-quoted string, in which a doubled quote stands for one.
func (l *lexer) str() (token, error) {
	start := l.pos
	var b strings.Builder
	for i := start + 1; i < len(l.src); i++ {
		switch l.src[i] {
		case 0:
			// PostgreSQL text cannot hold NUL, and no directory value contains one.
			return token{}, l.invalidChar(i)
		case '\'':
			if i+1 < len(l.src) && l.src[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			l.pos = i + 1
			return token{kind: tokString, pos: start, end: l.pos, text: b.String()}, nil
		default:
			b.WriteByte(l.src[i])
		}
	}
	return token{}, syntaxError(l.src, start, "unterminated string literal")
}

func (l *lexer) dollar() (token, error) {
	start := l.pos
	end := skipIdent(l.src, start+1)
	word := l.src[start:end]
	if !strings.EqualFold(word, "$count") {
		return token{}, syntaxError(l.src, start, "expected '$count' but found '%s'", word)
	}
	l.pos = end
	return token{kind: tokCount, pos: start, end: end}, nil
}

// number scans -?digits(.digits)?, the only numeric forms Graph's directory
// properties need.
func (l *lexer) number() (token, error) {
	start := l.pos
	i := start
	if l.src[i] == '-' {
		i++
	}
	i = skipDigits(l.src, i)
	if i+1 < len(l.src) && l.src[i] == '.' && isDigit(l.src[i+1]) {
		i = skipDigits(l.src, i+1)
	}
	if i < len(l.src) && (isIdentPart(l.src[i]) || l.src[i] == '.') {
		return token{}, l.invalidChar(i)
	}
	text := l.src[start:i]
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return token{}, syntaxError(l.src, start, "number '%s' is out of range", text)
	}
	l.pos = i
	return token{kind: tokNumber, pos: start, end: i, text: text, num: f}, nil
}

// dateTime scans an OData DateTimeOffset literal,
// yyyy-mm-ddThh:mm[:ss[.fffffffff]](Z|±hh:mm), and canonicalises it to UTC
// in RFC 3339 with seconds always present and a fraction only when non-zero.
func (l *lexer) dateTime() (token, error) {
	start := l.pos
	s := l.src[start:]
	m := dtMatcher{s: s, ok: true}
	m.digits(4)
	m.lit('-')
	m.digits(2)
	m.lit('-')
	m.digits(2)
	m.litFold('T')
	m.digits(2)
	m.lit(':')
	m.digits(2)
	hasSeconds := m.ok && m.peek() == ':'
	if hasSeconds {
		m.lit(':')
		m.digits(2)
		if m.ok && m.peek() == '.' {
			m.lit('.')
			m.fraction()
		}
	}
	zoneAt := m.i
	switch c := m.peek(); {
	case c == 'Z' || c == 'z':
		m.i++
	case c == '+' || c == '-':
		m.i++
		m.digits(2)
		m.lit(':')
		m.digits(2)
	default:
		m.ok = false
	}
	if !m.ok || m.i < len(s) && (isIdentPart(s[m.i]) || s[m.i] == '.') {
		return token{}, syntaxError(l.src, start, "expected a date-time such as 2024-01-02T03:04:05Z")
	}
	norm := s[:zoneAt]
	if !hasSeconds {
		norm += ":00"
	}
	norm = strings.ToUpper(norm + s[zoneAt:m.i])
	t, err := time.Parse(time.RFC3339Nano, norm)
	if err != nil || t.UTC().Year() < 1 || t.UTC().Year() > 9999 {
		return token{}, syntaxError(l.src, start, "date-time '%s' is out of range", s[:m.i])
	}
	l.pos = start + m.i
	return token{kind: tokDateTime, pos: start, end: l.pos, text: t.UTC().Format(time.RFC3339Nano)}, nil
}

// dtMatcher matches a fixed shape step by step; after the first mismatch ok
// stays false.
type dtMatcher struct {
	s  string
	i  int
	ok bool
}

func (m *dtMatcher) peek() byte {
	if m.i < len(m.s) {
		return m.s[m.i]
	}
	return 0
}

func (m *dtMatcher) digits(n int) {
	m.ok = m.ok && m.i+n <= len(m.s) && isDigits(m.s[m.i:m.i+n])
	m.i += n
}

func (m *dtMatcher) lit(c byte) {
	m.ok = m.ok && m.peek() == c
	m.i++
}

func (m *dtMatcher) litFold(c byte) {
	m.ok = m.ok && (m.peek()|0x20) == (c|0x20)
	m.i++
}

// fraction takes 1 to 9 digits: Go's time keeps nanoseconds.
func (m *dtMatcher) fraction() {
	end := skipDigits(m.s, m.i)
	m.ok = m.ok && end > m.i && end-m.i <= 9
	m.i = end
}

// canonicalGUID reports whether s is exactly a GUID in 8-4-4-4-12 hex form
// and returns it lower-cased.
func canonicalGUID(s string) (string, bool) {
	if !IsGUID(s) {
		return "", false
	}
	return strings.ToLower(s), true
}

// IsGUID reports whether s is an Edm.Guid: 32 hex digits of either case in
// groups of 8-4-4-4-12 joined by hyphens, the form of every object and
// tenant id. Every token request asks it of its tenant, so it is a loop,
// not a regular expression.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !isHex(c) {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool      { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isHex(c byte) bool        { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }
func isIdentStart(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' || c == '_' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }

func isDigits(s string) bool { return s != "" && skipDigits(s, 0) == len(s) }

func skipIdent(s string, i int) int {
	for i < len(s) && isIdentPart(s[i]) {
		i++
	}
	return i
}

func skipDigits(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}
