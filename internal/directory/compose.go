package directory

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Other domain packages (b2b: invitations and guests) keep their own rules
// and write directory objects through these, in transactions that also
// carry their own state and outbox messages: one commit for all of it, and
// every directory write in it audited as the directory's own are.

// Update runs fn in one read-write transaction whose directory writes are
// journaled for the audit log: a change and its records commit together.
func (s *Service) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.st.Update(ctx, fn)
}

// View runs fn in a read-only transaction.
func (s *Service) View(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.raw.View(ctx, fn)
}

// Note records an activity the directory cannot name from the writes
// alone ("Invite external user") in the journal of tx, a transaction of
// Update; records of other transactions are dropped.
func Note(tx store.Tx, tenantID string, a audit.DirectoryAudit) { note(tx, tenantID, a) }

// InsertUser creates a user in tx from body, validated as a POST /users
// body, plus system properties only the service sets (creationType,
// externalUserState, externalUserStateChangeDateTime), copied as given.
// The user gets no password: such users authenticate elsewhere. Who may
// create the user is the caller's rule (an invitation is decided by the
// tenant's invitation settings, not by the right to create users); the
// directory checks the UPN's domain and the uniqueness of its keys.
func (s *Service) InsertUser(ctx context.Context, tx store.Tx, tenantID string, body, system Doc) (Object, error) {
	d, err := userSpec.normalize(body)
	if err != nil {
		return Object{}, err
	}
	for k, v := range system {
		d[k] = v
	}
	tenant, err := tx.GetTenant(ctx, tenantID)
	if err != nil {
		return Object{}, translate(err, tenantID)
	}
	if err := s.completeNewUser(ctx, tx, tenant, d); err != nil {
		return Object{}, err
	}
	d["id"] = s.newID()
	d["createdDateTime"] = s.timestamp()
	return s.insert(ctx, tx, tenantID, KindUser, d)
}

// SetUserProperties changes a live user in tx: set's properties replace
// the stored ones (nil removes one), system properties included, with the
// keys re-derived and identities kept unique. Revoke also ends every token
// and session the user holds (a guest's redemption reset locks the old
// identity out).
func (s *Service) SetUserProperties(ctx context.Context, tx store.Tx, tenantID, userID string, set Doc, revoke bool) (Object, error) {
	cur, err := s.load(ctx, tx, tenantID, KindUser, userID)
	if err != nil {
		return Object{}, err
	}
	next := merge(cur.Doc, set)
	if _, changed := set["identities"]; changed {
		initial, err := initialDomain(ctx, tx, tenantID)
		if err != nil {
			return Object{}, err
		}
		idents, _ := next["identities"].([]any)
		next["identities"] = withUPNIdentity(idents, initial, str(next, "userPrincipalName"))
		if err := checkIdentities(next["identities"].([]any)); err != nil {
			return Object{}, err
		}
		if err := s.checkIdentitiesUnique(ctx, tx, tenantID, cur.ID, next["identities"].([]any)); err != nil {
			return Object{}, err
		}
	}
	setProxyAddresses(next)
	if revoke {
		if err := s.revokeUser(ctx, tx, tenantID, cur.ID, next, reasonRedemptionReset); err != nil {
			return Object{}, err
		}
	}
	return s.replace(ctx, tx, tenantID, cur, next)
}

// AuthorizationPolicyIn reads the tenant's authorizationPolicy in tx; it
// always exists (the default until changed).
func AuthorizationPolicyIn(ctx context.Context, tx store.Tx, tenantID string) (Object, error) {
	return authorizationPolicy(ctx, tx, tenantID)
}

// CreateEmailVerifiedUser creates a local account of an external tenant for
// someone who has just proved control of email (a personal account signed up
// for in the consumers tenant): signing in with that address and password,
// creationType EmailVerified, the address as mail. The password policy
// applies as to any new password; a taken address is a conflict on
// identities.
func (s *Service) CreateEmailVerifiedUser(ctx context.Context, tenantID, email, displayName, password string) (Object, error) {
	var issuer string
	if err := s.raw.View(ctx, func(tx store.Tx) error {
		var err error
		issuer, err = initialDomain(ctx, tx, tenantID)
		return err
	}); err != nil {
		return Object{}, err
	}
	d, err := userSpec.normalize(Doc{"accountEnabled": true, "displayName": displayName, "mail": email,
		"identities": []any{map[string]any{"signInType": "emailAddress", "issuer": issuer, "issuerAssignedId": email}}})
	if err != nil {
		return Object{}, err
	}
	d["creationType"] = "EmailVerified"
	if err := s.checkNewPassword(ctx, tenantID, password, d); err != nil {
		return Object{}, err
	}
	hash, err := s.passwords.Hash(ctx, password)
	if err != nil {
		return Object{}, err
	}
	return s.storeNewUser(ctx, tenantID, d, map[string]any{"forceChangePasswordNextSignIn": false}, hash)
}

// RelSponsors links a user to their sponsors (users or groups), as an
// invitation stamps them.
const RelSponsors = "sponsors"

// ActingUser makes a signed-in user the initiator, in the audit log, of
// what a domain package does on their behalf in Update (a guest redeeming
// an invitation or leaving an organization). It grants nothing: it is no
// caller.
func ActingUser(ctx context.Context, tenantID, userID string) context.Context {
	return actingUser(ctx, tenantID, userID)
}

// RemoveUser soft-deletes a live user in tx as DELETE /users/{id} does:
// their tokens and sessions end and their app role assignments go with
// them. Who may remove the user is the caller's rule (a guest leaving an
// organization removes only their own guest account).
func (s *Service) RemoveUser(ctx context.Context, tx store.Tx, tenantID, userID string) error {
	cur, err := s.load(ctx, tx, tenantID, KindUser, userID)
	if err != nil {
		return err
	}
	if err := s.beforeDelete(ctx, tx, tenantID, cur); err != nil {
		return err
	}
	return translate(tx.DeleteObject(ctx, tenantID, KindUser, cur.ID, cur.Version), cur.ID)
}
