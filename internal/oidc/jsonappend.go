package oidc

import (
	"encoding/json"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-id/gatehouse/internal/jsonw"
)

// jsonAppender is a value that writes its own JSON: byte for byte what
// encoding/json writes for it (TestAppendJSONIsEncodingJSON), without
// reflection. Access tokens and token answers are written once per token
// request, and encoding/json's reflection and allocations cost about a
// tenth of what an ES256 token costs besides its signature.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// marshalJSON is json.Marshal, through appendJSON where v has it.
func marshalJSON(v any) ([]byte, error) {
	if a, ok := v.(jsonAppender); ok {
		return a.appendJSON(make([]byte, 0, 1024)), nil
	}
	return json.Marshal(v)
}

// appendClaims appends jwt.Claims's members, as an embedded struct's come
// first.
func appendClaims(o *jsonw.Object, c jwt.Claims) {
	o.StrOmit("iss", c.Issuer)
	o.StrOmit("sub", c.Subject)
	// jwt.Audience writes one audience as a string, several as an array.
	if len(c.Audience) == 1 {
		o.Str("aud", c.Audience[0])
	} else {
		o.StringsOmit("aud", c.Audience)
	}
	for _, d := range []struct {
		k string
		v *jwt.NumericDate
	}{{"exp", c.Expiry}, {"nbf", c.NotBefore}, {"iat", c.IssuedAt}} {
		if d.v != nil {
			o.Int(d.k, int64(*d.v))
		}
	}
	o.StrOmit("jti", c.ID)
}

func (c accessClaims) appendJSON(b []byte) []byte {
	o := jsonw.Object{B: b}
	appendClaims(&o, c.Claims)
	o.Str("tid", c.TenantID)
	o.Str("oid", c.ObjectID)
	o.StrOmit("azp", c.AuthorizedParty)
	o.StrOmit("azpacr", c.AuthorizedPartyACR)
	o.StrOmit("appid", c.AppID)
	o.StrOmit("idtyp", c.IDType)
	o.StringsOmit("roles", c.Roles)
	o.StrOmit("scp", c.Scopes)
	o.StrOmit("name", c.Name)
	o.StrOmit("preferred_username", c.PreferredUsername)
	o.StrOmit("uti", c.TokenID)
	o.Str("ver", c.Version)
	o.StrOmit("idp", c.IdP)
	o.StringsOmit("amr", c.AMR)
	o.StrOmit("sid", c.SessionID)
	o.IntOmit("iat_ms", c.IssuedAtMs)
	return o.End()
}

func (t *tokenResponse) appendJSON(b []byte) []byte {
	o := jsonw.Object{B: b}
	o.Str("token_type", t.TokenType)
	o.StrOmit("scope", t.Scope)
	o.Int("expires_in", t.ExpiresIn)
	o.Int("ext_expires_in", t.ExtExpiresIn)
	o.Str("access_token", t.AccessToken)
	o.StrOmit("refresh_token", t.RefreshToken)
	o.StrOmit("id_token", t.IDToken)
	o.StrOmit("client_info", t.ClientInfo)
	return o.End()
}
