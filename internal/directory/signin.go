package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// SignInUser is an account as the sign-in pages see it.
type SignInUser struct {
	ID, TenantID, UserPrincipalName, DisplayName string
	MustChangePassword                           bool
}

// ErrBadCredentials is every password sign-in failure alike, so a caller
// learns nothing about which accounts exist.
var ErrBadCredentials = usererr.New(usererr.Forbidden, "Your account or password is incorrect.")

// ErrUnknownAccount is the ErrBadCredentials of a username that names no
// account with a password, for the sign-in log; users see only
// ErrBadCredentials.
var ErrUnknownAccount = fmt.Errorf("%w (no such account)", ErrBadCredentials)

// ErrAccountDisabled is reported only after the correct password.
var ErrAccountDisabled = usererr.New(usererr.Forbidden, "Your account has been disabled. Contact your administrator.")

// dummyHash is verified against when there is no account, so a sign-in for
// an unknown user costs the same hashing as one for a real user.
var dummyHash struct {
	once sync.Once
	hash []byte
	err  error
}

func (s *Service) dummy(ctx context.Context) ([]byte, error) {
	dummyHash.once.Do(func() { dummyHash.hash, dummyHash.err = s.passwords.Hash(ctx, "gatehouse: no such account") })
	return dummyHash.hash, dummyHash.err
}

// SignIn checks a username and password in one step, taking the same time
// whether or not the account exists. The username is a user principal name,
// or in an external tenant also an email or user name identity.
func (s *Service) SignIn(ctx context.Context, tenantID, username, password string) (SignInUser, error) {
	var user Object
	var hash []byte
	err := s.st.View(ctx, func(tx store.Tx) error {
		u, err := s.findSignInUser(ctx, tx, tenantID, username)
		if err != nil {
			return err
		}
		creds, err := tx.ListCredentials(ctx, tenantID, u.ID, store.CredPassword)
		if err != nil || len(creds) == 0 {
			return err
		}
		user, hash = u, creds[0].Hash
		return nil
	})
	if err != nil && !errors.Is(err, errNoAccount) {
		return SignInUser{}, err
	}
	if hash == nil {
		d, err := s.dummy(ctx)
		if err != nil {
			return SignInUser{}, err
		}
		_, _, _ = s.passwords.Verify(ctx, d, password)
		return SignInUser{}, ErrUnknownAccount
	}
	ok, rehash, err := s.passwords.Verify(ctx, hash, password)
	if err != nil {
		return SignInUser{}, err
	}
	if !ok {
		return SignInUser{}, ErrBadCredentials
	}
	if user.Doc["accountEnabled"] != true {
		return SignInUser{}, ErrAccountDisabled
	}
	if rehash {
		if err := s.storePassword(ctx, tenantID, user.ID, password); err != nil {
			return SignInUser{}, err
		}
	}
	return signInUser(tenantID, user), nil
}

var errNoAccount = errors.New("directory: no such account")

func (s *Service) findSignInUser(ctx context.Context, tx store.Tx, tenantID, username string) (Object, error) {
	username = strings.TrimSpace(username)
	if username == "" || len(username) > 256 {
		return Object{}, errNoAccount
	}
	o, err := tx.GetObjectByUPN(ctx, tenantID, KindUser, strings.ToLower(username))
	if err == nil {
		return toObject(o)
	}
	if !isNotFound(err) {
		return Object{}, err
	}
	tenant, err := tx.GetTenant(ctx, tenantID)
	if err != nil || tenant.Type != store.TenantExternal {
		return Object{}, errNoAccount
	}
	// Local accounts of external tenants sign in with their email or user name.
	body := odata.Logical{Op: "and",
		Left: odata.Compare{Op: "eq", Property: odata.Path{Var: true, Segments: []string{"issuerAssignedId"}}, Value: odata.Literal{Kind: odata.LitString, Text: username}},
		Right: odata.In{Property: odata.Path{Var: true, Segments: []string{"signInType"}}, Values: []odata.Literal{
			{Kind: odata.LitString, Text: "emailAddress"}, {Kind: odata.LitString, Text: "userName"}}}}
	p, err := tx.ListObjects(ctx, tenantID, KindUser, store.Query{Schema: userSpec.schema, Filter: odata.Any{Collection: "identities", Var: "i", Body: body}, Top: 2})
	if err != nil {
		return Object{}, err
	}
	if len(p.Objects) != 1 {
		return Object{}, errNoAccount
	}
	return toObject(p.Objects[0])
}

