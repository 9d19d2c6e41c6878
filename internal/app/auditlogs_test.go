package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/pagewalk"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// audits lists a log with a filter, following every nextLink.
func (e *env) audits(t *testing.T, token, log, filter string, extra ...string) []map[string]any {
	t.Helper()
	q := url.Values{}
	if filter != "" {
		q.Set("$filter", filter)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	next := "/v1.0/auditLogs/" + log + "?" + q.Encode()
	var out []map[string]any
	for next != "" {
		r := e.mustCall(200, "GET", next, token, nil)
		out = append(out, r.values()...)
		next, _ = r.body["@odata.nextLink"].(string)
	}
	return out
}

func activities(recs []map[string]any) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r["activityDisplayName"].(string))
	}
	return out
}

func TestDirectoryAuditLog(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		start := time.Now().UTC().Add(-time.Second)
		a := e.tenant("Contoso", "contoso.example")
		auto := a.created.Auto.ClientID

		alice := e.mustCall(201, "POST", "/v1.0/users", a.token, newUser("alice", a.domain)).body["id"].(string)
		e.mustCall(204, "PATCH", "/v1.0/users/"+alice, a.token, map[string]any{"jobTitle": "Pilot"})
		e.mustCall(204, "PATCH", "/v1.0/users/"+alice, a.token, map[string]any{"passwordProfile": map[string]any{"password": "a brand new passphrase 7"}})
		group := e.mustCall(201, "POST", "/v1.0/groups", a.token, map[string]any{"displayName": "Sales", "mailEnabled": false, "mailNickname": "sales", "securityEnabled": true}).body["id"].(string)
		e.mustCall(204, "POST", "/v1.0/groups/"+group+"/members/$ref", a.token, map[string]any{"@odata.id": e.url + "/v1.0/directoryObjects/" + alice})
		app := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "Notes"}).body
		secret := e.mustCall(200, "POST", "/v1.0/applications/"+app["id"].(string)+"/addPassword", a.token, map[string]any{}).body["secretText"].(string)
		e.mustCall(204, "DELETE", "/v1.0/users/"+alice, a.token, nil)

		mine := e.audits(t, a.token, "directoryAudits", "initiatedBy/app/appId eq '"+auto+"'")
		want := []string{"Delete user", "Update application – Certificates and secrets management", "Add application",
			"Add member to group", "Add group", "Reset user password", "Update user", "Add user"}
		got := strings.Join(activities(mine), "|")
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%q missing from the automation app's records %s", w, got)
			}
		}
		if !strings.HasPrefix(got, "Delete user") {
			t.Errorf("not newest first: %s", got)
		}
		for _, r := range mine {
			raw, _ := json.Marshal(r)
			if strings.Contains(string(raw), secret) || strings.Contains(string(raw), "a brand new passphrase") || strings.Contains(string(raw), "correct horse") {
				t.Fatalf("a record holds a secret: %s", raw)
			}
		}

		added := e.audits(t, a.token, "directoryAudits", "activityDisplayName eq 'Add user' and targetResources/any(t: t/id eq '"+alice+"')")
		if len(added) != 1 {
			t.Fatalf("Add user of alice: %v", added)
		}
		rec := added[0]
		app0 := rec["initiatedBy"].(map[string]any)["app"].(map[string]any)
		if rec["category"] != "UserManagement" || rec["result"] != "success" || rec["loggedByService"] != "Core Directory" || app0["appId"] != auto {
			t.Errorf("Add user record: %v", rec)
		}
		one := e.mustCall(200, "GET", "/v1.0/auditLogs/directoryAudits/"+rec["id"].(string), a.token, nil).body
		if one["id"] != rec["id"] || !strings.HasSuffix(one["@odata.context"].(string), "#auditLogs/directoryAudits/$entity") {
			t.Errorf("one record: %v", one)
		}
		if r := e.call("GET", "/v1.0/auditLogs/directoryAudits/no-such-record", a.token, nil); r.status != 404 {
			t.Errorf("unknown record: %d %s", r.status, r.raw)
		}

		// By date: nothing of this test's writes is older than its start.
		before := e.audits(t, a.token, "directoryAudits", "activityDateTime le "+start.Format(time.RFC3339)+" and targetResources/any(t: t/id eq '"+alice+"')")
		after := e.audits(t, a.token, "directoryAudits", "activityDateTime ge "+start.Format(time.RFC3339)+" and targetResources/any(t: t/id eq '"+alice+"')")
		if len(before) != 0 || len(after) < 5 {
			t.Errorf("by date: %d before, %d after", len(before), len(after))
		}
		if got := activities(e.audits(t, a.token, "directoryAudits", "startsWith(activityDisplayName, 'update application')")); len(got) != 1 {
			t.Errorf("startsWith: %v", got)
		}

		// Paging walks every record once.
		all := e.audits(t, a.token, "directoryAudits", "")
		paged := e.audits(t, a.token, "directoryAudits", "", "$top", "2")
		seen := map[string]bool{}
		for _, r := range paged {
			seen[r["id"].(string)] = true
		}
		if len(paged) != len(all) || len(seen) != len(all) || len(all) < 10 {
			t.Errorf("paged %d (%d distinct), all %d", len(paged), len(seen), len(all))
		}

		// Unsupported filters and options are refused, never ignored.
		for _, q := range []string{
			"$filter=" + url.QueryEscape("resultReason eq 'x'"),
			"$filter=" + url.QueryEscape("category ne 'UserManagement'"),
			"$filter=" + url.QueryEscape("activityDisplayName eq"),
			"$select=id",
			"$orderby=category",
		} {
			if r := e.call("GET", "/v1.0/auditLogs/directoryAudits?"+q, a.token, nil); r.status != 400 {
				t.Errorf("%s: %d %s", q, r.status, r.raw)
			}
		}

		// Reading the logs needs AuditLog.Read.All.
		reader := e.mustCall(201, "POST", "/v1.0/applications", a.token, map[string]any{"displayName": "reader"}).body
		e.mustCall(201, "POST", "/v1.0/servicePrincipals", a.token, map[string]any{"appId": reader["appId"]})
		rs := e.mustCall(200, "POST", "/v1.0/applications/"+reader["id"].(string)+"/addPassword", a.token, map[string]any{}).body["secretText"].(string)
		readerToken := e.token(a.id, reader["appId"].(string), rs)
		for _, log := range []string{"directoryAudits", "signIns"} {
			if r := e.call("GET", "/v1.0/auditLogs/"+log, readerToken, nil); r.status != 403 || r.errorCode() != "Authorization_RequestDenied" {
				t.Errorf("%s without AuditLog.Read.All: %d %s", log, r.status, r.raw)
			}
		}

		// Another tenant sees none of it.
		b := e.tenant("Fabrikam", "fabrikam.example")
		if got := e.audits(t, b.token, "directoryAudits", "targetResources/any(t: t/id eq '"+alice+"')"); len(got) != 0 {
			t.Errorf("tenant B sees A's records: %v", got)
		}
	})
}

