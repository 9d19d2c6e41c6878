package directory

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// TestCachedAuthenticationIsRevokedEverywhere runs two directory services (two
// nodes) on one store: what one node changes, the other's cache hides for
// headFreshness at most.
func TestCachedAuthenticationIsRevokedEverywhere(t *testing.T) {
	ctx := context.Background()
	st := storetest.SQLite(t, filepath.Join(t.TempDir(), "auth.db"))
	hasher, err := secrets.NewPasswordHasher(secrets.DefaultParams, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Node A's clock moves only when the test says; node B's is the real one.
	clock := time.Now()
	nodeA, _ := New(st, Config{Passwords: hasher, Now: func() time.Time { return clock }})
	nodeB, _ := New(st, Config{Passwords: hasher})
	later := func() { clock = clock.Add(headFreshness) }
	ten, err := nodeA.CreateTenant(ctx, NewTenant{DisplayName: "C", Domain: "c.example"})
	if err != nil {
		t.Fatal(err)
	}
	id, clientID, secret := ten.TenantID, ten.Auto.ClientID, ten.Auto.ClientSecret
	authOK := func(what string, node *Service, secret string) AuthenticatedApp {
		t.Helper()
		app, err := node.AuthenticateApp(ctx, id, clientID, secret)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return app
	}
	refused := func(what string, node *Service, secret string) {
		t.Helper()
		if _, err := node.AuthenticateApp(ctx, id, clientID, secret); !errors.Is(err, ErrBadClient) {
			t.Fatalf("%s: want ErrBadClient, got %v", what, err)
		}
	}
	app := authOK("first", nodeA, secret)
	authOK("cached", nodeA, secret)
	refused("wrong secret with a warm cache", nodeA, secret+"x")

	appObj, err := nodeA.List(ctx, id, KindApplication, Query{Top: 10})
	if err != nil {
		t.Fatal(err)
	}
	var appObjectID, keyID string
	for _, o := range appObj.Objects {
		if str(o.Doc, "appId") == clientID {
			appObjectID = o.ID
			keyID = str(mapOf(sliceOf(o.Doc["passwordCredentials"])[0]), "keyId")
		}
	}

	// A permission revoked on node B shows on node A within headFreshness:
	// until then node A answers from its cache without reading the store.
	grants, err := nodeB.ListAppRoleAssignments(ctx, id, KindServicePrincipal, app.ServicePrincipalID, true, Query{Top: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := nodeB.RemoveAppRoleAssignment(ctx, id, app.ServicePrincipalID, grants.Objects[0].ID); err != nil {
		t.Fatal(err)
	}
	if got := authOK("just after revoking a grant", nodeA, secret); len(got.Roles) != len(app.Roles) {
		t.Fatalf("roles %v within the freshness bound: the cache was not used", got.Roles)
	}
	later()
	if got := authOK("after revoking a grant", nodeA, secret); len(got.Roles) != len(app.Roles)-1 {
		t.Fatalf("roles %v, want one fewer than %v", got.Roles, app.Roles)
	}

	// A disabled service principal is refused within the bound.
	if err := nodeB.UpdateServicePrincipal(ctx, id, app.ServicePrincipalID, Doc{"accountEnabled": false}, 0); err != nil {
		t.Fatal(err)
	}
	later()
	refused("disabled service principal", nodeA, secret)
	if err := nodeB.UpdateServicePrincipal(ctx, id, app.ServicePrincipalID, Doc{"accountEnabled": true}, 0); err != nil {
		t.Fatal(err)
	}
	later()
	authOK("re-enabled", nodeA, secret)

	// A removed secret is refused within the bound.
	if err := nodeB.RemovePassword(ctx, id, appObjectID, Doc{"keyId": keyID}); err != nil {
		t.Fatal(err)
	}
	later()
	refused("removed secret", nodeA, secret)

	// On the node that makes a change it shows at once.
	cred, err := nodeA.AddPassword(ctx, id, appObjectID, Doc{})
	if err != nil {
		t.Fatal(err)
	}
	authOK("a new secret", nodeA, cred.SecretText)
	if err := nodeA.RemovePassword(ctx, id, appObjectID, Doc{"keyId": cred.KeyID}); err != nil {
		t.Fatal(err)
	}
	refused("a secret removed on this node", nodeA, cred.SecretText)
}

func TestHeadFreshness(t *testing.T) {
	var c authCache
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.sawHead("t", 7, now)
	for _, tc := range []struct {
		name   string
		tenant string
		at     time.Time
		ok     bool
	}{
		{"just read", "t", now, true},
		{"within the bound", "t", now.Add(headFreshness - time.Millisecond), true},
		{"at the bound", "t", now.Add(headFreshness), false},
		{"clock went back", "t", now.Add(-time.Millisecond), false},
		{"another tenant", "u", now, false},
	} {
		if head, ok := c.freshHead(tc.tenant, tc.at); ok != tc.ok || ok && head != 7 {
			t.Errorf("%s: head %d, ok=%v", tc.name, head, ok)
		}
	}
}

func TestCachedAuthenticationEndsWithTheSecret(t *testing.T) {
	var c authCache
	secret := [32]byte{1}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.store("t", "c", secret, 7, now.Add(time.Minute), AuthenticatedApp{AppID: "c"})
	cases := []struct {
		name   string
		secret [32]byte
		head   int64
		at     time.Time
		ok     bool
	}{
		{"same secret, head and time", secret, 7, now, true},
		{"head moved", secret, 8, now, false},
		{"another secret", [32]byte{2}, 7, now, false},
		{"secret expired", secret, 7, now.Add(time.Minute), false},
	}
	for _, tc := range cases {
		if _, ok := c.lookup("t", "c", tc.secret, tc.head, tc.at); ok != tc.ok {
			t.Errorf("%s: ok=%v", tc.name, ok)
		}
	}
	if _, ok := c.lookup("t2", "c", secret, 7, now); ok {
		t.Error("an entry of another tenant was used")
	}
	for i := range maxAuthEntries + 1 {
		c.store("t", string(rune(i)), secret, 1, time.Time{}, AuthenticatedApp{})
	}
	if n := len(c.entries); n > maxAuthEntries || n == 0 {
		t.Errorf("cache size %d not bounded", n)
	}
}

func TestTenantSetForgets(t *testing.T) {
	var c tenantSet
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.add("a", now)
	life := tenantSetLife("a")
	if !c.has("a", now.Add(life-time.Millisecond)) || c.has("a", now.Add(life)) || c.has("b", now) {
		t.Fatal("tenantSet must hold a seen id for its life only")
	}
	lives := map[time.Duration]bool{}
	for i := range 100 {
		l := tenantSetLife(fmt.Sprint("tenant-", i))
		if l <= tenantSetTTL*4/5 || l > tenantSetTTL {
			t.Fatalf("life %v outside (%v, %v]", l, tenantSetTTL*4/5, tenantSetTTL)
		}
		lives[l] = true
	}
	if len(lives) < 50 {
		t.Fatalf("100 tenants share %d lives", len(lives))
	}
}
