package login

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/sessionpolicy"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// memStore implements the state methods of store.Store and store.Tx in
// memory, with the SQL backends' semantics that matter here: expired
// states read as not found but keep their id until purged, and a failed
// transaction leaves nothing behind.
type memStore struct {
	mu     sync.Mutex
	clock  *clock
	states map[stateKey]store.State
	// fail, when set, is every transaction's error (the store is down).
	fail error
}

type stateKey struct{ tenant, kind, id string }

func newMemStore(c *clock) *memStore { return &memStore{clock: c, states: map[stateKey]store.State{}} }

func (m *memStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	saved := maps.Clone(m.states)
	if err := fn(&memTx{m: m}); err != nil {
		m.states = saved
		return err
	}
	return nil
}

func (m *memStore) View(ctx context.Context, fn func(store.Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	return fn(&memTx{m: m, readOnly: true})
}

func (m *memStore) Ping(context.Context) error { return nil }
func (m *memStore) Close() error               { return nil }

// count returns how many live states of a kind a tenant has.
func (m *memStore) count(tenant, kind string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, s := range m.states {
		if k.tenant == tenant && k.kind == kind && m.clock.Now().Before(s.ExpiresAt) {
			n++
		}
	}
	return n
}

// memTx embeds store.Tx so that it satisfies the interface; the methods
// the pages do not use are nil and would panic if called.
type memTx struct {
	store.Tx
	m        *memStore
	readOnly bool
}

var errReadOnly = fmt.Errorf("memstore: write in a read-only transaction")

func (t *memTx) live(tenant, kind, id string) (store.State, bool) {
	s, ok := t.m.states[stateKey{tenant, kind, id}]
	return s, ok && t.m.clock.Now().Before(s.ExpiresAt)
}

func (t *memTx) PutState(ctx context.Context, s store.State) error {
	if t.readOnly {
		return errReadOnly
	}
	k := stateKey{s.TenantID, s.Kind, s.ID}
	if _, taken := t.m.states[k]; taken {
		return &store.ConflictError{Key: "id"}
	}
	t.m.states[k] = s
	return nil
}

func (t *memTx) GetState(ctx context.Context, tenant, kind, id string) (store.State, error) {
	s, ok := t.live(tenant, kind, id)
	if !ok {
		return store.State{}, store.ErrNotFound
	}
	return s, nil
}

func (t *memTx) ConsumeState(ctx context.Context, tenant, kind, id string) (store.State, error) {
	if t.readOnly {
		return store.State{}, errReadOnly
	}
	s, ok := t.live(tenant, kind, id)
	if !ok {
		return store.State{}, store.ErrNotFound
	}
	if s.ConsumedAt != nil {
		return s, store.ErrConsumed
	}
	now := t.m.clock.Now()
	s.ConsumedAt = &now
	t.m.states[stateKey{tenant, kind, id}] = s
	return s, nil
}

func (t *memTx) LockState(ctx context.Context, s store.State) (store.State, error) {
	if t.readOnly {
		return store.State{}, errReadOnly
	}
	if old, ok := t.live(s.TenantID, s.Kind, s.ID); ok {
		return old, nil
	}
	t.m.states[stateKey{s.TenantID, s.Kind, s.ID}] = s
	return s, nil
}

func (t *memTx) UpdateState(ctx context.Context, s store.State) error {
	if t.readOnly {
		return errReadOnly
	}
	old, ok := t.live(s.TenantID, s.Kind, s.ID)
	if !ok || old.ConsumedAt != nil {
		return store.ErrNotFound
	}
	old.Data, old.ExpiresAt = s.Data, s.ExpiresAt
	t.m.states[stateKey{s.TenantID, s.Kind, s.ID}] = old
	return nil
}

func (t *memTx) DeleteStates(ctx context.Context, tenant string, f store.StateFilter) (int, error) {
	if t.readOnly {
		return 0, errReadOnly
	}
	if f == (store.StateFilter{}) {
		return 0, fmt.Errorf("memstore: empty state filter")
	}
	n := 0
	for k, s := range t.m.states {
		if k.tenant == tenant && matches(s, f) {
			delete(t.m.states, k)
			n++
		}
	}
	return n, nil
}

func (t *memTx) ListStates(ctx context.Context, tenant string, f store.StateFilter) ([]store.State, error) {
	var out []store.State
	for k, s := range t.m.states {
		if _, live := t.live(k.tenant, k.kind, k.id); live && k.tenant == tenant && matches(s, f) {
			out = append(out, s)
		}
	}
	return out, nil
}

func matches(s store.State, f store.StateFilter) bool {
	return (f.Kind == "" || s.Kind == f.Kind) && (f.Family == "" || s.Family == f.Family) && (f.Subject == "" || s.Subject == f.Subject)
}

// fakeUser is a directory user with its password.
type fakeUser struct {
	User
	password string
	disabled bool
}

// fakeDirectory is an in-memory Directory.
type fakeDirectory struct {
	mu       sync.Mutex
	users    map[string]*fakeUser // by tenant + "/" + folded UPN
	domains  map[string]string    // verified domain → tenant
	consents map[string][]string  // tenant/user/client → granted scopes
	branding map[string]Branding  // tenant → branding
	locales  []string             // the locales Branding was asked for
	signIns  []string             // tenant/user of every recorded interactive sign-in
	admins   map[string]bool      // tenant/user of administrators
	orgWide  map[string][]string  // tenant/client → scopes granted for everyone
	// checking, when set, runs as each password is checked.
	checking func()
	policy   sessionpolicy.Policy // every tenant's; zero: sessionpolicy.Default
}

func newFakeDirectory() *fakeDirectory {
	return &fakeDirectory{users: map[string]*fakeUser{}, domains: map[string]string{}, consents: map[string][]string{}, branding: map[string]Branding{},
		admins: map[string]bool{}, orgWide: map[string][]string{}}
}

func (d *fakeDirectory) addUser(u fakeUser) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users[u.TenantID+"/"+strings.ToLower(u.UserPrincipalName)] = &u
}

