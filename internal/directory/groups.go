package directory

import (
	"context"
	"errors"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

var groupSpec = (&kindSpec{
	kind: KindGroup, typeName: "group", resource: "Group",
	props: map[string]prop{
		"id":                 ro(tString),
		"classification":     text(256),
		"createdDateTime":    ro(tDateTime),
		"deletedDateTime":    ro(tDateTime),
		"description":        text(1024),
		"displayName":        {typ: tString, maxLen: 256, notNull: true},
		"groupTypes":         list(64, 10),
		"isAssignableToRole": {typ: tBool},
		"mail":               ro(tString),
		"mailEnabled":        {typ: tBool},
		"mailNickname":       {typ: tString, maxLen: 64, check: checkMailNickname},
		"proxyAddresses":     ro(tStringList),
		"renewedDateTime":    ro(tDateTime),
		"securityEnabled":    {typ: tBool},
		"securityIdentifier": ro(tString),
		"visibility":         enum("Public", "Private", "HiddenMembership"),
	},
	schema: &odata.Schema{Resource: "Group", Properties: map[string]odata.Property{
		"id":                 {Name: "id", Type: odata.TypeString, Column: "id", Folded: true, Ops: ops("eq", "in"), AdvancedOps: ops("ne", "not")},
		"displayName":        {Name: "displayName", Type: odata.TypeString, Column: "display_name", Ops: ops("eq", "in", "startsWith", "ge", "le"), AdvancedOps: ops("ne", "not", "endsWith"), Sortable: true},
		"mail":               {Name: "mail", Type: odata.TypeString, Column: "mail", Folded: true, Ops: ops("eq", "in", "startsWith"), AdvancedOps: ops("ne", "not", "endsWith")},
		"mailNickname":       jsonString("mailNickname"),
		"description":        jsonString("description"),
		"securityEnabled":    {Name: "securityEnabled", Type: odata.TypeBool, Ops: ops("eq"), AdvancedOps: ops("ne", "not")},
		"mailEnabled":        {Name: "mailEnabled", Type: odata.TypeBool, Ops: ops("eq"), AdvancedOps: ops("ne", "not")},
		"isAssignableToRole": {Name: "isAssignableToRole", Type: odata.TypeBool, Ops: ops("eq"), AdvancedOps: ops("ne", "not")},
		"groupTypes":         {Name: "groupTypes", Type: odata.TypeStringCollection, Ops: ops("any"), AdvancedOps: ops("not", "count")},
		"createdDateTime":    {Name: "createdDateTime", Type: odata.TypeDateTime, Column: "created_at", AdvancedOps: ops("eq", "ne", "not", "ge", "le", "in"), Sortable: true},
	}},
}).init()

// CreateGroup creates a security group from a POST /groups body.
func (s *Service) CreateGroup(ctx context.Context, tenantID string, body Doc) (Object, error) {
	d, err := groupSpec.normalize(body)
	if err != nil {
		return Object{}, err
	}
	for _, req := range []string{"displayName", "mailEnabled", "mailNickname", "securityEnabled"} {
		if d[req] == nil {
			return Object{}, usererr.New(usererr.Invalid, "Property '%s' is required when creating the resource.", req)
		}
	}
	if err := checkGroupKind(d); err != nil {
		return Object{}, err
	}
	d["id"] = s.newID()
	d["createdDateTime"] = s.timestamp()
	d["proxyAddresses"] = []any{}
	if d["groupTypes"] == nil {
		d["groupTypes"] = []any{}
	}
	if err := checkGroupChange(ctx, d); err != nil {
		return Object{}, err
	}
	var out Object
	err = s.st.Update(ctx, func(tx store.Tx) error {
		out, err = s.insert(ctx, tx, tenantID, KindGroup, d)
		return err
	})
	return out, err
}

// checkGroupKind keeps to what Gatehouse offers: security groups. Mail-enabled
// and Microsoft 365 ("Unified") groups need a mail system it does not have.
func checkGroupKind(d Doc) error {
	if d["mailEnabled"] == true || d["securityEnabled"] == false {
		return usererr.New(usererr.Invalid, "Only security groups are supported: mailEnabled must be false and securityEnabled true.")
	}
	if types, _ := d["groupTypes"].([]any); slices.Contains(types, any("Unified")) {
		return usererr.New(usererr.Invalid, "Microsoft 365 groups (groupTypes 'Unified') are not supported; create a security group.")
	}
	return nil
}

// UpdateGroup applies a PATCH /groups/{id} body.
func (s *Service) UpdateGroup(ctx context.Context, tenantID, id string, body Doc, ifMatch int64) error {
	patch, err := groupSpec.normalize(body)
	if err != nil {
		return err
	}
	if _, ok := patch["isAssignableToRole"]; ok {
		return usererr.New(usererr.Invalid, "Property 'isAssignableToRole' can only be set when the group is created.")
	}
	return s.patch(ctx, tenantID, KindGroup, id, ifMatch, patch, func(_ store.Tx, cur Object, next Doc) error {
		if err := checkGroupChange(ctx, cur.Doc); err != nil {
			return err
		}
		return checkGroupKind(next)
	}, nil)
}

// Relationship names as Graph spells the navigation properties.
const (
	RelMembers = "members"
	RelOwners  = "owners"
)

// memberKinds are the object kinds that may be members or owners, in the
// order references are resolved.
var memberKinds = map[string][]string{
	RelMembers: {KindUser, KindGroup, KindServicePrincipal},
	RelOwners:  {KindUser, KindServicePrincipal},
}

// AddLink adds a member or owner reference to a group.
func (s *Service) AddLink(ctx context.Context, tenantID, groupID, rel, targetID string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		group, err := s.load(ctx, tx, tenantID, KindGroup, groupID)
		if err != nil {
			return err
		}
		if err := checkLinkChange(ctx, tx, tenantID, group, rel); err != nil {
			return err
		}
		target, err := s.findAny(ctx, tx, tenantID, targetID, memberKinds[rel])
		if err != nil {
			return err
		}
		if target.ID == group.ID {
			return usererr.New(usererr.Invalid, "A group cannot be a member of itself.")
		}
		if target.Kind == KindGroup && group.Doc["isAssignableToRole"] == true {
			return usererr.New(usererr.Invalid, "Groups cannot be added as members of a role-assignable group.")
		}
		err = tx.AddLink(ctx, tenantID, store.Link{SourceID: group.ID, Rel: rel, TargetID: target.ID})
		if errors.Is(err, store.ErrConflict) {
			return usererr.New(usererr.Invalid, "One or more added object references already exist for the following modified properties: '%s'.", rel)
		}
		return translate(err, targetID)
	})
}

