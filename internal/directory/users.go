package directory

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/passpolicy"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

func text(maxLen int) prop  { return prop{typ: tString, maxLen: maxLen} }
func ro(typ valueType) prop { return prop{typ: typ, readOnly: true} }
func list(maxLen, maxItems int) prop {
	return prop{typ: tStringList, maxLen: maxLen, maxItems: maxItems}
}
func enum(v ...string) prop { return prop{typ: tString, enum: v} }

var identityFields = map[string]prop{
	"signInType":       text(100),
	"issuer":           text(512),
	"issuerAssignedId": text(64),
}

var userSpec = (&kindSpec{
	kind: KindUser, typeName: "user", resource: "User",
	props: map[string]prop{
		"id":                              ro(tString),
		"accountEnabled":                  {typ: tBool, notNull: true},
		"ageGroup":                        enum("Minor", "NotAdult", "Adult"),
		"businessPhones":                  list(64, 1),
		"city":                            text(128),
		"companyName":                     text(64),
		"consentProvidedForMinor":         enum("Granted", "Denied", "NotRequired"),
		"country":                         text(128),
		"createdDateTime":                 ro(tDateTime),
		"creationType":                    ro(tString),
		"deletedDateTime":                 ro(tDateTime),
		"department":                      text(64),
		"displayName":                     {typ: tString, maxLen: 256, notNull: true},
		"employeeId":                      text(16),
		"employeeType":                    text(64),
		"employeeHireDate":                {typ: tDateTime},
		"externalUserState":               ro(tString),
		"externalUserStateChangeDateTime": ro(tDateTime),
		"faxNumber":                       text(64),
		"givenName":                       text(64),
		"identities":                      {typ: tObjectList, fields: identityFields, maxItems: 20},
		"imAddresses":                     ro(tStringList),
		"jobTitle":                        text(128),
		"lastPasswordChangeDateTime":      ro(tDateTime),
		"mail":                            {typ: tString, maxLen: 256, check: checkEmail},
		"mailNickname":                    {typ: tString, maxLen: 64, check: checkMailNickname},
		"mobilePhone":                     text(64),
		"officeLocation":                  text(128),
		"otherMails":                      {typ: tStringList, maxLen: 250, maxItems: 250, check: checkEmail},
		"passwordPolicies":                text(256),
		"passwordProfile": {typ: tObject, writeOnly: true, fields: map[string]prop{
			"password":                             {typ: tString, writeOnly: true},
			"forceChangePasswordNextSignIn":        {typ: tBool},
			"forceChangePasswordNextSignInWithMfa": {typ: tBool},
		}},
		"postalCode":                      text(40),
		"preferredLanguage":               text(20),
		"proxyAddresses":                  ro(tStringList),
		"showInAddressList":               {typ: tBool},
		"signInActivity":                  ro(tObject),
		"signInSessionsValidFromDateTime": ro(tDateTime),
		"state":                           text(128),
		"streetAddress":                   text(1024),
		"surname":                         text(64),
		"usageLocation":                   text(2),
		"userPrincipalName":               {typ: tString, maxLen: 113, check: checkUPNShape},
		"userType":                        enum("Member", "Guest"),
	},
	defaultSelect: []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"},
	schema: &odata.Schema{Resource: "User", Properties: map[string]odata.Property{
		"id":                {Name: "id", Type: odata.TypeString, Column: "id", Folded: true, Ops: ops("eq", "in"), AdvancedOps: ops("ne", "not")},
		"userPrincipalName": {Name: "userPrincipalName", Type: odata.TypeString, Column: "upn", Folded: true, Ops: ops("eq", "in", "startsWith", "ge", "le"), AdvancedOps: ops("ne", "not", "endsWith"), Sortable: true},
		"displayName":       {Name: "displayName", Type: odata.TypeString, Column: "display_name", Ops: ops("eq", "in", "startsWith", "ge", "le"), AdvancedOps: ops("ne", "not", "endsWith"), Sortable: true},
		"mail":              {Name: "mail", Type: odata.TypeString, Column: "mail", Folded: true, Ops: ops("eq", "in", "startsWith", "ge", "le"), AdvancedOps: ops("ne", "not", "endsWith")},
		"createdDateTime":   {Name: "createdDateTime", Type: odata.TypeDateTime, Column: "created_at", AdvancedOps: ops("eq", "ne", "not", "ge", "le", "in"), Sortable: true},
		"accountEnabled":    {Name: "accountEnabled", Type: odata.TypeBool, Ops: ops("eq"), AdvancedOps: ops("ne", "not")},
		"userType":          jsonString("userType"),
		"externalUserState": jsonString("externalUserState"),
		"creationType":      jsonString("creationType"),
		"givenName":         jsonString("givenName"),
		"surname":           jsonString("surname"),
		"jobTitle":          jsonString("jobTitle"),
		"department":        jsonString("department"),
		"companyName":       jsonString("companyName"),
		"city":              jsonString("city"),
		"country":           jsonString("country"),
		"employeeId":        jsonString("employeeId"),
		"mailNickname":      jsonString("mailNickname"),
		"usageLocation":     jsonString("usageLocation"),
		"otherMails":        {Name: "otherMails", Type: odata.TypeStringCollection, Ops: ops("any"), AdvancedOps: ops("not", "count", "endsWith")},
		"proxyAddresses":    {Name: "proxyAddresses", Type: odata.TypeStringCollection, Ops: ops("any"), AdvancedOps: ops("not", "count")},
		"businessPhones":    {Name: "businessPhones", Type: odata.TypeStringCollection, Ops: ops("any"), AdvancedOps: ops("not", "count")},
		"identities": {Name: "identities", Type: odata.TypeComplexCollection, Ops: ops("any"), Fields: map[string]odata.Property{
			"issuer":           {Name: "issuer", Type: odata.TypeString, Ops: ops("eq")},
			"issuerAssignedId": {Name: "issuerAssignedId", Type: odata.TypeString, Ops: ops("eq"), Requires: []string{"issuer"}},
			"signInType":       {Name: "signInType", Type: odata.TypeString, Ops: ops("eq")},
		}},
	}},
}).init()

