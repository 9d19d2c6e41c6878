package mfa

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// The security defaults policy is a directory singleton of this package's
// kind, kept and audited as the directory keeps its policies.
const (
	KindSecurityDefaults = "identitySecurityDefaultsEnforcementPolicy"
	// SecurityDefaultsID is Graph's id of the policy, the same in every tenant.
	SecurityDefaultsID = "00000000-0000-0000-0000-000000000005"
	// securityDefaultsName names the policy in the audit log.
	securityDefaultsName = "Security Defaults"
	securityResource     = "IdentitySecurityDefaultsEnforcementPolicy"
)

// defaultSecurityDefaults is Graph's policy, off: Gatehouse tenants start
// with password sign-ins, and turning MFA on for everyone is the
// administrator's decision (Entra enables it for new tenants by default;
// see docs/architecture.md).
func defaultSecurityDefaults() directory.Doc {
	return directory.Doc{
		"id": SecurityDefaultsID, "displayName": securityDefaultsName,
		"description": "Security defaults is a set of basic identity security mechanisms recommended by Microsoft. When enabled, these recommendations will be automatically enforced in your organization. Administrators and users will be better protected from common identity related attacks.",
		"isEnabled":   false,
	}
}

// SecurityDefaults returns the tenant's policy for Graph, as the caller
// may read policies; it always exists.
func (s *Service) SecurityDefaults(ctx context.Context, tenantID string) (directory.Doc, error) {
	var out directory.Doc
	err := s.dir.View(ctx, func(tx store.Tx) error {
		if err := directory.MayReadPolicies(ctx, tx, tenantID); err != nil {
			return err
		}
		o, err := directory.ReadSingleton(ctx, tx, tenantID, KindSecurityDefaults, SecurityDefaultsID, defaultSecurityDefaults)
		out = presentSecurityDefaults(o)
		return err
	})
	return out, err
}

func presentSecurityDefaults(o directory.Object) directory.Doc {
	d := defaultSecurityDefaults()
	for k, v := range o.Doc {
		d[k] = v
	}
	d["@odata.type"] = "#microsoft.graph.identitySecurityDefaultsEnforcementPolicy"
	return d
}

// UpdateSecurityDefaults applies a PATCH: isEnabled is all that may
// change. The change is audited "Update policy" (the first, "Add policy").
func (s *Service) UpdateSecurityDefaults(ctx context.Context, tenantID string, body directory.Doc) error {
	var enabled *bool
	for name, v := range body {
		switch {
		case name == "@odata.type":
			if t, _ := v.(string); strings.TrimPrefix(t, "#") != "microsoft.graph.identitySecurityDefaultsEnforcementPolicy" {
				return usererr.New(usererr.Invalid, "A type named '%v' could not be resolved; this resource is 'microsoft.graph.identitySecurityDefaultsEnforcementPolicy'.", v)
			}
		case strings.EqualFold(name, "isEnabled"):
			b, ok := v.(bool)
			if !ok {
				return usererr.New(usererr.Invalid, "Invalid value specified for property 'isEnabled' of resource '%s'.", securityResource)
			}
			enabled = &b
		case slices.Contains([]string{"id", "displayName", "description", "deletedDateTime"}, name):
			return usererr.New(usererr.Invalid, "Property '%s' is read-only and cannot be set.", name)
		default:
			return usererr.New(usererr.Invalid, "Property '%s' does not exist as a declared property or extension property of resource '%s' or cannot be written.", name, securityResource)
		}
	}
	if enabled == nil {
		return nil
	}
	return s.dir.Update(ctx, func(tx store.Tx) error {
		// Held to commit, so two first changes cannot both create it.
		if err := tx.LockTenant(ctx, tenantID); err != nil {
			return err
		}
		cur, err := directory.ReadSingleton(ctx, tx, tenantID, KindSecurityDefaults, SecurityDefaultsID, defaultSecurityDefaults)
		if err != nil {
			return err
		}
		next := directory.Doc{}
		for k, v := range cur.Doc {
			next[k] = v
		}
		next["isEnabled"] = *enabled
		_, err = s.dir.WritePolicy(ctx, tx, tenantID, cur, next, securityDefaultsName)
		return err
	})
}

// Policy is the tenant's requirement as sign-ins read it: no caller is
// asked about, a sign-in is the system's own.
func (s *Service) Policy(ctx context.Context, tenantID string) (Policy, error) {
	var p Policy
	err := s.dir.View(ctx, func(tx store.Tx) (err error) {
		p, err = PolicyIn(ctx, tx, tenantID)
		return err
	})
	return p, err
}

// PolicyIn reads the tenant's requirement in tx.
func PolicyIn(ctx context.Context, tx store.Tx, tenantID string) (Policy, error) {
	o, err := directory.ReadSingleton(ctx, tx, tenantID, KindSecurityDefaults, SecurityDefaultsID, defaultSecurityDefaults)
	return Policy{SecurityDefaults: o.Doc["isEnabled"] == true}, err
}
