package directory

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// The reads on this page cross tenants on purpose, and are the only ones
// that do: what any tenant may learn of another (its name and default
// domain, as Graph's tenantRelationships functions tell anyone), and what a
// resource tenant needs of a guest's home account to apply cross-tenant
// access settings (whether it still exists and is enabled, and its groups,
// which the home tenant's outbound policy may name). Nothing else of the
// home tenant is read for a guest.

// TenantInformation is Graph's tenantInformation.
type TenantInformation struct {
	TenantID, DisplayName, DefaultDomainName string
}

// FindTenantByDomain looks up the tenant that verified domain, as Graph's
// findTenantInformationByDomainName does: any verified domain, not only the
// default one.
func (s *Service) FindTenantByDomain(ctx context.Context, domain string) (TenantInformation, error) {
	var out TenantInformation
	err := s.st.View(ctx, func(tx store.Tx) error {
		d, err := tx.LookupDomain(ctx, strings.ToLower(strings.TrimSpace(domain)))
		if err == nil && !d.Verified {
			err = store.ErrNotFound
		}
		if err != nil {
			return err
		}
		out, err = tenantInformation(ctx, tx, d.TenantID)
		return err
	})
	if isNotFound(err) {
		return TenantInformation{}, usererr.WithCode(usererr.NotFound, "Request_ResourceNotFound", "No tenant has verified the domain '%s'.", domain)
	}
	return out, err
}

// FindTenantByID looks up a tenant of the deployment by id.
func (s *Service) FindTenantByID(ctx context.Context, tenantID string) (TenantInformation, error) {
	if !isGUID(tenantID) {
		return TenantInformation{}, usererr.New(usererr.Invalid, "Invalid tenant id '%s': a tenant id is a GUID.", tenantID)
	}
	var out TenantInformation
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tenantInformation(ctx, tx, strings.ToLower(tenantID))
		return err
	})
	if isNotFound(err) {
		return TenantInformation{}, usererr.WithCode(usererr.NotFound, "Request_ResourceNotFound", "Tenant '%s' not found.", tenantID)
	}
	return out, err
}

func tenantInformation(ctx context.Context, tx store.Tx, tenantID string) (TenantInformation, error) {
	t, err := tx.GetTenant(ctx, tenantID)
	if err != nil {
		return TenantInformation{}, err
	}
	dom, err := defaultDomain(ctx, tx, tenantID)
	if err != nil {
		return TenantInformation{}, err
	}
	return TenantInformation{TenantID: t.ID, DisplayName: t.DisplayName, DefaultDomainName: dom}, nil
}

// HomeAccount is what a resource tenant learns of a guest's account in its
// home tenant of this deployment.
type HomeAccount struct {
	TenantID, UserID string
	// Active: the account exists and is enabled.
	Active bool
	// Groups are the ids of the groups the account belongs to in the home
	// tenant, directly or through other groups.
	Groups []string
}

// maxHomeGroups bounds the groups a home account's lookup follows: a
// policy is decided on at most this many (Entra's token limit for groups
// is far below it).
const maxHomeGroups = 2000

// LookUpHomeAccount reads a home account for a cross-tenant decision, in
// tx. A missing account is not an error: it is inactive and in no group.
func LookUpHomeAccount(ctx context.Context, tx store.Tx, homeTenantID, userID string) (HomeAccount, error) {
	out := HomeAccount{TenantID: homeTenantID, UserID: userID}
	o, err := tx.GetObject(ctx, homeTenantID, KindUser, userID)
	if isNotFound(err) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	u, err := toObject(o)
	if err != nil {
		return out, err
	}
	out.Active, _ = u.Doc["accountEnabled"].(bool)
	out.Groups, err = transitiveGroups(ctx, tx, homeTenantID, userID)
	return out, err
}

// transitiveGroups lists the groups id belongs to, directly or through
// nested groups, breadth first, each once.
func transitiveGroups(ctx context.Context, tx store.Tx, tenantID, id string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for next := []string{id}; len(next) > 0 && len(out) < maxHomeGroups; {
		var level []string
		for _, member := range next {
			groups, err := related(ctx, tx, tenantID, store.Related{ID: member, Rel: RelMembers, Reverse: true})
			if err != nil {
				return nil, err
			}
			for _, g := range groups {
				if g.Kind != KindGroup || seen[g.ID] {
					continue
				}
				seen[g.ID] = true
				level = append(level, g.ID)
			}
		}
		out = append(out, level...)
		next = level
	}
	slices.Sort(out)
	return out[:min(len(out), maxHomeGroups)], nil
}
