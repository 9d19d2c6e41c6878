package directory

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// RestorableKinds are the kinds Graph lists under /directory/deletedItems.
var RestorableKinds = []string{KindUser, KindGroup, KindApplication, KindServicePrincipal}

// ListDeleted returns one page of soft-deleted objects of a kind.
func (s *Service) ListDeleted(ctx context.Context, tenantID, kind string, q Query) (Page, error) {
	return s.list(ctx, tenantID, kind, q, true)
}

// findDeleted finds a soft-deleted object of any restorable kind.
func findDeleted(ctx context.Context, tx store.Tx, tenantID, id string) (store.Object, error) {
	for _, k := range RestorableKinds {
		o, err := tx.GetDeletedObject(ctx, tenantID, k, id)
		if !isNotFound(err) {
			return o, err
		}
	}
	return store.Object{}, notFound(id)
}

// findRemovable finds a deleted object the request's caller may restore or purge.
func (s *Service) findRemovable(ctx context.Context, tx store.Tx, tenantID, id string) (Object, error) {
	o, err := findDeleted(ctx, tx, tenantID, id)
	if err != nil {
		return Object{}, err
	}
	obj, err := toObject(o)
	if err != nil {
		return Object{}, err
	}
	return obj, s.checkRemoval(ctx, tx, tenantID, obj)
}

