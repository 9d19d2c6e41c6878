package app_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/png"
	"io"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/pagewalk"
)

// pngLogo is a small PNG image, different for each seed.
func pngLogo(t *testing.T, seed uint8) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 4, 2))
	img.Pix[0] = seed
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// signInPage is the tenant's hosted sign-in page as a browser opens it.
func (e *env) signInPage(t *testing.T, tenantID string) string {
	t.Helper()
	resp, err := pagewalk.New(nil).Client.Get(e.url + "/admin/" + tenantID + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestBrandingLogo: Graph's bannerLogo stream takes PNG, JPEG, GIF and WebP
// by their bytes, whatever the upload claims, up to the size limit, and
// never SVG; GET gives the bytes back; another tenant can neither read nor
// write it; the sign-in page shows it before bannerLogoRelativeUrl, at an
// address named by its digest, served for good with headers that keep a
// browser from treating it as anything but an image.
func TestBrandingLogo(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		b := e.tenant("Fabrikam", "fabrikam.example")
		route := "/v1.0/organization/" + a.id + "/branding/bannerLogo"
		logo := pngLogo(t, 1)

		e.mustCall(404, "GET", route, a.token, nil)
		e.mustCall(204, "PUT", route, a.token, string(logo), "Content-Type", "image/png")
		got := e.mustCall(200, "GET", route, a.token, nil)
		if got.raw != string(logo) || got.header.Get("Content-Type") != "image/png" || got.header.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(got.header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("GET the logo: %d bytes, %v", len(got.raw), got.header)
		}

		svg := `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`
		refused := map[string][2]string{
			"SVG":                   {svg, "image/svg+xml"},
			"SVG said to be a PNG":  {svg, "image/png"},
			"HTML said to be a PNG": {"<!DOCTYPE html><html><script>alert(1)</script></html>", "image/png"},
			"empty":                 {"", "image/png"},
			"too large":             {string(logo) + strings.Repeat("\x00", directory.MaxLogoBytes), "image/png"},
			"not an image type":     {string(logo), "application/octet-stream"},
		}
		for name, c := range refused {
			if r := e.call("PUT", route, a.token, c[0], "Content-Type", c[1]); r.status != 400 {
				t.Errorf("%s: %d %s", name, r.status, r.raw)
			}
		}
		e.mustCall(404, "PUT", "/v1.0/organization/"+a.id+"/branding/favicon", a.token, string(logo), "Content-Type", "image/png")
		if r := e.mustCall(200, "GET", route, a.token, nil); r.raw != string(logo) {
			t.Error("a refused upload replaced the logo")
		}

		// Another tenant: not found, whether it reads or writes.
		e.mustCall(404, "GET", route, b.token, nil)
		e.mustCall(404, "PUT", route, b.token, string(pngLogo(t, 9)), "Content-Type", "image/png")
		if r := e.mustCall(200, "GET", route, a.token, nil); r.raw != string(logo) {
			t.Error("another tenant replaced the logo")
		}
		e.mustCall(404, "GET", "/v1.0/organization/"+b.id+"/branding/bannerLogo", b.token, nil)

		// The bytes decide the type: a GIF labelled JPEG is a GIF.
		gif := "GIF89a\x01\x00\x01\x00\x00\x00\x00;"
		loc := "/v1.0/organization/" + a.id + "/branding/localizations/sv/bannerLogo"
		e.mustCall(204, "PUT", loc, a.token, gif, "Content-Type", "image/jpeg")
		if r := e.mustCall(200, "GET", loc, a.token, nil); r.raw != gif || r.header.Get("Content-Type") != "image/gif" {
			t.Errorf("the localization's logo: %q %s", r.raw, r.header.Get("Content-Type"))
		}

		// The sign-in page: the uploaded logo before the URL.
		e.mustCall(204, "PATCH", "/v1.0/organization/"+a.id+"/branding", a.token, map[string]any{"bannerLogoRelativeUrl": "https://cdn.contoso.example/logo.png"})
		path := "/branding/" + a.id + "/0/bannerLogo/" + digest(logo) + ".png"
		page := e.signInPage(t, a.id)
		if !strings.Contains(page, `<img class="logo" src="`+path+`"`) || strings.Contains(page, "cdn.contoso.example") {
			t.Errorf("the sign-in page does not show the uploaded logo at %s", path)
		}
		served := e.call("GET", path, "", nil)
		if served.status != 200 || served.raw != string(logo) || served.header.Get("Content-Type") != "image/png" ||
			served.header.Get("Cache-Control") != "public, max-age=31536000, immutable" || served.header.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(served.header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("the logo's address: %d %v", served.status, served.header)
		}
		for _, wrong := range []string{
			"/branding/" + a.id + "/0/bannerLogo/" + digest(pngLogo(t, 2)) + ".png", // not the current logo
			"/branding/" + a.id + "/0/bannerLogo/" + digest(logo) + ".gif",
			"/branding/" + b.id + "/0/bannerLogo/" + digest(logo) + ".png", // another tenant
			"/branding/" + a.id + "/0/favicon/" + digest(logo) + ".png",
			"/branding/" + a.id + "/not_a_language/bannerLogo/" + digest(logo) + ".png",
		} {
			if r := e.call("GET", wrong, "", nil); r.status != 404 {
				t.Errorf("GET %s: %d", wrong, r.status)
			}
		}

		// A new logo is a new address; the old one is gone.
		next := pngLogo(t, 3)
		e.mustCall(204, "PUT", route, a.token, string(next), "Content-Type", "image/png")
		if r := e.call("GET", path, "", nil); r.status != 404 {
			t.Errorf("the replaced logo's address: %d", r.status)
		}
		if page := e.signInPage(t, a.id); !strings.Contains(page, digest(next)+".png") {
			t.Error("the sign-in page does not show the new logo")
		}

		found := 0
		for _, rec := range e.audits(t, a.token, "directoryAudits", "activityDisplayName eq 'Update company branding'") {
			for _, tr := range rec["targetResources"].([]any) {
				for _, mp := range tr.(map[string]any)["modifiedProperties"].([]any) {
					if p := mp.(map[string]any); p["displayName"] == "bannerLogo" && p["newValue"] == `"`+digest(next)+`"` && p["oldValue"] == `"`+digest(logo)+`"` {
						found++
					}
				}
			}
		}
		if found != 1 {
			t.Errorf("%d audit records of the logo replaced, want 1", found)
		}

		// Deleting the branding deletes its images.
		e.mustCall(204, "DELETE", "/v1.0/organization/"+a.id+"/branding", a.token, nil)
		e.mustCall(404, "GET", route, a.token, nil)
		e.mustCall(404, "GET", loc, a.token, nil)
		if page := e.signInPage(t, a.id); strings.Contains(page, "/branding/") {
			t.Error("the sign-in page still shows a deleted logo")
		}
	})
}