func ops(o ...string) []string { return o }

// jsonString is a string property filtered from the document, with the
// operator support Graph documents for most user strings.
func jsonString(name string) odata.Property {
	return odata.Property{Name: name, Type: odata.TypeString, Ops: ops("eq", "in", "startsWith"), AdvancedOps: ops("ne", "not", "endsWith")}
}

const upnChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.-_!#^~"

func checkUPNShape(upn string) error {
	local, domain, ok := strings.Cut(upn, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || len(local) > 64 {
		return errf("a user principal name is alias@domain")
	}
	for _, r := range local {
		if !strings.ContainsRune(upnChars, r) {
			return errf("character %q is not allowed in a user principal name", r)
		}
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") {
		return errf("a user principal name cannot start or end its alias with '.'")
	}
	return nil
}

func checkMailNickname(v string) error {
	if v == "" {
		return errf("mailNickname cannot be empty")
	}
	for _, r := range v {
		if r > 127 || strings.ContainsRune(`@()\[]";:<>, `, r) {
			return errf("character %q is not allowed in mailNickname", r)
		}
	}
	return nil
}

// checkNewPassword applies the password policy (NIST SP 800-63B) with the
// account's own names and the organization's as context words.
func (s *Service) checkNewPassword(ctx context.Context, tenantID, pw string, account Doc) error {
	words := []string{str(account, "userPrincipalName"), str(account, "displayName"), str(account, "mailNickname"),
		str(account, "givenName"), str(account, "surname")}
	if org, err := s.Get(ctx, tenantID, KindOrganization, tenantID); err == nil {
		words = append(words, str(org.Doc, "displayName"))
	}
	err := s.blocklist.Check(pw, words...)
	var refused *passpolicy.RefusedError
	if errors.As(err, &refused) {
		return usererr.New(usererr.Invalid, "The specified password does not comply with password complexity requirements: it is %s. Please provide a different password.", refused.Reason)
	}
	return err
}

// CreateUser creates a member (or internal guest) account from a POST /users body.
func (s *Service) CreateUser(ctx context.Context, tenantID string, body Doc) (Object, error) {
	d, err := userSpec.normalize(body)
	if err != nil {
		return Object{}, err
	}
	for _, req := range []string{"accountEnabled", "displayName"} {
		if d[req] == nil {
			return Object{}, usererr.New(usererr.Invalid, "Property '%s' is required when creating the resource.", req)
		}
	}
	pw, profile := splitPassword(d)
	if pw == "" {
		return Object{}, usererr.New(usererr.Invalid, "Property 'passwordProfile' is required when creating the resource.")
	}
	if err := s.checkNewPassword(ctx, tenantID, pw, d); err != nil {
		return Object{}, err
	}
	hash, err := s.passwords.Hash(ctx, pw)
	if err != nil {
		return Object{}, err
	}
	return s.storeNewUser(ctx, tenantID, d, profile, hash)
}

// storeNewUser writes a validated new user and its password hash in one
// transaction.
func (s *Service) storeNewUser(ctx context.Context, tenantID string, d Doc, profile map[string]any, hash []byte) (Object, error) {
	now := s.timestamp()
	var out Object
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if err := s.checkUserChange(ctx, tx, tenantID, "", authz.UserChange{Create: true}); err != nil {
			return err
		}
		tenant, err := tx.GetTenant(ctx, tenantID)
		if err != nil {
			return err
		}
		if err := s.completeNewUser(ctx, tx, tenant, d); err != nil {
			return err
		}
		d["id"] = s.newID()
		d["createdDateTime"] = now
		d["lastPasswordChangeDateTime"] = now
		d["passwordProfile"] = profile
		if out, err = s.insert(ctx, tx, tenantID, KindUser, d); err != nil {
			return err
		}
		return tx.PutCredential(ctx, store.Credential{TenantID: tenantID, ObjectID: out.ID, KeyID: CredKeyPassword, Type: store.CredPassword, Hash: hash, CreatedAt: s.now().UTC()})
	})
	return out, err
}

