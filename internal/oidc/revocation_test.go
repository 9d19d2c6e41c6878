package oidc

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/revocation"
	"github.com/gatehouse-id/gatehouse/internal/sessionpolicy"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestCodeReplayRevokesAccessTokens: the access token of the first
// redemption of a code, the one a thief may hold, is refused once the code
// is replayed, and so are the refresh token and a silent sign-in through the
// same session; a sign-in after the replay works.
func TestCodeReplayRevokesAccessTokens(t *testing.T) {
	f := newFlow(t)
	signedIn := f.clock.now()
	v := oauth2.GenerateVerifier()
	code := f.code(t, tenantA, spaApp, spaRedirect, v, nil)
	first := f.redeemSPA(t, tenantA, code, v)
	if first.status != http.StatusOK {
		t.Fatalf("first redemption %+v", first)
	}
	if _, err := f.p.VerifyAccessToken(t.Context(), first.AccessToken); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(time.Millisecond)
	wantGrantError(t, f.redeemSPA(t, tenantA, code, v), 400, "invalid_grant")

	if _, err := f.p.VerifyAccessToken(t.Context(), first.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("access token of the replayed code: err = %v, want ErrInvalidToken", err)
	}
	wantGrantError(t, f.refreshSPA(t, tenantA, first.RefreshToken), 400, "invalid_grant")
	// The pages offer the session of that sign-in silently.
	f.pages.authAge = f.clock.now().Sub(signedIn)
	wantAuthorizeError(t, f, url.Values{"prompt": {"none"}}, "login_required")

	// The user signs in again.
	f.pages.authAge = 0
	again := f.spaTokens(t)
	if _, err := f.p.VerifyAccessToken(t.Context(), again.AccessToken); err != nil {
		t.Fatalf("token of a sign-in after the replay: %v", err)
	}
}

func wantAuthorizeError(t *testing.T, f *flow, extra url.Values, code string) {
	t.Helper()
	resp, _ := f.browse(t, f.authorizeURL(tenantA, spaApp, spaRedirect, oauth2.GenerateVerifier(), extra))
	u, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || u == nil || u.Query().Get("error") != code || u.Query().Has("code") {
		t.Fatalf("authorize: %d %q, want error=%s", resp.StatusCode, resp.Header.Get("Location"), code)
	}
}

// TestRevocationFacts: a fact recorded by the directory (on any node) is
// seen by this node within revocation.RefreshAfter, not through a store read
// per request, and then ends exactly the tokens, refresh tokens and silent
// sign-ins in its scope that were issued before it.
func TestRevocationFacts(t *testing.T) {
	tests := []struct {
		name    string
		fact    revocation.Fact
		app     bool // the app-only token is revoked too
		revoked bool // Alice's SPA tokens are revoked
	}{
		{"password reset", revocation.Fact{UserID: userAlice}, false, true},
		{"grant deleted", revocation.Fact{UserID: userAlice, ClientID: spaApp}, false, true},
		{"all-principals grant deleted", revocation.Fact{ClientID: spaApp}, false, true},
		{"service principal deleted", revocation.Fact{ClientID: appA}, true, false},
		{"another user", revocation.Fact{UserID: "someone-else"}, false, false},
		{"Alice at another client", revocation.Fact{UserID: userAlice, ClientID: webApp}, false, false},
		{"another session", revocation.Fact{UserID: userAlice, ClientID: spaApp, SessionID: "session-2"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow(t)
			f.p.revocations = revocation.NewView(f.st, f.clock.now)
			signedIn := f.clock.now()
			user := f.spaTokens(t)
			app, err := f.p.issueAppToken(t.Context(), tenantA, App{AppID: appA, ServicePrincipalID: spA})
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range []string{user.AccessToken, app} {
				if _, err := f.p.VerifyAccessToken(t.Context(), tok); err != nil {
					t.Fatal(err)
				}
			}
			f.clock.advance(time.Millisecond)
			fact := tt.fact
			fact.At, fact.Reason = f.clock.now(), tt.name
			if err := f.st.Update(t.Context(), func(tx store.Tx) error { return revocation.Record(t.Context(), tx, tenantA, fact) }); err != nil {
				t.Fatal(err)
			}
			// Until the node's copy is a second old, it answers from memory.
			f.st.fail = errors.New("the store is not read on this path")
			if _, err := f.p.VerifyAccessToken(t.Context(), user.AccessToken); err != nil {
				t.Fatalf("check within RefreshAfter: %v", err)
			}
			f.st.fail = nil
			f.clock.advance(revocation.RefreshAfter)

			for _, c := range []struct {
				name    string
				token   string
				revoked bool
			}{{"user token", user.AccessToken, tt.revoked}, {"app token", app, tt.app}} {
				_, err := f.p.VerifyAccessToken(t.Context(), c.token)
				if c.revoked != errors.Is(err, ErrInvalidToken) || (!c.revoked && err != nil) {
					t.Errorf("%s: err = %v, want revoked %v", c.name, err, c.revoked)
				}
			}
			in, err := f.p.introspect(t.Context(), tenantA, spaApp, user.RefreshToken)
			if err != nil || in.Active == tt.revoked {
				t.Errorf("introspecting the refresh token: active %v (%v), want %v", in.Active, err, !tt.revoked)
			}
			if tt.revoked {
				wantGrantError(t, f.refreshSPA(t, tenantA, user.RefreshToken), 400, "invalid_grant")
				f.pages.authAge = f.clock.now().Sub(signedIn) // the session of that sign-in
				wantAuthorizeError(t, f, url.Values{"prompt": {"none"}}, "login_required")
				// A sign-in after the revocation is not covered by it.
				f.pages.authAge = 0
				if after := f.spaTokens(t); after.AccessToken == "" {
					t.Fatal("no token after a new sign-in")
				}
				return
			}
			if tr := f.refreshSPA(t, tenantA, user.RefreshToken); tr.status != http.StatusOK {
				t.Errorf("refresh out of the fact's scope: %+v", tr)
			}
		})
	}
}

