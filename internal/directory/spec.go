package directory

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/csdl"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// Doc is a Graph resource as an open JSON object. Numbers decode as json.Number
// so large integers survive a round trip.
type Doc = map[string]any

type valueType int

const (
	tString valueType = iota
	tBool
	tInt
	tDateTime
	tGUID
	tStringList
	tObject
	tObjectList
)

// prop declares one property of a resource: its type and who may write it.
type prop struct {
	typ       valueType
	readOnly  bool // set by the server only
	notNull   bool // may be set, never cleared (null or empty)
	writeOnly bool // accepted, never returned (secrets and their settings)
	maxLen    int  // for strings and list elements; 0: unbounded
	maxItems  int
	enum      []string // canonical spellings; input matched case-insensitively
	check     func(string) error
	fields    map[string]prop // for tObject and tObjectList
	// always makes a tObject present even when unset, its collections as
	// [] (application.web, spa, publicClient read so in Graph).
	always bool
	// onSelect, on a field of a tObjectList, returns it only when $select
	// names the list; otherwise it reads as null (keyCredentials' key).
	onSelect bool
}

// kindSpec describes one resource kind: its store kind, Graph type and
// properties, and which of them a GET without $select returns.
type kindSpec struct {
	kind          string
	typeName      string // "user": rendered as #microsoft.graph.user
	resource      string // "User", as Graph's error messages name it
	props         map[string]prop
	defaultSelect []string // nil: every readable property
	schema        *odata.Schema
	folded        map[string]string // lower-case name → canonical name
}

func (k *kindSpec) init() *kindSpec {
	k.folded = make(map[string]string, len(k.props))
	for name := range k.props {
		k.folded[strings.ToLower(name)] = name
	}
	return k
}

var extensionName = regexp.MustCompile(`^extension_[0-9a-fA-F]{32}_[A-Za-z0-9_]{1,100}$`)

func invalidValue(name, resource string) error {
	return usererr.New(usererr.Invalid, "Invalid value specified for property '%s' of resource '%s'.", name, resource)
}

// normalize validates a write body against the spec and returns it with
// canonical property names and enum spellings. Properties set to null stay
// null (PATCH uses them to clear). Unknown properties, read-only properties and
// values of the wrong type are refused.
func (k *kindSpec) normalize(in Doc) (Doc, error) {
	return normalizeFields(k.props, k.folded, in, k.resource, true)
}

func normalizeFields(props map[string]prop, folded map[string]string, in Doc, resource string, top bool) (Doc, error) {
	out := make(Doc, len(in))
	for name, v := range in {
		if strings.HasPrefix(name, "@odata.") {
			if name == "@odata.type" {
				continue // clients send it on create; the route already fixes the type
			}
			return nil, usererr.New(usererr.Invalid, "Annotation '%s' is not supported in a request body.", name)
		}
		canon, ok := lookupProp(props, folded, name)
		if !ok {
			if top && extensionName.MatchString(name) {
				if err := checkExtensionValue(v); err != nil {
					return nil, invalidValue(name, resource)
				}
				out[name] = v
				continue
			}
			return nil, usererr.New(usererr.Invalid, "Property '%s' does not exist as a declared property or extension property.", name)
		}
		p := props[canon]
		if p.readOnly {
			return nil, usererr.New(usererr.Invalid, "Property '%s' is read-only and cannot be set.", canon)
		}
		nv, err := p.normalizeValue(v, canon, resource)
		if err != nil {
			return nil, err
		}
		out[canon] = nv
	}
	return out, nil
}

// lookupProp finds a declared property case-insensitively; folded is the
// kind's precomputed index, nil for nested complex types (a handful of fields).
func lookupProp(props map[string]prop, folded map[string]string, name string) (string, bool) {
	if folded != nil {
		canon, ok := folded[strings.ToLower(name)]
		return canon, ok
	}
	for canon := range props {
		if strings.EqualFold(canon, name) {
			return canon, true
		}
	}
	return "", false
}

func checkExtensionValue(v any) error {
	switch v.(type) {
	case nil, string, bool, json.Number, float64:
		return nil
	case []any:
		for _, e := range v.([]any) {
			if _, ok := e.(string); !ok {
				return fmt.Errorf("extension collections hold strings")
			}
		}
		return nil
	}
	return fmt.Errorf("unsupported extension value")
}

func (p prop) normalizeValue(v any, name, resource string) (any, error) {
	if p.notNull && (v == nil || v == "") {
		return nil, invalidValue(name, resource)
	}
	if v == nil {
		if p.typ == tStringList || p.typ == tObjectList {
			return []any{}, nil // not-nullable collections: null clears to empty
		}
		return nil, nil
	}
	bad := invalidValue(name, resource)
	switch p.typ {
	case tString, tDateTime, tGUID:
		s, ok := v.(string)
		if !ok {
			return nil, bad
		}
		return p.normalizeString(s, name, resource)
	case tBool:
		if _, ok := v.(bool); !ok {
			return nil, bad
		}
		return v, nil
	case tInt:
		n, ok := v.(json.Number)
		if !ok {
			return nil, bad
		}
		if _, err := n.Int64(); err != nil {
			return nil, bad
		}
		return n, nil
	case tStringList:
		list, ok := v.([]any)
		if !ok || (p.maxItems > 0 && len(list) > p.maxItems) {
			return nil, bad
		}
		out := make([]any, 0, len(list))
		for _, e := range list {
			s, ok := e.(string)
			if !ok {
				return nil, bad
			}
			ns, err := p.normalizeString(s, name, resource)
			if err != nil {
				return nil, err
			}
			out = append(out, ns)
		}
		return out, nil
	case tObject:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, bad
		}
		return normalizeFields(p.fields, nil, m, resource, false)
	case tObjectList:
		list, ok := v.([]any)
		if !ok || (p.maxItems > 0 && len(list) > p.maxItems) {
			return nil, bad
		}
		out := make([]any, 0, len(list))
		for _, e := range list {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, bad
			}
			nm, err := normalizeFields(p.fields, nil, m, resource, false)
			if err != nil {
				return nil, err
			}
			out = append(out, nm)
		}
		return out, nil
	}
	return nil, bad
}

