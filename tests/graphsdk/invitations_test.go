package graphsdk_test

import (
	"context"
	"strings"
	"testing"

	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

const (
	inviteeEmail    = "guest.person@partner.graphsdk.test"
	inviteeRedirect = "https://app.partner.graphsdk.test/welcome"
)

// guestSelect is what Graph returns only on request: the guest's state.
var guestSelect = []string{"id", "userType", "externalUserState", "creationType", "mail", "userPrincipalName"}

// testInvitations invites an address through the SDK's Invitations()
// builder as tenant A's automation app, reads the guest back through the
// SDK, and checks that an unsafe redirect URL is refused as Graph refuses
// it. Tenant B must not see A's guest.
func testInvitations(ctx context.Context, t *testing.T, base string, clientA, clientB *msgraphsdk.GraphServiceClient) {
	initial := initialDomain(ctx, t, clientA)
	wantUPN := strings.Replace(inviteeEmail, "@", "_", 1) + "#EXT#@" + initial

	inv := models.NewInvitation()
	inv.SetInvitedUserEmailAddress(ptr(inviteeEmail))
	inv.SetInviteRedirectUrl(ptr(inviteeRedirect))
	inv.SetSendInvitationMessage(ptr(false))
	got, err := clientA.Invitations().Post(ctx, inv, nil)
	if err != nil {
		t.Fatalf("POST /invitations: %s", describe(err))
	}
	if s := deref(got.GetStatus()); s != "PendingAcceptance" {
		t.Errorf("invitation status = %q, want PendingAcceptance", s)
	}
	if u := deref(got.GetInviteRedirectUrl()); u != inviteeRedirect {
		t.Errorf("inviteRedirectUrl = %q, want %q", u, inviteeRedirect)
	}
	if u := deref(got.GetInviteRedeemUrl()); !strings.HasPrefix(u, base+"/redeem?") {
		t.Errorf("inviteRedeemUrl = %q, want a link to %s/redeem", u, base)
	}
	if send := got.GetSendInvitationMessage(); send == nil || *send {
		t.Errorf("sendInvitationMessage = %v, want false", send)
	}
	if typ := deref(got.GetInvitedUserType()); typ != "Guest" {
		t.Errorf("invitedUserType = %q, want Guest", typ)
	}
	if got.GetInvitedUser() == nil || deref(got.GetInvitedUser().GetId()) == "" {
		t.Fatalf("the invitation names no invitedUser.id")
	}
	guestID := deref(got.GetInvitedUser().GetId())

	guest, err := clientA.Users().ByUserId(guestID).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: guestSelect},
	})
	if err != nil {
		t.Fatalf("GET /users/%s: %s", guestID, describe(err))
	}
	for _, c := range []struct{ prop, got, want string }{
		{"id", deref(guest.GetId()), guestID},
		{"userType", deref(guest.GetUserType()), "Guest"},
		{"externalUserState", deref(guest.GetExternalUserState()), "PendingAcceptance"},
		{"creationType", deref(guest.GetCreationType()), "Invitation"},
		{"mail", deref(guest.GetMail()), inviteeEmail},
		{"userPrincipalName", deref(guest.GetUserPrincipalName()), wantUPN},
	} {
		if c.got != c.want {
			t.Errorf("guest %s = %q, want %q", c.prop, c.got, c.want)
		}
	}

	// The #EXT# UPN as a key: the SDK has to send '#' as %23.
	byUPN, err := clientA.Users().ByUserId(wantUPN).Get(ctx, nil)
	if err != nil {
		t.Errorf("GET /users/{%s}: %s", wantUPN, describe(err))
	} else if id := deref(byUPN.GetId()); id != guestID {
		t.Errorf("GET /users/{%s} returned id %q, want the guest %s", wantUPN, id, guestID)
	}

	_, err = clientB.Users().ByUserId(guestID).Get(ctx, nil)
	assertODataError(t, err, []int{404}, "Request_ResourceNotFound")

	t.Run("UnsafeRedirect", func(t *testing.T) {
		const email = "scripted@partner.graphsdk.test"
		bad := models.NewInvitation()
		bad.SetInvitedUserEmailAddress(ptr(email))
		bad.SetInviteRedirectUrl(ptr("javascript:alert(document.domain)"))
		bad.SetSendInvitationMessage(ptr(false))
		_, err := clientA.Invitations().Post(ctx, bad, nil)
		assertODataError(t, err, []int{400}, "Request_BadRequest")
		// Refused before anything was written: no guest for the address.
		upn := strings.Replace(email, "@", "_", 1) + "#EXT#@" + initial
		_, err = clientA.Users().ByUserId(upn).Get(ctx, nil)
		assertODataError(t, err, []int{404}, "Request_ResourceNotFound")
	})
}

// initialDomain is the tenant's isInitial domain, under which guests'
// UPNs are made.
func initialDomain(ctx context.Context, t *testing.T, client *msgraphsdk.GraphServiceClient) string {
	t.Helper()
	page, err := client.Domains().Get(ctx, nil)
	if err != nil {
		t.Fatalf("GET /domains: %s", describe(err))
	}
	var initial []string
	for _, d := range page.GetValue() {
		if deref(d.GetIsInitial()) {
			initial = append(initial, deref(d.GetId()))
		}
	}
	if len(initial) != 1 {
		t.Fatalf("GET /domains: %d initial domains %v, want one", len(initial), initial)
	}
	return initial[0]
}
