package storetest

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

type pagingRow struct {
	id, upn, name string
	at            time.Time
}

// pageAll follows a query's cursors to the end, checking page sizes.
func pageAll(t testing.TB, s store.Store, q store.Query) []string {
	t.Helper()
	var out []string
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
		var p store.Page
		view(t, s, func(tx store.Tx) error {
			var err error
			p, err = tx.ListObjects(t.Context(), "t1", kindUser, q)
			return err
		})
		out = append(out, ids(p.Objects)...)
		if p.Next == "" {
			return out
		}
		if len(p.Objects) != q.Top {
			t.Fatalf("a page of %d objects before the last, want %d", len(p.Objects), q.Top)
		}
		q.Cursor = p.Next
	}
}

// testPaging pages through a few hundred objects whose sort keys tie often
// (also across letter case) and checks that every order returns every
// object exactly once, in the order Go computes for the same rules.
func testPaging(t *testing.T, s store.Store) {
	newTenant(t, s, "t1")
	displayNames := []string{"alpha", "Alpha", "beta", "Gamma", "gamma", "delta", ""}
	const n = 300
	rows := make([]pagingRow, n)
	objs := make([]*store.Object, n)
	for i := range n {
		r := pagingRow{id: fmt.Sprintf("p%05d", i*7919%10007), name: displayNames[i%len(displayNames)], at: base.Add(time.Duration(i%5) * time.Minute)}
		if i%2 == 0 {
			r.upn = "u" + r.id + "@x.example"
		}
		rows[i] = r
		objs[i] = &store.Object{TenantID: "t1", Kind: kindUser, ID: r.id, UPN: r.upn, DisplayName: r.name, CreatedAt: r.at, UpdatedAt: r.at}
	}
	create(t, s, objs...)

	byName := func(a, b pagingRow) int { return cmp.Compare(strings.ToLower(a.name), strings.ToLower(b.name)) }
	byID := func(a, b pagingRow) int { return cmp.Compare(a.id, b.id) }
	for _, tc := range []struct {
		name   string
		order  []odata.OrderBy
		filter odata.Expr
		keep   func(pagingRow) bool
		less   func(a, b pagingRow) int
	}{
		{name: "default", less: byID},
		{name: "displayName", order: orderBy("displayName", false), less: func(a, b pagingRow) int { return cmp.Or(byName(a, b), byID(a, b)) }},
		{name: "displayName desc", order: orderBy("displayName", true), less: func(a, b pagingRow) int { return -cmp.Or(byName(a, b), byID(a, b)) }},
		{name: "mixed directions", order: []odata.OrderBy{{Property: "createdDateTime", Desc: true}, {Property: "displayName"}},
			less: func(a, b pagingRow) int { return cmp.Or(b.at.Compare(a.at), byName(a, b), byID(a, b)) }},
		{name: "unset keys first", order: orderBy("userPrincipalName", false),
			less: func(a, b pagingRow) int { return cmp.Or(cmp.Compare(a.upn, b.upn), byID(a, b)) }},
		{name: "filtered", order: orderBy("displayName", false), filter: compare("displayName", "ne", str("BETA")),
			keep: func(r pagingRow) bool { return r.name != "beta" },
			less: func(a, b pagingRow) int { return cmp.Or(byName(a, b), byID(a, b)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			sorted := slices.Clone(rows)
			slices.SortFunc(sorted, tc.less)
			for _, r := range sorted {
				if tc.keep == nil || tc.keep(r) {
					want = append(want, r.id)
				}
			}
			got := pageAll(t, s, store.Query{Schema: userSchema, Filter: tc.filter, OrderBy: tc.order, Top: 7})
			if !slices.Equal(got, want) {
				t.Errorf("paged %d objects in an order other than the %d expected:\ngot  %v\nwant %v", len(got), len(want), got, want)
			}
		})
	}
}

func testBadQueries(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	var objs []*store.Object
	for i := range 5 {
		objs = append(objs, user("t1", fmt.Sprintf("u%d", i), fmt.Sprintf("u%d@x.example", i), fmt.Sprintf("User %d", i), `{}`))
	}
	create(t, s, objs...)
	first := func(q store.Query) string {
		var p store.Page
		view(t, s, func(tx store.Tx) error {
			var err error
			p, err = tx.ListObjects(ctx, "t1", kindUser, q)
			return err
		})
		if p.Next == "" {
			t.Fatalf("no next page for %+v", q)
		}
		return p.Next
	}
	byName := first(store.Query{Schema: userSchema, OrderBy: orderBy("displayName", false), Top: 2})
	byID := first(store.Query{Top: 2})
	list := func(q store.Query) error {
		return s.View(ctx, func(tx store.Tx) error {
			_, err := tx.ListObjects(ctx, "t1", kindUser, q)
			return err
		})
	}
	for _, tc := range []struct {
		name string
		q    store.Query
	}{
		{"not base64", store.Query{Top: 2, Cursor: "%%%"}},
		{"not JSON", store.Query{Top: 2, Cursor: base64.RawURLEncoding.EncodeToString([]byte("{"))}},
		{"another order's cursor", store.Query{Schema: userSchema, OrderBy: orderBy("displayName", true), Top: 2, Cursor: byName}},
		{"the default order's cursor", store.Query{Schema: userSchema, OrderBy: orderBy("displayName", false), Top: 2, Cursor: byID}},
		{"a sorted cursor without the order", store.Query{Top: 2, Cursor: byName}},
	} {
		wantErr(t, tc.name, list(tc.q), store.ErrBadCursor)
	}
	for _, tc := range []struct {
		name string
		q    store.Query
	}{
		{"top 0", store.Query{Top: 0}},
		{"top 1000", store.Query{Top: 1000}},
		{"unknown property", store.Query{Schema: userSchema, Filter: compare("nope", "eq", str("x")), Top: 1}},
		{"filter without schema", store.Query{Filter: compare("userType", "eq", str("x")), Top: 1}},
		{"unsortable property", store.Query{Schema: userSchema, OrderBy: orderBy("userType", false), Top: 1}},
	} {
		if err := list(tc.q); err == nil {
			t.Errorf("%s: nil error", tc.name)
		}
	}
	// The cursor a query issued still works for it.
	if err := list(store.Query{Schema: userSchema, OrderBy: orderBy("displayName", false), Top: 2, Cursor: byName}); err != nil {
		t.Errorf("the issued cursor: %v", err)
	}
	err := s.View(ctx, func(tx store.Tx) error {
		_, err := tx.Changes(ctx, "t1", nil, 0, 0)
		return err
	})
	if err == nil {
		t.Error("Changes with limit 0: nil error")
	}
}
