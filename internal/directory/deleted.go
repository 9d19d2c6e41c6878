package directory

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
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
// Its memberships and role grants were removed at deletion and stay removed.
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
		out, err = toObject(restored)
		return err
	})
	return out, err
}

// PermanentlyDelete removes a deleted object for good (DELETE /directory/deletedItems/{id}).
func (s *Service) PermanentlyDelete(ctx context.Context, tenantID, id string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		o, err := s.findRemovable(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		return translate(tx.PurgeObject(ctx, tenantID, o.Kind, o.ID), id)
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
	name, ok := strings.CutPrefix(segment, "microsoft.")
	if name, ok = strings.CutPrefix(name, "graph."); ok {
		for k, spec := range specs {
			if spec.typeName == name {
				return k, nil
			}
		}
	}
	return "", usererr.WithCode(usererr.Invalid, "BadRequest", "Resource not found for the segment '%s'.", segment)
}
