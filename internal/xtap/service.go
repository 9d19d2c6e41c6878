package xtap

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// Kinds of the directory objects a tenant's cross-tenant access settings
// are kept as: the container and the default (one each), partner
// configurations and their identity synchronization policies (one per
// partner). Object ids are unique in a tenant across kinds, so each kind's
// ids are its own (see the ID functions below).
const (
	KindPolicy       = "crossTenantAccessPolicy"
	KindDefault      = "crossTenantAccessPolicyConfigurationDefault"
	KindPartner      = "crossTenantAccessPolicyConfigurationPartner"
	KindIdentitySync = "crossTenantIdentitySyncPolicyPartner"
)

// Service keeps each tenant's cross-tenant access settings in the
// directory, every change one audited transaction, and decides
// cross-tenant access from what is stored at the moment of the decision:
// a change takes effect on every node for the next sign-in.
type Service struct {
	dir *directory.Service
}

// NewService returns the settings kept in dir.
func NewService(dir *directory.Service) *Service { return &Service{dir: dir} }

// decode reads a stored document into v.
func decode(d directory.Doc, v any) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// encode is v as a document to store, under id.
func encode(v any, id string) (directory.Doc, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var d directory.Doc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	d["id"] = id
	return d, nil
}

func none() directory.Doc { return nil }

// Object ids of the settings.
const defaultID = "crossTenantAccessPolicyDefault"

func partnerObjectID(tenantID string) string { return "partner-" + strings.ToLower(tenantID) }
func syncObjectID(tenantID string) string {
	return "identitySynchronization-" + strings.ToLower(tenantID)
}

// readPolicy reads the container, as the system's until changed.
func readPolicy(ctx context.Context, tx store.Tx, tenantID string) (Policy, directory.Object, error) {
	o, err := directory.ReadSingleton(ctx, tx, tenantID, KindPolicy, PolicyID, none)
	if err != nil || o.Version == 0 {
		return SystemPolicy(), o, err
	}
	p := SystemPolicy()
	err = decode(o.Doc, &p)
	p.ID, p.DisplayName = PolicyID, PolicyDisplayName
	return p, o, err
}

// readDefault reads the tenant's default configuration, the system's
// until changed.
func readDefault(ctx context.Context, tx store.Tx, tenantID string) (Default, directory.Object, error) {
	o, err := directory.ReadSingleton(ctx, tx, tenantID, KindDefault, defaultID, none)
	if err != nil || o.Version == 0 {
		d := SystemDefault()
		d.ID = tenantID
		return d, o, err
	}
	var d Default
	if err := decode(o.Doc, &d); err != nil {
		return Default{}, o, err
	}
	d.ID = tenantID
	return d.Normalized(), o, nil
}

// readPartner reads one partner configuration; found is false when the
// tenant has none for partnerID.
func readPartner(ctx context.Context, tx store.Tx, tenantID, partnerID string) (p Partner, o directory.Object, found bool, err error) {
	o, err = directory.ReadSingleton(ctx, tx, tenantID, KindPartner, partnerObjectID(partnerID), none)
	if err != nil || o.Version == 0 {
		return Partner{}, o, false, err
	}
	if err := decode(o.Doc, &p); err != nil {
		return Partner{}, o, false, err
	}
	return p, o, true, nil
}

func notFound(what, id string) error {
	return usererr.WithCode(usererr.NotFound, "Request_ResourceNotFound", "The %s '%s' does not exist.", what, id)
}

// view reads under the tenant's rule for reading policies.
func (s *Service) view(ctx context.Context, tenantID string, fn func(tx store.Tx) error) error {
	return s.dir.View(ctx, func(tx store.Tx) error {
		if err := directory.MayReadPolicies(ctx, tx, tenantID); err != nil {
			return err
		}
		return fn(tx)
	})
}

// update changes the tenant's settings under its lock, so that concurrent
// changes of one configuration apply one after the other.
func (s *Service) update(ctx context.Context, tenantID string, fn func(tx store.Tx) error) error {
	return s.dir.Update(ctx, func(tx store.Tx) error {
		if err := tx.LockTenant(ctx, tenantID); err != nil {
			return err
		}
		return fn(tx)
	})
}

