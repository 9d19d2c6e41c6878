// Package store is Gatehouse's persistence port: transactions over directory
// objects stored as JSON documents with indexed keys, their relationships, the
// per-tenant change feed, the outbox of side effects, credentials, signing
// keys and short-lived protocol state. Backends live in store/sqlite and store/postgres and must both pass the
// conformance suite in store/storetest.
//
// Tenant isolation is part of this API: every read and write of tenant data
// names its tenant, and no method lists across tenants except the few whose
// names say why they cross (LookupDomain, LookupApplication, CountTenants,
// ListTenants, ListGuestAccounts, PurgeExpiredStates, PurgeDeletedObjects,
// PurgeAuditRecords, and OutboxDepth, which counts only).
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/odata"
)

var (
	// ErrNotFound: no such tenant, object, link, credential or domain in the
	// tenant named (objects of other tenants are never found).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a unique key is already taken. Errors carrying it are
	// *ConflictError, which names the key.
	ErrConflict = errors.New("store: conflict")
	// ErrPrecondition: the object's version is not the one the caller expected.
	ErrPrecondition = errors.New("store: version mismatch")
	// ErrBadCursor: a paging cursor that this store did not issue for this query.
	ErrBadCursor = errors.New("store: invalid cursor")
	// ErrConsumed: a single-use state was already consumed. ConsumeState
	// returns the state with it, so a replay can be traced to what it issued.
	ErrConsumed = errors.New("store: already consumed")
	// ErrUnavailable: the database failed rather than answered — it is
	// unreachable, restarting, out of connections, locked by another
	// process, or did not answer within the store's timeout. It is the
	// server's fault and passes: surfaces answer 503 with Retry-After.
	ErrUnavailable = errors.New("store: unavailable")
)

// ConflictError reports which unique key collided, e.g. "userPrincipalName".
type ConflictError struct{ Key string }

func (e *ConflictError) Error() string   { return fmt.Sprintf("store: conflict on %s", e.Key) }
func (e *ConflictError) Is(t error) bool { return t == ErrConflict }

// Store is a handle on one database.
type Store interface {
	// Update runs fn in one read-write transaction: all of fn's writes, their
	// change-feed entries and outbox messages commit together or not at all.
	// fn's error rolls back and is returned unchanged, but marked with
	// ErrUnavailable when the database failed. Every transaction has a
	// deadline (the store's timeout), so a hung database cannot pin callers.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction that sees one consistent snapshot.
	View(ctx context.Context, fn func(Tx) error) error
	// Ping reports whether the database is reachable and migrated.
	Ping(ctx context.Context) error
	Close() error
}

