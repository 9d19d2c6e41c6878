package directory

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// Redirect URIs of browser clients (web, spa) are https, or http on
// loopback; public clients' may also use a private-use scheme of their own.
var (
	redirectList       = prop{typ: tStringList, maxLen: 256, maxItems: 256, check: func(v string) error { return checkRedirectURI(v, false) }}
	publicRedirectList = prop{typ: tStringList, maxLen: 256, maxItems: 256, check: func(v string) error { return checkRedirectURI(v, true) }}
)

var appRoleFields = map[string]prop{
	"id":                 {typ: tGUID},
	"allowedMemberTypes": {typ: tStringList, enum: []string{"User", "Application"}},
	"description":        text(1024),
	"displayName":        text(256),
	"isEnabled":          {typ: tBool},
	"origin":             text(64),
	"value":              text(256),
}

var applicationSpec = (&kindSpec{
	kind: KindApplication, typeName: "application", resource: "Application",
	props: map[string]prop{
		"id":                     ro(tString),
		"appId":                  ro(tString),
		"appRoles":               {typ: tObjectList, fields: appRoleFields, maxItems: 1200},
		"createdDateTime":        ro(tDateTime),
		"deletedDateTime":        ro(tDateTime),
		"description":            text(1024),
		"displayName":            {typ: tString, maxLen: 256, notNull: true},
		"identifierUris":         list(256, 50),
		"api":                    apiProp,
		"optionalClaims":         optionalClaimsProp,
		"groupMembershipClaims":  groupMembershipClaimsProp,
		"keyCredentials":         keyCredentialsProp,
		"isFallbackPublicClient": {typ: tBool},
		"notes":                  text(1024),
		"passwordCredentials":    ro(tObjectList),
		"publisherDomain":        ro(tString),
		"publicClient":           {typ: tObject, always: true, fields: map[string]prop{"redirectUris": publicRedirectList}},
		"requiredResourceAccess": {typ: tObjectList, maxItems: 50, fields: map[string]prop{
			"resourceAppId":  {typ: tGUID},
			"resourceAccess": {typ: tObjectList, fields: map[string]prop{"id": {typ: tGUID}, "type": enum("Scope", "Role")}},
		}},
		"signInAudience": enum("AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount"),
		"spa":            {typ: tObject, always: true, fields: map[string]prop{"redirectUris": redirectList}},
		"tags":           list(256, 50),
		"web": {typ: tObject, always: true, fields: map[string]prop{
			"redirectUris": redirectList,
			"homePageUrl":  text(256),
			"logoutUrl":    text(256),
			"implicitGrantSettings": {typ: tObject, fields: map[string]prop{
				"enableAccessTokenIssuance": {typ: tBool},
				"enableIdTokenIssuance":     {typ: tBool},
			}},
		}},
	},
	schema: &odata.Schema{Resource: "Application", Properties: map[string]odata.Property{
		"id":              {Name: "id", Type: odata.TypeString, Column: "id", Folded: true, Ops: ops("eq", "in"), AdvancedOps: ops("ne", "not")},
		"appId":           {Name: "appId", Type: odata.TypeString, Column: "app_id", Folded: true, Ops: ops("eq", "in"), AdvancedOps: ops("ne", "not")},
		"displayName":     {Name: "displayName", Type: odata.TypeString, Column: "display_name", Ops: ops("eq", "in", "startsWith", "ge", "le"), AdvancedOps: ops("ne", "not", "endsWith"), Sortable: true},
		"signInAudience":  jsonString("signInAudience"),
		"publisherDomain": jsonString("publisherDomain"),
		"identifierUris":  {Name: "identifierUris", Type: odata.TypeStringCollection, Ops: ops("any"), AdvancedOps: ops("not", "count")},
		"tags":            {Name: "tags", Type: odata.TypeStringCollection, Ops: ops("any"), AdvancedOps: ops("not", "count")},
		"createdDateTime": {Name: "createdDateTime", Type: odata.TypeDateTime, Column: "created_at", AdvancedOps: ops("eq", "ne", "not", "ge", "le", "in"), Sortable: true},
	}},
}).init()