// CredKeyPassword is the key id of a user's password credential.
const CredKeyPassword = "password"

// completeNewUser applies the rules for a new account's identity: workforce
// members need a user principal name on a verified domain; local accounts of
// external tenants may bring only sign-in identities and get a generated UPN.
func (s *Service) completeNewUser(ctx context.Context, tx store.Tx, tenant store.Tenant, d Doc) error {
	initial, err := initialDomain(ctx, tx, tenant.ID)
	if err != nil {
		return err
	}
	if d["userType"] == nil {
		d["userType"] = "Member"
	}
	idents, _ := d["identities"].([]any)
	if tenant.Type == store.TenantExternal && d["userPrincipalName"] == nil && len(idents) > 0 {
		alias := s.newID()
		d["userPrincipalName"] = alias + "@" + initial
		if d["mailNickname"] == nil {
			d["mailNickname"] = alias
		}
		if d["creationType"] == nil {
			d["creationType"] = "LocalAccount"
		}
	}
	for _, req := range []string{"mailNickname", "userPrincipalName"} {
		if d[req] == nil {
			return usererr.New(usererr.Invalid, "Property '%s' is required when creating the resource.", req)
		}
	}
	if err := s.checkUPNDomain(ctx, tx, tenant.ID, str(d, "userPrincipalName")); err != nil {
		return err
	}
	d["identities"] = withUPNIdentity(idents, initial, str(d, "userPrincipalName"))
	if err := checkIdentities(d["identities"].([]any)); err != nil {
		return err
	}
	if err := s.checkIdentitiesUnique(ctx, tx, tenant.ID, "", d["identities"].([]any)); err != nil {
		return err
	}
	setProxyAddresses(d)
	return nil
}

func (s *Service) checkUPNDomain(ctx context.Context, tx store.Tx, tenantID, upn string) error {
	_, domain, _ := strings.Cut(upn, "@")
	dom, err := tx.GetDomain(ctx, tenantID, strings.ToLower(domain))
	if err == nil && dom.Verified {
		return nil
	}
	if err != nil && !isNotFound(err) {
		return err
	}
	return usererr.New(usererr.Invalid, "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.")
}

