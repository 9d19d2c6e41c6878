// Package revocation owns revocations: the fact, written in the same
// transaction as its cause (a password reset or change, a deleted delegated
// grant, a deleted or disabled service principal, a replayed code), that
// ends every token and session of its scope issued before it; and each
// node's view of a tenant's facts, which lets the resource surfaces refuse a
// revoked access token without a store read per request.
//
// Refresh tokens, codes and SSO sessions a fact can name precisely (all of
// a user's, one session) are deleted with it; those it cannot (one client's,
// whose states are not indexed by client) are refused where they are used,
// by the same rule (Fact.Covers).
package revocation

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/sessionpolicy"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Kind is the store state kind of revocation facts.
const Kind = "revocation"

// TokenHorizon bounds how long an access token lives, with the verifier's
// leeway and the nodes' clock skew: a fact that only access tokens still
// need is kept this long.
const TokenHorizon = 2 * time.Hour

// Fact revokes every token and session of its scope issued before At. An
// empty scope field matches anything, but a fact names a user or a client.
type Fact struct {
	At        time.Time `json:"at"`
	UserID    string    `json:"uid,omitempty"` // the signed-in user; app-only tokens have none
	ClientID  string    `json:"cid,omitempty"` // the application (client) id
	SessionID string    `json:"sid,omitempty"` // the SSO session
	Reason    string    `json:"reason"`        // for logs: what caused it
}

// Subject is what a token, refresh-token family or session says about
// itself: who it is for, through which client and session, and when it was
// issued (for a family or session: when the user authenticated).
type Subject struct {
	UserID, ClientID, SessionID string
	IssuedAt                    time.Time
}

// Covers reports whether f revokes s: s was issued strictly before f and
// falls within f's scope.
func (f Fact) Covers(s Subject) bool {
	return s.IssuedAt.Before(f.At) && within(f.UserID, s.UserID) && within(f.ClientID, s.ClientID) && within(f.SessionID, s.SessionID)
}

func within(scope, v string) bool { return scope == "" || scope == v }

// key names a fact's scope: a later fact of the same scope supersedes an
// earlier one, which it covers entirely.
func (f Fact) key() string {
	sum := sha256.Sum256([]byte(f.UserID + "\x00" + f.ClientID + "\x00" + f.SessionID))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// retention is how long a fact must be kept: until nothing it covers can
// still be presented. A user's states are deleted with a fact about the user
// alone, so only access tokens remain; what a fact about a client covers is
// refused at use and may live as long as the longest session policy.
func (f Fact) retention() time.Duration {
	if f.ClientID == "" {
		return TokenHorizon
	}
	return sessionpolicy.MaxDuration + TokenHorizon
}

// Record writes a fact in tx, the transaction of its cause, and deletes the
// states it names precisely: all of the user's (codes, refresh tokens, SSO
// sessions) for a fact about a user alone, and the session's for a fact
// about a session. It replaces an earlier fact of the same scope.
func Record(ctx context.Context, tx store.Tx, tenantID string, f Fact) error {
	if f.UserID == "" && f.ClientID == "" {
		return errors.New("revocation: a fact names a user or a client")
	}
	if f.At.IsZero() {
		return errors.New("revocation: a fact has a time")
	}
	if f.UserID != "" && f.ClientID == "" && f.SessionID == "" {
		if _, err := tx.DeleteStates(ctx, tenantID, store.StateFilter{Subject: f.UserID}); err != nil {
			return err
		}
	}
	if f.SessionID != "" {
		// An SSO session's state has the session id as its Family.
		if _, err := tx.DeleteStates(ctx, tenantID, store.StateFilter{Family: f.SessionID}); err != nil {
			return err
		}
	}
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	key := f.key()
	st := store.State{TenantID: tenantID, Kind: Kind, ID: key, Family: key, Data: data, CreatedAt: f.At, ExpiresAt: f.At.Add(f.retention())}
	// The earlier fact of the scope goes; one committed by a concurrent
	// transaction after this one's delete is found by the second.
	for range 2 {
		if _, err := tx.DeleteStates(ctx, tenantID, store.StateFilter{Kind: Kind, Family: key}); err != nil {
			return err
		}
		if err = tx.PutState(ctx, st); !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return err
}

// Facts are a tenant's facts at one moment, indexed by scope: only facts
// whose scope fields are empty or the subject's can cover it, so a check
// costs a few map lookups however many facts there are.
type Facts struct{ byScope map[scope]Fact }

type scope struct{ user, client, session string }

// Covering returns the fact that covers s, if any.
func (fs Facts) Covering(s Subject) (Fact, bool) {
	if len(fs.byScope) == 0 {
		return Fact{}, false
	}
	for _, user := range [2]string{s.UserID, ""} {
		for _, client := range [2]string{s.ClientID, ""} {
			for _, session := range [2]string{s.SessionID, ""} {
				if f, ok := fs.byScope[scope{user, client, session}]; ok && f.Covers(s) {
					return f, true
				}
			}
		}
	}
	return Fact{}, false
}

// load reads a tenant's live facts.
func load(ctx context.Context, st store.Store, tenantID string) (Facts, error) {
	facts := Facts{byScope: map[scope]Fact{}}
	err := st.View(ctx, func(tx store.Tx) error {
		states, err := tx.ListStates(ctx, tenantID, store.StateFilter{Kind: Kind})
		if err != nil {
			return err
		}
		for _, s := range states {
			var f Fact
			if err := json.Unmarshal(s.Data, &f); err != nil {
				return fmt.Errorf("revocation: fact %s: %w", s.ID, err)
			}
			// A scope has one fact; of two (a moment's race), the later covers more.
			k := scope{f.UserID, f.ClientID, f.SessionID}
			if cur, ok := facts.byScope[k]; !ok || cur.At.Before(f.At) {
				facts.byScope[k] = f
			}
		}
		return nil
	})
	return facts, err
}
