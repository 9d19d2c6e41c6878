package login

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
)

// stepDevice is the page where a user types the code a device shows
// (RFC 8628's verification URI).
const stepDevice step = "device"

// deviceGet shows the code entry page.
func (p *Pages) deviceGet(w http.ResponseWriter, r *http.Request) {
	browser, err := p.browserID(w, r)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	p.devicePage(w, r, browser, http.StatusOK, "")
}

// devicePost takes a code: the provider starts the normal sign-in for it
// (and redirects), or says why the code is refused.
func (p *Pages) devicePost(w http.ResponseWriter, r *http.Request) {
	browser, ok := p.readForm(w, r)
	if !ok {
		return
	}
	code := r.PostForm.Get("code")
	if code == "" || len(code) > 32 {
		p.devicePage(w, r, browser, http.StatusOK, "error.deviceCode")
		return
	}
	err := p.cfg.Protocol.StartDevice(w, r, r.PathValue("tenant"), code)
	switch {
	case err == nil:
	case errors.Is(err, authn.ErrInvalidUserCode):
		p.devicePage(w, r, browser, http.StatusOK, "error.deviceCode")
	case errors.Is(err, authn.ErrTooManyUserCodes):
		p.devicePage(w, r, browser, http.StatusTooManyRequests, "error.deviceThrottled")
	default:
		p.cfg.Logger.ErrorContext(r.Context(), "starting a device sign-in", "err", err)
		p.devicePage(w, r, browser, http.StatusServiceUnavailable, "error.internal")
	}
}

func (p *Pages) devicePage(w http.ResponseWriter, r *http.Request, browser string, status int, errKey string) {
	tenant := r.PathValue("tenant")
	loc := p.catalog.Locale(hostedpage.Lang(r))
	vw := &view{L: loc, Step: stepDevice, Title: loc.T("title.device"), CSRF: p.csrfToken(browser),
		Action: p.base + "/" + url.PathEscape(tenant) + "/devicelogin"}
	if errKey != "" {
		vw.Error = loc.T(errKey)
	}
	b, err := p.cfg.Directory.Branding(r.Context(), tenant, loc.Lang)
	if err != nil {
		// An unknown tenant or a failing lookup shows the neutral page; the
		// code itself decides whether anything happens.
		b = Branding{}
	}
	vw.Brand = newBrandView(loc, b)
	p.renderPage(w, status, vw)
}
