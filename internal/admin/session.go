package admin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// cookieNames are the console's cookies, __Host- prefixed on https so no
// subdomain can plant them.
type cookieNames struct {
	session string // tenant id "." session secret
	flow    string // tenant id "." state of the sign-in under way
	lang    string // the language chosen with the switch
}

func newCookieNames(secure bool) cookieNames {
	prefix := ""
	if secure {
		prefix = "__Host-"
	}
	// The language is the sign-in pages' cookie: one choice for both, as
	// the console's sign-in goes through those pages.
	return cookieNames{session: prefix + "gh-admin", flow: prefix + "gh-admin-flow", lang: prefix + hostedpage.LangCookie}
}

// State kinds the console keeps in the store.
const (
	kindSession = "adminSession"
	kindSignIn  = "adminSignIn"
)

// signInLifetime bounds a sign-in under way: the time to walk the pages.
const signInLifetime = 15 * time.Minute

var b64 = base64.RawURLEncoding

// random is a session secret, sign-in state, PKCE verifier or nonce.
func (c *Console) random() (string, error) { return secrets.NewToken(c.cfg.Random, secrets.TokenBytes) }

// isSecret reports whether s is exactly what random makes (canonical
// encoding, so one secret has one spelling).
func isSecret(s string) bool { return secrets.IsToken(s, secrets.TokenBytes) }

// stateID names a stored state by the hash of its secret: the store never
// holds the secret a cookie or URL carries.
func stateID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func (c *Console) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	ck := &http.Cookie{Name: name, Value: value, Path: "/", Secure: c.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	switch {
	case maxAge < 0:
		ck.Value, ck.MaxAge = "", -1
	case maxAge > 0:
		ck.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(w, ck)
}

// tenantCookie reads a "tenant.secret" cookie.
func tenantCookie(r *http.Request, name string) (tenantID, secret string, ok bool) {
	ck, err := r.Cookie(name)
	if err != nil {
		return "", "", false
	}
	tenantID, secret, ok = strings.Cut(ck.Value, ".")
	return tenantID, secret, ok && directory.IsGUID(tenantID) && isSecret(secret)
}

// signInState is a sign-in under way, kept until the code comes back.
type signInState struct {
	Verifier string `json:"verifier"` // sealed PKCE verifier
}

// sessionState is a signed-in console session.
type sessionState struct {
	Sealed string `json:"sealed"` // sealed sessionData
}

// sessionData is what a session holds: the tokens (sealed at rest), the
// CSRF token its forms carry, and the tenants to offer in the switcher.
type sessionData struct {
	AccessToken string       `json:"at"`
	IDToken     string       `json:"idt"`
	CSRF        string       `json:"csrf"`
	Name        string       `json:"name"`
	Tenants     []tenantLink `json:"tenants"`
}

type tenantLink struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (c *Console) seal(v any, aad ...string) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sealed, err := c.cfg.Keys.Seal(b, []byte(strings.Join(aad, "\x00")))
	return b64.EncodeToString(sealed), err
}

func (c *Console) open(s string, v any, aad ...string) error {
	b, err := b64.DecodeString(s)
	if err != nil {
		return err
	}
	plain, err := c.cfg.Keys.Open(b, []byte(strings.Join(aad, "\x00")))
	if err != nil {
		return err
	}
	return json.Unmarshal(plain, v)
}

func (c *Console) redirectURI() string { return c.cfg.PublicURL + directory.AdminCallbackPath }

func (c *Console) tenantBase(tenantID string) string {
	return c.cfg.PublicURL + "/" + tenantID + "/oauth2/v2.0/"
}

// signIn sends the browser to the tenant's own sign-in pages: authorization
// code with PKCE (S256), the state bound to this browser by a cookie.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	tenantID, err := c.cfg.Directory.ResolveTenant(r.Context(), r.PathValue("tenant"))
	if err != nil {
		c.failPage(w, r, err)
		return
	}
	authorize, err := c.startSignIn(w, r, tenantID)
	if err != nil {
		c.internalError(w, r, err)
		return
	}
	http.Redirect(w, r, authorize, http.StatusFound)
}

