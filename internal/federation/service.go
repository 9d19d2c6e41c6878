package federation

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// Config wires the service.
type Config struct {
	// Directory stores the tenants' identity providers; its Update audits
	// every change.
	Directory *directory.Service
	// Keys seal the providers' client secrets.
	Keys *secrets.Keyring
	// PublicURL is the deployment's address: its tenants' issuers and the
	// redirect URI ({PublicURL}/federation/callback) live under it.
	PublicURL string
	// HTTPClient reaches the providers (LocalTransport lets a node reach
	// its own issuer in-process); http.DefaultClient when nil.
	HTTPClient *http.Client
	Now        func() time.Time
	// NewID makes the ids of OpenID Connect providers; random UUIDs when nil.
	NewID func() string
}

// Service is the relying party and the store of configured providers.
type Service struct {
	dir       *directory.Service
	keys      *secrets.Keyring
	publicURL string
	client    *http.Client
	now       func() time.Time
	newID     func() string

	mu        sync.Mutex
	discovery map[string]discovered
}

// New returns the service.
func New(cfg Config) *Service {
	s := &Service{dir: cfg.Directory, keys: cfg.Keys, publicURL: strings.TrimSuffix(cfg.PublicURL, "/"), client: cfg.HTTPClient,
		now: cfg.Now, newID: cfg.NewID, discovery: map[string]discovered{}}
	if s.client == nil {
		s.client = http.DefaultClient
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = uuid.NewString
	}
	return s
}

// RedirectURI is where every provider sends its codes back.
func (s *Service) RedirectURI() string { return s.publicURL + directory.FederationCallbackPath }

// TenantProvider is a tenant of this deployment as a guest's home: the
// consumers tenant of personal accounts when consumers is set.
func (s *Service) TenantProvider(tenantID string, consumers bool) Provider {
	kind := KindTenant
	if consumers {
		kind = KindConsumers
	}
	return Provider{Kind: kind, TenantID: tenantID, Issuer: s.tenantIssuer(tenantID)}
}

func (s *Service) tenantIssuer(tenantID string) string { return s.publicURL + "/" + tenantID + "/v2.0" }

// ErrUnknownProvider: no identity provider with that id in the tenant.
var ErrUnknownProvider = usererr.WithCode(usererr.NotFound, "Request_ResourceNotFound", "The identity provider does not exist.")

func asProvider(tenantID string, r record) Provider {
	return Provider{Kind: KindOIDC, ID: r.ID, TenantID: tenantID, DisplayName: r.DisplayName, Issuer: r.issuer()}
}

// Provider returns a configured identity provider of the tenant.
func (s *Service) Provider(ctx context.Context, tenantID, id string) (Provider, error) {
	r, err := s.read(ctx, tenantID, id)
	if err != nil {
		return Provider{}, err
	}
	return asProvider(tenantID, r), nil
}

// ForDomain finds the configured provider whose domains include domain.
func (s *Service) ForDomain(ctx context.Context, tenantID, domain string) (Provider, bool, error) {
	all, err := s.list(ctx, tenantID)
	if err != nil {
		return Provider{}, false, err
	}
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	for _, r := range all {
		for _, d := range r.Domains {
			if d == domain {
				return asProvider(tenantID, r), true, nil
			}
		}
	}
	return Provider{}, false, nil
}

// List returns the tenant's identity providers as Graph shows them.
func (s *Service) List(ctx context.Context, tenantID string) ([]map[string]any, error) {
	all, err := s.list(ctx, tenantID)
	out := make([]map[string]any, len(all))
	for i, r := range all {
		out[i] = r.present()
	}
	return out, err
}

