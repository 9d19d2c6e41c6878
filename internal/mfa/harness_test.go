package mfa

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/postgres"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

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

// mailbox keeps the messages enqueued, as the outbox would send them.
type mailbox struct {
	mu   sync.Mutex
	msgs []mail.Message
}

func (m *mailbox) Enqueue(_ context.Context, _ store.Tx, _ string, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	return nil
}

var digitsRE = regexp.MustCompile(`\b\d{8}\b`)

// lastCode is the code of the latest message to an address.
func (m *mailbox) lastCode(t testing.TB, to string) string {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.msgs) - 1; i >= 0; i-- {
		if m.msgs[i].To[0].Address == to {
			if c := digitsRE.FindString(m.msgs[i].Text); c != "" {
				return c
			}
		}
	}
	t.Fatalf("no code sent to %s", to)
	return ""
}

type env struct {
	t       testing.TB
	st      store.Store
	dir     *directory.Service
	svc     *Service
	keys    *secrets.Keyring
	clock   *clock
	mail    *mailbox
	tenant  string
	alice   string // a member with a mail address
	bob     string // a member without one
	adminID string
}

func newEnv(t testing.TB, open func(t testing.TB, now func() time.Time) store.Store) *env {
	t.Helper()
	ctx := context.Background()
	// A time in the middle of a TOTP step, so a test's code is of the step
	// it means.
	c := &clock{at: time.Unix(time.Now().Unix()/30*30+10, 0).UTC()}
	st := open(t, c.now)
	hasher, err := secrets.NewPasswordHasher(secrets.DefaultParams, 2)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := directory.New(st, directory.Config{Now: c.now, Passwords: hasher})
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	keys, err := secrets.FromBase64(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	box := &mailbox{}
	svc, err := New(Config{Directory: dir, Keys: keys, Mailer: box,
		Codes: otp.New([]byte("a test key of at least sixteen bytes"), otp.DefaultPolicy(), c.now, rand.Reader), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, dir: dir, svc: svc, keys: keys, clock: c, mail: box}
	created, err := dir.CreateTenant(ctx, directory.NewTenant{DisplayName: "Contoso: Sales", Domain: "contoso.example"})
	if err != nil {
		t.Fatal(err)
	}
	e.tenant = created.TenantID
	e.adminID = e.userID(created.Admin.UserPrincipalName)
	for alias, mailAddr := range map[string]string{"alice": "Alice@Contoso.example", "bob": ""} {
		body := directory.Doc{"accountEnabled": true, "displayName": "User " + alias, "mailNickname": alias,
			"userPrincipalName": alias + "@contoso.example", "passwordProfile": map[string]any{"password": "correct horse battery " + alias}}
		if mailAddr != "" {
			body["mail"] = mailAddr
		}
		u, err := dir.CreateUser(ctx, e.tenant, body)
		if err != nil {
			t.Fatal(err)
		}
		if alias == "alice" {
			e.alice = u.ID
		} else {
			e.bob = u.ID
		}
	}
	return e
}

func (e *env) userID(upn string) string {
	e.t.Helper()
	var o store.Object
	if err := e.st.View(context.Background(), func(tx store.Tx) (err error) {
		o, err = tx.GetObjectByUPN(context.Background(), e.tenant, directory.KindUser, strings.ToLower(upn))
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return o.ID
}

// enrol registers a TOTP method for the user and returns its secret.
func (e *env) enrol(userID string) (Method, string) {
	e.t.Helper()
	en, err := e.svc.BeginTOTP(context.Background(), e.tenant, userID)
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := e.svc.ConfirmTOTP(context.Background(), e.tenant, userID, en.Token, e.code(en.Secret, 0))
	if err != nil {
		e.t.Fatal(err)
	}
	return m, en.Secret
}

// code is the TOTP code of secret at the test's time moved by offset.
func (e *env) code(secret string, offset time.Duration) string {
	e.t.Helper()
	c, err := Code(secret, e.clock.now().Add(offset))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func openSQLite(t testing.TB, now func() time.Time) store.Store {
	return storetest.SQLite(t, "", sqlite.Options{Now: now})
}

// eachBackend runs fn over each store backend.
func eachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	for name, open := range map[string]func(t testing.TB, now func() time.Time) store.Store{
		"sqlite": openSQLite,
		"postgres": func(t testing.TB, now func() time.Time) store.Store {
			return storetest.Postgres(t, "", postgres.Options{Now: now})
		},
	} {
		t.Run(name, func(t *testing.T) { fn(t, newEnv(t, open)) })
	}
}

// audits returns the tenant's security info records (Authentication
// Methods), newest first.
func (e *env) audits() []audit.DirectoryAudit {
	e.t.Helper()
	f, err := odata.ParseFilter("loggedByService eq 'Authentication Methods'")
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := audit.NewLog(e.st).List(context.Background(), e.tenant, store.LogDirectoryAudit, audit.Query{Filter: f, Top: 100})
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
