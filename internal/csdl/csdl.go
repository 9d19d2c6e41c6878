// Package csdl is Gatehouse's part of Microsoft Graph's v1.0 schema: the
// CSDL document served as /v1.0/$metadata, generated from Microsoft's (see
// gen), and the structural properties of each entity type in it, inherited
// ones included, which tell a real Graph property from a made-up name.
package csdl

import (
	_ "embed"
	"encoding/xml"
	"strings"
	"sync"
)

//go:generate go run ./gen -in ${GRAPH_CSDL} -out metadata.xml

//go:embed metadata.xml
var document []byte

// Document is the CSDL served as $metadata.
func Document() []byte { return document }

// Property is a structural property of an entity type.
type Property struct {
	Name       string
	Collection bool // Collection(…)
	Nullable   bool
}

type edmx struct {
	Schemas []struct {
		EntityTypes []struct {
			Name       string `xml:"Name,attr"`
			BaseType   string `xml:"BaseType,attr"`
			Properties []struct {
				Name     string `xml:"Name,attr"`
				Type     string `xml:"Type,attr"`
				Nullable string `xml:"Nullable,attr"`
			} `xml:"Property"`
		} `xml:"EntityType"`
	} `xml:"DataServices>Schema"`
}

// types maps an entity type's name to its properties by lower-case name.
var types = sync.OnceValue(func() map[string]map[string]Property {
	var doc edmx
	if err := xml.Unmarshal(document, &doc); err != nil {
		// The document is embedded and generated: a test parses it.
		return nil
	}
	own := map[string]map[string]Property{}
	bases := map[string]string{}
	for _, s := range doc.Schemas {
		for _, t := range s.EntityTypes {
			props := map[string]Property{}
			for _, p := range t.Properties {
				props[strings.ToLower(p.Name)] = Property{Name: p.Name, Collection: strings.HasPrefix(p.Type, "Collection("), Nullable: p.Nullable != "false"}
			}
			own[t.Name] = props
			bases[t.Name] = strings.TrimPrefix(t.BaseType, "graph.")
		}
	}
	all := make(map[string]map[string]Property, len(own))
	for name := range own {
		props := map[string]Property{}
		for t := name; t != ""; t = bases[t] {
			for k, p := range own[t] {
				if _, ok := props[k]; !ok {
					props[k] = p
				}
			}
		}
		all[name] = props
	}
	return all
})

// Lookup finds a structural property of an entity type (of microsoft.graph,
// e.g. "user") by name, case-insensitively, as OData matches $select.
func Lookup(typeName, name string) (Property, bool) {
	p, ok := types()[typeName][strings.ToLower(name)]
	return p, ok
}

// Has reports whether the document declares the entity type.
func Has(typeName string) bool {
	_, ok := types()[typeName]
	return ok
}