var servicePrincipalSpec = (&kindSpec{
	kind: KindServicePrincipal, typeName: "servicePrincipal", resource: "ServicePrincipal",
	props: map[string]prop{
		"id":                        ro(tString),
		"accountEnabled":            {typ: tBool},
		"appDisplayName":            ro(tString),
		"appId":                     {typ: tGUID},
		"appOwnerOrganizationId":    ro(tString),
		"appRoleAssignmentRequired": {typ: tBool},
		"appRoles":                  ro(tObjectList),
		"deletedDateTime":           ro(tDateTime),
		"description":               text(1024),
		"displayName":               {typ: tString, maxLen: 256, notNull: true},
		"homepage":                  text(256),
		"notes":                     text(1024),
		"oauth2PermissionScopes":    ro(tObjectList),
		"replyUrls":                 ro(tStringList),
		"servicePrincipalNames":     ro(tStringList),
		"servicePrincipalType":      ro(tString),
		"signInAudience":            ro(tString),
		"tags":                      list(256, 50),
	},
	schema: &odata.Schema{Resource: "ServicePrincipal", Properties: map[string]odata.Property{
		"id":                    {Name: "id", Type: odata.TypeString, Column: "id", Folded: true, Ops: ops("eq", "in"), AdvancedOps: ops("ne", "not")},
		"appId":                 {Name: "appId", Type: odata.TypeString, Column: "app_id", Folded: true, Ops: ops("eq", "in"), AdvancedOps: ops("ne", "not")},
		"displayName":           {Name: "displayName", Type: odata.TypeString, Column: "display_name", Ops: ops("eq", "in", "startsWith", "ge", "le"), AdvancedOps: ops("ne", "not", "endsWith"), Sortable: true},
		"accountEnabled":        {Name: "accountEnabled", Type: odata.TypeBool, Ops: ops("eq"), AdvancedOps: ops("ne", "not")},
		"servicePrincipalType":  jsonString("servicePrincipalType"),
		"tags":                  {Name: "tags", Type: odata.TypeStringCollection, Ops: ops("any"), AdvancedOps: ops("not", "count")},
		"servicePrincipalNames": {Name: "servicePrincipalNames", Type: odata.TypeStringCollection, Ops: ops("any"), AdvancedOps: ops("not", "count")},
	}},
}).init()

// scriptSchemes run code or open local content in the browser rather than
// reach an application: a code or token sent there is the page's to steal.
var scriptSchemes = []string{"javascript", "vbscript", "data", "file", "blob", "filesystem", "about", "view-source"}

// checkRedirectURI accepts absolute https URIs, and http only for loopback
// (native and development apps), without fragments or wildcards, as Entra
// does. custom (public clients) also admits a private-use scheme
// (RFC 8252 §7.1: "com.example.app:/cb", "msal<appId>://auth"), never one
// that runs script or opens local content.
func checkRedirectURI(v string, custom bool) error {
	u, err := url.Parse(v)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return errf("redirect URIs must be absolute")
	}
	if u.Fragment != "" || strings.Contains(v, "#") {
		return errf("redirect URIs cannot contain a fragment")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http":
		h := u.Hostname()
		if h != "localhost" && h != "127.0.0.1" && h != "::1" {
			return errf("http redirect URIs are allowed only for localhost")
		}
	case slices.Contains(scriptSchemes, u.Scheme):
		return errf("the scheme %s: is not allowed in redirect URIs", u.Scheme)
	case !custom:
		return errf("redirect URIs must use https (or http for localhost); custom schemes are for public clients")
	}
	if u.Host == "" && (u.Scheme == "https" || u.Scheme == "http") {
		return errf("redirect URIs must be absolute")
	}
	if strings.Contains(u.Host, "*") {
		return errf("wildcard redirect URIs are not allowed")
	}
	return nil
}

// CreateApplication registers an application from a POST /applications body.
func (s *Service) CreateApplication(ctx context.Context, tenantID string, body Doc) (Object, error) {
	d, err := applicationSpec.normalize(body)
	if err != nil {
		return Object{}, err
	}
	if d["displayName"] == nil || d["displayName"] == "" {
		return Object{}, usererr.New(usererr.Invalid, "Property 'displayName' is required when creating the resource.")
	}
	if err := checkAppRoles(d["appRoles"]); err != nil {
		return Object{}, err
	}
	var out Object
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if err := s.checkAppManagement(ctx, tx, tenantID, Object{}, true); err != nil {
			return err
		}
		if out, err = s.insertApplication(ctx, tx, tenantID, d); err != nil {
			return err
		}
		return addCallerAsOwner(ctx, tx, tenantID, out.ID)
	})
	return out, err
}