func (d *fakeDirectory) setDisabled(tenant, upn string, disabled bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users[tenant+"/"+strings.ToLower(upn)].disabled = disabled
}

func (d *fakeDirectory) grant(tenant, userID, client string, scopes ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := tenant + "/" + userID + "/" + client
	d.consents[k] = append(d.consents[k], scopes...)
}

func (d *fakeDirectory) SignIn(ctx context.Context, tenant, username, password string) (User, error) {
	if d.checking != nil {
		d.checking()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.users[tenant+"/"+strings.ToLower(username)]
	if !ok || u.disabled || u.password != password {
		return User{}, ErrBadCredentials
	}
	return u.User, nil
}

func (d *fakeDirectory) byID(tenant, id string) *fakeUser {
	for _, u := range d.users {
		if u.TenantID == tenant && u.ID == id {
			return u
		}
	}
	return nil
}

func (d *fakeDirectory) User(ctx context.Context, tenant, id string) (User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u := d.byID(tenant, id)
	if u == nil || u.disabled {
		return User{}, ErrNoUser
	}
	return u.User, nil
}

func (d *fakeDirectory) ChangePassword(ctx context.Context, tenant, id, current, next string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	u := d.byID(tenant, id)
	if u == nil || u.password != current {
		return ErrBadCredentials
	}
	if len(next) < 8 {
		return usererr.New(usererr.Invalid, "The password must have at least 8 characters.")
	}
	u.password, u.MustChangePassword = next, false
	return nil
}

func (d *fakeDirectory) HomeTenant(ctx context.Context, domain string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.domains[domain], nil
}

func (d *fakeDirectory) MissingConsent(ctx context.Context, tenant, userID, client string, scopes []string) ([]Permission, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var missing []Permission
	for _, s := range scopes {
		if !slices.Contains(d.consents[tenant+"/"+userID+"/"+client], s) {
			missing = append(missing, Permission{Value: s, Description: "Directory says: " + s})
		}
	}
	return missing, nil
}

// CheckConsent: like Graph's, permissions ending in .All need an administrator.
func (d *fakeDirectory) CheckConsent(ctx context.Context, tenant, userID string, scopes []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.admins[tenant+"/"+userID] && slices.ContainsFunc(scopes, func(s string) bool { return strings.HasSuffix(s, ".All") }) {
		return usererr.New(usererr.Forbidden, "Only an admin can grant this permission.")
	}
	return nil
}

func (d *fakeDirectory) GrantConsent(ctx context.Context, tenant, userID, client string, scopes []string) error {
	if err := d.CheckConsent(ctx, tenant, userID, scopes); err != nil {
		return err
	}
	d.grant(tenant, userID, client, scopes...)
	return nil
}

func (d *fakeDirectory) ConsentPermissions(ctx context.Context, tenant, client string, scopes []string) ([]Permission, error) {
	perms := make([]Permission, len(scopes))
	for i, s := range scopes {
		perms[i] = Permission{Value: s, Description: "Directory says: " + s}
	}
	return perms, nil
}

func (d *fakeDirectory) CheckAdminConsent(ctx context.Context, tenant, userID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.checkAdminConsent(tenant, userID)
}

func (d *fakeDirectory) checkAdminConsent(tenant, userID string) error {
	if !d.admins[tenant+"/"+userID] {
		return usererr.New(usererr.Forbidden, "Only an administrator can grant consent for the organization.")
	}
	return nil
}

func (d *fakeDirectory) GrantAdminConsent(ctx context.Context, tenant, userID, client string, scopes []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.checkAdminConsent(tenant, userID); err != nil {
		return err
	}
	d.orgWide[tenant+"/"+client] = append(d.orgWide[tenant+"/"+client], scopes...)
	return nil
}

func (d *fakeDirectory) Branding(ctx context.Context, tenant, locale string) (Branding, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.locales = append(d.locales, locale)
	return d.branding[tenant], nil
}

func (d *fakeDirectory) RecordSignIn(ctx context.Context, tenant, userID, requestID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.signIns = append(d.signIns, tenant+"/"+userID)
	return nil
}

func (d *fakeDirectory) SessionPolicy(context.Context, string) (sessionpolicy.Policy, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.policy == (sessionpolicy.Policy{}) {
		return sessionpolicy.Default, nil
	}
	return d.policy, nil
}

func (d *fakeDirectory) setPolicy(p sessionpolicy.Policy) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.policy = p
}