// Tx is the set of operations available inside a transaction. Write methods
// called from View fail.
type Tx interface {
	// Tenants.
	CreateTenant(ctx context.Context, t Tenant) error
	GetTenant(ctx context.Context, id string) (Tenant, error)
	// CountTenants crosses tenants to decide whether a deployment is new.
	CountTenants(ctx context.Context) (int, error)
	// ListTenants crosses tenants for work that visits each in turn
	// (housekeeping, start-up checks): up to limit tenants with ids after
	// after ("" for the first), in id order.
	ListTenants(ctx context.Context, after string, limit int) ([]Tenant, error)

	// DeleteTenant removes the tenant and all it holds: domains, objects
	// with their links and credentials, its feed, keys, states, logs and
	// outbox messages. ErrNotFound if there is no such tenant.
	DeleteTenant(ctx context.Context, id string) error
	// LockTenant makes this transaction wait for, and then hold off until it
	// ends, every other transaction that locks the same tenant. Writes that
	// enforce a rule no index can (a sign-in identity unique in the tenant,
	// one grant per principal) check and write under it, so two of them
	// cannot both pass the check.
	LockTenant(ctx context.Context, tenantID string) error

	// Domains. A domain name belongs to at most one tenant in the deployment.
	AddDomain(ctx context.Context, d Domain) error // *ConflictError{Key: "id"} if taken anywhere
	UpdateDomain(ctx context.Context, d Domain) error
	GetDomain(ctx context.Context, tenantID, name string) (Domain, error)
	ListDomains(ctx context.Context, tenantID string) ([]Domain, error)
	DeleteDomain(ctx context.Context, tenantID, name string) error
	// LookupDomain crosses tenants: it resolves a domain name to its owner for
	// home-realm discovery and for addressing a tenant by one of its domains.
	LookupDomain(ctx context.Context, name string) (Domain, error)

	// Directory objects.
	//
	// CreateObject stores o with Version 1 and appends a "created" change.
	// *ConflictError if the id, or UPN or AppID among live objects of the kind,
	// is taken in the tenant, if an application's AppID is taken by a live
	// application of any tenant, or if one of its IdentifierURIs is held by
	// another application anywhere; a failed create writes nothing.
	CreateObject(ctx context.Context, o *Object) error
	// GetObject returns a live object of the kind; soft-deleted ones are ErrNotFound.
	GetObject(ctx context.Context, tenantID, kind, id string) (Object, error)
	// GetObjects returns, in one read, the live objects keys name (at most
	// MaxObjectKeys), in no particular order; a key that names none is
	// left out.
	GetObjects(ctx context.Context, keys []ObjectKey) ([]Object, error)
	// GetObjectByUPN finds a live object by its folded user principal name.
	GetObjectByUPN(ctx context.Context, tenantID, kind, upn string) (Object, error)
	// LookupApplication crosses tenants: it finds the live application
	// registration with an appId wherever it is registered, so users of
	// other tenants can sign in to a multitenant application. An appId
	// names at most one live application in the deployment, so the answer
	// is never a choice between tenants.
	LookupApplication(ctx context.Context, appID string) (Object, error)
	// GetObjectByAppID finds a live application or service principal.
	GetObjectByAppID(ctx context.Context, tenantID, kind, appID string) (Object, error)
	// UpdateObject replaces the object's keys and data if its stored version is
	// o.Version, then sets o.Version to the next version and appends an
	// "updated" change. ErrPrecondition if the version moved on, ErrNotFound if
	// there is no such live object, *ConflictError as for CreateObject (and
	// then nothing is written).
	UpdateObject(ctx context.Context, o *Object) error
	// DeleteObject soft-deletes a live object if its version is version (0: any),
	// drops its links in both directions, and appends a "deleted" change, and
	// an "unlinked" change of every source that linked to it.
	DeleteObject(ctx context.Context, tenantID, kind, id string, version int64) error
	// ListDeletedObjects returns one page of soft-deleted objects of a kind.
	ListDeletedObjects(ctx context.Context, tenantID, kind string, q Query) (Page, error)
	// GetDeletedObject returns a soft-deleted object (ErrNotFound if it is live or gone).
	GetDeletedObject(ctx context.Context, tenantID, kind, id string) (Object, error)
	// RestoreObject brings a soft-deleted object back to life and appends a
	// "created" change. *ConflictError if a live object took its UPN or AppID
	// meanwhile (an application's AppID in any tenant); ErrNotFound if it is
	// not soft-deleted. Its IdentifierURIs were kept for it.
	RestoreObject(ctx context.Context, tenantID, kind, id string) (Object, error)
	// PurgeObject removes a soft-deleted object for good, with its
	// credentials, and frees its IdentifierURIs.
	PurgeObject(ctx context.Context, tenantID, kind, id string) error
	// PurgeDeletedObjects removes up to limit objects of any tenant that were
	// soft-deleted before cutoff (housekeeping crosses tenants), with their
	// credentials, and reports how many.
	PurgeDeletedObjects(ctx context.Context, cutoff time.Time, limit int) (int, error)
	// ListObjects returns one page of live objects of a kind matching q.
	ListObjects(ctx context.Context, tenantID, kind string, q Query) (Page, error)
	// CountObjects counts live objects of a kind matching filter (nil: all).
	CountObjects(ctx context.Context, tenantID, kind string, schema *odata.Schema, filter odata.Expr) (int64, error)
	// CountDeletedObjects counts soft-deleted objects of a kind matching filter (nil: all).
	CountDeletedObjects(ctx context.Context, tenantID, kind string, schema *odata.Schema, filter odata.Expr) (int64, error)

	// Relationships between objects of one tenant (group members and owners,
	// directory role members, app owners). Adding or removing a link appends a
	// change of the source object.
	AddLink(ctx context.Context, tenantID string, l Link) error // ErrNotFound if either end is missing, *ConflictError{Key: "link"} if present
	RemoveLink(ctx context.Context, tenantID string, l Link) error
	// ListRelated pages through the live objects linked from (or, reverse, to) id.
	ListRelated(ctx context.Context, tenantID string, r Related, q Query) (Page, error)
	// CountRelated counts the live objects ListRelated would list (filter nil: all).
	CountRelated(ctx context.Context, tenantID string, r Related, schema *odata.Schema, filter odata.Expr) (int64, error)
	// Ancestors returns, in one read, the ids of the live objects of kind
	// sourceKind linked by rel to id directly or through one another (the
	// groups a user is in, nested groups included), each once, in id
	// order, at most limit of them.
	Ancestors(ctx context.Context, tenantID, rel, sourceKind, id string, limit int) ([]string, error)

	// Change feed.
	// HeadSeq is the tenant's latest change position (0 when none).
	HeadSeq(ctx context.Context, tenantID string) (int64, error)
	// Changes returns up to limit changes after position after, of the given
	// object kinds (all kinds when empty), in position order.
	Changes(ctx context.Context, tenantID string, kinds []string, after int64, limit int) ([]Change, error)

	// Outbox. Messages enqueued in a transaction become visible only when it commits.
	Enqueue(ctx context.Context, m Message) error
	// ClaimMessages leases up to limit due messages (NotBefore <= now, not
	// done, lease expired) until now+lease, incrementing Attempts.
	ClaimMessages(ctx context.Context, topic string, now time.Time, lease time.Duration, limit int) ([]Message, error)
	CompleteMessage(ctx context.Context, id string) error
	// RetryMessage releases a claimed message to run again at notBefore, recording why.
	RetryMessage(ctx context.Context, id string, notBefore time.Time, lastError string) error
	// OutboxDepth counts the messages of every tenant waiting in the outbox
	// at now, by topic, for operators: how far delivery is behind.
	OutboxDepth(ctx context.Context, now time.Time) ([]TopicDepth, error)

	// Credentials: password hashes of users, hashed secrets of applications.
	PutCredential(ctx context.Context, c Credential) error // insert or replace by (tenant, object, keyID)
	ListCredentials(ctx context.Context, tenantID, objectID, typ string) ([]Credential, error)
	DeleteCredential(ctx context.Context, tenantID, objectID, keyID string) error

	// Short-lived protocol state: authorization requests, codes, refresh
	// tokens, device codes, sign-in sessions, lockout counters. IDs are the
	// caller's opaque keys (a hash, never the secret, when the state is
	// named by a bearer secret). States past ExpiresAt (by the store's clock)
	// read as ErrNotFound.
	//
	// PutState inserts a state; *ConflictError{Key: "id"} if a live state
	// holds the id (an expired one's id is free again).
	PutState(ctx context.Context, s State) error
	// GetState returns a live state, consumed or not.
	GetState(ctx context.Context, tenantID, kind, id string) (State, error)
	// ConsumeState marks a live state used, exactly once even under
	// concurrency: the first caller gets it; every later caller gets it
	// with ErrConsumed.
	ConsumeState(ctx context.Context, tenantID, kind, id string) (State, error)
	// LockState returns the live state s names, first creating it from s
	// when there is none (an expired one is replaced), and holds it against
	// every other writer until the transaction ends. A counter read through
	// LockState and written back with UpdateState in the same transaction
	// cannot lose a concurrent increment, on any node.
	LockState(ctx context.Context, s State) (State, error)
	// UpdateState replaces the Data and ExpiresAt of a live, unconsumed state;
	// ErrConsumed if it was consumed, ErrNotFound if it is not live.
	UpdateState(ctx context.Context, s State) error
	// DeleteStates deletes the tenant's states matching f (at least one of
	// its fields set) and reports how many.
	DeleteStates(ctx context.Context, tenantID string, f StateFilter) (int, error)
	// ListStates returns the tenant's live states matching f.
	ListStates(ctx context.Context, tenantID string, f StateFilter) ([]State, error)
	// PurgeExpiredStates deletes up to limit expired states of any tenant
	// (housekeeping crosses tenants) and reports how many.
	PurgeExpiredStates(ctx context.Context, limit int) (int, error)

	// Blobs: a tenant's files (uploaded logos), each under a name of the
	// caller's choosing, read and written whole, deleted with the tenant.
	//
	// PutBlob inserts or replaces the blob of (tenant, name).
	PutBlob(ctx context.Context, b Blob) error
	// GetBlob returns the tenant's blob of the name; ErrNotFound if none.
	GetBlob(ctx context.Context, tenantID, name string) (Blob, error)
	// StatBlob is GetBlob without the bytes: a page that names a blob by
	// its digest reads no more than that.
	StatBlob(ctx context.Context, tenantID, name string) (Blob, error)
	// DeleteBlob removes the tenant's blob of the name; ErrNotFound if none.
	DeleteBlob(ctx context.Context, tenantID, name string) error

	// Audit logs: a tenant's directory audit and sign-in records. They are
	// not directory changes: appending one neither adds to the change feed
	// nor moves its head (cached client authentications hang on the head).
	//
	// AppendAudit adds records, each naming its tenant (a batch of sign-ins
	// may span tenants). *ConflictError{Key: "id"} if a record's id is taken.
	AppendAudit(ctx context.Context, recs ...AuditRecord) error
	// ListAudit returns one page of a tenant's log matching q, in q's order.
	ListAudit(ctx context.Context, tenantID, log string, q Query) (AuditPage, error)
	// GetAudit returns one record of a tenant's log.
	GetAudit(ctx context.Context, tenantID, log, id string) (AuditRecord, error)
	// PurgeAuditRecords removes up to limit records of any tenant older than
	// cutoff (housekeeping crosses tenants), in no particular order, and
	// reports how many.
	PurgeAuditRecords(ctx context.Context, cutoff time.Time, limit int) (int, error)

	// External identities: the (issuer, subject) of another identity
	// provider a guest user signs in with. One names at most one user of a
	// tenant; one person may be a guest of many tenants.
	//
	// PutExternalIdentity binds e to e.UserID, a live user (ErrNotFound
	// otherwise). Binding it again to the same user keeps the first
	// binding; *ConflictError{Key: "identity"} if another live user holds
	// it. A soft-deleted user's binding is taken over: its person left and
	// may be invited anew.
	PutExternalIdentity(ctx context.Context, e ExternalIdentity) error
	// GetExternalIdentity returns the tenant's binding of (issuer, subject),
	// whether its user is live or soft-deleted.
	GetExternalIdentity(ctx context.Context, tenantID, issuer, subject string) (ExternalIdentity, error)
	// DeleteExternalIdentities unbinds every identity of the user (a reset
	// redemption) and reports how many there were. Purging the user does
	// it too.
	DeleteExternalIdentities(ctx context.Context, tenantID, userID string) (int, error)
	// ListGuestAccounts crosses tenants so that one person sees the
	// organisations they are a guest of: the bindings of (issuer, subject)
	// to live users of any tenant, in tenant order.
	ListGuestAccounts(ctx context.Context, issuer, subject string) ([]ExternalIdentity, error)

	// Signing keys of a tenant's token issuer; private halves sealed by the caller.
	AddSigningKey(ctx context.Context, k SigningKey) error
	ListSigningKeys(ctx context.Context, tenantID string) ([]SigningKey, error)
	DeleteSigningKey(ctx context.Context, tenantID, kid string) error
}