func (s *Service) insertApplication(ctx context.Context, tx store.Tx, tenantID string, d Doc) (Object, error) {
	publisher, err := defaultDomain(ctx, tx, tenantID)
	if err != nil {
		return Object{}, err
	}
	d["id"] = s.newID()
	if d["appId"] == nil {
		d["appId"] = s.newID()
	}
	if err := checkNewIdentifierURIs(ctx, tx, tenantID, str(d, "appId"), nil, stringList(d["identifierUris"])); err != nil {
		return Object{}, err
	}
	if err := checkAPI(nil, d); err != nil {
		return Object{}, err
	}
	if err := fillKeyCredentials(nil, d, s.newID); err != nil {
		return Object{}, err
	}
	d["createdDateTime"] = s.timestamp()
	d["publisherDomain"] = publisher
	d["passwordCredentials"] = []any{}
	if d["signInAudience"] == nil {
		d["signInAudience"] = "AzureADMyOrg"
	}
	for _, name := range []string{"appRoles", "identifierUris", "keyCredentials", "requiredResourceAccess", "tags"} {
		if d[name] == nil {
			d[name] = []any{}
		}
	}
	return s.insert(ctx, tx, tenantID, KindApplication, d)
}

// checkAppRoles requires every app role to carry an id and a value that are
// unique within the application.
func checkAppRoles(v any) error {
	roles, _ := v.([]any)
	ids, values := map[string]bool{}, map[string]bool{}
	for _, r := range roles {
		m := r.(map[string]any)
		id, value := str(m, "id"), str(m, "value")
		if id == "" || ids[id] || (value != "" && values[value]) {
			return usererr.New(usererr.Invalid, "Each app role needs a unique id and a unique value.")
		}
		ids[id], values[value] = true, true
		if m["isEnabled"] == nil {
			m["isEnabled"] = true
		}
	}
	return nil
}

// UpdateApplication applies a PATCH /applications/{id} body.
func (s *Service) UpdateApplication(ctx context.Context, tenantID, id string, body Doc, ifMatch int64) error {
	patch, err := applicationSpec.normalize(body)
	if err != nil {
		return err
	}
	if err := checkAppRoles(patch["appRoles"]); err != nil {
		return err
	}
	return s.patch(ctx, tenantID, KindApplication, id, ifMatch, patch, func(tx store.Tx, cur Object, next Doc) error {
		if err := s.checkAppManagement(ctx, tx, tenantID, cur, false); err != nil {
			return err
		}
		if err := checkAPI(cur.Doc, next); err != nil {
			return err
		}
		if err := fillKeyCredentials(cur.Doc, next, s.newID); err != nil {
			return err
		}
		return checkNewIdentifierURIs(ctx, tx, tenantID, str(cur.Doc, "appId"), stringList(cur.Doc["identifierUris"]), stringList(next["identifierUris"]))
	}, func(tx store.Tx, written Object) error {
		return s.syncServicePrincipal(ctx, tx, tenantID, written.Doc)
	})
}

// syncServicePrincipal copies what a service principal mirrors from its
// application (name, roles, redirect URIs) after the application changes.
func (s *Service) syncServicePrincipal(ctx context.Context, tx store.Tx, tenantID string, app Doc) error {
	o, err := tx.GetObjectByAppID(ctx, tenantID, KindServicePrincipal, str(app, "appId"))
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	sp, err := toObject(o)
	if err != nil {
		return err
	}
	_, err = s.replace(ctx, tx, tenantID, sp, merge(sp.Doc, mirroredFromApp(app)))
	return err
}

func mirroredFromApp(app Doc) Doc {
	var reply []any
	for _, part := range []string{"web", "spa", "publicClient"} {
		if uris, ok := mapOf(app[part])["redirectUris"].([]any); ok {
			reply = append(reply, uris...)
		}
	}
	if reply == nil {
		reply = []any{}
	}
	names := append([]any{app["appId"]}, sliceOf(app["identifierUris"])...)
	out := Doc{
		"appDisplayName":        app["displayName"],
		"appRoles":              sliceOrEmpty(app["appRoles"]),
		"replyUrls":             reply,
		"servicePrincipalNames": names,
		"signInAudience":        app["signInAudience"],
	}
	// The scopes an application exposes are its principal's, as in Entra
	// (first-party registrations carry theirs on the principal instead).
	if api, ok := app["api"]; ok {
		out["oauth2PermissionScopes"] = sliceOrEmpty(mapOf(api)["oauth2PermissionScopes"])
	}
	return out
}