// outcome is how a fake request ended.
type outcome struct {
	finished    bool
	auth        authn.Authentication
	code        string
	description string
}

// fakeProtocol holds pending requests and records how they end. Like the
// provider it answers Finish and Deny itself; requests stay pending so
// that tests can see what a replay does.
type fakeProtocol struct {
	mu       sync.Mutex
	requests map[string]authn.Request
	outcomes map[string]outcome
}

func newFakeProtocol() *fakeProtocol {
	return &fakeProtocol{requests: map[string]authn.Request{}, outcomes: map[string]outcome{}}
}

func (f *fakeProtocol) add(r authn.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests[r.ID] = r
}

func (f *fakeProtocol) outcome(id string) (outcome, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.outcomes[id]
	return o, ok
}

func (f *fakeProtocol) PendingRequest(ctx context.Context, tenant, id string) (authn.Request, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.requests[id]
	if !ok || r.TenantID != tenant {
		return authn.Request{}, fmt.Errorf("no pending request %q", id)
	}
	if _, done := f.outcomes[id]; done {
		return authn.Request{}, fmt.Errorf("request %q already ended", id)
	}
	return r, nil
}

func (f *fakeProtocol) Finish(w http.ResponseWriter, r *http.Request, tenant, id string, a authn.Authentication) {
	f.mu.Lock()
	f.outcomes[id] = outcome{finished: true, auth: a}
	f.mu.Unlock()
	fmt.Fprintf(w, "FINISHED %s", id)
}

