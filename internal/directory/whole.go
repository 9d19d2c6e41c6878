package directory

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Kinds that are not stored as objects: the built-in roles are the same in
// every tenant, and domains live in their own table.
const (
	KindDirectoryRole  = "directoryRole"
	KindRoleDefinition = "unifiedRoleDefinition"
	KindDomain         = "domain"
)

// The sets served whole are filtered in memory, so only what their schemas
// name is filterable; Graph documents eq and in on these.
var directoryRoleSpec = (&kindSpec{
	kind: KindDirectoryRole, typeName: "directoryRole", resource: "DirectoryRole",
	props: map[string]prop{
		"id": ro(tString), "roleTemplateId": ro(tString), "displayName": ro(tString), "description": ro(tString), "deletedDateTime": ro(tDateTime),
	},
	schema: &odata.Schema{Resource: "DirectoryRole", Properties: map[string]odata.Property{
		"id":             {Name: "id", Type: odata.TypeGUID, Ops: ops("eq", "in")},
		"roleTemplateId": {Name: "roleTemplateId", Type: odata.TypeGUID, Ops: ops("eq", "in")},
		"displayName":    {Name: "displayName", Type: odata.TypeString, Ops: ops("eq", "in")},
	}},
}).init()

var roleDefinitionSpec = (&kindSpec{
	kind: KindRoleDefinition, typeName: "unifiedRoleDefinition", resource: "UnifiedRoleDefinition",
	props: map[string]prop{
		"id": ro(tString), "templateId": ro(tString), "displayName": ro(tString), "description": ro(tString),
		"isBuiltIn": ro(tBool), "isEnabled": ro(tBool), "resourceScopes": ro(tStringList), "version": ro(tString),
		"rolePermissions": ro(tObjectList),
	},
	schema: &odata.Schema{Resource: "UnifiedRoleDefinition", Properties: map[string]odata.Property{
		"id":          {Name: "id", Type: odata.TypeGUID, Ops: ops("eq", "in")},
		"templateId":  {Name: "templateId", Type: odata.TypeGUID, Ops: ops("eq", "in")},
		"displayName": {Name: "displayName", Type: odata.TypeString, Ops: ops("eq", "in")},
		"isBuiltIn":   {Name: "isBuiltIn", Type: odata.TypeBool, Ops: ops("eq", "in")},
	}},
}).init()

// Domains and the organization take $select only: every $filter is
// Graph's Request_UnsupportedQuery.
var domainSpec = (&kindSpec{
	kind: KindDomain, typeName: "domain", resource: "Domain",
	props: map[string]prop{
		"id": ro(tString), "authenticationType": ro(tString), "isDefault": ro(tBool), "isInitial": ro(tBool),
		"isVerified": ro(tBool), "isAdminManaged": ro(tBool), "isRoot": ro(tBool), "supportedServices": ro(tStringList),
		"passwordValidityPeriodInDays": ro(tInt), "passwordNotificationWindowInDays": ro(tInt), "availabilityStatus": ro(tString), "state": ro(tObject),
	},
	schema: &odata.Schema{Resource: "Domain"},
}).init()

// ListWhole lists one of the resource sets small enough to be served
// whole — directory roles, role definitions, domains, the organization —
// narrowed by filter, which is bound to the kind's schema first so that an
// unsupported filter is refused rather than ignored.
func (s *Service) ListWhole(ctx context.Context, tenantID, kind string, filter odata.Expr) ([]Object, error) {
	if err := s.checkRolesRead(ctx, tenantID, kind); err != nil {
		return nil, err
	}
	bound, _, err := bindQuery(specs[kind], Query{Filter: filter})
	if err != nil {
		return nil, err
	}
	var all []Object
	switch kind {
	case KindDirectoryRole, KindRoleDefinition:
		for _, r := range RoleDefinitions {
			all = append(all, r.object(kind))
		}
	case KindDomain:
		doms, err := s.ListDomains(ctx, tenantID)
		if err != nil {
			return nil, err
		}
		for _, d := range doms {
			all = append(all, Object{Kind: KindDomain, ID: d.Name, Doc: DomainDoc(d)})
		}
	case KindOrganization:
		org, err := s.Organization(ctx, tenantID)
		if err != nil {
			return nil, err
		}
		all = append(all, org)
	default:
		return nil, fmt.Errorf("directory: %s is not served whole", kind)
	}
	out := all[:0]
	for _, o := range all {
		if odata.Match(bound, o.Doc) {
			out = append(out, o)
		}
	}
	return out, nil
}

// GetWhole returns one member of a set ListWhole serves, by id; a directory
// role is also found by "roleTemplateId=<id>".
func (s *Service) GetWhole(ctx context.Context, tenantID, kind, id string) (Object, error) {
	if err := s.checkRolesRead(ctx, tenantID, kind); err != nil {
		return Object{}, err
	}
	switch kind {
	case KindDirectoryRole, KindRoleDefinition:
		if kind == KindDirectoryRole {
			id = strings.TrimPrefix(id, "roleTemplateId=")
		}
		r, ok := FindRole(id)
		if !ok {
			return Object{}, notFound(id)
		}
		return r.object(kind), nil
	case KindDomain:
		d, err := s.GetDomain(ctx, tenantID, id)
		if err != nil {
			return Object{}, err
		}
		return Object{Kind: KindDomain, ID: d.Name, Doc: DomainDoc(d)}, nil
	case KindOrganization:
		if !strings.EqualFold(id, tenantID) {
			return Object{}, notFound(id)
		}
		return s.Organization(ctx, tenantID)
	}
	return Object{}, fmt.Errorf("directory: %s is not served whole", kind)
}

// checkRolesRead lets the caller read the built-in roles (directory roles,
// role definitions) only if they may read roles at all; the other sets
// served whole are checked where they are read.
func (s *Service) checkRolesRead(ctx context.Context, tenantID, kind string) error {
	if kind != KindDirectoryRole && kind != KindRoleDefinition {
		return nil
	}
	return s.st.View(ctx, func(tx store.Tx) error { return mayReadArea(ctx, tx, tenantID, authz.AreaRoleDefinitions) })
}

// object renders a built-in role as a directory role or a role definition.
func (r RoleDefinition) object(kind string) Object {
	if kind == KindDirectoryRole {
		return Object{Kind: kind, ID: r.ID, Doc: r.directoryRoleDoc()}
	}
	return Object{Kind: kind, ID: r.ID, Doc: r.doc()}
}