func signInUser(tenantID string, u Object) SignInUser {
	return SignInUser{ID: u.ID, TenantID: tenantID, UserPrincipalName: str(u.Doc, "userPrincipalName"), DisplayName: str(u.Doc, "displayName"),
		MustChangePassword: mapOf(u.Doc["passwordProfile"])["forceChangePasswordNextSignIn"] == true}
}

// SignInAccount returns a live, enabled account for a sign-in session.
func (s *Service) SignInAccount(ctx context.Context, tenantID, userID string) (SignInUser, error) {
	u, err := s.Get(ctx, tenantID, KindUser, userID)
	if err != nil {
		return SignInUser{}, err
	}
	if u.Doc["accountEnabled"] != true {
		return SignInUser{}, ErrAccountDisabled
	}
	return signInUser(tenantID, u), nil
}

// storePassword hashes and stores a new password (no document change: a
// rehash is invisible to clients, and no one's password changes, so there
// is nothing to audit).
func (s *Service) storePassword(ctx context.Context, tenantID, userID, password string) error {
	hash, err := s.passwords.Hash(ctx, password)
	if err != nil {
		return err
	}
	return s.raw.Update(ctx, func(tx store.Tx) error {
		return tx.PutCredential(ctx, store.Credential{TenantID: tenantID, ObjectID: userID, KeyID: CredKeyPassword, Type: store.CredPassword, Hash: hash, CreatedAt: s.now().UTC()})
	})
}

