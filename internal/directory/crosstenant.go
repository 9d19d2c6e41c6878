package directory

import (
	"context"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/odata"
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
	if !IsGUID(tenantID) {
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
	// Exists: the home tenant has the account (not deleted); Active: it
	// also is enabled.
	Exists, Active bool
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
	out.Exists = true
	out.Active, _ = u.Doc["accountEnabled"].(bool)
	// The groups it is in, nested ones included, in one read.
	out.Groups, err = tx.Ancestors(ctx, homeTenantID, RelMembers, KindGroup, userID, maxHomeGroups)
	return out, err
}

// FindHomeAccount finds the account of a home tenant that owns an email
// address, by user principal name and then by mail: whom a what-if about
// an address not yet invited is about. found is false when none does.
func FindHomeAccount(ctx context.Context, tx store.Tx, homeTenantID, address string) (userID string, found bool, err error) {
	addr := strings.ToLower(strings.TrimSpace(address))
	for _, f := range []string{"userPrincipalName", "mail"} {
		p, err := tx.ListObjects(ctx, homeTenantID, KindUser, store.Query{Schema: userSpec.schema, Top: 1,
			Filter: odata.Compare{Op: "eq", Property: odata.Path{Segments: []string{f}}, Value: odata.Literal{Kind: odata.LitString, Text: addr}}})
		if err != nil {
			return "", false, err
		}
		if len(p.Objects) > 0 {
			return p.Objects[0].ID, true, nil
		}
	}
	return "", false, nil
}
