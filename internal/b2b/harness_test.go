package b2b

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/postgres"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

const publicURL = "https://id.gatehouse.test"

// clock is a test's settable time.
type clock struct {
	mu sync.Mutex
	at time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.at }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}

// outboxMailer enqueues messages in the transaction, as the real outbox
// does: a message of a rolled-back transaction is never seen.
type outboxMailer struct{}

func (outboxMailer) Enqueue(ctx context.Context, tx store.Tx, tenantID string, m mail.Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return tx.Enqueue(ctx, store.Message{ID: m.MessageID, TenantID: tenantID, Topic: "mail", Payload: b, CreatedAt: time.Now(), NotBefore: time.Now()})
}

type mapProviders map[string]federation.Provider

func (m mapProviders) ForDomain(_ context.Context, _ string, domain string) (federation.Provider, bool, error) {
	p, ok := m[domain]
	return p, ok, nil
}

// env is one deployment: a resource tenant (Contoso) and a home tenant
// of this deployment (Fabrikam) whose user Ana is invited.
type env struct {
	t       *testing.T
	st      store.Store
	dir     *directory.Service
	svc     *Service
	clock   *clock
	contoso string
	admin   caller.Caller
	app     caller.Caller
	fab     string
	anaID   string
}

func newEnv(t *testing.T, open func(t *testing.T, now func() time.Time) store.Store) *env {
	t.Helper()
	ctx := context.Background()
	hasher, err := secrets.NewPasswordHasher(secrets.DefaultParams, 2)
	if err != nil {
		t.Fatal(err)
	}
	// The store keeps the test's time too: tickets and counters expire by it.
	c := &clock{at: time.Now().UTC().Truncate(time.Second)}
	st := open(t, c.now)
	dir, err := directory.New(st, directory.Config{Now: c.now, Passwords: hasher})
	if err != nil {
		t.Fatal(err)
	}
	codes := otp.New([]byte("a test key of at least sixteen bytes"), otp.DefaultPolicy(), c.now, rand.Reader)
	svc, err := New(Config{Directory: dir, Mailer: outboxMailer{}, Codes: codes, PublicURL: publicURL, Now: c.now,
		Providers: mapProviders{"gmail.example": {Kind: federation.KindOIDC, ID: "google", Issuer: "https://accounts.google.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, dir: dir, svc: svc, clock: c}
	contoso, err := dir.CreateTenant(ctx, directory.NewTenant{DisplayName: "Contoso", Domain: "contoso.example"})
	if err != nil {
		t.Fatal(err)
	}
	e.contoso = contoso.TenantID
	adminID := e.objectByUPN(e.contoso, contoso.Admin.UserPrincipalName)
	e.admin = caller.Caller{TenantID: e.contoso, ObjectID: adminID, DirectoryRoles: []string{authz.GlobalAdministrator}, Scopes: []string{"User.Invite.All"}}
	var sp store.Object
	if err := st.View(ctx, func(tx store.Tx) (err error) {
		sp, err = tx.GetObjectByAppID(ctx, e.contoso, directory.KindServicePrincipal, contoso.Auto.ClientID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.app = caller.Caller{TenantID: e.contoso, ObjectID: sp.ID, AppID: contoso.Auto.ClientID, AppOnly: true, Roles: []string{"User.Invite.All"}}
	fab, err := dir.CreateTenant(ctx, directory.NewTenant{DisplayName: "Fabrikam", Domain: "fabrikam.example"})
	if err != nil {
		t.Fatal(err)
	}
	e.fab = fab.TenantID
	ana, err := dir.CreateUser(ctx, e.fab, directory.Doc{"accountEnabled": true, "displayName": "Ana Silva", "mailNickname": "ana",
		"userPrincipalName": "ana@fabrikam.example", "mail": "ana@fabrikam.example",
		"passwordProfile": map[string]any{"password": "correct horse battery staple"}})
	if err != nil {
		t.Fatal(err)
	}
	e.anaID = ana.ID
	return e
}

func (e *env) objectByUPN(tenantID, upn string) string {
	e.t.Helper()
	var o store.Object
	if err := e.st.View(context.Background(), func(tx store.Tx) (err error) {
		o, err = tx.GetObjectByUPN(context.Background(), tenantID, directory.KindUser, strings.ToLower(upn))
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return o.ID
}

// as is a context carrying c.
func as(c caller.Caller) context.Context { return caller.With(context.Background(), c) }

// invite invites addr as the admin and returns the invitation and ticket.
func (e *env) invite(addr string, extra directory.Doc) (directory.Doc, string) {
	e.t.Helper()
	body := directory.Doc{"invitedUserEmailAddress": addr, "inviteRedirectUrl": "https://apps.contoso.example/welcome"}
	for k, v := range extra {
		body[k] = v
	}
	inv, err := e.svc.Invite(as(e.admin), e.contoso, body)
	if err != nil {
		e.t.Fatalf("invite %s: %v", addr, err)
	}
	return inv, ticketOf(e.t, inv)
}

func ticketOf(t *testing.T, inv directory.Doc) string {
	t.Helper()
	u := str(inv, "inviteRedeemUrl")
	_, secret, ok := strings.Cut(u, "/redeem?ticket=")
	if !ok || !strings.HasPrefix(u, publicURL+"/redeem?ticket=") {
		t.Fatalf("inviteRedeemUrl %q", u)
	}
	return secret
}

func invitedUserID(inv directory.Doc) string {
	m, _ := inv["invitedUser"].(map[string]any)
	id, _ := m["id"].(string)
	return id
}

// user reads a live user's document.
func (e *env) user(tenantID, id string) directory.Doc {
	e.t.Helper()
	var d directory.Doc
	if err := e.st.View(context.Background(), func(tx store.Tx) error {
		u, err := liveUser(context.Background(), tx, tenantID, id)
		d = u.Doc
		return err
	}); err != nil {
		e.t.Fatalf("user %s: %v", id, err)
	}
	return d
}

// anaIdentity is Ana signing in at her home tenant.
func (e *env) anaIdentity() federation.Identity {
	iss := e.svc.TenantIssuer(e.fab)
	return federation.Identity{Issuer: iss, Subject: e.anaID, Email: "ana@fabrikam.example", EmailVerified: true,
		HomeTenantID: e.fab, HomeObjectID: e.anaID, IdP: iss, DisplayName: "Ana Silva"}
}

// audits returns the tenant's directory audit records of an activity.
func (e *env) audits(tenantID, activity string) []audit.DirectoryAudit {
	e.t.Helper()
	f, err := odata.ParseFilter("activityDisplayName eq '" + activity + "'")
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := audit.NewLog(e.st).List(context.Background(), tenantID, store.LogDirectoryAudit, audit.Query{Filter: f, Top: 50})
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]audit.DirectoryAudit, len(p.Records))
	for i, r := range p.Records {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			e.t.Fatal(err)
		}
	}
	return out
}

// mails returns the messages enqueued so far (and claims them).
func (e *env) mails() []mail.Message {
	e.t.Helper()
	var out []mail.Message
	if err := e.st.Update(context.Background(), func(tx store.Tx) error {
		ms, err := tx.ClaimMessages(context.Background(), "mail", time.Now().Add(time.Hour), time.Hour, 100)
		for _, m := range ms {
			var msg mail.Message
			if err := json.Unmarshal(m.Payload, &msg); err != nil {
				return err
			}
			out = append(out, msg)
			if err := tx.CompleteMessage(context.Background(), m.ID); err != nil {
				return err
			}
		}
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// eachBackend runs fn over each store backend.
func eachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	for name, open := range map[string]func(t *testing.T, now func() time.Time) store.Store{
		"sqlite": func(t *testing.T, now func() time.Time) store.Store {
			return storetest.SQLite(t, "", sqlite.Options{Now: now})
		},
		"postgres": func(t *testing.T, now func() time.Time) store.Store {
			return storetest.Postgres(t, "", postgres.Options{Now: now})
		},
	} {
		t.Run(name, func(t *testing.T) { fn(t, newEnv(t, open)) })
	}
}
