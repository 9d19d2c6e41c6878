package directory

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// A branding's images are Graph's stream properties (PUT and GET of
// …/branding/bannerLogo): the bytes are kept as the tenant's blobs, named
// by the branding and the property, beside the branding's object.

// LogoProperties are the image properties of a branding that can be
// uploaded.
var LogoProperties = []string{"bannerLogo", "squareLogo"}

// MaxLogoBytes bounds an uploaded image: the sign-in pages read it on
// every page, and Entra's own logos are a few kilobytes.
const MaxLogoBytes = 100 << 10

// logoExtensions are the image types accepted, as the bytes say they are
// (never as the upload claims), with the extension of their address.
var logoExtensions = map[string]string{"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}

// errLogoTooLarge is an image over MaxLogoBytes.
var errLogoTooLarge = usererr.New(usererr.Invalid, "The image is larger than %d KB.", MaxLogoBytes>>10)

// Logo is an uploaded image: its type as sniffed from the bytes, and the
// hex SHA-256 of the bytes the store keeps (once stored), which names its
// address on the hosted pages.
type Logo struct {
	ContentType string
	Data        []byte
	SHA256      string
}

// Extension is the file extension of the logo's type.
func (l Logo) Extension() string { return logoExtensions[l.ContentType] }

func logoName(brandingID, prop string) string { return brandingID + "/" + prop }

func logoProperty(prop string) error {
	if !slices.Contains(LogoProperties, prop) {
		return usererr.New(usererr.NotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", prop)
	}
	return nil
}

// SniffLogo checks an image as uploaded: not empty, at most MaxLogoBytes,
// and PNG, JPEG, GIF or WebP by its own bytes. SVG and everything else is
// refused: a browser runs the script an SVG carries.
func SniffLogo(data []byte) (Logo, error) {
	if len(data) > MaxLogoBytes {
		return Logo{}, errLogoTooLarge
	}
	if len(data) == 0 {
		return Logo{}, usererr.New(usererr.Invalid, "The image is empty.")
	}
	ct := http.DetectContentType(data)
	if _, ok := logoExtensions[ct]; !ok {
		return Logo{}, usererr.New(usererr.Invalid, "The image must be a PNG, JPEG, GIF or WebP file.")
	}
	return Logo{ContentType: ct, Data: data}, nil
}

// PutLogo stores an image of the default branding or a localization,
// creating the branding (and the default) as SetBranding does, and audits
// the change as an update of the branding.
func (s *Service) PutLogo(ctx context.Context, tenantID, locale, prop string, data []byte) error {
	id, err := brandingID(locale)
	if err != nil {
		return err
	}
	if err := logoProperty(prop); err != nil {
		return err
	}
	logo, err := SniffLogo(data)
	if err != nil {
		return err
	}
	return s.updateWithRetry(ctx, 0, func(tx store.Tx) error {
		if id != DefaultBrandingID {
			if _, err := s.upsertBranding(ctx, tx, tenantID, DefaultBrandingID, Doc{}); err != nil {
				return err
			}
		}
		if _, err := s.upsertBranding(ctx, tx, tenantID, id, Doc{}); err != nil {
			return err
		}
		// The record names each image by its digest, as JSON text: the
		// store's, which is also what the image's address names.
		var old *string
		if cur, err := statLogo(ctx, tx, tenantID, id, prop); err == nil {
			v := `"` + cur.SHA256 + `"`
			old = &v
		} else if !usererr.IsKind(err, usererr.NotFound) {
			return err
		}
		if err := tx.PutBlob(ctx, store.Blob{TenantID: tenantID, Name: logoName(id, prop), ContentType: logo.ContentType, Data: logo.Data}); err != nil {
			return err
		}
		put, err := statLogo(ctx, tx, tenantID, id, prop)
		if err != nil {
			return err
		}
		digest := `"` + put.SHA256 + `"`
		n := nouns[KindBranding]
		note(tx, tenantID, audit.DirectoryAudit{
			ActivityDisplayName: verbs[opUpdate] + " " + n.name, Category: n.category, OperationType: operationTypes[opUpdate],
			TargetResources: []audit.TargetResource{{ID: id, Type: n.targetType,
				ModifiedProperties: []audit.ModifiedProperty{{DisplayName: prop, OldValue: old, NewValue: &digest}}}},
		})
		return nil
	})
}

// GetLogo returns an image of the default branding or a localization;
// NotFound if none was uploaded.
func (s *Service) GetLogo(ctx context.Context, tenantID, locale, prop string) (Logo, error) {
	id, err := brandingID(locale)
	if err != nil {
		return Logo{}, err
	}
	if err := logoProperty(prop); err != nil {
		return Logo{}, err
	}
	var out Logo
	err = s.st.View(ctx, func(tx store.Tx) error {
		out, err = loadLogo(ctx, tx, tenantID, id, prop)
		return err
	})
	return out, err
}

func loadLogo(ctx context.Context, tx store.Tx, tenantID, id, prop string) (Logo, error) {
	b, err := tx.GetBlob(ctx, tenantID, logoName(id, prop))
	return logoOf(b, prop, err)
}

// statLogo is loadLogo without the bytes, for a page that only names it.
func statLogo(ctx context.Context, tx store.Tx, tenantID, id, prop string) (Logo, error) {
	b, err := tx.StatBlob(ctx, tenantID, logoName(id, prop))
	return logoOf(b, prop, err)
}

func logoOf(b store.Blob, prop string, err error) (Logo, error) {
	if errors.Is(err, store.ErrNotFound) {
		return Logo{}, usererr.New(usererr.NotFound, "The branding has no %s.", prop)
	}
	if err != nil {
		return Logo{}, err
	}
	return Logo{ContentType: b.ContentType, Data: b.Data, SHA256: b.SHA256}, nil
}

// deleteLogos removes the images of a branding.
func deleteLogos(ctx context.Context, tx store.Tx, tenantID, id string) error {
	for _, prop := range LogoProperties {
		if err := tx.DeleteBlob(ctx, tenantID, logoName(id, prop)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}