// Tenant types.
const (
	TenantWorkforce = "workforce"
	TenantExternal  = "external"
)

// Tenant is one isolated directory.
type Tenant struct {
	ID          string
	DisplayName string
	Type        string
	CreatedAt   time.Time
}

// Domain is a DNS name a tenant uses for user principal names and routing.
// Name is stored lower-case.
type Domain struct {
	Name      string
	TenantID  string
	Verified  bool
	Initial   bool
	Default   bool
	CreatedAt time.Time
}

// ObjectKey names one object of one tenant.
type ObjectKey struct {
	TenantID, Kind, ID string
}

// MaxObjectKeys is the most keys one GetObjects takes.
const MaxObjectKeys = 100

// Object is a directory object: a Graph resource stored as its JSON document
// plus the keys the store indexes. The domain package derives the keys from
// Data before every write; Data never contains secrets.
type Object struct {
	TenantID  string
	Kind      string
	ID        string
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt *time.Time

	UPN         string // folded; unique per tenant and kind among live objects when set
	Mail        string // folded
	AppID       string // unique per tenant and kind among live objects when set; for applications, in the deployment
	DisplayName string
	// IdentifierURIs are an application's identifierUris, folded. Each is
	// held by one application in the deployment from its creation until it
	// is purged: a soft-deleted application keeps them, as in Entra, so a
	// restore never finds them taken. The store keeps them apart from Data
	// and does not return them on reads.
	IdentifierURIs []string

	Data json.RawMessage
}