// checkLinkChange decides a change of a group's members (its owners may
// make it) or owners (administrators only).
func checkLinkChange(ctx context.Context, tx store.Tx, tenantID string, group Object, rel string) error {
	if rel == RelMembers {
		return checkGroupMembers(ctx, tx, tenantID, group)
	}
	return checkGroupChange(ctx, group.Doc)
}

// RemoveLink removes a member or owner reference from a group.
func (s *Service) RemoveLink(ctx context.Context, tenantID, groupID, rel, targetID string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		group, err := s.load(ctx, tx, tenantID, KindGroup, groupID)
		if err != nil {
			return err
		}
		if err := checkLinkChange(ctx, tx, tenantID, group, rel); err != nil {
			return err
		}
		return translate(tx.RemoveLink(ctx, tenantID, store.Link{SourceID: groupID, Rel: rel, TargetID: targetID}), targetID)
	})
}

// Relation names a navigation of an object: a group's members or owners, or
// (Reverse) the groups an object is a member of. Cast, when set, keeps
// the objects of one kind, as a type cast segment (members/graph.user) does.
type Relation struct {
	Kind, ID, Rel string
	Reverse       bool
	Cast          string
}

// ListRelated lists one page of a relation.
func (s *Service) ListRelated(ctx context.Context, tenantID string, rel Relation, q Query) (Page, error) {
	var out Page
	err := s.viewRelated(ctx, tenantID, rel, func(tx store.Tx, r store.Related, v viewer) error {
		p, err := tx.ListRelated(ctx, tenantID, r, store.Query{Top: q.Top, Cursor: q.Cursor})
		if err != nil {
			return translate(err, rel.ID)
		}
		out.Next = p.Next
		if out.Objects, err = toObjects(p.Objects); err == nil {
			v.trim(out.Objects)
		}
		return err
	})
	return out, err
}

// CountRelated counts a relation's objects (GET …/members/$count).
func (s *Service) CountRelated(ctx context.Context, tenantID string, rel Relation) (int64, error) {
	var n int64
	err := s.viewRelated(ctx, tenantID, rel, func(tx store.Tx, r store.Related, _ viewer) error {
		var err error
		n, err = tx.CountRelated(ctx, tenantID, r, nil, nil)
		return translate(err, rel.ID)
	})
	return n, err
}

// viewRelated resolves a relation's object, checks the caller may read
// it, and runs fn with the store's form of the relation.
func (s *Service) viewRelated(ctx context.Context, tenantID string, rel Relation, fn func(tx store.Tx, r store.Related, v viewer) error) error {
	return s.st.View(ctx, func(tx store.Tx) error {
		resolved, err := s.resolveID(ctx, tx, tenantID, rel.Kind, rel.ID)
		if err != nil {
			return err
		}
		v, err := mayRead(ctx, tx, tenantID, func(v viewer) authz.Read {
			return authz.Read{Area: areaOf(rel.Kind), Members: true, Self: resolved == v.self}
		})
		if err != nil {
			return err
		}
		return fn(tx, store.Related{ID: resolved, Rel: rel.Rel, Reverse: rel.Reverse, Kind: rel.Cast}, v)
	})
}

// resolveID checks an object exists and returns its id (users may be named by UPN).
func (s *Service) resolveID(ctx context.Context, tx store.Tx, tenantID, kind, key string) (string, error) {
	o, err := s.resolve(ctx, tx, tenantID, kind, key)
	return o.ID, err
}

// findAny resolves a directory object id that may be of several kinds.
func (s *Service) findAny(ctx context.Context, tx store.Tx, tenantID, id string, kinds []string) (Object, error) {
	for _, k := range kinds {
		o, err := tx.GetObject(ctx, tenantID, k, id)
		if err == nil {
			return toObject(o)
		}
		if !isNotFound(err) {
			return Object{}, err
		}
	}
	return Object{}, notFound(id)
}

// FindDirectoryObject resolves /directoryObjects/{id} across the kinds Graph
// serves there.
func (s *Service) FindDirectoryObject(ctx context.Context, tenantID, id string) (Object, error) {
	var out Object
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		if out, err = s.findAny(ctx, tx, tenantID, id, []string{KindUser, KindGroup, KindServicePrincipal, KindApplication}); err != nil {
			return err
		}
		return checkObjectRead(ctx, tx, tenantID, id, out)
	})
	return out, err
}
