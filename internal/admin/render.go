package admin

import (
	"bytes"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// view is what every page template renders: the layout's parts and the
// page's own data.
type view struct {
	L      *i18n.Locale
	Langs  []string
	Nonce  string
	CSRF   string
	Tenant string // the tenant id, "" outside a session
	User   string
	// Here is the page's path, for the language switch and the current
	// navigation entry.
	Here    string
	Nav     []navItem
	Tenants []tenantLink
	Title   string
	Notice  string
	Error   string
	Page    any
	// FrameSelf: the page frames a page of the console (the branding
	// preview).
	FrameSelf bool
}

// pickAction is one button of a picker's results.
type pickAction struct{ Action, Label string }

type navItem struct {
	Href, Label string
	Current     bool
}

var funcs = template.FuncMap{
	"date": func(v any) string {
		s, _ := v.(string)
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC().Format("2006-01-02 15:04")
		}
		return s
	},
	"str": func(m map[string]any, k string) string { s, _ := m[k].(string); return s },
	// choices are a settings form's parts: its id prefix, whether it is a
	// partner's (which may inherit) and its automatic redemption.
	"choices": func(l *i18n.Locale, id string, partner, in, out bool) map[string]any {
		return map[string]any{"L": l, "ID": id, "Partner": partner, "RedeemIn": in, "RedeemOut": out}
	},
	// brandingField is one field of the branding form.
	"brandingField": func(l *i18n.Locale, pg brandingPage, name, typ string, area bool) map[string]any {
		return map[string]any{"L": l, "Name": name, "Value": pg.Form[name], "Problems": pg.Problems, "Type": typ, "Area": area}
	},
	// picker is a user search on the page at base whose results each post
	// actions (pickAction) under base: base, not the request's path, which
	// after a refused post is the action's.
	"picker": func(vw *view, id, base, search string, found []directory.Object, actions ...pickAction) map[string]any {
		return map[string]any{"L": vw.L, "CSRF": vw.CSRF, "ID": id, "Base": base, "Search": search, "Found": found, "Actions": actions}
	},
	// pick is one action of a picker: the path it posts to and its label.
	"pick": func(action, label string) pickAction { return pickAction{Action: action, Label: label} },
	// withLang links to the page in another language.
	"withLang": func(here, lang string) string { return here + "?" + url.Values{"lang": {lang}}.Encode() },
}

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(pageFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, name := range names {
		base := path.Base(name)
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(pageFS, "templates/layout.html", name)
		if err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(base, ".html")] = t
	}
	return out, nil
}

// language is the language the switch chose, "" when none was.
func (c *Console) language(r *http.Request) string {
	if ck, err := r.Cookie(c.cookies.lang); err == nil && slices.Contains(i18n.Languages, ck.Value) {
		return ck.Value
	}
	return ""
}

func (c *Console) locale(r *http.Request) *i18n.Locale {
	var chosen []string
	if lang := c.language(r); lang != "" {
		chosen = []string{lang}
	}
	return c.catalog.Locale(i18n.Negotiate(chosen, r.Header.Get("Accept-Language")))
}

// languageSwitch takes ?lang= from the switch's links: the choice is kept
// in a cookie and the page shown again without it.
func (c *Console) languageSwitch(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		lang := q.Get("lang")
		if r.Method != http.MethodGet || !slices.Contains(i18n.Languages, lang) {
			next.ServeHTTP(w, r)
			return
		}
		c.setCookie(w, c.cookies.lang, lang, langLifetime)
		q.Del("lang")
		back := r.URL.Path
		if len(q) > 0 {
			back += "?" + q.Encode()
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
	})
}

// langLifetime is how long the language chosen is remembered.
const langLifetime = 400 * 24 * time.Hour

// render writes a page with a fresh CSP nonce: scripts only with the nonce
// (htmx), styles and images only from the console itself, forms posted
// only to it, and never in a frame.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, vw *view) {
	nonce, err := c.random()
	if err != nil {
		c.cfg.Logger.ErrorContext(r.Context(), "admin: page failed", "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	vw.Nonce = nonce
	if vw.L == nil {
		vw.L = c.locale(r)
	}
	vw.Langs = i18n.Languages
	vw.Here = r.URL.Path
	name := "layout"
	if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Target") == "main" {
		name = "content"
	}
	var buf bytes.Buffer
	if err := c.pages[page].ExecuteTemplate(&buf, name, vw); err != nil {
		c.cfg.Logger.ErrorContext(r.Context(), "admin: rendering", "page", page, "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	frames := ""
	if vw.FrameSelf {
		frames = "frame-src 'self'; "
	}
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'self'; img-src 'self' data:; "+
		frames+"connect-src 'self'; form-action 'self' "+c.cfg.PublicURL+"; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Vary", "HX-Request, HX-Target")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage shows a message of the catalog outside the console's layout of
// a session.
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, status int, key string) {
	loc := c.locale(r)
	c.render(w, r, status, "error", &view{L: loc, Title: loc.T("error.title"), Error: loc.T(key)})
}

func (c *Console) internalError(w http.ResponseWriter, r *http.Request, err error) {
	c.cfg.Logger.ErrorContext(r.Context(), "admin: request failed", "path", r.URL.Path, "err", err)
	status := http.StatusInternalServerError
	if errors.Is(err, store.ErrUnavailable) {
		status = http.StatusServiceUnavailable
	}
	c.errorPage(w, r, status, "error.internal")
}

// failPage shows a domain error: its user-safe message with the status its
// kind maps to, or an internal error.
func (c *Console) failPage(w http.ResponseWriter, r *http.Request, err error) {
	var ue *usererr.Error
	if !errors.As(err, &ue) {
		if errors.Is(err, errNotConsoleToken) {
			c.errorPage(w, r, http.StatusForbidden, "error.signin")
			return
		}
		c.internalError(w, r, err)
		return
	}
	loc := c.locale(r)
	c.render(w, r, statusOf(ue.Kind), "error", &view{L: loc, Title: loc.T("error.title"), Error: ue.Message})
}

func statusOf(k usererr.Kind) int {
	switch k {
	case usererr.NotFound:
		return http.StatusNotFound
	case usererr.Forbidden:
		return http.StatusForbidden
	case usererr.Conflict:
		return http.StatusConflict
	case usererr.Precondition:
		return http.StatusPreconditionFailed
	case usererr.TooMany:
		return http.StatusTooManyRequests
	}
	return http.StatusBadRequest
}
