// Package directory owns a tenant's directory: tenants, their domains and
// organization, users, groups and their members, applications and service
// principals with their credentials and app role assignments, and directory
// role assignments. It validates Graph-shaped documents, derives the keys the
// store indexes, and performs every multi-step write in one store
// transaction, which also appends the write's directory audit records.
package directory

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/passpolicy"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// Object kinds as stored.
const (
	KindUser             = "user"
	KindGroup            = "group"
	KindApplication      = "application"
	KindServicePrincipal = "servicePrincipal"
	KindOrganization     = "organization"
	KindAppRoleAssign    = "appRoleAssignment"
	KindRoleAssignment   = "roleAssignment"
)

// Service is the directory's domain service.
type Service struct {
	// st journals every Update for the audit log (see auditedStore); raw
	// is the store itself, for what is no directory change.
	st        store.Store
	raw       store.Store
	now       func() time.Time
	newID     func() string
	passwords *secrets.PasswordHasher
	// initialSuffix is appended to a tenant's label to form its initial
	// domain, the one every tenant has and cannot remove.
	initialSuffix string
	authCache     authCache
	knownTenants  tenantSet
	blocklist     *passpolicy.Blocklist
	publicURL     string
}

// Config injects the clock, identifiers and password hashing.
type Config struct {
	Now                 func() time.Time
	NewID               func() string
	Passwords           *secrets.PasswordHasher
	InitialDomainSuffix string // default "gatehouse.test"
	// PasswordBlocklist refuses common and breached passwords; the built-in
	// list when nil.
	PasswordBlocklist *passpolicy.Blocklist
	// PublicURL is the deployment's address: first-party applications
	// that sign in here are sent back to it.
	PublicURL string
}

// New returns a directory service over st.
func New(st store.Store, cfg Config) (*Service, error) {
	s := &Service{raw: st, now: cfg.Now, newID: cfg.NewID, passwords: cfg.Passwords, initialSuffix: cfg.InitialDomainSuffix, blocklist: cfg.PasswordBlocklist, publicURL: cfg.PublicURL}
	s.st = auditedStore{Store: st, s: s}
	if s.blocklist == nil {
		s.blocklist = passpolicy.NewBlocklist()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = func() string { return uuid.NewString() }
	}
	if s.passwords == nil {
		var err error
		if s.passwords, err = secrets.NewPasswordHasher(secrets.DefaultParams, 2); err != nil {
			return nil, err
		}
	}
	if s.initialSuffix == "" {
		s.initialSuffix = "gatehouse.test"
	}
	return s, nil
}

// Store exposes the service's store to composition code (the OIDC provider
// shares it); domain rules stay here.
func (s *Service) Store() store.Store { return s.raw }

// Object is a directory object handed to surfaces: its stored document and
// the version that backs its ETag.
type Object struct {
	Kind    string
	ID      string
	Version int64
	Doc     Doc
}

// ETag renders the object's version as Graph's @odata.etag.
func (o Object) ETag() string { return `W/"` + strconv.FormatInt(o.Version, 10) + `"` }

