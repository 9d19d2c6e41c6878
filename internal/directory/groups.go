package directory

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"

	"github.com/google/uuid"

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

// CreateGroup creates a security group from a POST /groups body, with the
// members and owners its members@odata.bind and owners@odata.bind name.
func (s *Service) CreateGroup(ctx context.Context, tenantID string, body Doc) (Object, error) {
	binds, err := takeBinds(body)
	if err != nil {
		return Object{}, err
	}
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
		if out, err = s.insert(ctx, tx, tenantID, KindGroup, d); err != nil {
			return err
		}
		return s.bind(ctx, tx, tenantID, out, binds)
	})
	return out, err
}

// binds are the references of a body's members@odata.bind and
// owners@odata.bind, by relationship.
type binds map[string][]string

// takeBinds removes members@odata.bind and owners@odata.bind from a group
// body and returns the object ids they name (URLs ending in the id).
func takeBinds(body Doc) (binds, error) {
	out := binds{}
	for _, rel := range []string{RelMembers, RelOwners} {
		name := rel + "@odata.bind"
		v, ok := body[name]
		if !ok {
			continue
		}
		delete(body, name)
		refs, ok := v.([]any)
		if !ok {
			return nil, usererr.New(usererr.Invalid, "Property '%s' must be an array of object URLs.", name)
		}
		if len(refs) > 20 {
			return nil, usererr.New(usererr.Invalid, "At most 20 references may be added in one request to '%s'.", name)
		}
		for _, r := range refs {
			ref, _ := r.(string)
			id, err := RefID(ref)
			if err != nil {
				return nil, err
			}
			out[rel] = append(out[rel], id)
		}
	}
	return out, nil
}

// RefID is the object id an @odata.id or @odata.bind URL names: its last
// segment, which must be a GUID.
func RefID(ref string) (string, error) {
	id := ref[strings.LastIndex(ref, "/")+1:]
	if _, err := uuid.Parse(id); err != nil || ref == "" {
		return "", usererr.New(usererr.Invalid, "Invalid object identifier '%s'.", id)
	}
	return strings.ToLower(id), nil
}

// bind adds a group's bound members and owners, each checked as one
// POST …/$ref would be.
func (s *Service) bind(ctx context.Context, tx store.Tx, tenantID string, group Object, b binds) error {
	for _, rel := range []string{RelMembers, RelOwners} {
		for _, id := range b[rel] {
			if err := s.addLink(ctx, tx, tenantID, group, rel, id); err != nil {
				return err
			}
		}
	}
	return nil
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

// UpdateGroup applies a PATCH /groups/{id} body; its members@odata.bind and
// owners@odata.bind add members and owners.
func (s *Service) UpdateGroup(ctx context.Context, tenantID, id string, body Doc, ifMatch int64) error {
	binds, err := takeBinds(body)
	if err != nil {
		return err
	}
	patch, err := groupSpec.normalize(body)
	if err != nil {
		return err
	}
	if _, ok := patch["isAssignableToRole"]; ok {
		return usererr.New(usererr.Invalid, "Property 'isAssignableToRole' can only be set when the group is created.")
	}
	bindAll := func(tx store.Tx, group Object) error { return s.bind(ctx, tx, tenantID, group, binds) }
	if len(patch) == 0 && len(binds) > 0 {
		// Only references: the group itself does not change.
		return s.updateWithRetry(ctx, ifMatch, func(tx store.Tx) error {
			cur, err := s.load(ctx, tx, tenantID, KindGroup, id)
			if err == nil {
				err = checkVersion(cur, ifMatch)
			}
			if err != nil {
				return err
			}
			return bindAll(tx, cur)
		})
	}
	return s.patch(ctx, tenantID, KindGroup, id, ifMatch, patch, func(_ store.Tx, cur Object, next Doc) error {
		if err := checkGroupChange(ctx, cur.Doc); err != nil {
			return err
		}
		return checkGroupKind(next)
	}, bindAll)
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
		return s.addLink(ctx, tx, tenantID, group, rel, targetID)
	})
}

func (s *Service) addLink(ctx context.Context, tx store.Tx, tenantID string, group Object, rel, targetID string) error {
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
}

