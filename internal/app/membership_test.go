package app_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
)

// deltaMembers is the members@delta of a group in one delta page, as
// "id" or "id removed", with the @odata.type of each when given.
func deltaMembers(t *testing.T, page reply, group string) (ids []string, types []string, present bool) {
	t.Helper()
	for _, v := range page.values() {
		if v["id"] != group {
			continue
		}
		ms, ok := v["members@delta"].([]any)
		if !ok {
			return nil, nil, false
		}
		for _, m := range ms {
			m := m.(map[string]any)
			id := m["id"].(string)
			if _, removed := m["@removed"]; removed {
				id += " removed"
			}
			ids = append(ids, id)
			typ, _ := m["@odata.type"].(string)
			types = append(types, typ)
		}
		return ids, types, true
	}
	t.Fatalf("group %s not in the delta page: %s", group, page.raw)
	return nil, nil, false
}

// TestMembershipForSyncTools: what a sync tool reads of memberships —
// members@delta from the first round, transitive members and memberships,
// roles among memberOf — and how scripts write them: @odata.bind on
// create and PATCH, and the SDK's DELETE …/$ref?@id=.
func TestMembershipForSyncTools(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		b := e.tenant("Fabrikam", "fabrikam.example")
		eventual := []string{"ConsistencyLevel", "eventual"}
		newGroup := func(name string, extra map[string]any) reply {
			body := map[string]any{"displayName": name, "mailEnabled": false, "mailNickname": name, "securityEnabled": true}
			for k, v := range extra {
				body[k] = v
			}
			return e.call("POST", "/v1.0/groups", a.token, body)
		}
		objectURL := func(id string) string { return e.url + "/v1.0/directoryObjects/" + id }
		u1, u2 := e.addUser(a, "uno"), e.addUser(a, "dos")
		sub := newGroup("sub", map[string]any{"members@odata.bind": []any{objectURL(u2)}}).body["id"].(string)
		created := newGroup("top", map[string]any{"members@odata.bind": []any{objectURL(u1), objectURL(sub)}, "owners@odata.bind": []any{objectURL(u2)}})
		if created.status != 201 {
			t.Fatalf("create with binds: %s", created.raw)
		}
		top := created.body["id"].(string)
		if got := ids(e.mustCall(200, "GET", "/v1.0/groups/"+top+"/owners", a.token, nil).values()); !slices.Equal(got, []string{u2}) {
			t.Errorf("bound owners = %v", got)
		}
		e.mustCall(204, "POST", "/v1.0/directoryRoles/"+authz.DirectoryReaders+"/members/$ref", a.token, e.ref(u1))

		// A bind naming nothing creates nothing; a malformed one is a 400.
		if r := newGroup("ghost", map[string]any{"members@odata.bind": []any{objectURL("00000000-0000-0000-0000-0000000000aa")}}); r.status != 404 {
			t.Errorf("bind to a missing object: %s", r.raw)
		}
		if l := e.mustCall(200, "GET", "/v1.0/groups?$filter="+url.QueryEscape("displayName eq 'ghost'"), a.token, nil).values(); len(l) != 0 {
			t.Errorf("a refused create left a group: %v", l)
		}
		for _, bad := range []any{"not a list", []any{"https://x/v1.0/users/nope"}} {
			if r := newGroup("bad", map[string]any{"members@odata.bind": bad}); r.status != 400 || r.errorCode() != "Request_BadRequest" {
				t.Errorf("bind %v: %s", bad, r.raw)
			}
		}
		e.mustCall(404, "PATCH", "/v1.0/groups/"+top, b.token, map[string]any{"members@odata.bind": []any{objectURL(u2)}})

		// The first round of groups/delta carries members@delta.
		firstRound := func(query string) reply {
			var last reply
			for link := "/v1.0/groups/delta" + query; link != ""; link, _ = last.body["@odata.nextLink"].(string) {
				last = e.mustCall(200, "GET", link, a.token, nil)
				if _, ok := last.body["@odata.deltaLink"]; ok {
					break
				}
			}
			return last
		}
		page := firstRound("")
		members, types, ok := deltaMembers(t, page, top)
		if !ok || !sameSet(members, []string{u1, sub}) || !slices.Contains(types, "#microsoft.graph.group") || !slices.Contains(types, "#microsoft.graph.user") {
			t.Errorf("first round members@delta = %v %v (present %v)", members, types, ok)
		}
		page = firstRound("?$select=displayName,members")
		if members, _, ok := deltaMembers(t, page, top); !ok || len(members) != 2 {
			t.Errorf("$select=displayName,members: %v", members)
		}
		if _, _, ok := deltaMembers(t, firstRound("?$select=displayName"), top); ok {
			t.Errorf("members@delta without members selected")
		}
		// Later rounds: added members, not owners.
		link := page.body["@odata.deltaLink"].(string)
		if !strings.Contains(link, "members") {
			t.Errorf("the delta link dropped $select=members: %s", link)
		}
		e.mustCall(204, "POST", "/v1.0/groups/"+top+"/owners/$ref", a.token, e.ref(u1))
		e.mustCall(204, "PATCH", "/v1.0/groups/"+top, a.token, map[string]any{"members@odata.bind": []any{objectURL(u2)}})
		next := e.mustCall(200, "GET", link, a.token, nil)
		if members, _, _ := deltaMembers(t, next, top); !slices.Equal(members, []string{u2}) {
			t.Errorf("members@delta after binding u2 and adding an owner = %v", members)
		}

		// Transitive members and memberships.
		want := map[string][]string{
			"/v1.0/groups/" + top + "/transitiveMembers":            {u1, u2, sub},
			"/v1.0/groups/" + top + "/transitiveMembers/graph.user": {u1, u2},
			"/v1.0/users/" + u2 + "/transitiveMemberOf":             {sub, top},
			"/v1.0/groups/" + sub + "/transitiveMemberOf":           {top},
			"/v1.0/users/" + u1 + "/memberOf":                       {top, authz.DirectoryReaders},
			"/v1.0/users/" + u1 + "/transitiveMemberOf":             {top, authz.DirectoryReaders},
			"/v1.0/users/" + u1 + "/memberOf/graph.directoryRole":   {authz.DirectoryReaders},
		}
		for path, ids := range want {
			var got []string
			for link := path + "?$top=1"; link != ""; {
				r := e.mustCall(200, "GET", link, a.token, nil)
				if len(r.values()) > 1 {
					t.Errorf("%s: a page over $top=1: %s", path, r.raw)
				}
				for _, v := range r.values() {
					got = append(got, v["id"].(string))
					if v["id"] == authz.DirectoryReaders && v["@odata.type"] != "#microsoft.graph.directoryRole" {
						t.Errorf("%s: role as %v", path, v)
					}
				}
				link, _ = r.body["@odata.nextLink"].(string)
				if len(got) > 10 {
					t.Fatalf("%s does not end: %v", path, got)
				}
			}
			if !sameSet(got, ids) {
				t.Errorf("%s = %v, want %v", path, got, ids)
			}
			count := e.mustCall(200, "GET", path+"/$count", a.token, nil, eventual...)
			if count.raw != fmt.Sprint(len(ids)) {
				t.Errorf("%s/$count = %s, want %d", path, count.raw, len(ids))
			}
		}
		e.mustCall(404, "GET", "/v1.0/groups/"+top+"/transitiveMembers", b.token, nil)
		e.mustCall(400, "GET", "/v1.0/groups/"+top+"/transitiveMembers?$skiptoken=%25%25", a.token, nil)

		// The SDK's form of removing a reference.
		e.mustCall(204, "DELETE", "/v1.0/groups/"+top+"/members/$ref?@id="+url.QueryEscape(objectURL(u2)), a.token, nil)
		e.mustCall(404, "DELETE", "/v1.0/groups/"+top+"/members/$ref?@id="+url.QueryEscape(objectURL(u2)), a.token, nil)
		e.mustCall(400, "DELETE", "/v1.0/groups/"+top+"/members/$ref", a.token, nil)
		e.mustCall(404, "DELETE", "/v1.0/groups/"+top+"/owners/$ref?@id="+url.QueryEscape(objectURL(u1)), b.token, nil)
		e.mustCall(204, "DELETE", "/v1.0/groups/"+top+"/owners/$ref?@id="+url.QueryEscape(objectURL(u1)), a.token, nil)
		if got := ids(e.mustCall(200, "GET", "/v1.0/groups/"+top+"/members", a.token, nil).values()); !sameSet(got, []string{u1, sub}) {
			t.Errorf("members after removing u2 = %v", got)
		}
	})
}