// ChangePassword replaces a user's password after checking the current one,
// and clears a pending forced change.
func (s *Service) ChangePassword(ctx context.Context, tenantID, userID, current, next string) error {
	ctx = actingUser(ctx, tenantID, userID)
	u, err := s.SignInAccount(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	if _, err := s.SignIn(ctx, tenantID, u.UserPrincipalName, current); err != nil {
		return err
	}
	if next == current {
		return usererr.New(usererr.Invalid, "The new password must differ from the current one.")
	}
	return s.UpdateUser(ctx, tenantID, userID, Doc{"passwordProfile": map[string]any{"password": next, "forceChangePasswordNextSignIn": false}}, 0)
}

// Client is a registered application as the OpenID provider sees it.
type Client struct {
	AppID, DisplayName, PublisherDomain, SignInAudience  string
	WebRedirectURIs, SPARedirectURIs, PublicRedirectURIs []string
	Confidential                                         bool   // has a client secret
	PKCEOptional                                         bool   // opted out with the tag gatehouse:pkceOptional
	HomeTenantID                                         string // where the application is registered
	AllowPublicClient                                    bool   // isFallbackPublicClient: device code and other public flows
	SigningAlg                                           string // from the tag gatehouse:signingAlg=…; "" for the tenant's default
}

// signingAlgTag chooses the algorithm that signs an application's tokens.
const signingAlgTag = "gatehouse:signingAlg="

func signingAlgOf(app Doc) string {
	for _, t := range stringList(app["tags"]) {
		if alg, ok := strings.CutPrefix(t, signingAlgTag); ok {
			return alg
		}
	}
	return ""
}

// PKCEOptionalTag on an application lets its confidential flows omit PKCE.
const PKCEOptionalTag = "gatehouse:pkceOptional"

// ErrClientDisabled: the application's service principal is disabled in the tenant.
var ErrClientDisabled = usererr.New(usererr.Forbidden, "The application is disabled in this organization.")

// ClientByAppID returns an application that may sign users in to the
// tenant: one registered there, or a multitenant one registered elsewhere.
func (s *Service) ClientByAppID(ctx context.Context, tenantID, appID string) (Client, error) {
	var out Client
	err := s.st.View(ctx, func(tx store.Tx) error {
		app, home, err := s.appFor(ctx, tx, tenantID, appID)
		if err != nil {
			return err
		}
		if sp, err := tx.GetObjectByAppID(ctx, tenantID, KindServicePrincipal, appID); err == nil {
			spDoc, err := decodeDoc(sp.Data)
			if err != nil {
				return err
			}
			if spDoc["accountEnabled"] == false {
				return ErrClientDisabled
			}
		} else if !isNotFound(err) {
			return err
		}
		out, err = clientOf(ctx, tx, appID, app, home)
		return err
	})
	return out, err
}

// clientOf describes a registration, kept by home (a tenant, or
// FirstPartyOwnerID), as the Client appID (as the caller spelled it) names.
func clientOf(ctx context.Context, tx store.Tx, appID string, app Object, home string) (Client, error) {
	creds, err := clientSecrets(ctx, tx, app, home)
	if err != nil {
		return Client{}, err
	}
	return Client{
		AppID: appID, DisplayName: str(app.Doc, "displayName"), PublisherDomain: str(app.Doc, "publisherDomain"),
		SignInAudience:     str(app.Doc, "signInAudience"),
		WebRedirectURIs:    redirectURIs(app.Doc["web"], false),
		SPARedirectURIs:    redirectURIs(app.Doc["spa"], false),
		PublicRedirectURIs: redirectURIs(app.Doc["publicClient"], true),
		Confidential:       len(creds) > 0,
		PKCEOptional:       slices.Contains(stringList(app.Doc["tags"]), PKCEOptionalTag),
		HomeTenantID:       home,
		AllowPublicClient:  app.Doc["isFallbackPublicClient"] == true,
		SigningAlg:         signingAlgOf(app.Doc),
	}, nil
}

// redirectURIs are a platform's registered redirect URIs that today's
// registration rules admit: one stored before a rule was tightened (a
// javascript: URI, say) is never a place a code is sent.
func redirectURIs(platform any, custom bool) []string {
	var out []string
	for _, u := range stringList(mapOf(platform)["redirectUris"]) {
		if checkRedirectURI(u, custom) == nil {
			out = append(out, u)
		}
	}
	return out
}

// multitenantAudiences are the signInAudience values that admit users of
// other tenants.
var multitenantAudiences = []string{"AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount"}

// clientSecrets lists an application's client secrets. A multitenant
// application's are kept where it is registered; first-party applications
// are public clients and have none.
func clientSecrets(ctx context.Context, tx store.Tx, app Object, home string) ([]store.Credential, error) {
	if home == FirstPartyOwnerID {
		return nil, nil
	}
	return tx.ListCredentials(ctx, home, app.ID, store.CredClientSecret)
}

// registration finds an application's registration wherever it is kept:
// the deployment's for a first-party application, else the one live
// application with the appId in the deployment (appIds are unique across
// tenants, so this is never a choice between tenants). It returns the
// registration and its owner, a tenant id or FirstPartyOwnerID.
func (s *Service) registration(ctx context.Context, tx store.Tx, appID string) (Object, string, error) {
	if app, ok := firstPartyApp(appID, s.publicURL); ok {
		return app, FirstPartyOwnerID, nil
	}
	o, err := tx.LookupApplication(ctx, appID)
	if err != nil {
		return Object{}, "", translate(err, appID)
	}
	app, err := toObject(o)
	return app, o.TenantID, err
}

// appFor finds the registration of an application usable in a tenant: a
// first-party one, its own, or a multitenant application registered in
// another tenant. It returns the registration and its owner.
func (s *Service) appFor(ctx context.Context, tx store.Tx, tenantID, appID string) (Object, string, error) {
	app, owner, err := s.registration(ctx, tx, appID)
	if err != nil {
		return Object{}, "", err
	}
	if owner != tenantID && owner != FirstPartyOwnerID && !slices.Contains(multitenantAudiences, str(app.Doc, "signInAudience")) {
		return Object{}, "", notFound(appID)
	}
	return app, owner, nil
}

func stringList(v any) []string {
	var out []string
	for _, e := range sliceOf(v) {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// mailProven tells whether the user proved control of their mail address
// itself, whatever its domain: a guest who redeemed an invitation sent to it
// (the redemption refuses any identity that does not prove the invited
// address), or an account created by email verification.
func mailProven(u Doc) bool {
	return (u["creationType"] == "Invitation" && u["externalUserState"] == "Accepted") || u["creationType"] == "EmailVerified"
}

// TokenUser is what tokens say about a user signing in to an application.
type TokenUser struct {
	ObjectID, TenantID, DisplayName, UserPrincipalName string
	Email                                              string // only a proven address (mailProven) or one on a domain the tenant verified
	Guest, Enabled                                     bool
	Roles                                              []string
	SessionsValidFrom                                  time.Time
}

// TokenUserFor returns the claims source for a user and an application.
func (s *Service) TokenUserFor(ctx context.Context, tenantID, userID, appID string) (TokenUser, error) {
	var out TokenUser
	err := s.st.View(ctx, func(tx store.Tx) error {
		u, err := s.load(ctx, tx, tenantID, KindUser, userID)
		if err != nil {
			return err
		}
		out = TokenUser{ObjectID: u.ID, TenantID: tenantID, DisplayName: str(u.Doc, "displayName"), UserPrincipalName: str(u.Doc, "userPrincipalName"),
			Guest: u.Doc["userType"] == "Guest", Enabled: u.Doc["accountEnabled"] == true}
		if t, err := time.Parse(time.RFC3339, str(u.Doc, "signInSessionsValidFromDateTime")); err == nil {
			out.SessionsValidFrom = t
		}
		if mail := str(u.Doc, "mail"); mail != "" {
			if mailProven(u.Doc) {
				out.Email = mail
			} else {
				_, domain, _ := strings.Cut(mail, "@")
				if d, err := tx.GetDomain(ctx, tenantID, strings.ToLower(domain)); err == nil && d.Verified {
					out.Email = mail
				}
			}
		}
		out.Roles, err = s.appRolesOf(ctx, tx, tenantID, u.ID, appID)
		return err
	})
	return out, err
}

// appRolesOf lists the values of the application's roles assigned to a user
// directly or through a group the user is a direct member of.
func (s *Service) appRolesOf(ctx context.Context, tx store.Tx, tenantID, userID, appID string) ([]string, error) {
	spObj, err := tx.GetObjectByAppID(ctx, tenantID, KindServicePrincipal, appID)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sp, err := toObject(spObj)
	if err != nil {
		return nil, err
	}
	principals := []string{userID}
	groups, err := tx.ListRelated(ctx, tenantID, store.Related{ID: userID, Rel: RelMembers, Reverse: true}, store.Query{Top: 999})
	if err != nil {
		return nil, err
	}
	for _, g := range groups.Objects {
		principals = append(principals, g.ID)
	}
	values := map[string]string{}
	for _, r := range sliceOf(sp.Doc["appRoles"]) {
		values[str(mapOf(r), "id")] = str(mapOf(r), "value")
	}
	var roles []string
	for _, p := range principals {
		as, err := assignmentsWhere(ctx, tx, tenantID, "principalId", p)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			if v := values[str(a.Doc, "appRoleId")]; str(a.Doc, "resourceId") == sp.ID && v != "" && !slices.Contains(roles, v) {
				roles = append(roles, v)
			}
		}
	}
	return roles, nil
}

// RevokeSignInSessions ends every sign-in of a user (POST
// /users/{id}/revokeSignInSessions): sessions and refresh tokens are deleted
// and signInSessionsValidFromDateTime moves to now, so anything issued
// before is refused wherever it is presented.
func (s *Service) RevokeSignInSessions(ctx context.Context, tenantID, key string) error {
	return s.updateWithRetry(ctx, 0, func(tx store.Tx) error {
		cur, err := s.resolve(ctx, tx, tenantID, KindUser, key)
		if err != nil {
			return err
		}
		if err := s.checkUserChange(ctx, tx, tenantID, cur.ID, authz.UserChange{RevokeSessions: true}); err != nil {
			return err
		}
		next := merge(cur.Doc, Doc{})
		if err := s.revokeUser(ctx, tx, tenantID, cur.ID, next, reasonSessionsRevoked); err != nil {
			return err
		}
		_, err = s.replace(ctx, tx, tenantID, cur, next)
		return err
	})
}
