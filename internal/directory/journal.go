package directory

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// auditedStore is the store as the directory's writes see it: every Update
// hands fn a journal over the real transaction, which turns the directory
// writes made through it (objects, links, credentials, domains) into audit
// records and appends them before the transaction ends. A change and its
// record commit together or not at all, and a write added to the directory
// later is audited without being told to.
type auditedStore struct {
	store.Store
	s *Service
}

func (a auditedStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		j := &journal{Tx: tx, s: a.s}
		if err := fn(j); err != nil {
			return err
		}
		return j.commit(ctx)
	})
	// Other nodes notice a write within headFreshness; this one at once.
	a.s.authCache.forgetHeads()
	return err
}

// Operations of journal entries, as Graph's operationType names them.
const (
	opAdd        = "Add"
	opUpdate     = "Update"
	opDelete     = "Delete"
	opRestore    = "Restore"
	opHardDelete = "HardDelete"
	opAddLink    = "AddLink"
	opRemoveLink = "RemoveLink"
)

// entry is one audited change: what changed, how, and from what to what.
type entry struct {
	tenantID string
	kind     string // object kind, or kindDomain
	op       string
	id       string
	before   Doc // nil unless the object existed before this transaction
	after    Doc // nil once deleted
	// secrets names credential properties written (their values never show).
	secrets []string
	// For links: the relationship and the link's source.
	rel    string
	source Object
	// explicit is an activity named by the directory code (see note).
	explicit *audit.DirectoryAudit
}

const kindDomain = "domain"

// journal is a store.Tx that records the directory writes made through it.
type journal struct {
	store.Tx
	s       *Service
	entries []*entry
	// seen holds the objects read or written in this transaction, so the
	// "before" of a change the directory read first is not read again.
	seen map[string]store.Object
}

func seenKey(tenantID, kind, id string) string { return tenantID + "\x00" + kind + "\x00" + id }

func (j *journal) remember(o store.Object, err error) (store.Object, error) {
	if err == nil {
		if j.seen == nil {
			j.seen = map[string]store.Object{}
		}
		j.seen[seenKey(o.TenantID, o.Kind, o.ID)] = o
	}
	return o, err
}

func (j *journal) GetObject(ctx context.Context, tenantID, kind, id string) (store.Object, error) {
	return j.remember(j.Tx.GetObject(ctx, tenantID, kind, id))
}

func (j *journal) GetObjectByUPN(ctx context.Context, tenantID, kind, upn string) (store.Object, error) {
	return j.remember(j.Tx.GetObjectByUPN(ctx, tenantID, kind, upn))
}

func (j *journal) GetObjectByAppID(ctx context.Context, tenantID, kind, appID string) (store.Object, error) {
	return j.remember(j.Tx.GetObjectByAppID(ctx, tenantID, kind, appID))
}

// find is findAny through this transaction's own reads first: the objects
// a change names were usually just read by the directory code making it.
func (j *journal) find(ctx context.Context, tenantID, id string, kinds []string) (Object, error) {
	for _, k := range kinds {
		if o, ok := j.seen[seenKey(tenantID, k, id)]; ok {
			return toObject(o)
		}
	}
	return j.s.findAny(ctx, j, tenantID, id, kinds)
}

// stored is the object as it stands before a change expecting version:
// as this transaction saw it when it saw that version (one version, one
// content), else read now. A change that expects no version (0) reads.
func (j *journal) stored(ctx context.Context, tenantID, kind, id string, version int64) (store.Object, error) {
	if o, ok := j.seen[seenKey(tenantID, kind, id)]; ok && version != 0 && o.Version == version {
		return o, nil
	}
	o, err := j.Tx.GetObject(ctx, tenantID, kind, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Object{}, err
	}
	return o, nil
}

// pending finds the live entry of an object written earlier in this
// transaction, so that a create followed by updates is one "Add" record.
func (j *journal) pending(tenantID, id string) *entry {
	for i := len(j.entries) - 1; i >= 0; i-- {
		e := j.entries[i]
		if e.tenantID == tenantID && e.id == id && e.rel == "" && e.explicit == nil {
			if e.op == opAdd || e.op == opUpdate || e.op == opRestore {
				return e
			}
			return nil
		}
	}
	return nil
}

