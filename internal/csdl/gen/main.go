// Command gen writes Gatehouse's $metadata (internal/csdl/metadata.xml):
// the part of Microsoft Graph's v1.0 CSDL (microsoftgraph/msgraph-metadata,
// schemas/v1.0-Prod.csdl) that Gatehouse serves. It keeps the entity sets
// and singletons below with the entity types they reach, every structural
// property of those types (Gatehouse answers a property it does not store
// as unset, as Graph does), only the navigation properties Gatehouse serves,
// and the complex and enum types the kept properties need. Run it when a
// route or a served relationship is added:
//
//	go run ./internal/csdl/gen -in path/to/v1.0-Prod.csdl -out internal/csdl/metadata.xml
package main

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"strings"
)

// sets are the entity sets and singletons Gatehouse serves (at least in
// part), each with the navigation properties it serves.
var sets = map[string][]string{
	"applications":           {"owners"},
	"servicePrincipals":      {"owners", "appRoleAssignedTo", "appRoleAssignments"},
	"users":                  {"memberOf", "sponsors", "authentication"},
	"groups":                 {"members", "owners", "memberOf"},
	"directoryObjects":       nil,
	"directoryRoles":         {"members"},
	"domains":                nil,
	"organization":           nil,
	"oauth2PermissionGrants": nil,
	"invitations":            {"invitedUser"},
	"me":                     {"memberOf", "sponsors", "authentication"},
	"directory":              {"deletedItems"},
	"auditLogs":              {"directoryAudits", "signIns"},
	"identity":               {"identityProviders"},
	"policies": {"authorizationPolicy", "crossTenantAccessPolicy", "identitySecurityDefaultsEnforcementPolicy",
		"authenticationMethodsPolicy", "tokenLifetimePolicies"},
	"roleManagement": {"directory"},
}

// navs are the served navigation properties of types reached from the sets.
var navs = map[string][]string{
	"rbacApplication":             {"roleDefinitions", "roleAssignments"},
	"crossTenantAccessPolicy":     {"default", "partners"},
	"authentication":              {"methods", "emailMethods", "passwordMethods", "softwareOathMethods"},
	"authenticationMethodsPolicy": {"authenticationMethodConfigurations"},
	"organization":                {"branding"},
	"organizationalBranding":      {"localizations"},
	"unifiedRoleAssignment":       {"roleDefinition"},
}

// also are types served that no kept property names: the concrete types of
// abstract ones.
var also = []string{"socialIdentityProvider", "oidcIdentityProvider", "emailAuthenticationMethod",
	"passwordAuthenticationMethod", "softwareOathAuthenticationMethod", "emailAuthenticationMethodConfiguration",
	"domainDnsTxtRecord", "oidcClientSecretAuthentication"}

type node struct {
	name     string
	attrs    []xml.Attr
	children []*node
}

