package app

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
	"github.com/gatehouse-id/gatehouse/internal/login"
	"github.com/gatehouse-id/gatehouse/internal/sessionpolicy"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// loginDirectory adapts the directory to what the sign-in pages ask of it.
type loginDirectory struct{ dir *directory.Service }

func toLoginUser(u directory.SignInUser) login.User {
	return login.User{ID: u.ID, TenantID: u.TenantID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName, MustChangePassword: u.MustChangePassword}
}

func (d loginDirectory) SignIn(ctx context.Context, tenantID, username, password string) (login.User, error) {
	u, err := d.dir.SignIn(ctx, tenantID, username, password)
	// A disabled account is refused like a wrong password: the pages say
	// nothing about which accounts exist or in what state. Only the sign-in
	// log learns which it was.
	if f := signInFailure(err); f != nil {
		return login.User{}, errors.Join(login.ErrBadCredentials, f)
	}
	if err != nil {
		return login.User{}, err
	}
	return toLoginUser(u), nil
}

func (d loginDirectory) User(ctx context.Context, tenantID, userID string) (login.User, error) {
	u, err := d.dir.SignInAccount(ctx, tenantID, userID)
	if usererr.IsKind(err, usererr.NotFound) || errors.Is(err, directory.ErrAccountDisabled) {
		return login.User{}, login.ErrNoUser
	}
	if err != nil {
		return login.User{}, err
	}
	return toLoginUser(u), nil
}

func (d loginDirectory) ChangePassword(ctx context.Context, tenantID, userID, current, next string) error {
	err := d.dir.ChangePassword(ctx, tenantID, userID, current, next)
	if errors.Is(err, directory.ErrBadCredentials) {
		return login.ErrBadCredentials
	}
	return err
}

func (d loginDirectory) HomeTenant(ctx context.Context, domain string) (string, error) {
	id, err := d.dir.ResolveTenant(ctx, domain)
	if usererr.IsKind(err, usererr.NotFound) {
		return "", nil
	}
	return id, err
}

func (d loginDirectory) MissingConsent(ctx context.Context, tenantID, userID, clientID string, scopes []string) ([]login.Permission, error) {
	missing, err := d.dir.MissingConsent(ctx, tenantID, userID, clientID, scopes)
	if err != nil {
		return nil, err
	}
	return toLoginPermissions(missing), nil
}

func toLoginPermissions(perms []directory.DelegatedPermission) []login.Permission {
	out := make([]login.Permission, len(perms))
	for i, p := range perms {
		out[i] = login.Permission{Value: p.Value, Description: p.Description}
	}
	return out
}

func (d loginDirectory) CheckConsent(ctx context.Context, tenantID, userID string, scopes []string) error {
	return d.dir.CheckUserConsent(ctx, tenantID, userID, scopes)
}

func (d loginDirectory) GrantConsent(ctx context.Context, tenantID, userID, clientID string, scopes []string) error {
	return d.dir.GrantConsent(ctx, tenantID, userID, clientID, scopes)
}

func (d loginDirectory) ConsentPermissions(ctx context.Context, tenantID, clientID string, scopes []string) ([]login.Permission, error) {
	perms, err := d.dir.ConsentPermissions(ctx, tenantID, clientID, scopes)
	if err != nil {
		return nil, err
	}
	return toLoginPermissions(perms), nil
}

func (d loginDirectory) CheckAdminConsent(ctx context.Context, tenantID, userID string) error {
	return d.dir.CheckAdminConsent(ctx, tenantID, userID)
}

func (d loginDirectory) GrantAdminConsent(ctx context.Context, tenantID, userID, clientID string, scopes []string) error {
	return d.dir.GrantAdminConsent(ctx, tenantID, userID, clientID, scopes)
}

func (d loginDirectory) Branding(ctx context.Context, tenantID, locale string) (login.Branding, error) {
	b, err := d.dir.BrandingFor(ctx, tenantID, locale)
	if err != nil {
		return login.Branding{}, err
	}
	return login.Branding{TenantName: b.TenantName, LogoURL: b.LogoURL, BackgroundColor: b.BackgroundColor, SignInText: b.SignInText,
		ResetURL: b.ResetURL, ResetText: b.ResetText, TermsURL: b.TermsURL, TermsText: b.TermsText, PrivacyURL: b.PrivacyURL, PrivacyText: b.PrivacyText,
		UploadedLogo: uploadedLogo(tenantID, b.BannerLogo)}, nil
}

// uploadedLogo is the address of an uploaded logo, "" for none.
func uploadedLogo(tenantID string, ref *directory.LogoRef) string {
	if ref == nil {
		return ""
	}
	return hostedpage.LogoPath(tenantID, ref.BrandingID, ref.Property, ref.SHA256, ref.Extension)
}

func (d loginDirectory) RecordSignIn(ctx context.Context, tenantID, userID, requestID string) error {
	return d.dir.RecordSignIn(ctx, tenantID, userID, requestID, directory.Interactive)
}

func (d loginDirectory) SessionPolicy(ctx context.Context, tenantID string) (sessionpolicy.Policy, error) {
	return d.dir.SessionPolicy(ctx, tenantID)
}

// signInFailure is the AADSTS failure of a password sign-in, nil when err
// is none.
func signInFailure(err error) *authn.Failure {
	switch {
	case errors.Is(err, directory.ErrUnknownAccount):
		return &authn.Failure{Code: 50034, Reason: "The user account does not exist in the directory."}
	case errors.Is(err, directory.ErrBadCredentials):
		return &authn.Failure{Code: 50126, Reason: "Invalid username or password or Invalid on-premise username or password."}
	case errors.Is(err, directory.ErrAccountDisabled):
		return &authn.Failure{Code: 50057, Reason: "The user account is disabled."}
	}
	return nil
}
