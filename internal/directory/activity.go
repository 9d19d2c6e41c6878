package directory

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// kindSignInActivity keeps a user's signInActivity beside the user document,
// not in it: sign-ins are frequent, and rewriting the document would move the
// tenant's change-feed head each time (waking delta clients and retiring
// cached client authentications) for a read-only property.
const kindSignInActivity = "signInActivity"

// signInActivityLifetime is how long a record is kept without a new sign-in.
const signInActivityLifetime = 5 * 365 * 24 * time.Hour

// SignInKind tells interactive sign-ins (the user at the pages) from
// non-interactive ones (a client refreshing tokens on the user's behalf).
type SignInKind int

const (
	Interactive SignInKind = iota
	NonInteractive
)

// RecordSignIn notes a successful sign-in in the user's signInActivity.
func (s *Service) RecordSignIn(ctx context.Context, tenantID, userID, requestID string, kind SignInKind) error {
	at := s.timestamp()
	return s.st.Update(ctx, func(tx store.Tx) error {
		cur, err := tx.GetState(ctx, tenantID, kindSignInActivity, userID)
		exists := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		activity := Doc{}
		if exists {
			if activity, err = decodeDoc(cur.Data); err != nil {
				return err
			}
		}
		prefix := "lastSignIn"
		if kind == NonInteractive {
			prefix = "lastNonInteractiveSignIn"
		}
		activity[prefix+"DateTime"], activity[prefix+"RequestId"] = at, requestID
		activity["lastSuccessfulSignInDateTime"], activity["lastSuccessfulSignInRequestId"] = at, requestID
		data, err := json.Marshal(activity)
		if err != nil {
			return err
		}
		st := store.State{TenantID: tenantID, Kind: kindSignInActivity, ID: userID, Data: data, ExpiresAt: s.now().Add(signInActivityLifetime)}
		if exists {
			return tx.UpdateState(ctx, st)
		}
		return tx.PutState(ctx, st)
	})
}

// SignInActivities returns the signInActivity of users, by id; users who
// never signed in get Graph's empty record.
func (s *Service) SignInActivities(ctx context.Context, tenantID string, userIDs []string) (map[string]Doc, error) {
	out := make(map[string]Doc, len(userIDs))
	err := s.st.View(ctx, func(tx store.Tx) error {
		for _, id := range userIDs {
			d := Doc{"lastSignInDateTime": nil, "lastSignInRequestId": nil, "lastNonInteractiveSignInDateTime": nil,
				"lastNonInteractiveSignInRequestId": nil, "lastSuccessfulSignInDateTime": nil, "lastSuccessfulSignInRequestId": nil}
			st, err := tx.GetState(ctx, tenantID, kindSignInActivity, id)
			if err == nil {
				rec, err := decodeDoc(st.Data)
				if err != nil {
					return err
				}
				d = merge(d, rec)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			out[id] = d
		}
		return nil
	})
	return out, err
}

// Hydrate fills in the properties of users that are kept beside their
// documents (signInActivity) when a $select asks for them.
func (s *Service) Hydrate(ctx context.Context, tenantID string, objs []Object, sel []string) error {
	wanted := false
	for _, name := range sel {
		wanted = wanted || strings.EqualFold(name, "signInActivity")
	}
	if !wanted {
		return nil
	}
	var v viewer
	if err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		v, err = viewerOf(ctx, tx, tenantID)
		return err
	}); err != nil {
		return err
	}
	var ids []string
	for _, o := range objs {
		// A guest who sees only another user's basic properties does not see its sign-ins either.
		if keep := authz.VisibleProperties(v.level, areaOf(o.Kind), o.ID == v.self); o.Kind == KindUser && keep == nil {
			ids = append(ids, o.ID)
		}
	}
	activity, err := s.SignInActivities(ctx, tenantID, ids)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if a, ok := activity[o.ID]; ok {
			o.Doc["signInActivity"] = a
		}
	}
	return nil
}
