package directory

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// RelManager links a user to its manager; a manager's directReports are
// the users linking to it.
const RelManager = "manager"

// SetManager makes managerID the manager of a user, in place of any other
// (PUT /users/{id}/manager/$ref).
func (s *Service) SetManager(ctx context.Context, tenantID, userID, managerID string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		user, current, err := s.managerOf(ctx, tx, tenantID, userID)
		if err != nil {
			return err
		}
		manager, err := s.findAny(ctx, tx, tenantID, managerID, []string{KindUser})
		if err != nil {
			return err
		}
		if manager.ID == user.ID {
			return usererr.New(usererr.Invalid, "A user cannot be their own manager.")
		}
		for _, m := range current {
			if m.ID == manager.ID {
				return nil
			}
			if err := tx.RemoveLink(ctx, tenantID, store.Link{SourceID: user.ID, Rel: RelManager, TargetID: m.ID}); err != nil {
				return err
			}
		}
		return translate(tx.AddLink(ctx, tenantID, store.Link{SourceID: user.ID, Rel: RelManager, TargetID: manager.ID}), managerID)
	})
}

// RemoveManager removes a user's manager (DELETE /users/{id}/manager/$ref).
func (s *Service) RemoveManager(ctx context.Context, tenantID, userID string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		user, current, err := s.managerOf(ctx, tx, tenantID, userID)
		if err != nil {
			return err
		}
		if len(current) == 0 {
			return usererr.New(usererr.NotFound, "Resource 'manager' does not exist or one of its queried reference-property objects are not present.")
		}
		return tx.RemoveLink(ctx, tenantID, store.Link{SourceID: user.ID, Rel: RelManager, TargetID: current[0].ID})
	})
}

// managerOf resolves a user whose manager the caller changes, checks the
// caller may change the user, and returns its manager (none or one).
func (s *Service) managerOf(ctx context.Context, tx store.Tx, tenantID, userID string) (Object, []Object, error) {
	user, err := s.resolve(ctx, tx, tenantID, KindUser, userID)
	if err != nil {
		return Object{}, nil, err
	}
	if err := s.checkUserChange(ctx, tx, tenantID, user.ID, authz.UserChange{Properties: []string{RelManager}}); err != nil {
		return Object{}, nil, err
	}
	current, err := related(ctx, tx, tenantID, store.Related{ID: user.ID, Rel: RelManager})
	return user, current, err
}

// Manager returns a user's manager (GET /users/{id}/manager).
func (s *Service) Manager(ctx context.Context, tenantID, userID string) (Object, error) {
	p, err := s.ListRelated(ctx, tenantID, Relation{Kind: KindUser, ID: userID, Rel: RelManager}, Query{Top: 1})
	if err != nil {
		return Object{}, err
	}
	if len(p.Objects) == 0 {
		return Object{}, usererr.New(usererr.NotFound, "Resource 'manager' does not exist or one of its queried reference-property objects are not present.")
	}
	return p.Objects[0], nil
}
