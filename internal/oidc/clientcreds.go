package oidc

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// serveClientCredentials answers the most frequent token request, the
// client_credentials grant of an application authenticating with its secret
// (in the form or the Basic header) outside a browser, without op's generic
// token handler, whose reflection-based form decoding and routing cost a
// tenth of the request. Anything else it leaves to op, which answers it
// with the same rules, errors included: handled is false then, and r's form
// is parsed (which op's own parsing takes as done).
//
// r is the request as forward passes it to op: its query is already gone,
// so parameters come from the body only.
func (p *Provider) serveClientCredentials(w http.ResponseWriter, r *http.Request) (handled bool) {
	if err := r.ParseForm(); err != nil {
		// A second ParseForm would find the form half read and succeed.
		op.WriteError(w, r, zoidc.ErrInvalidRequest().WithDescription("error parsing form").WithParent(err), nil)
		return true
	}
	clientID, secret, scope, ok := plainClientCredentials(r)
	if !ok {
		return false
	}
	ctx := r.Context()
	tid, err := tenantFrom(ctx)
	if err != nil {
		op.WriteError(w, r, serverError(err), nil)
		return true
	}
	app, err := p.authenticateSecret(ctx, tid, clientID, secret)
	if err != nil {
		op.WriteError(w, r, err, nil)
		return true
	}
	t, err := p.clientCredentials(ctx, tid, app, strings.Split(scope, " "))
	if err != nil {
		op.WriteError(w, r, err, nil)
		return true
	}
	writeResponse(w, p.tokenResponse(t))
	return true
}

// plainClientCredentials recognises the request serveClientCredentials
// answers itself: grant_type client_credentials, a scope, and a client id
// and secret given one way only, each parameter once, no client assertion,
// and no Origin (a browser's request gets op's CORS handling). The
// credentials in a Basic header are form-encoded (RFC 6749 §2.3.1); one
// that does not decode is left to op, which refuses it.
func plainClientCredentials(r *http.Request) (clientID, secret, scope string, ok bool) {
	f := r.Form
	if r.Header.Get("Origin") != "" || f.Has("client_assertion") || f.Has("client_assertion_type") {
		return "", "", "", false
	}
	for _, name := range []string{"grant_type", "scope", "client_id", "client_secret"} {
		if len(f[name]) > 1 {
			return "", "", "", false
		}
	}
	if f.Get("grant_type") != string(zoidc.GrantTypeClientCredentials) || f.Get("scope") == "" {
		return "", "", "", false
	}
	if user, password, basic := r.BasicAuth(); basic {
		if f.Has("client_id") || f.Has("client_secret") {
			return "", "", "", false
		}
		id, idErr := url.QueryUnescape(user)
		pw, pwErr := url.QueryUnescape(password)
		if idErr != nil || pwErr != nil || id == "" || pw == "" {
			return "", "", "", false
		}
		return id, pw, f.Get("scope"), true
	}
	if f.Get("client_id") == "" || f.Get("client_secret") == "" {
		return "", "", "", false
	}
	return f.Get("client_id"), f.Get("client_secret"), f.Get("scope"), true
}

// writeResponse writes a response op's handlers would have written.
func writeResponse(w http.ResponseWriter, resp *op.Response) {
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	// An encoding error here is the connection's: the status is sent and
	// the client sees a truncated body, as it would from op.
	if a, ok := resp.Data.(jsonAppender); ok {
		// json.Encoder ends what it writes with a newline.
		_, _ = w.Write(append(a.appendJSON(make([]byte, 0, 1536)), '\n'))
		return
	}
	_ = json.NewEncoder(w).Encode(resp.Data)
}
