package directory

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// The API an application exposes (application.api), the optional claims
// and group claims it asks for, and the certificates it authenticates with
// (keyCredentials), shaped as Graph v1.0's apiApplication, optionalClaims
// and keyCredential.

var guidList = prop{typ: tStringList, maxItems: 100, check: func(v string) error {
	if !IsGUID(v) {
		return errNotGUID
	}
	return nil
}}

var errNotGUID = usererr.New(usererr.Invalid, "not a GUID")

var apiProp = prop{typ: tObject, always: true, fields: map[string]prop{
	"acceptMappedClaims":      {typ: tBool},
	"knownClientApplications": guidList,
	"oauth2PermissionScopes": {typ: tObjectList, maxItems: 100, fields: map[string]prop{
		"adminConsentDescription": text(1024),
		"adminConsentDisplayName": text(256),
		"id":                      {typ: tGUID},
		"isEnabled":               {typ: tBool},
		"origin":                  text(64),
		"type":                    enum("User", "Admin"),
		"userConsentDescription":  text(1024),
		"userConsentDisplayName":  text(256),
		"value":                   text(120),
	}},
	"preAuthorizedApplications": {typ: tObjectList, maxItems: 100, fields: map[string]prop{
		"appId":                  {typ: tGUID},
		"delegatedPermissionIds": guidList,
	}},
	"requestedAccessTokenVersion": {typ: tInt},
}}

var optionalClaimList = prop{typ: tObjectList, maxItems: 50, fields: map[string]prop{
	"additionalProperties": list(64, 10),
	"essential":            {typ: tBool},
	"name":                 {typ: tString, maxLen: 256, notNull: true},
	"source":               text(64),
}}

var optionalClaimsProp = prop{typ: tObject, fields: map[string]prop{
	"accessToken": optionalClaimList,
	"idToken":     optionalClaimList,
	"saml2Token":  optionalClaimList,
}}

// groupMembershipClaimsProp is Graph's string of comma-separated values.
var groupMembershipClaimsProp = prop{typ: tString, maxLen: 128, check: func(v string) error {
	for part := range strings.SplitSeq(v, ",") {
		if !slices.Contains([]string{"None", "SecurityGroup", "DirectoryRole", "ApplicationGroup", "All"}, strings.TrimSpace(part)) {
			return usererr.New(usererr.Invalid, "expected None, SecurityGroup, DirectoryRole, ApplicationGroup or All, comma-separated")
		}
	}
	return nil
}}

// keyCredentialsProp holds public certificates only: Gatehouse verifies
// client assertions with them and never signs. A credential sent back
// without its key (as read without $select) keeps the key held under its
// keyId.
var keyCredentialsProp = prop{typ: tObjectList, maxItems: 20, fields: map[string]prop{
	"customKeyIdentifier": text(256),
	"displayName":         text(256),
	"endDateTime":         {typ: tDateTime},
	// As in Graph, the certificate itself is returned only to a $select
	// of keyCredentials.
	"key":           {typ: tString, maxLen: 16384, onSelect: true},
	"keyId":         {typ: tGUID},
	"startDateTime": {typ: tDateTime},
	"type":          enum("AsymmetricX509Cert"),
	"usage":         enum("Verify"),
}}