// startSignIn keeps a new sign-in's verifier and returns where to send
// the browser.
func (c *Console) startSignIn(w http.ResponseWriter, r *http.Request, tenantID string) (string, error) {
	state, err := c.random()
	if err != nil {
		return "", err
	}
	verifier, err := c.random()
	if err != nil {
		return "", err
	}
	sealed, err := c.seal(verifier, tenantID, kindSignIn, stateID(state))
	if err != nil {
		return "", err
	}
	if err := c.putState(r.Context(), tenantID, kindSignIn, stateID(state), "", signInState{Verifier: sealed}, signInLifetime); err != nil {
		return "", err
	}
	c.setCookie(w, c.cookies.flow, tenantID+"."+state, signInLifetime)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id": {directory.AdminAppID}, "response_type": {"code"}, "redirect_uri": {c.redirectURI()},
		"scope": {"openid profile " + strings.Join(directory.AdminScopes, " ")}, "state": {state},
		"code_challenge": {b64.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	if lang := c.language(r); lang != "" {
		q.Set("ui_locales", lang)
	}
	return c.tenantBase(tenantID) + "authorize?" + q.Encode(), nil
}

// putState stores a state of the console; it is its own family, so that
// DeleteStates can end it alone.
func (c *Console) putState(ctx context.Context, tenantID, kind, id, subject string, v any, life time.Duration) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	now := c.cfg.Now().UTC()
	return c.store().Update(ctx, func(tx store.Tx) error {
		return tx.PutState(ctx, store.State{TenantID: tenantID, Kind: kind, ID: id, Family: id, Subject: subject, Data: data, CreatedAt: now, ExpiresAt: now.Add(life)})
	})
}

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	IDToken     string `json:"id_token"`
	ExpiresIn   int    `json:"expires_in"`
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// callback takes the code back: the state must be the one this browser
// started with (so no one can sign a browser in to their own session),
// used once; the code is redeemed with its verifier and the access token
// verified as Graph verifies it before a session is made.
func (c *Console) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("state") == signedOutState && q.Get("code") == "" {
		http.Redirect(w, r, "/admin?signedout=1", http.StatusSeeOther)
		return
	}
	tenantID, state, ok := tenantCookie(r, c.cookies.flow)
	if !ok || !hmac.Equal([]byte(state), []byte(q.Get("state"))) {
		c.errorPage(w, r, http.StatusBadRequest, "error.flow")
		return
	}
	c.setCookie(w, c.cookies.flow, "", -1)
	var st store.State
	err := c.store().Update(r.Context(), func(tx store.Tx) error {
		var err error
		st, err = tx.ConsumeState(r.Context(), tenantID, kindSignIn, stateID(state))
		return err
	})
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConsumed) {
		c.errorPage(w, r, http.StatusBadRequest, "error.flow")
		return
	}
	if err != nil {
		c.internalError(w, r, err)
		return
	}
	if e := q.Get("error"); e != "" {
		c.cfg.Logger.InfoContext(r.Context(), "admin: sign-in refused", "tenant", tenantID, "error", e, "description", q.Get("error_description"))
		c.errorPage(w, r, http.StatusForbidden, "error.signin")
		return
	}
	var pending signInState
	var verifier string
	if err := json.Unmarshal(st.Data, &pending); err != nil {
		c.internalError(w, r, err)
		return
	}
	if err := c.open(pending.Verifier, &verifier, tenantID, kindSignIn, stateID(state)); err != nil {
		c.internalError(w, r, err)
		return
	}
	tok, err := c.redeem(r.Context(), tenantID, q.Get("code"), verifier)
	if err != nil {
		c.cfg.Logger.WarnContext(r.Context(), "admin: redeeming the code failed", "tenant", tenantID, "err", err)
		c.errorPage(w, r, http.StatusBadGateway, "error.signin")
		return
	}
	p, err := c.verify(r, tenantID, tok.AccessToken)
	if err != nil {
		c.failPage(w, r, err)
		return
	}
	if err := c.newSession(w, r, p, tok); err != nil {
		c.internalError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/"+tenantID+"/", http.StatusSeeOther)
}

