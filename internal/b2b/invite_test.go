package b2b

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

func TestInviteCreatesPendingGuest(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		inv, secret := e.invite("Ana.Silva@partner.example", directory.Doc{"invitedUserDisplayName": "Ana Silva", "sendInvitationMessage": true,
			"invitedUserMessageInfo": map[string]any{"messageLanguage": "sv-SE",
				"ccRecipients": []any{map[string]any{"emailAddress": map[string]any{"address": "owner@contoso.example"}}}}})
		id := invitedUserID(inv)
		if str(inv, "id") == "" || str(inv, "id") == id || str(inv, "status") != statePending || str(inv, "invitedUserType") != "Guest" ||
			str(inv, "invitedUserEmailAddress") != "Ana.Silva@partner.example" || inv["sendInvitationMessage"] != true || inv["resetRedemption"] != false {
			t.Errorf("invitation %v", inv)
		}
		info := inv["invitedUserMessageInfo"].(map[string]any)
		cc := info["ccRecipients"].([]any)[0].(map[string]any)["emailAddress"].(map[string]any)
		if info["customizedMessageBody"] != nil || info["messageLanguage"] != "sv-SE" || cc["name"] != nil || cc["address"] != "owner@contoso.example" {
			t.Errorf("invitedUserMessageInfo %v", info)
		}
		if tid, _ := ticketTenant(secret); tid != e.contoso {
			t.Errorf("ticket %q does not name the tenant", secret)
		}

		u := e.user(e.contoso, id)
		for k, want := range map[string]any{"userType": "Guest", "creationType": "Invitation", "externalUserState": statePending,
			"userPrincipalName": "Ana.Silva_partner.example#EXT#@contoso.gatehouse.test", "mail": "Ana.Silva@partner.example",
			"showInAddressList": false, "displayName": "Ana Silva", "accountEnabled": true} {
			if u[k] != want {
				t.Errorf("guest %s = %v, want %v", k, u[k], want)
			}
		}
		if str(u, "externalUserStateChangeDateTime") == "" {
			t.Error("externalUserStateChangeDateTime not set")
		}
		if others, _ := u["otherMails"].([]any); len(others) != 1 || others[0] != "Ana.Silva@partner.example" {
			t.Errorf("otherMails %v", u["otherMails"])
		}
		// The inviter is the sponsor when none is named.
		var sponsors store.Page
		if err := e.st.View(context.Background(), func(tx store.Tx) (err error) {
			sponsors, err = tx.ListRelated(context.Background(), e.contoso, store.Related{ID: id, Rel: directory.RelSponsors}, store.Query{Top: 10})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(sponsors.Objects) != 1 || sponsors.Objects[0].ID != e.admin.ObjectID {
			t.Errorf("sponsors %+v", sponsors.Objects)
		}

		recs := e.audits(e.contoso, directory.ActivityInviteExternalUser)
		if len(recs) != 1 || recs[0].LoggedByService != "Invited Users" || recs[0].Category != "UserManagement" ||
			recs[0].InitiatedBy.User == nil || recs[0].InitiatedBy.User.ID != e.admin.ObjectID || recs[0].TargetResources[0].ID != id {
			t.Errorf("invite audit %+v", recs)
		}
		added := 0
		for _, a := range e.audits(e.contoso, "Add user") {
			if a.TargetResources[0].ID == id && a.LoggedByService == "Core Directory" && a.CorrelationID == recs[0].CorrelationID {
				added++
			}
		}
		if added != 1 {
			t.Errorf("%d Add user records of the guest in the invitation's transaction, want 1", added)
		}

		msgs := e.mails()
		if len(msgs) != 1 {
			t.Fatalf("%d emails, want 1", len(msgs))
		}
		m := msgs[0]
		if m.To[0].Address != "Ana.Silva@partner.example" || len(m.Cc) != 1 || m.Language != "sv" || m.MessageID == "" ||
			!strings.Contains(m.Text, str(inv, "inviteRedeemUrl")) || !strings.Contains(m.Subject, "Contoso") ||
			m.Report.Kind != "invitation" || m.Report.ObjectID != id || m.Report.TenantID != e.contoso {
			t.Errorf("email %+v", m)
		}
		inviterName := e.user(e.contoso, e.admin.ObjectID)["displayName"].(string)
		if !strings.HasPrefix(m.Subject, inviterName+" ") {
			t.Errorf("subject %q does not name the inviter %q", m.Subject, inviterName)
		}

		// The ticket is stored hashed, never in clear.
		if err := e.st.View(context.Background(), func(tx store.Tx) error {
			states, err := tx.ListStates(context.Background(), e.contoso, store.StateFilter{Kind: ticketKind})
			if len(states) != 1 || strings.Contains(states[0].ID+string(states[0].Data), secret[len(e.contoso)+1:]) {
				t.Errorf("ticket states %+v", states)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestReinvitePendingGuest(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		first, old := e.invite("ana@partner.example", nil)
		second, fresh := e.invite("ANA@partner.example", directory.Doc{"sendInvitationMessage": true})
		if invitedUserID(first) != invitedUserID(second) || str(second, "status") != statePending {
			t.Errorf("re-invite made another guest: %v vs %v", first, second)
		}
		if _, err := e.svc.Invitation(context.Background(), old); !errors.Is(err, ErrInvitationInvalid) {
			t.Errorf("the older ticket still reads: %v", err)
		}
		if got, err := e.svc.Invitation(context.Background(), fresh); err != nil || got.InvitedEmail != "ANA@partner.example" || got.TenantName != "Contoso" {
			t.Errorf("the new ticket: %+v, %v", got, err)
		}
		if n := len(e.mails()); n != 1 {
			t.Errorf("%d emails; the re-invite asked for one", n)
		}
		if n := len(e.audits(e.contoso, directory.ActivityInviteExternalUser)); n != 2 {
			t.Errorf("%d invite records, want 2", n)
		}
	})
}

func TestInviteRefusals(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := as(e.admin)
		body := func(extra directory.Doc) directory.Doc {
			d := directory.Doc{"invitedUserEmailAddress": "ana@partner.example", "inviteRedirectUrl": "https://apps.example/"}
			for k, v := range extra {
				d[k] = v
			}
			return d
		}
		if _, err := e.svc.Invite(context.Background(), e.contoso, body(nil)); !usererr.IsKind(err, usererr.Forbidden) {
			t.Errorf("no caller: %v", err)
		}
		other := e.admin
		other.TenantID = e.fab
		if _, err := e.svc.Invite(as(other), e.contoso, body(nil)); !usererr.IsKind(err, usererr.Forbidden) {
			t.Errorf("a caller of another tenant: %v", err)
		}
		if _, err := e.svc.Invite(ctx, e.contoso, body(directory.Doc{"invitedUserSponsors": []any{map[string]any{"id": "nobody"}}})); !usererr.IsKind(err, usererr.Invalid) {
			t.Errorf("missing sponsor: %v", err)
		}
		if _, err := e.svc.Invite(ctx, e.contoso, body(directory.Doc{"invitedUserSponsors": []any{map[string]any{"id": e.anaID}}})); !usererr.IsKind(err, usererr.Invalid) {
			t.Errorf("a sponsor of another tenant: %v", err)
		}
		// A member of the tenant invites as a Guest, not as a Member.
		memberID := e.createMember("mia@contoso.example")
		member := caller.Caller{TenantID: e.contoso, ObjectID: memberID, Scopes: []string{"User.Invite.All"}}
		if _, err := e.svc.Invite(as(member), e.contoso, body(directory.Doc{"invitedUserType": "Member"})); !usererr.IsKind(err, usererr.Forbidden) {
			t.Errorf("a member inviting a member: %v", err)
		}
		// An address of a user who is no guest.
		if _, err := e.svc.Invite(ctx, e.contoso, body(directory.Doc{"invitedUserEmailAddress": "mia@contoso.example"})); !usererr.IsKind(err, usererr.Invalid) {
			t.Errorf("inviting a member's address: %v", err)
		}
		// The domain block list.
		e.setDomainPolicy(`{"B2BManagementPolicy":{"InvitationsAllowedAndBlockedDomainsPolicy":{"BlockedDomains":["partner.example"]}}}`)
		_, err := e.svc.Invite(ctx, e.contoso, body(nil))
		if ue, ok := usererr.As(err); !ok || ue.Kind != usererr.Invalid || !strings.Contains(ue.Message, "partner.example") {
			t.Errorf("blocked domain: %v", err)
		}
		var n int64
		if err := e.st.View(context.Background(), func(tx store.Tx) (err error) {
			n, err = tx.CountObjects(context.Background(), e.contoso, directory.KindUser, nil, nil)
			return err
		}); err != nil || n != 2 {
			t.Errorf("%d users after refused invitations, want the admin and the member (%v)", n, err)
		}
		if recs := e.audits(e.contoso, directory.ActivityInviteExternalUser); len(recs) != 0 {
			t.Errorf("refused invitations audited: %+v", recs)
		}
	})
}

func (e *env) createMember(upn string) string {
	e.t.Helper()
	u, err := e.dir.CreateUser(context.Background(), e.contoso, directory.Doc{"accountEnabled": true, "displayName": upn, "mailNickname": "m" + upn[:2],
		"userPrincipalName": upn, "mail": upn, "passwordProfile": map[string]any{"password": "correct horse battery staple"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID
}

// setDomainPolicy stores the tenant's B2B management policy as the
// settings' storage keeps it.
func (e *env) setDomainPolicy(definition string) {
	e.t.Helper()
	data := `{"id":"b2b","definition":[` + quote(definition) + `]}`
	if err := e.st.Update(context.Background(), func(tx store.Tx) error {
		now := e.clock.now()
		o := &store.Object{TenantID: e.contoso, Kind: KindB2BManagementPolicy, ID: "b2b", CreatedAt: now, UpdatedAt: now, Data: []byte(data)}
		if cur, err := tx.GetObject(context.Background(), e.contoso, KindB2BManagementPolicy, "b2b"); err == nil {
			o.Version = cur.Version
			return tx.UpdateObject(context.Background(), o)
		}
		return tx.CreateObject(context.Background(), o)
	}); err != nil {
		e.t.Fatal(err)
	}
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func TestInviteRateLimit(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := as(e.app)
		invite := func(i int) error {
			_, err := e.svc.Invite(ctx, e.contoso, directory.Doc{"invitedUserEmailAddress": "g" + itoa(i) + "@partner.example",
				"inviteRedirectUrl": "https://apps.example/"})
			return err
		}
		for i := range rateLimit {
			if err := invite(i); err != nil {
				t.Fatalf("invitation %d: %v", i, err)
			}
		}
		e.clock.advance(2 * time.Second)
		err := invite(rateLimit)
		ue, ok := usererr.As(err)
		if !ok || ue.Kind != usererr.TooMany || ue.RetryAfter <= 0 || ue.RetryAfter > 3*time.Second {
			t.Fatalf("invitation past the limit: %v (%+v)", err, ue)
		}
		var n int64
		if err := e.st.View(context.Background(), func(tx store.Tx) (err error) {
			n, err = tx.CountObjects(context.Background(), e.contoso, directory.KindUser, nil, nil)
			return err
		}); err != nil || n != rateLimit+1 {
			t.Errorf("%d users, want %d: a refused invitation created one (%v)", n, rateLimit+1, err)
		}
		e.clock.advance(ue.RetryAfter)
		if err := invite(rateLimit + 1); err != nil {
			t.Errorf("after the window: %v", err)
		}
	})
}

// An invitation that waits for the rate counter's lock while the window
// ends counts in the next window: it neither fails (the window it read is
// gone when it writes) nor is refused.
func TestInvitationOutlivingItsRateWindow(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := as(e.app)
		body := func(i int) directory.Doc {
			return directory.Doc{"invitedUserEmailAddress": "g" + itoa(i) + "@partner.example", "inviteRedirectUrl": "https://apps.example/"}
		}
		if _, err := e.svc.Invite(ctx, e.contoso, body(0)); err != nil {
			t.Fatal(err)
		}
		// Another node's invitation holds the counter ...
		held, release, holderDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			holderDone <- e.st.Update(context.Background(), func(tx store.Tx) error {
				now := e.clock.now()
				if _, err := tx.LockState(context.Background(), store.State{TenantID: e.contoso, Kind: rateKind, ID: "invitations",
					Data: []byte(`{"n":0}`), CreatedAt: now, ExpiresAt: now.Add(rateWindow)}); err != nil {
					close(held)
					return err
				}
				close(held)
				<-release
				return nil
			})
		}()
		<-held
		// ... while this one reaches it, and the window ends meanwhile.
		done := make(chan error, 1)
		go func() {
			_, err := e.svc.Invite(ctx, e.contoso, body(1))
			done <- err
		}()
		time.Sleep(500 * time.Millisecond)
		e.clock.advance(rateWindow)
		close(release)
		if err := <-holderDone; err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("invitation across the window's end: %v", err)
		}
	})
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestResetRedemption(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		inv, secret := e.invite("ana@fabrikam.example", nil)
		guestID := invitedUserID(inv)
		if _, err := e.svc.Redeem(ctx, secret, e.anaIdentity()); err != nil {
			t.Fatal(err)
		}
		before := e.user(e.contoso, guestID)
		groupAdmin := e.admin
		groupAdmin.Scopes = []string{"Group.ReadWrite.All"}
		g, err := e.dir.CreateGroup(as(groupAdmin), e.contoso, directory.Doc{"displayName": "Partners", "mailEnabled": false, "mailNickname": "partners", "securityEnabled": true})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.dir.AddLink(as(groupAdmin), e.contoso, g.ID, directory.RelMembers, guestID); err != nil {
			t.Fatal(err)
		}
		e.clock.advance(time.Minute)

		reset, newSecret := e.invite("ana.silva@partner.example", directory.Doc{"resetRedemption": true, "invitedUser": map[string]any{"id": guestID}})
		if invitedUserID(reset) != guestID || reset["resetRedemption"] != true || str(reset, "status") != statePending {
			t.Errorf("reset invitation %v", reset)
		}
		after := e.user(e.contoso, guestID)
		if after["userPrincipalName"] != before["userPrincipalName"] || after["externalUserState"] != statePending ||
			after["mail"] != "ana.silva@partner.example" || after["signInSessionsValidFromDateTime"] == before["signInSessionsValidFromDateTime"] {
			t.Errorf("after the reset: %v (before %v)", after, before)
		}
		for _, id := range after["identities"].([]any) {
			if m := id.(map[string]any); m["signInType"] != "userPrincipalName" {
				t.Errorf("identity %v kept after the reset", m)
			}
		}
		members, err := e.dir.ListRelated(as(groupAdmin), e.contoso, directory.Relation{Kind: directory.KindGroup, ID: g.ID, Rel: directory.RelMembers}, directory.Query{Top: 10})
		if err != nil || len(members.Objects) != 1 || members.Objects[0].ID != guestID {
			t.Errorf("group members after the reset: %+v, %v", members.Objects, err)
		}
		// The old identity no longer signs in; the new address redeems.
		if _, err := e.svc.Guest(ctx, e.contoso, e.anaIdentity()); !errors.Is(err, ErrNotGuest) {
			t.Errorf("the old identity after the reset: %v", err)
		}
		if recs := e.audits(e.contoso, directory.ActivityInviteExternalUserReset); len(recs) != 1 || recs[0].LoggedByService != loggedBy {
			t.Errorf("reset audit %+v", recs)
		}
		otp := otpIdentity("ana.silva@partner.example")
		if r, err := e.svc.Redeem(ctx, newSecret, otp); err != nil || r.UserID != guestID {
			t.Errorf("redeeming the reset invitation: %+v, %v", r, err)
		}
		if g, err := e.svc.Guest(ctx, e.contoso, otp); err != nil || g.UserID != guestID || g.Pending {
			t.Errorf("the new identity: %+v, %v", g, err)
		}

		// An application may not reset someone holding a directory role.
		roleAdmin := e.admin
		roleAdmin.Scopes = []string{"RoleManagement.ReadWrite.Directory"}
		if _, err := e.dir.AssignRole(as(roleAdmin), e.contoso, directory.Doc{"principalId": guestID,
			"roleDefinitionId": "fe930be7-5e62-47db-91af-98c3a49a38b1", "directoryScopeId": "/"}); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Invite(as(e.app), e.contoso, directory.Doc{"invitedUserEmailAddress": "ana@fabrikam.example", "inviteRedirectUrl": "https://apps.example/",
			"resetRedemption": true, "invitedUser": map[string]any{"id": guestID}})
		if !usererr.IsKind(err, usererr.Forbidden) {
			t.Errorf("app-only reset of a role holder: %v", err)
		}
		if e.user(e.contoso, guestID)["externalUserState"] != stateAccepted {
			t.Error("the refused reset changed the guest")
		}
		if _, err := e.svc.Invite(as(e.app), e.contoso, directory.Doc{"invitedUserEmailAddress": "x@partner.example", "inviteRedirectUrl": "https://apps.example/",
			"resetRedemption": true, "invitedUser": map[string]any{"id": "missing"}}); !usererr.IsKind(err, usererr.NotFound) {
			t.Errorf("reset of a missing user: %v", err)
		}
	})
}

