package admin

import (
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
	"github.com/gatehouse-id/gatehouse/internal/login"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// The company branding page edits the default organizationalBranding
// through the directory, as PATCH /organization/{id}/branding does, and
// previews the hosted sign-in page with the values not saved yet, rendered
// by the sign-in pages' own template (login.Pages.UsernamePage).

// brandingFields are the branding's properties the sign-in pages show
// (login.Branding): only these are edited here.
var brandingFields = []string{"backgroundColor", "bannerLogoRelativeUrl", "signInPageText",
	"customAccountResetCredentialsUrl", "customCannotAccessYourAccountText",
	"customTermsOfUseUrl", "customTermsOfUseText", "customPrivacyAndCookiesUrl", "customPrivacyAndCookiesText"}

const previewPurpose = "branding preview"

func (c *Console) registerBranding(mux *http.ServeMux) {
	mux.Handle("GET /admin/{tenant}/branding", c.session(c.branding))
	mux.Handle("POST /admin/{tenant}/branding", c.session(c.saveBranding))
	mux.Handle("POST /admin/{tenant}/branding/preview", c.session(c.previewBranding))
	mux.Handle("GET /admin/{tenant}/branding/preview", c.session(c.previewPage))
	mux.Handle("POST /admin/{tenant}/branding/logo", c.session(c.uploadLogo))
}

// brandingRoute is the Graph request that reads or changes the default
// branding of the session's tenant.
func brandingRoute(v *visit) string { return "/v1.0/organization/" + v.tenantID + "/branding" }

// brandingPage is the page's data: the form's values (as stored, or as
// typed), the directory's problem with each, and the preview's address.
type brandingPage struct {
	Form     map[string]string
	Problems map[string]string
	CanWrite bool
	Preview  string
	// Updated: this answer is a preview of values typed, not the page as
	// stored.
	Updated bool
	Done    string
	// Logo is the address of the uploaded banner logo, "" for none;
	// CanUpload: Graph admits the caller to PUT one.
	Logo      string
	CanUpload bool
}

// brandingAdmits: the page is offered to an administrator Graph lets read
// the branding and admits to method; otherwise it answers 403.
func (c *Console) brandingAdmits(v *visit, method string) bool {
	if c.cfg.SignInPages == nil || !isAdmin(v.p) || !c.admits(v, "GET", brandingRoute(v)) || !c.admits(v, method, brandingRoute(v)) {
		c.forbidden(v)
		return false
	}
	return true
}

func (c *Console) branding(v *visit) {
	if !c.brandingAdmits(v, "GET") {
		return
	}
	form, err := c.storedBranding(v)
	if err != nil {
		c.failPage(v.w, v.r, err)
		return
	}
	c.brandingView(v, http.StatusOK, brandingPage{Form: form, Done: v.r.URL.Query().Get("done")}, "")
}

// storedBranding is the form's values as the default branding has them.
func (c *Console) storedBranding(v *visit) (map[string]string, error) {
	stored, err := c.cfg.Directory.GetBranding(v.ctx, v.tenantID, directory.DefaultBrandingID)
	if err != nil && !usererr.IsKind(err, usererr.NotFound) {
		return nil, err
	}
	form := map[string]string{}
	for _, f := range brandingFields {
		if s, ok := stored.Doc[f].(string); ok {
			form[f] = s
		}
	}
	return form, nil
}

// logoRoute is the Graph request that uploads the default banner logo.
func logoRoute(v *visit) string { return brandingRoute(v) + "/bannerLogo" }

// uploadLogo stores the banner logo posted (multipart, field bannerLogo)
// through the directory, as PUT /organization/{id}/branding/bannerLogo
// does; the directory decides what image it takes.
func (c *Console) uploadLogo(v *visit) {
	if c.cfg.SignInPages == nil || !isAdmin(v.p) || !c.admits(v, "PUT", logoRoute(v)) {
		c.forbidden(v)
		return
	}
	show := func(status int, problem string) {
		form, err := c.storedBranding(v)
		if err != nil {
			c.failPage(v.w, v.r, err)
			return
		}
		c.brandingView(v, status, brandingPage{Form: form}, problem)
	}
	file, _, err := v.r.FormFile("bannerLogo")
	if err != nil {
		show(http.StatusBadRequest, c.locale(v.r).T("branding.logo.missing"))
		return
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, directory.MaxLogoBytes+1))
	if err != nil {
		c.failPage(v.w, v.r, err)
		return
	}
	if err := c.cfg.Directory.PutLogo(v.ctx, v.tenantID, directory.DefaultBrandingID, "bannerLogo", data); err != nil {
		c.refused(v, err, show)
		return
	}
	http.Redirect(v.w, v.r, "/admin/"+v.tenantID+"/branding?done=logo", http.StatusSeeOther)
}

