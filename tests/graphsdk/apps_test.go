package graphsdk_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/microsoft/kiota-abstractions-go/authentication"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
)

const (
	appsDomain  = "apps.graphsdk.test"
	graphAppID  = "00000003-0000-0000-c000-000000000000"
	userReadAll = "df021288-bdef-4463-88db-98f22de89214"
)

// TestApplicationsSDK drives the writes admin scripts make on applications
// through the SDK: an exposed API (scopes, preauthorized clients), optional
// and group claims, a certificate (keyCredentials) the application then
// authenticates with (a private_key_jwt client assertion), app role
// assignments posted to a service principal and to a user, and owners of an
// application and of a service principal.
func TestApplicationsSDK(t *testing.T) {
	gh := buildGatehouse(t)
	tenant := gh.createTenant(t, "Graph SDK Apps", appsDomain)
	base := gh.serve(t)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	client := newGraphClient(t, base, tenant)

	key, cert := selfSigned(t)
	scopeID, roleID := uuid.New(), uuid.New()
	scope := models.NewPermissionScope()
	scope.SetId(&scopeID)
	scope.SetValue(ptr("Reports.Read"))
	scope.SetTypeEscaped(ptr("User"))
	scope.SetIsEnabled(ptr(true))
	scope.SetAdminConsentDisplayName(ptr("Read reports"))
	scope.SetAdminConsentDescription(ptr("Reads reports"))
	pre := models.NewPreAuthorizedApplication()
	pre.SetAppId(ptr(uuid.NewString()))
	pre.SetDelegatedPermissionIds([]string{scopeID.String()})
	api := models.NewApiApplication()
	api.SetOauth2PermissionScopes([]models.PermissionScopeable{scope})
	api.SetPreAuthorizedApplications([]models.PreAuthorizedApplicationable{pre})
	api.SetRequestedAccessTokenVersion(ptr(int32(2)))
	claim := models.NewOptionalClaim()
	claim.SetName(ptr("email"))
	claims := models.NewOptionalClaims()
	claims.SetIdToken([]models.OptionalClaimable{claim})
	kc := models.NewKeyCredential()
	kc.SetTypeEscaped(ptr("AsymmetricX509Cert"))
	kc.SetUsage(ptr("Verify"))
	kc.SetKey(cert.Raw)
	role := models.NewAppRole()
	role.SetId(&roleID)
	role.SetValue(ptr("Reports.Admin"))
	role.SetDisplayName(ptr("Reports administrator"))
	role.SetDescription(ptr("Administers reports"))
	role.SetIsEnabled(ptr(true))
	role.SetAllowedMemberTypes([]string{"User", "Application"})

	body := models.NewApplication()
	body.SetDisplayName(ptr("Reports"))
	body.SetApi(api)
	body.SetOptionalClaims(claims)
	body.SetGroupMembershipClaims(ptr("SecurityGroup"))
	body.SetKeyCredentials([]models.KeyCredentialable{kc})
	body.SetAppRoles([]models.AppRoleable{role})
	app, err := client.Applications().Post(ctx, body, nil)
	if err != nil {
		t.Fatalf("create application: %s", describe(err))
	}
	thumb := sha1.Sum(cert.Raw)
	if got := app.GetKeyCredentials(); len(got) != 1 || string(got[0].GetCustomKeyIdentifier()) != string(thumb[:]) || got[0].GetKeyId() == nil {
		t.Errorf("keyCredentials: %+v", got)
	}
	if got := app.GetApi().GetOauth2PermissionScopes(); len(got) != 1 || deref(got[0].GetValue()) != "Reports.Read" {
		t.Errorf("api scopes: %+v", got)
	}
	if deref(app.GetGroupMembershipClaims()) != "SecurityGroup" || len(app.GetOptionalClaims().GetIdToken()) != 1 {
		t.Errorf("claims: %v %v", deref(app.GetGroupMembershipClaims()), app.GetOptionalClaims())
	}
	if app.GetSpa() == nil || app.GetSpa().GetRedirectUris() == nil || app.GetPublicClient() == nil {
		t.Errorf("spa %v, publicClient %v", app.GetSpa(), app.GetPublicClient())
	}

	spBody := models.NewServicePrincipal()
	spBody.SetAppId(app.GetAppId())
	sp, err := client.ServicePrincipals().Post(ctx, spBody, nil)
	if err != nil {
		t.Fatalf("create service principal: %s", describe(err))
	}
	if got := sp.GetOauth2PermissionScopes(); len(got) != 1 {
		t.Errorf("service principal's scopes: %v", got)
	}
	graphSPs, err := client.ServicePrincipals().Get(ctx, &serviceprincipals.ServicePrincipalsRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ServicePrincipalsRequestBuilderGetQueryParameters{Filter: ptr("appId eq '" + graphAppID + "'")}})
	if err != nil || len(graphSPs.GetValue()) != 1 {
		t.Fatalf("graph service principal: %s", describe(err))
	}
	graphSP := uuid.MustParse(deref(graphSPs.GetValue()[0].GetId()))
	spID := uuid.MustParse(deref(sp.GetId()))

	t.Run("AppRoleAssignments", func(t *testing.T) {
		readAll := uuid.MustParse(userReadAll)
		a := models.NewAppRoleAssignment()
		a.SetPrincipalId(&spID)
		a.SetResourceId(&graphSP)
		a.SetAppRoleId(&readAll)
		got, err := client.ServicePrincipals().ByServicePrincipalId(spID.String()).AppRoleAssignments().Post(ctx, a, nil)
		if err != nil || got.GetId() == nil || *got.GetResourceId() != graphSP {
			t.Fatalf("assign to the service principal: %s", describe(err))
		}
		user, err := client.Users().Post(ctx, newUserBody("ana@"+appsDomain, "Ana", "ana", "Analyst"), nil)
		if err != nil {
			t.Fatalf("create user: %s", describe(err))
		}
		userID := uuid.MustParse(deref(user.GetId()))
		ua := models.NewAppRoleAssignment()
		ua.SetPrincipalId(&userID)
		ua.SetResourceId(&spID)
		ua.SetAppRoleId(&roleID)
		if _, err := client.Users().ByUserId(userID.String()).AppRoleAssignments().Post(ctx, ua, nil); err != nil {
			t.Fatalf("assign to the user: %s", describe(err))
		}
		list, err := client.Users().ByUserId(userID.String()).AppRoleAssignments().Get(ctx, nil)
		if err != nil || len(list.GetValue()) != 1 || *list.GetValue()[0].GetAppRoleId() != roleID {
			t.Errorf("user's assignments: %s", describe(err))
		}
		// Once only, and only for the principal of the URL.
		_, err = client.Users().ByUserId(userID.String()).AppRoleAssignments().Post(ctx, ua, nil)
		assertODataError(t, err, []int{400}, "Request_BadRequest")
		_, err = client.ServicePrincipals().ByServicePrincipalId(spID.String()).AppRoleAssignments().Post(ctx, ua, nil)
		assertODataError(t, err, []int{400}, "Request_BadRequest")
	})

	t.Run("Owners", func(t *testing.T) {
		owner, err := client.Users().Post(ctx, newUserBody("owner@"+appsDomain, "Owner", "owner", "Developer"), nil)
		if err != nil {
			t.Fatalf("create owner: %s", describe(err))
		}
		ref := models.NewReferenceCreate()
		ref.SetOdataId(ptr(base + "/v1.0/directoryObjects/" + deref(owner.GetId())))
		if err := client.Applications().ByApplicationId(deref(app.GetId())).Owners().Ref().Post(ctx, ref, nil); err != nil {
			t.Fatalf("add application owner: %s", describe(err))
		}
		if err := client.ServicePrincipals().ByServicePrincipalId(spID.String()).Owners().Ref().Post(ctx, ref, nil); err != nil {
			t.Fatalf("add service principal owner: %s", describe(err))
		}
		for name, get := range map[string]func() (models.DirectoryObjectCollectionResponseable, error){
			"application": func() (models.DirectoryObjectCollectionResponseable, error) {
				return client.Applications().ByApplicationId(deref(app.GetId())).Owners().Get(ctx, nil)
			},
			"service principal": func() (models.DirectoryObjectCollectionResponseable, error) {
				return client.ServicePrincipals().ByServicePrincipalId(spID.String()).Owners().Get(ctx, nil)
			},
		} {
			owners, err := get()
			if err != nil {
				t.Fatalf("%s owners: %s", name, describe(err))
			}
			found := false
			for _, o := range owners.GetValue() {
				found = found || deref(o.GetId()) == deref(owner.GetId())
			}
			if !found {
				t.Errorf("%s owners lack the owner", name)
			}
		}
	})

	t.Run("CertificateAuthentication", func(t *testing.T) {
		tokens := &assertionProvider{tokenURL: base + "/" + tenant.TenantID + "/oauth2/v2.0/token", scope: base + "/.default",
			clientID: deref(app.GetAppId()), key: key, cert: cert, http: &http.Client{Timeout: 30 * time.Second}}
		adapter, err := msgraphsdk.NewGraphRequestAdapter(authentication.NewBaseBearerTokenAuthenticationProvider(tokens))
		if err != nil {
			t.Fatal(err)
		}
		adapter.SetBaseUrl(base + "/v1.0")
		certClient := msgraphsdk.NewGraphServiceClient(adapter)
		users, err := certClient.Users().Get(ctx, nil)
		if err != nil || len(users.GetValue()) == 0 {
			t.Fatalf("list users with a certificate's token: %s", describe(err))
		}
		// The same assertion twice: refused the second time.
		assertion := tokens.sign()
		if status := tokens.post(t, assertion); status != 200 {
			t.Errorf("first use: %d", status)
		}
		if status := tokens.post(t, assertion); status != 401 {
			t.Errorf("replayed assertion: %d", status)
		}
	})
}

