package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

func newTestService(t *testing.T) *Service {
	t.Helper()
	hasher, err := secrets.NewPasswordHasher(secrets.DefaultParams, 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(storetest.SQLite(t, filepath.Join(t.TempDir(), "d.db")), Config{Passwords: hasher})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustUser(t *testing.T, s *Service, tenantID, upn string) string {
	t.Helper()
	u, err := s.CreateUser(context.Background(), tenantID, Doc{"accountEnabled": true, "displayName": upn, "mailNickname": "m",
		"userPrincipalName": upn, "passwordProfile": map[string]any{"password": "correct horse battery staple"}})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// memberAndApp is a service with a tenant holding a member and an
// application registration.
func memberAndApp(t *testing.T) (s *Service, ten CreatedTenant, member, appID string) {
	t.Helper()
	s = newTestService(t)
	ten, err := s.CreateTenant(context.Background(), NewTenant{DisplayName: "C", Domain: "c.example"})
	if err != nil {
		t.Fatal(err)
	}
	member = mustUser(t, s, ten.TenantID, "m@c.example")
	app, err := s.CreateApplication(context.Background(), ten.TenantID, Doc{"displayName": "Notes"})
	if err != nil {
		t.Fatal(err)
	}
	return s, ten, member, str(app.Doc, "appId")
}

func TestUserConsentFollowsTheAuthorizationPolicy(t *testing.T) {
	ctx := context.Background()
	s, ten, member, appID := memberAndApp(t)
	if err := s.GrantConsent(ctx, ten.TenantID, member, appID, []string{"openid", "User.Read"}); err != nil {
		t.Fatalf("default policy: %v", err)
	}
	if err := s.GrantConsent(ctx, ten.TenantID, member, appID, []string{"User.Read.All"}); !errors.Is(err, ErrAdminConsentRequired) {
		t.Fatalf("admin-only permission: %v", err)
	}
	if err := s.UpdateAuthorizationPolicy(ctx, ten.TenantID, Doc{"defaultUserRolePermissions": map[string]any{"permissionGrantPoliciesAssigned": []any{}}}); err != nil {
		t.Fatal(err)
	}
	p, _ := s.AuthorizationPolicy(ctx, ten.TenantID)
	if mapOf(p.Doc["defaultUserRolePermissions"])["allowedToCreateApps"] != true {
		t.Fatalf("a nested PATCH must keep the other settings: %v", p.Doc)
	}
	if err := s.GrantConsent(ctx, ten.TenantID, member, appID, []string{"profile"}); !errors.Is(err, ErrUserConsentDisabled) {
		t.Fatalf("user consent disabled: %v", err)
	}
	admin, err := s.SignIn(ctx, ten.TenantID, ten.Admin.UserPrincipalName, ten.Admin.Password)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.GrantConsent(ctx, ten.TenantID, admin.ID, appID, []string{"profile", "User.Read.All"}); err != nil {
		t.Fatalf("an administrator still consents: %v", err)
	}
	if err := s.UpdateAuthorizationPolicy(ctx, ten.TenantID, Doc{"allowInvitesFrom": "sometimes"}); !usererr.IsKind(err, usererr.Invalid) {
		t.Fatalf("invalid enum accepted: %v", err)
	}
}

func TestMultitenantApplicationFromAnotherTenant(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	home, _ := s.CreateTenant(ctx, NewTenant{DisplayName: "Publisher", Domain: "publisher.example"})
	other, _ := s.CreateTenant(ctx, NewTenant{DisplayName: "Customer", Domain: "customer.example"})
	multi, err := s.CreateApplication(ctx, home.TenantID, Doc{"displayName": "Multi", "signInAudience": "AzureADMultipleOrgs",
		"web": map[string]any{"redirectUris": []any{"https://multi.example/cb"}}})
	if err != nil {
		t.Fatal(err)
	}
	single, _ := s.CreateApplication(ctx, home.TenantID, Doc{"displayName": "Single"})
	multiID, singleID := str(multi.Doc, "appId"), str(single.Doc, "appId")
	cred, err := s.AddPassword(ctx, home.TenantID, multi.ID, Doc{})
	if err != nil {
		t.Fatal(err)
	}

	c, err := s.ClientByAppID(ctx, other.TenantID, multiID)
	if err != nil || c.HomeTenantID != home.TenantID || !c.Confidential || c.WebRedirectURIs[0] != "https://multi.example/cb" {
		t.Fatalf("multitenant client seen from another tenant: %+v %v", c, err)
	}
	if _, err := s.ClientByAppID(ctx, other.TenantID, singleID); !usererr.IsKind(err, usererr.NotFound) {
		t.Fatalf("a single-tenant app is visible from another tenant: %v", err)
	}
	// A client credential in the other tenant needs its service principal there.
	if _, err := s.AuthenticateApp(ctx, other.TenantID, multiID, cred.SecretText); !errors.Is(err, ErrBadClient) {
		t.Fatalf("token for a tenant that never consented: %v", err)
	}
	user := mustUser(t, s, other.TenantID, "u@customer.example")
	if err := s.GrantConsent(ctx, other.TenantID, user, multiID, []string{"openid", "User.Read"}); err != nil {
		t.Fatal(err)
	}
	sps, err := s.List(ctx, other.TenantID, KindServicePrincipal, Query{Top: 10})
	if err != nil {
		t.Fatal(err)
	}
	var sp Object
	for _, o := range sps.Objects {
		if str(o.Doc, "appId") == multiID {
			sp = o
		}
	}
	if sp.ID == "" || sp.Doc["appOwnerOrganizationId"] != home.TenantID {
		t.Fatalf("consent must create the principal in the user's tenant, owned by the publisher: %v", sp.Doc)
	}
	app, err := s.AuthenticateApp(ctx, other.TenantID, multiID, cred.SecretText)
	if err != nil || app.ServicePrincipalID != sp.ID {
		t.Fatalf("client credentials in the customer tenant: %+v %v", app, err)
	}
	if got, _ := s.GrantedScopes(ctx, other.TenantID, user, multiID); len(got) != 2 {
		t.Fatalf("granted scopes %v", got)
	}
	if got, _ := s.GrantedScopes(ctx, home.TenantID, user, multiID); len(got) != 0 {
		t.Fatalf("a grant leaked into the publisher tenant: %v", got)
	}
}

func TestUserConsentDecision(t *testing.T) {
	basic := DelegatedPermission{Value: "User.Read"}
	adminOnly := DelegatedPermission{Value: "User.Read.All", AdminOnly: true}
	tests := []struct {
		name           string
		admin, allowed bool
		wanted         []DelegatedPermission
		want           error
	}{
		{"member, basic permission", false, true, []DelegatedPermission{basic}, nil},
		{"member, nothing but sign-in", false, true, nil, nil},
		{"member, admin-only permission", false, true, []DelegatedPermission{basic, adminOnly}, ErrAdminConsentRequired},
		{"member, user consent off", false, false, []DelegatedPermission{basic}, ErrUserConsentDisabled},
		{"member, admin-only and user consent off", false, false, []DelegatedPermission{adminOnly}, ErrAdminConsentRequired},
		{"administrator, admin-only permission", true, true, []DelegatedPermission{adminOnly}, nil},
		{"administrator, user consent off", true, false, []DelegatedPermission{basic, adminOnly}, nil},
	}
	for _, tt := range tests {
		if got := userConsent(tt.admin, tt.allowed, tt.wanted); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestConsentFoundAmongThousandsOfGrants: a popular application's grants
// for other users do not hide a user's own, however many there are.
func TestConsentFoundAmongThousandsOfGrants(t *testing.T) {
	ctx := context.Background()
	s, ten, member, appID := memberAndApp(t)
	if err := s.GrantConsent(ctx, ten.TenantID, member, appID, []string{"openid", "User.Read"}); err != nil {
		t.Fatal(err)
	}
	spObj, err := s.GetByAppID(ctx, ten.TenantID, KindServicePrincipal, appID)
	if err != nil {
		t.Fatal(err)
	}
	sp := spObj.ID
	// 1,000 other users' grants, whose ids sort before the member's.
	now := time.Now().UTC()
	err = s.raw.Update(ctx, func(tx store.Tx) error {
		for i := range 1000 {
			id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			data, _ := json.Marshal(Doc{"id": id, "clientId": sp, "consentType": "Principal", "principalId": fmt.Sprintf("00000000-0000-4000-9000-%012d", i), "scope": "openid"})
			if err := tx.CreateObject(ctx, &store.Object{TenantID: ten.TenantID, Kind: KindPermissionGrant, ID: id, CreatedAt: now, UpdatedAt: now, Data: data}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	scopes, err := s.GrantedScopes(ctx, ten.TenantID, member, appID)
	if err != nil || !slices.Contains(scopes, "User.Read") {
		t.Fatalf("the member's scopes = %v, %v; want User.Read among them", scopes, err)
	}
	// Consenting again adds to the member's own grant rather than making a second.
	if err := s.GrantConsent(ctx, ten.TenantID, member, appID, []string{"profile"}); err != nil {
		t.Fatal(err)
	}
	if scopes, _ := s.GrantedScopes(ctx, ten.TenantID, member, appID); !slices.Contains(scopes, "profile") || !slices.Contains(scopes, "User.Read") {
		t.Fatalf("after consenting again: %v", scopes)
	}
}
