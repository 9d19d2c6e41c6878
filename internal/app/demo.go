package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/b2b"
	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/outbox"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// The walkthrough's organizations: Contoso invites, Fabrikam's user is
// invited.
const (
	DemoResourceDomain = "contoso.example"
	DemoHomeDomain     = "fabrikam.example"
)

// Demo is what SeedDemo made. Its secrets are stored nowhere in clear and
// cannot be shown again.
type Demo struct {
	PublicURL string
	Contoso   directory.CreatedTenant
	// App is Contoso's sample web application.
	App      struct{ ClientID, ClientSecret, RedirectURI string }
	Fabrikam directory.CreatedTenant
	// Ana is Fabrikam's user, invited to Contoso.
	Ana         struct{ ID, UserPrincipalName, Password string }
	Invitations []DemoInvitation
}

// DemoInvitation is one invitation SeedDemo sent.
type DemoInvitation struct {
	Email, RedeemURL, InvitedUserID string
}

// demoInvitees are invited to Contoso: Ana redeems with her Fabrikam
// account, Sam, of no organization here, with an email one-time passcode.
var demoInvitees = []struct{ email, name string }{
	{"ana@" + DemoHomeDomain, "Ana Silva"},
	{"sam@example.net", "Sam Taylor"},
}

// SeedDemo makes the B2B walkthrough on st: Contoso with a sample app,
// Fabrikam with Ana, and invitations of Ana and of Sam to Contoso whose
// emails are enqueued for the serving nodes to deliver (no worker runs
// here, so the CLI never sends mail itself). It refuses, changing nothing,
// when either domain is taken; a later failure names what it had made.
func SeedDemo(ctx context.Context, cfg Config, st store.Store) (Demo, error) {
	cfg.defaults()
	out := Demo{PublicURL: cfg.PublicURL}
	// Redirects land on this deployment's pages, which must be a valid
	// invitation redirect before anything is created.
	if b2b.CheckRedirectURL(cfg.PublicURL+"/") != nil {
		return out, fmt.Errorf("the public URL %s must be https, or http to localhost, for invitations to redirect to it", cfg.PublicURL)
	}
	keys, err := loadKeyring(cfg)
	if err != nil {
		return out, err
	}
	dir, err := NewDirectory(st, cfg.PasswordBlocklist, cfg.PublicURL)
	if err != nil {
		return out, err
	}
	guests, err := newGuests(cfg, dir, keys, outbox.NewMailer(keys, uuid.NewString, cfg.Now),
		federation.New(federation.Config{Directory: dir, Keys: keys, PublicURL: cfg.PublicURL, Now: cfg.Now}))
	if err != nil {
		return out, err
	}
	for _, domain := range []string{DemoResourceDomain, DemoHomeDomain} {
		id, err := dir.ResolveTenant(ctx, domain)
		if err == nil {
			return out, fmt.Errorf("the domain %s already belongs to tenant %s: run the demo on a fresh --data-dir (or --store)", domain, id)
		}
		if !usererr.IsKind(err, usererr.NotFound) {
			return out, err
		}
	}

	var made []string
	fail := func(step string, err error) error {
		err = fmt.Errorf("%s: %w", step, plain(err))
		if len(made) > 0 {
			err = fmt.Errorf("%w; already created and left in place: %s", err, strings.Join(made, "; "))
		}
		return err
	}
	if out.Contoso, err = dir.CreateTenant(ctx, directory.NewTenant{DisplayName: "Contoso", Domain: DemoResourceDomain}); err != nil {
		return out, fail("creating Contoso", err)
	}
	made = append(made, fmt.Sprintf("tenant Contoso %s (Global Administrator %s, password %s)", out.Contoso.TenantID, out.Contoso.Admin.UserPrincipalName, out.Contoso.Admin.Password))
	if out.Fabrikam, err = dir.CreateTenant(ctx, directory.NewTenant{DisplayName: "Fabrikam", Domain: DemoHomeDomain}); err != nil {
		return out, fail("creating Fabrikam", err)
	}
	made = append(made, fmt.Sprintf("tenant Fabrikam %s (Global Administrator %s, password %s)", out.Fabrikam.TenantID, out.Fabrikam.Admin.UserPrincipalName, out.Fabrikam.Admin.Password))

	// Each tenant's changes are its automation app's, as they would be
	// through Graph, so the audit log names who made them.
	asFabrikam, err := automation(ctx, dir, out.Fabrikam)
	if err != nil {
		return out, fail("signing in as Fabrikam's automation app", err)
	}
	ana := demoInvitees[0]
	out.Ana.UserPrincipalName, out.Ana.Password = ana.email, directory.GeneratePassword()
	u, err := dir.CreateUser(asFabrikam, out.Fabrikam.TenantID, directory.Doc{"accountEnabled": true, "displayName": ana.name,
		"mailNickname": "ana", "userPrincipalName": ana.email, "mail": ana.email,
		"passwordProfile": map[string]any{"password": out.Ana.Password, "forceChangePasswordNextSignIn": false}})
	if err != nil {
		return out, fail("creating "+ana.email, err)
	}
	out.Ana.ID = u.ID
	made = append(made, fmt.Sprintf("user %s (password %s)", ana.email, out.Ana.Password))

	asContoso, err := automation(ctx, dir, out.Contoso)
	if err != nil {
		return out, fail("signing in as Contoso's automation app", err)
	}
	// The sample app signs guests in to Contoso and lands on Contoso's
	// "my organizations" page, which any browser can show.
	out.App.RedirectURI = cfg.PublicURL + "/" + out.Contoso.TenantID + "/myorganizations"
	app, err := dir.CreateApplication(asContoso, out.Contoso.TenantID, directory.Doc{"displayName": "Contoso sample app",
		"web": map[string]any{"redirectUris": []any{out.App.RedirectURI}}})
	if err != nil {
		return out, fail("registering Contoso's sample app", err)
	}
	out.App.ClientID, _ = app.Doc["appId"].(string)
	made = append(made, "Contoso's sample app "+out.App.ClientID)
	if _, err := dir.CreateServicePrincipal(asContoso, out.Contoso.TenantID, directory.Doc{"appId": out.App.ClientID}); err != nil {
		return out, fail("adding the sample app's service principal", err)
	}
	secret, err := dir.AddPassword(asContoso, out.Contoso.TenantID, app.ID, directory.Doc{"passwordCredential": map[string]any{"displayName": "demo"}})
	if err != nil {
		return out, fail("adding the sample app's client secret", err)
	}
	out.App.ClientSecret = secret.SecretText

	// After redeeming, Ana lands on her home organization's list, which
	// now shows Contoso too; Sam, of no organization here, on Contoso's.
	redirects := []string{cfg.PublicURL + "/" + out.Fabrikam.TenantID + "/myorganizations", out.App.RedirectURI}
	for i, who := range demoInvitees {
		inv, err := guests.Invite(asContoso, out.Contoso.TenantID, directory.Doc{"invitedUserEmailAddress": who.email,
			"invitedUserDisplayName": who.name, "inviteRedirectUrl": redirects[i], "sendInvitationMessage": true})
		if err != nil {
			return out, fail("inviting "+who.email, err)
		}
		redeem, _ := inv["inviteRedeemUrl"].(string)
		user, _ := inv["invitedUser"].(map[string]any)
		id, _ := user["id"].(string)
		out.Invitations = append(out.Invitations, DemoInvitation{Email: who.email, RedeemURL: redeem, InvitedUserID: id})
		made = append(made, "the invitation of "+who.email)
	}
	return out, nil
}

// automation is a context acting as the tenant's automation app, with the
// application permissions it holds.
func automation(ctx context.Context, dir *directory.Service, t directory.CreatedTenant) (context.Context, error) {
	app, err := dir.AuthenticateApp(ctx, t.TenantID, t.Auto.ClientID, t.Auto.ClientSecret)
	if err != nil {
		return nil, err
	}
	return caller.With(ctx, caller.Caller{TenantID: t.TenantID, ObjectID: app.ServicePrincipalID, AppID: app.AppID, AppOnly: true, Roles: app.Roles}), nil
}

// plain is err as a person at a terminal reads it: a refusal's message.
func plain(err error) error {
	if ue, ok := usererr.As(err); ok {
		return errors.New(ue.Message)
	}
	return err
}
