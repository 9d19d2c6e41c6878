package directory

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// auditsOf returns the tenant's directory audit records with an activity,
// newest first.
func auditsOf(t *testing.T, s *Service, tenantID, activity string) []audit.DirectoryAudit {
	t.Helper()
	// Tenant creation's own records are the system's.
	f, err := odata.ParseFilter("activityDisplayName eq '" + activity + "' and not(initiatedBy/app/displayName eq 'Gatehouse')")
	if err != nil {
		t.Fatal(err)
	}
	p, err := audit.NewLog(s.Store()).List(context.Background(), tenantID, store.LogDirectoryAudit, audit.Query{Filter: f, Top: 50})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]audit.DirectoryAudit, len(p.Records))
	for i, r := range p.Records {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func oneAudit(t *testing.T, s *Service, tenantID, activity string) (audit.DirectoryAudit, string) {
	t.Helper()
	recs := auditsOf(t, s, tenantID, activity)
	if len(recs) != 1 {
		t.Fatalf("%d records of %q, want 1", len(recs), activity)
	}
	raw, _ := json.Marshal(recs[0])
	return recs[0], string(raw)
}

func changedProp(a audit.DirectoryAudit, name string) (audit.ModifiedProperty, bool) {
	for _, t := range a.TargetResources {
		for _, m := range t.ModifiedProperties {
			if m.DisplayName == name {
				return m, true
			}
		}
	}
	return audit.ModifiedProperty{}, false
}

func TestDirectoryWritesAreAudited(t *testing.T) {
	s := newTestService(t)
	bg := context.Background()
	ten, err := s.CreateTenant(bg, NewTenant{DisplayName: "A", Domain: "a.example"})
	if err != nil {
		t.Fatal(err)
	}
	tid := ten.TenantID
	var sp store.Object
	if err := s.Store().View(bg, func(tx store.Tx) (err error) {
		sp, err = tx.GetObjectByAppID(bg, tid, KindServicePrincipal, ten.Auto.ClientID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ctx := caller.With(bg, caller.Caller{TenantID: tid, ObjectID: sp.ID, AppID: ten.Auto.ClientID, AppOnly: true, Roles: AutomationPermissions, IPAddress: "192.0.2.1"})

	const pw, pw2 = "correct horse battery staple", "another long passphrase 42"
	u, err := s.CreateUser(ctx, tid, Doc{"accountEnabled": true, "displayName": "Ann", "mailNickname": "ann",
		"userPrincipalName": "ann@a.example", "passwordProfile": map[string]any{"password": pw}})
	if err != nil {
		t.Fatal(err)
	}
	add, raw := oneAudit(t, s, tid, "Add user")
	if add.Category != audit.CategoryUserManagement || add.Result != "success" || add.OperationType != "Add" {
		t.Errorf("Add user: %+v", add)
	}
	if app := add.InitiatedBy.App; app == nil || app.AppID != ten.Auto.ClientID || app.ServicePrincipalID != sp.ID || app.DisplayName == "" || add.InitiatedBy.User != nil {
		t.Errorf("initiator %s", raw)
	}
	if len(add.TargetResources) != 1 || add.TargetResources[0].ID != u.ID || add.TargetResources[0].UserPrincipalName != "ann@a.example" || add.TargetResources[0].Type != "User" {
		t.Errorf("targets %s", raw)
	}
	if m, ok := changedProp(add, "displayName"); !ok || m.NewValue == nil || *m.NewValue != `"Ann"` {
		t.Errorf("displayName change %+v in %s", m, raw)
	}
	if m, ok := changedProp(add, "passwordProfile"); !ok || m.OldValue != nil || m.NewValue != nil {
		t.Errorf("passwordProfile must be named without values: %+v", m)
	}
	if strings.Contains(raw, pw) || strings.Contains(raw, "argon2") {
		t.Errorf("the record holds a secret: %s", raw)
	}

	if err := s.UpdateUser(ctx, tid, u.ID, Doc{"jobTitle": "Pilot"}, 0); err != nil {
		t.Fatal(err)
	}
	upd, raw := oneAudit(t, s, tid, "Update user")
	if m, ok := changedProp(upd, "jobTitle"); !ok || m.OldValue != nil || m.NewValue == nil || *m.NewValue != `"Pilot"` {
		t.Errorf("jobTitle change in %s", raw)
	}
	if _, ok := changedProp(upd, "displayName"); ok {
		t.Errorf("an unchanged property is listed: %s", raw)
	}

	if err := s.UpdateUser(ctx, tid, u.ID, Doc{"passwordProfile": map[string]any{"password": pw2}}, 0); err != nil {
		t.Fatal(err)
	}
	_, raw = oneAudit(t, s, tid, "Reset user password")
	if strings.Contains(raw, pw2) {
		t.Errorf("the reset record holds the password: %s", raw)
	}
	// The user's own change on the pages (no API caller) is theirs.
	if err := s.ChangePassword(bg, tid, u.ID, pw2, pw); err != nil {
		t.Fatal(err)
	}
	own, raw := oneAudit(t, s, tid, "Change user password")
	if own.InitiatedBy.User == nil || own.InitiatedBy.User.ID != u.ID || own.InitiatedBy.User.UserPrincipalName != "ann@a.example" {
		t.Errorf("own change initiator: %s", raw)
	}

	g, err := s.CreateGroup(ctx, tid, Doc{"displayName": "Pilots", "mailEnabled": false, "mailNickname": "pilots", "securityEnabled": true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddLink(ctx, tid, g.ID, RelMembers, u.ID); err != nil {
		t.Fatal(err)
	}
	member, raw := oneAudit(t, s, tid, "Add member to group")
	if len(member.TargetResources) != 2 || member.TargetResources[0].ID != u.ID || member.TargetResources[1].ID != g.ID || member.Category != audit.CategoryGroupManagement {
		t.Errorf("member targets: %s", raw)
	}

	app, err := s.CreateApplication(ctx, tid, Doc{"displayName": "Notes"})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := s.AddPassword(ctx, tid, app.ID, Doc{"passwordCredential": map[string]any{"displayName": "ci"}})
	if err != nil {
		t.Fatal(err)
	}
	_, raw = oneAudit(t, s, tid, "Update application – Certificates and secrets management")
	if strings.Contains(raw, cred.SecretText) || !strings.Contains(raw, `"passwordCredentials"`) {
		t.Errorf("secret record: %s", raw)
	}

	if err := s.Delete(ctx, tid, KindUser, u.ID, 0); err != nil {
		t.Fatal(err)
	}
	del, raw := oneAudit(t, s, tid, "Delete user")
	if del.TargetResources[0].ID != u.ID || del.TargetResources[0].UserPrincipalName != "ann@a.example" {
		t.Errorf("delete record: %s", raw)
	}
	if _, err := s.Restore(ctx, tid, u.ID); err != nil {
		t.Fatal(err)
	}
	oneAudit(t, s, tid, "Restore user")
}

// refusingStore is a store whose transactions cannot append audit records.
type refusingStore struct{ store.Store }

func (r refusingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return r.Store.Update(ctx, func(tx store.Tx) error { return fn(refusingTx{tx}) })
}

type refusingTx struct{ store.Tx }

var errAuditDown = errors.New("audit log unavailable")

func (refusingTx) AppendAudit(context.Context, ...store.AuditRecord) error { return errAuditDown }

// TestUnauditableWritesRollBack: a change whose audit record cannot be
// written does not happen.
func TestUnauditableWritesRollBack(t *testing.T) {
	bg := context.Background()
	hasher, err := secrets.NewPasswordHasher(secrets.DefaultParams, 1)
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.SQLite(t, filepath.Join(t.TempDir(), "d.db"))
	good, err := New(st, Config{Passwords: hasher})
	if err != nil {
		t.Fatal(err)
	}
	ten, err := good.CreateTenant(bg, NewTenant{DisplayName: "A", Domain: "a.example"})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := New(refusingStore{st}, Config{Passwords: hasher})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.CreateUser(bg, ten.TenantID, Doc{"accountEnabled": true, "displayName": "Bo", "mailNickname": "bo",
		"userPrincipalName": "bo@a.example", "passwordProfile": map[string]any{"password": "correct horse battery staple"}})
	if !errors.Is(err, errAuditDown) {
		t.Fatalf("CreateUser = %v, want the audit failure", err)
	}
	if _, err := good.Get(bg, ten.TenantID, KindUser, "bo@a.example"); err == nil {
		t.Fatal("the user was created without its audit record")
	}
	off := Doc{"defaultUserRolePermissions": map[string]any{"permissionGrantPoliciesAssigned": []any{}}}
	if err := bad.UpdateAuthorizationPolicy(bg, ten.TenantID, off); !errors.Is(err, errAuditDown) {
		t.Fatalf("UpdateAuthorizationPolicy = %v, want the audit failure", err)
	}
	p, err := good.AuthorizationPolicy(bg, ten.TenantID)
	if err != nil || !userConsentAllowed(p.Doc) {
		t.Fatalf("the policy changed without its audit record (%v)", err)
	}
}

func TestActivityNames(t *testing.T) {
	admin := audit.Initiator{User: &audit.UserIdentity{ID: "admin"}}
	cases := []struct {
		e        entry
		who      audit.Initiator
		name     string
		category string
	}{
		{entry{kind: KindUser, op: opAdd}, admin, "Add user", audit.CategoryUserManagement},
		{entry{kind: KindUser, op: opUpdate, id: "u"}, admin, "Update user", audit.CategoryUserManagement},
		{entry{kind: KindUser, op: opUpdate, id: "u", secrets: []string{"passwordProfile"}}, admin, "Reset user password", audit.CategoryUserManagement},
		{entry{kind: KindUser, op: opUpdate, id: "admin", secrets: []string{"passwordProfile"}}, admin, "Change user password", audit.CategoryUserManagement},
		{entry{kind: KindUser, op: opHardDelete}, admin, "Hard delete user", audit.CategoryUserManagement},
		{entry{kind: KindGroup, op: opRestore}, admin, "Restore group", audit.CategoryGroupManagement},
		{entry{kind: KindUser, op: opAddLink, rel: RelMembers, source: Object{Kind: KindGroup}}, admin, "Add member to group", audit.CategoryGroupManagement},
		{entry{kind: KindUser, op: opRemoveLink, rel: RelOwners, source: Object{Kind: KindApplication}}, admin, "Remove owner from application", audit.CategoryApplicationManagement},
		{entry{kind: KindApplication, op: opUpdate, secrets: []string{"passwordCredentials"}}, admin, "Update application – Certificates and secrets management", audit.CategoryApplicationManagement},
		{entry{kind: KindServicePrincipal, op: opDelete}, admin, "Remove service principal", audit.CategoryApplicationManagement},
		{entry{kind: KindAppRoleAssign, op: opAdd, after: Doc{"principalType": "ServicePrincipal"}}, admin, "Add app role assignment to service principal", audit.CategoryApplicationManagement},
		{entry{kind: KindAppRoleAssign, op: opDelete, before: Doc{"principalType": "User"}}, admin, "Remove app role assignment from user", audit.CategoryApplicationManagement},
		{entry{kind: KindUser, op: opAddLink, rel: RelSponsors, source: Object{Kind: KindUser}}, admin, "Add sponsor to user", audit.CategoryUserManagement},
		{entry{kind: KindRoleAssignment, op: opAdd}, admin, "Add member to role", audit.CategoryRoleManagement},
		{entry{kind: KindPermissionGrant, op: opAdd}, admin, "Add delegated permission grant", audit.CategoryApplicationManagement},
		{entry{kind: KindAuthorizationPolicy, op: opUpdate}, admin, "Update authorization policy", audit.CategoryPolicy},
		{entry{kind: kindDomain, op: opAdd, after: Doc{"isVerified": true}}, admin, "Add verified domain", audit.CategoryDirectoryManagement},
		{entry{kind: kindDomain, op: opUpdate, before: Doc{"isVerified": false}, after: Doc{"isVerified": true}}, admin, "Verify domain", audit.CategoryDirectoryManagement},
		{entry{kind: KindOrganization, op: opUpdate}, admin, "Set company information", audit.CategoryDirectoryManagement},
		{entry{kind: "somethingNew", op: opAdd}, admin, "Add somethingNew", audit.CategoryOther},
	}
	for _, c := range cases {
		name, category := activity(&c.e, c.who)
		if name != c.name || category != c.category {
			t.Errorf("%s %s: %q (%s), want %q (%s)", c.e.op, c.e.kind, name, category, c.name, c.category)
		}
	}
}
