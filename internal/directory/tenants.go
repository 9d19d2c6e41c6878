package directory

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"math/big"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// specs indexes every kind the directory serves.
var specs = map[string]*kindSpec{
	KindUser:                userSpec,
	KindGroup:               groupSpec,
	KindApplication:         applicationSpec,
	KindServicePrincipal:    servicePrincipalSpec,
	KindAppRoleAssign:       appRoleAssignmentSpec,
	KindRoleAssignment:      roleAssignmentSpec,
	KindOrganization:        organizationSpec,
	KindPermissionGrant:     permissionGrantSpec,
	KindBranding:            brandingSpec,
	KindAuthorizationPolicy: authorizationPolicySpec,
	KindDirectoryRole:       directoryRoleSpec,
	KindRoleDefinition:      roleDefinitionSpec,
	KindDomain:              domainSpec,

	KindSessionLifetimePolicy: sessionLifetimePolicySpec,
}

var organizationSpec = (&kindSpec{
	kind: KindOrganization, typeName: "organization", resource: "Organization",
	props: map[string]prop{
		"id":                                  ro(tString),
		"createdDateTime":                     ro(tDateTime),
		"displayName":                         ro(tString),
		"tenantType":                          ro(tString),
		"verifiedDomains":                     ro(tObjectList),
		"countryLetterCode":                   ro(tString),
		"preferredLanguage":                   text(20),
		"marketingNotificationEmails":         {typ: tStringList, maxItems: 20, check: checkEmail},
		"technicalNotificationMails":          {typ: tStringList, maxItems: 20, check: checkEmail},
		"securityComplianceNotificationMails": {typ: tStringList, maxItems: 20, check: checkEmail},
		"privacyProfile":                      {typ: tObject, fields: map[string]prop{"contactEmail": text(256), "statementUrl": text(256)}},
	},
	schema: &odata.Schema{Resource: "Organization"}, // $select only, as domains
}).init()

// NewTenant describes a tenant to create.
type NewTenant struct {
	DisplayName string
	Domain      string // a verified domain the tenant owns; its default domain
	Type        string // store.TenantWorkforce or store.TenantExternal
	// ID is a fixed tenant id, for the deployment's own tenants (the
	// consumers tenant); empty for a new one.
	ID string
}

// ConsumersTenantID is the deployment's tenant of personal accounts, the id
// Entra's consumers (Microsoft account) tenant has, so tools that recognise
// personal accounts by it work unchanged. Guests without an organization
// redeem there when email one-time passcodes are off.
const ConsumersTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

// CreatedTenant is what creating a tenant hands back once: the secrets here
// are not stored in clear anywhere and cannot be shown again.
type CreatedTenant struct {
	TenantID string
	Admin    struct{ UserPrincipalName, Password string }
	Auto     struct{ ClientID, ClientSecret string }
}