// write stores v as the object cur was read as, audited under name.
func (s *Service) write(ctx context.Context, tx store.Tx, tenantID string, cur directory.Object, v any, name string) error {
	d, err := encode(v, cur.ID)
	if err != nil {
		return err
	}
	_, err = s.dir.WritePolicy(ctx, tx, tenantID, cur, d, name)
	return err
}

// Audit names of the settings, as Entra's audit log names its targets.
const (
	auditPolicy  = "CrossTenantAccessPolicy"
	auditDefault = "Default cross-tenant access settings"
)

func auditPartner(id string) string { return "Partner cross-tenant access settings " + id }

// Policy returns the tenant's crossTenantAccessPolicy.
func (s *Service) Policy(ctx context.Context, tenantID string) (Policy, error) {
	return viewSingleton(ctx, s, tenantID, readPolicy)
}

// viewSingleton reads a singleton under the rule for reading policies.
func viewSingleton[T any](ctx context.Context, s *Service, tenantID string, read func(context.Context, store.Tx, string) (T, directory.Object, error)) (T, error) {
	var v T
	err := s.view(ctx, tenantID, func(tx store.Tx) (err error) {
		v, _, err = read(ctx, tx, tenantID)
		return err
	})
	return v, err
}

// PatchPolicy applies a PATCH of the container (allowedCloudEndpoints).
func (s *Service) PatchPolicy(ctx context.Context, tenantID string, body []byte) error {
	return patchSingleton(ctx, s, tenantID, body, readPolicy, PatchPolicy, auditPolicy)
}