func (j *journal) add(e *entry) { j.entries = append(j.entries, e) }

func docOf(o store.Object) Doc {
	d, err := decodeDoc(o.Data)
	if err != nil {
		return Doc{}
	}
	return d
}

func (j *journal) CreateObject(ctx context.Context, o *store.Object) error {
	if err := j.Tx.CreateObject(ctx, o); err != nil {
		return err
	}
	j.remember(*o, nil)
	j.add(&entry{tenantID: o.TenantID, kind: o.Kind, op: opAdd, id: o.ID, after: docOf(*o)})
	return nil
}

func (j *journal) UpdateObject(ctx context.Context, o *store.Object) error {
	e := j.pending(o.TenantID, o.ID)
	var before Doc
	if e == nil {
		cur, err := j.stored(ctx, o.TenantID, o.Kind, o.ID, o.Version)
		if err != nil {
			return err
		}
		before = docOf(cur)
	}
	if err := j.Tx.UpdateObject(ctx, o); err != nil {
		return err
	}
	j.remember(*o, nil)
	if e == nil {
		e = &entry{tenantID: o.TenantID, kind: o.Kind, op: opUpdate, id: o.ID, before: before}
		j.add(e)
	}
	e.after = docOf(*o)
	return nil
}

func (j *journal) DeleteObject(ctx context.Context, tenantID, kind, id string, version int64) error {
	cur, err := j.stored(ctx, tenantID, kind, id, version)
	if err != nil {
		return err
	}
	if err := j.Tx.DeleteObject(ctx, tenantID, kind, id, version); err != nil {
		return err
	}
	delete(j.seen, seenKey(tenantID, kind, id))
	j.add(&entry{tenantID: tenantID, kind: kind, op: opDelete, id: id, before: docOf(cur)})
	return nil
}

func (j *journal) RestoreObject(ctx context.Context, tenantID, kind, id string) (store.Object, error) {
	o, err := j.Tx.RestoreObject(ctx, tenantID, kind, id)
	if err == nil {
		j.add(&entry{tenantID: tenantID, kind: kind, op: opRestore, id: id, after: docOf(o)})
	}
	return o, err
}

