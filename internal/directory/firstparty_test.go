package directory

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

func mustTenant(t *testing.T, s *Service, domain string) CreatedTenant {
	t.Helper()
	c, err := s.CreateTenant(context.Background(), NewTenant{DisplayName: domain, Domain: domain})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheckPrincipalChange(t *testing.T) {
	const own = "0b6f9a52-6d53-4c63-9b63-2c3f2f1f0d11"
	for _, tc := range []struct {
		name     string
		appID    string
		patch    Doc
		deleting bool
		allowed  bool
	}{
		{"a tenant's own application: anything", own, Doc{"displayName": "x", "homepage": "https://x.example"}, false, true},
		{"a tenant's own application: delete", own, nil, true, true},
		{"CLI: disable", CLIAppID, Doc{"accountEnabled": false}, false, true},
		{"CLI: the tenant's own settings", CLIAppID, Doc{"appRoleAssignmentRequired": true, "notes": "n", "tags": []any{"HideApp"}}, false, true},
		{"CLI: rename", CLIAppID, Doc{"accountEnabled": true, "displayName": "Gatehouse CLI (official)"}, false, false},
		{"CLI: homepage", CLIAppID, Doc{"homepage": "https://evil.example"}, false, false},
		{"CLI: delete", CLIAppID, nil, true, false},
		{"Graph: description", GraphAppID, Doc{"description": "x"}, false, false},
		{"Graph: delete", GraphAppID, nil, true, false},
		{"Graph: disable", GraphAppID, Doc{"accountEnabled": false}, false, true},
		{"B2B: disable", B2BAppID, Doc{"accountEnabled": false}, false, true},
		{"B2B: redirect URIs", B2BAppID, Doc{"replyUrls": []any{"https://evil.example/cb"}}, false, false},
		{"B2B: delete", B2BAppID, nil, true, false},
	} {
		err := checkPrincipalChange(tc.appID, tc.patch, tc.deleting)
		if (err == nil) != tc.allowed || err != nil && !errors.Is(err, ErrFirstPartyPrincipal) {
			t.Errorf("%s: %v, allowed %v", tc.name, err, tc.allowed)
		}
	}
}

// TestAppIDIsUniqueAcrossTenants: an application created with an appId
// that another tenant's application holds (here forced through the id
// source) is refused as Graph refuses any duplicate key.
func TestAppIDIsUniqueAcrossTenants(t *testing.T) {
	ctx := context.Background()
	var queued []string
	hasher, err := secrets.NewPasswordHasher(secrets.DefaultParams, 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(storetest.SQLite(t, filepath.Join(t.TempDir(), "d.db")), Config{Passwords: hasher, NewID: func() string {
		if len(queued) > 0 {
			id := queued[0]
			queued = queued[1:]
			return id
		}
		return uuid.NewString()
	}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := mustTenant(t, s, "a.example"), mustTenant(t, s, "b.example")
	const shared = "5d0c2f7e-8e55-4c1b-a1f4-2b7f3f6f9a01"
	queued = []string{uuid.NewString(), shared}
	if _, err := s.CreateApplication(ctx, a.TenantID, Doc{"displayName": "A's"}); err != nil {
		t.Fatal(err)
	}
	queued = []string{uuid.NewString(), shared}
	_, err = s.CreateApplication(ctx, b.TenantID, Doc{"displayName": "B's"})
	if e, ok := usererr.As(err); !ok || e.Kind != usererr.Invalid || e.Target != "appId" || e.Detail != "ObjectConflict" {
		t.Fatalf("B's application with A's appId: %v", err)
	}
}

// TestFirstPartyClients: every tenant signs in to the CLI as the deployment
// registered it, disabling its principal blocks only that tenant, and the
// tenant-independent endpoints do not serve it.
func TestFirstPartyClients(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	a, b := mustTenant(t, s, "a.example"), mustTenant(t, s, "b.example")
	c, err := s.ClientByAppID(ctx, a.TenantID, CLIAppID)
	if err != nil || !c.AllowPublicClient || c.Confidential || c.HomeTenantID != FirstPartyOwnerID ||
		len(c.PublicRedirectURIs) != 1 || c.PublicRedirectURIs[0] != "http://localhost" || len(c.WebRedirectURIs)+len(c.SPARedirectURIs) != 0 {
		t.Fatalf("the CLI in A: %+v, %v", c, err)
	}
	if _, err := s.MultitenantClient(ctx, CLIAppID); !errors.Is(err, ErrNotMultitenant) {
		t.Errorf("the CLI at a tenant-independent endpoint: %v", err)
	}
	if _, err := s.AuthenticateApp(ctx, a.TenantID, CLIAppID, "guess"); !errors.Is(err, ErrBadClient) {
		t.Errorf("the CLI authenticating with a secret: %v", err)
	}

	sps, err := s.List(ctx, a.TenantID, KindServicePrincipal, Query{Top: 100})
	if err != nil {
		t.Fatal(err)
	}
	principal := map[string]Object{}
	for _, sp := range sps.Objects {
		principal[str(sp.Doc, "appId")] = sp
		if isFirstParty(str(sp.Doc, "appId")) && sp.Doc["appOwnerOrganizationId"] != FirstPartyOwnerID {
			t.Errorf("first-party principal %v", sp.Doc)
		}
	}
	graph, cli := principal[GraphAppID], principal[CLIAppID]
	for _, err := range []error{
		s.UpdateServicePrincipal(ctx, a.TenantID, graph.ID, Doc{"displayName": "Graph"}, 0),
		s.Delete(ctx, a.TenantID, KindServicePrincipal, graph.ID, 0),
		s.Delete(ctx, a.TenantID, KindServicePrincipal, cli.ID, 0),
	} {
		if !errors.Is(err, ErrFirstPartyPrincipal) {
			t.Errorf("changing a first-party principal: %v", err)
		}
	}
	if err := s.UpdateServicePrincipal(ctx, a.TenantID, cli.ID, Doc{"accountEnabled": false}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClientByAppID(ctx, a.TenantID, CLIAppID); !errors.Is(err, ErrClientDisabled) {
		t.Errorf("the CLI in A once disabled: %v", err)
	}
	if _, err := s.ClientByAppID(ctx, b.TenantID, CLIAppID); err != nil {
		t.Errorf("the CLI in B: %v", err)
	}
}

func TestCheckIdentifierURI(t *testing.T) {
	const (
		app    = "0b6f9a52-6d53-4c63-9b63-2c3f2f1f0d11"
		tenant = "7d1c9a6e-2f3b-4c5d-8e9f-0a1b2c3d4e5f"
	)
	verified := []string{"contoso.example", "contoso.gatehouse.test"}
	for uri, allowed := range map[string]bool{
		"api://" + app:                          true,
		"API://" + strings.ToUpper(app):         true,
		"api://" + tenant + "/" + app:           true,
		"api://" + tenant + "/payroll":          true,
		"api://payroll/" + app:                  true,
		"https://contoso.example/payroll":       true,
		"https://api.contoso.example":           true,
		"https://api.Contoso.example/payroll":   true,
		"api://contoso.example/payroll":         true,
		"api://hr.contoso.gatehouse.test/x":     true,
		"api://" + tenant:                       false, // the tenant, but no API in it
		"api://payroll":                         false, // anyone's
		"api://fabrikam.example/payroll":        false, // another tenant's domain
		"https://fabrikam.example/api":          false,
		"https://evilcontoso.example/api":       false, // not a subdomain
		"https://contoso.example.evil.test/api": false,
		"http://contoso.example/api":            false,
		"urn:contoso:payroll":                   false,
		"https://contoso.example:8443/api":      false,
		"https://contoso.example/api?x=1":       false,
		"https://contoso.example/api#x":         false,
		"https://*.contoso.example":             false,
		"https://user@contoso.example/api":      false,
		"api://payroll/" + tenant:               false, // ends in the tenant id, not the application's
	} {
		err := checkIdentifierURI(uri, app, tenant, verified)
		if (err == nil) != allowed || err != nil && !usererr.IsKind(err, usererr.Invalid) {
			t.Errorf("%s: %v, want allowed %v", uri, err, allowed)
		}
	}
}

// TestStoredScriptRedirectURIsAreNotOffered: a redirect URI written before
// registration refused script schemes is not one sign-in sends a code to.
func TestStoredScriptRedirectURIsAreNotOffered(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	ten := mustTenant(t, s, "old.example")
	app, err := s.CreateApplication(ctx, ten.TenantID, Doc{"displayName": "Old", "web": map[string]any{"redirectUris": []any{"https://old.example/cb"}}})
	if err != nil {
		t.Fatal(err)
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		o, err := tx.GetObject(ctx, ten.TenantID, KindApplication, app.ID)
		if err != nil {
			return err
		}
		o.Data = []byte(strings.Replace(string(o.Data), `"https://old.example/cb"`, `"https://old.example/cb","javascript://x/%0aalert(1)"`, 1))
		return tx.UpdateObject(ctx, &o)
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.ClientByAppID(ctx, ten.TenantID, str(app.Doc, "appId"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.WebRedirectURIs, []string{"https://old.example/cb"}) {
		t.Fatalf("web redirect URIs offered to sign-in: %q", c.WebRedirectURIs)
	}
}

// TestGraphPermissionsAddedLaterCanBeGranted: a tenant made before a Graph
// permission existed (its principal's stored appRoles lack it) can still be
// granted it, since a first-party application's roles are the deployment's.
func TestGraphPermissionsAddedLaterCanBeGranted(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	ten := mustTenant(t, s, "old.example")
	var graphSP string
	err := s.st.Update(ctx, func(tx store.Tx) error {
		o, err := tx.GetObjectByAppID(ctx, ten.TenantID, KindServicePrincipal, GraphAppID)
		if err != nil {
			return err
		}
		graphSP = o.ID
		d, err := decodeDoc(o.Data)
		if err != nil {
			return err
		}
		d["appRoles"] = []any{} // as stored before any of today's permissions
		if err := stamp(&o, d); err != nil {
			return err
		}
		return tx.UpdateObject(ctx, &o)
	})
	if err != nil {
		t.Fatal(err)
	}
	app, err := s.CreateApplication(ctx, ten.TenantID, Doc{"displayName": "Reporter"})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := s.CreateServicePrincipal(ctx, ten.TenantID, Doc{"appId": app.Doc["appId"]})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.AssignAppRole(ctx, ten.TenantID, graphSP, false, Doc{"principalId": sp.ID, "resourceId": graphSP,
		"appRoleId": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9"}) // Application.ReadWrite.All
	if err != nil {
		t.Fatalf("granting a current Graph permission in an older tenant: %v", err)
	}
	var roles []string
	err = s.st.View(ctx, func(tx store.Tx) error {
		roles, err = s.grantedGraphRoles(ctx, tx, ten.TenantID, sp.ID)
		return err
	})
	if err != nil || !slices.Equal(roles, []string{"Application.ReadWrite.All"}) {
		t.Fatalf("granted roles %v, %v", roles, err)
	}
}

// TestB2BClient: Gatehouse B2B is a public client whose only redirect URI is
// the deployment's federation callback, and a user signing in through it
// at home is asked no consent for openid, profile and email, but is for
// anything else.
func TestB2BClient(t *testing.T) {
	ctx := context.Background()
	hasher, err := secrets.NewPasswordHasher(secrets.DefaultParams, 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(storetest.SQLite(t, filepath.Join(t.TempDir(), "d.db")), Config{Passwords: hasher, PublicURL: "https://id.example/"})
	if err != nil {
		t.Fatal(err)
	}
	home := mustTenant(t, s, "fabrikam.example")
	c, err := s.ClientByAppID(ctx, home.TenantID, B2BAppID)
	if err != nil || c.Confidential || c.AllowPublicClient || c.HomeTenantID != FirstPartyOwnerID || c.DisplayName != "Gatehouse B2B" ||
		!slices.Equal(c.PublicRedirectURIs, []string{"https://id.example/federation/callback"}) || len(c.WebRedirectURIs)+len(c.SPARedirectURIs) != 0 {
		t.Fatalf("Gatehouse B2B: %+v, %v", c, err)
	}
	if _, err := s.MultitenantClient(ctx, B2BAppID); !errors.Is(err, ErrNotMultitenant) {
		t.Errorf("Gatehouse B2B at a tenant-independent endpoint: %v", err)
	}
	alice := mustUser(t, s, home.TenantID, "alice@fabrikam.example")
	for scopes, want := range map[string][]string{
		"openid profile email":           nil,
		"openid profile email User.Read": {"User.Read"},
	} {
		missing, err := s.MissingConsent(ctx, home.TenantID, alice, B2BAppID, strings.Fields(scopes))
		var got []string
		for _, p := range missing {
			got = append(got, p.Value)
		}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("consent missing for %q: %v %v", scopes, got, err)
		}
	}
	// Another application gets no such preauthorization.
	if missing, err := s.MissingConsent(ctx, home.TenantID, alice, CLIAppID, []string{"openid"}); err != nil || len(missing) != 1 {
		t.Errorf("the CLI's consent to openid: %v %v", missing, err)
	}
}

// TestAddMissingFirstPartyPrincipals: a tenant made before a first-party
// application existed (here: its principal removed) gets the principal when
// a node starts, once, even when two nodes start together; the others are
// left as they are.
func TestAddMissingFirstPartyPrincipals(t *testing.T) {
	for name, open := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			hasher, err := secrets.NewPasswordHasher(secrets.DefaultParams, 1)
			if err != nil {
				t.Fatal(err)
			}
			st := open(t)
			nodeA, _ := New(st, Config{Passwords: hasher, PublicURL: "https://id.example"})
			nodeB, _ := New(st, Config{Passwords: hasher, PublicURL: "https://id.example"})
			a, b, c := mustTenant(t, nodeA, "a.example"), mustTenant(t, nodeA, "b.example"), mustTenant(t, nodeA, "c.example")
			remove := func(tenantID, appID string) {
				t.Helper()
				if err := st.Update(ctx, func(tx store.Tx) error {
					sp, err := tx.GetObjectByAppID(ctx, tenantID, KindServicePrincipal, appID)
					if err != nil {
						return err
					}
					if err := tx.DeleteObject(ctx, tenantID, KindServicePrincipal, sp.ID, 0); err != nil {
						return err
					}
					return tx.PurgeObject(ctx, tenantID, KindServicePrincipal, sp.ID)
				}); err != nil {
					t.Fatal(err)
				}
			}
			remove(a.TenantID, AdminAppID)
			remove(b.TenantID, AdminAppID)
			remove(b.TenantID, B2BAppID)
			if _, err := nodeA.GetByAppID(ctx, a.TenantID, KindServicePrincipal, AdminAppID); !usererr.IsKind(err, usererr.NotFound) {
				t.Fatalf("A's principal of the admin centre after its removal: %v", err)
			}
			untouched, err := nodeA.GetByAppID(ctx, c.TenantID, KindServicePrincipal, AdminAppID)
			if err != nil {
				t.Fatal(err)
			}

			var wg sync.WaitGroup
			var added [2]int
			var errs [2]error
			for i, node := range []*Service{nodeA, nodeB} {
				wg.Go(func() { added[i], errs[i] = node.AddMissingFirstPartyPrincipals(ctx) })
			}
			wg.Wait()
			if errs[0] != nil || errs[1] != nil || added[0]+added[1] != 3 {
				t.Fatalf("two nodes starting: added %v, errors %v; want 3 in all", added, errs)
			}
			// What a tenant's principal of a first-party application is, it
			// can now disable (PATCH accountEnabled), as a new tenant can.
			for _, p := range []struct{ tenantID, appID, name string }{{a.TenantID, AdminAppID, "Gatehouse admin centre"},
				{b.TenantID, AdminAppID, "Gatehouse admin centre"}, {b.TenantID, B2BAppID, "Gatehouse B2B"}} {
				sp, err := nodeA.GetByAppID(ctx, p.tenantID, KindServicePrincipal, p.appID)
				if err != nil || sp.Doc["displayName"] != p.name || sp.Doc["appOwnerOrganizationId"] != FirstPartyOwnerID {
					t.Fatalf("%s after the start: %v, %v", p.name, sp.Doc, err)
				}
				if err := nodeA.UpdateServicePrincipal(ctx, p.tenantID, sp.ID, Doc{"accountEnabled": false}, 0); err != nil {
					t.Fatal(err)
				}
				if _, err := nodeA.ClientByAppID(ctx, p.tenantID, p.appID); !errors.Is(err, ErrClientDisabled) {
					t.Errorf("%s disabled: %v", p.name, err)
				}
			}
			if again, err := nodeA.AddMissingFirstPartyPrincipals(ctx); again != 0 || err != nil {
				t.Errorf("a second start added %d, %v", again, err)
			}
			if now, err := nodeA.GetByAppID(ctx, c.TenantID, KindServicePrincipal, AdminAppID); err != nil || now.ID != untouched.ID || now.Version != untouched.Version {
				t.Errorf("C's principal changed: %+v, was %+v (%v)", now, untouched, err)
			}
		})
	}
}

// TestGraphPermissionsAreUnique: each of Microsoft Graph's application
// permissions once, by id and by value (a repeated one showed twice in the
// admin centre's permission picker and in the principal's appRoles).
func TestGraphPermissionsAreUnique(t *testing.T) {
	ids, values := map[string]bool{}, map[string]bool{}
	for _, p := range GraphPermissions {
		if ids[p.ID] || values[p.Value] {
			t.Errorf("%s (%s) listed twice", p.Value, p.ID)
		}
		ids[p.ID], values[p.Value] = true, true
	}
}
