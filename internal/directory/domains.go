package directory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// TXTResolver looks up DNS TXT records; net.DefaultResolver satisfies it.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// DomainDoc renders a domain as Graph's domain resource.
func DomainDoc(d store.Domain) Doc {
	return Doc{
		"id": d.Name, "authenticationType": "Managed", "isDefault": d.Default, "isInitial": d.Initial,
		"isVerified": d.Verified, "isAdminManaged": true, "isRoot": true, "supportedServices": []any{},
		"passwordValidityPeriodInDays": nil, "passwordNotificationWindowInDays": nil, "availabilityStatus": nil, "state": nil,
	}
}

// VerificationRecord is the TXT value that proves a tenant controls a domain.
// It is derived from tenant and domain, so it is stable and needs no storage.
func VerificationRecord(tenantID, domain string) string {
	sum := sha256.Sum256([]byte("gatehouse-domain-verification\x00" + tenantID + "\x00" + domain))
	return "gatehouse-verification=" + hex.EncodeToString(sum[:12])
}

// ListDomains lists a tenant's domains.
func (s *Service) ListDomains(ctx context.Context, tenantID string) ([]store.Domain, error) {
	var out []store.Domain
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.ListDomains(ctx, tenantID)
		return err
	})
	return out, err
}

// GetDomain returns one of a tenant's domains.
func (s *Service) GetDomain(ctx context.Context, tenantID, name string) (store.Domain, error) {
	var out store.Domain
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.GetDomain(ctx, tenantID, strings.ToLower(name))
		return translate(err, name)
	})
	return out, err
}

// AddDomain adds an unverified domain (POST /domains).
func (s *Service) AddDomain(ctx context.Context, tenantID string, body Doc) (store.Domain, error) {
	name, _ := body["id"].(string)
	for k := range body {
		if k != "id" && !strings.HasPrefix(k, "@odata.") {
			return store.Domain{}, usererr.New(usererr.Invalid, "Property '%s' cannot be set when adding a domain.", k)
		}
	}
	name = strings.ToLower(name)
	if err := CheckDomainName(name); err != nil {
		return store.Domain{}, err
	}
	if strings.HasSuffix(name, "."+s.initialSuffix) || name == s.initialSuffix {
		return store.Domain{}, usererr.New(usererr.Invalid, "Domains under '%s' are reserved for initial domains.", s.initialSuffix)
	}
	d := store.Domain{Name: name, TenantID: tenantID, CreatedAt: s.now().UTC()}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		err := tx.AddDomain(ctx, d)
		if errors.Is(err, store.ErrConflict) {
			return usererr.Taken("id")
		}
		return err
	})
	return d, err
}

// VerifyDomain checks the domain's TXT record and marks it verified
// (POST /domains/{id}/verify).
func (s *Service) VerifyDomain(ctx context.Context, tenantID, name string, dns TXTResolver) (store.Domain, error) {
	d, err := s.GetDomain(ctx, tenantID, name)
	if err != nil || d.Verified {
		return d, err
	}
	want := VerificationRecord(tenantID, d.Name)
	records, err := dns.LookupTXT(ctx, d.Name)
	found := false
	for _, r := range records {
		found = found || r == want
	}
	if err != nil || !found {
		return store.Domain{}, usererr.New(usererr.Invalid, "Domain verification failed: add a TXT record '%s' to %s and try again.", want, d.Name)
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		cur, err := tx.GetDomain(ctx, tenantID, d.Name)
		if err != nil {
			return translate(err, name)
		}
		cur.Verified = true
		d = cur
		return tx.UpdateDomain(ctx, cur)
	})
	return d, err
}

// UpdateDomain applies PATCH /domains/{id}; only isDefault may change, and
// only to make a verified domain the default.
func (s *Service) UpdateDomain(ctx context.Context, tenantID, name string, body Doc) error {
	for k, v := range body {
		if k != "isDefault" || v != true {
			return usererr.New(usererr.Invalid, "Only 'isDefault': true can be set on a domain.")
		}
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		doms, err := tx.ListDomains(ctx, tenantID)
		if err != nil {
			return err
		}
		var target *store.Domain
		for i := range doms {
			if doms[i].Name == strings.ToLower(name) {
				target = &doms[i]
			}
		}
		if target == nil {
			return notFound(name)
		}
		if !target.Verified {
			return usererr.New(usererr.Invalid, "Only a verified domain can be the default domain.")
		}
		for _, d := range doms {
			want := d.Name == target.Name
			if d.Default != want {
				d.Default = want
				if err := tx.UpdateDomain(ctx, d); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// DeleteDomain removes a domain that is neither initial nor default and that no
// user principal name uses.
func (s *Service) DeleteDomain(ctx context.Context, tenantID, name string) error {
	name = strings.ToLower(name)
	return s.st.Update(ctx, func(tx store.Tx) error {
		d, err := tx.GetDomain(ctx, tenantID, name)
		if err != nil {
			return translate(err, name)
		}
		if d.Initial || d.Default {
			return usererr.New(usererr.Invalid, "The initial domain and the default domain cannot be deleted.")
		}
		n, err := tx.CountObjects(ctx, tenantID, KindUser, userSpec.schema, upnEndsWith("@"+name))
		if err != nil {
			return err
		}
		if n > 0 {
			return usererr.New(usererr.Invalid, "The domain '%s' is in use by %d user principal names; change them first.", name, n)
		}
		return tx.DeleteDomain(ctx, tenantID, name)
	})
}
