package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/httpobs"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The device authorization grant (RFC 8628).
//
// POST /{tenant}/oauth2/v2.0/devicecode gives a public client a device code
// (256 random bits, for polling) and a user code (8 letters, for a person to
// type at {PublicURL}/{tenantId}/devicelogin). Both are stored under hashes
// only: the device code under its SHA-256, the user code, which is too
// short for a plain hash to hide it, under an HMAC keyed from the master
// keyring. One transaction stores:
//
//	device    id = SHA-256 of the device code: the client, the scopes and the
//	          expiry; lives devicePollGrace past expiry so late polls learn
//	          expired_token; consumed when tokens or the denial are delivered
//	usercode  id = HMAC of the user code: the device state's id; consumed
//	          when the user enters it, so a code starts one sign-in only
//	devpoll   id = the device's: when the client last polled and the
//	          interval it must keep (slow_down adds five seconds)
//
// StartDevice turns an entered user code into an ordinary pending
// authorization request (marked with the device) and sends the browser to
// the sign-in pages. Their Finish or Deny stores the outcome once:
//
//	devresult id = the device's: the grant, or the denial
//
// and shows a page instead of redirecting. The polling client then gets
// the tokens (redeemed as a code is: the device state is consumed once, and
// a second redemption revokes the sign-in's refresh tokens) or
// access_denied. Wrong user codes are limited by lockout.CodePolicy, with
// its tallies in devfail states (one per client address, one per tenant):
// each code typed is counted as wrong before it is looked up, under the
// store's lock, and given back when it was right. A client past its
// allowance is refused every code until its window passes; the tenant's
// tally only shrinks the allowance of every client, so no flood of wrong
// codes stops someone at a clean address from entering theirs.

const (
	kindDevice       = "device"
	kindUserCode     = "usercode"
	kindDevicePoll   = "devpoll"
	kindDeviceResult = "devresult"
	kindDeviceFail   = "devfail"

	// deviceCodeLifetime is Entra's: fifteen minutes.
	deviceCodeLifetime = 15 * time.Minute
	// devicePollGrace keeps an expired device state readable, so polls
	// after expiry get expired_token rather than invalid_grant.
	devicePollGrace = 15 * time.Minute
	// devicePollInterval is the polling interval given to clients, and
	// slowDownStep what each slow_down adds to it (RFC 8628 §3.5).
	devicePollInterval = 5 * time.Second
	slowDownStep       = 5 * time.Second

	// tenantTally is the id of a tenant's tally of wrong user codes from
	// all addresses.
	tenantTally = "tenant"

	// userCodePurpose names the key that hashes user codes.
	userCodePurpose = "gatehouse device user code v1"
)

var (
	// ErrInvalidUserCode: the user code is unknown, expired, already used,
	// or of another tenant.
	ErrInvalidUserCode = authn.ErrInvalidUserCode
	// ErrTooManyUserCodes: too many wrong user codes were entered lately
	// from the caller's address; no code is accepted from it until the
	// window passes.
	ErrTooManyUserCodes = authn.ErrTooManyUserCodes
)

// userCodeAlphabet is RFC 8628 §6.1's: consonants only, so codes spell no
// words and have no look-alike characters (0/O, 1/I, 5/S are not both in).
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

const userCodeLen = 8

// newUserCode returns a random user code of userCodeLen letters, without
// the dash it is shown with.
func newUserCode() string {
	out := make([]byte, 0, userCodeLen)
	buf := make([]byte, 16)
	// 240 = 12 × 20: bytes from 240 up are dropped so every letter is
	// equally likely.
	for len(out) < userCodeLen {
		rand.Read(buf)
		for _, b := range buf {
			if b < 240 && len(out) < userCodeLen {
				out = append(out, userCodeAlphabet[b%20])
			}
		}
	}
	return string(out)
}

// displayUserCode is the code as shown, two groups of four: BCDF-GHJK.
func displayUserCode(code string) string {
	return code[:userCodeLen/2] + "-" + code[userCodeLen/2:]
}