func (n *node) attr(name string) string {
	for _, a := range n.attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func parse(r io.Reader) (*node, error) {
	d := xml.NewDecoder(r)
	root := &node{}
	stack := []*node{root}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return root, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var attrs []xml.Attr
			for _, a := range t.Attr {
				if a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
					attrs = append(attrs, xml.Attr{Name: xml.Name{Local: a.Name.Local}, Value: a.Value})
				}
			}
			n := &node{name: t.Name.Local, attrs: attrs}
			top := stack[len(stack)-1]
			top.children = append(top.children, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}

func write(b *bytes.Buffer, n *node, indent string) {
	b.WriteString(indent + "<" + n.name)
	for _, a := range n.attrs {
		b.WriteString(" " + a.Name.Local + `="`)
		_ = xml.EscapeText(b, []byte(a.Value))
		b.WriteString(`"`)
	}
	if len(n.children) == 0 {
		b.WriteString(" />\n")
		return
	}
	b.WriteString(">\n")
	for _, c := range n.children {
		write(b, c, indent+"  ")
	}
	b.WriteString(indent + "</" + n.name + ">\n")
}

// local strips the namespace or alias and a Collection() from a type name.
func local(t string) (string, bool) {
	t = strings.TrimSuffix(strings.TrimPrefix(t, "Collection("), ")")
	for _, p := range []string{"microsoft.graph.", "graph."} {
		if rest, ok := strings.CutPrefix(t, p); ok && !strings.Contains(rest, ".") {
			return rest, true
		}
	}
	return "", false
}

func main() {
	in := flag.String("in", "", "Microsoft Graph's v1.0 CSDL")
	out := flag.String("out", "internal/csdl/metadata.xml", "where to write Gatehouse's")
	flag.Parse()
	f, err := os.Open(*in)
	if err != nil {
		log.Fatal(err)
	}
	root, err := parse(f)
	f.Close()
	if err != nil {
		log.Fatal(err)
	}
	var schema *node
	for _, ds := range root.children[0].children[0].children {
		if ds.name == "Schema" && ds.attr("Namespace") == "microsoft.graph" {
			schema = ds
		}
	}
	types := map[string]*node{}
	var container *node
	for _, c := range schema.children {
		switch c.name {
		case "EntityType", "ComplexType", "EnumType", "TypeDefinition":
			types[c.attr("Name")] = c
		case "EntityContainer":
			container = c
		}
	}

	keep := map[string]bool{}
	served := map[string][]string{} // entity type → served navigation properties
	for k, v := range navs {
		served[k] = v
	}
	var queue []string
	need := func(t string) {
		name, ok := local(t)
		if !ok || keep[name] {
			return
		}
		if _, ok := types[name]; !ok {
			log.Fatalf("type %s not in the CSDL", t)
		}
		keep[name] = true
		queue = append(queue, name)
	}
	var kept []*node
	for _, c := range container.children {
		navsOf, ok := sets[c.attr("Name")]
		if !ok {
			continue
		}
		t := c.attr("EntityType") + c.attr("Type")
		name, _ := local(t)
		served[name] = append(served[name], navsOf...)
		need(t)
		var bindings []*node
		for _, b := range c.children {
			if b.name == "NavigationPropertyBinding" && slices.Contains(navsOf, b.attr("Path")) {
				bindings = append(bindings, b)
			}
		}
		kept = append(kept, &node{name: c.name, attrs: c.attrs, children: bindings})
	}
	if len(kept) != len(sets) {
		log.Fatalf("found %d of the %d entity sets and singletons", len(kept), len(sets))
	}
	for _, t := range also {
		need("graph." + t)
	}
	for len(queue) > 0 {
		n := types[queue[0]]
		queue = queue[1:]
		if base := n.attr("BaseType"); base != "" {
			need(base)
		}
		if ut := n.attr("UnderlyingType"); ut != "" {
			need(ut)
		}
		var children []*node
		for _, p := range n.children {
			switch p.name {
			case "Property":
				need(p.attr("Type"))
			case "NavigationProperty":
				if !slices.Contains(served[n.attr("Name")], p.attr("Name")) {
					continue
				}
				need(p.attr("Type"))
			case "Annotation":
				continue
			}
			children = append(children, p)
		}
		n.children = children
	}
	// A served navigation property of a base type reached only later.
	for name, ns := range served {
		if n := types[name]; keep[name] {
			for _, nav := range ns {
				if !slices.ContainsFunc(n.children, func(c *node) bool { return c.attr("Name") == nav }) && !inherited(types, n, nav) {
					log.Fatalf("%s has no navigation property %s", name, nav)
				}
			}
		}
	}

	out2 := &node{name: "Schema", attrs: []xml.Attr{{Name: xml.Name{Local: "Namespace"}, Value: "microsoft.graph"}, {Name: xml.Name{Local: "Alias"}, Value: "graph"},
		{Name: xml.Name{Local: "xmlns"}, Value: "http://docs.oasis-open.org/odata/ns/edm"}}}
	for _, c := range schema.children {
		if keep[c.attr("Name")] && c.name != "EntityContainer" {
			out2.children = append(out2.children, c)
		}
	}
	out2.children = append(out2.children, &node{name: "EntityContainer", attrs: container.attrs, children: kept})
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	b.WriteString(`<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">` + "\n  <edmx:DataServices>\n")
	write(&b, out2, "    ")
	b.WriteString("  </edmx:DataServices>\n</edmx:Edmx>\n")
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "%d types, %d entity sets and singletons, %d bytes\n", len(keep), len(kept), b.Len())
}

func inherited(types map[string]*node, n *node, nav string) bool {
	for base, ok := local(n.attr("BaseType")); ok; base, ok = local(types[base].attr("BaseType")) {
		if slices.ContainsFunc(types[base].children, func(c *node) bool { return c.attr("Name") == nav }) {
			return true
		}
	}
	return false
}
