package directory

import (
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// First-party applications belong to the deployment, not to a tenant, as
// Microsoft's own (Azure CLI, Microsoft Graph) belong to Microsoft in Entra:
// the Gatehouse CLI, which `gatehouse login` signs in as; Microsoft Graph,
// whose app roles define the API's application permissions; and Gatehouse
// B2B, the client a tenant signs its guests in through at their home
// tenant of this deployment. Their
// registrations are defined here and held nowhere else, so no tenant has a
// copy its administrators could edit (a copy made multitenant, with an
// attacker's redirect URI, once let one tenant harvest another's codes).
// Every tenant has a service principal of each, which it may disable but
// not redefine (checkPrincipalChange).

// CLIAppID is the client id of the gatehouse CLI, the same for every tenant
// as the Azure CLI's is in Entra, so `gatehouse login` needs no registration.
const CLIAppID = "6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f10"

// B2BAppID is the client id of Gatehouse B2B, the public client a resource
// tenant's sign-in pages use to send a guest home to authenticate (at the
// home tenant's own endpoints, with PKCE) and bring back the home account's
// ID token. A tenant that disables its principal of it keeps its users from
// signing in as guests anywhere else.
const B2BAppID = "3c9a6f2e-8b41-4d7a-a5e0-1f6b2d94c8e7"

// AdminAppID is the client id of the Gatehouse admin centre, the public
// client the console at {public URL}/admin signs administrators in through
// (their tenant's own pages, with PKCE), as the Azure portal is a
// first-party application of Entra.
const AdminAppID = "9e4b2c7d-6a13-4f58-b0d2-c83e5a17f9a4"

// AdminCallbackPath is where the admin centre's codes come back, under the
// deployment's public URL.
const AdminCallbackPath = "/admin/callback"

// AdminScopes are the delegated permissions the admin centre acts with,
// preauthorized: what the signed-in user may then do is what their own
// directory roles let them, exactly as through Graph.
var AdminScopes = []string{"Directory.AccessAsUser.All", "User.Invite.All", "AuditLog.Read.All", "Policy.Read.All", "Policy.ReadWrite.CrossTenantAccess",
	"CrossTenantInformation.ReadBasic.All"}

// FederationCallbackPath is where Gatehouse B2B's codes come back, under the
// deployment's public URL.
const FederationCallbackPath = "/federation/callback"

// FirstPartyOwnerID is the appOwnerOrganizationId of first-party principals:
// the tenant id Entra's first-party applications name, so tools that tell
// first-party principals apart by it work unchanged. No tenant has it.
const FirstPartyOwnerID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"

// firstPartyAppIDs are the first-party applications every tenant has a
// service principal of.
var firstPartyAppIDs = []string{GraphAppID, CLIAppID, B2BAppID, AdminAppID}

// firstPartyApp returns the deployment's registration of a first-party
// application, a fresh document on every call. publicURL is the
// deployment's address, where Gatehouse B2B's redirect URI lives ("": it
// has none, and no sign-in can be sent back to it).
func firstPartyApp(appID, publicURL string) (Object, bool) {
	var d Doc
	switch appID {
	case CLIAppID:
		// A public client: it signs in by device code (or a loopback
		// redirect) and calls the API as the signed-in user.
		d = Doc{"displayName": "Gatehouse CLI", "isFallbackPublicClient": true,
			"publicClient": map[string]any{"redirectUris": []any{"http://localhost"}}, "appRoles": []any{}}
	case GraphAppID:
		d = Doc{"displayName": "Microsoft Graph", "appRoles": graphAppRoles()}
	case B2BAppID:
		// A public client, so it needs PKCE and holds no secret that
		// every node would have to share.
		uris := []any{}
		if publicURL != "" {
			uris = append(uris, strings.TrimSuffix(publicURL, "/")+FederationCallbackPath)
		}
		d = Doc{"displayName": "Gatehouse B2B", "publicClient": map[string]any{"redirectUris": uris}, "appRoles": []any{}}
	case AdminAppID:
		// A public client too: every node can finish a sign-in without a
		// shared secret, and PKCE binds the code to the node's request.
		uris := []any{}
		if publicURL != "" {
			uris = append(uris, strings.TrimSuffix(publicURL, "/")+AdminCallbackPath)
		}
		d = Doc{"displayName": "Gatehouse admin centre", "publicClient": map[string]any{"redirectUris": uris}, "appRoles": []any{}}
	default:
		return Object{}, false
	}
	d["appId"], d["signInAudience"], d["identifierUris"], d["tags"] = appID, "AzureADMultipleOrgs", []any{}, []any{}
	return Object{Kind: KindApplication, Doc: d}, true
}

func isFirstParty(appID string) bool { return slices.Contains(firstPartyAppIDs, appID) }

// preconsented are the scopes a first-party application uses without
// anyone's consent, as Microsoft's first-party applications are
// preauthorized in Entra: Gatehouse B2B reads the guest's name and verified
// email at home to hand them to the inviting organization, whose own
// consent page ("review permissions") is where the guest agrees to that;
// the admin centre acts as the signed-in user, within their own roles.
func preconsented(appID string) []string {
	switch appID {
	case B2BAppID:
		return []string{"openid", "profile", "email"}
	case AdminAppID:
		return append([]string{"openid", "profile"}, AdminScopes...)
	}
	return nil
}

// tenantPrincipalSettings are what a tenant decides about its principal of a
// first-party application, as Entra lets it: whether users may sign in,
// whether they need an assignment, and its own notes and tags. Everything
// else (name, description, homepage) is the publisher's.
var tenantPrincipalSettings = []string{"accountEnabled", "appRoleAssignmentRequired", "notes", "tags"}

// ErrFirstPartyPrincipal: a change to a first-party application's principal
// that only the deployment may make.
var ErrFirstPartyPrincipal = usererr.New(usererr.Forbidden, "The service principal of a first-party application cannot be deleted, and only accountEnabled, appRoleAssignmentRequired, notes and tags can be changed.")

// checkPrincipalChange decides whether a tenant may change (patch) or delete
// its service principal of the application appID: any change for an
// application registered in a tenant; for a first-party application only
// the tenant's own settings, and no deletion (disabling the principal is
// how a tenant turns a first-party application off).
func checkPrincipalChange(appID string, patch Doc, deleting bool) error {
	if !isFirstParty(appID) {
		return nil
	}
	if deleting {
		return ErrFirstPartyPrincipal
	}
	for name := range patch {
		if !slices.Contains(tenantPrincipalSettings, name) {
			return ErrFirstPartyPrincipal
		}
	}
	return nil
}