// TestInvitationDeliveryAudited: the outbox's outcomes of an invitation
// email are recorded for the inviting tenant; retries are not.
func TestInvitationDeliveryAudited(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		inv, _ := e.invite("ana@partner.example", directory.Doc{"sendInvitationMessage": true})
		msgs := e.mails()
		if len(msgs) != 1 {
			t.Fatalf("%d emails", len(msgs))
		}
		deliver := func(err error, final bool) {
			t.Helper()
			if uerr := e.dir.Update(ctx, func(tx store.Tx) error {
				e.svc.Delivered(ctx, tx, msgs[0], err, final)
				return nil
			}); uerr != nil {
				t.Fatal(uerr)
			}
		}
		deliver(errors.New("421 try later"), false)
		if recs := e.audits(e.contoso, directory.ActivityInvitationEmail); len(recs) != 0 {
			t.Errorf("a retried attempt was recorded: %+v", recs)
		}
		deliver(nil, true)
		deliver(errors.New("550 5.1.1 no such user"), true)
		var sent, bounced int
		for _, r := range e.audits(e.contoso, directory.ActivityInvitationEmail) {
			if r.TargetResources[0].ID != invitedUserID(inv) || r.LoggedByService != loggedBy {
				t.Errorf("record %+v", r)
			}
			switch {
			case r.Result == "success":
				sent++
			case r.Result == "failure" && strings.Contains(r.ResultReason, "550"):
				bounced++
			}
		}
		if sent != 1 || bounced != 1 {
			t.Errorf("%d sent and %d bounced records, want one each", sent, bounced)
		}
	})
}