// TestRevocationFailsClosed: when the facts cannot be read and the node's
// copy is older than revocation.MaxStale, an access token is not accepted,
// and the failure is the store's, never a bad token.
func TestRevocationFailsClosed(t *testing.T) {
	f := newFlow(t)
	f.p.revocations = revocation.NewView(f.st, f.clock.now)
	tr := f.spaTokens(t)
	if _, err := f.p.VerifyAccessToken(t.Context(), tr.AccessToken); err != nil {
		t.Fatal(err)
	}
	f.st.fail = errors.New("db gone")
	f.clock.advance(revocation.MaxStale)
	_, err := f.p.VerifyAccessToken(t.Context(), tr.AccessToken)
	if err == nil || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("err = %v, want the store's error", err)
	}
}

// aal2 is NIST SP 800-63B's AAL2 reauthentication: 12 hours, 30 minutes idle.
var aal2 = sessionpolicy.Policy{
	Session: sessionpolicy.Lifetime{MaxAge: 12 * time.Hour, IdleTimeout: 30 * time.Minute},
	Refresh: sessionpolicy.Lifetime{MaxAge: 12 * time.Hour, IdleTimeout: 30 * time.Minute},
}

// TestRefreshFamilyPolicy: a family used within its idle timeout lives to
// its maximum age and not a moment past it, however often it is refreshed;
// an idle one ends; auth_time stays the sign-in's.
func TestRefreshFamilyPolicy(t *testing.T) {
	t.Run("max age", func(t *testing.T) {
		f := newFlow(t)
		f.dir.setPolicy(aal2)
		signedIn := f.clock.now()
		tr := f.spaTokens(t)
		for f.clock.now().Sub(signedIn) < 12*time.Hour-20*time.Minute {
			f.clock.advance(20 * time.Minute)
			tr = f.refreshSPA(t, tenantA, tr.RefreshToken)
			if tr.status != http.StatusOK {
				t.Fatalf("refresh at %s: %+v", f.clock.now().Sub(signedIn), tr)
			}
			if got := authTime(t, tr.IDToken); got != signedIn.Unix() {
				t.Fatalf("auth_time after a refresh = %d, want the sign-in's %d", got, signedIn.Unix())
			}
			for _, st := range f.st.statesOf(tenantA, kindRefresh) {
				if st.ConsumedAt == nil && st.ExpiresAt.After(signedIn.Add(12*time.Hour)) {
					t.Fatalf("a refresh token expires at %s, past the family's maximum age", st.ExpiresAt.Sub(signedIn))
				}
			}
		}
		f.clock.set(signedIn.Add(12*time.Hour + time.Second))
		wantGrantError(t, f.refreshSPA(t, tenantA, tr.RefreshToken), 400, "invalid_grant")
	})
	t.Run("idle", func(t *testing.T) {
		f := newFlow(t)
		tr := f.spaTokens(t)
		// The policy tightens after the token was issued: it applies at once.
		f.dir.setPolicy(aal2)
		f.clock.advance(31 * time.Minute)
		wantGrantError(t, f.refreshSPA(t, tenantA, tr.RefreshToken), 400, "invalid_grant")
	})
	t.Run("sign-in older than the session policy", func(t *testing.T) {
		f := newFlow(t)
		f.dir.setPolicy(aal2)
		f.pages.authAge = 13 * time.Hour
		wantAuthorizeError(t, f, nil, "login_required")
	})
}

func authTime(t *testing.T, idToken string) int64 {
	t.Helper()
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		t.Fatalf("ID token %q", idToken)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AuthTime int64 `json:"auth_time"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c.AuthTime
}

// statesOf lists a tenant's states of a kind, expired or not.
func (s *memStore) statesOf(tenantID, kind string) []store.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.State
	for k, st := range s.states {
		if k.tenant == tenantID && k.kind == kind {
			out = append(out, st)
		}
	}
	return out
}
