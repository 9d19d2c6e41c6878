package odata

// PropType is the type of a filterable or sortable property.
type PropType int

const (
	TypeString PropType = iota
	TypeBool
	TypeInt
	TypeDateTime
	TypeGUID
	TypeStringCollection  // e.g. otherMails, businessPhones
	TypeComplexCollection // e.g. identities; element fields in Property.Fields
)

// Property describes how a resource property may be queried and where it lives.
// Column names a typed column of the objects table (see internal/store) when the
// property is stored there; otherwise the value is read from the JSON document
// under Name. Folded columns hold lower-cased values, so literals compared with
// them are lower-cased too; every other string comparison is case-insensitive
// on both sides, as Graph's directory comparisons are.
type Property struct {
	Name   string
	Type   PropType
	Column string
	Folded bool
	// Ops lists the operators Graph supports on this property without advanced
	// query parameters ("eq", "ne", "not", "in", "ge", "le", "startsWith",
	// "endsWith", "any", "count"). AdvancedOps lists those that need
	// ConsistencyLevel: eventual and $count=true. On a string collection
	// they also extend what its elements take inside any(), beyond eq, in and
	// startsWith (and ne and not with the advanced parameters).
	Ops         []string
	AdvancedOps []string
	// Sortable properties may appear in $orderby; they must have a Column.
	Sortable bool
	// Fields describes the elements of a TypeComplexCollection.
	Fields map[string]Property
	// Requires, on a field of a TypeComplexCollection, names other fields
	// (keys of the same Fields) that a lambda using this field must also pin
	// with eq or in: Graph rejects identities/any(c:c/issuerAssignedId eq 'x')
	// unless c/issuer is constrained too.
	Requires []string
}

// Schema is the queryable surface of one resource kind, keyed by property name
// as it appears in URLs (Graph property names, matched case-insensitively).
type Schema struct {
	Resource   string // "User", "Group", … as named in Graph's error messages
	Properties map[string]Property
}
