package odata

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseOrderBy(t *testing.T) {
	tests := []struct {
		in   string
		want []OrderBy // nil: Request_BadRequest
	}{
		{"displayName", []OrderBy{{Property: "displayName"}}},
		{"displayName desc, id asc", []OrderBy{{Property: "displayName", Desc: true}, {Property: "id"}}},
		{" displayName DESC ,userPrincipalName ", []OrderBy{{Property: "displayName", Desc: true}, {Property: "userPrincipalName"}}},
		{"desc desc", []OrderBy{{Property: "desc", Desc: true}}},
		{"", nil},
		{"displayName,", nil},
		{",displayName", nil},
		{"displayName sideways", nil},
		{"displayName desc asc", nil},
		{"displayName, DisplayName desc", nil},
		{"passwordProfile/x", nil},
		{"'displayName'", nil},
		{strings.Repeat("a", MaxQueryLength+1), nil},
	}
	for _, tc := range tests {
		got, err := ParseOrderBy(tc.in)
		if tc.want == nil {
			requireError(t, tc.in, err, CodeBadRequest)
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseOrderBy(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseSelect(t *testing.T) {
	tests := []struct {
		in   string
		want []string // nil: Request_BadRequest
	}{
		{"id", []string{"id"}},
		{"id, displayName ,mail", []string{"id", "displayName", "mail"}},
		{"displayName,id,DisplayName,id", []string{"displayName", "id"}},
		{"extension_0a1b_costCenter", []string{"extension_0a1b_costCenter"}},
		{"", nil},
		{"id,,mail", nil},
		{"id,", nil},
		{"id mail", nil},
		{"*", nil},
		{"manager/id", nil},
	}
	for _, tc := range tests {
		got, err := ParseSelect(tc.in)
		if tc.want == nil {
			requireError(t, tc.in, err, CodeBadRequest)
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseSelect(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseTop(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		message string // when non-empty, the Request_BadRequest message
	}{
		{"1", 1, ""},
		{"999", 999, ""},
		{"050", 50, ""},
		{"0", 0, "Invalid page size specified: '0'. Must be between 1 and 999 inclusive."},
		{"1000", 0, "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."},
		{"99999999999999999999999", 0, "Invalid page size specified: '99999999999999999999999'. Must be between 1 and 999 inclusive."},
		{"", 0, "Invalid value '' for $top query option found. The $top query option requires a non-negative integer value."},
		{"-1", 0, "Invalid value '-1' for $top query option found. The $top query option requires a non-negative integer value."},
		{" 5", 0, "Invalid value ' 5' for $top query option found. The $top query option requires a non-negative integer value."},
		{"5.0", 0, "Invalid value '5.0' for $top query option found. The $top query option requires a non-negative integer value."},
		{"+5", 0, "Invalid value '+5' for $top query option found. The $top query option requires a non-negative integer value."},
	}
	for _, tc := range tests {
		got, err := ParseTop(tc.in)
		if tc.message == "" {
			if err != nil || got != tc.want {
				t.Errorf("ParseTop(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
			continue
		}
		if oe := requireError(t, tc.in, err, CodeBadRequest); oe != nil && oe.Message != tc.message {
			t.Errorf("ParseTop(%q) message %q, want %q", tc.in, oe.Message, tc.message)
		}
	}
}
