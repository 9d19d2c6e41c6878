package app_test

import (
	"net/url"
	"testing"
)

// TestSearchWithEventualConsistency: $search on users' and groups'
// displayName (tokenized), mail and userPrincipalName (startsWith), with
// $filter, $count and paging, only with ConsistencyLevel: eventual.
func TestSearchWithEventualConsistency(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		b := e.tenant("Fabrikam", "fabrikam.example")
		eventual := []string{"ConsistencyLevel", "eventual"}
		mk := func(alias, name string) string {
			u := newUser(alias, a.domain)
			u["displayName"] = name
			return e.mustCall(201, "POST", "/v1.0/users", a.token, u).body["id"].(string)
		}
		wanda, walter, olga := mk("wanda.maximoff", "Wanda Maximoff"), mk("walt", "WalterWhite"), mk("olga", "Olga Wade")
		e.mustCall(201, "POST", "/v1.0/groups", a.token, map[string]any{"displayName": "OneVideo Team", "mailEnabled": false, "mailNickname": "onevideo", "securityEnabled": true})
		search := func(token, path, q string, extra ...string) reply {
			return e.mustCall(200, "GET", path+"?$search="+url.QueryEscape(q)+extra0(extra), token, nil, eventual...)
		}
		for q, want := range map[string][]string{
			`"displayName:wa"`:                               {wanda, walter, olga},
			`"displayName:white"`:                            {walter},
			`"displayName:max wan"`:                          {wanda},
			`"mail:nobody"`:                                  nil,
			`"userPrincipalName:wanda.m"`:                    {wanda},
			`"displayName:olga" OR "userPrincipalName:walt"`: {olga, walter},
			`"displayName:wa" AND "displayName:wade"`:        {olga},
		} {
			if got := ids(search(a.token, "/v1.0/users", q).values()); !sameSet(got, want) {
				t.Errorf("users $search=%s = %v, want %v", q, got, want)
			}
		}
		if got := ids(search(a.token, "/v1.0/users", `"displayName:wa"`, "&$filter="+url.QueryEscape("startsWith(userPrincipalName,'o')")).values()); !sameSet(got, []string{olga}) {
			t.Errorf("$search with $filter = %v", got)
		}
		counted := search(a.token, "/v1.0/users", `"displayName:wa"`, "&$count=true&$top=2")
		if len(counted.values()) != 2 || counted.body["@odata.count"] != float64(3) || counted.body["@odata.nextLink"] == nil {
			t.Fatalf("$search with $count and $top: %s", counted.raw)
		}
		rest := e.mustCall(200, "GET", counted.body["@odata.nextLink"].(string), a.token, nil, eventual...).values()
		if got := append(ids(counted.values()), ids(rest)...); !sameSet(got, []string{wanda, walter, olga}) {
			t.Errorf("$search pages = %v", got)
		}
		if got := search(a.token, "/v1.0/groups", `"displayName:video"`).values(); len(got) != 1 {
			t.Errorf("groups $search = %v", got)
		}
		if got := search(b.token, "/v1.0/users", `"displayName:wa"`).values(); len(got) != 0 {
			t.Errorf("another tenant's search found %v", got)
		}

		r := e.call("GET", "/v1.0/users?$search="+url.QueryEscape(`"displayName:wa"`), a.token, nil)
		if r.status != 400 || r.errorCode() != "Request_UnsupportedQuery" {
			t.Errorf("$search without the header: %s", r.raw)
		}
		for _, bad := range []string{`displayName:wa`, `"jobTitle:x"`, `"displayName:wa" NEAR "mail:x"`} {
			if r := e.call("GET", "/v1.0/users?$search="+url.QueryEscape(bad), a.token, nil, eventual...); r.status != 400 {
				t.Errorf("$search=%s: %s", bad, r.raw)
			}
		}
		for _, path := range []string{"/v1.0/applications", "/v1.0/users/" + wanda, "/v1.0/users/" + wanda + "/memberOf", "/v1.0/users/delta"} {
			if r := e.call("GET", path+"?$search="+url.QueryEscape(`"displayName:wa"`), a.token, nil, eventual...); r.status != 400 {
				t.Errorf("%s with $search: %d %s", path, r.status, r.raw)
			}
		}
		e.mustCall(400, "GET", "/v1.0/users?$orderby=displayName&$search="+url.QueryEscape(`"displayName:wa"`), a.token, nil, eventual...)
	})
}

func extra0(extra []string) string {
	if len(extra) == 0 {
		return ""
	}
	return extra[0]
}
