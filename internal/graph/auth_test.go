package graph

import "testing"

func TestAllowed(t *testing.T) {
	cases := []struct {
		name string
		p    Principal
		need permSet
		want bool
	}{
		{"app with the permission", Principal{AppOnly: true, Roles: []string{"User.Read.All"}}, readUsers, true},
		{"app with a broader permission", Principal{AppOnly: true, Roles: []string{"Directory.ReadWrite.All"}}, writeUsers, true},
		{"app with a read permission writing", Principal{AppOnly: true, Roles: []string{"User.Read.All"}}, writeUsers, false},
		{"app with another resource's permission", Principal{AppOnly: true, Roles: []string{"Group.ReadWrite.All"}}, readUsers, false},
		{"Directory.ReadWrite.All cannot write applications", Principal{AppOnly: true, Roles: []string{"Directory.ReadWrite.All"}}, writeApps, false},
		{"app with no roles", Principal{AppOnly: true}, readUsers, false},
		{"delegated scope alone grants nothing", Principal{Scopes: []string{"User.ReadWrite.All"}, Roles: []string{"User.ReadWrite.All"}}, readUsers, false},
		{"permission names are exact", Principal{AppOnly: true, Roles: []string{"user.read.all"}}, readUsers, false},
	}
	for _, c := range cases {
		if got := allowed(c.p, c.need); got != c.want {
			t.Errorf("%s: allowed = %v, want %v", c.name, got, c.want)
		}
	}
}