// withUPNIdentity keeps the userPrincipalName sign-in identity in step with the
// UPN, as Entra does, leaving the other identities as given.
func withUPNIdentity(idents []any, issuer, upn string) []any {
	out := make([]any, 0, len(idents)+1)
	for _, e := range idents {
		if m, ok := e.(map[string]any); ok && strings.EqualFold(str(m, "signInType"), "userPrincipalName") {
			continue
		}
		out = append(out, e)
	}
	return append(out, map[string]any{"signInType": "userPrincipalName", "issuer": issuer, "issuerAssignedId": upn})
}

func checkIdentities(idents []any) error {
	for _, e := range idents {
		m := e.(map[string]any)
		typ, issuer, id := str(m, "signInType"), str(m, "issuer"), str(m, "issuerAssignedId")
		if typ == "" || issuer == "" || id == "" {
			return usererr.New(usererr.Invalid, "Each identity needs signInType, issuer and issuerAssignedId.")
		}
		switch {
		case strings.HasPrefix(typ, "emailAddress"):
			if checkEmail(id) != nil {
				return usererr.New(usererr.Invalid, "Identity '%s' of signInType '%s' must be a valid email address.", id, typ)
			}
		case typ == "userName":
			if !validUserName(id) {
				return usererr.New(usererr.Invalid, "Identity '%s' of signInType 'userName' may contain only letters, digits, '-' and '_', starting with a letter or digit.", id)
			}
		}
	}
	return nil
}

func validUserName(v string) bool {
	for i, r := range v {
		alnum := r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		if !alnum && (i == 0 || (r != '-' && r != '_')) {
			return false
		}
	}
	return v != ""
}

// checkIdentitiesUnique enforces that (issuer, issuerAssignedId) names at most
// one user in the tenant. For emailAddress and userName identities the issuer
// is irrelevant to sign-in, so only the assigned id counts.
func (s *Service) checkIdentitiesUnique(ctx context.Context, tx store.Tx, tenantID, selfID string, idents []any) error {
	// No index holds this rule: check and write under the tenant's lock.
	if err := tx.LockTenant(ctx, tenantID); err != nil {
		return err
	}
	for _, e := range idents {
		m := e.(map[string]any)
		typ := str(m, "signInType")
		if typ == "userPrincipalName" {
			continue // the UPN's own unique index covers it
		}
		var body odata.Expr = odata.Compare{Op: "eq", Property: odata.Path{Var: true, Segments: []string{"issuerAssignedId"}}, Value: odata.Literal{Kind: odata.LitString, Text: str(m, "issuerAssignedId")}}
		if !strings.HasPrefix(typ, "emailAddress") && typ != "userName" {
			body = odata.Logical{Op: "and", Left: body, Right: odata.Compare{Op: "eq", Property: odata.Path{Var: true, Segments: []string{"issuer"}}, Value: odata.Literal{Kind: odata.LitString, Text: str(m, "issuer")}}}
		}
		p, err := tx.ListObjects(ctx, tenantID, KindUser, store.Query{Schema: userSpec.schema, Filter: odata.Any{Collection: "identities", Var: "i", Body: body}, Top: 2})
		if err != nil {
			return err
		}
		for _, o := range p.Objects {
			if o.ID != selfID {
				return usererr.Taken("identities")
			}
		}
	}
	return nil
}

// setProxyAddresses mirrors mail into proxyAddresses as the primary SMTP address.
func setProxyAddresses(d Doc) {
	if m := str(d, "mail"); m != "" {
		d["proxyAddresses"] = []any{"SMTP:" + m}
		return
	}
	d["proxyAddresses"] = []any{}
}

// splitPassword takes the clear password out of a normalized document: it is
// hashed into a credential, never stored in the document.
func splitPassword(d Doc) (string, map[string]any) {
	pp, ok := d["passwordProfile"].(map[string]any)
	if !ok {
		return "", nil
	}
	pw, _ := pp["password"].(string)
	profile := map[string]any{}
	for k, v := range pp {
		if k != "password" {
			profile[k] = v
		}
	}
	delete(d, "passwordProfile")
	return pw, profile
}

