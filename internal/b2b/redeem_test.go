package b2b

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func otpIdentity(addr string) federation.Identity {
	return federation.Identity{Issuer: federation.IssuerMail, Subject: strings.ToLower(addr), Email: strings.ToLower(addr), EmailVerified: true, IdP: federation.IssuerMail}
}

// TestTicketRefusals: every way a ticket is no good gets one error, from
// both the page's read and the redemption.
func TestTicketRefusals(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		_, used := e.invite("used@partner.example", nil)
		if _, err := e.svc.Redeem(ctx, used, otpIdentity("used@partner.example")); err != nil {
			t.Fatal(err)
		}
		_, live := e.invite("ana@partner.example", nil)
		_, secret, _ := strings.Cut(live, ".")
		flip := "A"
		if strings.HasSuffix(live, "A") {
			flip = "B"
		}
		tampered := live[:len(live)-1] + flip
		// The same secret presented under another tenant of the deployment.
		otherTenant := e.fab + "." + secret
		refused := map[string]string{"used": used, "tampered": tampered, "other tenant": otherTenant, "garbage": "nonsense",
			"empty": "", "unknown tenant": "nope." + secret}
		for name, ticket := range refused {
			if _, err := e.svc.Invitation(ctx, ticket); !errors.Is(err, ErrInvitationInvalid) {
				t.Errorf("Invitation(%s): %v", name, err)
			}
			if _, err := e.svc.Redeem(ctx, ticket, otpIdentity("ana@partner.example")); !errors.Is(err, ErrInvitationInvalid) {
				t.Errorf("Redeem(%s): %v", name, err)
			}
		}
		// The live ticket was untouched by all that; past 30 days it expires.
		if _, err := e.svc.Invitation(ctx, live); err != nil {
			t.Fatalf("live ticket: %v", err)
		}
		e.clock.advance(ticketLifetime + time.Second)
		if _, err := e.svc.Invitation(ctx, live); !errors.Is(err, ErrInvitationInvalid) {
			t.Errorf("Invitation(expired): %v", err)
		}
		if _, err := e.svc.Redeem(ctx, live, otpIdentity("ana@partner.example")); !errors.Is(err, ErrInvitationInvalid) {
			t.Errorf("Redeem(expired): %v", err)
		}
	})
}

func TestConcurrentRedemption(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		inv, secret := e.invite("ana@fabrikam.example", nil)
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { _, errs[i] = e.svc.Redeem(context.Background(), secret, e.anaIdentity()) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrInvitationInvalid):
				t.Errorf("a losing redemption: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d redemptions succeeded, want exactly 1: %v", won, errs)
		}
		if recs := e.audits(e.contoso, directory.ActivityRedeemExternalUserInvite); len(recs) != 1 {
			t.Errorf("%d redeem records, want 1", len(recs))
		}
		if u := e.user(e.contoso, invitedUserID(inv)); u["externalUserState"] != stateAccepted {
			t.Errorf("guest after the redemption: %v", u)
		}
	})
}

