package csdl

import "testing"

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		typ, name string
		want      Property
		ok        bool
	}{
		{"user", "EmployeeId", Property{Name: "employeeId", Nullable: true}, true},
		{"user", "deletedDateTime", Property{Name: "deletedDateTime", Nullable: true}, true}, // directoryObject's
		{"user", "id", Property{Name: "id", Nullable: false}, true},                          // entity's
		{"application", "keyCredentials", Property{Name: "keyCredentials", Collection: true}, true},
		{"user", "memberOf", Property{}, false}, // a navigation property
		{"user", "favouriteColour", Property{}, false},
		{"nosuchType", "id", Property{}, false},
	} {
		got, ok := Lookup(tc.typ, tc.name)
		if ok != tc.ok || got != tc.want {
			t.Errorf("Lookup(%s, %s) = %+v, %v; want %+v, %v", tc.typ, tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

// Every entity type Gatehouse serves with $select is in the document.
func TestServedTypes(t *testing.T) {
	for _, typ := range []string{"user", "group", "application", "servicePrincipal", "oAuth2PermissionGrant", "appRoleAssignment",
		"unifiedRoleAssignment", "unifiedRoleDefinition", "directoryRole", "domain", "organization", "authorizationPolicy",
		"organizationalBrandingLocalization", "tokenLifetimePolicy", "invitation", "directoryAudit", "signIn"} {
		if !Has(typ) {
			t.Errorf("%s is not in the document", typ)
		}
	}
}