// checkLinkChange decides a change of a group's members (its owners may
// make it) or owners (administrators only).
func checkLinkChange(ctx context.Context, tx store.Tx, tenantID string, group Object, rel string) error {
	if rel == RelMembers {
		return checkGroupMembers(ctx, tx, tenantID, group)
	}
	return checkGroupChange(ctx, group.Doc)
}

// MayChangeMembers refuses the request's caller who may not change the
// group's members, as AddLink would: for a change made of several
// requests (an invitation, then the membership), asked before the first.
func (s *Service) MayChangeMembers(ctx context.Context, tenantID, groupID string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		group, err := s.load(ctx, tx, tenantID, KindGroup, groupID)
		if err != nil {
			return err
		}
		return checkGroupMembers(ctx, tx, tenantID, group)
	})
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
	// Transitive follows nested groups: transitiveMembers and
	// transitiveMemberOf.
	Transitive bool
}

// ListRelated lists one page of a relation. What an object is a member of
// includes the directory roles it holds, as in Graph.
func (s *Service) ListRelated(ctx context.Context, tenantID string, rel Relation, q Query) (Page, error) {
	var out Page
	err := s.viewRelated(ctx, tenantID, rel, func(tx store.Tx, r store.Related, v viewer) error {
		if rel.gathered() {
			all, err := gather(ctx, tx, tenantID, rel, r)
			if err != nil {
				return err
			}
			v.trim(all)
			out, err = pageOf(all, q)
			return err
		}
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
		if rel.gathered() {
			all, err := gather(ctx, tx, tenantID, rel, r)
			n = int64(len(all))
			return err
		}
		var err error
		n, err = tx.CountRelated(ctx, tenantID, r, nil, nil)
		return translate(err, rel.ID)
	})
	return n, err
}

// gathered: the relation is not one store listing, so it is gathered
// whole (at most maxTransitive objects) and paged in id order.
func (r Relation) gathered() bool { return r.Transitive || r.listsRoles() }

// gather reads a gathered relation whole, in id order.
func gather(ctx context.Context, tx store.Tx, tenantID string, rel Relation, r store.Related) ([]Object, error) {
	if rel.Transitive {
		return transitive(ctx, tx, tenantID, r)
	}
	groups, err := related(ctx, tx, tenantID, r)
	if err != nil {
		return nil, err
	}
	if len(groups) > maxTransitive {
		return nil, errTooManyTransitive
	}
	roles, err := rolesHeld(ctx, tx, tenantID, r.ID)
	all := append(groups, roles...)
	slices.SortFunc(all, func(a, b Object) int { return strings.Compare(a.ID, b.ID) })
	return all, err
}

// maxTransitive bounds what one transitive listing gathers.
const maxTransitive = 10_000

var errTooManyTransitive = usererr.WithCode(usererr.Invalid, "Request_UnsupportedQuery", "The transitive relationship has more than %d objects.", maxTransitive)

// transitive gathers, in id order, the objects on the far side of r
// through nested groups: a group's members and its member groups'
// members, or (Reverse) the groups an object is in, directly or through
// nesting, with the directory roles it or they hold.
func transitive(ctx context.Context, tx store.Tx, tenantID string, r store.Related) ([]Object, error) {
	var all []Object
	if r.Reverse {
		ids, err := tx.Ancestors(ctx, tenantID, RelMembers, KindGroup, r.ID, maxTransitive+1)
		if err != nil {
			return nil, err
		}
		if len(ids) > maxTransitive {
			return nil, errTooManyTransitive
		}
		for chunk := range slices.Chunk(ids, store.MaxObjectKeys) {
			keys := make([]store.ObjectKey, len(chunk))
			for i, id := range chunk {
				keys[i] = store.ObjectKey{TenantID: tenantID, Kind: KindGroup, ID: id}
			}
			objs, err := tx.GetObjects(ctx, keys)
			if err != nil {
				return nil, err
			}
			groups, err := toObjects(objs)
			if err != nil {
				return nil, err
			}
			all = append(all, groups...)
		}
		seen := map[string]bool{}
		for _, holder := range append([]string{r.ID}, ids...) {
			roles, err := rolesHeld(ctx, tx, tenantID, holder)
			if err != nil {
				return nil, err
			}
			for _, role := range roles {
				if !seen[role.ID] {
					seen[role.ID] = true
					all = append(all, role)
				}
			}
		}
	} else {
		seen := map[string]bool{r.ID: true}
		for frontier := []string{r.ID}; len(frontier) > 0; {
			group := frontier[0]
			frontier = frontier[1:]
			members, err := related(ctx, tx, tenantID, store.Related{ID: group, Rel: r.Rel})
			if err != nil {
				return nil, err
			}
			for _, m := range members {
				if seen[m.ID] {
					continue
				}
				seen[m.ID] = true
				all = append(all, m)
				if m.Kind == KindGroup {
					frontier = append(frontier, m.ID)
				}
			}
			if len(all) > maxTransitive {
				return nil, errTooManyTransitive
			}
		}
	}
	if r.Kind != "" {
		all = slices.DeleteFunc(all, func(o Object) bool { return o.Kind != r.Kind })
	}
	slices.SortFunc(all, func(a, b Object) int { return strings.Compare(a.ID, b.ID) })
	return all, nil
}