// patchSingleton applies a PATCH to the singleton read reads, and stores
// it if anything changed (the first change creates it).
func patchSingleton[T any](ctx context.Context, s *Service, tenantID string, body []byte,
	read func(context.Context, store.Tx, string) (T, directory.Object, error), apply func(T, []byte) (T, []string, error), name string) error {
	return s.update(ctx, tenantID, func(tx store.Tx) error {
		cur, o, err := read(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		next, changed, err := apply(cur, body)
		if err != nil || len(changed) == 0 {
			return err
		}
		return s.write(ctx, tx, tenantID, o, next, name)
	})
}

// Default returns the tenant's default configuration.
func (s *Service) Default(ctx context.Context, tenantID string) (Default, error) {
	return viewSingleton(ctx, s, tenantID, readDefault)
}

// PatchDefault applies a PATCH of the default configuration.
func (s *Service) PatchDefault(ctx context.Context, tenantID string, body []byte) error {
	return patchSingleton(ctx, s, tenantID, body, readDefault, PatchDefault, auditDefault)
}

// ResetDefault returns the default configuration to the system's
// (resetToSystemDefault).
func (s *Service) ResetDefault(ctx context.Context, tenantID string) error {
	return s.update(ctx, tenantID, func(tx store.Tx) error {
		_, o, err := readDefault(ctx, tx, tenantID)
		if err != nil || o.Version == 0 {
			return err
		}
		return s.dir.DeletePolicy(ctx, tx, tenantID, o, auditDefault)
	})
}

// Partners lists the tenant's partner configurations, ordered by tenant
// id; withSync expands each one's identity synchronization policy.
func (s *Service) Partners(ctx context.Context, tenantID string, withSync bool) ([]Partner, error) {
	var out []Partner
	err := s.view(ctx, tenantID, func(tx store.Tx) error {
		objs, err := directory.ReadObjects(ctx, tx, tenantID, KindPartner)
		if err != nil {
			return err
		}
		for _, o := range objs {
			var p Partner
			if err := decode(o.Doc, &p); err != nil {
				return err
			}
			if withSync {
				if p.IdentitySynchronization, _, err = readSync(ctx, tx, tenantID, p.TenantID); err != nil {
					return err
				}
			}
			out = append(out, p)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Partner) int { return strings.Compare(a.TenantID, b.TenantID) })
	return out, err
}

// Partner returns one partner configuration.
func (s *Service) Partner(ctx context.Context, tenantID, partnerID string, withSync bool) (Partner, error) {
	var p Partner
	err := s.view(ctx, tenantID, func(tx store.Tx) error {
		var found bool
		var err error
		if p, _, found, err = readPartner(ctx, tx, tenantID, partnerID); err != nil {
			return err
		}
		if !found {
			return notFound("partner configuration", partnerID)
		}
		if withSync {
			p.IdentitySynchronization, _, err = readSync(ctx, tx, tenantID, p.TenantID)
		}
		return err
	})
	return p, err
}

// CreatePartner adds a partner configuration (POST …/partners).
func (s *Service) CreatePartner(ctx context.Context, tenantID string, body []byte) (Partner, error) {
	p, err := ParsePartner(body)
	if err != nil {
		return Partner{}, err
	}
	if p.TenantID == tenantID {
		return Partner{}, usererr.New(usererr.Invalid, "A tenant cannot be its own partner: tenantId '%s' is this tenant.", p.TenantID)
	}
	err = s.update(ctx, tenantID, func(tx store.Tx) error {
		_, _, found, err := readPartner(ctx, tx, tenantID, p.TenantID)
		if err != nil {
			return err
		}
		if found {
			return usererr.WithCode(usererr.Conflict, "Request_MultipleObjectsWithSameKeyValue",
				"A partner configuration for tenant '%s' already exists; change it with PATCH.", p.TenantID)
		}
		return s.write(ctx, tx, tenantID, directory.Object{Kind: KindPartner, ID: partnerObjectID(p.TenantID)}, p, auditPartner(p.TenantID))
	})
	return p, err
}

// PatchPartner applies a PATCH of a partner configuration.
func (s *Service) PatchPartner(ctx context.Context, tenantID, partnerID string, body []byte) error {
	return s.update(ctx, tenantID, func(tx store.Tx) error {
		cur, o, found, err := readPartner(ctx, tx, tenantID, partnerID)
		if err != nil {
			return err
		}
		if !found {
			return notFound("partner configuration", partnerID)
		}
		next, changed, err := PatchPartner(cur, body)
		if err != nil || len(changed) == 0 {
			return err
		}
		return s.write(ctx, tx, tenantID, o, next, auditPartner(cur.TenantID))
	})
}

// DeletePartner removes a partner configuration, which Graph refuses while
// its identity synchronization policy exists.
func (s *Service) DeletePartner(ctx context.Context, tenantID, partnerID string) error {
	return s.update(ctx, tenantID, func(tx store.Tx) error {
		cur, o, found, err := readPartner(ctx, tx, tenantID, partnerID)
		if err != nil {
			return err
		}
		if !found {
			return notFound("partner configuration", partnerID)
		}
		if sync, _, err := readSync(ctx, tx, tenantID, cur.TenantID); err != nil || sync != nil {
			if err == nil {
				err = usererr.New(usererr.Invalid, "The partner configuration for '%s' has an identity synchronization policy; delete that first.", cur.TenantID)
			}
			return err
		}
		return s.dir.DeletePolicy(ctx, tx, tenantID, o, auditPartner(cur.TenantID))
	})
}

// readSync reads a partner's identity synchronization policy: nil (and the
// object it would be) when there is none.
func readSync(ctx context.Context, tx store.Tx, tenantID, partnerID string) (*IdentitySync, directory.Object, error) {
	o, err := directory.ReadSingleton(ctx, tx, tenantID, KindIdentitySync, syncObjectID(partnerID), none)
	if err != nil || o.Version == 0 {
		return nil, o, err
	}
	var is IdentitySync
	return &is, o, decode(o.Doc, &is)
}

// IdentitySync returns a partner's identity synchronization policy.
func (s *Service) IdentitySync(ctx context.Context, tenantID, partnerID string) (IdentitySync, error) {
	var out IdentitySync
	err := s.view(ctx, tenantID, func(tx store.Tx) error {
		is, _, err := readSync(ctx, tx, tenantID, partnerID)
		if err == nil && is == nil {
			err = notFound("identity synchronization policy of partner", partnerID)
		}
		if err == nil {
			out = *is
		}
		return err
	})
	return out, err
}

// CreateIdentitySync creates a partner's identity synchronization policy
// (PUT, as Graph creates it): the partner configuration must exist, and a
// second PUT is a conflict.
func (s *Service) CreateIdentitySync(ctx context.Context, tenantID, partnerID string, body []byte) error {
	return s.update(ctx, tenantID, func(tx store.Tx) error {
		p, _, found, err := readPartner(ctx, tx, tenantID, partnerID)
		if err != nil {
			return err
		}
		if !found {
			return notFound("partner configuration", partnerID)
		}
		is, err := ParseIdentitySync(p.TenantID, body)
		if err != nil {
			return err
		}
		if cur, _, err := readSync(ctx, tx, tenantID, p.TenantID); err != nil || cur != nil {
			if err == nil {
				err = usererr.WithCode(usererr.Conflict, "Request_MultipleObjectsWithSameKeyValue",
					"The identity synchronization policy of partner '%s' already exists; change it with PATCH.", p.TenantID)
			}
			return err
		}
		return s.write(ctx, tx, tenantID, directory.Object{Kind: KindIdentitySync, ID: syncObjectID(p.TenantID)}, is, auditPartner(p.TenantID)+" identity synchronization")
	})
}

// PatchIdentitySync changes a partner's identity synchronization policy.
func (s *Service) PatchIdentitySync(ctx context.Context, tenantID, partnerID string, body []byte) error {
	return s.update(ctx, tenantID, func(tx store.Tx) error {
		cur, o, err := readSync(ctx, tx, tenantID, partnerID)
		if err != nil {
			return err
		}
		if cur == nil {
			// Graph's own code for a PATCH of a policy never PUT.
			return usererr.WithCode(usererr.NotFound, "Directory_ObjectNotFound", "The identity synchronization policy of partner '%s' does not exist; create it with PUT.", partnerID)
		}
		next, changed, err := PatchIdentitySync(*cur, body)
		if err != nil || len(changed) == 0 {
			return err
		}
		return s.write(ctx, tx, tenantID, o, next, auditPartner(cur.TenantID)+" identity synchronization")
	})
}

// DeleteIdentitySync deletes a partner's identity synchronization policy.
func (s *Service) DeleteIdentitySync(ctx context.Context, tenantID, partnerID string) error {
	return s.update(ctx, tenantID, func(tx store.Tx) error {
		cur, o, err := readSync(ctx, tx, tenantID, partnerID)
		if err != nil {
			return err
		}
		if cur == nil {
			return notFound("identity synchronization policy of partner", partnerID)
		}
		return s.dir.DeletePolicy(ctx, tx, tenantID, o, auditPartner(cur.TenantID)+" identity synchronization")
	})
}

// settingsToward compiles the settings tenantID applies to otherID, as
// stored now: the partner configuration over the default.
func settingsToward(ctx context.Context, tx store.Tx, tenantID, otherID string) (*CompiledSettings, error) {
	c, err := settingsAmong(ctx, tx, [][2]string{{tenantID, otherID}})
	if err != nil {
		return nil, err
	}
	return c[0], nil
}

// settingsAmong compiles, from one read, the settings each pair's first
// tenant applies to its second: a decision reads both sides at once.
func settingsAmong(ctx context.Context, tx store.Tx, pairs [][2]string) ([]*CompiledSettings, error) {
	keys := make([]store.ObjectKey, 0, 2*len(pairs))
	for _, p := range pairs {
		keys = append(keys, store.ObjectKey{TenantID: p[0], Kind: KindDefault, ID: defaultID},
			store.ObjectKey{TenantID: p[0], Kind: KindPartner, ID: partnerObjectID(p[1])})
	}
	objs, err := tx.GetObjects(ctx, keys)
	if err != nil {
		return nil, err
	}
	stored := func(k store.ObjectKey) []byte {
		for _, o := range objs {
			if o.TenantID == k.TenantID && o.Kind == k.Kind && o.ID == k.ID {
				return o.Data
			}
		}
		return nil
	}
	out := make([]*CompiledSettings, len(pairs))
	for i, p := range pairs {
		def := SystemDefault()
		if raw := stored(keys[2*i]); raw != nil {
			if err := json.Unmarshal(raw, &def); err != nil {
				return nil, err
			}
			def = def.Normalized()
		}
		def.ID = p[0]
		raw := stored(keys[2*i+1])
		if raw == nil {
			out[i] = CompileSettings(Effective(def, nil))
			continue
		}
		var partner Partner
		if err := json.Unmarshal(raw, &partner); err != nil {
			return nil, err
		}
		out[i] = CompileSettings(Effective(def, &partner))
	}
	return out, nil
}

// Access is one cross-tenant access to decide: a user of the home tenant
// into the resource tenant. HomeTenantID is empty for a user whose home is
// no tenant of this deployment, to whom the settings do not apply.
type Access struct {
	Type                     AccessType
	ResourceTenantID         string
	HomeTenantID, HomeUserID string
	AppID                    string
	// HomeClaims are what the home token proved, Required what the
	// resource tenant requires of the sign-in.
	HomeClaims, Required Claims
	Invitation           *InvitationDecision
	// Named: the reasons name the tenants (two more reads), for a
	// decision someone reads (the what-if); ids serve the logs.
	Named bool
}

// Decide decides an access from both tenants' settings as stored now. It
// is what enforcement and the what-if both call.
func (s *Service) Decide(ctx context.Context, a Access) (Result, error) {
	if a.HomeTenantID == "" {
		return DecideIn(ctx, nil, a)
	}
	var r Result
	err := s.dir.View(ctx, func(tx store.Tx) error {
		var err error
		r, err = DecideIn(ctx, tx, a)
		return err
	})
	return r, err
}

// DecideIn decides an access in tx, reading the home account's groups
// through the directory's one cross-tenant lookup. tx may be nil when the
// home is no tenant here.
func DecideIn(ctx context.Context, tx store.Tx, a Access) (Result, error) {
	if a.HomeTenantID == "" {
		return DecideForHome(ctx, tx, a, directory.HomeAccount{})
	}
	home, err := directory.LookUpHomeAccount(ctx, tx, a.HomeTenantID, a.HomeUserID)
	if err != nil {
		return Result{}, err
	}
	return DecideForHome(ctx, tx, a, home)
}

// DecideForHome decides an access in tx for a home account its caller
// already looked up (a refresh reads it to check it is still active).
func DecideForHome(ctx context.Context, tx store.Tx, a Access, home directory.HomeAccount) (Result, error) {
	in := Input{AccessType: a.Type, ResourceTenantID: a.ResourceTenantID, AppID: a.AppID, HomeClaims: a.HomeClaims, Required: a.Required, Invitation: a.Invitation}
	if a.HomeTenantID == "" {
		return Evaluate(in), nil
	}
	both, err := settingsAmong(ctx, tx, [][2]string{{a.HomeTenantID, a.ResourceTenantID}, {a.ResourceTenantID, a.HomeTenantID}})
	if err != nil {
		return Result{}, err
	}
	in.HomeOutbound, in.ResourceInbound = both[0], both[1]
	in.HomeTenantID, in.User = a.HomeTenantID, User{ID: a.HomeUserID, Groups: home.Groups}
	if a.Named {
		in.HomeTenantName, in.ResourceTenantName = tenantName(ctx, tx, a.HomeTenantID), tenantName(ctx, tx, a.ResourceTenantID)
	}
	return Evaluate(in), nil
}

// tenantName names a tenant in the decision's reasons; its id does when
// the name cannot be read.
func tenantName(ctx context.Context, tx store.Tx, id string) string {
	t, err := tx.GetTenant(ctx, id)
	if err != nil {
		return ""
	}
	return t.DisplayName
}

// MFAAccepted reports whether the resource tenant accepts MFA done in the
// home tenant (inboundTrust.isMfaAccepted, partner or default).
func (s *Service) MFAAccepted(ctx context.Context, resourceTenantID, homeTenantID string) (bool, error) {
	var ok bool
	err := s.dir.View(ctx, func(tx store.Tx) error {
		in, err := settingsToward(ctx, tx, resourceTenantID, homeTenantID)
		if err != nil {
			return err
		}
		ok = TrustedClaims(in, Claims{MFA: true}).MFA
		return nil
	})
	return ok, err
}

// Reason is the deciding layer's reason, for logs and error descriptions;
// it explains the decision (Layers), so it costs what a what-if does.
func (r Result) Reason() string {
	for _, l := range r.Layers() {
		if l.Layer == r.DecidingLayer {
			return l.Reason
		}
	}
	return ""
}

// Description is the AADSTS error text of a refusal, as Entra words its
// codes.
func (r Result) Description() string {
	switch r.ErrorCode {
	case ErrOutboundPolicy:
		return "AADSTS500212: NotAllowedByOutboundPolicyTenant: " + r.Reason()
	case ErrInboundPolicy:
		return "AADSTS500213: NotAllowedByInboundPolicyTenant: " + r.Reason()
	}
	return r.Reason()
}