// signedOutState is the state the tenant's logout sends back with, so the
// callback shows the signed-out console.
const signedOutState = "signed-out"

func (c *Console) redeem(ctx context.Context, tenantID, code, verifier string) (tokenResponse, error) {
	var tok tokenResponse
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {directory.AdminAppID}, "code": {code},
		"redirect_uri": {c.redirectURI()}, "code_verifier": {verifier}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.tenantBase(tenantID)+"token", strings.NewReader(form.Encode()))
	if err != nil {
		return tok, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return tok, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok); err != nil {
		return tok, fmt.Errorf("token response (%d): %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		return tok, fmt.Errorf("token endpoint answered %d: %s %s", resp.StatusCode, tok.Error, tok.Description)
	}
	return tok, nil
}

// errNotConsoleToken: a token that is not the console's own for the
// tenant asked (a session cookie moved between tenants, say).
var errNotConsoleToken = errors.New("admin: not an admin centre token for this tenant")

// verify checks an access token exactly as Graph does and that it is the
// console's, for tenantID, on behalf of a user; the caller it names is who
// the console acts for.
func (c *Console) verify(r *http.Request, tenantID, raw string) (caller.Caller, error) {
	p, err := c.cfg.Tokens.VerifyAccessToken(r.Context(), raw)
	if err != nil {
		return p, err
	}
	if p.AppOnly || p.AppID != directory.AdminAppID || p.TenantID != tenantID {
		return caller.Caller{}, errNotConsoleToken
	}
	p.IPAddress = caller.Address(r)
	return p, nil
}

// newSession stores a session for the verified caller and sets its cookie.
func (c *Console) newSession(w http.ResponseWriter, r *http.Request, p caller.Caller, tok tokenResponse) error {
	ctx := caller.With(r.Context(), p)
	secret, err := c.random()
	if err != nil {
		return err
	}
	csrf, err := c.random()
	if err != nil {
		return err
	}
	d := sessionData{AccessToken: tok.AccessToken, IDToken: tok.IDToken, CSRF: csrf}
	if u, err := c.cfg.Directory.Get(ctx, p.TenantID, directory.KindUser, p.ObjectID); err == nil {
		d.Name, _ = u.Doc["userPrincipalName"].(string)
	}
	if d.Tenants, err = c.adminTenants(ctx, p); err != nil {
		return err
	}
	id := stateID(secret)
	sealed, err := c.seal(d, p.TenantID, kindSession, id)
	if err != nil {
		return err
	}
	life := time.Duration(tok.ExpiresIn) * time.Second
	if life <= 0 {
		life = time.Hour
	}
	if err := c.putState(ctx, p.TenantID, kindSession, id, p.ObjectID, sessionState{Sealed: sealed}, life); err != nil {
		return err
	}
	// The browser's session before this one (another tenant's, when the
	// switcher was used) ends now rather than when its token expires: a
	// copy of its cookie must not outlive the console's own use of it.
	if oldTenant, oldSecret, ok := tenantCookie(r, c.cookies.session); ok {
		if err := c.store().Update(ctx, func(tx store.Tx) error {
			_, err := tx.DeleteStates(ctx, oldTenant, store.StateFilter{Kind: kindSession, Family: stateID(oldSecret)})
			return err
		}); err != nil {
			return err
		}
	}
	c.setCookie(w, c.cookies.session, p.TenantID+"."+secret, 0)
	return nil
}

// visit is one request of a signed-in session.
type visit struct {
	w        http.ResponseWriter
	r        *http.Request
	ctx      context.Context // carries the caller
	p        caller.Caller
	tenantID string
	id       string // the session's state id
	data     sessionData
}