// StartDevice accepts one code, throttles on another, and refuses the rest.
func (f *fakeProtocol) StartDevice(w http.ResponseWriter, r *http.Request, tenant, userCode string) error {
	switch userCode {
	case "BCDF-GHJK":
		http.Redirect(w, r, "/"+tenant+"/login?request=from-device", http.StatusFound)
		return nil
	case "SLOW-SLOW":
		return authn.ErrTooManyUserCodes
	}
	return authn.ErrInvalidUserCode
}

// Rehome moves a request for any organization to the user's tenant under
// the id "{id}@{tenant}".
func (f *fakeProtocol) Rehome(ctx context.Context, tenant, id, userTenant string) (authn.Request, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.requests[id]
	_, done := f.outcomes[id]
	if !ok || done || !r.AnyOrganization || r.TenantID != tenant {
		return authn.Request{}, authn.ErrRequestGone
	}
	delete(f.requests, id)
	r.ID, r.TenantID, r.Unbound = id+"@"+userTenant, userTenant, false
	f.requests[r.ID] = r
	return r, nil
}

func (f *fakeProtocol) Deny(w http.ResponseWriter, r *http.Request, tenant, id, code, description string) {
	f.mu.Lock()
	f.outcomes[id] = outcome{code: code, description: description}
	f.mu.Unlock()
	fmt.Fprintf(w, "DENIED %s %s", id, code)
}

// fakeSignInLog keeps the sign-ins recorded.
type fakeSignInLog struct {
	mu      sync.Mutex
	signIns []authn.SignIn
}

func (l *fakeSignInLog) RecordSignIn(ctx context.Context, s authn.SignIn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.signIns = append(l.signIns, s)
}

func (l *fakeSignInLog) all() []authn.SignIn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.signIns)
}

// fakeInvitation is an invitation with what redeeming it needs.
type fakeInvitation struct {
	Invitation
	redirect string
	used     bool
}

// fakeGuest is a guest account of a tenant, found by its address.
type fakeGuest struct {
	Guest
	email string
}

// fakeGuests is an in-memory Guests (and Accounts). Its passcode for any
// address is always the same, so that tests can type it; a code works once.
type fakeGuests struct {
	mu          sync.Mutex
	invitations map[string]*fakeInvitation // by ticket
	routes      map[string]Route           // by folded address; others: OTP
	guests      map[string]*fakeGuest      // tenant + "/" + folded address
	blocked     map[string]bool            // domains Redeem refuses
	limited     map[string]bool            // addresses past the sending limit
	sent        map[string]int             // codes sent, by tenant + "/" + folded address
	live        map[string]bool            // codes not used yet, by tenant + "/" + folded address
	orgs        map[string][]Organization  // home tenant + "/" + user
	redeemed    []string                   // tickets redeemed
	accepted    []string                   // tenant/user of just-in-time redemptions
	left        []string                   // home/user/resource of Leave calls
	accounts    map[string]User            // personal accounts, by folded address
	calls       map[string]int             // calls by method name
	crossTenant map[string]CrossTenant     // answers by home tenant
}

const otpCode = "12345678"

func newFakeGuests() *fakeGuests {
	return &fakeGuests{invitations: map[string]*fakeInvitation{}, routes: map[string]Route{}, guests: map[string]*fakeGuest{},
		blocked: map[string]bool{}, limited: map[string]bool{}, sent: map[string]int{}, live: map[string]bool{},
		orgs: map[string][]Organization{}, accounts: map[string]User{}, calls: map[string]int{},
		crossTenant: map[string]CrossTenant{}}
}

func (g *fakeGuests) addGuest(tenant, email string, guest Guest) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.guests[tenant+"/"+strings.ToLower(email)] = &fakeGuest{Guest: guest, email: email}
}

