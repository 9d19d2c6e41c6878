package b2b

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// otpPurpose names guests' one-time passcodes among a tenant's codes.
const otpPurpose = "b2bGuest"

// Proves reports whether an identity proves it is the invited address:
// the provider vouches for that very address, or the person proved it
// with a one-time passcode. A name, an unverified email or a similar
// address proves nothing.
func Proves(id federation.Identity, address string) bool {
	if address == "" {
		return false
	}
	if id.Issuer == federation.IssuerMail {
		return strings.EqualFold(id.Subject, address)
	}
	return id.EmailVerified && strings.EqualFold(id.Email, address)
}

// Invitation reads what the redemption page shows about a ticket without
// using it up (link scanners open links too).
func (s *Service) Invitation(ctx context.Context, secret string) (Invitation, error) {
	var out Invitation
	err := s.dir.View(ctx, func(tx store.Tx) error {
		tenantID, t, err := readTicket(ctx, tx, secret)
		if err != nil {
			return err
		}
		if _, err := tx.GetObject(ctx, tenantID, directory.KindUser, t.UserID); errors.Is(err, store.ErrNotFound) {
			return ErrInvitationInvalid
		} else if err != nil {
			return err
		}
		org, err := tx.GetObject(ctx, tenantID, directory.KindOrganization, tenantID)
		if err != nil {
			return err
		}
		od, err := directory.DecodeBody(org.Data)
		if err != nil {
			return err
		}
		privacy, _ := od["privacyProfile"].(map[string]any)
		out = Invitation{TenantID: tenantID, TenantName: org.DisplayName, InvitedEmail: t.Email, InviterName: orDefault(t.InviterName, org.DisplayName)}
		out.PrivacyURL, _ = privacy["statementUrl"].(string)
		return nil
	})
	return out, err
}

// Redeem accepts the invitation a ticket names with an identity that
// proves the invited address. The ticket is used up only by a redemption
// that succeeds; of concurrent ones exactly one does.
func (s *Service) Redeem(ctx context.Context, secret string, id federation.Identity) (Redeemed, error) {
	tenantID, ok := ticketTenant(secret)
	if !ok {
		return Redeemed{}, ErrInvitationInvalid
	}
	// The guest is the initiator of what the redemption records.
	var t ticket
	if err := s.dir.View(ctx, func(tx store.Tx) (err error) {
		_, t, err = readTicket(ctx, tx, secret)
		return err
	}); err != nil {
		return Redeemed{}, err
	}
	ctx = directory.ActingUser(ctx, tenantID, t.UserID)
	var out Redeemed
	err := s.dir.Update(ctx, func(tx store.Tx) error {
		// Redemptions and just-in-time acceptances of the tenant queue here,
		// each taking the tenant before the guest's tickets, so they cannot
		// wait on each other in a cycle.
		if err := tx.LockTenant(ctx, tenantID); errors.Is(err, store.ErrNotFound) {
			return ErrInvitationInvalid
		} else if err != nil {
			return err
		}
		_, t, err := readTicket(ctx, tx, secret)
		if err != nil {
			return err
		}
		// A refused redemption rolls back and leaves the ticket usable.
		if err := consumeTicket(ctx, tx, tenantID, secret); err != nil {
			return err
		}
		guest, err := liveUser(ctx, tx, tenantID, t.UserID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrInvitationInvalid
		}
		if err != nil {
			return err
		}
		if err := s.accept(ctx, tx, tenantID, guest, t.Email, id); err != nil {
			return err
		}
		out = Redeemed{TenantID: tenantID, UserID: guest.ID, RedirectURL: t.RedirectURL}
		return nil
	})
	return out, err
}

// AcceptPending redeems a pending guest's invitation as they sign in
// (just-in-time redemption): the identity must prove the guest's address.
// The guest's outstanding tickets are used up with it.
func (s *Service) AcceptPending(ctx context.Context, tenantID, userID string, id federation.Identity) error {
	return s.dir.Update(directory.ActingUser(ctx, tenantID, userID), func(tx store.Tx) error {
		// Concurrent acceptances queue here; the later ones find the guest
		// no longer pending.
		if err := tx.LockTenant(ctx, tenantID); err != nil {
			return err
		}
		guest, err := liveUser(ctx, tx, tenantID, userID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotGuest
		}
		if err != nil {
			return err
		}
		if str(guest.Doc, "externalUserState") != statePending {
			return ErrNotGuest
		}
		if err := s.accept(ctx, tx, tenantID, guest, str(guest.Doc, "mail"), id); err != nil {
			return err
		}
		_, err = tx.DeleteStates(ctx, tenantID, store.StateFilter{Kind: ticketKind, Subject: guest.ID})
		return err
	})
}

