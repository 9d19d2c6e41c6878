package graph

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// A $skiptoken is the store's paging cursor sealed with AES-GCM under a key
// every node derives from the master key. Sealed, it reveals nothing of the
// sort expressions and values inside, cannot be forged, and opens only for
// the request it continues: the same tenant, path and query options (all
// but $top, which a client may change between pages, and the tokens, which
// a next link replaces).

type skipKey struct{}

func newSkipAEAD(key []byte) cipher.AEAD {
	if len(key) == 0 {
		// A deployment without a configured key (tests of the graph
		// package alone) still seals, with a key of this process.
		key = make([]byte, 32)
		rand.Read(key)
	}
	// Hashed to AES-256's length, so no key can make NewCipher fail, and
	// GCM over AES cannot fail.
	sum := sha256.Sum256(key)
	block, _ := aes.NewCipher(sum[:])
	aead, _ := cipher.NewGCM(block)
	return aead
}

// skipBinding is what a $skiptoken is bound to.
func skipBinding(r *http.Request) []byte {
	var opts []string
	for k, v := range r.URL.Query() {
		switch lk := strings.ToLower(k); lk {
		case "$skiptoken", "$deltatoken", "$top":
		default:
			opts = append(opts, lk+"="+strings.Join(v, "\x01"))
		}
	}
	slices.Sort(opts)
	return []byte(tenantOf(r) + "\x00" + r.URL.Path + "\x00" + strings.Join(opts, "\x00"))
}

func (a *API) sealSkipToken(r *http.Request, cursor string) string {
	nonce := make([]byte, a.skip.NonceSize(), a.skip.NonceSize()+len(cursor)+a.skip.Overhead())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(a.skip.Seal(nonce, nonce, []byte(cursor), skipBinding(r)))
}

var errSkipToken = usererr.New(usererr.Invalid, "The $skiptoken is invalid or expired.")

type opened struct {
	cursor string
	err    error
}

// openSkipToken opens the request's $skiptoken, if any, for the handler's
// listing (skipCursor). A token that does not open is the listing's error,
// so a route that takes no $skiptoken refuses it as it refuses any option
// it does not take.
func (a *API) openSkipToken(r *http.Request) *http.Request {
	var token string
	for k, v := range r.URL.Query() {
		if strings.EqualFold(k, "$skiptoken") && len(v) > 0 {
			token = v[0]
		}
	}
	if token == "" {
		return r
	}
	o := opened{err: errSkipToken}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if ns := a.skip.NonceSize(); err == nil && len(raw) >= ns {
		if cursor, err := a.skip.Open(nil, raw[:ns], raw[ns:], skipBinding(r)); err == nil {
			o = opened{cursor: string(cursor)}
		}
	}
	return r.WithContext(context.WithValue(r.Context(), skipKey{}, o))
}

// skipCursor is the store cursor the request's $skiptoken carried.
func skipCursor(r *http.Request) (string, error) {
	o, _ := r.Context().Value(skipKey{}).(opened)
	return o.cursor, o.err
}