func (g *fakeGuests) count(method string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[method]
}

func (g *fakeGuests) Invitation(ctx context.Context, ticket string) (Invitation, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls["Invitation"]++
	inv, ok := g.invitations[ticket]
	if !ok || inv.used {
		return Invitation{}, ErrInvitationInvalid
	}
	return inv.Invitation, nil
}

func (g *fakeGuests) Route(ctx context.Context, tenant, email string) (Route, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls["Route"]++
	if _, domain, _ := strings.Cut(strings.ToLower(email), "@"); domain == "nowhere.example" {
		return Route{}, usererr.New(usererr.Forbidden, "The organization has no way for this address to sign in.")
	}
	if r, ok := g.routes[strings.ToLower(email)]; ok {
		return r, nil
	}
	return Route{OTP: true}, nil
}

func (g *fakeGuests) SendCode(ctx context.Context, tenant, email string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls["SendCode"]++
	if g.limited[strings.ToLower(email)] {
		return ErrTooManyCodes{RetryAfter: 90 * time.Second}
	}
	k := tenant + "/" + strings.ToLower(email)
	g.sent[k]++
	g.live[k] = true
	return nil
}

func (g *fakeGuests) CheckCode(ctx context.Context, tenant, email, code string) (federation.Identity, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls["CheckCode"]++
	k := tenant + "/" + strings.ToLower(email)
	if code != otpCode || !g.live[k] {
		return federation.Identity{}, ErrBadCode
	}
	delete(g.live, k)
	return federation.Identity{Issuer: federation.IssuerMail, Subject: strings.ToLower(email), Email: email, EmailVerified: true, IdP: federation.IssuerMail}, nil
}

// proves is b2b's identity proof rule.
func proves(id federation.Identity, email string) bool {
	return strings.EqualFold(id.Email, email) && (id.EmailVerified || id.Issuer == federation.IssuerMail)
}

func (g *fakeGuests) Redeem(ctx context.Context, ticket string, id federation.Identity) (Redeemed, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls["Redeem"]++
	inv, ok := g.invitations[ticket]
	switch {
	case !ok || inv.used:
		return Redeemed{}, ErrInvitationInvalid
	case !proves(id, inv.InvitedEmail):
		return Redeemed{}, ErrWrongIdentity
	}
	if _, domain, _ := strings.Cut(strings.ToLower(inv.InvitedEmail), "@"); g.blocked[domain] {
		return Redeemed{}, ErrDomainBlocked
	}
	inv.used = true
	g.redeemed = append(g.redeemed, ticket)
	guest := g.guests[inv.TenantID+"/"+strings.ToLower(inv.InvitedEmail)]
	guest.Pending = false
	return Redeemed{TenantID: inv.TenantID, UserID: guest.UserID, RedirectURL: inv.redirect}, nil
}

func (g *fakeGuests) Guest(ctx context.Context, tenant string, id federation.Identity) (Guest, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls["Guest"]++
	guest, ok := g.guests[tenant+"/"+strings.ToLower(id.Email)]
	switch {
	case !ok:
		return Guest{}, ErrNotGuest
	case !proves(id, guest.email):
		return Guest{}, ErrWrongIdentity
	}
	return guest.Guest, nil
}

func (g *fakeGuests) AcceptPending(ctx context.Context, tenant, userID string, id federation.Identity) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls["AcceptPending"]++
	for k, guest := range g.guests {
		if strings.HasPrefix(k, tenant+"/") && guest.UserID == userID {
			if !proves(id, guest.email) {
				return ErrWrongIdentity
			}
			guest.Pending = false
			g.accepted = append(g.accepted, tenant+"/"+userID)
			return nil
		}
	}
	return ErrNotGuest
}

