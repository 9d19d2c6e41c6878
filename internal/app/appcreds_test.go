package app_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

const userReadAll = "df021288-bdef-4463-88db-98f22de89214"

// testCert is a self-signed certificate and its key, valid from notBefore
// for a day.
func testCert(t *testing.T, cn string, notBefore time.Time) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: notBefore, NotAfter: notBefore.Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert
}

// assertion is a client assertion as MSAL makes it: RS256, x5t naming the
// certificate, iss = sub = the client, aud = the token endpoint.
func assertion(t *testing.T, key *rsa.PrivateKey, cert *x509.Certificate, clientID, aud string, exp time.Duration) string {
	t.Helper()
	thumb := sha1.Sum(cert.Raw)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t", base64.RawURLEncoding.EncodeToString(thumb[:])))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	raw, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: clientID, Subject: clientID, Audience: jwt.Audience{aud}, ID: uuid.NewString(),
		NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)), IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(exp))}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func (e *env) tokenByAssertion(tenantSegment, clientID, assertion string) (int, map[string]any) {
	e.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {e.public + "/.default"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
	resp, err := http.PostForm(e.url+"/"+tenantSegment+"/oauth2/v2.0/token", form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// TestCertificateClientAuthentication: an application holding a
// certificate in keyCredentials gets tokens with a client assertion signed
// by its key; each assertion works once, only at this tenant's token
// endpoint, only while valid and for at most an hour, and only with a
// certificate the application holds now.
func TestCertificateClientAuthentication(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		b := e.tenant("Fabrikam", "fabrikam.example")
		key, cert := testCert(t, "daemon", time.Now().Add(-time.Hour))
		app := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Daemon",
			"keyCredentials": []any{map[string]any{"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64.StdEncoding.EncodeToString(cert.Raw)}}}).body
		creds := app["keyCredentials"].([]any)
		kc := creds[0].(map[string]any)
		thumb := sha1.Sum(cert.Raw)
		if kc["customKeyIdentifier"] != base64.StdEncoding.EncodeToString(thumb[:]) || kc["displayName"] != "CN=daemon" ||
			kc["endDateTime"] != cert.NotAfter.UTC().Format(time.RFC3339) || kc["keyId"] == nil {
			t.Errorf("key credential: %v", kc)
		}
		clientID := app["appId"].(string)
		sp := e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": clientID}).body["id"].(string)
		graph := e.graphSP(a)
		e.mustCall(201, "POST", "/v1.0/servicePrincipals/"+sp+"/appRoleAssignments", a.token, map[string]any{"principalId": sp, "resourceId": graph, "appRoleId": userReadAll})

		endpoint := e.public + "/" + a.id + "/oauth2/v2.0/token"
		good := assertion(t, key, cert, clientID, endpoint, 10*time.Minute)
		status, body := e.tokenByAssertion(a.id, clientID, good)
		if status != 200 {
			t.Fatalf("token: %d %v", status, body)
		}
		e.mustCall(200, "GET", "/v1.0/users", body["access_token"].(string), nil)
		// A domain authority names the endpoint by the domain.
		if status, body := e.tokenByAssertion(a.domain, clientID, assertion(t, key, cert, clientID, e.public+"/"+a.domain+"/oauth2/v2.0/token", 5*time.Minute)); status != 200 {
			t.Errorf("token at the domain's endpoint: %d %v", status, body)
		}

		otherKey, otherCert := testCert(t, "other", time.Now().Add(-time.Hour))
		for name, try := range map[string]struct{ segment, assertion string }{
			"replayed":             {a.id, good},
			"another key":          {a.id, assertion(t, otherKey, otherCert, clientID, endpoint, 5*time.Minute)},
			"signed by another":    {a.id, assertion(t, otherKey, cert, clientID, endpoint, 5*time.Minute)},
			"another audience":     {a.id, assertion(t, key, cert, clientID, e.public+"/"+b.id+"/oauth2/v2.0/token", 5*time.Minute)},
			"another tenant":       {b.id, assertion(t, key, cert, clientID, e.public+"/"+b.id+"/oauth2/v2.0/token", 5*time.Minute)},
			"expired":              {a.id, assertion(t, key, cert, clientID, endpoint, -5*time.Minute)},
			"valid for too long":   {a.id, assertion(t, key, cert, clientID, endpoint, 2*time.Hour)},
			"another client named": {a.id, assertion(t, key, cert, uuid.NewString(), endpoint, 5*time.Minute)},
			"not a JWT":            {a.id, "x.y.z"},
		} {
			if status, body := e.tokenByAssertion(try.segment, clientID, try.assertion); status != 401 || body["error"] != "invalid_client" {
				t.Errorf("%s: %d %v", name, status, body)
			}
		}

		// The certificate itself is returned to a $select of keyCredentials
		// only, as in Graph; sent back as read, a credential keeps its key.
		appPath := "/v1.0/applications/" + app["id"].(string)
		if k := creds[0].(map[string]any)["key"]; k != nil {
			t.Errorf("key returned without $select: %v", k)
		}
		if k := e.mustCall(200, "GET", appPath+"?$select=keyCredentials", a.token, nil).body["keyCredentials"].([]any)[0].(map[string]any)["key"]; k != base64.StdEncoding.EncodeToString(cert.Raw) {
			t.Errorf("key with $select: %v", k)
		}
		read := e.mustCall(200, "GET", appPath, a.token, nil).body["keyCredentials"].([]any)
		_, second := testCert(t, "second", time.Now().Add(-time.Hour))
		e.mustCall(204, "PATCH", appPath, a.token, map[string]any{"keyCredentials": append(read,
			map[string]any{"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64.StdEncoding.EncodeToString(second.Raw)})})
		if status, body := e.tokenByAssertion(a.id, clientID, assertion(t, key, cert, clientID, endpoint, 5*time.Minute)); status != 200 {
			t.Errorf("after adding a second certificate: %d %v", status, body)
		}

		// Removing the certificates ends them.
		e.mustCall(204, "PATCH", "/v1.0/applications/"+app["id"].(string), a.token, map[string]any{"keyCredentials": []any{}})
		if status, body := e.tokenByAssertion(a.id, clientID, assertion(t, key, cert, clientID, endpoint, 5*time.Minute)); status != 401 {
			t.Errorf("after removal: %d %v", status, body)
		}
		// Not a certificate, or one Gatehouse could sign with: 400.
		for _, bad := range []map[string]any{
			{"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64.StdEncoding.EncodeToString([]byte("not a certificate"))},
			{"type": "AsymmetricX509Cert", "usage": "Sign", "key": base64.StdEncoding.EncodeToString(cert.Raw)},
			{"type": "AsymmetricX509Cert", "usage": "Verify"},
		} {
			if r := e.call("PATCH", "/v1.0/applications/"+app["id"].(string), a.token, map[string]any{"keyCredentials": []any{bad}}); r.status != 400 {
				t.Errorf("key credential %v: %d %s", bad, r.status, r.raw)
			}
		}
	})
}

// TestApplicationExposesAnAPI: application.api, optionalClaims and
// groupMembershipClaims as Graph shapes and checks them; the scopes an
// application exposes are its service principal's.
func TestApplicationExposesAnAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		read := uuid.NewString()
		app := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Payroll API"}).body
		path := "/v1.0/applications/" + app["id"].(string)
		if api, _ := app["api"].(map[string]any); api == nil || len(api["oauth2PermissionScopes"].([]any)) != 0 {
			t.Errorf("new app's api: %v", app["api"])
		}
		client := uuid.NewString()
		scope := map[string]any{"id": read, "value": "Payroll.Read", "type": "User", "adminConsentDisplayName": "Read payroll", "adminConsentDescription": "Reads payroll"}
		e.mustCall(204, "PATCH", path, a.token, map[string]any{
			"identifierUris": []string{"api://" + app["appId"].(string)},
			"api": map[string]any{"requestedAccessTokenVersion": 2, "oauth2PermissionScopes": []any{scope},
				"preAuthorizedApplications": []any{map[string]any{"appId": client, "delegatedPermissionIds": []string{read}}}},
			"optionalClaims":        map[string]any{"idToken": []any{map[string]any{"name": "email", "essential": false}}},
			"groupMembershipClaims": "SecurityGroup,DirectoryRole",
		})
		got := e.mustCall(200, "GET", path+"?$select=api,optionalClaims,groupMembershipClaims", a.token, nil).body
		api := got["api"].(map[string]any)
		scopes := api["oauth2PermissionScopes"].([]any)
		if len(scopes) != 1 || scopes[0].(map[string]any)["isEnabled"] != true || api["requestedAccessTokenVersion"] != float64(2) ||
			got["groupMembershipClaims"] != "SecurityGroup,DirectoryRole" || got["optionalClaims"].(map[string]any)["idToken"] == nil {
			t.Errorf("read back: %v", got)
		}
		sp := e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": app["appId"]}).body
		if s, _ := sp["oauth2PermissionScopes"].([]any); len(s) != 1 {
			t.Errorf("service principal's scopes: %v", sp["oauth2PermissionScopes"])
		}

		for name, patch := range map[string]map[string]any{
			"enabled scope removed":       {"api": map[string]any{"oauth2PermissionScopes": []any{}}},
			"enabled scope changed":       {"api": map[string]any{"oauth2PermissionScopes": []any{merged(scope, "value", "Payroll.ReadAll", "isEnabled", true)}}},
			"duplicate value":             {"api": map[string]any{"oauth2PermissionScopes": []any{merged(scope, "isEnabled", true), merged(scope, "id", uuid.NewString())}}},
			"value with a space":          {"api": map[string]any{"oauth2PermissionScopes": []any{merged(scope, "isEnabled", true), merged(scope, "id", uuid.NewString(), "value", "Payroll Write")}}},
			"preauthorized unknown scope": {"api": map[string]any{"preAuthorizedApplications": []any{map[string]any{"appId": client, "delegatedPermissionIds": []string{uuid.NewString()}}}}},
			"group claims":                {"groupMembershipClaims": "Everything"},
			"claim without name":          {"optionalClaims": map[string]any{"accessToken": []any{map[string]any{"essential": true}}}},
		} {
			if r := e.call("PATCH", path, a.token, patch); r.status != 400 {
				t.Errorf("%s: %d %s", name, r.status, r.raw)
			}
		}
		// Disabled first, a scope may go.
		e.mustCall(204, "PATCH", path, a.token, map[string]any{"api": map[string]any{"preAuthorizedApplications": []any{}, "oauth2PermissionScopes": []any{merged(scope, "isEnabled", false)}}})
		e.mustCall(204, "PATCH", path, a.token, map[string]any{"api": map[string]any{"oauth2PermissionScopes": []any{}}})
		sp = e.mustCall(200, "GET", "/v1.0/servicePrincipals/"+sp["id"].(string), a.token, nil).body
		if s, _ := sp["oauth2PermissionScopes"].([]any); s == nil || len(s) != 0 {
			t.Errorf("service principal's scopes after removal: %v", sp["oauth2PermissionScopes"])
		}
	})
}

func merged(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// TestAppRoleAssignmentsPostedToThePrincipal: scripts assign app roles
// through the principal (POST /servicePrincipals|users/{id}/
// appRoleAssignments) as well as through the resource; the body's
// principalId must be the object of the URL, and the permission rules are
// the same.
func TestAppRoleAssignmentsPostedToThePrincipal(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		b := e.tenant("Fabrikam", "fabrikam.example")
		roleID := uuid.NewString()
		api := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Payroll",
			"appRoles": []any{map[string]any{"id": roleID, "value": "Payroll.Admin", "displayName": "Admin", "description": "Admin", "allowedMemberTypes": []string{"User", "Application"}}}}).body
		resource := e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": api["appId"]}).body["id"].(string)
		daemon := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Daemon"}).body
		sp := e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": daemon["appId"]}).body["id"].(string)
		user := e.addUser(a, "ana")

		for _, principal := range []struct{ path, id string }{{"servicePrincipals", sp}, {"users", user}} {
			base := "/v1.0/" + principal.path + "/" + principal.id + "/appRoleAssignments"
			created := e.mustCall(201, "POST", base, a.token, map[string]any{"principalId": principal.id, "resourceId": resource, "appRoleId": roleID}).body
			if created["principalId"] != principal.id || created["resourceId"] != resource || !strings.Contains(created["@odata.context"].(string), principal.path) {
				t.Errorf("%s: %v", principal.path, created)
			}
			if r := e.call("POST", base, a.token, map[string]any{"principalId": principal.id, "resourceId": resource, "appRoleId": roleID}); r.status != 400 {
				t.Errorf("%s twice: %d %s", principal.path, r.status, r.raw)
			}
			if got := e.mustCall(200, "GET", base, a.token, nil).values(); len(got) != 1 || got[0]["id"] != created["id"] {
				t.Errorf("%s listed: %v", principal.path, got)
			}
			// The body must name the principal of the URL.
			if r := e.call("POST", base, a.token, map[string]any{"principalId": resource, "resourceId": resource, "appRoleId": roleID}); r.status != 400 {
				t.Errorf("%s for another principal: %d %s", principal.path, r.status, r.raw)
			}
			if r := e.call("POST", base, b.token, map[string]any{"principalId": principal.id, "resourceId": resource, "appRoleId": roleID}); r.status != 404 {
				t.Errorf("%s from another tenant: %d %s", principal.path, r.status, r.raw)
			}
			e.mustCall(204, "DELETE", base+"/"+created["id"].(string), a.token, nil)
			if got := e.mustCall(200, "GET", base, a.token, nil).values(); len(got) != 0 {
				t.Errorf("%s after delete: %v", principal.path, got)
			}
		}
		// An unknown role, and a reader without AppRoleAssignment.ReadWrite.All.
		if r := e.call("POST", "/v1.0/users/"+user+"/appRoleAssignments", a.token, map[string]any{"principalId": user, "resourceId": resource, "appRoleId": uuid.NewString()}); r.status != 400 {
			t.Errorf("unknown role: %d %s", r.status, r.raw)
		}
		reader := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Reader"}).body
		readerSP := e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": reader["appId"]}).body["id"].(string)
		e.mustCall(201, "POST", "/v1.0/servicePrincipals/"+readerSP+"/appRoleAssignments", a.token, map[string]any{"principalId": readerSP, "resourceId": e.graphSP(a), "appRoleId": userReadAll})
		secret := e.mustCall(200, "POST", "/v1.0/applications/"+reader["id"].(string)+"/addPassword", a.token, map[string]any{}).body["secretText"].(string)
		e.wantDenied(t, "POST", "/v1.0/users/"+user+"/appRoleAssignments", e.token(a.id, reader["appId"].(string), secret),
			map[string]any{"principalId": user, "resourceId": resource, "appRoleId": roleID})
	})
}