func TestRedeem(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		inv, secret := e.invite("ana@fabrikam.example", nil)
		guestID := invitedUserID(inv)
		got, err := e.svc.Invitation(ctx, secret)
		if err != nil || got.TenantID != e.contoso || got.TenantName != "Contoso" || got.InvitedEmail != "ana@fabrikam.example" || got.InviterName == "" {
			t.Errorf("Invitation = %+v, %v", got, err)
		}
		// A pending guest can be found by an identity proving the address.
		if g, err := e.svc.Guest(ctx, e.contoso, e.anaIdentity()); err != nil || !g.Pending || g.UserID != guestID {
			t.Errorf("Guest before redemption = %+v, %v", g, err)
		}
		e.clock.advance(time.Minute)
		r, err := e.svc.Redeem(ctx, secret, e.anaIdentity())
		if err != nil || r.TenantID != e.contoso || r.UserID != guestID || r.RedirectURL != "https://apps.contoso.example/welcome" {
			t.Fatalf("Redeem = %+v, %v", r, err)
		}
		u := e.user(e.contoso, guestID)
		if u["externalUserState"] != stateAccepted || u["externalUserStateChangeDateTime"] != e.clock.now().UTC().Format(time.RFC3339) {
			t.Errorf("redeemed guest %v", u)
		}
		var federated, upn bool
		for _, id := range u["identities"].([]any) {
			m := id.(map[string]any)
			federated = federated || m["signInType"] == "federated" && m["issuer"] == e.svc.TenantIssuer(e.fab) && m["issuerAssignedId"] == e.anaID
			upn = upn || m["signInType"] == "userPrincipalName" && m["issuerAssignedId"] == u["userPrincipalName"]
		}
		if !federated || !upn {
			t.Errorf("identities %v", u["identities"])
		}
		if g, err := e.svc.Guest(ctx, e.contoso, e.anaIdentity()); err != nil || g.Pending || g.UserID != guestID ||
			g.UserPrincipalName != "ana_fabrikam.example#EXT#@contoso.gatehouse.test" {
			t.Errorf("Guest after redemption = %+v, %v", g, err)
		}
		recs := e.audits(e.contoso, directory.ActivityRedeemExternalUserInvite)
		if len(recs) != 1 || recs[0].LoggedByService != loggedBy || recs[0].InitiatedBy.User == nil || recs[0].InitiatedBy.User.ID != guestID {
			t.Errorf("redeem audit %+v", recs)
		}
		// Someone else who proves the same address with another identity
		// is not the guest.
		if _, err := e.svc.Guest(ctx, e.contoso, otpIdentity("ana@fabrikam.example")); !errors.Is(err, ErrWrongIdentity) {
			t.Errorf("another identity of the address: %v", err)
		}
		if _, err := e.svc.Guest(ctx, e.contoso, otpIdentity("bob@fabrikam.example")); !errors.Is(err, ErrNotGuest) {
			t.Errorf("a stranger: %v", err)
		}
		// The binding is Contoso's alone: in her home tenant Ana is no guest.
		if _, err := e.svc.Guest(ctx, e.fab, e.anaIdentity()); !errors.Is(err, ErrNotGuest) {
			t.Errorf("the identity in another tenant: %v", err)
		}
		if err := e.svc.Leave(ctx, e.fab, "someone-else", e.contoso); !errors.Is(err, ErrNotGuest) {
			t.Errorf("leaving for someone else: %v", err)
		}
		// Re-inviting a redeemed guest points at them; its ticket redeems only
		// with the identity they redeemed with.
		again, secret2 := e.invite("ana@fabrikam.example", nil)
		if invitedUserID(again) != guestID || str(again, "status") != "Completed" {
			t.Errorf("re-invite of a redeemed guest %v", again)
		}
		if _, err := e.svc.Redeem(ctx, secret2, otpIdentity("ana@fabrikam.example")); !errors.Is(err, ErrWrongIdentity) {
			t.Errorf("redeeming a redeemed guest's ticket with another identity: %v", err)
		}
		if _, err := e.svc.Redeem(ctx, secret2, e.anaIdentity()); err != nil {
			t.Errorf("redeeming it with theirs: %v", err)
		}

		// My organizations, home account checks, leaving.
		orgs, err := e.svc.Organizations(ctx, e.fab, e.anaID)
		if err != nil || len(orgs) != 2 || !orgs[0].Home || orgs[0].TenantID != e.fab || orgs[1].TenantID != e.contoso || orgs[1].Name != "Contoso" {
			t.Errorf("Organizations = %+v, %v", orgs, err)
		}
		if h, err := e.svc.HomeAccount(ctx, e.contoso, guestID); err != nil || !h.Active || h.TenantID != e.fab || h.UserID != e.anaID {
			t.Errorf("HomeAccount = %+v, %v", h, err)
		}
		if err := e.dir.UpdateUser(ctx, e.fab, e.anaID, directory.Doc{"accountEnabled": false}, 0); err != nil {
			t.Fatal(err)
		}
		if h, err := e.svc.HomeAccount(ctx, e.contoso, guestID); err != nil || h.Active || h.TenantID != e.fab {
			t.Errorf("HomeAccount with the home account disabled = %+v, %v", h, err)
		}
		if err := e.svc.Leave(ctx, e.fab, e.anaID, e.fab); !errors.Is(err, ErrNotGuest) {
			t.Errorf("leaving the home tenant: %v", err)
		}
		if err := e.svc.Leave(ctx, e.fab, e.anaID, e.contoso); err != nil {
			t.Fatal(err)
		}
		if err := e.st.View(ctx, func(tx store.Tx) error {
			_, err := tx.GetDeletedObject(ctx, e.contoso, directory.KindUser, guestID)
			return err
		}); err != nil {
			t.Errorf("the guest after leaving: %v", err)
		}
		if recs := e.audits(e.contoso, directory.ActivityDeleteExternalUser); len(recs) != 1 || recs[0].InitiatedBy.User == nil || recs[0].InitiatedBy.User.ID != guestID {
			t.Errorf("leave audit %+v", recs)
		}
		if orgs, err := e.svc.Organizations(ctx, e.fab, e.anaID); err != nil || len(orgs) != 1 {
			t.Errorf("Organizations after leaving = %+v, %v", orgs, err)
		}
		if _, err := e.svc.Guest(ctx, e.contoso, e.anaIdentity()); !errors.Is(err, ErrNotGuest) {
			t.Errorf("Guest after leaving: %v", err)
		}
		if h, err := e.svc.HomeAccount(ctx, e.contoso, guestID); err != nil || h.Active {
			t.Errorf("HomeAccount of a removed guest = %+v, %v", h, err)
		}
	})
}