// Query selects one page of objects.
type Query struct {
	Schema  *odata.Schema // how filter and order properties map to storage; required with Filter or OrderBy
	Filter  odata.Expr    // nil: all
	OrderBy []odata.OrderBy
	Top     int    // page size, 1..999
	Cursor  string // from a previous Page.Next of the same query; "" for the first page
}

// Page is one page of a listing.
type Page struct {
	Objects []Object
	Next    string // opaque cursor for the next page; "" on the last page
}

// Link is a directed relationship, e.g. group --members--> user.
type Link struct {
	SourceID string
	Rel      string
	TargetID string
}

// Related names the objects on the other side of links.
type Related struct {
	ID      string
	Rel     string
	Reverse bool   // objects linking to ID (e.g. memberOf) instead of linked from it
	Kind    string // only objects of this kind (a type cast such as members/graph.user); "" for all
}

// Change operations.
const (
	OpCreated  = "created"
	OpUpdated  = "updated"
	OpDeleted  = "deleted"
	OpLinked   = "linked"
	OpUnlinked = "unlinked"
)

// Change is one change-feed entry. Seq is monotonic per tenant in commit order.
type Change struct {
	Seq      int64
	Kind     string
	ObjectID string
	Op       string
	Version  int64
	Rel      string // for linked/unlinked
	TargetID string // for linked/unlinked
	At       time.Time
}

