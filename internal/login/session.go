package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
	"github.com/gatehouse-id/gatehouse/internal/revocation"
	"github.com/gatehouse-id/gatehouse/internal/sessionpolicy"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// kindSession is the state kind of SSO sessions. A session's state id is
// the hash of the secret in the cookie, its Family the session id (the sid
// claim) and its Subject the user's id.
const kindSession = "session"

// maxSessions bounds the sessions one cookie carries (across tenants).
const maxSessions = 10

// sessionData is what a session state stores.
type sessionData struct {
	UserID      string    `json:"userId"`
	UPN         string    `json:"upn"`
	DisplayName string    `json:"displayName,omitempty"`
	AuthTime    time.Time `json:"authTime"`
	AMR         []string  `json:"amr"`
	Persistent  bool      `json:"persistent,omitempty"`
	// LastUsed is when the session last signed the user in, for the
	// tenant's idle timeout.
	LastUsed time.Time `json:"lastUsed,omitzero"`
	// A guest's identity provider and home account, which every sign-in
	// from the session carries, and the address they signed in with.
	IdP          string `json:"idp,omitempty"`
	HomeTenantID string `json:"homeTenantId,omitempty"`
	HomeObjectID string `json:"homeObjectId,omitempty"`
	Email        string `json:"email,omitempty"`
	// HomeAMR is the guest's home token's amr as it came (AMR holds what
	// the tenant accepted): a session that lacks a second factor later
	// required weighs it again against the tenant's inbound trust.
	HomeAMR []string `json:"homeAmr,omitempty"`
	// TrustedHomeMFA: AMR's "mfa" is the home tenant's, accepted by
	// inbound trust when the session began (flow.TrustedHomeMFA).
	TrustedHomeMFA bool `json:"trustedHomeMfa,omitempty"`
}

// session is a live SSO session found through this browser's cookies.
type session struct {
	sid   string // the session id, Family of its state
	state string // the state id
	data  sessionData
	limit sessionpolicy.Lifetime // the tenant's policy for SSO sessions
}

// ssoToken is one cookie entry: the tenant and the session's secret.
type ssoToken struct{ tenantID, secret string }

func (t ssoToken) String() string { return t.tenantID + "." + t.secret }

// parseSSOTokens reads a session cookie's value, "tenant.secret~tenant.secret",
// skipping malformed entries and keeping at most maxSessions.
func parseSSOTokens(v string) []ssoToken {
	var toks []ssoToken
	for entry := range strings.SplitSeq(v, "~") {
		if len(toks) == maxSessions {
			break
		}
		tenant, secret, ok := strings.Cut(entry, ".")
		if ok && validTenantID(tenant) && isSecret(secret) {
			toks = append(toks, ssoToken{tenant, secret})
		}
	}
	return toks
}

// validTenantID accepts what a tenant id looks like (a GUID, or a test's
// name): letters, digits and hyphens, so it cannot break the cookie syntax.
func validTenantID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '-' || c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z') {
			return false
		}
	}
	return true
}

func formatSSOTokens(toks []ssoToken) string {
	parts := make([]string, len(toks))
	for i, t := range toks {
		parts[i] = t.String()
	}
	return strings.Join(parts, "~")
}

// jar is the browser's two session cookies as read from a request.
type jar struct{ session, persistent []ssoToken }

func (p *Pages) readJar(r *http.Request) jar {
	var j jar
	if c, err := r.Cookie(p.cookies.session); err == nil {
		j.session = parseSSOTokens(c.Value)
	}
	if c, err := r.Cookie(p.cookies.persistent); err == nil {
		j.persistent = parseSSOTokens(c.Value)
	}
	return j
}

// write sets both cookies; the persistent one's lifetime slides.
func (p *Pages) writeJar(w http.ResponseWriter, j jar) {
	for _, c := range []struct {
		name   string
		toks   []ssoToken
		maxAge time.Duration
	}{{p.cookies.session, j.session, 0}, {p.cookies.persistent, j.persistent, p.cfg.PersistentSession}} {
		if len(c.toks) == 0 {
			p.setCookie(w, c.name, "", -1)
			continue
		}
		p.setCookie(w, c.name, formatSSOTokens(c.toks), c.maxAge)
	}
}

// tenantTokens are the jar's tokens of a tenant.
func (j jar) tenantTokens(tenantID string) []ssoToken {
	var toks []ssoToken
	for _, t := range slices.Concat(j.session, j.persistent) {
		if t.tenantID == tenantID {
			toks = append(toks, t)
		}
	}
	return toks
}

// tenants are the tenants the jar has tokens of, each once.
func (j jar) tenants() []string {
	var out []string
	for _, t := range slices.Concat(j.session, j.persistent) {
		if !slices.Contains(out, t.tenantID) {
			out = append(out, t.tenantID)
		}
	}
	return out
}