// TestWrongIdentityStaysPending: an identity that does not prove the
// invited address is refused, and the invitation stays as it was.
func TestWrongIdentityStaysPending(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		inv, secret := e.invite("ana@partner.example", nil)
		guestID := invitedUserID(inv)
		unverified := federation.Identity{Issuer: "https://idp.example", Subject: "s1", Email: "ana@partner.example", IdP: "https://idp.example"}
		other := federation.Identity{Issuer: "https://idp.example", Subject: "s2", Email: "eve@partner.example", EmailVerified: true, IdP: "https://idp.example"}
		for name, id := range map[string]federation.Identity{"unverified": unverified, "other address": other, "other code": otpIdentity("eve@partner.example")} {
			if _, err := e.svc.Redeem(ctx, secret, id); !errors.Is(err, ErrWrongIdentity) {
				t.Errorf("%s: %v", name, err)
			}
			if err := e.svc.AcceptPending(ctx, e.contoso, guestID, id); !errors.Is(err, ErrWrongIdentity) {
				t.Errorf("AcceptPending %s: %v", name, err)
			}
		}
		if u := e.user(e.contoso, guestID); u["externalUserState"] != statePending {
			t.Errorf("guest after refusals: %v", u)
		}
		if _, err := e.svc.Invitation(ctx, secret); err != nil {
			t.Errorf("the ticket after refusals: %v", err)
		}
		if recs := e.audits(e.contoso, directory.ActivityRedeemExternalUserInvite); len(recs) != 0 {
			t.Errorf("refusals audited as redemptions: %+v", recs)
		}
		// A domain blocked after the invitation stops its redemption.
		e.setDomainPolicy(`{"B2BManagementPolicy":{"InvitationsAllowedAndBlockedDomainsPolicy":{"BlockedDomains":["partner.example"]}}}`)
		if _, err := e.svc.Redeem(ctx, secret, otpIdentity("ana@partner.example")); !errors.Is(err, ErrDomainBlocked) {
			t.Errorf("redeeming into a blocked domain: %v", err)
		}
		e.setDomainPolicy(`{"B2BManagementPolicy":{"InvitationsAllowedAndBlockedDomainsPolicy":{"BlockedDomains":[]}}}`)
		// Just-in-time: the pending guest signs in with a code and accepts.
		if err := e.svc.AcceptPending(ctx, e.contoso, guestID, otpIdentity("ana@partner.example")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Invitation(ctx, secret); !errors.Is(err, ErrInvitationInvalid) {
			t.Errorf("the ticket after a just-in-time redemption: %v", err)
		}
		if err := e.svc.AcceptPending(ctx, e.contoso, guestID, otpIdentity("ana@partner.example")); !errors.Is(err, ErrNotGuest) {
			t.Errorf("accepting twice: %v", err)
		}
	})
}