var domainPattern = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$`)

// CheckDomainName validates a DNS domain name as a tenant domain.
func CheckDomainName(name string) error {
	if len(name) > 253 || !domainPattern.MatchString(name) {
		return usererr.New(usererr.Invalid, "'%s' is not a valid domain name.", name)
	}
	return nil
}

// CreateTenant creates a tenant with its organization, domains, principals
// of the first-party applications (Microsoft Graph, the CLI), a Global
// Administrator and an automation app holding Graph application
// permissions, all in one transaction.
func (s *Service) CreateTenant(ctx context.Context, in NewTenant) (CreatedTenant, error) {
	var out CreatedTenant
	in.Domain = strings.ToLower(strings.TrimSpace(in.Domain))
	if strings.TrimSpace(in.DisplayName) == "" || len(in.DisplayName) > 256 {
		return out, usererr.New(usererr.Invalid, "A tenant needs a display name of at most 256 characters.")
	}
	if err := CheckDomainName(in.Domain); err != nil {
		return out, err
	}
	if in.Type == "" {
		in.Type = store.TenantWorkforce
	}
	if in.Type != store.TenantWorkforce && in.Type != store.TenantExternal {
		return out, usererr.New(usererr.Invalid, "Tenant type must be 'workforce' or 'external'.")
	}
	password := GeneratePassword()
	hash, err := s.passwords.Hash(ctx, password)
	if err != nil {
		return out, err
	}
	out.TenantID = cmp.Or(in.ID, s.newID())
	out.Admin.Password = password
	out.Admin.UserPrincipalName = "admin@" + in.Domain
	err = s.st.Update(ctx, func(tx store.Tx) error {
		now := s.now().UTC()
		if err := tx.CreateTenant(ctx, store.Tenant{ID: out.TenantID, DisplayName: in.DisplayName, Type: in.Type, CreatedAt: now}); err != nil {
			return err
		}
		initial, err := s.claimInitialDomain(ctx, tx, out.TenantID, in.Domain)
		if err != nil {
			return err
		}
		if initial != in.Domain {
			err := tx.AddDomain(ctx, store.Domain{Name: in.Domain, TenantID: out.TenantID, Verified: true, Default: true, CreatedAt: now})
			if errors.Is(err, store.ErrConflict) {
				return usererr.New(usererr.Invalid, "The domain '%s' already belongs to another tenant.", in.Domain)
			}
			if err != nil {
				return err
			}
		}
		tenantType := "AAD"
		if in.Type == store.TenantExternal {
			tenantType = "CIAM"
		}
		if _, err := s.insert(ctx, tx, out.TenantID, KindOrganization, Doc{
			"id": out.TenantID, "displayName": in.DisplayName, "createdDateTime": s.timestamp(), "tenantType": tenantType,
			"marketingNotificationEmails": []any{}, "technicalNotificationMails": []any{}, "securityComplianceNotificationMails": []any{},
		}); err != nil {
			return err
		}
		graph, err := s.insertFirstPartyPrincipals(ctx, tx, out.TenantID)
		if err != nil {
			return err
		}
		admin, err := s.insert(ctx, tx, out.TenantID, KindUser, Doc{
			"id": s.newID(), "accountEnabled": true, "displayName": "Administrator", "mailNickname": "admin",
			"userPrincipalName": out.Admin.UserPrincipalName, "userType": "Member", "createdDateTime": s.timestamp(),
			"lastPasswordChangeDateTime": s.timestamp(), "passwordProfile": map[string]any{"forceChangePasswordNextSignIn": false},
			"identities":     withUPNIdentity(nil, initial, out.Admin.UserPrincipalName),
			"proxyAddresses": []any{}, "businessPhones": []any{}, "otherMails": []any{},
		})
		if err != nil {
			return err
		}
		if err := tx.PutCredential(ctx, store.Credential{TenantID: out.TenantID, ObjectID: admin.ID, KeyID: CredKeyPassword, Type: store.CredPassword, Hash: hash, CreatedAt: now}); err != nil {
			return err
		}
		if _, err := s.assignRole(ctx, tx, out.TenantID, admin.ID, RoleGlobalAdministrator, "/"); err != nil {
			return err
		}
		out.Auto.ClientID, out.Auto.ClientSecret, err = s.createAutomationApp(ctx, tx, out.TenantID, graph)
		return err
	})
	if err != nil {
		return CreatedTenant{}, translate(err, "")
	}
	return out, nil
}

// claimInitialDomain gives the tenant its initial domain, <label>.<suffix>,
// trying a numbered label when the plain one is taken by another tenant.
func (s *Service) claimInitialDomain(ctx context.Context, tx store.Tx, tenantID, domain string) (string, error) {
	label := initialLabel(domain)
	for n := 0; n < 50; n++ {
		name := label + "." + s.initialSuffix
		if n > 0 {
			name = fmt.Sprintf("%s%d.%s", label, n+1, s.initialSuffix)
		}
		err := tx.AddDomain(ctx, store.Domain{Name: name, TenantID: tenantID, Verified: true, Initial: true, Default: name == domain, CreatedAt: s.now().UTC()})
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return "", err
		}
	}
	return "", fmt.Errorf("no free initial domain for %q", label)
}

func initialLabel(domain string) string {
	label, _, _ := strings.Cut(domain, ".")
	label = strings.Trim(label, "-")
	if label == "" {
		return "tenant"
	}
	return label
}

func (s *Service) createAutomationApp(ctx context.Context, tx store.Tx, tenantID string, graph Object) (string, string, error) {
	access := make([]any, 0, len(AutomationPermissions))
	for _, name := range AutomationPermissions {
		access = append(access, map[string]any{"id": permissionID(name), "type": "Role"})
	}
	app, err := s.insertApplication(ctx, tx, tenantID, Doc{
		"displayName":            "Gatehouse automation",
		"requiredResourceAccess": []any{map[string]any{"resourceAppId": GraphAppID, "resourceAccess": access}},
	})
	if err != nil {
		return "", "", err
	}
	sp, err := s.insertServicePrincipal(ctx, tx, tenantID, app.Doc, Doc{}, tenantID)
	if err != nil {
		return "", "", err
	}
	for _, name := range AutomationPermissions {
		if _, err := s.assignAppRole(ctx, tx, tenantID, sp.ID, graph.ID, permissionID(name)); err != nil {
			return "", "", err
		}
	}
	now := s.now().UTC().Truncate(time.Second)
	cred := PasswordCredential{KeyID: s.newID(), DisplayName: "created with the tenant", StartDateTime: now, EndDateTime: secretLifetime(now)}
	cred.SecretText, cred.Hint = secrets.NewClientSecret()
	// The app was inserted in this transaction at version 1.
	if err := s.storeSecret(ctx, tx, tenantID, app, cred); err != nil {
		return "", "", err
	}
	return str(app.Doc, "appId"), cred.SecretText, nil
}

// insertFirstPartyPrincipals gives a new tenant its principals of the
// first-party applications and returns Microsoft Graph's.
func (s *Service) insertFirstPartyPrincipals(ctx context.Context, tx store.Tx, tenantID string) (Object, error) {
	var graph Object
	for _, appID := range firstPartyAppIDs {
		sp, err := s.insertFirstPartyPrincipal(ctx, tx, tenantID, appID)
		if err != nil {
			return Object{}, err
		}
		if appID == GraphAppID {
			graph = sp
		}
	}
	return graph, nil
}

func (s *Service) insertFirstPartyPrincipal(ctx context.Context, tx store.Tx, tenantID, appID string) (Object, error) {
	app, _ := firstPartyApp(appID, s.publicURL)
	d := Doc{}
	if appID == GraphAppID {
		d["oauth2PermissionScopes"] = delegatedScopes()
	}
	return s.insertServicePrincipal(ctx, tx, tenantID, app.Doc, d, FirstPartyOwnerID)
}

// AddMissingFirstPartyPrincipals gives every tenant the principals of
// first-party applications it lacks: a tenant created before the release
// that brought one (the admin centre's) gets it when a node of that release
// starts, as a new tenant would have. Only tenants lacking one are written,
// each in its own transaction; a principal another node added meanwhile is
// left as it is. It reports how many principals it added.
func (s *Service) AddMissingFirstPartyPrincipals(ctx context.Context) (int, error) {
	added := 0
	for after := ""; ; {
		tenants, err := s.ListTenants(ctx, after, 200)
		if err != nil || len(tenants) == 0 {
			return added, err
		}
		after = tenants[len(tenants)-1].ID
		for _, t := range tenants {
			n, err := s.addMissingFirstPartyPrincipals(ctx, t.ID)
			if err != nil {
				return added, err
			}
			added += n
		}
	}
}

func (s *Service) addMissingFirstPartyPrincipals(ctx context.Context, tenantID string) (int, error) {
	missing := func() (missing []string, err error) {
		err = s.st.View(ctx, func(tx store.Tx) (err error) {
			missing, err = missingFirstPartyPrincipals(ctx, tx, tenantID)
			return err
		})
		return missing, err
	}
	// Read first: a start that changes nothing writes nothing.
	if m, err := missing(); err != nil || len(m) == 0 {
		return 0, err
	}
	added := 0
	err := s.st.Update(ctx, func(tx store.Tx) error {
		m, err := missingFirstPartyPrincipals(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		for _, appID := range m {
			if _, err := s.insertFirstPartyPrincipal(ctx, tx, tenantID, appID); err != nil {
				return err
			}
		}
		added = len(m)
		return nil
	})
	if err != nil {
		// A node starting at the same time may have added them first (the
		// appId is unique in a tenant): then there is nothing left to do.
		if m, again := missing(); again == nil && len(m) == 0 {
			return 0, nil
		}
		return 0, err
	}
	return added, nil
}

func missingFirstPartyPrincipals(ctx context.Context, tx store.Tx, tenantID string) ([]string, error) {
	var missing []string
	for _, appID := range firstPartyAppIDs {
		_, err := tx.GetObjectByAppID(ctx, tenantID, KindServicePrincipal, appID)
		switch {
		case isNotFound(err):
			missing = append(missing, appID)
		case err != nil:
			return nil, err
		}
	}
	return missing, nil
}

func permissionID(value string) string {
	for _, p := range GraphPermissions {
		if p.Value == value {
			return p.ID
		}
	}
	panic("directory: unknown Graph permission " + value) // a programming error in AutomationPermissions
}

// GeneratePassword makes a 20-character password from an unambiguous alphabet.
func GeneratePassword() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	b := make([]byte, 20)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}

// CountTenants reports how many tenants the deployment has (first-start check).
func (s *Service) CountTenants(ctx context.Context) (int, error) {
	var n int
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.CountTenants(ctx)
		return err
	})
	return n, err
}

// ListTenants returns up to limit tenants with ids after after ("" for the
// first), in id order. It crosses tenants for the deployment's operator
// (gatehouse tenant list), who runs the store, not for any tenant's caller.
func (s *Service) ListTenants(ctx context.Context, after string, limit int) ([]store.Tenant, error) {
	var out []store.Tenant
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.ListTenants(ctx, after, limit)
		return err
	})
	return out, err
}

// TenantDetails is a tenant with its domains, for its operator.
type TenantDetails struct {
	store.Tenant
	Domains []store.Domain
}

// Tenant returns the tenant a segment names (its id or a verified domain)
// with its domains.
func (s *Service) Tenant(ctx context.Context, segment string) (TenantDetails, error) {
	id, err := s.ResolveTenant(ctx, segment)
	if err != nil {
		return TenantDetails{}, err
	}
	var out TenantDetails
	err = s.st.View(ctx, func(tx store.Tx) error {
		var err error
		if out.Tenant, err = tx.GetTenant(ctx, id); err != nil {
			return err
		}
		out.Domains, err = tx.ListDomains(ctx, id)
		return err
	})
	if isNotFound(err) {
		return TenantDetails{}, usererr.New(usererr.NotFound, "Tenant '%s' not found.", segment)
	}
	return out, err
}

// ResolveTenant maps the {tenant} segment of a URL, a tenant id or one of its
// verified domains, to the tenant id.
func (s *Service) ResolveTenant(ctx context.Context, segment string) (string, error) {
	if IsGUID(segment) {
		segment = strings.ToLower(segment)
		if s.knownTenants.has(segment, s.now()) {
			return segment, nil
		}
	}
	var id string
	err := s.st.View(ctx, func(tx store.Tx) error {
		if IsGUID(segment) {
			t, err := tx.GetTenant(ctx, segment)
			id = t.ID
			return err
		}
		d, err := tx.LookupDomain(ctx, strings.ToLower(segment))
		if err == nil && !d.Verified {
			return store.ErrNotFound
		}
		id = d.TenantID
		return err
	})
	if isNotFound(err) {
		return "", usererr.New(usererr.NotFound, "Tenant '%s' not found.", segment)
	}
	if err == nil && id == segment {
		s.knownTenants.add(id, s.now())
	}
	return id, err
}

// tenantSet remembers, for a while, tenant ids that were seen to exist, so
// addressing a tenant by id costs no query on hot paths (every token request
// names its tenant). Only existence is cached, and only briefly: whatever is
// done in a tenant next reads the tenant's own rows, which fail if it is gone.
// Domain names are always looked up, since they can move.
type tenantSet struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

const (
	tenantSetTTL = time.Minute
	tenantSetMax = 100_000
)

func (c *tenantSet) has(id string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.seen[id]
	return ok && now.Sub(at) < tenantSetLife(id)
}

// tenantSetLife is how long id is remembered: from four fifths of
// tenantSetTTL to all of it, fixed per tenant, so that tenants first seen
// together are not all looked up again in the same second.
func tenantSetLife(id string) time.Duration {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return tenantSetTTL - time.Duration(h.Sum32()%1024)*tenantSetTTL/5/1024
}

func (c *tenantSet) add(id string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil || len(c.seen) >= tenantSetMax {
		c.seen = make(map[string]time.Time)
	}
	c.seen[id] = now
}

// Organization returns the tenant's organization resource.
func (s *Service) Organization(ctx context.Context, tenantID string) (Object, error) {
	var out Object
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		if out, err = s.organization(ctx, tx, tenantID); err != nil {
			return err
		}
		return checkObjectRead(ctx, tx, tenantID, tenantID, out)
	})
	return out, err
}

func (s *Service) organization(ctx context.Context, tx store.Tx, tenantID string) (Object, error) {
	org, err := s.load(ctx, tx, tenantID, KindOrganization, tenantID)
	if err != nil {
		return Object{}, err
	}
	doms, err := tx.ListDomains(ctx, tenantID)
	if err != nil {
		return Object{}, err
	}
	verified := []any{}
	for _, d := range doms {
		if d.Verified {
			verified = append(verified, map[string]any{"name": d.Name, "type": "Managed", "isDefault": d.Default, "isInitial": d.Initial, "capabilities": "None"})
		}
	}
	org.Doc["verifiedDomains"] = verified
	return org, nil
}

// UpdateOrganization applies a PATCH /organization/{id} body.
func (s *Service) UpdateOrganization(ctx context.Context, tenantID, id string, body Doc) error {
	if !strings.EqualFold(id, tenantID) {
		return notFound(id)
	}
	patch, err := organizationSpec.normalize(body)
	if err != nil {
		return err
	}
	return s.patch(ctx, tenantID, KindOrganization, tenantID, 0, patch, nil, nil)
}

func defaultDomain(ctx context.Context, tx store.Tx, tenantID string) (string, error) {
	doms, err := tx.ListDomains(ctx, tenantID)
	if err != nil {
		return "", err
	}
	for _, d := range doms {
		if d.Default {
			return d.Name, nil
		}
	}
	return initialDomain(ctx, tx, tenantID)
}

// EnsureConsumersTenant creates the consumers tenant of personal accounts
// the first time it is needed. Nodes may race to create it; the tenant id
// is a primary key, so one wins and the others find it.
func (s *Service) EnsureConsumersTenant(ctx context.Context) error {
	exists := func() (bool, error) {
		err := s.raw.View(ctx, func(tx store.Tx) error {
			_, err := tx.GetTenant(ctx, ConsumersTenantID)
			return err
		})
		if isNotFound(err) {
			return false, nil
		}
		return err == nil, err
	}
	if ok, err := exists(); ok || err != nil {
		return err
	}
	_, err := s.CreateTenant(ctx, NewTenant{ID: ConsumersTenantID, DisplayName: "Personal accounts",
		Domain: "consumers." + s.initialSuffix, Type: store.TenantExternal})
	if err == nil {
		return nil
	}
	if ok, xerr := exists(); xerr == nil && ok {
		return nil
	}
	return err
}

// tenantDeletable is the rule of deleting a tenant, for its operator: never
// the consumers tenant, whose personal accounts sign in to every tenant's
// apps, and never the deployment's last tenant of its own (the next serve
// would make a new one, with new credentials, as on a new machine). others
// counts the deployment's tenants besides this one and the consumers
// tenant.
func tenantDeletable(id string, others int) error {
	switch {
	case id == ConsumersTenantID:
		return usererr.New(usererr.Forbidden, "The consumers tenant holds the deployment's personal accounts and cannot be deleted.")
	case others == 0:
		return usererr.New(usererr.Forbidden, "Tenant '%s' is the deployment's last tenant and cannot be deleted: create another first.", id)
	}
	return nil
}

// DeleteTenant deletes the tenant a segment names (its id or a verified
// domain) and everything it holds, for the deployment's operator (gatehouse
// tenant delete), as tenantDeletable allows. It returns what was deleted.
// Other nodes stop serving the tenant when their caches of it expire
// (tenantSetTTL, the signing keys' cache); nothing survives in the store.
func (s *Service) DeleteTenant(ctx context.Context, segment string) (TenantDetails, error) {
	t, err := s.Tenant(ctx, segment)
	if err != nil {
		return TenantDetails{}, err
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		n, err := tx.CountTenants(ctx)
		if err != nil {
			return err
		}
		others := n - 1
		if _, err := tx.GetTenant(ctx, ConsumersTenantID); err == nil && t.ID != ConsumersTenantID {
			others--
		} else if err != nil && !isNotFound(err) {
			return err
		}
		if err := tenantDeletable(t.ID, others); err != nil {
			return err
		}
		return tx.DeleteTenant(ctx, t.ID)
	})
	if isNotFound(err) {
		return TenantDetails{}, usererr.New(usererr.NotFound, "Tenant '%s' not found.", segment)
	}
	if err != nil {
		return TenantDetails{}, err
	}
	s.knownTenants.forget(t.ID)
	return t, nil
}

func (c *tenantSet) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.seen, id)
}
