package caller

import (
	"context"
	"testing"
)

func TestFromWith(t *testing.T) {
	if _, ok := From(context.Background()); ok {
		t.Fatal("a bare context has a caller")
	}
	ctx := With(context.Background(), Caller{TenantID: "t", ObjectID: "u"})
	c, ok := From(ctx)
	if !ok || c.TenantID != "t" || c.ObjectID != "u" {
		t.Fatalf("From = %+v, %v", c, ok)
	}
}

func TestHasRoleAndPermission(t *testing.T) {
	user := Caller{Scopes: []string{"User.Read"}, Roles: []string{"User.ReadWrite.All"}, DirectoryRoles: []string{"r1"}}
	app := Caller{AppOnly: true, Roles: []string{"User.ReadWrite.All"}, DirectoryRoles: []string{"r1"}}
	cases := []struct {
		name string
		got  bool
		want bool
	}{
		{"user holds a role", user.HasRole("r0", "r1"), true},
		{"user lacks a role", user.HasRole("r2"), false},
		{"an app has no directory roles", app.HasRole("r1"), false},
		{"user scope", user.HasPermission("User.Read"), true},
		{"a delegated token's roles claim is no permission", user.HasPermission("User.ReadWrite.All"), false},
		{"app role", app.HasPermission("User.ReadWrite.All"), true},
		{"permission names are exact", app.HasPermission("user.readwrite.all"), false},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %v", c.name, c.got)
		}
	}
}
