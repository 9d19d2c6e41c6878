package app

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/b2b"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/login"
	"github.com/gatehouse-id/gatehouse/internal/otp"
)

// loginGuests adapts B2B collaboration to what the sign-in pages ask of it.
type loginGuests struct{ b *b2b.Service }

func (g loginGuests) CrossTenantAccess(ctx context.Context, tenantID string, id federation.Identity, clientID string) (login.CrossTenant, error) {
	r, err := g.b.CrossTenantAccess(ctx, tenantID, id, clientID)
	if err != nil || r.Allowed() {
		return login.CrossTenant{AutomaticRedemption: r.AutomaticRedemption}, err
	}
	return login.CrossTenant{Refused: true, Code: r.ErrorCode, Reason: r.Reason()}, nil
}

// guestErrors pairs each B2B refusal with the pages' name for it.
var guestErrors = []struct{ from, to error }{
	{b2b.ErrInvitationInvalid, login.ErrInvitationInvalid},
	{b2b.ErrWrongIdentity, login.ErrWrongIdentity},
	{b2b.ErrDomainBlocked, login.ErrDomainBlocked},
	{b2b.ErrNotGuest, login.ErrNotGuest},
	{b2b.ErrBadCode, login.ErrBadCode},
}

// toLogin renames a B2B refusal for the pages; anything else (a store
// outage, a usererr the page shows) passes unchanged.
func toLogin(err error) error {
	for _, e := range guestErrors {
		if errors.Is(err, e.from) {
			return e.to
		}
	}
	if tm, ok := errors.AsType[*otp.TooManyError](err); ok {
		return login.ErrTooManyCodes{RetryAfter: tm.RetryAfter}
	}
	return err
}

func (g loginGuests) Invitation(ctx context.Context, ticket string) (login.Invitation, error) {
	in, err := g.b.Invitation(ctx, ticket)
	return login.Invitation(in), toLogin(err)
}

func (g loginGuests) Route(ctx context.Context, tenantID, email string) (login.Route, error) {
	r, err := g.b.Route(ctx, tenantID, email)
	return login.Route(r), toLogin(err)
}

func (g loginGuests) SendCode(ctx context.Context, tenantID, email string) error {
	return toLogin(g.b.SendCode(ctx, tenantID, email))
}

func (g loginGuests) CheckCode(ctx context.Context, tenantID, email, code string) (federation.Identity, error) {
	id, err := g.b.CheckCode(ctx, tenantID, email, code)
	return id, toLogin(err)
}

func (g loginGuests) Redeem(ctx context.Context, ticket string, id federation.Identity) (login.Redeemed, error) {
	r, err := g.b.Redeem(ctx, ticket, id)
	return login.Redeemed(r), toLogin(err)
}

func (g loginGuests) Guest(ctx context.Context, tenantID string, id federation.Identity) (login.Guest, error) {
	u, err := g.b.Guest(ctx, tenantID, id)
	return login.Guest(u), toLogin(err)
}

func (g loginGuests) AcceptPending(ctx context.Context, tenantID, userID string, id federation.Identity) error {
	return toLogin(g.b.AcceptPending(ctx, tenantID, userID, id))
}

func (g loginGuests) Organizations(ctx context.Context, homeTenantID, userID string) ([]login.Organization, error) {
	orgs, err := g.b.Organizations(ctx, homeTenantID, userID)
	out := make([]login.Organization, len(orgs))
	for i, o := range orgs {
		out[i] = login.Organization{TenantID: o.TenantID, Name: o.Name, Home: o.Home}
	}
	return out, toLogin(err)
}

func (g loginGuests) Leave(ctx context.Context, homeTenantID, userID, resourceTenantID string) error {
	return toLogin(g.b.Leave(ctx, homeTenantID, userID, resourceTenantID))
}

// loginAccounts adapts personal-account sign-up in the consumers tenant.
type loginAccounts struct{ b *b2b.Service }

func (a loginAccounts) SendSignUpCode(ctx context.Context, tenantID, email string) error {
	return toLogin(a.b.SendSignUpCode(ctx, tenantID, email))
}

func (a loginAccounts) CreatePersonalAccount(ctx context.Context, tenantID, email, code, displayName, password string) (login.User, error) {
	u, err := a.b.CreatePersonalAccount(ctx, tenantID, email, code, displayName, password)
	if err != nil {
		return login.User{}, toLogin(err)
	}
	upn, _ := u.Doc["userPrincipalName"].(string)
	name, _ := u.Doc["displayName"].(string)
	return login.User{ID: u.ID, TenantID: tenantID, UserPrincipalName: upn, DisplayName: name}, nil
}
