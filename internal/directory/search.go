package directory

import (
	"context"
	"slices"
	"strings"
	"unicode"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// Search is a parsed $search: clauses "property:term", any of the groups
// (OR) whose clauses all match (AND).
type Search [][]searchClause

type searchClause struct {
	property string
	terms    []string // the term's tokens, for tokenized properties
	prefix   string   // the folded term, for the others
}

// searchable are the properties $search takes per kind; displayName and
// description are tokenized as Graph does, the others match as startsWith.
var searchable = map[string]map[string]bool{
	KindUser:  {"displayName": true, "mail": false, "userPrincipalName": false, "givenName": false, "surname": false, "mailNickname": false},
	KindGroup: {"displayName": true, "description": true, "mail": false, "mailNickname": false},
}

// maxSearched bounds the objects one search reads: it matches in memory.
const maxSearched = 50_000

func searchError(format string, args ...any) error {
	return usererr.WithCode(usererr.Invalid, "Request_UnsupportedQuery", format, args...)
}

// ParseSearch parses a $search value for a kind, e.g.
// "displayName:wa" OR "mail:wa".
func ParseSearch(kind, v string) (Search, error) {
	props, ok := searchable[kind]
	if !ok {
		return nil, searchError("$search is not supported on this resource.")
	}
	var out Search
	group := []searchClause{}
	rest := strings.TrimSpace(v)
	for expectClause := true; rest != "" || expectClause; expectClause = !expectClause {
		if expectClause {
			if !strings.HasPrefix(rest, `"`) {
				return nil, searchError("Syntax error in $search: each clause is a quoted \"property:term\".")
			}
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				return nil, searchError("Syntax error in $search: unterminated quote.")
			}
			clause := rest[1 : end+1]
			rest = strings.TrimSpace(rest[end+2:])
			name, term, ok := strings.Cut(clause, ":")
			canon := ""
			for p := range props {
				if strings.EqualFold(p, name) {
					canon = p
				}
			}
			if !ok || canon == "" || strings.TrimSpace(term) == "" {
				return nil, searchError("Unsupported $search clause '%s': name a searchable property and a term, as \"displayName:term\".", clause)
			}
			c := searchClause{property: canon, prefix: strings.ToLower(term)}
			if props[canon] {
				c.terms = searchTokens(term)
			}
			group = append(group, c)
			continue
		}
		op, after, _ := strings.Cut(rest, " ")
		switch op {
		case "AND":
		case "OR":
			out = append(out, group)
			group = []searchClause{}
		default:
			return nil, searchError("Syntax error in $search: clauses are joined by AND or OR.")
		}
		rest = strings.TrimSpace(after)
		if rest == "" {
			return nil, searchError("Syntax error in $search: a clause must follow %s.", op)
		}
	}
	return append(out, group), nil
}

// searchTokens splits text into words as Graph's tokenized search does:
// at spaces and symbols, where lower case turns upper case, and between
// letters and digits; words joined only by symbols also count as one.
func searchTokens(s string) []string {
	var out []string
	for word := range strings.FieldsSeq(s) {
		segments := strings.FieldsFunc(word, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		for _, seg := range segments {
			out = append(out, splitCase(seg)...)
		}
		if len(segments) > 1 {
			out = append(out, strings.ToLower(strings.Join(segments, "")))
		}
	}
	return out
}

// splitCase splits a run of letters and digits where lower case turns
// upper case and between letters and digits, folded.
func splitCase(seg string) []string {
	var out []string
	runes := []rune(seg)
	start := 0
	for i := 1; i < len(runes); i++ {
		prev, cur := runes[i-1], runes[i]
		if (unicode.IsLower(prev) && unicode.IsUpper(cur)) || unicode.IsDigit(prev) != unicode.IsDigit(cur) {
			out = append(out, strings.ToLower(string(runes[start:i])))
			start = i
		}
	}
	return append(out, strings.ToLower(string(runes[start:])))
}

// matches reports whether a document satisfies the search.
func (s Search) matches(d Doc) bool {
	return slices.ContainsFunc(s, func(group []searchClause) bool {
		return !slices.ContainsFunc(group, func(c searchClause) bool { return !c.matches(d) })
	})
}

func (c searchClause) matches(d Doc) bool {
	value := str(d, c.property)
	if c.terms == nil {
		return strings.HasPrefix(strings.ToLower(value), c.prefix)
	}
	tokens := searchTokens(value)
	// Every token of the term starts a token of the value, in any order.
	return !slices.ContainsFunc(c.terms, func(t string) bool {
		return !slices.ContainsFunc(tokens, func(v string) bool { return strings.HasPrefix(v, t) })
	})
}

// SearchList serves one page of a kind's objects that match a search and
// q's filter, in id order; Count is set when q.Count.
func (s *Service) SearchList(ctx context.Context, tenantID, kind string, search Search, q Query) (Page, error) {
	spec := specs[kind]
	var out Page
	err := s.st.View(ctx, func(tx store.Tx) error {
		v, err := mayRead(ctx, tx, tenantID, listing(kind))
		if err != nil {
			return err
		}
		filter, _, err := bindQuery(spec, Query{Filter: q.Filter, Advanced: true})
		if err != nil {
			return err
		}
		var found []Object
		read := 0
		_, err = every(store.Query{Schema: spec.schema, Filter: filter}, func(sq store.Query) (store.Page, error) {
			p, err := tx.ListObjects(ctx, tenantID, kind, sq)
			if err != nil {
				return p, translate(err, "")
			}
			if read += len(p.Objects); read > maxSearched {
				return p, searchError("$search reads at most %d objects; narrow it with $filter.", maxSearched)
			}
			objs, err := toObjects(p.Objects)
			if err != nil {
				return p, err
			}
			for _, o := range objs {
				if search.matches(o.Doc) {
					found = append(found, o)
				}
			}
			p.Objects = nil // kept above; every need not hold them all
			return p, nil
		})
		if err != nil {
			return err
		}
		slices.SortFunc(found, func(a, b Object) int { return strings.Compare(a.ID, b.ID) })
		if out, err = pageOf(found, q); err != nil {
			return err
		}
		if q.Count {
			out.Count = int64(len(found))
		}
		v.trim(out.Objects)
		return nil
	})
	return out, err
}
