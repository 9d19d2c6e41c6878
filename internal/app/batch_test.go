package app_test

import (
	"encoding/base64"
	"fmt"
	"testing"
)

func batchResponses(t *testing.T, r reply) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, v := range r.body["responses"].([]any) {
		m := v.(map[string]any)
		out[m["id"].(string)] = m
	}
	return out
}

func status(resp map[string]any) int {
	s, _ := resp["status"].(float64)
	return int(s)
}

// TestBatch: POST /v1.0/$batch runs each request through the API as if it
// were sent alone (its own status, body and headers under its id; the
// caller's permissions and tenant), in order where dependsOn asks, and a
// request whose dependency failed is 424.
func TestBatch(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		b := e.tenant("Fabrikam", "fabrikam.example")
		ana := e.addUser(a, "ana")
		r := e.mustCall(200, "POST", "/v1.0/$batch", a.token, map[string]any{"requests": []any{
			map[string]any{"id": "create", "method": "POST", "url": "/groups", "headers": map[string]string{"Content-Type": "application/json"},
				"body": map[string]any{"displayName": "Batched", "mailEnabled": false, "mailNickname": "batched", "securityEnabled": true}},
			map[string]any{"id": "read", "method": "GET", "url": "/users/" + ana + "?$select=displayName", "dependsOn": []string{"create"}},
			map[string]any{"id": "missing", "method": "GET", "url": "users/00000000-0000-4000-8000-000000000000"},
			map[string]any{"id": "after-missing", "method": "GET", "url": "/users", "dependsOn": []string{"missing"}},
			map[string]any{"id": "count", "method": "GET", "url": "/users/$count", "headers": map[string]string{"ConsistencyLevel": "eventual"}},
			map[string]any{"id": "nested", "method": "POST", "url": "/$batch", "body": map[string]any{"requests": []any{}}},
			map[string]any{"id": "beta", "method": "GET", "url": "https://graph.microsoft.com/beta/users"},
		}})
		got := batchResponses(t, r)
		if len(got) != 7 {
			t.Fatalf("responses: %s", r.raw)
		}
		if c := got["create"]; status(c) != 201 || c["body"].(map[string]any)["displayName"] != "Batched" || c["headers"].(map[string]any)["Location"] == nil {
			t.Errorf("create: %v", c)
		}
		if rd := got["read"]; status(rd) != 200 || rd["body"].(map[string]any)["displayName"] != "User ana" {
			t.Errorf("read: %v", rd)
		}
		if m := got["missing"]; status(m) != 404 || m["body"].(map[string]any)["error"].(map[string]any)["code"] != "Request_ResourceNotFound" {
			t.Errorf("missing: %v", m)
		}
		if f := got["after-missing"]; status(f) != 424 {
			t.Errorf("after a failed dependency: %v", f)
		}
		if c := got["count"]; status(c) != 200 || c["body"] != base64.StdEncoding.EncodeToString([]byte("2")) {
			t.Errorf("count: %v", c)
		}
		for _, id := range []string{"nested", "beta"} {
			if status(got[id]) != 400 {
				t.Errorf("%s: %v", id, got[id])
			}
		}
		groups := e.mustCall(200, "GET", "/v1.0/groups", a.token, nil).values()
		if len(groups) != 1 {
			t.Errorf("groups after the batch: %v", groups)
		}

		// Each request is the caller's: another tenant sees nothing of a's,
		// and a reader may read but not write.
		r = e.mustCall(200, "POST", "/v1.0/$batch", b.token, map[string]any{"requests": []any{
			map[string]any{"id": "1", "method": "GET", "url": "/users/" + ana},
		}})
		if s := status(batchResponses(t, r)["1"]); s != 404 {
			t.Errorf("another tenant's user: %d", s)
		}
		reader := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Reader"}).body
		readerSP := e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": reader["appId"]}).body["id"].(string)
		e.mustCall(201, "POST", "/v1.0/servicePrincipals/"+readerSP+"/appRoleAssignments", a.token, map[string]any{"principalId": readerSP, "resourceId": e.graphSP(a), "appRoleId": userReadAll})
		secret := e.mustCall(200, "POST", "/v1.0/applications/"+reader["id"].(string)+"/addPassword", a.token, map[string]any{}).body["secretText"].(string)
		readerToken := e.token(a.id, reader["appId"].(string), secret)
		r = e.mustCall(200, "POST", "/v1.0/$batch", readerToken, map[string]any{"requests": []any{
			map[string]any{"id": "list", "method": "GET", "url": "/users"},
			map[string]any{"id": "write", "method": "POST", "url": "/users", "body": newUser("eve", a.domain)},
		}})
		got = batchResponses(t, r)
		if status(got["list"]) != 200 || status(got["write"]) != 403 {
			t.Errorf("reader's batch: %s", r.raw)
		}

		// The batch itself: authenticated, at most 20 requests, unique ids,
		// dependencies on other requests of the batch and without cycles.
		if r := e.call("POST", "/v1.0/$batch", "", map[string]any{"requests": []any{map[string]any{"id": "1", "method": "GET", "url": "/users"}}}); r.status != 401 {
			t.Errorf("anonymous batch: %d", r.status)
		}
		var many []any
		for i := range 21 {
			many = append(many, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/users"})
		}
		for name, body := range map[string]any{
			"21 requests":  map[string]any{"requests": many},
			"none":         map[string]any{"requests": []any{}},
			"duplicate id": map[string]any{"requests": []any{map[string]any{"id": "1", "method": "GET", "url": "/users"}, map[string]any{"id": "1", "method": "GET", "url": "/groups"}}},
			"unknown dep":  map[string]any{"requests": []any{map[string]any{"id": "1", "method": "GET", "url": "/users", "dependsOn": []string{"2"}}}},
			"cycle": map[string]any{"requests": []any{map[string]any{"id": "1", "method": "GET", "url": "/users", "dependsOn": []string{"2"}},
				map[string]any{"id": "2", "method": "GET", "url": "/groups", "dependsOn": []string{"1"}}}},
			"no url":  map[string]any{"requests": []any{map[string]any{"id": "1", "method": "GET"}}},
			"garbage": "[1,2",
		} {
			if r := e.call("POST", "/v1.0/$batch", a.token, body); r.status != 400 || r.errorCode() != "BadRequest" {
				t.Errorf("%s: %d %s", name, r.status, r.raw)
			}
		}
	})
}