func sliceOf(v any) []any {
	s, _ := v.([]any)
	return s
}

func sliceOrEmpty(v any) []any {
	if s, ok := v.([]any); ok {
		return s
	}
	return []any{}
}

// CreateServicePrincipal creates the service principal of an application
// registered in the same tenant, from a POST /servicePrincipals body.
func (s *Service) CreateServicePrincipal(ctx context.Context, tenantID string, body Doc) (Object, error) {
	d, err := servicePrincipalSpec.normalize(body)
	if err != nil {
		return Object{}, err
	}
	appID := str(d, "appId")
	if appID == "" {
		return Object{}, usererr.New(usererr.Invalid, "Property 'appId' is required when creating the resource.")
	}
	var out Object
	err = s.st.Update(ctx, func(tx store.Tx) error {
		o, err := tx.GetObjectByAppID(ctx, tenantID, KindApplication, appID)
		if isNotFound(err) {
			return usererr.New(usererr.Invalid, "The appId '%s' of the service principal does not reference a valid application object.", appID)
		}
		if err != nil {
			return err
		}
		app, err := toObject(o)
		if err != nil {
			return err
		}
		// Whoever may manage the application may give it a principal.
		if err := s.checkAppManagement(ctx, tx, tenantID, app, false); err != nil {
			return err
		}
		if out, err = s.insertServicePrincipal(ctx, tx, tenantID, app.Doc, d, tenantID); err != nil {
			return err
		}
		return addCallerAsOwner(ctx, tx, tenantID, out.ID)
	})
	return out, err
}

// insertServicePrincipal creates the tenant's principal of an application
// registered by owner (a tenant id, or FirstPartyOwnerID).
func (s *Service) insertServicePrincipal(ctx context.Context, tx store.Tx, tenantID string, app, d Doc, owner string) (Object, error) {
	d = merge(d, mirroredFromApp(app))
	d["id"] = s.newID()
	d["appId"] = app["appId"]
	d["appOwnerOrganizationId"] = owner
	d["servicePrincipalType"] = "Application"
	if d["displayName"] == nil {
		d["displayName"] = app["displayName"]
	}
	if d["accountEnabled"] == nil {
		d["accountEnabled"] = true
	}
	if d["appRoleAssignmentRequired"] == nil {
		d["appRoleAssignmentRequired"] = false
	}
	if d["tags"] == nil {
		d["tags"] = []any{}
	}
	return s.insert(ctx, tx, tenantID, KindServicePrincipal, d)
}

// UpdateServicePrincipal applies a PATCH /servicePrincipals/{id} body.
func (s *Service) UpdateServicePrincipal(ctx context.Context, tenantID, id string, body Doc, ifMatch int64) error {
	patch, err := servicePrincipalSpec.normalize(body)
	if err != nil {
		return err
	}
	if _, ok := patch["appId"]; ok {
		return usererr.New(usererr.Invalid, "Property 'appId' cannot be changed.")
	}
	return s.patch(ctx, tenantID, KindServicePrincipal, id, ifMatch, patch, func(tx store.Tx, cur Object, next Doc) error {
		if err := s.checkAppManagement(ctx, tx, tenantID, cur, false); err != nil {
			return err
		}
		if err := checkPrincipalChange(str(cur.Doc, "appId"), patch, false); err != nil {
			return err
		}
		if next["accountEnabled"] == false && cur.Doc["accountEnabled"] != false {
			return s.revokeClient(ctx, tx, tenantID, cur.Doc)
		}
		return nil
	}, nil)
}

// retireServicePrincipal ends what a service principal going away allowed:
// its application's tokens and sign-ins in the tenant, and every
// assignment and grant naming it.
func (s *Service) retireServicePrincipal(ctx context.Context, tx store.Tx, tenantID string, sp Object) error {
	if err := s.revokeClient(ctx, tx, tenantID, sp.Doc); err != nil {
		return err
	}
	_, err := s.deleteAssignmentsOf(ctx, tx, tenantID, sp.ID)
	return err
}

// PasswordCredential is a new client secret; SecretText is shown once.
type PasswordCredential struct {
	KeyID         string
	DisplayName   string
	Hint          string
	SecretText    string
	StartDateTime time.Time
	EndDateTime   time.Time
}

// secretLifetime is both Graph's default lifetime of a client secret and
// the longest one allowed, as Entra's portal bounds it: two calendar years.
func secretLifetime(start time.Time) time.Time { return start.AddDate(2, 0, 0) }