// normalizeUserCode reads a typed code: case, spaces and dashes do not
// matter (RFC 8628 §6.1). ok is false unless it is userCodeLen letters of
// the alphabet.
func normalizeUserCode(typed string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ':
		case strings.ContainsRune(userCodeAlphabet, r):
			b.WriteRune(r)
		default:
			return "", false
		}
		if b.Len() > userCodeLen {
			return "", false
		}
	}
	if b.Len() != userCodeLen {
		return "", false
	}
	return b.String(), true
}

// userCodeID is the store id of a user code of the tenant.
func (p *Provider) userCodeID(tenantID, code string) string {
	m := hmac.New(sha256.New, p.userCodeKey)
	m.Write([]byte(tenantID + "\x00" + code))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// deviceRequest is a device authorization request waiting for its user.
type deviceRequest struct {
	ClientID   string       `json:"cid"`
	ClientName string       `json:"cname,omitempty"`
	Publisher  string       `json:"pub,omitempty"`
	Scopes     []string     `json:"scope"`
	Scope      scopeRequest `json:"sr"`
	ExpiresAt  time.Time    `json:"exp"`
}

// userCodeEntry points from a user code to its device state.
type userCodeEntry struct {
	DeviceID string `json:"dev"`
}

// devicePoll is the polling client's pace.
type devicePoll struct {
	Last     time.Time     `json:"last"`
	Interval time.Duration `json:"interval"`
}

// deviceResult is how the user answered: a grant, or a denial.
type deviceResult struct {
	Grant       *grant `json:"grant,omitempty"`
	Description string `json:"desc,omitempty"`
}

// deviceAuthorization is RFC 8628 §3.2's response with Entra's message,
// which MSAL shows to the user.
type deviceAuthorization struct {
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int64  `json:"expires_in"`
	Interval        int64  `json:"interval"`
	Message         string `json:"message"`
}

// canUseDevice: the device flow is for public clients, which the directory
// marks with public-client redirect URIs or by allowing public client
// flows.
func (c Client) canUseDevice() bool {
	return c.AllowPublicClient || len(c.PublicRedirectURIs) > 0
}

// DeviceAuthorization starts the device flow for a public client.
func (s *opServer) DeviceAuthorization(ctx context.Context, r *op.ClientRequest[zoidc.DeviceAuthorizationRequest]) (*op.Response, error) {
	tid, client, err := s.grantContext(ctx, r.Client)
	if err != nil {
		return nil, err
	}
	c, err := s.p.dir.Client(ctx, tid, client.id)
	if errors.Is(err, ErrInvalidClient) {
		return nil, invalidClient(fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory.", client.id), err)
	}
	if err != nil {
		return nil, serverError(fmt.Errorf("%w: looking up client: %w", errUnavailable, err))
	}
	if !c.canUseDevice() {
		return nil, op.NewStatusError(zoidc.ErrUnauthorizedClient().WithDescription(
			"AADSTS7000218: the application does not allow public client flows, which the device code flow is"), http.StatusBadRequest)
	}
	sr, err := s.p.parseScopes(r.Data.Scopes)
	if err != nil {
		return nil, op.NewStatusError(err, http.StatusBadRequest)
	}
	now := s.p.cfg.Now()
	dev := deviceRequest{
		ClientID: c.AppID, ClientName: c.DisplayName, Publisher: c.PublisherDomain,
		Scopes: r.Data.Scopes, Scope: sr, ExpiresAt: now.Add(deviceCodeLifetime),
	}
	deviceCode, userCode, err := s.p.storeDevice(ctx, tid, dev, now)
	if err != nil {
		return nil, serverError(err)
	}
	verify := s.p.tenantBase(tid) + pathDeviceLogin
	resp := op.NewResponse(deviceAuthorization{
		DeviceCode: deviceCode, UserCode: displayUserCode(userCode), VerificationURI: verify,
		ExpiresIn: int64(deviceCodeLifetime / time.Second), Interval: int64(devicePollInterval / time.Second),
		Message: fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verify, displayUserCode(userCode)),
	})
	resp.Header.Set("Cache-Control", "no-store")
	return resp, nil
}

// storeDevice stores a device request under a new device code and user
// code, which it returns. A user code already in use is drawn again.
func (p *Provider) storeDevice(ctx context.Context, tid string, dev deviceRequest, now time.Time) (string, string, error) {
	deviceCode := newSecret()
	deviceID := secretID(deviceCode)
	ds, err := newState(tid, kindDevice, deviceID, newSecret(), "", dev, now, dev.ExpiresAt.Add(devicePollGrace))
	if err != nil {
		return "", "", err
	}
	ps, err := newState(tid, kindDevicePoll, deviceID, "", "", devicePoll{Last: now, Interval: devicePollInterval}, now, dev.ExpiresAt)
	if err != nil {
		return "", "", err
	}
	for range 3 {
		userCode := newUserCode()
		us, err := newState(tid, kindUserCode, p.userCodeID(tid, userCode), "", "", userCodeEntry{DeviceID: deviceID}, now, dev.ExpiresAt)
		if err != nil {
			return "", "", err
		}
		err = p.st.Update(ctx, func(tx store.Tx) error {
			for _, s := range []store.State{ds, ps, us} {
				if err := tx.PutState(ctx, s); err != nil {
					return err
				}
			}
			return nil
		})
		if !errors.Is(err, store.ErrConflict) {
			return deviceCode, userCode, storeErr(err)
		}
	}
	return "", "", errors.New("oidc: no free user code after three draws")
}

// StartDevice implements authn.Protocol: it checks the typed user code and
// sends the browser to sign in for the device's request. Codes are counted
// against the client address (r.RemoteAddr, which a proxy in front must set
// to the client's) and the tenant. Errors are ErrInvalidUserCode,
// ErrTooManyUserCodes, or store failures (the page should answer 503); on
// any of them nothing is written to w.
func (p *Provider) StartDevice(w http.ResponseWriter, r *http.Request, tenantID, userCode string) error {
	ctx := r.Context()
	client := "addr:" + lockout.ClientKey(caller.Address(r))
	if err := p.reserveCode(ctx, tenantID, client); err != nil {
		return err
	}
	code, ok := normalizeUserCode(userCode)
	if !ok {
		return ErrInvalidUserCode
	}
	s, err := p.consumeState(ctx, tenantID, kindUserCode, p.userCodeID(tenantID, code))
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConsumed) {
		return ErrInvalidUserCode
	}
	if err != nil {
		return err
	}
	if err := p.releaseCode(ctx, tenantID, client); err != nil {
		return err
	}
	entry, err := decodeState[userCodeEntry](s)
	if err != nil {
		return err
	}
	ds, dev, err := p.liveDevice(ctx, tenantID, entry.DeviceID)
	if err != nil {
		return err
	}
	now := p.cfg.Now()
	req := authRequest{
		ClientID: dev.ClientID, ClientName: dev.ClientName, Publisher: dev.Publisher,
		Public: true, Scopes: dev.Scopes, Scope: dev.Scope, DeviceID: ds.ID, CreatedAt: now,
	}
	id := newSecret()
	if err := p.putState(ctx, tenantID, kindAuthRequest, id, "", "", req, min(authRequestLifetime, dev.ExpiresAt.Sub(now))); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, p.tenantBase(tenantID)+pathLogin+"?"+url.Values{"request": {id}}.Encode(), http.StatusFound)
	return nil
}