// uploadedLogo is the address of the tenant's uploaded banner logo of a
// resolved branding, "" for none.
func uploadedLogo(tenantID string, b directory.SignInBranding) string {
	if l := b.BannerLogo; l != nil {
		return hostedpage.LogoPath(tenantID, l.BrandingID, l.Property, l.SHA256, l.Extension)
	}
	return ""
}

// postedBranding reads the form: each field trimmed, as typed.
func postedBranding(f url.Values) map[string]string {
	form := map[string]string{}
	for _, name := range brandingFields {
		form[name] = strings.TrimSpace(f.Get(name))
	}
	return form
}

// brandingBody is the PATCH body of a form: an empty field clears the
// property.
func brandingBody(form map[string]string) directory.Doc {
	body := directory.Doc{}
	for _, name := range brandingFields {
		body[name] = nullIfEmpty(form[name])
	}
	return body
}

func (c *Console) saveBranding(v *visit) {
	if !c.brandingAdmits(v, "PATCH") {
		return
	}
	form := postedBranding(v.r.PostForm)
	body := brandingBody(form)
	if problems := directory.BrandingProblems(body); len(problems) > 0 {
		c.brandingView(v, http.StatusBadRequest, brandingPage{Form: form, Problems: problems}, c.locale(v.r).T("branding.problems"))
		return
	}
	if _, err := c.cfg.Directory.SetBranding(v.ctx, v.tenantID, directory.DefaultBrandingID, body); err != nil {
		c.refused(v, err, func(status int, problem string) {
			c.brandingView(v, status, brandingPage{Form: form}, problem)
		})
		return
	}
	http.Redirect(v.w, v.r, "/admin/"+v.tenantID+"/branding?done=saved", http.StatusSeeOther)
}

// previewBranding shows the page with the values typed, not saved, in the
// form and the preview (htmx takes the preview alone).
func (c *Console) previewBranding(v *visit) {
	if !c.brandingAdmits(v, "GET") {
		return
	}
	c.brandingView(v, http.StatusOK, brandingPage{Form: postedBranding(v.r.PostForm), Updated: true}, "")
}

// brandingView shows the page with pg's form, its preview and problem.
func (c *Console) brandingView(v *visit, status int, pg brandingPage, problem string) {
	vw := c.layout(v, "branding.title")
	sealed, err := c.seal(pg.Form, v.tenantID, previewPurpose, v.id, vw.L.Lang)
	if err != nil {
		c.internalError(v.w, v.r, err)
		return
	}
	pg.CanWrite = c.admits(v, "PATCH", brandingRoute(v))
	pg.CanUpload = c.admits(v, "PUT", logoRoute(v))
	org, err := c.cfg.Directory.BrandingFor(v.ctx, v.tenantID, directory.DefaultBrandingID)
	if err != nil {
		c.failPage(v.w, v.r, err)
		return
	}
	pg.Logo = uploadedLogo(v.tenantID, org)
	pg.Preview = "/admin/" + v.tenantID + "/branding/preview?" + url.Values{"b": {sealed}, "locale": {vw.L.Lang}}.Encode()
	vw.Error = problem
	vw.Page = pg
	vw.FrameSelf = true
	c.render(v.w, v.r, status, "branding", vw)
}

// previewPage is the preview's frame: the hosted sign-in page's first step
// with the values the page sealed for this session, tenant and language,
// under the sign-in page's own Content-Security-Policy, framed only by the
// console.
func (c *Console) previewPage(v *visit) {
	if !c.brandingAdmits(v, "GET") {
		return
	}
	q := v.r.URL.Query()
	lang := q.Get("locale") // not "lang": that is the language switch's
	var form map[string]string
	if err := c.open(q.Get("b"), &form, v.tenantID, previewPurpose, v.id, lang); err != nil {
		c.errorPage(v.w, v.r, http.StatusBadRequest, "error.request")
		return
	}
	org, err := c.cfg.Directory.BrandingFor(v.ctx, v.tenantID, directory.DefaultBrandingID)
	if err != nil {
		c.failPage(v.w, v.r, err)
		return
	}
	b := login.Branding{TenantName: org.TenantName, BackgroundColor: form["backgroundColor"], LogoURL: form["bannerLogoRelativeUrl"], SignInText: form["signInPageText"],
		ResetURL: form["customAccountResetCredentialsUrl"], ResetText: form["customCannotAccessYourAccountText"],
		TermsURL: form["customTermsOfUseUrl"], TermsText: form["customTermsOfUseText"],
		PrivacyURL: form["customPrivacyAndCookiesUrl"], PrivacyText: form["customPrivacyAndCookiesText"],
		UploadedLogo: uploadedLogo(v.tenantID, org)}
	page, nonce, err := c.cfg.SignInPages.UsernamePage(v.tenantID, b, lang)
	if err != nil {
		c.internalError(v.w, v.r, err)
		return
	}
	h := v.w.Header()
	h.Set("Content-Security-Policy", login.PagePolicy(nonce)+"; frame-ancestors 'self'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = v.w.Write(page)
}