func TestRouteAndCodes(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for addr, want := range map[string]Route{
			"adele@contoso.example":     {Member: true},
			"ana@fabrikam.example":      {Provider: federation.Provider{Kind: federation.KindTenant, TenantID: e.fab, DisplayName: "Fabrikam", Issuer: e.svc.TenantIssuer(e.fab)}},
			"someone@gmail.example":     {Provider: federation.Provider{Kind: federation.KindOIDC, ID: "google", Issuer: "https://accounts.google.example"}},
			"stranger@nowhere.example":  {OTP: true},
			"invited@elsewhere.example": {OTP: true},
		} {
			if got, err := e.svc.Route(ctx, e.contoso, addr); err != nil || got != want {
				t.Errorf("Route(%s) = %+v, %v; want %+v", addr, got, err, want)
			}
		}
		_, _ = e.invite("invited@elsewhere.example", nil)
		e.mails()
		// The same answer for a guest and a stranger; only the guest gets mail.
		for _, addr := range []string{"invited@elsewhere.example", "stranger@nowhere.example", "ana@fabrikam.example"} {
			if err := e.svc.SendCode(ctx, e.contoso, addr); err != nil {
				t.Errorf("SendCode(%s): %v", addr, err)
			}
		}
		msgs := e.mails()
		if len(msgs) != 1 || msgs[0].To[0].Address != "invited@elsewhere.example" {
			t.Fatalf("codes sent: %+v", msgs)
		}
		_, code, _ := strings.Cut(msgs[0].Text, "verification code is: ")
		code, _, _ = strings.Cut(code, "\n")
		if len(code) != 8 {
			t.Fatalf("no code in the email: %s", msgs[0].Text)
		}
		wrong := "00000000"
		if code == wrong {
			wrong = "11111111"
		}
		if _, err := e.svc.CheckCode(ctx, e.contoso, "invited@elsewhere.example", wrong); !errors.Is(err, ErrBadCode) {
			t.Errorf("a wrong code: %v", err)
		}
		if _, err := e.svc.CheckCode(ctx, e.contoso, "stranger@nowhere.example", wrong); !errors.Is(err, ErrBadCode) {
			t.Errorf("a stranger's wrong code: %v", err)
		}
		id, err := e.svc.CheckCode(ctx, e.contoso, "Invited@Elsewhere.example", code)
		if err != nil || id.Issuer != federation.IssuerMail || id.Subject != "invited@elsewhere.example" || !id.EmailVerified || id.IdP != "mail" {
			t.Errorf("CheckCode = %+v, %v", id, err)
		}
		if _, err := e.svc.CheckCode(ctx, e.contoso, "invited@elsewhere.example", code); !errors.Is(err, ErrBadCode) {
			t.Errorf("a code used twice: %v", err)
		}
		g, err := e.svc.Guest(ctx, e.contoso, id)
		if err != nil || !g.Pending {
			t.Fatalf("Guest by code = %+v, %v", g, err)
		}
		if err := e.svc.AcceptPending(ctx, e.contoso, g.UserID, id); err != nil {
			t.Fatal(err)
		}
		// Redeemed with a code, the guest is routed to codes.
		if got, err := e.svc.Route(ctx, e.contoso, "invited@elsewhere.example"); err != nil || !got.OTP {
			t.Errorf("Route of a redeemed code guest = %+v, %v", got, err)
		}

		// With one-time passcodes off, strangers and guests who redeemed
		// with a code go to personal accounts.
		if err := e.st.Update(ctx, func(tx store.Tx) error {
			now := e.clock.now()
			return tx.CreateObject(ctx, &store.Object{TenantID: e.contoso, Kind: KindEmailMethodConfiguration, ID: EmailMethodConfigurationID,
				CreatedAt: now, UpdatedAt: now, Data: []byte(`{"id":"Email","allowExternalIdToUseEmailOtp":"disabled"}`)})
		}); err != nil {
			t.Fatal(err)
		}
		for _, addr := range []string{"stranger@nowhere.example", "invited@elsewhere.example"} {
			got, err := e.svc.Route(ctx, e.contoso, addr)
			if err != nil || got.OTP || got.Member || got.Provider.Kind != federation.KindConsumers || got.Provider.TenantID != directory.ConsumersTenantID ||
				got.Provider.Issuer != publicURL+"/"+directory.ConsumersTenantID+"/v2.0" {
				t.Errorf("Route(%s) with codes off = %+v, %v", addr, got, err)
			}
		}
	})
}

// TestConcurrentAcceptPending: just-in-time redemptions of one guest at
// once: exactly one accepts, and the identity is bound once.
func TestConcurrentAcceptPending(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		inv, _ := e.invite("ana@partner.example", nil)
		id := otpIdentity("ana@partner.example")
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { errs[i] = e.svc.AcceptPending(context.Background(), e.contoso, invitedUserID(inv), id) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrNotGuest):
				t.Errorf("a losing acceptance: %v", err)
			}
		}
		if won != 1 || len(e.audits(e.contoso, directory.ActivityRedeemExternalUserInvite)) != 1 {
			t.Errorf("%d acceptances won, want 1: %v", won, errs)
		}
	})
}

// TestSendCodeLimitSameForAll: the send limit answers a guest and a
// stranger alike.
func TestSendCodeLimitSameForAll(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.invite("guest@elsewhere.example", nil)
		for _, addr := range []string{"guest@elsewhere.example", "stranger@nowhere.example"} {
			for i := range otp.DefaultPolicy().Sends {
				if err := e.svc.SendCode(context.Background(), e.contoso, addr); err != nil {
					t.Fatalf("%s: send %d: %v", addr, i, err)
				}
			}
			var limited *otp.TooManyError
			if err := e.svc.SendCode(context.Background(), e.contoso, addr); !errors.As(err, &limited) || limited.RetryAfter <= 0 {
				t.Errorf("%s past the limit: %v", addr, err)
			}
		}
		if n := len(e.mails()); n != otp.DefaultPolicy().Sends {
			t.Errorf("%d emails, want one per code sent to the guest", n)
		}
	})
}