// GetDeleted returns a soft-deleted object.
func (s *Service) GetDeleted(ctx context.Context, tenantID, id string) (Object, error) {
	var out Object
	err := s.st.View(ctx, func(tx store.Tx) error {
		if _, err := mayRead(ctx, tx, tenantID, func(viewer) authz.Read { return authz.Read{Area: authz.AreaDeleted} }); err != nil {
			return err
		}
		o, err := findDeleted(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		out, err = toObject(o)
		return err
	})
	return out, err
}

// Restore brings a deleted object back (POST /directory/deletedItems/{id}/restore).
// A user gets back what its deletion removed, as in Entra (see
// keepRelationships); an application or service principal gets back none
// of its grants.
func (s *Service) Restore(ctx context.Context, tenantID, id string) (Object, error) {
	var out Object
	err := s.st.Update(ctx, func(tx store.Tx) error {
		o, err := s.findRemovable(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		restored, err := tx.RestoreObject(ctx, tenantID, o.Kind, o.ID)
		if err != nil {
			return translate(err, id)
		}
		if o.Kind == KindUser {
			if err := s.restoreRelationships(ctx, tx, tenantID, o.ID); err != nil {
				return err
			}
		}
		out, err = toObject(restored)
		return err
	})
	return out, err
}

// DeletedRetention is how long a deleted object stays restorable before
// housekeeping purges it, as in Entra.
const DeletedRetention = 30 * 24 * time.Hour

// stateDeletedRelationships holds, for a deleted user, what its deletion
// removed: the store drops a deleted object's links (so no walk of
// memberships passes through it) and the directory deletes the grants
// naming it, and a restore puts them back from here.
const stateDeletedRelationships = "deletedRelationships"

// deletedRelationships is the state's data.
type deletedRelationships struct {
	Links []store.Link `json:"links"`
	// Grants are the app role assignments, delegated permission grants and
	// directory role assignments soft-deleted with the user.
	Grants []deletedGrant `json:"grants"`
	// Target is what protected the account, so that only a caller who could
	// have deleted it as it was may bring it back with its roles.
	Target authz.UserTarget `json:"target"`
}

type deletedGrant struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// linkedRels are the relationships a user is on either side of.
var linkedRels = []string{RelMembers, RelOwners, RelSponsors, RelManager}

// keepRelationships records a user's links and grants before its deletion
// removes them, and removes its grants.
func (s *Service) keepRelationships(ctx context.Context, tx store.Tx, tenantID, userID string) error {
	var kept deletedRelationships
	var err error
	if kept.Target, err = userTarget(ctx, tx, tenantID, userID); err != nil {
		return err
	}
	for _, rel := range linkedRels {
		for _, reverse := range []bool{false, true} {
			objs, err := related(ctx, tx, tenantID, store.Related{ID: userID, Rel: rel, Reverse: reverse})
			if err != nil {
				return err
			}
			for _, o := range objs {
				l := store.Link{SourceID: userID, Rel: rel, TargetID: o.ID}
				if reverse {
					l.SourceID, l.TargetID = o.ID, userID
				}
				kept.Links = append(kept.Links, l)
			}
		}
	}
	grants, err := s.deleteAssignmentsOf(ctx, tx, tenantID, userID)
	if err != nil {
		return err
	}
	for _, g := range grants {
		kept.Grants = append(kept.Grants, deletedGrant{Kind: g.Kind, ID: g.ID})
	}
	data, err := json.Marshal(kept)
	if err != nil {
		return err
	}
	filter := store.StateFilter{Kind: stateDeletedRelationships, Subject: userID}
	if _, err := tx.DeleteStates(ctx, tenantID, filter); err != nil {
		return err
	}
	now := s.now().UTC()
	return tx.PutState(ctx, store.State{TenantID: tenantID, Kind: stateDeletedRelationships, ID: userID, Subject: userID,
		Data: data, CreatedAt: now, ExpiresAt: now.Add(DeletedRetention)})
}

// restoreRelationships gives a restored user back what keepRelationships
// kept, except what names an object gone since.
func (s *Service) restoreRelationships(ctx context.Context, tx store.Tx, tenantID, userID string) error {
	st, err := tx.GetState(ctx, tenantID, stateDeletedRelationships, userID)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var kept deletedRelationships
	if err := json.Unmarshal(st.Data, &kept); err != nil {
		return err
	}
	if c, ok := caller.From(ctx); ok {
		if err := enforce(authz.ChangeUser(c, kept.Target, authz.UserChange{Delete: true})); err != nil {
			return err
		}
	}
	for _, l := range kept.Links {
		err := tx.AddLink(ctx, tenantID, l)
		if err != nil && !isNotFound(err) && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	for _, g := range kept.Grants {
		if err := s.restoreGrant(ctx, tx, tenantID, g); err != nil {
			return err
		}
	}
	_, err = tx.DeleteStates(ctx, tenantID, store.StateFilter{Kind: stateDeletedRelationships, Subject: userID})
	return err
}

// restoreGrant brings back one grant of a restored user if the service
// principals it names are still there.
func (s *Service) restoreGrant(ctx context.Context, tx store.Tx, tenantID string, g deletedGrant) error {
	o, err := tx.GetDeletedObject(ctx, tenantID, g.Kind, g.ID)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	grant, err := toObject(o)
	if err != nil {
		return err
	}
	var others []string
	switch g.Kind {
	case KindAppRoleAssign:
		others = []string{str(grant.Doc, "resourceId")}
	case KindPermissionGrant:
		others = []string{str(grant.Doc, "clientId"), str(grant.Doc, "resourceId")}
	}
	for _, id := range others {
		if _, err := tx.GetObject(ctx, tenantID, KindServicePrincipal, id); isNotFound(err) {
			return nil
		} else if err != nil {
			return err
		}
	}
	_, err = tx.RestoreObject(ctx, tenantID, g.Kind, g.ID)
	return err
}

// PermanentlyDelete removes a deleted object for good (DELETE /directory/deletedItems/{id}).
func (s *Service) PermanentlyDelete(ctx context.Context, tenantID, id string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		o, err := s.findRemovable(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		if err := tx.PurgeObject(ctx, tenantID, o.Kind, o.ID); err != nil {
			return translate(err, id)
		}
		_, err = tx.DeleteStates(ctx, tenantID, store.StateFilter{Kind: stateDeletedRelationships, Subject: o.ID})
		return err
	})
}

// DeletedKind resolves the type segment of /directory/deletedItems/graph.{type}.
func DeletedKind(segment string) (string, error) {
	kind, err := CastKind(segment)
	if err != nil || !slices.Contains(RestorableKinds, kind) {
		return "", usererr.New(usererr.Invalid, "'%s' is not a type of deleted item.", segment)
	}
	return kind, nil
}

// CastKind resolves a type cast segment, graph.{type} as the SDKs send it
// or microsoft.graph.{type} as the docs spell it, to the kind it names.
func CastKind(segment string) (string, error) {
	if name, ok := strings.CutPrefix(strings.TrimPrefix(segment, "microsoft."), "graph."); ok {
		for k, spec := range specs {
			if spec.typeName == name {
				return k, nil
			}
		}
	}
	return "", usererr.WithCode(usererr.Invalid, "BadRequest", "Resource not found for the segment '%s'.", segment)
}
