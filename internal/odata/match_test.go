package odata

import (
	"encoding/json"
	"testing"
)

func TestMatch(t *testing.T) {
	ann := map[string]any{
		"displayName":       "Ann Åström",
		"userPrincipalName": "ann@contoso.example",
		"userType":          "Member",
		"accountEnabled":    true,
		"createdDateTime":   "2024-05-01T10:00:00Z",
		"homeTenantId":      "0e8b3a55-6c1d-47f2-a0b9-3d2c1e4f5a6b",
		"sortOrder":         json.Number("7"),
		"passwordProfile":   map[string]any{"forceChangePasswordNextSignIn": false},
		"otherMails":        []any{"ann@home.example", "a@b.example"},
		"identities":        []any{map[string]any{"issuer": "contoso.example", "issuerAssignedId": "ann", "signInType": "userName"}},
		// no businessPhones
	}
	bob := map[string]any{"displayName": "Bob", "userType": nil, "sortOrder": 2.0} // no otherMails: counts as empty

	tests := []struct {
		filter   string
		ann, bob bool
	}{
		// Strings: case-insensitive beyond ASCII, ordered byte-wise after folding.
		{"displayName eq 'ANN ÅSTRÖM'", true, false},
		{"displayName ne 'Bob'", true, false},
		{"displayName ge 'b'", false, true},
		{"startsWith(displayName, 'ann å')", true, false},
		{"endsWith(userPrincipalName, '@CONTOSO.example')", true, false},
		{"startsWith(displayName, '%')", false, false}, // literal, not a pattern
		{"userType in ('guest', 'member')", true, false},
		// Absent and null values: eq null matches them, ne and not do too.
		{"userType eq null", false, true},
		{"userPrincipalName eq null", false, true},
		{"userPrincipalName ne 'ann@contoso.example'", false, true},
		{"not(startsWith(userPrincipalName, 'a'))", false, true},
		// Typed values.
		{"accountEnabled eq true", true, false},
		{"accountEnabled ne true", false, true},
		{"homeTenantId eq 0E8B3A55-6C1D-47F2-A0B9-3D2C1E4F5A6B", true, false},
		{"homeTenantId eq '0e8b3a55-6c1d-47f2-a0b9-3d2c1e4f5a6b'", true, false},
		{"sortOrder ge 3", true, false},
		{"sortOrder le 2", false, true},
		{"createdDateTime ge 2024-05-01T09:00:00Z", true, false},
		{"createdDateTime le 2024-05-01T13:00:00+03:00", true, false}, // 10:00Z
		{"createdDateTime ge 2024-05-01T13:00:01+03:00", false, false},
		{"passwordProfile/forceChangePasswordNextSignIn eq false", true, false},
		// Logic.
		{"userType eq 'Member' and accountEnabled eq true", true, false},
		{"userType eq 'Member' and accountEnabled eq false", false, false},
		{"displayName eq 'Bob' or accountEnabled eq true", true, true},
		{"not(displayName eq 'Bob' or accountEnabled eq true)", false, false},
		// Collections.
		{"otherMails/any(m:m eq 'A@B.example')", true, false},
		{"otherMails/any(m:startsWith(m, 'ann@'))", true, false},
		{"not(otherMails/any(m:m eq 'a@b.example'))", false, true},
		{"businessPhones/any(p:p eq '1')", false, false},
		{"identities/any(c:c/issuer eq 'contoso.example' and c/issuerAssignedId eq 'ANN')", true, false},
		{"identities/any(c:c/issuer eq 'contoso.example' and c/issuerAssignedId eq 'bob')", false, false},
		{"otherMails/$count eq 0", false, true},
		{"otherMails/$count gt 1", true, false},
		{"otherMails/$count le 2", true, true},
	}
	for _, tt := range tests {
		parsed, err := ParseFilter(tt.filter)
		if err != nil {
			t.Fatalf("%s: %v", tt.filter, err)
		}
		bound, err := Bind(testSchema, parsed, true)
		if err != nil {
			t.Fatalf("%s: %v", tt.filter, err)
		}
		if got := Match(bound, ann); got != tt.ann {
			t.Errorf("%s on Ann: %v, want %v", tt.filter, got, tt.ann)
		}
		if got := Match(bound, bob); got != tt.bob {
			t.Errorf("%s on Bob: %v, want %v", tt.filter, got, tt.bob)
		}
	}
	if !Match(nil, bob) {
		t.Error("no filter must match everything")
	}
}
