package odata

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseFilter checks that no input panics, that every rejection is a
// Request_BadRequest *Error, that whatever parses survives Format and a
// second parse unchanged, and that Bind answers with an *Error or a tree.
func FuzzParseFilter(f *testing.F) {
	for _, tc := range validFilters {
		f.Add(tc.in)
	}
	for _, tc := range invalidFilters {
		if len(tc.in) < 1024 {
			f.Add(tc.in)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseFilter(s)
		if err != nil {
			requireFuzzError(t, err, CodeBadRequest)
			return
		}
		checkRoundTrip(t, e)
		for _, advanced := range []bool{false, true} {
			bound, err := Bind(testSchema, e, advanced)
			if err != nil {
				requireFuzzError(t, err, "")
				continue
			}
			checkRoundTrip(t, bound)
		}
	})
}

// FuzzParseOrderBy checks ParseOrderBy the same way against a rendering of
// its own output.
func FuzzParseOrderBy(f *testing.F) {
	for _, s := range []string{"displayName", "displayName desc, id asc", "a,b DESC", "a,,b", "a b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		items, err := ParseOrderBy(s)
		if err != nil {
			requireFuzzError(t, err, CodeBadRequest)
			return
		}
		parts := make([]string, len(items))
		for i, it := range items {
			parts[i] = it.Property
			if it.Desc {
				parts[i] += " desc"
			}
		}
		again, err := ParseOrderBy(strings.Join(parts, ","))
		if err != nil || !reflect.DeepEqual(again, items) {
			t.Fatalf("round trip of %q: %#v, %v; want %#v", s, again, err, items)
		}
		if _, err := BindOrderBy(testSchema, items); err != nil {
			requireFuzzError(t, err, CodeUnsupportedQuery)
		}
	})
}

// FuzzParseSelect checks that ParseSelect's output is a list it would
// accept again unchanged.
func FuzzParseSelect(f *testing.F) {
	for _, s := range []string{"id", "id, displayName,ID", "a,,b", "a b", "", "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		names, err := ParseSelect(s)
		if err != nil {
			requireFuzzError(t, err, CodeBadRequest)
			return
		}
		again, err := ParseSelect(strings.Join(names, ","))
		if err != nil || !reflect.DeepEqual(again, names) {
			t.Fatalf("round trip of %q: %#v, %v; want %#v", s, again, err, names)
		}
	})
}

// requireFuzzError fails unless err is an *Error with the given code ("" for
// either code).
func requireFuzzError(t *testing.T, err error, code string) {
	t.Helper()
	var oe *Error
	if !errors.As(err, &oe) || code != "" && oe.Code != code || code == "" && oe.Code != CodeBadRequest && oe.Code != CodeUnsupportedQuery {
		t.Fatalf("unexpected error %#v", err)
	}
}
