package graph

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

type fakeInvitations struct {
	calls  int
	tenant string
	who    caller.Caller
	err    error
}

func (f *fakeInvitations) Invite(ctx context.Context, tenantID string, body directory.Doc) (directory.Doc, error) {
	f.calls++
	f.tenant = tenantID
	f.who, _ = caller.From(ctx)
	if f.err != nil {
		return nil, f.err
	}
	return directory.Doc{"id": "inv1", "invitedUserEmailAddress": body["invitedUserEmailAddress"], "invitedUserDisplayName": nil,
		"invitedUser": map[string]any{"id": "u1"}}, nil
}

// TestInvitationsRoute: POST /invitations needs User.Invite.All (or a
// broader user-writing permission), answers 201 with the invitation, and
// a throttled invitation is 429 with Retry-After.
func TestInvitationsRoute(t *testing.T) {
	dir, err := directory.New(storetest.SQLite(t, ""), directory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	post := func(inv Invitations, p Principal) (*httptest.ResponseRecorder, map[string]any) {
		a := New(dir, verifierFunc(func(context.Context, string) (Principal, error) { return p, nil }),
			Config{PublicURL: "https://id.example", Logger: slog.New(slog.DiscardHandler), Invitations: inv})
		mux := http.NewServeMux()
		a.Register(mux)
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/v1.0/invitations", strings.NewReader(`{"invitedUserEmailAddress":"ana@partner.example","inviteRedirectUrl":"https://x.example/"}`))
		r.Header.Set("Authorization", "Bearer x")
		r.Header.Set("Content-Type", "application/json")
		mux.ServeHTTP(w, r)
		var body map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		return w, body
	}
	app := Principal{TenantID: "t1", ObjectID: "sp1", AppOnly: true, Roles: []string{"User.Invite.All"}}
	member := Principal{TenantID: "t1", ObjectID: "u9", Scopes: []string{"User.Invite.All"}}

	for _, p := range []Principal{app, member} {
		f := &fakeInvitations{}
		w, body := post(f, p)
		if w.Code != http.StatusCreated || body["@odata.context"] != "https://id.example/v1.0/$metadata#invitations/$entity" || body["id"] != "inv1" {
			t.Errorf("%+v: %d %v", p, w.Code, body)
		}
		if _, ok := body["invitedUserDisplayName"]; !ok {
			t.Errorf("null properties must be present: %v", body)
		}
		if f.tenant != "t1" || f.who.ObjectID != p.ObjectID {
			t.Errorf("the domain saw tenant %q caller %+v", f.tenant, f.who)
		}
	}

	for _, p := range []Principal{
		{TenantID: "t1", AppOnly: true, Roles: []string{"Group.ReadWrite.All", "User.Read.All"}},
		{TenantID: "t1", Scopes: []string{"User.Read"}},
	} {
		f := &fakeInvitations{}
		w, body := post(f, p)
		if w.Code != http.StatusForbidden || f.calls != 0 {
			t.Errorf("%+v: %d %v, %d calls", p, w.Code, body, f.calls)
		}
	}

	w, body := post(&fakeInvitations{err: usererr.Throttled(2500*time.Millisecond, "too many")}, app)
	errObj, _ := body["error"].(map[string]any)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "3" || errObj["code"] != "TooManyRequests" {
		t.Errorf("throttled: %d %q %v", w.Code, w.Header().Get("Retry-After"), body)
	}

	if w, _ := post(nil, app); w.Code == http.StatusCreated {
		t.Error("the route is served without an invitation service")
	}
}
