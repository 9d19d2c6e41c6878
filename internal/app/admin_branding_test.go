package app_test

import (
	"bytes"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/pagewalk"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

var previewFrame = regexp.MustCompile(`<iframe class="preview" sandbox="" src="([^"]+)"`)

// preview reads the sign-in page the branding page's frame shows.
func (c *console) preview(page consolePage) consolePage {
	c.t.Helper()
	m := previewFrame.FindStringSubmatch(page.body)
	if m == nil {
		c.t.Fatalf("no preview frame: %.600s", page.body)
	}
	return c.get(html.UnescapeString(m[1]))
}

// TestAdminConsoleBranding: the administrator edits the branding, sees
// the sign-in page with the values typed before saving anything, is shown
// the directory's problems next to their fields, saves, and the tenant's
// hosted sign-in page shows the branding; the save is in the audit log as
// theirs.
func TestAdminConsoleBranding(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	a := e.tenant("Contoso", "contoso.example")
	admin := e.userByUPN(t, a, a.created.Admin.UserPrincipalName)["id"].(string)
	c, home := e.consoleSignIn(t, a.id, a.created.Admin.UserPrincipalName, a.created.Admin.Password)
	base := "/admin/" + a.id + "/branding"
	graphRoute := "/v1.0/organization/" + a.id + "/branding"
	if !strings.Contains(home.body, `href="`+base+`"`) {
		t.Error("no branding entry in the navigation")
	}
	page := c.get(base)
	if page.status != 200 || !strings.Contains(page.body, `href="`+base+`" aria-current="page"`) || !strings.Contains(page.body, `aria-live="polite"`) {
		t.Fatalf("branding page: %d %.400s", page.status, page.body)
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("branding page's CSP: %s", csp)
	}
	if p := c.preview(page); p.status != 200 || !strings.Contains(p.body, "background:#f2f2f2") || !strings.Contains(p.body, `<p class="tenant">Contoso</p>`) {
		t.Errorf("preview of no branding: %d %.400s", p.status, p.body)
	}
	e.mustCall(404, "GET", graphRoute, a.token, nil)

	form := url.Values{"backgroundColor": {"#123abc"}, "bannerLogoRelativeUrl": {"https://cdn.contoso.example/logo.png"}, "signInPageText": {"Contoso staff only."},
		"customTermsOfUseUrl": {"https://contoso.example/terms"}, "customTermsOfUseText": {"Staff terms"}}
	typed := c.post(base+"/preview", form)
	if typed.status != 200 || !strings.Contains(typed.body, "Contoso staff only.</textarea>") {
		t.Fatalf("preview post: %d", typed.status)
	}
	p := c.preview(typed)
	for _, want := range []string{"background:#123abc", `src="https://cdn.contoso.example/logo.png"`, `<p class="text">Contoso staff only.</p>`, `name="username"`,
		`<a href="https://contoso.example/terms" rel="noopener noreferrer" target="_blank">Staff terms</a>`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'self'") || strings.Contains(csp, "script-src") || p.header.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Errorf("preview's headers: %v", p.header)
	}
	e.mustCall(404, "GET", graphRoute, a.token, nil) // a preview saves nothing

	// A frame address altered or sealed for another purpose shows nothing.
	m := previewFrame.FindStringSubmatch(typed.body)
	frame, _ := url.Parse(html.UnescapeString(m[1]))
	q := frame.Query()
	q.Set("locale", "sv")
	frame.RawQuery = q.Encode()
	if r := c.get(frame.String()); r.status != 400 {
		t.Errorf("preview in another language than sealed: %d", r.status)
	}

	bad := url.Values{"backgroundColor": {"red"}, "bannerLogoRelativeUrl": {"http://cdn.contoso.example/logo.png"}, "signInPageText": {"Fine."},
		"customPrivacyAndCookiesUrl": {"javascript:alert(1)"}}
	r := c.post(base, bad)
	if r.status != 400 || !strings.Contains(r.body, `id="b-backgroundColor-error"`) || !strings.Contains(r.body, `id="b-bannerLogoRelativeUrl-error"`) ||
		!strings.Contains(r.body, `id="b-customPrivacyAndCookiesUrl-error"`) ||
		strings.Contains(r.body, `id="b-signInPageText-error"`) || !strings.Contains(r.body, `aria-describedby="b-backgroundColor-help b-backgroundColor-error" aria-invalid="true"`) {
		t.Errorf("invalid branding: %d %s", r.status, regexp.MustCompile(`class="field-error">[^<]*`).FindAllString(r.body, -1))
	}
	e.mustCall(404, "GET", graphRoute, a.token, nil)

	if r := c.post(base, form); r.status != http.StatusSeeOther || r.location != base+"?done=saved" {
		t.Fatalf("save: %d %s", r.status, regexp.MustCompile(`role="alert">[^<]*`).FindString(r.body))
	}
	stored := e.mustCall(200, "GET", graphRoute, a.token, nil).body
	if stored["backgroundColor"] != "#123abc" || stored["signInPageText"] != "Contoso staff only." || stored["bannerLogoRelativeUrl"] != "https://cdn.contoso.example/logo.png" ||
		stored["customTermsOfUseUrl"] != "https://contoso.example/terms" || stored["customTermsOfUseText"] != "Staff terms" {
		t.Errorf("stored: %v", stored)
	}
	if r := c.get(base + "?done=saved"); !strings.Contains(r.body, `value="#123abc"`) || !strings.Contains(r.body, `role="status"`) {
		t.Errorf("the page after saving: %.600s", r.body)
	}

	// The tenant's hosted sign-in page, as a user's browser opens it.
	user := pagewalk.New(nil)
	resp, err := user.Client.Get(e.url + "/admin/" + a.id + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	signIn := string(b)
	for _, want := range []string{"background:#123abc", `src="https://cdn.contoso.example/logo.png"`, `<p class="text">Contoso staff only.</p>`, `name="username"`,
		`<a href="https://contoso.example/terms" rel="noopener noreferrer" target="_blank">Staff terms</a>`} {
		if !strings.Contains(signIn, want) {
			t.Errorf("the hosted sign-in page lacks %q", want)
		}
	}

	found := false
	for _, rec := range e.audits(t, a.token, "directoryAudits", "initiatedBy/user/id eq '"+admin+"'") {
		if strings.Contains(rec["activityDisplayName"].(string), "company branding") && rec["result"] == "success" {
			found = true
		}
	}
	if !found {
		t.Error("no audit record of the branding saved by the administrator")
	}

	// Clearing a field removes the property.
	if r := c.post(base, url.Values{"backgroundColor": {""}, "bannerLogoRelativeUrl": {""}, "signInPageText": {"Contoso staff only."}}); r.status != http.StatusSeeOther {
		t.Fatalf("clear: %d", r.status)
	}
	if stored := e.mustCall(200, "GET", graphRoute, a.token, nil).body; stored["backgroundColor"] != nil || stored["bannerLogoRelativeUrl"] != nil {
		t.Errorf("cleared: %v", stored)
	}
}

// TestAdminConsoleBrandingRefused: a member without a role, a User
// Administrator (who, as through Graph, may read but not change the
// branding) and posts without the session's CSRF token change nothing.
func TestAdminConsoleBrandingRefused(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, ""))
	a := e.tenant("Contoso", "contoso.example")
	base := "/admin/" + a.id + "/branding"
	graphRoute := "/v1.0/organization/" + a.id + "/branding"
	form := func() url.Values { return url.Values{"backgroundColor": {"#000"}, "signInPageText": {"Hijacked."}} }

	c, _ := e.consoleSignIn(t, a.id, a.created.Admin.UserPrincipalName, a.created.Admin.Password)
	framed := previewFrame.FindStringSubmatch(c.get(base).body)[1]
	for _, tok := range []string{"", c.csrf + "x"} {
		f := form()
		f.Set("csrf", tok)
		if r := c.post(base, f); r.status != 403 {
			t.Errorf("save with token %q: %d", tok, r.status)
		}
		if r := c.post(base+"/preview", f); r.status != 403 {
			t.Errorf("preview with token %q: %d", tok, r.status)
		}
	}
	req, _ := http.NewRequest("POST", e.url+base, strings.NewReader(form().Encode()+"&csrf="+url.QueryEscape(c.csrf)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := c.do(req); r.status != 403 {
		t.Errorf("cross-site save with the right token: %d", r.status)
	}
	e.mustCall(404, "GET", graphRoute, a.token, nil)

	for name, role := range map[string]string{"member": "", "useradmin": authz.UserAdministrator} {
		u := newUser(name, a.domain)
		u["passwordProfile"] = map[string]any{"password": "correct horse battery " + name, "forceChangePasswordNextSignIn": false}
		id := e.mustCall(201, "POST", "/v1.0/users", a.token, u).body["id"].(string)
		if role != "" {
			e.mustCall(204, "POST", "/v1.0/directoryRoles/"+role+"/members/$ref", a.token, map[string]any{"@odata.id": e.public + "/v1.0/directoryObjects/" + id})
		}
		uc, home := e.consoleSignIn(t, a.id, name+"@"+a.domain, "correct horse battery "+name)
		if r := uc.post(base, form()); r.status != 403 {
			t.Errorf("%s saves: %d", name, r.status)
		}
		if role == "" {
			if strings.Contains(home.body, `href="`+base+`"`) {
				t.Errorf("%s is offered the branding page", name)
			}
			for _, path := range []string{base, html.UnescapeString(framed)} {
				if r := uc.get(path); r.status != 403 {
					t.Errorf("%s GET %s: %d", name, path, r.status)
				}
			}
			if r := uc.post(base+"/preview", form()); r.status != 403 {
				t.Errorf("%s previews: %d", name, r.status)
			}
			continue
		}
		r := uc.get(base)
		if r.status != 200 || strings.Contains(r.body, `<button type="submit">Save</button>`) {
			t.Errorf("%s's page: %d", name, r.status)
		}
		// Sealed for the administrator's session, not this one.
		if r := uc.get(html.UnescapeString(framed)); r.status != 400 {
			t.Errorf("%s opens another session's preview: %d", name, r.status)
		}
	}
	e.mustCall(404, "GET", graphRoute, a.token, nil)
}

// upload posts a file as the branding page's upload form does, with the
// session's CSRF token unless csrf is set.
func (c *console) upload(path, field string, data []byte, csrf *string) consolePage {
	c.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	token := c.csrf
	if csrf != nil {
		token = *csrf
	}
	_ = w.WriteField("csrf", token)
	part, _ := w.CreateFormFile(field, "logo.png")
	_, _ = part.Write(data)
	_ = w.Close()
	req, _ := http.NewRequest("POST", c.e.url+path, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Origin", c.e.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

// TestAdminConsoleBrandingLogo: the administrator uploads a banner logo,
// which the page, its preview and the hosted sign-in page then show; an
// SVG is refused with the directory's reason; the upload is audited as
// theirs. Without the CSRF token, or as a User Administrator (whom Graph
// does not admit to PUT the logo), nothing is stored.
func TestAdminConsoleBrandingLogo(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := e.tenant("Contoso", "contoso.example")
		admin := e.userByUPN(t, a, a.created.Admin.UserPrincipalName)["id"].(string)
		c, _ := e.consoleSignIn(t, a.id, a.created.Admin.UserPrincipalName, a.created.Admin.Password)
		base := "/admin/" + a.id + "/branding"
		graphRoute := "/v1.0/organization/" + a.id + "/branding/bannerLogo"

		page := c.get(base)
		if !strings.Contains(page.body, `enctype="multipart/form-data"`) || !strings.Contains(page.body, `<label for="b-bannerLogo">`) {
			t.Fatalf("no upload form: %.600s", page.body)
		}
		for _, tok := range []string{"", c.csrf + "x"} {
			if r := c.upload(base+"/logo", "bannerLogo", pngLogo(t, 1), &tok); r.status != 403 {
				t.Errorf("upload with token %q: %d", tok, r.status)
			}
		}
		e.mustCall(404, "GET", graphRoute, a.token, nil)

		if r := c.upload(base+"/logo", "bannerLogo", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), nil); r.status != 400 ||
			!strings.Contains(r.body, "PNG, JPEG, GIF or WebP") {
			t.Errorf("SVG upload: %d %s", r.status, regexp.MustCompile(`role="alert">[^<]*`).FindString(r.body))
		}
		if r := c.upload(base+"/logo", "other", pngLogo(t, 1), nil); r.status != 400 {
			t.Errorf("upload without the file: %d", r.status)
		}
		e.mustCall(404, "GET", graphRoute, a.token, nil)

		logo := pngLogo(t, 1)
		if r := c.upload(base+"/logo", "bannerLogo", logo, nil); r.status != http.StatusSeeOther || r.location != base+"?done=logo" {
			t.Fatalf("upload: %d %s", r.status, regexp.MustCompile(`role="alert">[^<]*`).FindString(r.body))
		}
		if r := e.mustCall(200, "GET", graphRoute, a.token, nil); r.raw != string(logo) {
			t.Error("the logo stored is not the one uploaded")
		}
		path := "/branding/" + a.id + "/0/bannerLogo/" + digest(logo) + ".png"
		page = c.get(base + "?done=logo")
		if !strings.Contains(page.body, `<img class="logo-current" src="`+path+`"`) || !strings.Contains(page.body, `role="status"`) {
			t.Errorf("the page after the upload: %.600s", page.body)
		}
		if p := c.preview(page); !strings.Contains(p.body, `src="`+path+`"`) || !strings.Contains(p.header.Get("Content-Security-Policy"), "img-src 'self'") {
			t.Errorf("the preview does not show the logo: %v", p.header)
		}
		if !strings.Contains(e.signInPage(t, a.id), `src="`+path+`"`) {
			t.Error("the sign-in page does not show the logo")
		}
		found := false
		for _, rec := range e.audits(t, a.token, "directoryAudits", "initiatedBy/user/id eq '"+admin+"'") {
			if rec["activityDisplayName"] == "Update company branding" && strings.Contains(rec["targetResources"].([]any)[0].(map[string]any)["modifiedProperties"].([]any)[0].(map[string]any)["displayName"].(string), "bannerLogo") {
				found = true
			}
		}
		if !found {
			t.Error("no audit record of the upload as the administrator's")
		}

		u := newUser("useradmin", a.domain)
		u["passwordProfile"] = map[string]any{"password": "correct horse battery useradmin", "forceChangePasswordNextSignIn": false}
		id := e.mustCall(201, "POST", "/v1.0/users", a.token, u).body["id"].(string)
		e.mustCall(204, "POST", "/v1.0/directoryRoles/"+authz.UserAdministrator+"/members/$ref", a.token, map[string]any{"@odata.id": e.public + "/v1.0/directoryObjects/" + id})
		uc, _ := e.consoleSignIn(t, a.id, "useradmin@"+a.domain, "correct horse battery useradmin")
		if r := uc.get(base); r.status != 200 || strings.Contains(r.body, `enctype="multipart/form-data"`) {
			t.Errorf("a User Administrator's branding page: %d, offers the upload: %v", r.status, strings.Contains(r.body, "multipart"))
		}
		if r := uc.upload(base+"/logo", "bannerLogo", pngLogo(t, 2), nil); r.status != 403 {
			t.Errorf("a User Administrator uploads: %d", r.status)
		}
		if r := e.mustCall(200, "GET", graphRoute, a.token, nil); r.raw != string(logo) {
			t.Error("a refused upload replaced the logo")
		}
	})
}