// pageOf serves a page of objects gathered whole and sorted by id; the
// cursor is the last id served, encoded.
func pageOf(all []Object, q Query) (Page, error) {
	start := 0
	if q.Cursor != "" {
		after, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		if err != nil {
			return Page{}, translate(store.ErrBadCursor, "")
		}
		start, _ = slices.BinarySearchFunc(all, string(after), func(o Object, id string) int { return strings.Compare(o.ID, id) })
		if start < len(all) && all[start].ID == string(after) {
			start++
		}
	}
	end := min(start+q.Top, len(all))
	out := Page{Objects: all[start:end]}
	if end < len(all) {
		out.Next = base64.RawURLEncoding.EncodeToString([]byte(all[end-1].ID))
	}
	return out, nil
}

// listsRoles: memberOf, uncast or cast to directoryRole, lists roles too.
func (r Relation) listsRoles() bool {
	return !r.Transitive && r.Reverse && r.Rel == RelMembers && (r.Cast == "" || r.Cast == KindDirectoryRole)
}

// rolesHeld are the directory roles assigned to a principal, as Graph's
// directoryRole objects.
func rolesHeld(ctx context.Context, tx store.Tx, tenantID, principalID string) ([]Object, error) {
	as, err := roleAssignmentsWhere(ctx, tx, tenantID, "principalId", principalID)
	if err != nil {
		return nil, err
	}
	out := make([]Object, 0, len(as))
	for _, a := range as {
		if role, ok := FindRole(str(a.Doc, "roleDefinitionId")); ok {
			out = append(out, role.object(KindDirectoryRole))
		}
	}
	return out, nil
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

// MemberObjects lists every group an object is in, directly or through
// nesting, and the directory roles it holds directly or through them
// (getMemberObjects; getMemberGroups keeps the groups).
func (s *Service) MemberObjects(ctx context.Context, tenantID, kind, id string) ([]Object, error) {
	var out []Object
	rel := Relation{Kind: kind, ID: id, Rel: RelMembers, Reverse: true, Transitive: true}
	err := s.viewRelated(ctx, tenantID, rel, func(tx store.Tx, r store.Related, _ viewer) error {
		var err error
		out, err = transitive(ctx, tx, tenantID, r)
		return err
	})
	return out, err
}

// GetByIDs returns the objects of the kinds named by ids (POST
// /directoryObjects/getByIds), in no particular order; ids naming nothing
// the caller may list are left out.
func (s *Service) GetByIDs(ctx context.Context, tenantID string, ids, kinds []string) ([]Object, error) {
	var out []Object
	err := s.st.View(ctx, func(tx store.Tx) error {
		for _, kind := range kinds {
			v, err := mayRead(ctx, tx, tenantID, listing(kind))
			if usererr.IsKind(err, usererr.Forbidden) {
				continue
			}
			if err != nil {
				return err
			}
			for chunk := range slices.Chunk(ids, store.MaxObjectKeys) {
				keys := make([]store.ObjectKey, len(chunk))
				for i, id := range chunk {
					keys[i] = store.ObjectKey{TenantID: tenantID, Kind: kind, ID: id}
				}
				objs, err := tx.GetObjects(ctx, keys)
				if err != nil {
					return err
				}
				found, err := toObjects(objs)
				if err != nil {
					return err
				}
				v.trim(found)
				out = append(out, found...)
			}
		}
		return nil
	})
	return out, err
}
