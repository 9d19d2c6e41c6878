package oidc

import (
	"encoding/json"
	"strconv"

	"github.com/go-jose/go-jose/v4/jwt"
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

// jsonObject appends one JSON object's members in the order they are
// given, as encoding/json orders a struct's fields.
type jsonObject struct {
	b    []byte
	more bool
}

func (o *jsonObject) key(k string) {
	if o.more {
		o.b = append(o.b, ',')
	} else {
		o.b = append(o.b, '{')
	}
	o.more = true
	o.b = append(o.b, '"')
	o.b = append(o.b, k...)
	o.b = append(o.b, '"', ':')
}

func (o *jsonObject) str(k, v string) {
	o.key(k)
	o.b = appendJSONString(o.b, v)
}

// strOmit is a string member tagged omitempty.
func (o *jsonObject) strOmit(k, v string) {
	if v != "" {
		o.str(k, v)
	}
}

func (o *jsonObject) int(k string, v int64) {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}

// intOmit is an integer member tagged omitempty.
func (o *jsonObject) intOmit(k string, v int64) {
	if v != 0 {
		o.int(k, v)
	}
}

// dateOmit is a *jwt.NumericDate member tagged omitempty.
func (o *jsonObject) dateOmit(k string, v *jwt.NumericDate) {
	if v != nil {
		o.int(k, int64(*v))
	}
}

// stringsOmit is a []string member tagged omitempty.
func (o *jsonObject) stringsOmit(k string, v []string) {
	if len(v) > 0 {
		o.key(k)
		o.b = appendJSONStrings(o.b, v)
	}
}

// claims appends jwt.Claims's members, as an embedded struct's come first.
func (o *jsonObject) claims(c jwt.Claims) {
	o.strOmit("iss", c.Issuer)
	o.strOmit("sub", c.Subject)
	// jwt.Audience writes one audience as a string, several as an array.
	switch len(c.Audience) {
	case 0:
	case 1:
		o.str("aud", c.Audience[0])
	default:
		o.stringsOmit("aud", c.Audience)
	}
	o.dateOmit("exp", c.Expiry)
	o.dateOmit("nbf", c.NotBefore)
	o.dateOmit("iat", c.IssuedAt)
	o.strOmit("jti", c.ID)
}

func (o *jsonObject) end() []byte {
	if !o.more {
		return append(o.b, '{', '}')
	}
	return append(o.b, '}')
}

func appendJSONStrings(b []byte, v []string) []byte {
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONString appends s quoted as encoding/json quotes it. Ids, URLs
// and most names are printable ASCII that needs no escape and are copied;
// anything else (quotes, control characters, HTML's <>&, non-ASCII, which
// encoding/json checks for invalid UTF-8 and U+2028) is left to
// encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func (c accessClaims) appendJSON(b []byte) []byte {
	o := jsonObject{b: b}
	o.claims(c.Claims)
	o.str("tid", c.TenantID)
	o.str("oid", c.ObjectID)
	o.strOmit("azp", c.AuthorizedParty)
	o.strOmit("azpacr", c.AuthorizedPartyACR)
	o.strOmit("appid", c.AppID)
	o.strOmit("idtyp", c.IDType)
	o.stringsOmit("roles", c.Roles)
	o.strOmit("scp", c.Scopes)
	o.strOmit("name", c.Name)
	o.strOmit("preferred_username", c.PreferredUsername)
	o.strOmit("uti", c.TokenID)
	o.str("ver", c.Version)
	o.strOmit("idp", c.IdP)
	o.stringsOmit("amr", c.AMR)
	o.strOmit("sid", c.SessionID)
	o.intOmit("iat_ms", c.IssuedAtMs)
	return o.end()
}

func (t *tokenResponse) appendJSON(b []byte) []byte {
	o := jsonObject{b: b}
	o.str("token_type", t.TokenType)
	o.strOmit("scope", t.Scope)
	o.int("expires_in", t.ExpiresIn)
	o.int("ext_expires_in", t.ExtExpiresIn)
	o.str("access_token", t.AccessToken)
	o.strOmit("refresh_token", t.RefreshToken)
	o.strOmit("id_token", t.IDToken)
	o.strOmit("client_info", t.ClientInfo)
	return o.end()
}