// Message is an outbox entry: a side effect to carry out after commit.
type Message struct {
	ID        string
	TenantID  string
	Topic     string
	Payload   json.RawMessage
	CreatedAt time.Time
	NotBefore time.Time
	Attempts  int
	LastError string
}

// TopicDepth is how many messages of a topic wait in the outbox: Due ones
// could be claimed now, Leased ones are being delivered, Waiting ones are
// due later (a retry's backoff).
type TopicDepth struct {
	Topic                string
	Due, Leased, Waiting int64
}

// Blob is a file a tenant stored: its bytes, verbatim, and their media
// type as the caller decided it.
type Blob struct {
	TenantID    string
	Name        string
	ContentType string
	Data        []byte
	UpdatedAt   time.Time
	// SHA256 is the hex SHA-256 of Data, which the store keeps (PutBlob
	// ignores the caller's).
	SHA256 string
}

// State is a piece of short-lived protocol state. Family groups states
// revoked together (a refresh-token family); Subject names whose they are
// (a user or session id), so all of a subject's states can be revoked.
type State struct {
	TenantID   string
	Kind       string
	ID         string
	Family     string
	Subject    string
	Data       json.RawMessage
	CreatedAt  time.Time
	ExpiresAt  time.Time
	ConsumedAt *time.Time
}

// StateFilter selects states; empty fields match anything, but a filter
// must set at least one field.
type StateFilter struct {
	Kind    string
	Family  string
	Subject string
}

// Credential types.
const (
	CredPassword     = "password"
	CredClientSecret = "clientSecret"
)

// Credential is a secret's verifier bound to an object. Hash is opaque to the
// store (an encoded argon2id or SHA-256 verifier); the secret itself is never stored.
type Credential struct {
	TenantID    string
	ObjectID    string
	KeyID       string
	Type        string
	Hash        []byte
	Hint        string
	DisplayName string
	StartAt     time.Time
	EndAt       time.Time // zero: no expiry
	CreatedAt   time.Time
}

// ExternalIdentity binds an identity of another provider to a guest user.
// HomeTenantID is the guest's home tenant when the provider is a tenant of
// this deployment ("" otherwise).
type ExternalIdentity struct {
	TenantID     string
	Issuer       string
	Subject      string
	UserID       string
	HomeTenantID string
	CreatedAt    time.Time
}

// SigningKey is one key of a tenant's token issuer. PrivateSealed is the
// private key encrypted by the caller. When a key is published, when it signs
// and when it retires are the issuer's rules (internal/oidc); the store keeps
// the times.
type SigningKey struct {
	TenantID      string
	KID           string
	Alg           string
	PublicJWK     json.RawMessage
	PrivateSealed []byte
	CreatedAt     time.Time
	ActiveAt      time.Time
	RetireAt      time.Time
}

// LockJSON locks the state s names (see Tx.LockState, which creates it from
// s when there is none) and decodes its Data into v: the read half of a
// counter's read-modify-write.
func LockJSON(ctx context.Context, tx Tx, s State, v any) (State, error) {
	st, err := tx.LockState(ctx, s)
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(st.Data, v)
}

// UpdateJSON stores v as the Data of a state read by LockJSON, live until
// expires: the write half.
func UpdateJSON(ctx context.Context, tx Tx, s State, v any, expires time.Time) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.Data, s.ExpiresAt = data, expires
	return tx.UpdateState(ctx, s)
}

// Audit logs.
const (
	LogDirectoryAudit = "directoryAudit"
	LogSignIn         = "signIn"
)

// AuditRecord is one entry of a tenant's directory audit or sign-in log: its
// Graph document and the keys the store indexes for filtering. Which
// document property each key holds is the log's business (internal/audit);
// Category, Activity and UPN are stored lower-case. Data never contains
// secrets.
type AuditRecord struct {
	TenantID  string
	Log       string
	ID        string
	At        time.Time
	Category  string
	Activity  string
	UserID    string
	AppID     string
	UPN       string
	Result    string
	ErrorCode int
	Data      json.RawMessage
}

// AuditPage is one page of a log.
type AuditPage struct {
	Records []AuditRecord
	Next    string // opaque cursor for the next page; "" on the last page
}