// Get returns one identity provider as Graph shows it.
func (s *Service) Get(ctx context.Context, tenantID, id string) (map[string]any, error) {
	r, err := s.read(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	return r.present(), nil
}

// Create adds an identity provider from a POST body.
func (s *Service) Create(ctx context.Context, tenantID string, body map[string]any) (map[string]any, error) {
	r, secret, err := parseNew(body)
	if err != nil {
		return nil, err
	}
	r.ID = s.newID()
	if r.Type == TypeSocial {
		// One provider of each social type, named as Entra names it.
		r.ID = r.IdentityProviderType + "-OAUTH"
	}
	err = s.dir.Update(ctx, func(tx store.Tx) error {
		if err := s.checkDomains(ctx, tx, tenantID, r); err != nil {
			return err
		}
		if _, err := tx.GetObject(ctx, tenantID, KindIdentityProvider, r.ID); err == nil {
			return usererr.New(usererr.Conflict, "An identity provider of type %s already exists.", r.IdentityProviderType)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		now := s.now().UTC()
		o := store.Object{TenantID: tenantID, Kind: KindIdentityProvider, ID: r.ID, DisplayName: r.DisplayName, CreatedAt: now, UpdatedAt: now}
		if err := encode(&o, r); err != nil {
			return err
		}
		if err := tx.CreateObject(ctx, &o); err != nil {
			return err
		}
		return s.putSecret(ctx, tx, tenantID, r.ID, secret)
	})
	if err != nil {
		return nil, err
	}
	return r.present(), nil
}

// Update applies a PATCH body.
func (s *Service) Update(ctx context.Context, tenantID, id string, body map[string]any) error {
	return s.dir.Update(ctx, func(tx store.Tx) error {
		o, err := tx.GetObject(ctx, tenantID, KindIdentityProvider, id)
		if errors.Is(err, store.ErrNotFound) {
			return ErrUnknownProvider
		}
		if err != nil {
			return err
		}
		r, err := decodeRecord(o.Data)
		if err != nil {
			return err
		}
		secret, secretSet, err := apply(&r, body, false)
		if err != nil {
			return err
		}
		if err := s.checkDomains(ctx, tx, tenantID, r); err != nil {
			return err
		}
		o.DisplayName, o.UpdatedAt = r.DisplayName, s.now().UTC()
		if err := encode(&o, r); err != nil {
			return err
		}
		// The document is written even when only the secret changes: the
		// audit record of the change is the document's.
		if err := tx.UpdateObject(ctx, &o); err != nil {
			return err
		}
		if secretSet {
			return s.putSecret(ctx, tx, tenantID, id, secret)
		}
		return nil
	})
}

// Delete removes an identity provider for good, as Graph does, and its
// sealed secret with it: nothing would restore it.
func (s *Service) Delete(ctx context.Context, tenantID, id string) error {
	return s.dir.Update(ctx, func(tx store.Tx) error {
		err := tx.DeleteObject(ctx, tenantID, KindIdentityProvider, id, 0)
		if errors.Is(err, store.ErrNotFound) {
			return ErrUnknownProvider
		}
		if err != nil {
			return err
		}
		return tx.PurgeObject(ctx, tenantID, KindIdentityProvider, id)
	})
}

// checkDomains refuses a domain another provider of the tenant claims.
// Under the tenant's lock, so two writes cannot both claim one.
func (s *Service) checkDomains(ctx context.Context, tx store.Tx, tenantID string, r record) error {
	if len(r.Domains) == 0 {
		return nil
	}
	if err := tx.LockTenant(ctx, tenantID); err != nil {
		return err
	}
	others, err := listIn(ctx, tx, tenantID)
	if err != nil {
		return err
	}
	if d := domainTaken(r, others); d != "" {
		e := usererr.Taken("domains")
		e.Message = "The domain " + d + " is already used by another identity provider."
		return e
	}
	return nil
}

func (s *Service) read(ctx context.Context, tenantID, id string) (record, error) {
	var r record
	err := s.dir.View(ctx, func(tx store.Tx) error {
		o, err := tx.GetObject(ctx, tenantID, KindIdentityProvider, id)
		if errors.Is(err, store.ErrNotFound) {
			return ErrUnknownProvider
		}
		if err != nil {
			return err
		}
		r, err = decodeRecord(o.Data)
		return err
	})
	return r, err
}

func (s *Service) list(ctx context.Context, tenantID string) ([]record, error) {
	var out []record
	err := s.dir.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = listIn(ctx, tx, tenantID)
		return err
	})
	return out, err
}

func listIn(ctx context.Context, tx store.Tx, tenantID string) ([]record, error) {
	var out []record
	q := store.Query{Top: 999}
	for {
		p, err := tx.ListObjects(ctx, tenantID, KindIdentityProvider, q)
		if err != nil {
			return nil, err
		}
		for _, o := range p.Objects {
			r, err := decodeRecord(o.Data)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		if p.Next == "" {
			return out, nil
		}
		q.Cursor = p.Next
	}
}

// Client secrets are kept as a credential of the provider, sealed with
// the master key and bound to the tenant and provider.
const (
	credSealedSecret = "sealedClientSecret"
	secretKeyID      = "clientSecret"
)

func secretAAD(tenantID, id string) []byte {
	return []byte("gatehouse identity provider client secret v1\x00" + tenantID + "\x00" + id)
}

func (s *Service) putSecret(ctx context.Context, tx store.Tx, tenantID, id, secret string) error {
	sealed, err := s.keys.Seal([]byte(secret), secretAAD(tenantID, id))
	if err != nil {
		return err
	}
	return tx.PutCredential(ctx, store.Credential{TenantID: tenantID, ObjectID: id, KeyID: secretKeyID, Type: credSealedSecret,
		Hash: sealed, CreatedAt: s.now().UTC()})
}

func (s *Service) secret(ctx context.Context, tenantID, id string) (string, error) {
	var out string
	err := s.dir.View(ctx, func(tx store.Tx) error {
		creds, err := tx.ListCredentials(ctx, tenantID, id, credSealedSecret)
		if err != nil {
			return err
		}
		if len(creds) == 0 {
			return errors.New("federation: identity provider has no client secret")
		}
		b, err := s.keys.Open(creds[0].Hash, secretAAD(tenantID, id))
		out = string(b)
		return err
	})
	return out, err
}
