package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// auditSchema maps a log's filterable properties onto the audit table's
// typed columns and its document, as internal/audit does.
var auditSchema = &odata.Schema{Resource: "DirectoryAudit", Properties: map[string]odata.Property{
	"activityDateTime":    {Name: "activityDateTime", Type: odata.TypeDateTime, Column: "created_at", Sortable: true},
	"category":            {Name: "category", Type: odata.TypeString, Column: "category", Folded: true},
	"activityDisplayName": {Name: "activityDisplayName", Type: odata.TypeString, Column: "activity", Folded: true},
	"userId":              {Name: "userId", Type: odata.TypeString, Column: "user_id"},
	"appId":               {Name: "appId", Type: odata.TypeString, Column: "app_id"},
	"userPrincipalName":   {Name: "userPrincipalName", Type: odata.TypeString, Column: "upn", Folded: true},
	"result":              {Name: "result", Type: odata.TypeString, Column: "result"},
	"status/errorCode":    {Name: "status/errorCode", Type: odata.TypeInt, Column: "error_code"},
	"targetResources": {Name: "targetResources", Type: odata.TypeComplexCollection, Fields: map[string]odata.Property{
		"id": {Name: "id", Type: odata.TypeString},
	}},
}}

func auditRecord(tenantID, log, id string, at time.Time, activity, userID string, code int) store.AuditRecord {
	data, _ := json.Marshal(map[string]any{"id": id, "activityDisplayName": activity, "targetResources": []any{map[string]any{"id": "target-" + userID}}})
	return store.AuditRecord{TenantID: tenantID, Log: log, ID: id, At: at, Category: "UserManagement", Activity: activity,
		UserID: userID, AppID: "app-" + userID, UPN: userID + "@X.example", Result: "success", ErrorCode: code, Data: data}
}

func testAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1")
	newTenant(t, s, "t2")
	create(t, s, user("t1", "u1", "u1@x.example", "U1", `{}`))
	var head int64
	view(t, s, func(tx store.Tx) (err error) { head, err = tx.HeadSeq(ctx, "t1"); return err })

	var recs []store.AuditRecord
	for i := range 5 {
		at := base.Add(time.Duration(i) * time.Minute)
		recs = append(recs, auditRecord("t1", store.LogDirectoryAudit, fmt.Sprintf("a%d", i), at, []string{"Add user", "Update user"}[i%2], fmt.Sprintf("u%d", i%2), 0))
	}
	recs = append(recs,
		auditRecord("t1", store.LogSignIn, "s1", base, "", "u1", 50126),
		auditRecord("t2", store.LogDirectoryAudit, "b1", base, "Add user", "u0", 0))
	update(t, s, func(tx store.Tx) error { return tx.AppendAudit(ctx, recs...) })

	// Records are no changes: the feed's head stays put.
	view(t, s, func(tx store.Tx) error {
		now, err := tx.HeadSeq(ctx, "t1")
		if err == nil && now != head {
			return fmt.Errorf("head moved from %d to %d", head, now)
		}
		return err
	})
	err := s.Update(ctx, func(tx store.Tx) error { return tx.AppendAudit(ctx, recs[0]) })
	wantConflict(t, "append a taken id", err, "id")
	err = s.View(ctx, func(tx store.Tx) error {
		return tx.AppendAudit(ctx, auditRecord("t1", store.LogSignIn, "s9", base, "", "u1", 0))
	})
	if err == nil {
		t.Error("AppendAudit in View succeeded")
	}

	list := func(tenantID, log, filter string, top int, cursor string) store.AuditPage {
		t.Helper()
		var f odata.Expr
		if filter != "" {
			parsed, err := odata.ParseFilter(filter)
			if err != nil {
				t.Fatal(err)
			}
			f = parsed
		}
		var p store.AuditPage
		view(t, s, func(tx store.Tx) (err error) {
			p, err = tx.ListAudit(ctx, tenantID, log, store.Query{Schema: auditSchema, Filter: f, Top: top, Cursor: cursor,
				OrderBy: []odata.OrderBy{{Property: "activityDateTime", Desc: true}}})
			return err
		})
		return p
	}
	ids := func(p store.AuditPage) (out []string) {
		for _, r := range p.Records {
			out = append(out, r.ID)
		}
		return out
	}
	cases := []struct {
		filter string
		want   []string
	}{
		{"", []string{"a4", "a3", "a2", "a1", "a0"}},
		{"activityDisplayName eq 'ADD USER'", []string{"a4", "a2", "a0"}},
		{"startsWith(activityDisplayName, 'update')", []string{"a3", "a1"}},
		{"category eq 'usermanagement' and userId eq 'u1'", []string{"a3", "a1"}},
		{"appId eq 'app-u0'", []string{"a4", "a2", "a0"}},
		{"activityDateTime ge 2026-03-04T05:07:00Z and activityDateTime le 2026-03-04T05:08:30Z", []string{"a2", "a1"}},
		{"targetResources/any(t: t/id eq 'target-u1')", []string{"a3", "a1"}},
		{"result eq 'failure'", nil},
	}
	for _, c := range cases {
		if got := ids(list("t1", store.LogDirectoryAudit, c.filter, 10, "")); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("filter %q: got %v, want %v", c.filter, got, c.want)
		}
	}
	if got := ids(list("t1", store.LogSignIn, "status/errorCode eq 50126 and userPrincipalName eq 'u1@x.example'", 10, "")); fmt.Sprint(got) != "[s1]" {
		t.Errorf("sign-ins by error code and UPN: %v", got)
	}
	// An empty activity is no value: eq null finds it, and a filter on a
	// value (which the partial indexes serve) does not.
	if got := ids(list("t1", store.LogSignIn, "activityDisplayName eq null", 10, "")); fmt.Sprint(got) != "[s1]" {
		t.Errorf("sign-ins without an activity: %v", got)
	}
	if got := ids(list("t1", store.LogDirectoryAudit, "activityDisplayName ne null and category ne null", 10, "")); len(got) != 5 {
		t.Errorf("audits with an activity and a category: %v", got)
	}
	if got := ids(list("t1", store.LogSignIn, "activityDisplayName eq ''", 10, "")); len(got) != 0 {
		t.Errorf("sign-ins whose activity is the empty string: %v", got)
	}
	if got := ids(list("t1", store.LogSignIn, "status/errorCode eq 0", 10, "")); len(got) != 0 {
		t.Errorf("successful sign-ins: %v", got)
	}

	// Paging, newest first, within the tenant only.
	var seen []string
	cursor := ""
	for range 5 {
		p := list("t1", store.LogDirectoryAudit, "", 2, cursor)
		seen = append(seen, ids(p)...)
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if fmt.Sprint(seen) != "[a4 a3 a2 a1 a0]" {
		t.Errorf("paged: %v", seen)
	}
	if got := ids(list("t2", store.LogDirectoryAudit, "", 10, "")); fmt.Sprint(got) != "[b1]" {
		t.Errorf("tenant t2 sees %v", got)
	}

	view(t, s, func(tx store.Tx) error {
		r, err := tx.GetAudit(ctx, "t1", store.LogSignIn, "s1")
		if err != nil {
			return err
		}
		if r.ErrorCode != 50126 || r.Activity != "" || r.Category != "usermanagement" || r.UPN != "u1@x.example" || r.UserID != "u1" || !r.At.Equal(base) || !sameJSON(t, r.Data, recs[5].Data) {
			return fmt.Errorf("GetAudit = %+v", r)
		}
		_, err = tx.GetAudit(ctx, "t2", store.LogSignIn, "s1")
		wantErr(t, "another tenant's record", err, store.ErrNotFound)
		_, err = tx.GetAudit(ctx, "t1", store.LogDirectoryAudit, "s1")
		wantErr(t, "a record of the other log", err, store.ErrNotFound)
		return nil
	})

	// A batch larger than one statement carries goes in whole.
	var batch []store.AuditRecord
	for i := range 250 {
		batch = append(batch, auditRecord("t2", store.LogSignIn, fmt.Sprintf("s%03d", i), base.Add(time.Hour), "", "u1", 0))
	}
	update(t, s, func(tx store.Tx) error { return tx.AppendAudit(ctx, batch...) })
	if got := list("t2", store.LogSignIn, "", 999, "").Records; len(got) != 250 {
		t.Errorf("batch of 250: %d stored", len(got))
	}
	err = s.Update(ctx, func(tx store.Tx) error { return tx.AppendAudit(ctx, batch[200:]...) })
	wantConflict(t, "a batch with taken ids", err, "id")

	// Housekeeping purges across tenants, in batches, only what is older than the cutoff.
	var n int
	update(t, s, func(tx store.Tx) (err error) {
		n, err = tx.PurgeAuditRecords(ctx, base.Add(90*time.Second), 2)
		return err
	})
	if n != 2 {
		t.Errorf("first purge batch: %d", n)
	}
	update(t, s, func(tx store.Tx) (err error) {
		n, err = tx.PurgeAuditRecords(ctx, base.Add(90*time.Second), 10)
		return err
	})
	if n != 2 {
		t.Errorf("second purge batch: %d", n)
	}
	if got := ids(list("t1", store.LogDirectoryAudit, "", 10, "")); fmt.Sprint(got) != "[a4 a3 a2]" {
		t.Errorf("after purge: %v", got)
	}
	if got := ids(list("t2", store.LogDirectoryAudit, "", 10, "")); len(got) != 0 {
		t.Errorf("t2 after purge: %v", got)
	}
	if got := list("t2", store.LogSignIn, "", 999, "").Records; len(got) != 250 {
		t.Errorf("records newer than the cutoff purged: %d left", len(got))
	}
}
