// Package reqid owns the identifiers of a request: the request-id every
// response carries (a fresh UUID, as Graph and Entra send) and the caller's
// client-request-id, echoed when it is safe to echo. Both ride in the
// request's context, so logs, error bodies and error pages can name them.
package reqid

import (
	"context"
	"net/http"

	"github.com/google/uuid"
)

// IDs are a request's identifiers. Client is empty when the caller sent no
// client-request-id or one that Clean refused.
type IDs struct {
	Request string
	Client  string
}

// The header names Graph and Entra use.
const (
	RequestHeader = "request-id"
	ClientHeader  = "client-request-id"
)

// MaxClientLen bounds an echoed client-request-id: Graph's SDKs send a
// 36-character UUID; anything much longer is not an id.
const MaxClientLen = 128

type key struct{}

// From returns the identifiers Middleware gave the request ctx belongs to;
// the zero IDs outside it.
func From(ctx context.Context) IDs {
	ids, _ := ctx.Value(key{}).(IDs)
	return ids
}

// With returns ctx carrying ids.
func With(ctx context.Context, ids IDs) context.Context {
	return context.WithValue(ctx, key{}, ids)
}

// Clean is the client-request-id worth echoing and logging: the value when
// it is at most MaxClientLen printable ASCII characters, else "". Anything
// else could split a log line, smuggle markup into a page, or bloat every
// record it is copied into.
func Clean(v string) string {
	if len(v) > MaxClientLen {
		return ""
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return ""
		}
	}
	return v
}

// Middleware gives every request a fresh request-id, echoes a clean
// client-request-id, and puts both in the request's context.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids := IDs{Request: uuid.NewString(), Client: Clean(r.Header.Get(ClientHeader))}
		w.Header().Set(RequestHeader, ids.Request)
		if ids.Client != "" {
			w.Header().Set(ClientHeader, ids.Client)
		}
		next.ServeHTTP(w, r.WithContext(With(r.Context(), ids)))
	})
}