// ParseETag turns an If-Match value back into a version; "*" means any (0).
func ParseETag(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "*" {
		return 0, nil
	}
	v = strings.TrimPrefix(v, "W/")
	v = strings.Trim(v, `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, usererr.New(usererr.Precondition, "The If-Match header does not match the resource's current ETag.")
	}
	return n, nil
}

func toObject(o store.Object) (Object, error) {
	d, err := decodeDoc(o.Data)
	if err != nil {
		return Object{}, err
	}
	if o.DeletedAt != nil {
		d["deletedDateTime"] = o.DeletedAt.UTC().Format(time.RFC3339)
	}
	return Object{Kind: o.Kind, ID: o.ID, Version: o.Version, Doc: d}, nil
}

func decodeDoc(b []byte) (Doc, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var d Doc
	if err := dec.Decode(&d); err != nil {
		return nil, err
	}
	return d, nil
}

// ErrUnreadableBody: the request body is not one JSON object.
var ErrUnreadableBody = usererr.WithCode(usererr.Invalid, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")

// DecodeBody parses a request body into a Doc, refusing anything but one JSON object.
func DecodeBody(b []byte) (Doc, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var d Doc
	if err := dec.Decode(&d); err != nil || d == nil {
		return nil, ErrUnreadableBody
	}
	if dec.More() {
		return nil, usererr.WithCode(usererr.Invalid, "BadRequest", "Unable to read JSON request payload: unexpected data after the JSON object.")
	}
	return d, nil
}

// notFound is Graph's message for an id that does not resolve in the caller's tenant.
func notFound(id string) error {
	return usererr.New(usererr.NotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
}

// translate turns store errors into user-safe ones where the caller is at fault.
func translate(err error, id string) error {
	var ce *store.ConflictError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return notFound(id)
	case errors.As(err, &ce):
		return usererr.Taken(ce.Key)
	case errors.Is(err, store.ErrPrecondition):
		return usererr.New(usererr.Precondition, "The resource has changed since its ETag was read.")
	case errors.Is(err, store.ErrBadCursor):
		return usererr.New(usererr.Invalid, "The $skiptoken is invalid or expired.")
	}
	return err
}

// stamp fills the keys the store indexes from a document of the spec's kind.
func stamp(o *store.Object, d Doc) error {
	o.UPN = strings.ToLower(str(d, "userPrincipalName"))
	o.Mail = strings.ToLower(str(d, "mail"))
	o.AppID = str(d, "appId")
	o.DisplayName = str(d, "displayName")
	if o.Kind == KindApplication {
		o.IdentifierURIs = stringList(d["identifierUris"])
	}
	b, err := json.Marshal(d)
	o.Data = b
	return err
}

func str(d Doc, name string) string {
	s, _ := d[name].(string)
	return s
}

func (s *Service) timestamp() string { return s.now().UTC().Format(time.RFC3339) }

// insert creates an object of kind from a complete, validated document.
func (s *Service) insert(ctx context.Context, tx store.Tx, tenantID, kind string, d Doc) (Object, error) {
	now := s.now().UTC()
	o := store.Object{TenantID: tenantID, Kind: kind, ID: str(d, "id"), CreatedAt: now, UpdatedAt: now}
	if err := stamp(&o, d); err != nil {
		return Object{}, err
	}
	if err := tx.CreateObject(ctx, &o); err != nil {
		return Object{}, translate(err, o.ID)
	}
	return Object{Kind: kind, ID: o.ID, Version: o.Version, Doc: d}, nil
}

// replace writes a new document for an object read in the same transaction at
// version.
func (s *Service) replace(ctx context.Context, tx store.Tx, tenantID string, cur Object, d Doc) (Object, error) {
	o := store.Object{TenantID: tenantID, Kind: cur.Kind, ID: cur.ID, Version: cur.Version, UpdatedAt: s.now().UTC()}
	if err := stamp(&o, d); err != nil {
		return Object{}, err
	}
	if err := tx.UpdateObject(ctx, &o); err != nil {
		return Object{}, translate(err, cur.ID)
	}
	return Object{Kind: cur.Kind, ID: cur.ID, Version: o.Version, Doc: d}, nil
}

func (s *Service) load(ctx context.Context, tx store.Tx, tenantID, kind, id string) (Object, error) {
	o, err := tx.GetObject(ctx, tenantID, kind, id)
	if err != nil {
		return Object{}, translate(err, id)
	}
	return toObject(o)
}

// Get returns one object of a kind by id (users also by user principal name).
func (s *Service) Get(ctx context.Context, tenantID, kind, key string) (Object, error) {
	var out Object
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		if out, err = s.resolve(ctx, tx, tenantID, kind, key); err != nil {
			return err
		}
		return checkObjectRead(ctx, tx, tenantID, key, out)
	})
	return out, err
}

// GetByAppID returns the application or service principal with an appId,
// for the alternate key applications(appId='…').
func (s *Service) GetByAppID(ctx context.Context, tenantID, kind, appID string) (Object, error) {
	var out Object
	err := s.st.View(ctx, func(tx store.Tx) error {
		o, err := tx.GetObjectByAppID(ctx, tenantID, kind, appID)
		if err != nil {
			return translate(err, appID)
		}
		if out, err = toObject(o); err != nil {
			return err
		}
		return checkObjectRead(ctx, tx, tenantID, appID, out)
	})
	return out, err
}

// resolve finds an object by the key a URL names it with.
func (s *Service) resolve(ctx context.Context, tx store.Tx, tenantID, kind, key string) (Object, error) {
	if kind == KindUser && strings.Contains(key, "@") {
		o, err := tx.GetObjectByUPN(ctx, tenantID, kind, strings.ToLower(key))
		if err != nil {
			return Object{}, translate(err, key)
		}
		return toObject(o)
	}
	return s.load(ctx, tx, tenantID, kind, key)
}

// checkVersion compares an If-Match version (0: none given) with the current one.
func checkVersion(cur Object, ifMatch int64) error {
	if ifMatch != 0 && ifMatch != cur.Version {
		return usererr.New(usererr.Precondition, "The resource has changed since its ETag was read.")
	}
	return nil
}

// updateWithRetry runs a read-modify-write. Without If-Match a concurrent
// writer is not the caller's problem, so a lost race is retried; with If-Match
// it is exactly what the caller asked to detect, so it is reported.
func (s *Service) updateWithRetry(ctx context.Context, ifMatch int64, fn func(tx store.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.st.Update(ctx, fn)
		if ifMatch == 0 && attempt < 5 && usererr.IsKind(err, usererr.Precondition) {
			continue
		}
		return err
	}
}

// patch is the read-merge-write of a PATCH: it finds the object (users also
// by UPN), checks the caller's ETag, merges the normalized patch, lets
// prepare check or complete the merged document, writes it, and runs after
// on what was written; all in one transaction. prepare and after may be nil.
func (s *Service) patch(ctx context.Context, tenantID, kind, key string, ifMatch int64, patch Doc,
	prepare func(tx store.Tx, cur Object, next Doc) error, after func(tx store.Tx, written Object) error) error {
	return s.updateWithRetry(ctx, ifMatch, func(tx store.Tx) error {
		cur, err := s.resolve(ctx, tx, tenantID, kind, key)
		if err != nil {
			return err
		}
		if err := checkVersion(cur, ifMatch); err != nil {
			return err
		}
		next := merge(cur.Doc, patch)
		if prepare != nil {
			if err := prepare(tx, cur, next); err != nil {
				return err
			}
		}
		written, err := s.replace(ctx, tx, tenantID, cur, next)
		if err != nil || after == nil {
			return err
		}
		return after(tx, written)
	})
}

// Delete soft-deletes an object of a kind.
func (s *Service) Delete(ctx context.Context, tenantID, kind, key string, ifMatch int64) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		cur, err := s.resolve(ctx, tx, tenantID, kind, key)
		if err != nil {
			return err
		}
		if err := checkVersion(cur, ifMatch); err != nil {
			return err
		}
		if err := s.checkRemoval(ctx, tx, tenantID, cur); err != nil {
			return err
		}
		if err := s.beforeDelete(ctx, tx, tenantID, cur); err != nil {
			return err
		}
		if err := tx.DeleteObject(ctx, tenantID, kind, cur.ID, cur.Version); err != nil {
			return translate(err, cur.ID)
		}
		if kind == KindGroup {
			// Security groups, the only ones Gatehouse has, are deleted
			// for good in Entra; only Microsoft 365 groups are restorable.
			return tx.PurgeObject(ctx, tenantID, kind, cur.ID)
		}
		return nil
	})
}

// beforeDelete removes what cannot outlive an object.
func (s *Service) beforeDelete(ctx context.Context, tx store.Tx, tenantID string, cur Object) error {
	switch cur.Kind {
	case KindApplication:
		// The app's own service principal goes with the registration, as in Entra.
		sp, err := tx.GetObjectByAppID(ctx, tenantID, KindServicePrincipal, str(cur.Doc, "appId"))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		spObj, err := toObject(sp)
		if err == nil {
			err = s.retireServicePrincipal(ctx, tx, tenantID, spObj)
		}
		if err != nil {
			return err
		}
		return tx.DeleteObject(ctx, tenantID, KindServicePrincipal, sp.ID, 0)
	case KindServicePrincipal:
		if err := checkPrincipalChange(str(cur.Doc, "appId"), nil, true); err != nil {
			return err
		}
		return s.retireServicePrincipal(ctx, tx, tenantID, cur)
	case KindUser:
		if err := s.revokeUser(ctx, tx, tenantID, cur.ID, nil, reasonUserDisabled); err != nil {
			return err
		}
		return s.keepRelationships(ctx, tx, tenantID, cur.ID)
	case KindGroup:
		_, err := s.deleteAssignmentsOf(ctx, tx, tenantID, cur.ID)
		return err
	case KindPermissionGrant:
		return s.revokeGrant(ctx, tx, tenantID, cur.Doc)
	}
	return nil
}

// Query is a validated listing request.
type Query struct {
	Filter   odata.Expr
	OrderBy  []odata.OrderBy
	Top      int
	Cursor   string
	Advanced bool // ConsistencyLevel: eventual with $count=true
	Count    bool // include the total count
}

// Page is one page of a listing.
type Page struct {
	Objects []Object
	Next    string
	Count   int64 // when Query.Count
}

// List returns one page of objects of a kind.
func (s *Service) List(ctx context.Context, tenantID, kind string, q Query) (Page, error) {
	return s.list(ctx, tenantID, kind, q, false)
}

// list pages through live objects, or soft-deleted ones (which are not counted).
func (s *Service) list(ctx context.Context, tenantID, kind string, q Query, deleted bool) (Page, error) {
	read := listing(kind)
	if deleted {
		read = listingDeleted
	}
	return s.listWithin(ctx, tenantID, kind, q, deleted, read, nil)
}

// listWithin is list for a caller read admits (mayRead), narrowed to what
// a route addresses (the assignments of one service principal, say):
// within, called in the listing's transaction, returns the condition every
// listed object meets on top of the client's filter, or an error when the
// route's subject is missing.
func (s *Service) listWithin(ctx context.Context, tenantID, kind string, q Query, deleted bool, read func(viewer) authz.Read, within func(tx store.Tx) (odata.Expr, error)) (Page, error) {
	spec := specs[kind]
	bound, order, err := bindQuery(spec, q)
	if err != nil {
		return Page{}, err
	}
	var out Page
	err = s.st.View(ctx, func(tx store.Tx) error {
		filter := bound
		if within != nil {
			pin, err := within(tx)
			if err != nil {
				return err
			}
			filter = pin
			if bound != nil {
				filter = odata.Logical{Op: "and", Left: pin, Right: bound}
			}
		}
		if _, err := mayRead(ctx, tx, tenantID, read); err != nil {
			return err
		}
		list := tx.ListObjects
		if deleted {
			list = tx.ListDeletedObjects
		}
		p, err := list(ctx, tenantID, kind, store.Query{Schema: spec.schema, Filter: filter, OrderBy: order, Top: q.Top, Cursor: q.Cursor})
		if err != nil {
			return translate(err, "")
		}
		if q.Count && !deleted {
			if out.Count, err = tx.CountObjects(ctx, tenantID, kind, spec.schema, filter); err != nil {
				return err
			}
		}
		out.Next = p.Next
		out.Objects, err = toObjects(p.Objects)
		return err
	})
	return out, err
}

// Count counts the objects of a kind matching a filter.
func (s *Service) Count(ctx context.Context, tenantID, kind string, q Query) (int64, error) {
	return s.count(ctx, tenantID, kind, q, false)
}

// listingDeleted is the read of a listing of deleted items.
func listingDeleted(viewer) authz.Read { return authz.Read{Area: authz.AreaDeleted, List: true} }

// CountDeleted counts soft-deleted objects of a kind
// (GET /directory/deletedItems/graph.user/$count).
func (s *Service) CountDeleted(ctx context.Context, tenantID, kind string, q Query) (int64, error) {
	return s.count(ctx, tenantID, kind, q, true)
}

func (s *Service) count(ctx context.Context, tenantID, kind string, q Query, deleted bool) (int64, error) {
	spec := specs[kind]
	filter, _, err := bindQuery(spec, Query{Filter: q.Filter, Advanced: q.Advanced})
	if err != nil {
		return 0, err
	}
	read, count := listing(kind), store.Tx.CountObjects
	if deleted {
		read, count = listingDeleted, store.Tx.CountDeletedObjects
	}
	var n int64
	err = s.st.View(ctx, func(tx store.Tx) error {
		if _, err := mayRead(ctx, tx, tenantID, read); err != nil {
			return err
		}
		n, err = count(tx, ctx, tenantID, kind, spec.schema, filter)
		return err
	})
	return n, err
}

func bindQuery(spec *kindSpec, q Query) (odata.Expr, []odata.OrderBy, error) {
	var filter odata.Expr
	var err error
	if q.Filter != nil {
		if filter, err = odata.Bind(spec.schema, q.Filter, q.Advanced); err != nil {
			return nil, nil, queryError(err)
		}
	}
	var order []odata.OrderBy
	if len(q.OrderBy) > 0 {
		if q.Filter != nil && !q.Advanced {
			return nil, nil, usererr.WithCode(usererr.Invalid, "Request_UnsupportedQuery", "Sorting not supported for current query. $filter and $orderby together require the ConsistencyLevel:eventual header and $count=true.")
		}
		if order, err = odata.BindOrderBy(spec.schema, q.OrderBy); err != nil {
			return nil, nil, queryError(err)
		}
	}
	return filter, order, nil
}

// queryError carries the parser's Graph code through to the surface.
func queryError(err error) error {
	var qe *odata.Error
	if errors.As(err, &qe) {
		return usererr.WithCode(usererr.Invalid, qe.Code, "%s", qe.Message)
	}
	return err
}

func toObjects(in []store.Object) ([]Object, error) {
	out := make([]Object, 0, len(in))
	for _, o := range in {
		obj, err := toObject(o)
		if err != nil {
			return nil, err
		}
		out = append(out, obj)
	}
	return out, nil
}

// Present renders an object for a response with an optional $select.
func Present(o Object, sel []string) (Doc, error) {
	spec := specs[o.Kind]
	names, err := spec.resolveSelect(sel)
	if err != nil {
		return nil, err
	}
	return spec.present(o.Doc, names), nil
}

// CheckSelect validates a $select list for a kind before any work is done.
func CheckSelect(kind string, sel []string) error {
	_, err := specs[kind].resolveSelect(sel)
	return err
}

// TypeName is the Graph type of a kind, e.g. "user" for #microsoft.graph.user.
func TypeName(kind string) string { return specs[kind].typeName }
