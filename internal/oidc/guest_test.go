package oidc

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/authn"
)

// aliceHome is Alice's object id in her home tenant (B) when she signs in
// to tenant A as a guest.
const aliceHome = "a11ce000-0000-4000-8000-0000000000b0"

// guestWant is what a sign-in's tokens and log record must say.
type guestWant struct {
	idp        string // "" for no idp claim
	acct       float64
	uid, utid  string // client_info
	homeTenant string // the sign-in log's
	access     string // crossTenantAccessType
}

// checkGuestTokens checks a token response with client_info, and the
// sign-in record of a refresh or device-code redemption when log is set.
func (f *flow) checkGuestTokens(t *testing.T, step string, tr tokenReply, want guestWant, log bool) {
	t.Helper()
	if tr.status != http.StatusOK || tr.IDToken == "" || tr.RefreshToken == "" {
		t.Fatalf("%s: %+v", step, tr)
	}
	jwks := f.srv.URL + "/" + tenantA + "/discovery/v2.0/keys"
	id, at := verifyAnyWithJWKS(t, jwks, tr.IDToken), verifyAnyWithJWKS(t, jwks, tr.AccessToken)
	if id["tid"] != tenantA || id["oid"] != userAlice || at["tid"] != tenantA || at["oid"] != userAlice {
		t.Errorf("%s: tid/oid are not the resource tenant's: ID %v, access %v", step, id, at)
	}
	for name, c := range map[string]map[string]any{"ID": id, "access": at} {
		got, has := c["idp"]
		if want.idp == "" && has || want.idp != "" && got != want.idp {
			t.Errorf("%s: %s token idp %v, want %q", step, name, got, want.idp)
		}
	}
	if got, has := id["acct"]; !has || got != want.acct {
		t.Errorf("%s: ID token acct %v (present %v), want %v", step, got, has, want.acct)
	}
	raw, err := base64.RawURLEncoding.DecodeString(tr.ClientInfo)
	if wantCI := `{"uid":"` + want.uid + `","utid":"` + want.utid + `"}`; err != nil || string(raw) != wantCI {
		t.Errorf("%s: client_info %s, want %s", step, raw, wantCI)
	}
	if !log {
		return
	}
	s := f.signIns.last()
	if s.TenantID != tenantA || s.UserID != userAlice || s.ErrorCode != 0 || s.ResourceTenantID != tenantA || s.HomeTenantID != want.homeTenant || s.CrossTenantAccessType != want.access {
		t.Errorf("%s: sign-in record %+v, want home tenant %s, access %s", step, s, want.homeTenant, want.access)
	}
}

// signInWithCode runs the SPA's code flow in tenant A, then refreshes, both
// asking for client_info.
func (f *flow) signInWithCode(t *testing.T, want guestWant) {
	t.Helper()
	v := oauth2.GenerateVerifier()
	code := f.code(t, tenantA, spaApp, spaRedirect, v, nil)
	tr := f.token(t, tenantA, url.Values{"grant_type": {"authorization_code"}, "client_id": {spaApp}, "code": {code},
		"redirect_uri": {spaRedirect}, "code_verifier": {v}, "client_info": {"1"}})
	f.checkGuestTokens(t, "code", tr, want, false)
	f.clock.advance(time.Minute)
	tr = f.token(t, tenantA, url.Values{"grant_type": {"refresh_token"}, "client_id": {spaApp}, "refresh_token": {tr.RefreshToken}, "client_info": {"1"}})
	f.checkGuestTokens(t, "refresh", tr, want, true)
}

func TestGuestClaims(t *testing.T) {
	t.Run("guest from a tenant of the deployment", func(t *testing.T) {
		f := newFlow(t)
		f.dir.setUser(tenantA, func(u *fakeUser) { u.Guest = true })
		idp := f.srv.URL + "/" + tenantB + "/v2.0"
		f.pages.setGuest(authn.Authentication{IdP: idp, HomeTenantID: tenantB, HomeObjectID: aliceHome})
		f.signInWithCode(t, guestWant{idp: idp, acct: 1, uid: aliceHome, utid: tenantB, homeTenant: tenantB, access: authn.AccessB2BCollaboration})
	})
	t.Run("guest by email one-time passcode", func(t *testing.T) {
		f := newFlow(t)
		f.dir.setUser(tenantA, func(u *fakeUser) { u.Guest = true })
		f.pages.setGuest(authn.Authentication{IdP: "mail"})
		f.signInWithCode(t, guestWant{idp: "mail", acct: 1, uid: userAlice, utid: tenantA, homeTenant: tenantA, access: authn.AccessB2BCollaboration})
	})
	t.Run("member", func(t *testing.T) {
		f := newFlow(t)
		f.signInWithCode(t, guestWant{acct: 0, uid: userAlice, utid: tenantA, homeTenant: tenantA, access: authn.AccessNone})
	})
	t.Run("guest on a device", func(t *testing.T) {
		f := newFlow(t)
		f.dir.setUser(tenantA, func(u *fakeUser) { u.Guest = true })
		idp := f.srv.URL + "/" + tenantB + "/v2.0"
		f.pages.setGuest(authn.Authentication{IdP: idp, HomeTenantID: tenantB, HomeObjectID: aliceHome})
		d := f.spaDevice(t)
		if resp, body := f.enterCode(t, tenantA, d.UserCode); resp.StatusCode != http.StatusOK {
			t.Fatalf("device sign-in: %d %s", resp.StatusCode, body)
		}
		f.clock.advance(10 * time.Second)
		tr := f.token(t, tenantA, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {spaApp},
			"device_code": {d.DeviceCode}, "client_info": {"1"}})
		want := guestWant{idp: idp, acct: 1, uid: aliceHome, utid: tenantB, homeTenant: tenantB, access: authn.AccessB2BCollaboration}
		f.checkGuestTokens(t, "device code", tr, want, true)
	})
}