func (p prop) normalizeString(s, name, resource string) (any, error) {
	if p.maxLen > 0 && len([]rune(s)) > p.maxLen {
		return nil, invalidValue(name, resource)
	}
	switch p.typ {
	case tDateTime:
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, invalidValue(name, resource)
		}
		return t.UTC().Format(time.RFC3339), nil
	case tGUID:
		if !IsGUID(s) {
			return nil, invalidValue(name, resource)
		}
		return strings.ToLower(s), nil
	}
	if len(p.enum) > 0 {
		i := slices.IndexFunc(p.enum, func(e string) bool { return strings.EqualFold(e, s) })
		if i < 0 {
			return nil, invalidValue(name, resource)
		}
		return p.enum[i], nil
	}
	if p.check != nil {
		if err := p.check(s); err != nil {
			return nil, usererr.New(usererr.Invalid, "Invalid value specified for property '%s' of resource '%s': %v.", name, resource, err)
		}
	}
	return s, nil
}

// IsGUID reports whether s is a GUID (an object or tenant id), as OData's
// Edm.Guid.
func IsGUID(s string) bool { return odata.IsGUID(s) }

func checkEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return fmt.Errorf("not an email address")
	}
	return nil
}

// merge applies a normalized PATCH body to a stored document: nested objects
// merge property by property, collections and scalars are replaced, and null
// removes a property.
func merge(dst, patch Doc) Doc {
	out := make(Doc, len(dst)+len(patch))
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range patch {
		if v == nil {
			delete(out, k)
			continue
		}
		if pm, ok := v.(map[string]any); ok {
			if dm, ok := out[k].(map[string]any); ok {
				out[k] = merge(dm, pm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// present renders a stored document for a response: write-only properties are
// dropped, not-nullable collections appear as [] and unset properties as
// null. With no selection the kind's default set is returned.
func (k *kindSpec) present(d Doc, sel []string) Doc {
	names := sel
	if len(names) == 0 {
		names = k.defaultSelect
	}
	if len(names) == 0 {
		names = make([]string, 0, len(k.props))
		for name, p := range k.props {
			if !p.writeOnly {
				names = append(names, name)
			}
		}
	}
	out := make(Doc, len(names)+1)
	out["id"] = d["id"]
	for _, name := range names {
		if p, ok := k.props[name]; ok && p.writeOnly {
			// Selected, a write-only property reads as unset, as in Graph
			// (passwordProfile).
			if len(sel) > 0 {
				out[name] = nil
			}
			continue
		}
		v, ok := d[name]
		p, declared := k.props[name]
		switch {
		case declared && p.always:
			v = p.filled(v)
		case !declared && !extensionName.MatchString(name):
			// A Graph property Gatehouse does not keep reads as unset.
			v = nil
			if gp, _ := csdl.Lookup(k.typeName, name); gp.Collection && !gp.Nullable {
				v = []any{}
			}
		case !ok || v == nil:
			if declared && (p.typ == tStringList || p.typ == tObjectList) {
				v = []any{}
			} else {
				v = nil
			}
		case declared && p.typ == tObjectList && len(sel) == 0:
			v = p.withoutOnSelect(v)
		}
		out[name] = v
	}
	return out
}

// filled is an always-present object's value: v's fields, and every
// collection field v lacks as [].
func (p prop) filled(v any) Doc {
	m, _ := v.(map[string]any)
	out := make(Doc, len(p.fields))
	for name, f := range p.fields {
		if f.typ == tStringList || f.typ == tObjectList {
			out[name] = []any{}
		}
	}
	for name, fv := range m {
		if fv != nil {
			out[name] = fv
		}
	}
	return out
}

// withoutOnSelect is a list's items with their onSelect fields as null.
func (p prop) withoutOnSelect(v any) any {
	var hidden []string
	for name, f := range p.fields {
		if f.onSelect {
			hidden = append(hidden, name)
		}
	}
	items, ok := v.([]any)
	if len(hidden) == 0 || !ok {
		return v
	}
	out := make([]any, len(items))
	for i, it := range items {
		m := merge(mapOf(it), nil)
		for _, name := range hidden {
			m[name] = nil
		}
		out[i] = m
	}
	return out
}

// resolveSelect maps a $select list to canonical property names.
func (k *kindSpec) resolveSelect(sel []string) ([]string, error) {
	out := make([]string, 0, len(sel))
	for _, s := range sel {
		if canon, ok := k.folded[strings.ToLower(s)]; ok {
			out = append(out, canon)
			continue
		}
		if extensionName.MatchString(s) {
			out = append(out, s)
			continue
		}
		// Graph answers a property it has no value for as null, so a
		// script selecting one Gatehouse does not keep still works; only
		// names the v1.0 schema does not declare are refused.
		if p, ok := csdl.Lookup(k.typeName, s); ok {
			out = append(out, p.Name)
			continue
		}
		return nil, usererr.New(usererr.Invalid, "Could not find a property named '%s' on type 'microsoft.graph.%s'.", s, k.typeName)
	}
	return out, nil
}