// accept binds id to the guest invited at address: the address's domain
// must still be admitted, id must prove the address, and a guest who
// already redeemed accepts only the identity they redeemed with.
func (s *Service) accept(ctx context.Context, tx store.Tx, tenantID string, guest directory.Object, address string, id federation.Identity) error {
	settings, err := ReadSettings(ctx, tx, tenantID)
	if err != nil {
		return err
	}
	if !DomainAllowed(settings, address).Allowed {
		return ErrDomainBlocked
	}
	if !Proves(id, address) || id.Issuer == "" || id.Subject == "" {
		return ErrWrongIdentity
	}
	if str(guest.Doc, "externalUserState") == stateAccepted {
		held, err := tx.GetExternalIdentity(ctx, tenantID, id.Issuer, id.Subject)
		if errors.Is(err, store.ErrNotFound) || err == nil && held.UserID != guest.ID {
			return ErrWrongIdentity
		}
		return err
	}
	err = tx.PutExternalIdentity(ctx, store.ExternalIdentity{TenantID: tenantID, Issuer: id.Issuer, Subject: id.Subject,
		UserID: guest.ID, HomeTenantID: id.HomeTenantID, CreatedAt: s.now().UTC()})
	if errors.Is(err, store.ErrConflict) {
		// The identity already signs in as another user of the tenant.
		return ErrWrongIdentity
	}
	if err != nil {
		return err
	}
	label := orDefault(id.IdP, id.Issuer)
	set := directory.Doc{"externalUserState": stateAccepted, "externalUserStateChangeDateTime": s.timestamp(),
		"identities": []any{map[string]any{"signInType": "federated", "issuer": label, "issuerAssignedId": id.Subject}}}
	updated, err := s.dir.SetUserProperties(ctx, tx, tenantID, guest.ID, set, false)
	if usererr.IsKind(err, usererr.Invalid) {
		return ErrWrongIdentity
	}
	if err != nil {
		return err
	}
	directory.Note(tx, tenantID, audit.DirectoryAudit{ActivityDisplayName: directory.ActivityRedeemExternalUserInvite, Category: audit.CategoryUserManagement,
		LoggedByService: loggedBy, OperationType: "Update",
		TargetResources: []audit.TargetResource{{ID: guest.ID, DisplayName: str(updated.Doc, "displayName"),
			UserPrincipalName: str(updated.Doc, "userPrincipalName"), Type: "User"}},
		AdditionalDetails: []audit.KeyValue{{Key: "identityProvider", Value: label}}})
	return nil
}

func liveUser(ctx context.Context, tx store.Tx, tenantID, userID string) (directory.Object, error) {
	o, err := tx.GetObject(ctx, tenantID, directory.KindUser, userID)
	if err != nil {
		return directory.Object{}, err
	}
	d, err := directory.DecodeBody(o.Data)
	if err != nil {
		return directory.Object{}, err
	}
	return directory.Object{Kind: o.Kind, ID: o.ID, Version: o.Version, Doc: d}, nil
}