// liveDevice reads a device request that has not expired and is not
// answered yet; otherwise the error is ErrInvalidUserCode.
func (p *Provider) liveDevice(ctx context.Context, tenantID, deviceID string) (store.State, deviceRequest, error) {
	s, err := p.getState(ctx, tenantID, kindDevice, deviceID)
	if errors.Is(err, store.ErrNotFound) {
		return s, deviceRequest{}, ErrInvalidUserCode
	}
	if err != nil {
		return s, deviceRequest{}, err
	}
	dev, err := decodeState[deviceRequest](s)
	if err != nil {
		return s, dev, err
	}
	if s.ConsumedAt != nil || !p.cfg.Now().Before(dev.ExpiresAt) {
		return s, dev, ErrInvalidUserCode
	}
	return s, dev, nil
}

// reserveCode counts a code typed by client as wrong before it is looked
// up, or returns ErrTooManyUserCodes when the client has no allowance left.
func (p *Provider) reserveCode(ctx context.Context, tenantID, client string) error {
	var d lockout.Decision
	err := p.codeTallies(ctx, tenantID, client, func(c, t lockout.Tally, now time.Time) (lockout.Tally, lockout.Tally, bool) {
		c, t, d = p.cfg.Codes.Reserve(c, t, now)
		return c, t, d.Allowed
	})
	if err != nil {
		return storeErr(err)
	}
	if !d.Allowed {
		slog.WarnContext(ctx, "oidc: user code refused", "tenant", tenantID, "reason", d.Reason)
		return ErrTooManyUserCodes
	}
	return nil
}

