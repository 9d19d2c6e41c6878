package directory

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// AddAppOwner makes a user or service principal an owner of an application
// or service principal (kind), as POST /{kind}/{id}/owners/$ref does. An
// enterprise application's owners assign users to it (authz.AssignAppRole);
// who may name them is who may manage the application.
func (s *Service) AddAppOwner(ctx context.Context, tenantID, kind, id, ownerID string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		obj, err := s.load(ctx, tx, tenantID, kind, id)
		if err != nil {
			return err
		}
		if err := s.checkAppManagement(ctx, tx, tenantID, obj, false); err != nil {
			return err
		}
		owner, err := s.findAny(ctx, tx, tenantID, ownerID, memberKinds[RelOwners])
		if err != nil {
			return err
		}
		err = tx.AddLink(ctx, tenantID, store.Link{SourceID: obj.ID, Rel: RelOwners, TargetID: owner.ID})
		if errors.Is(err, store.ErrConflict) {
			return usererr.New(usererr.Invalid, "One or more added object references already exist for the following modified properties: 'owners'.")
		}
		return translate(err, ownerID)
	})
}

// RemoveAppOwner removes an owner of an application or service principal.
func (s *Service) RemoveAppOwner(ctx context.Context, tenantID, kind, id, ownerID string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		obj, err := s.load(ctx, tx, tenantID, kind, id)
		if err != nil {
			return err
		}
		if err := s.checkAppManagement(ctx, tx, tenantID, obj, false); err != nil {
			return err
		}
		return translate(tx.RemoveLink(ctx, tenantID, store.Link{SourceID: obj.ID, Rel: RelOwners, TargetID: ownerID}), ownerID)
	})
}