// UpdateUser applies a PATCH /users/{id} body.
func (s *Service) UpdateUser(ctx context.Context, tenantID, key string, body Doc, ifMatch int64) error {
	patch, err := userSpec.normalize(body)
	if err != nil {
		return err
	}
	change := authz.UserChange{Properties: propertiesOf(patch)}
	pw, profile := splitPassword(patch)
	var hash []byte
	if pw != "" {
		cur, err := s.Get(ctx, tenantID, KindUser, key)
		if err != nil {
			return err
		}
		if err := s.checkNewPassword(ctx, tenantID, pw, merge(cur.Doc, patch)); err != nil {
			return err
		}
		if hash, err = s.passwords.Hash(ctx, pw); err != nil {
			return err
		}
	}
	return s.patch(ctx, tenantID, KindUser, key, ifMatch, patch, func(tx store.Tx, cur Object, next Doc) error {
		c, ok := caller.From(ctx)
		change.Self = ok && !c.AppOnly && c.ObjectID == cur.ID
		if err := s.checkUserChange(ctx, tx, tenantID, cur.ID, change); err != nil {
			return err
		}
		if profile != nil {
			next["passwordProfile"] = merge(mapOf(cur.Doc["passwordProfile"]), profile)
		}
		if _, changed := patch["userPrincipalName"]; changed {
			if err := s.checkUPNDomain(ctx, tx, tenantID, str(next, "userPrincipalName")); err != nil {
				return err
			}
		}
		if _, changed := patch["identities"]; changed || patch["userPrincipalName"] != nil {
			initial, err := initialDomain(ctx, tx, tenantID)
			if err != nil {
				return err
			}
			idents, _ := next["identities"].([]any)
			next["identities"] = withUPNIdentity(idents, initial, str(next, "userPrincipalName"))
			if err := checkIdentities(next["identities"].([]any)); err != nil {
				return err
			}
			if err := s.checkIdentitiesUnique(ctx, tx, tenantID, cur.ID, next["identities"].([]any)); err != nil {
				return err
			}
		}
		setProxyAddresses(next)
		if next["accountEnabled"] == false && cur.Doc["accountEnabled"] != false {
			if err := s.revokeUser(ctx, tx, tenantID, cur.ID, nil, reasonUserDisabled); err != nil {
				return err
			}
		}
		if hash == nil {
			return nil
		}
		// A new password, set by the user or reset by an administrator,
		// ends every sign-in made with the old one.
		if err := s.revokeUser(ctx, tx, tenantID, cur.ID, next, reasonPasswordSet); err != nil {
			return err
		}
		next["lastPasswordChangeDateTime"] = s.timestamp()
		return tx.PutCredential(ctx, store.Credential{TenantID: tenantID, ObjectID: cur.ID, KeyID: CredKeyPassword, Type: store.CredPassword, Hash: hash, CreatedAt: s.now().UTC()})
	}, nil)
}

func mapOf(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return map[string]any{}
}

// ImportUsers creates many accounts in batches of one transaction each, as an
// import from another directory does: every document is validated like a
// POST /users body, but accounts carry no password (they get one by reset
// or sign in through federation), so no password hash is computed.
func (s *Service) ImportUsers(ctx context.Context, tenantID string, bodies []Doc) error {
	const batch = 500
	for start := 0; start < len(bodies); start += batch {
		chunk := bodies[start:min(start+batch, len(bodies))]
		docs := make([]Doc, 0, len(chunk))
		for _, b := range chunk {
			d, err := userSpec.normalize(b)
			if err != nil {
				return err
			}
			if _, ok := d["passwordProfile"]; ok {
				return usererr.New(usererr.Invalid, "Imported users cannot carry a password.")
			}
			if d["accountEnabled"] == nil || d["displayName"] == nil {
				return usererr.New(usererr.Invalid, "Imported users need accountEnabled and displayName.")
			}
			docs = append(docs, d)
		}
		err := s.st.Update(ctx, func(tx store.Tx) error {
			tenant, err := tx.GetTenant(ctx, tenantID)
			if err != nil {
				return err
			}
			now := s.timestamp()
			for _, d := range docs {
				if err := s.completeNewUser(ctx, tx, tenant, d); err != nil {
					return err
				}
				d["id"] = s.newID()
				d["createdDateTime"] = now
				if _, err := s.insert(ctx, tx, tenantID, KindUser, d); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