// releaseCode gives back the reservation of a code that was right.
func (p *Provider) releaseCode(ctx context.Context, tenantID, client string) error {
	return storeErr(p.codeTallies(ctx, tenantID, client, func(c, t lockout.Tally, now time.Time) (lockout.Tally, lockout.Tally, bool) {
		c, t = p.cfg.Codes.Release(c, t, now)
		return c, t, true
	}))
}

// codeTallies runs change on the client's and the tenant's tallies of
// wrong codes, read and written under the store's lock (the client's
// first, always), and stores the result when change says so.
func (p *Provider) codeTallies(ctx context.Context, tenantID, client string, change func(c, t lockout.Tally, now time.Time) (lockout.Tally, lockout.Tally, bool)) error {
	now := p.cfg.Now()
	return p.st.Update(ctx, func(tx store.Tx) error {
		var tallies [2]lockout.Tally
		var states [2]store.State
		for i, id := range []string{secretID(client), tenantTally} {
			var err error
			s := store.State{TenantID: tenantID, Kind: kindDeviceFail, ID: id, Data: []byte(`{}`), CreatedAt: now, ExpiresAt: now.Add(p.cfg.Codes.Window)}
			if states[i], err = store.LockJSON(ctx, tx, s, &tallies[i]); err != nil {
				return err
			}
		}
		c, t, write := change(tallies[0], tallies[1], now)
		if !write {
			return nil
		}
		for i, v := range []lockout.Tally{c, t} {
			if err := store.UpdateJSON(ctx, tx, states[i], v, p.cfg.Codes.Expiry(v)); err != nil {
				return err
			}
		}
		return nil
	})
}

// finishDevice completes a device's request in the browser: the outcome is
// stored for the polling client, and the user is told to go back to the
// device. A sign-in that does not complete the request denies it, so the
// device stops polling at once; only an outage leaves it to expire.
func (p *Provider) finishDevice(w http.ResponseWriter, r *http.Request, tenantID string, req authRequest, a authn.Authentication) {
	g, oerr := p.checkSignIn(r.Context(), tenantID, req, a)
	if oerr != nil && oerr.code == "temporarily_unavailable" {
		p.showUnavailable(w, r, oerr.cause)
		return
	}
	if oerr != nil {
		if oerr.cause != nil {
			slog.ErrorContext(r.Context(), "oidc: device sign-in failed", "tenant", tenantID, "error", oerr.code, "cause", oerr.cause)
		}
		p.answerDevice(w, r, tenantID, req, deviceResult{Description: oerr.description})
		return
	}
	p.answerDevice(w, r, tenantID, req, deviceResult{Grant: &g})
}

// answerDevice stores the user's answer for the polling client, once, and
// shows the page that ends the browser's part.
func (p *Provider) answerDevice(w http.ResponseWriter, r *http.Request, tenantID string, req authRequest, res deviceResult) {
	ctx := r.Context()
	ds, dev, err := p.liveDevice(ctx, tenantID, req.DeviceID)
	if errors.Is(err, ErrInvalidUserCode) {
		showError(w, r, http.StatusBadRequest, "AADSTS70019", "The code has expired. Start again on your device.")
		return
	}
	if err != nil {
		p.showUnavailable(w, r, err)
		return
	}
	subject := ""
	if res.Grant != nil {
		subject = res.Grant.UserID
	}
	err = p.putState(ctx, tenantID, kindDeviceResult, ds.ID, "", subject, res, ds.ExpiresAt.Sub(p.cfg.Now()))
	if errors.Is(err, store.ErrConflict) {
		showError(w, r, http.StatusBadRequest, "AADSTS90014", "This sign-in was already completed.")
		return
	}
	if err != nil {
		p.showUnavailable(w, r, err)
		return
	}
	if res.Grant == nil {
		p.showMessage(w, r, tenantID, http.StatusOK, "title.deviceDeclined", "deviceDeclined.text", dev.ClientName, strings.TrimSuffix(res.Description, "."))
		return
	}
	p.showMessage(w, r, tenantID, http.StatusOK, "title.deviceDone", "deviceDone.text", dev.ClientName)
}

