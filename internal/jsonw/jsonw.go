// Package jsonw writes JSON objects without reflection, byte for byte what
// encoding/json writes for the struct they stand for: for the documents
// written on every token request (access-token claims, the token answer,
// the sign-in record), where encoding/json's reflection and allocations
// were a measurable share of a request's CPU. A type that uses it keeps a
// test comparing its output with encoding/json's.
package jsonw

import (
	"encoding/json"
	"strconv"
)

// Object appends one JSON object's members to B in the order they are
// given, as encoding/json orders a struct's fields.
type Object struct {
	B    []byte
	more bool
}

// Key starts a member.
func (o *Object) Key(k string) {
	if o.more {
		o.B = append(o.B, ',')
	} else {
		o.B = append(o.B, '{')
	}
	o.more = true
	o.B = append(o.B, '"')
	o.B = append(o.B, k...)
	o.B = append(o.B, '"', ':')
}

// Str is a string member.
func (o *Object) Str(k, v string) {
	o.Key(k)
	o.B = AppendString(o.B, v)
}

// StrOmit is a string member tagged omitempty.
func (o *Object) StrOmit(k, v string) {
	if v != "" {
		o.Str(k, v)
	}
}

// Int is an integer member.
func (o *Object) Int(k string, v int64) {
	o.Key(k)
	o.B = strconv.AppendInt(o.B, v, 10)
}

// IntOmit is an integer member tagged omitempty.
func (o *Object) IntOmit(k string, v int64) {
	if v != 0 {
		o.Int(k, v)
	}
}

// Bool is a boolean member.
func (o *Object) Bool(k string, v bool) {
	o.Key(k)
	o.B = strconv.AppendBool(o.B, v)
}

// StringsOmit is a []string member tagged omitempty.
func (o *Object) StringsOmit(k string, v []string) {
	if len(v) > 0 {
		o.Key(k)
		o.B = AppendStrings(o.B, v)
	}
}

// End closes the object and returns what was appended.
func (o *Object) End() []byte {
	if !o.more {
		return append(o.B, '{', '}')
	}
	return append(o.B, '}')
}

// AppendStrings appends v as a JSON array of strings.
func AppendStrings(b []byte, v []string) []byte {
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, s)
	}
	return append(b, ']')
}

// copied holds the bytes AppendString copies as they are: printable ASCII
// but for the quote, the backslash and HTML's <, > and &, which
// encoding/json escapes.
var copied = func() (t [256]bool) {
	for c := 0x20; c <= 0x7e; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

// AppendString appends s quoted as encoding/json quotes it. Ids, URLs and
// most names are printable ASCII that needs no escape and are copied;
// anything else (quotes, control characters, HTML's <>&, non-ASCII, which
// encoding/json checks for invalid UTF-8 and U+2028) is left to
// encoding/json itself. The check is one table lookup a byte: the token
// answer carries the whole access token, a kilobyte or more.
func AppendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !copied[s[i]] {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
