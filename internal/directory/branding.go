package directory

import (
	"context"
	"regexp"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// KindBranding is a tenant's company branding: the default one has id "0",
// localizations are keyed by their language tag.
const KindBranding = "organizationalBrandingLocalization"

// DefaultBrandingID is the id of the default (base) branding.
const DefaultBrandingID = "0"

var colourPattern = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

var brandingSpec = (&kindSpec{
	kind: KindBranding, typeName: "organizationalBrandingLocalization", resource: "OrganizationalBrandingLocalization",
	props: map[string]prop{
		"id": ro(tString),
		"backgroundColor": {typ: tString, check: func(v string) error {
			if !colourPattern.MatchString(v) {
				return errf("a colour is #rgb or #rrggbb")
			}
			return nil
		}},
		"signInPageText":                    text(1024),
		"usernameHintText":                  text(64),
		"bannerLogoRelativeUrl":             httpsLink(512, "the logo must be an https URL"),
		"customAccountResetCredentialsUrl":  httpsLink(128, "the account reset link must be an https URL"),
		"customCannotAccessYourAccountText": text(256),
		"customTermsOfUseUrl":               httpsLink(512, "the terms of use link must be an https URL"),
		"customTermsOfUseText":              text(256),
		"customPrivacyAndCookiesUrl":        httpsLink(512, "the privacy and cookies link must be an https URL"),
		"customPrivacyAndCookiesText":       text(256),
	},
}).init()

// httpsLink is a URL property the hosted pages put in a link or an image:
// only https, so that no other scheme reaches a page.
func httpsLink(maxLen int, problem string) prop {
	return prop{typ: tString, maxLen: maxLen, check: func(v string) error {
		if !strings.HasPrefix(v, "https://") {
			return errf("%s", problem)
		}
		return nil
	}}
}

var languageTag = regexp.MustCompile(`^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$`)

func brandingID(locale string) (string, error) {
	switch {
	case locale == "" || locale == DefaultBrandingID || strings.EqualFold(locale, "default"):
		return DefaultBrandingID, nil
	case languageTag.MatchString(locale):
		return strings.ToLower(locale), nil
	}
	return "", usererr.New(usererr.Invalid, "'%s' is not a language tag.", locale)
}

// GetBranding returns the default branding or a localization; NotFound until
// one is created, as in Graph.
func (s *Service) GetBranding(ctx context.Context, tenantID, locale string) (Object, error) {
	id, err := brandingID(locale)
	if err != nil {
		return Object{}, err
	}
	return s.Get(ctx, tenantID, KindBranding, id)
}

// BrandingProblems checks each property of a branding body alone, as
// SetBranding checks the body, and names the property of each problem, so
// that a form can show every one next to its field at once.
func BrandingProblems(body Doc) map[string]string {
	out := map[string]string{}
	for name, v := range body {
		if _, err := brandingSpec.normalize(Doc{name: v}); err != nil {
			out[name] = err.Error()
		}
	}
	return out
}

// SetBranding creates or updates the default branding or a localization.
// Creating a localization creates the default branding too.
func (s *Service) SetBranding(ctx context.Context, tenantID, locale string, body Doc) (Object, error) {
	id, err := brandingID(locale)
	if err != nil {
		return Object{}, err
	}
	patch, err := brandingSpec.normalize(body)
	if err != nil {
		return Object{}, err
	}
	var out Object
	err = s.updateWithRetry(ctx, 0, func(tx store.Tx) error {
		if id != DefaultBrandingID {
			if _, err := s.upsertBranding(ctx, tx, tenantID, DefaultBrandingID, Doc{}); err != nil {
				return err
			}
		}
		out, err = s.upsertBranding(ctx, tx, tenantID, id, patch)
		return err
	})
	return out, err
}

func (s *Service) upsertBranding(ctx context.Context, tx store.Tx, tenantID, id string, patch Doc) (Object, error) {
	cur, err := s.load(ctx, tx, tenantID, KindBranding, id)
	if usererr.IsKind(err, usererr.NotFound) {
		return s.insert(ctx, tx, tenantID, KindBranding, merge(Doc{"id": id}, patch))
	}
	if err != nil || len(patch) == 0 {
		return cur, err
	}
	return s.replace(ctx, tx, tenantID, cur, merge(cur.Doc, patch))
}

// DeleteBranding removes a localization, or with the default every branding.
func (s *Service) DeleteBranding(ctx context.Context, tenantID, locale string) error {
	id, err := brandingID(locale)
	if err != nil {
		return err
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := s.load(ctx, tx, tenantID, KindBranding, id); err != nil {
			return err
		}
		if id != DefaultBrandingID {
			if err := deleteLogos(ctx, tx, tenantID, id); err != nil {
				return err
			}
			return tx.DeleteObject(ctx, tenantID, KindBranding, id, 0)
		}
		all, err := tx.ListObjects(ctx, tenantID, KindBranding, store.Query{Top: 999})
		if err != nil {
			return err
		}
		for _, o := range all.Objects {
			if err := deleteLogos(ctx, tx, tenantID, o.ID); err != nil {
				return err
			}
			if err := tx.DeleteObject(ctx, tenantID, KindBranding, o.ID, 0); err != nil {
				return err
			}
		}
		return nil
	})
}

