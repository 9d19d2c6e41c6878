package directory

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// ErrNotMultitenant: an application was asked for through a
// tenant-independent endpoint (organizations, common) but admits only users
// of the tenant it is registered in.
var ErrNotMultitenant = usererr.New(usererr.Invalid, "The application is not configured as a multi-tenant application.")

// ErrAdminRoleRequired: consent for a whole organization is given only by a
// Global Administrator or an Application Administrator.
var ErrAdminRoleRequired = usererr.New(usererr.Forbidden, "Only a Global, Privileged Role, Application or Cloud Application Administrator can grant consent on behalf of the organization.")

// CheckAdminConsent tells, before the user is asked, whether
// GrantAdminConsent would accept their consent on behalf of the
// organization: nil, or ErrAdminRoleRequired, so the pages say an
// administrator must approve rather than offer a consent that would be refused.
func (s *Service) CheckAdminConsent(ctx context.Context, tenantID, userID string) error {
	return s.st.View(ctx, func(tx store.Tx) error { return mayConsentForOrganization(ctx, tx, tenantID, userID) })
}

// mayConsentForOrganization: only a Global or Application Administrator
// consents for everyone in the tenant.
func mayConsentForOrganization(ctx context.Context, tx store.Tx, tenantID, userID string) error {
	admin, err := holdsRole(ctx, tx, tenantID, userID, authz.ConsentAdministrators...)
	if err != nil {
		return err
	}
	if !admin {
		return ErrAdminRoleRequired
	}
	return nil
}

// MultitenantClient returns a multitenant application before anyone knows
// which tenant will use it: a sign-in sent to a tenant-independent endpoint
// learns the user's tenant only from the username. It is the cross-tenant
// read of the application by its appId (the registration lives in its
// publisher's tenant). Whether the application is enabled in the user's
// tenant is decided once that tenant is known, by ClientByAppID. An
// application for one tenant only is ErrNotMultitenant, and so is a
// first-party one: its sign-ins go to the tenant's own endpoint, since a
// tenant-independent request waits in its application's home tenant and a
// first-party application has none.
func (s *Service) MultitenantClient(ctx context.Context, appID string) (Client, error) {
	var out Client
	err := s.st.View(ctx, func(tx store.Tx) error {
		app, home, err := s.registration(ctx, tx, appID)
		if err != nil {
			return err
		}
		if home == FirstPartyOwnerID || !slices.Contains(multitenantAudiences, str(app.Doc, "signInAudience")) {
			return ErrNotMultitenant
		}
		out, err = clientOf(ctx, tx, appID, app, home)
		return err
	})
	return out, err
}

// ConsentPermissions resolves the scopes of a consent request for an
// application usable in the tenant. ".default" stands for the delegated
// Graph permissions the registration lists in requiredResourceAccess, as
// Entra's static consent does; other scopes name permissions directly.
// Unknown scopes are refused.
func (s *Service) ConsentPermissions(ctx context.Context, tenantID, appID string, scopes []string) ([]DelegatedPermission, error) {
	var out []DelegatedPermission
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = s.consentPermissions(ctx, tx, tenantID, appID, scopes)
		return err
	})
	return out, err
}

func (s *Service) consentPermissions(ctx context.Context, tx store.Tx, tenantID, appID string, scopes []string) ([]DelegatedPermission, error) {
	wanted, err := resolveScopes(scopes)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(scopes, func(sc string) bool { return ScopeName(sc) == ".default" }) {
		return wanted, nil
	}
	app, _, err := s.appFor(ctx, tx, tenantID, appID)
	if err != nil {
		return nil, err
	}
	for _, rra := range sliceOf(app.Doc["requiredResourceAccess"]) {
		if str(mapOf(rra), "resourceAppId") != GraphAppID {
			continue
		}
		for _, ra := range sliceOf(mapOf(rra)["resourceAccess"]) {
			id := str(mapOf(ra), "id")
			i := slices.IndexFunc(DelegatedPermissions, func(p DelegatedPermission) bool { return strings.EqualFold(p.ID, id) })
			if str(mapOf(ra), "type") == "Scope" && i >= 0 && !slices.Contains(wanted, DelegatedPermissions[i]) {
				wanted = append(wanted, DelegatedPermissions[i])
			}
		}
	}
	return wanted, nil
}

// GrantAdminConsent consents on behalf of every user of the tenant
// (oAuth2PermissionGrant with consentType AllPrincipals) to the permissions
// scopes resolve to (see ConsentPermissions), creating the application's
// service principal in the tenant if needed; a multitenant application's
// principal names its publisher in appOwnerOrganizationId. Only a holder
// of one of authz.ConsentAdministrators may, else
// ErrAdminRoleRequired and nothing changes. Permissions already granted
// tenant-wide are kept: the tenant's one AllPrincipals grant for the
// application gains the new ones.
func (s *Service) GrantAdminConsent(ctx context.Context, tenantID, adminID, appID string, scopes []string) error {
	ctx = actingUser(ctx, tenantID, adminID)
	return s.st.Update(ctx, func(tx store.Tx) error {
		if err := mayConsentForOrganization(ctx, tx, tenantID, adminID); err != nil {
			return err
		}
		wanted, err := s.consentPermissions(ctx, tx, tenantID, appID, scopes)
		if err != nil {
			return err
		}
		sp, err := s.ensureServicePrincipal(ctx, tx, tenantID, appID)
		if err != nil || len(wanted) == 0 {
			return err
		}
		return s.upsertGrant(ctx, tx, tenantID, sp, "AllPrincipals", "", wanted)
	})
}