// DeviceToken answers a polling client (RFC 8628 §3.4, §3.5).
func (s *opServer) DeviceToken(ctx context.Context, r *op.ClientRequest[zoidc.DeviceAccessTokenRequest]) (_ *op.Response, err error) {
	var g grant
	defer func() { s.p.noteGrant(ctx, r.Client.GetID(), g, err) }()
	tid, client, err := s.grantContext(ctx, r.Client)
	if err != nil {
		return nil, err
	}
	st, err := s.p.getState(ctx, tid, kindDevice, secretID(r.Data.DeviceCode))
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidGrant("AADSTS70000: The provided device code is invalid or has expired.")
	}
	if err != nil {
		return nil, serverError(err)
	}
	if st.ConsumedAt != nil {
		return nil, s.p.revokeWith(ctx, tid, st.Family, "AADSTS70000: The device code was already redeemed; every token issued from it is revoked.")
	}
	dev, err := decodeState[deviceRequest](st)
	if err != nil {
		return nil, serverError(err)
	}
	if dev.ClientID != client.id {
		return nil, invalidGrant("AADSTS70000: The provided device code was issued to another client.")
	}
	if !s.p.cfg.Now().Before(dev.ExpiresAt) {
		return nil, deviceError(zoidc.ErrExpiredDeviceCode().WithDescription("AADSTS70019: Verification code expired."))
	}
	rs, err := s.p.getState(ctx, tid, kindDeviceResult, st.ID)
	if errors.Is(err, store.ErrNotFound) {
		// A client asking again every few seconds is no news for the
		// access log.
		httpobs.MarkPoll(ctx)
		return nil, s.p.pace(ctx, tid, st.ID)
	}
	if err != nil {
		return nil, serverError(err)
	}
	res, err := decodeState[deviceResult](rs)
	if err != nil {
		return nil, serverError(err)
	}
	if res.Grant == nil {
		if _, err := s.p.consumeState(ctx, tid, kindDevice, st.ID); err != nil && !errors.Is(err, store.ErrConsumed) && !errors.Is(err, store.ErrNotFound) {
			return nil, serverError(err)
		}
		return nil, deviceError(zoidc.ErrAccessDenied().WithDescription("AADSTS70000: The user declined to sign in. %s", res.Description))
	}
	g = *res.Grant
	return s.p.redeem(ctx, tid, client, st, *res.Grant, *res.Grant, "", r.Form)
}

// pace answers a poll for a request the user has not answered:
// authorization_pending, or slow_down when the client polled sooner than its
// interval, which then grows by slowDownStep for all later polls.
func (p *Provider) pace(ctx context.Context, tid, deviceID string) error {
	s, err := p.getState(ctx, tid, kindDevicePoll, deviceID)
	if err != nil {
		// Written with the device state and expiring with it: missing means
		// the device request has just expired.
		if errors.Is(err, store.ErrNotFound) {
			return deviceError(zoidc.ErrExpiredDeviceCode().WithDescription("AADSTS70019: Verification code expired."))
		}
		return serverError(err)
	}
	poll, err := decodeState[devicePoll](s)
	if err != nil {
		return serverError(err)
	}
	now := p.cfg.Now()
	early := now.Sub(poll.Last) < poll.Interval
	if early {
		poll.Interval += slowDownStep
	}
	poll.Last = now
	raw, err := json.Marshal(poll)
	if err != nil {
		return serverError(err)
	}
	s.Data = raw
	err = storeErr(p.st.Update(ctx, func(tx store.Tx) error { return tx.UpdateState(ctx, s) }))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return serverError(err)
	}
	if early {
		return deviceError(zoidc.ErrSlowDown().WithDescription("polling too often: wait %d seconds between requests", int64(poll.Interval/time.Second)))
	}
	return deviceError(zoidc.ErrAuthorizationPending().WithDescription("AADSTS70016: The user has not yet completed sign-in."))
}

// deviceError is an RFC 8628 §3.5 error, sent with status 400.
func deviceError(e *zoidc.Error) error {
	return op.NewStatusError(e, http.StatusBadRequest)
}