// without returns the jar without the tokens drop selects.
func (j jar) without(drop func(ssoToken) bool) jar {
	return jar{
		session:    slices.DeleteFunc(slices.Clone(j.session), drop),
		persistent: slices.DeleteFunc(slices.Clone(j.persistent), drop),
	}
}

func sessionStateID(secret string) string { return hashID("sso session", secret) }

// sessions returns the browser's usable sessions in the tenant for a sign-in
// to clientID, most recently authenticated first, one per user. Sessions
// end here when their users are gone or disabled, when they are past the
// tenant's session policy, or when a revocation covers them for the client.
func (p *Pages) sessions(ctx context.Context, r *http.Request, tenantID, clientID string) ([]session, error) {
	var found []session
	err := p.cfg.Store.View(ctx, func(tx store.Tx) error {
		for _, t := range p.readJar(r).tenantTokens(tenantID) {
			st, err := tx.GetState(ctx, tenantID, kindSession, sessionStateID(t.secret))
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			var d sessionData
			if err := json.Unmarshal(st.Data, &d); err != nil {
				return fmt.Errorf("login: session %s: %w", st.Family, err)
			}
			if d.LastUsed.IsZero() {
				d.LastUsed = st.CreatedAt
			}
			found = append(found, session{sid: st.Family, state: st.ID, data: d})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, nil
	}
	slices.SortStableFunc(found, func(a, b session) int { return b.data.AuthTime.Compare(a.data.AuthTime) })
	policy, err := p.cfg.Directory.SessionPolicy(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	// A person is waiting, not a program: the facts are read as they are
	// now, so a revocation on any node ends the session at once.
	facts, err := p.cfg.Revocations.Current(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	now := p.cfg.Now()
	var usable []session
	for _, s := range found {
		if slices.ContainsFunc(usable, func(u session) bool { return u.data.UserID == s.data.UserID }) {
			continue
		}
		_, revoked := facts.Covering(revocation.Subject{UserID: s.data.UserID, ClientID: clientID, SessionID: s.sid, IssuedAt: s.data.AuthTime})
		var u User
		if !revoked && policy.Session.Allows(s.data.AuthTime, s.data.LastUsed, now) {
			u, err = p.cfg.Directory.User(ctx, tenantID, s.data.UserID)
		} else {
			err = ErrNoUser
		}
		if errors.Is(err, ErrNoUser) {
			if err := p.endSessions(ctx, tenantID, []string{s.sid}); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		s.limit = policy.Session
		s.data.UPN, s.data.DisplayName = u.UserPrincipalName, u.DisplayName
		usable = append(usable, s)
	}
	return usable, nil
}

// endSessions deletes sessions by id.
func (p *Pages) endSessions(ctx context.Context, tenantID string, sids []string) error {
	if len(sids) == 0 {
		return nil
	}
	return p.cfg.Store.Update(ctx, func(tx store.Tx) error {
		for _, sid := range sids {
			if _, err := tx.DeleteStates(ctx, tenantID, store.StateFilter{Kind: kindSession, Family: sid}); err != nil {
				return err
			}
		}
		return nil
	})
}

// sessionExpiry is when a session used at now lapses unless used again:
// its sliding lifetime, never past the tenant's policy.
func (p *Pages) sessionExpiry(d sessionData, limit sessionpolicy.Lifetime, now time.Time) time.Time {
	lifetime := p.cfg.BrowserSession
	if d.Persistent {
		lifetime = p.cfg.PersistentSession
	}
	if policy := limit.Expiry(d.AuthTime, now); policy.Before(now.Add(lifetime)) {
		return policy
	}
	return now.Add(lifetime)
}

// startSession creates a session for a user who has just entered their
// credentials and sets its cookie. It rotates: the browser's earlier
// sessions of the same user end, and so do entries whose sessions expired.
func (p *Pages) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, tenantID string, d sessionData) (string, error) {
	secret, err := p.randomString(secretBytes)
	if err != nil {
		return "", err
	}
	sid, err := p.randomString(16)
	if err != nil {
		return "", err
	}
	policy, err := p.cfg.Directory.SessionPolicy(ctx, tenantID)
	if err != nil {
		return "", err
	}
	now := p.cfg.Now()
	d.LastUsed = now
	data, err := json.Marshal(d)
	if err != nil {
		return "", err
	}
	j := p.readJar(r)
	stale := map[ssoToken]bool{}
	err = p.cfg.Store.Update(ctx, func(tx store.Tx) error {
		for _, t := range j.tenantTokens(tenantID) {
			st, err := tx.GetState(ctx, tenantID, kindSession, sessionStateID(t.secret))
			if errors.Is(err, store.ErrNotFound) {
				stale[t] = true
				continue
			}
			if err != nil {
				return err
			}
			if st.Subject != d.UserID {
				continue
			}
			stale[t] = true
			if _, err := tx.DeleteStates(ctx, tenantID, store.StateFilter{Kind: kindSession, Family: st.Family}); err != nil {
				return err
			}
		}
		return tx.PutState(ctx, store.State{
			TenantID: tenantID, Kind: kindSession, ID: sessionStateID(secret), Family: sid, Subject: d.UserID,
			Data: data, CreatedAt: now, ExpiresAt: p.sessionExpiry(d, policy.Session, now),
		})
	})
	if err != nil {
		return "", err
	}
	j = j.without(func(t ssoToken) bool { return stale[t] })
	tok := ssoToken{tenantID, secret}
	if d.Persistent {
		j.persistent = keepNewest(append(j.persistent, tok))
	} else {
		j.session = keepNewest(append(j.session, tok))
	}
	p.writeJar(w, j)
	return sid, nil
}

func keepNewest(toks []ssoToken) []ssoToken { return toks[max(0, len(toks)-maxSessions):] }

// touchSession slides a session's lifetime when it is used, and with it
// the persistent cookie's.
func (p *Pages) touchSession(ctx context.Context, w http.ResponseWriter, r *http.Request, tenantID string, s session) error {
	now := p.cfg.Now()
	s.data.LastUsed = now
	data, err := json.Marshal(s.data)
	if err != nil {
		return err
	}
	err = p.cfg.Store.Update(ctx, func(tx store.Tx) error {
		st, err := tx.GetState(ctx, tenantID, kindSession, s.state)
		if err != nil {
			return err
		}
		st.Data, st.ExpiresAt = data, p.sessionExpiry(s.data, s.limit, now)
		return tx.UpdateState(ctx, st)
	})
	if err != nil {
		return err
	}
	if s.data.Persistent {
		p.writeJar(w, p.readJar(r))
	}
	return nil
}

// Brand is the tenant's branding for the protocol's message cards
// (authn.Sessions), in the browser's language.
func (p *Pages) Brand(r *http.Request, tenantID string) *hostedpage.Brand {
	loc := p.catalog.Locale(hostedpage.Lang(r))
	b, err := p.cfg.Directory.Branding(r.Context(), tenantID, loc.Lang)
	if err != nil {
		// Branding is cosmetic: the neutral card serves as well.
		p.cfg.Logger.WarnContext(r.Context(), "loading branding", "tenant", tenantID, "err", err)
		return nil
	}
	return newBrandView(loc, b).card()
}

// stepSignOut asks whether to sign out (authn.Sessions.ConfirmSignOut).
const stepSignOut step = "signout"

// ConfirmSignOut asks the user whether to sign out of the tenant
// (authn.Sessions): the form posts fields to action with the CSRF token of
// this browser, which a page on another site cannot read.
func (p *Pages) ConfirmSignOut(w http.ResponseWriter, r *http.Request, tenantID, action string, fields url.Values) {
	browser, err := p.browserID(w, r)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	loc := p.catalog.Locale(hostedpage.Lang(r))
	b, err := p.cfg.Directory.Branding(r.Context(), tenantID, loc.Lang)
	if err != nil {
		// Branding is cosmetic: the neutral default serves as well.
		p.cfg.Logger.WarnContext(r.Context(), "loading branding", "tenant", tenantID, "err", err)
	}
	vw := &view{L: loc, Step: stepSignOut, Title: loc.T("title.signout"), CSRF: p.csrfToken(browser), Action: action, Brand: newBrandView(loc, b)}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		vw.Fields = append(vw.Fields, postField{Name: k, Value: fields.Get(k)})
	}
	p.renderPage(w, http.StatusOK, vw)
}

// SignOutConfirmed reports whether a parsed POST carries the token
// ConfirmSignOut gave this browser (authn.Sessions).
func (p *Pages) SignOutConfirmed(r *http.Request) bool { return p.validCSRF(r) }

// SignOut ends the browser's sessions in the tenant ("sign out of all
// apps") and removes them from the cookies; other tenants' sessions stay.
func (p *Pages) SignOut(w http.ResponseWriter, r *http.Request, tenantID string) error {
	ctx := r.Context()
	j := p.readJar(r)
	toks := j.tenantTokens(tenantID)
	if len(toks) == 0 {
		return nil
	}
	var sids []string
	err := p.cfg.Store.View(ctx, func(tx store.Tx) error {
		for _, t := range toks {
			st, err := tx.GetState(ctx, tenantID, kindSession, sessionStateID(t.secret))
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			sids = append(sids, st.Family)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("login: signing out: %w", err)
	}
	if err := p.endSessions(ctx, tenantID, sids); err != nil {
		return fmt.Errorf("login: signing out: %w", err)
	}
	p.writeJar(w, j.without(func(t ssoToken) bool { return t.tenantID == tenantID }))
	return nil
}