// Route says where an address signs in to the tenant: the tenant's own
// domains are members'; a guest who redeemed goes where their identity
// lives; otherwise a tenant of this deployment that verified the domain,
// then a provider the tenant configured for it, then an email one-time
// passcode if the tenant allows it, else the consumers tenant. Known and
// unknown addresses get answers of one shape.
func (s *Service) Route(ctx context.Context, tenantID, email string) (Route, error) {
	_, domain, ok := strings.Cut(strings.ToLower(strings.TrimSpace(email)), "@")
	if !ok || domain == "" {
		return Route{}, usererr.New(usererr.Invalid, "Enter a valid email address.")
	}
	var route Route
	var decided bool
	err := s.dir.View(ctx, func(tx store.Tx) error {
		own, err := tx.GetDomain(ctx, tenantID, domain)
		if err == nil && own.Verified {
			route, decided = Route{Member: true}, true
			return nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if route, decided, err = s.redeemedRoute(ctx, tx, tenantID, email); err != nil || decided {
			return err
		}
		home, err := tx.LookupDomain(ctx, domain)
		if err == nil && home.Verified && home.TenantID != tenantID {
			p, err := s.tenantProvider(ctx, tx, federation.KindTenant, home.TenantID)
			route, decided = Route{Provider: p}, true
			return err
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil || decided {
		return route, err
	}
	p, found, err := s.providers.ForDomain(ctx, tenantID, domain)
	if err != nil || found {
		return Route{Provider: p}, err
	}
	var settings Settings
	if err := s.dir.View(ctx, func(tx store.Tx) (err error) {
		settings, err = ReadSettings(ctx, tx, tenantID)
		return err
	}); err != nil || settings.EmailOTP {
		return Route{OTP: err == nil}, err
	}
	// Personal accounts: the consumers tenant comes into being when first
	// needed.
	if err := s.dir.EnsureConsumersTenant(ctx); err != nil {
		return Route{}, err
	}
	err = s.dir.View(ctx, func(tx store.Tx) (err error) {
		p, err = s.tenantProvider(ctx, tx, federation.KindConsumers, directory.ConsumersTenantID)
		return err
	})
	return Route{Provider: p}, err
}

// redeemedRoute is where a redeemed guest's identity lives: a tenant of
// this deployment, or the one-time passcode while the tenant allows it.
// Other providers are found by the address's domain as for anyone.
func (s *Service) redeemedRoute(ctx context.Context, tx store.Tx, tenantID, email string) (Route, bool, error) {
	users, err := userByMail(ctx, tx, tenantID, email)
	if err != nil || len(users) != 1 || str(users[0].Doc, "externalUserState") != stateAccepted {
		return Route{}, false, err
	}
	idents, _ := users[0].Doc["identities"].([]any)
	for _, e := range idents {
		m, _ := e.(map[string]any)
		if str(m, "signInType") != "federated" {
			continue
		}
		issuer := str(m, "issuer")
		if issuer == federation.IssuerMail {
			// With passcodes turned off, such a guest can no longer sign in
			// with one (as in Entra); the address routes as anyone's.
			settings, err := ReadSettings(ctx, tx, tenantID)
			return Route{OTP: true}, err == nil && settings.EmailOTP, err
		}
		if home, ok := s.homeTenantOf(issuer); ok {
			p, err := s.tenantProvider(ctx, tx, federation.KindTenant, home)
			return Route{Provider: p}, err == nil, err
		}
	}
	return Route{}, false, nil
}

func (s *Service) tenantProvider(ctx context.Context, tx store.Tx, kind federation.Kind, tenantID string) (federation.Provider, error) {
	t, err := tx.GetTenant(ctx, tenantID)
	if err != nil {
		return federation.Provider{}, err
	}
	return federation.Provider{Kind: kind, TenantID: tenantID, DisplayName: t.DisplayName, Issuer: s.TenantIssuer(tenantID)}, nil
}

// SendCode sends a one-time passcode to an address that redeems or signs
// in to the tenant with one: an invited or redeemed guest of the tenant
// whose route is the passcode. Any other address gets a code that is
// never sent, so the answer, and the send limit, are the same for every
// address. Past the send limit it returns Codes.Issue's error unchanged
// (*otp.TooManyError).
func (s *Service) SendCode(ctx context.Context, tenantID, email string) error {
	address := strings.ToLower(strings.TrimSpace(email))
	if CheckInvitedEmail(address) != nil {
		return usererr.New(usererr.Invalid, "Enter a valid email address.")
	}
	send, err := s.otpGuest(ctx, tenantID, address)
	if err != nil {
		return err
	}
	brand, err := s.dir.BrandingFor(ctx, tenantID, "en")
	if err != nil {
		return err
	}
	return s.dir.Update(ctx, func(tx store.Tx) error {
		code, err := s.codes.Issue(ctx, tx, tenantID, otpPurpose, address)
		if err != nil || !send {
			return err
		}
		msg := codeEmail(brand.TenantName, address, code, s.messageID())
		msg.Report.Kind, msg.Report.TenantID = "otp", tenantID
		return s.mailer.Enqueue(ctx, tx, tenantID, msg)
	})
}

// otpGuest reports whether address is a guest of the tenant who signs in
// with a one-time passcode.
func (s *Service) otpGuest(ctx context.Context, tenantID, address string) (bool, error) {
	var users []directory.Object
	if err := s.dir.View(ctx, func(tx store.Tx) (err error) {
		users, err = userByMail(ctx, tx, tenantID, address)
		return err
	}); err != nil || len(users) != 1 {
		return false, err
	}
	switch str(users[0].Doc, "externalUserState") {
	case statePending, stateAccepted:
		r, err := s.Route(ctx, tenantID, address)
		return r.OTP, err
	}
	return false, nil
}

// CheckCode checks a one-time passcode and returns the identity it
// proves: the address itself, with IssuerMail.
func (s *Service) CheckCode(ctx context.Context, tenantID, email, code string) (federation.Identity, error) {
	address := strings.ToLower(strings.TrimSpace(email))
	err := s.codes.Check(ctx, s.dir.Store(), tenantID, otpPurpose, address, code)
	if errors.Is(err, otp.ErrWrongCode) || errors.Is(err, otp.ErrNoCode) {
		return federation.Identity{}, ErrBadCode
	}
	if err != nil {
		return federation.Identity{}, err
	}
	return federation.Identity{Issuer: federation.IssuerMail, Subject: address, Email: address, EmailVerified: true,
		IdP: federation.IssuerMail, AuthTime: s.now().UTC(), AMR: []string{"otp"}}, nil
}

// Guest finds the guest user id signs in as: the one its (issuer,
// subject) is bound to; else a pending guest invited at an address id
// proves, who may accept now (Pending). ErrWrongIdentity if the address
// belongs to a guest who redeemed with another identity; ErrNotGuest if
// id is no one in the tenant.
func (s *Service) Guest(ctx context.Context, tenantID string, id federation.Identity) (Guest, error) {
	var out Guest
	err := s.dir.View(ctx, func(tx store.Tx) error {
		held, err := tx.GetExternalIdentity(ctx, tenantID, id.Issuer, id.Subject)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err == nil {
			u, err := liveUser(ctx, tx, tenantID, held.UserID)
			if err == nil && str(u.Doc, "externalUserState") == stateAccepted {
				out = guestOf(u, false)
				return nil
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		address := id.Email
		if id.Issuer == federation.IssuerMail {
			address = id.Subject
		}
		if !Proves(id, address) {
			return ErrNotGuest
		}
		users, err := userByMail(ctx, tx, tenantID, address)
		if err != nil {
			return err
		}
		for _, u := range users {
			switch str(u.Doc, "externalUserState") {
			case statePending:
				out = guestOf(u, true)
				return nil
			case stateAccepted:
				return ErrWrongIdentity
			}
		}
		return ErrNotGuest
	})
	return out, err
}

func guestOf(u directory.Object, pending bool) Guest {
	return Guest{UserID: u.ID, UserPrincipalName: str(u.Doc, "userPrincipalName"), DisplayName: str(u.Doc, "displayName"), Pending: pending}
}

// Organizations lists the tenants a user of this deployment belongs to:
// their home tenant, then every tenant where their home account is a
// guest.
func (s *Service) Organizations(ctx context.Context, homeTenantID, userID string) ([]Organization, error) {
	var out []Organization
	err := s.dir.View(ctx, func(tx store.Tx) error {
		home, err := tx.GetTenant(ctx, homeTenantID)
		if err != nil {
			return err
		}
		out = append(out, Organization{TenantID: home.ID, Name: home.DisplayName, UserID: userID, Home: true})
		accounts, err := tx.ListGuestAccounts(ctx, s.TenantIssuer(homeTenantID), userID)
		if err != nil {
			return err
		}
		for _, a := range accounts {
			t, err := tx.GetTenant(ctx, a.TenantID)
			if err != nil {
				return err
			}
			out = append(out, Organization{TenantID: t.ID, Name: t.DisplayName, UserID: a.UserID})
		}
		return nil
	})
	return out, err
}

// Leave removes the guest account a user of this deployment holds in a
// resource tenant, on their own behalf: it is soft-deleted, and its
// sessions and tokens end.
func (s *Service) Leave(ctx context.Context, homeTenantID, userID, resourceTenantID string) error {
	var held store.ExternalIdentity
	if err := s.dir.View(ctx, func(tx store.Tx) (err error) {
		held, err = tx.GetExternalIdentity(ctx, resourceTenantID, s.TenantIssuer(homeTenantID), userID)
		return err
	}); errors.Is(err, store.ErrNotFound) {
		return ErrNotGuest
	} else if err != nil {
		return err
	}
	// The guest leaves on their own behalf: they initiate what is recorded.
	ctx = directory.ActingUser(ctx, resourceTenantID, held.UserID)
	return s.dir.Update(ctx, func(tx store.Tx) error {
		again, err := tx.GetExternalIdentity(ctx, resourceTenantID, s.TenantIssuer(homeTenantID), userID)
		if errors.Is(err, store.ErrNotFound) || err == nil && again.UserID != held.UserID {
			return ErrNotGuest
		}
		if err != nil {
			return err
		}
		guest, err := liveUser(ctx, tx, resourceTenantID, held.UserID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotGuest
		}
		if err != nil {
			return err
		}
		if err := s.dir.RemoveUser(ctx, tx, resourceTenantID, guest.ID); err != nil {
			return err
		}
		directory.Note(tx, resourceTenantID, audit.DirectoryAudit{ActivityDisplayName: directory.ActivityDeleteExternalUser, Category: audit.CategoryUserManagement,
			LoggedByService: loggedBy, OperationType: "Delete",
			TargetResources: []audit.TargetResource{{ID: guest.ID, DisplayName: str(guest.Doc, "displayName"),
				UserPrincipalName: str(guest.Doc, "userPrincipalName"), Type: "User"}}})
		return nil
	})
}

// GuestHome is what a guest's sign-ins depend on in their home tenant,
// when their identity is an account of a tenant of this deployment.
type GuestHome struct {
	// TenantID and UserID name the home account; empty for a guest from
	// elsewhere (a social or OpenID provider, a one-time passcode).
	TenantID, UserID string
	// Active: the guest may go on signing in as far as the home tenant
	// says. A guest whose home account was deleted or disabled, or whose
	// own account is gone, is not.
	Active bool
}

// HomeAccount reads a guest's home account (a cross-tenant read of one
// account, through the directory's lookup).
func (s *Service) HomeAccount(ctx context.Context, tenantID, guestUserID string) (GuestHome, error) {
	var out GuestHome
	err := s.dir.View(ctx, func(tx store.Tx) (err error) {
		out, _, err = s.homeIn(ctx, tx, tenantID, guestUserID)
		return err
	})
	return out, err
}

// homeIn reads a guest's home account in tx, and what the directory's
// lookup found of it (its groups, for cross-tenant access decisions).
func (s *Service) homeIn(ctx context.Context, tx store.Tx, tenantID, guestUserID string) (GuestHome, directory.HomeAccount, error) {
	guest, err := liveUser(ctx, tx, tenantID, guestUserID)
	if errors.Is(err, store.ErrNotFound) {
		return GuestHome{}, directory.HomeAccount{}, nil
	}
	if err != nil {
		return GuestHome{}, directory.HomeAccount{}, err
	}
	idents, _ := guest.Doc["identities"].([]any)
	for _, e := range idents {
		m, _ := e.(map[string]any)
		home, ok := s.homeTenantOf(str(m, "issuer"))
		if str(m, "signInType") != "federated" || !ok {
			continue
		}
		acct, err := directory.LookUpHomeAccount(ctx, tx, home, str(m, "issuerAssignedId"))
		if err != nil {
			return GuestHome{}, directory.HomeAccount{}, err
		}
		return GuestHome{TenantID: home, UserID: acct.UserID, Active: acct.Active}, acct, nil
	}
	return GuestHome{Active: true}, directory.HomeAccount{}, nil
}
