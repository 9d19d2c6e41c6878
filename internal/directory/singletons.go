package directory

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Tenant policies another domain package owns (b2b's external
// collaboration settings) are directory objects of that package's kinds:
// it validates and renders them, and reads and writes them here, in
// transactions of View and Update, the way the directory keeps its own
// policies: a singleton reads as its defaults until first changed, reads
// are the policies area's, and every change is audited.

// ReadSingleton returns the tenant's object of kind with id, or defaults()
// at version 0 when none is stored.
func ReadSingleton(ctx context.Context, tx store.Tx, tenantID, kind, id string, defaults func() Doc) (Object, error) {
	return singleton(ctx, tx, tenantID, kind, id, defaults)
}

// ReadObjects returns every stored object of kind, for kinds a tenant
// holds a few of.
func ReadObjects(ctx context.Context, tx store.Tx, tenantID, kind string) ([]Object, error) {
	return every(store.Query{}, func(q store.Query) (store.Page, error) { return tx.ListObjects(ctx, tenantID, kind, q) })
}

// MayReadPolicies refuses a request's caller who may not read the
// tenant's policies (guests, under the tenant's guest access level).
func MayReadPolicies(ctx context.Context, tx store.Tx, tenantID string) error {
	return mayReadArea(ctx, tx, tenantID, authz.AreaPolicies)
}

// WritePolicy stores next as the policy cur was read as (at version 0,
// not stored yet: created) in tx, a transaction of Update, and audits it
// as Entra audits policies: "Add policy" or "Update policy" in category
// Policy, on a target of type Policy called name, with the properties
// that changed.
func (s *Service) WritePolicy(ctx context.Context, tx store.Tx, tenantID string, cur Object, next Doc, name string) (Object, error) {
	raw := unjournaled(tx)
	var out Object
	var err error
	op := opUpdate
	if cur.Version == 0 {
		op = opAdd
		out, err = s.insert(ctx, raw, tenantID, cur.Kind, next)
	} else {
		out, err = s.replace(ctx, raw, tenantID, cur, next)
	}
	if err != nil {
		return Object{}, err
	}
	var before Doc
	if cur.Version != 0 {
		before = cur.Doc
	}
	notePolicy(tx, tenantID, op, out.ID, name, modified(cur.Kind, before, next, nil))
	return out, nil
}

// DeletePolicy removes a stored policy for good (a policy is not a
// deleted item to restore, and a singleton's id must be free for its next
// change) and audits "Delete policy".
func (s *Service) DeletePolicy(ctx context.Context, tx store.Tx, tenantID string, cur Object, name string) error {
	raw := unjournaled(tx)
	if err := raw.DeleteObject(ctx, tenantID, cur.Kind, cur.ID, cur.Version); err != nil {
		return translate(err, cur.ID)
	}
	if err := raw.PurgeObject(ctx, tenantID, cur.Kind, cur.ID); err != nil {
		return err
	}
	notePolicy(tx, tenantID, opDelete, cur.ID, name, nil)
	return nil
}

// unjournaled is the transaction under a journal: a policy's write is
// recorded once, under the policy's own activity name, not also as the
// plain write of an object of an unnamed kind.
func unjournaled(tx store.Tx) store.Tx {
	if j, ok := tx.(*journal); ok {
		return j.Tx
	}
	return tx
}

func notePolicy(tx store.Tx, tenantID, op, id, name string, changes []audit.ModifiedProperty) {
	note(tx, tenantID, audit.DirectoryAudit{
		ActivityDisplayName: verbs[op] + " policy", Category: audit.CategoryPolicy, OperationType: operationTypes[op],
		TargetResources: []audit.TargetResource{{ID: id, DisplayName: name, Type: "Policy", ModifiedProperties: changes}},
	})
}