// SignInBranding is the branding the sign-in pages show for a language:
// the localization's fields where set, else the default's.
type SignInBranding struct {
	TenantName, LogoURL, BackgroundColor, SignInText, UsernameHint string
	// The links the pages offer: "Can't access your account?" on the
	// password step, terms of use and privacy in every page's footer;
	// each text "" where the tenant set none.
	ResetURL, ResetText, TermsURL, TermsText, PrivacyURL, PrivacyText string
	// BannerLogo is the uploaded banner logo, the localization's if it has
	// one, shown before LogoURL; nil when none was uploaded.
	BannerLogo *LogoRef
}

// LogoRef names an uploaded image without its bytes: the branding it
// belongs to, the property, and the digest and extension of its address.
type LogoRef struct {
	BrandingID, Property, SHA256, Extension string
}

// BrandingFor resolves the sign-in branding for a language such as "sv".
func (s *Service) BrandingFor(ctx context.Context, tenantID, locale string) (SignInBranding, error) {
	var out SignInBranding
	err := s.st.View(ctx, func(tx store.Tx) error {
		org, err := s.load(ctx, tx, tenantID, KindOrganization, tenantID)
		if err != nil {
			return err
		}
		out.TenantName = str(org.Doc, "displayName")
		merged := Doc{}
		ids := []string{DefaultBrandingID}
		if id, err := brandingID(locale); err == nil && id != DefaultBrandingID {
			ids = append(ids, id)
		}
		for _, id := range ids {
			b, err := s.load(ctx, tx, tenantID, KindBranding, id)
			if usererr.IsKind(err, usererr.NotFound) {
				continue
			}
			if err != nil {
				return err
			}
			merged = merge(merged, b.Doc)
			logo, err := statLogo(ctx, tx, tenantID, id, "bannerLogo")
			if err == nil {
				out.BannerLogo = &LogoRef{BrandingID: id, Property: "bannerLogo", SHA256: logo.SHA256, Extension: logo.Extension()}
			} else if !usererr.IsKind(err, usererr.NotFound) {
				return err
			}
		}
		out.LogoURL, out.BackgroundColor = str(merged, "bannerLogoRelativeUrl"), str(merged, "backgroundColor")
		out.SignInText, out.UsernameHint = str(merged, "signInPageText"), str(merged, "usernameHintText")
		out.ResetURL, out.ResetText = str(merged, "customAccountResetCredentialsUrl"), str(merged, "customCannotAccessYourAccountText")
		out.TermsURL, out.TermsText = str(merged, "customTermsOfUseUrl"), str(merged, "customTermsOfUseText")
		out.PrivacyURL, out.PrivacyText = str(merged, "customPrivacyAndCookiesUrl"), str(merged, "customPrivacyAndCookiesText")
		return nil
	})
	return out, err
}