func selfSigned(t *testing.T) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "reports daemon"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// assertionProvider gets app tokens with a fresh RS256 client assertion per
// request, as MSAL's certificate credential does.
type assertionProvider struct {
	tokenURL, scope, clientID string
	key                       *rsa.PrivateKey
	cert                      *x509.Certificate
	http                      *http.Client
}

func (p *assertionProvider) GetAllowedHostsValidator() *authentication.AllowedHostsValidator {
	u, _ := url.Parse(p.tokenURL)
	v, _ := authentication.NewAllowedHostsValidatorErrorCheck([]string{u.Hostname()})
	return v
}

func (p *assertionProvider) GetAuthorizationToken(ctx context.Context, u *url.URL, _ map[string]any) (string, error) {
	if !p.GetAllowedHostsValidator().IsUrlHostValid(u) {
		return "", fmt.Errorf("refusing to send a token to %s: host not allowed", u.Redacted())
	}
	form := p.form(p.sign())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok tokenResponse
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&tok) != nil {
		return "", fmt.Errorf("token endpoint: status %d", resp.StatusCode)
	}
	return tok.AccessToken, nil
}

func (p *assertionProvider) form(assertion string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {p.clientID}, "scope": {p.scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
}

func (p *assertionProvider) post(t *testing.T, assertion string) int {
	t.Helper()
	resp, err := p.http.PostForm(p.tokenURL, p.form(assertion))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// sign makes a compact RS256 JWT naming the certificate by x5t.
func (p *assertionProvider) sign() string {
	thumb := sha1.Sum(p.cert.Raw)
	now := time.Now()
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "x5t": base64.RawURLEncoding.EncodeToString(thumb[:])})
	claims, _ := json.Marshal(map[string]any{"iss": p.clientID, "sub": p.clientID, "aud": p.tokenURL, "jti": uuid.NewString(),
		"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()})
	signing := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signing))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, digest[:])
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}