func (j *journal) PurgeObject(ctx context.Context, tenantID, kind, id string) error {
	cur, err := j.Tx.GetDeletedObject(ctx, tenantID, kind, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := j.Tx.PurgeObject(ctx, tenantID, kind, id); err != nil {
		return err
	}
	j.add(&entry{tenantID: tenantID, kind: kind, op: opHardDelete, id: id, before: docOf(cur)})
	return nil
}

func (j *journal) link(ctx context.Context, tenantID string, l store.Link, op string, write func() error) error {
	if err := write(); err != nil {
		return err
	}
	target, err := j.find(ctx, tenantID, l.TargetID, []string{KindUser, KindGroup, KindServicePrincipal, KindApplication})
	switch {
	case err != nil && op == opRemoveLink && usererr.IsKind(err, usererr.NotFound):
		target = Object{ID: l.TargetID} // gone with its link; the id still tells
	case err != nil:
		return err
	}
	source, err := j.find(ctx, tenantID, l.SourceID, []string{KindGroup, KindApplication, KindServicePrincipal, KindUser})
	if err != nil {
		return err
	}
	j.add(&entry{tenantID: tenantID, kind: target.Kind, op: op, id: target.ID, after: target.Doc, rel: l.Rel, source: source})
	return nil
}

func (j *journal) AddLink(ctx context.Context, tenantID string, l store.Link) error {
	return j.link(ctx, tenantID, l, opAddLink, func() error { return j.Tx.AddLink(ctx, tenantID, l) })
}

func (j *journal) RemoveLink(ctx context.Context, tenantID string, l store.Link) error {
	return j.link(ctx, tenantID, l, opRemoveLink, func() error { return j.Tx.RemoveLink(ctx, tenantID, l) })
}

// credential notes a credential written for an object: on the object's
// entry in this transaction, or on a new "Update" entry of its own.
func (j *journal) credential(ctx context.Context, tenantID, objectID, typ string) error {
	name := "passwordCredentials"
	if typ == store.CredPassword {
		name = "passwordProfile"
	}
	e := j.pending(tenantID, objectID)
	if e == nil {
		kinds := []string{KindUser, KindApplication, KindServicePrincipal}
		o, err := j.find(ctx, tenantID, objectID, kinds)
		if err != nil {
			return err
		}
		e = &entry{tenantID: tenantID, kind: o.Kind, op: opUpdate, id: o.ID, before: o.Doc, after: o.Doc}
		j.add(e)
	}
	if !slices.Contains(e.secrets, name) {
		e.secrets = append(e.secrets, name)
	}
	return nil
}

func (j *journal) PutCredential(ctx context.Context, c store.Credential) error {
	if err := j.Tx.PutCredential(ctx, c); err != nil {
		return err
	}
	return j.credential(ctx, c.TenantID, c.ObjectID, c.Type)
}

func (j *journal) DeleteCredential(ctx context.Context, tenantID, objectID, keyID string) error {
	if err := j.Tx.DeleteCredential(ctx, tenantID, objectID, keyID); err != nil {
		return err
	}
	typ := store.CredClientSecret
	if keyID == CredKeyPassword {
		typ = store.CredPassword
	}
	return j.credential(ctx, tenantID, objectID, typ)
}

func domainDoc(d store.Domain) Doc {
	return Doc{"id": d.Name, "isVerified": d.Verified, "isDefault": d.Default, "isInitial": d.Initial}
}

func (j *journal) AddDomain(ctx context.Context, d store.Domain) error {
	if err := j.Tx.AddDomain(ctx, d); err != nil {
		return err
	}
	j.add(&entry{tenantID: d.TenantID, kind: kindDomain, op: opAdd, id: d.Name, after: domainDoc(d)})
	return nil
}

func (j *journal) UpdateDomain(ctx context.Context, d store.Domain) error {
	cur, err := j.Tx.GetDomain(ctx, d.TenantID, d.Name)
	if err != nil {
		return err
	}
	if err := j.Tx.UpdateDomain(ctx, d); err != nil {
		return err
	}
	j.add(&entry{tenantID: d.TenantID, kind: kindDomain, op: opUpdate, id: cur.Name, before: domainDoc(cur), after: domainDoc(d)})
	return nil
}

func (j *journal) DeleteDomain(ctx context.Context, tenantID, name string) error {
	cur, err := j.Tx.GetDomain(ctx, tenantID, name)
	if err != nil {
		return err
	}
	if err := j.Tx.DeleteDomain(ctx, tenantID, name); err != nil {
		return err
	}
	j.add(&entry{tenantID: tenantID, kind: kindDomain, op: opDelete, id: cur.Name, before: domainDoc(cur)})
	return nil
}

// note records an activity the directory names itself (such as "Consent
// to application"), in the transaction tx, when tx is a journal.
func note(tx store.Tx, tenantID string, a audit.DirectoryAudit) {
	if j, ok := tx.(*journal); ok {
		j.add(&entry{tenantID: tenantID, explicit: &a})
	}
}

// commit appends the transaction's audit records, all with one
// correlation id and the caller as initiator.
func (j *journal) commit(ctx context.Context) error {
	if len(j.entries) == 0 {
		return nil
	}
	who, err := j.initiator(ctx)
	if err != nil {
		return err
	}
	correlation := j.s.newID()
	now := j.s.now().UTC()
	recs := make([]store.AuditRecord, 0, len(j.entries))
	for _, e := range j.entries {
		a := describeEntry(e, who)
		a.ID, a.ActivityDateTime, a.CorrelationID, a.InitiatedBy = j.s.newID(), now, correlation, who
		if a.Result == "" {
			// Only a noted activity may record a failure (an email that bounced).
			a.Result = "success"
		}
		if a.LoggedByService == "" {
			// Activities noted by other services ("Invited Users") name their own.
			a.LoggedByService = audit.LoggedByService
		}
		rec, err := a.Record(e.tenantID)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	return j.Tx.AppendAudit(ctx, recs...)
}

// initiator names who made the changes: the API's caller, else the system.
func (j *journal) initiator(ctx context.Context) (audit.Initiator, error) {
	c, ok := caller.From(ctx)
	if !ok {
		c, ok = ctx.Value(actorKey{}).(caller.Caller)
	}
	if !ok {
		return audit.Initiator{App: &audit.AppIdentity{DisplayName: audit.SystemName}}, nil
	}
	kind := KindUser
	if c.AppOnly {
		kind = KindServicePrincipal
	}
	// The caller was usually read by the change itself (an inviter, an
	// owner): its name is the same for the record.
	o, ok := j.seen[seenKey(c.TenantID, kind, c.ObjectID)]
	if !ok {
		var err error
		if o, err = j.Tx.GetObject(ctx, c.TenantID, kind, c.ObjectID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return audit.Initiator{}, err
		}
	}
	d := docOf(o)
	if c.AppOnly {
		return audit.Initiator{App: &audit.AppIdentity{AppID: c.AppID, DisplayName: str(d, "displayName"), ServicePrincipalID: c.ObjectID,
			ServicePrincipalName: str(d, "displayName")}}, nil
	}
	upn := c.UserPrincipalName
	if upn == "" {
		upn = str(d, "userPrincipalName")
	}
	return audit.Initiator{User: &audit.UserIdentity{ID: c.ObjectID, DisplayName: str(d, "displayName"), UserPrincipalName: upn, IPAddress: c.IPAddress}}, nil
}

// withheld are properties whose values an audit record names but never
// shows, beside the kinds' write-only properties.
var withheld = []string{"passwordProfile", "passwordCredentials", "keyCredentials"}

func secretProperty(kind, name string) bool {
	if slices.Contains(withheld, name) {
		return true
	}
	spec, ok := specs[kind]
	return ok && spec.props[name].writeOnly
}

// maxAuditValue bounds one old or new value in a record.
const maxAuditValue = 1024

func auditValue(v any) *string {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	s := string(b)
	if len(s) > maxAuditValue {
		s = s[:maxAuditValue] + "…"
	}
	return &s
}

// modified lists the properties that differ between before and after,
// by name; secret ones without their values.
func modified(kind string, before, after Doc, secrets []string) []audit.ModifiedProperty {
	names := map[string]bool{}
	for k := range before {
		names[k] = true
	}
	for k := range after {
		names[k] = true
	}
	for _, s := range secrets {
		names[s] = true
	}
	var out []audit.ModifiedProperty
	for _, n := range slices.Sorted(maps.Keys(names)) {
		oldV, newV := auditValue(before[n]), auditValue(after[n])
		changed := (oldV == nil) != (newV == nil) || (oldV != nil && *oldV != *newV) || slices.Contains(secrets, n)
		if !changed {
			continue
		}
		if secretProperty(kind, n) {
			oldV, newV = nil, nil
		}
		out = append(out, audit.ModifiedProperty{DisplayName: n, OldValue: oldV, NewValue: newV})
	}
	return out
}

type actorKey struct{}

// actingUser makes a signed-in user the initiator, in the audit log, of
// what the pages do on their behalf (a first-sign-in password change,
// consent). It is no caller: privilege rules still see the system's own
// work, which the pages' rules have already admitted.
func actingUser(ctx context.Context, tenantID, userID string) context.Context {
	return context.WithValue(ctx, actorKey{}, caller.Caller{TenantID: tenantID, ObjectID: userID})
}

// consentRecord is Entra's "Consent to application" record for a grant.
func consentRecord(sp Object, consentType, scope string) audit.DirectoryAudit {
	return audit.DirectoryAudit{
		ActivityDisplayName: "Consent to application", Category: audit.CategoryApplicationManagement, OperationType: "Assign",
		TargetResources: []audit.TargetResource{{ID: sp.ID, DisplayName: str(sp.Doc, "displayName"), Type: "ServicePrincipal",
			ModifiedProperties: []audit.ModifiedProperty{
				{DisplayName: "ConsentType", NewValue: auditValue(consentType)},
				{DisplayName: "Permissions", NewValue: auditValue(scope)},
			}}},
	}
}