// checkAPI applies Graph's rules to the API an application will expose and
// the claims it asks for, given what it exposed before (nil for a new
// application): every optional claim has a name; every scope has
// a unique id and a unique value without spaces; an enabled scope is
// disabled before it is changed or removed (tokens and grants name it);
// preauthorized clients name scopes of this API.
func checkAPI(before, after Doc) error {
	scopes := sliceOf(mapOf(after["api"])["oauth2PermissionScopes"])
	ids, values := map[string]bool{}, map[string]bool{}
	for _, sc := range scopes {
		m := mapOf(sc)
		id, value := str(m, "id"), str(m, "value")
		if id == "" || value == "" || ids[id] || values[strings.ToLower(value)] || strings.HasPrefix(value, ".") ||
			strings.IndexFunc(value, unicode.IsSpace) >= 0 || m["type"] == nil {
			return usererr.New(usererr.Invalid, "Each permission scope needs a unique id, a type and a unique value without spaces.")
		}
		ids[id], values[strings.ToLower(value)] = true, true
		if m["isEnabled"] == nil {
			m["isEnabled"] = true
		}
	}
	for _, old := range sliceOf(mapOf(before["api"])["oauth2PermissionScopes"]) {
		om := mapOf(old)
		if om["isEnabled"] == false {
			continue
		}
		i := slices.IndexFunc(scopes, func(s any) bool { return str(mapOf(s), "id") == str(om, "id") })
		if i < 0 || !sameScope(om, mapOf(scopes[i])) {
			return usererr.WithCode(usererr.Invalid, "CannotDeleteOrUpdateEnabledEntitlement", "Permission (scope or role) cannot be deleted or updated unless disabled first.")
		}
	}
	for _, pa := range sliceOf(mapOf(after["api"])["preAuthorizedApplications"]) {
		m := mapOf(pa)
		if m["appId"] == nil {
			return usererr.New(usererr.Invalid, "A preauthorized application needs an appId.")
		}
		for _, id := range sliceOf(m["delegatedPermissionIds"]) {
			if !ids[id.(string)] {
				return usererr.New(usererr.Invalid, "Preauthorized permission '%s' is not a permission scope of this application.", id)
			}
		}
	}
	for _, token := range mapOf(after["optionalClaims"]) {
		for _, c := range sliceOf(token) {
			if str(mapOf(c), "name") == "" {
				return usererr.New(usererr.Invalid, "Each optional claim needs a name.")
			}
		}
	}
	return nil
}

// sameScope reports whether a scope is unchanged but for being disabled.
func sameScope(old, cur Doc) bool {
	for k, v := range old {
		if k != "isEnabled" && cur[k] != v {
			return false
		}
	}
	for k := range cur {
		if _, ok := old[k]; !ok && k != "isEnabled" {
			return false
		}
	}
	return true
}

// fillKeyCredentials checks each certificate an application will hold and
// completes it from the certificate, as Graph does: the key must be a
// base64 X.509 certificate (DER); keyId is new unless given; the validity
// dates are the certificate's; customKeyIdentifier is its SHA-1
// thumbprint (what a client assertion's x5t names) and displayName its
// subject. A credential sent back without its key keeps the one held
// under its keyId.
func fillKeyCredentials(before, after Doc, newID func() string) error {
	creds := sliceOf(after["keyCredentials"])
	held := sliceOf(before["keyCredentials"])
	for _, c := range creds {
		m := mapOf(c)
		if m["key"] == nil {
			i := slices.IndexFunc(held, func(h any) bool { return m["keyId"] != nil && str(mapOf(h), "keyId") == str(m, "keyId") })
			if i < 0 {
				return usererr.New(usererr.Invalid, "Property 'key' is required on a new key credential.")
			}
			m["key"] = mapOf(held[i])["key"]
		}
		cert, err := ParseKeyCredential(str(m, "key"))
		if err != nil {
			return usererr.New(usererr.Invalid, "Invalid value specified for property 'key' of resource 'KeyCredential': it must be a base64-encoded X.509 certificate.")
		}
		if m["keyId"] == nil {
			m["keyId"] = newID()
		}
		thumb := sha1.Sum(cert.Raw)
		m["customKeyIdentifier"] = base64.StdEncoding.EncodeToString(thumb[:])
		m["startDateTime"] = cert.NotBefore.UTC().Format(time.RFC3339)
		m["endDateTime"] = cert.NotAfter.UTC().Format(time.RFC3339)
		if m["displayName"] == nil {
			m["displayName"] = cert.Subject.String()
		}
		m["type"], m["usage"] = "AsymmetricX509Cert", "Verify"
	}
	keyIDs := map[string]bool{}
	for _, c := range creds {
		id := str(mapOf(c), "keyId")
		if keyIDs[id] {
			return usererr.New(usererr.Invalid, "Each key credential needs a unique keyId.")
		}
		keyIDs[id] = true
	}
	return nil
}

// ParseKeyCredential parses a keyCredential's key: a base64 DER certificate.
func ParseKeyCredential(key string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// currentCertificates lists an application's certificates valid at now.
func currentCertificates(app Doc, now time.Time) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range sliceOf(app["keyCredentials"]) {
		cert, err := ParseKeyCredential(str(mapOf(c), "key"))
		if err != nil || now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
			continue
		}
		out = append(out, cert)
	}
	return out
}