func TestSignInLog(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		user := newUser("alice", a.domain)
		user["passwordProfile"] = map[string]any{"password": "correct horse battery alice", "forceChangePasswordNextSignIn": false}
		alice := e.mustCall(201, "POST", "/v1.0/users", a.token, user).body["id"].(string)
		const cb = "https://app.example/cb"
		rp := e.registerApp(t, a, "App One", cb, "openid", "offline_access", "User.Read")

		// A successful interactive sign-in, and a refresh of its tokens.
		answers := map[string]string{"username": "alice@" + a.domain, "password": "correct horse battery alice", "stay": "no", "decision": "accept"}
		tok, _ := rp.codeFlow(t, newBrowser(t, cb), answers)
		if _, err := rp.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
			t.Fatal(err)
		}
		// Failures: wrong passwords until smart lockout (ten), then an unknown user.
		wrong := map[string]string{"username": "alice@" + a.domain, "password": "not her password"}
		for range 11 {
			_, _ = pagewalk.New(nil).SignIn(rp.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), wrong)
		}
		nobody := map[string]string{"username": "nobody@" + a.domain, "password": "whatever it is"}
		_, _ = pagewalk.New(nil).SignIn(rp.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), nobody)
		// A client with a wrong secret.
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {a.created.Auto.ClientID}, "client_secret": {"wrong"}, "scope": {e.public + "/.default"}}
		resp, err := http.PostForm(e.url+"/"+a.id+"/oauth2/v2.0/token", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("a wrong secret got a token")
		}
		if err := e.app.FlushSignIns(context.Background()); err != nil {
			t.Fatal(err)
		}

		ok := e.audits(t, a.token, "signIns", "userId eq '"+alice+"' and isInteractive eq true and status/errorCode eq 0")
		if len(ok) != 1 {
			t.Fatalf("alice's interactive sign-ins: %v", ok)
		}
		if s := ok[0]; s["appId"] != rp.conf.ClientID || s["appDisplayName"] != "App One" || s["userPrincipalName"] != "alice@"+a.domain || s["clientAppUsed"] != "Browser" || s["ipAddress"] == "" {
			t.Errorf("success record: %v", s)
		}
		if got := e.audits(t, a.token, "signIns", "userId eq '"+alice+"' and isInteractive eq false and appId eq '"+rp.conf.ClientID+"'"); len(got) != 1 {
			t.Errorf("refresh sign-ins: %v", got)
		}
		for code, what := range map[string]string{"50126": "wrong password", "50053": "locked out", "50034": "unknown user"} {
			got := e.audits(t, a.token, "signIns", "status/errorCode eq "+code)
			if len(got) == 0 {
				t.Errorf("no %s (%s) sign-in", code, what)
				continue
			}
			if got[0]["isInteractive"] != true || got[0]["status"].(map[string]any)["failureReason"] == "" {
				t.Errorf("%s record: %v", what, got[0])
			}
		}
		if got := e.audits(t, a.token, "signIns", "startsWith(userPrincipalName, 'ALICE@') and status/errorCode eq 50126"); len(got) == 0 {
			t.Error("wrong-password records are not found by the UPN typed")
		}
		sp := e.audits(t, a.token, "signIns", "appId eq '"+a.created.Auto.ClientID+"' and status/errorCode eq 0")
		if len(sp) == 0 || sp[0]["servicePrincipalId"] == "" || sp[0]["isInteractive"] != false {
			t.Errorf("client credentials sign-ins: %v", sp)
		}
		if got := e.audits(t, a.token, "signIns", "appId eq '"+a.created.Auto.ClientID+"' and status/errorCode eq 7000215"); len(got) != 1 {
			t.Errorf("wrong client secret sign-ins: %v", got)
		}
		if r := e.call("GET", "/v1.0/auditLogs/signIns?$filter="+url.QueryEscape("status/errorCode ge 1"), a.token, nil); r.status != 400 {
			t.Errorf("unsupported operator: %d %s", r.status, r.raw)
		}
		// The user's consent is audited as the user's own.
		consent := e.audits(t, a.token, "directoryAudits", "initiatedBy/user/id eq '"+alice+"' and activityDisplayName eq 'Consent to application'")
		if len(consent) != 1 {
			t.Errorf("consent records: %v", consent)
		}
	})
}

func TestHousekeepingPurgesOldAuditRecords(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		old := time.Now().Add(-31 * 24 * time.Hour)
		err := e.app.Directory().Store().Update(context.Background(), func(tx store.Tx) error {
			return tx.AppendAudit(context.Background(), store.AuditRecord{TenantID: a.id, Log: store.LogSignIn, ID: "old", At: old, Data: []byte(`{"id":"old"}`)})
		})
		if err != nil {
			t.Fatal(err)
		}
		before := len(e.audits(t, a.token, "directoryAudits", ""))
		if _, err := e.app.Housekeep(context.Background()); err != nil {
			t.Fatal(err)
		}
		if r := e.call("GET", "/v1.0/auditLogs/signIns/old", a.token, nil); r.status != 404 {
			t.Errorf("a record past the retention survived housekeeping: %d", r.status)
		}
		if after := len(e.audits(t, a.token, "directoryAudits", "")); after != before || after == 0 {
			t.Errorf("recent records: %d before, %d after housekeeping", before, after)
		}
	})
}