// CrossTenantAccess answers what crossTenant holds for the identity's
// home tenant (allowed when nothing).
func (g *fakeGuests) CrossTenantAccess(ctx context.Context, tenant string, id federation.Identity, clientID string) (CrossTenant, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls["CrossTenantAccess"]++
	return g.crossTenant[id.HomeTenantID], nil
}

func (g *fakeGuests) Organizations(ctx context.Context, home, userID string) ([]Organization, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.orgs[home+"/"+userID]), nil
}

func (g *fakeGuests) Leave(ctx context.Context, home, userID, resource string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.left = append(g.left, home+"/"+userID+"/"+resource)
	k := home + "/" + userID
	g.orgs[k] = slices.DeleteFunc(g.orgs[k], func(o Organization) bool { return o.TenantID == resource })
	return nil
}

func (g *fakeGuests) SendSignUpCode(ctx context.Context, tenant, email string) error {
	return g.SendCode(ctx, tenant, email)
}

func (g *fakeGuests) CreatePersonalAccount(ctx context.Context, tenant, email, code, name, password string) (User, error) {
	if _, err := g.CheckCode(ctx, tenant, email, code); err != nil {
		return User{}, err
	}
	if len(password) < 8 {
		return User{}, usererr.New(usererr.Invalid, "The password must have at least 8 characters.")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	u := User{ID: "u-personal-" + strings.ToLower(email), TenantID: tenant, UserPrincipalName: strings.ToLower(email), DisplayName: name}
	g.accounts[strings.ToLower(email)] = u
	return u, nil
}

// fakeFederation is an identity provider and its relying party in one: its
// AuthCodeURL points at an authorize endpoint on the test server, which
// signs in as the identity set for the login hint and redirects back with
// a code. Exchange checks the
// verifier and nonce against those AuthCodeURL was given.
type fakeFederation struct {
	mu         sync.Mutex
	identities map[string]federation.Identity // by folded login hint
	trips      map[string]fakeTrip            // by state
	codes      map[string]string              // code → state
	exchanges  int
}

type fakeTrip struct {
	tenant, nonce, verifier, hint string
	provider                      federation.Provider
}

func newFakeFederation() *fakeFederation {
	return &fakeFederation{identities: map[string]federation.Identity{}, trips: map[string]fakeTrip{}, codes: map[string]string{}}
}

func (f *fakeFederation) as(hint string, id federation.Identity) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.identities[strings.ToLower(hint)] = id
}

func (f *fakeFederation) AuthCodeURL(ctx context.Context, tenant string, p federation.Provider, state, nonce, verifier, hint string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.trips[state] = fakeTrip{tenant: tenant, nonce: nonce, verifier: verifier, hint: hint, provider: p}
	return "/fake-idp/authorize?state=" + url.QueryEscape(state), nil
}

// authorize signs in at the provider and sends the browser back.
func (f *fakeFederation) authorize(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	f.mu.Lock()
	_, ok := f.trips[state]
	code := fmt.Sprintf("code-%d", len(f.codes))
	f.codes[code] = state
	f.mu.Unlock()
	if !ok {
		http.Error(w, "unknown state", http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, "/federation/callback?state="+url.QueryEscape(state)+"&code="+code, http.StatusFound)
}

func (f *fakeFederation) Exchange(ctx context.Context, tenant string, p federation.Provider, code, verifier, nonce string) (federation.Identity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exchanges++
	state, ok := f.codes[code]
	delete(f.codes, code)
	t := f.trips[state]
	switch {
	case !ok:
		return federation.Identity{}, fmt.Errorf("unknown code")
	case t.tenant != tenant || t.provider != p || t.verifier != verifier || t.nonce != nonce:
		return federation.Identity{}, fmt.Errorf("verifier, nonce, tenant or provider differ from the authorization request's")
	}
	id, ok := f.identities[strings.ToLower(t.hint)]
	if !ok {
		return federation.Identity{}, fmt.Errorf("no identity for %q", t.hint)
	}
	return id, nil
}

func (f *fakeFederation) exchanged() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exchanges
}