// session serves h for the browser's session in the URL's tenant, or sends
// it to sign in there. A POST must carry the session's CSRF token (form
// field csrf, or the X-CSRF-Token header htmx sends).
func (c *Console) session(h func(*visit)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenantID := r.PathValue("tenant")
		v, err := c.load(w, r, tenantID)
		if errors.Is(err, errNoSession) {
			if r.Method != http.MethodGet {
				c.errorPage(w, r, http.StatusUnauthorized, "error.session")
				return
			}
			http.Redirect(w, r, "/admin/"+url.PathEscape(tenantID)+"/signin", http.StatusFound)
			return
		}
		if err != nil {
			c.internalError(w, r, err)
			return
		}
		if r.Method == http.MethodPost {
			if err := parsePost(w, r); err != nil {
				c.errorPage(w, r, http.StatusBadRequest, "error.request")
				return
			}
			got := r.PostForm.Get("csrf")
			if h := r.Header.Get("X-CSRF-Token"); h != "" {
				got = h
			}
			if !hmac.Equal([]byte(got), []byte(v.data.CSRF)) {
				c.errorPage(w, r, http.StatusForbidden, "error.csrf")
				return
			}
		}
		h(v)
	})
}

// maxMultipart bounds a multipart post (a file uploaded with its form):
// every part is kept in memory, none goes to disk.
const maxMultipart = 1 << 20

// parsePost reads a post's form, urlencoded or, for uploads, multipart.
func parsePost(w http.ResponseWriter, r *http.Request) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		r.Body = http.MaxBytesReader(w, r.Body, maxMultipart)
		return r.ParseMultipartForm(maxMultipart)
	}
	return r.ParseForm()
}

// errNoSession: the browser has no live session in the tenant.
var errNoSession = errors.New("admin: no session")

// load reads the browser's session in tenantID and verifies its token
// again (revoked sessions, disabled users and changed roles count at once).
func (c *Console) load(w http.ResponseWriter, r *http.Request, tenantID string) (*visit, error) {
	cookieTenant, secret, ok := tenantCookie(r, c.cookies.session)
	if !ok || cookieTenant != tenantID {
		return nil, errNoSession
	}
	id := stateID(secret)
	var st store.State
	err := c.store().View(r.Context(), func(tx store.Tx) error {
		var err error
		st, err = tx.GetState(r.Context(), tenantID, kindSession, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	var ss sessionState
	var d sessionData
	if err := json.Unmarshal(st.Data, &ss); err != nil {
		return nil, err
	}
	if err := c.open(ss.Sealed, &d, tenantID, kindSession, id); err != nil {
		return nil, err
	}
	p, err := c.verify(r, tenantID, d.AccessToken)
	if errors.Is(err, store.ErrUnavailable) {
		return nil, err
	}
	if err != nil {
		c.cfg.Logger.InfoContext(r.Context(), "admin: session token refused", "tenant", tenantID, "err", err)
		return nil, errNoSession
	}
	return &visit{w: w, r: r, ctx: caller.With(r.Context(), p), p: p, tenantID: tenantID, id: id, data: d}, nil
}

// signOut ends the console session and then the browser's sessions in the
// tenant, through its logout endpoint (the ID token as the hint, so no
// confirmation is asked), which sends the browser back to the console.
func (c *Console) signOut(v *visit) {
	err := c.store().Update(v.ctx, func(tx store.Tx) error {
		_, err := tx.DeleteStates(v.ctx, v.tenantID, store.StateFilter{Kind: kindSession, Family: v.id})
		return err
	})
	if err != nil {
		c.internalError(v.w, v.r, err)
		return
	}
	c.setCookie(v.w, c.cookies.session, "", -1)
	q := url.Values{"client_id": {directory.AdminAppID}, "post_logout_redirect_uri": {c.redirectURI()}, "state": {signedOutState}}
	if v.data.IDToken != "" {
		q.Set("id_token_hint", v.data.IDToken)
	}
	http.Redirect(v.w, v.r, c.tenantBase(v.tenantID)+"logout?"+q.Encode(), http.StatusSeeOther)
}