// AddPassword creates a client secret for an application (POST
// /applications/{id}/addPassword). Only its hash is stored.
func (s *Service) AddPassword(ctx context.Context, tenantID, id string, body Doc) (PasswordCredential, error) {
	pc := mapOf(body["passwordCredential"])
	for k := range body {
		if k != "passwordCredential" {
			return PasswordCredential{}, usererr.New(usererr.Invalid, "Property '%s' does not exist as a declared property or extension property.", k)
		}
	}
	now := s.now().UTC().Truncate(time.Second)
	cred := PasswordCredential{KeyID: s.newID(), StartDateTime: now, EndDateTime: secretLifetime(now)}
	cred.DisplayName, _ = pc["displayName"].(string)
	if v, ok := pc["endDateTime"].(string); ok {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil || !t.After(now) || t.After(secretLifetime(now)) {
			return PasswordCredential{}, usererr.New(usererr.Invalid, "Invalid value specified for property 'endDateTime': it must be in the future and at most two years away.")
		}
		cred.EndDateTime = t.UTC()
	}
	cred.SecretText, cred.Hint = secrets.NewClientSecret()
	err := s.updateWithRetry(ctx, 0, func(tx store.Tx) error {
		cur, err := s.load(ctx, tx, tenantID, KindApplication, id)
		if err != nil {
			return err
		}
		if err := s.checkAppManagement(ctx, tx, tenantID, cur, false); err != nil {
			return err
		}
		return s.storeSecret(ctx, tx, tenantID, cur, cred)
	})
	return cred, err
}

// storeSecret records a client secret's hash and its public description on
// the app. Rewriting the app also moves the tenant's change-feed head, which
// is what retires cached authentications (see authCache); credentials are
// never written without it.
func (s *Service) storeSecret(ctx context.Context, tx store.Tx, tenantID string, app Object, cred PasswordCredential) error {
	err := tx.PutCredential(ctx, store.Credential{
		TenantID: tenantID, ObjectID: app.ID, KeyID: cred.KeyID, Type: store.CredClientSecret,
		Hash: secrets.HashSecret(cred.SecretText), Hint: cred.Hint, DisplayName: cred.DisplayName,
		StartAt: cred.StartDateTime, EndAt: cred.EndDateTime, CreatedAt: s.now().UTC(),
	})
	if err != nil {
		return err
	}
	next := merge(app.Doc, nil)
	next["passwordCredentials"] = append(sliceOrEmpty(app.Doc["passwordCredentials"]), cred.Describe())
	_, err = s.replace(ctx, tx, tenantID, app, next)
	return err
}

// Describe is the credential as Graph lists it: never the secret.
func (c PasswordCredential) Describe() map[string]any {
	return map[string]any{
		"keyId": c.KeyID, "displayName": nullable(c.DisplayName), "hint": c.Hint,
		"startDateTime": c.StartDateTime.Format(time.RFC3339), "endDateTime": c.EndDateTime.Format(time.RFC3339),
		"secretText": nil, "customKeyIdentifier": nil,
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// RemovePassword deletes a client secret (POST /applications/{id}/removePassword).
func (s *Service) RemovePassword(ctx context.Context, tenantID, id string, body Doc) error {
	keyID, _ := body["keyId"].(string)
	if !IsGUID(keyID) {
		return usererr.New(usererr.Invalid, "Property 'keyId' is required and must be a GUID.")
	}
	return s.updateWithRetry(ctx, 0, func(tx store.Tx) error {
		cur, err := s.load(ctx, tx, tenantID, KindApplication, id)
		if err != nil {
			return err
		}
		if err := s.checkAppManagement(ctx, tx, tenantID, cur, false); err != nil {
			return err
		}
		if err := tx.DeleteCredential(ctx, tenantID, cur.ID, keyID); err != nil {
			if isNotFound(err) {
				return usererr.New(usererr.NotFound, "No password credential with keyId '%s' exists on the application.", keyID)
			}
			return err
		}
		var kept []any
		for _, c := range sliceOf(cur.Doc["passwordCredentials"]) {
			if str(mapOf(c), "keyId") != keyID {
				kept = append(kept, c)
			}
		}
		next := merge(cur.Doc, nil)
		next["passwordCredentials"] = sliceOrEmpty(kept)
		_, err = s.replace(ctx, tx, tenantID, cur, next)
		return err
	})
}
