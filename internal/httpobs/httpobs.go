// Package httpobs observes each HTTP request a node serves (its route
// pattern, status, bytes written and duration) and hands the observation to
// whoever records it: the access log and the metrics.
package httpobs

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"
)

// Unmatched is the route of a request no pattern matched (a 404 or 405 of
// the mux): one label for every such path, so strangers' paths never become
// metric labels.
const Unmatched = "unmatched"

// Observation is one served request.
type Observation struct {
	// Request is the request as the handler saw it; its URL still has the
	// query, which recorders must not copy anywhere (codes, tokens).
	Request *http.Request
	// Route is the ServeMux pattern that served it (e.g. "GET
	// /v1.0/users/{id}"), never the raw path, or Unmatched.
	Route    string
	Status   int
	Bytes    int64
	Duration time.Duration
	// Poll says the handler answered a client that asks the same thing
	// again every few seconds (a device-code poll still pending).
	Poll bool
}

type pollKey struct{}

// MarkPoll notes, from anywhere below Middleware, that the request in ctx
// is a poll still pending. Elsewhere it does nothing.
func MarkPoll(ctx context.Context) {
	if p, ok := ctx.Value(pollKey{}).(*atomic.Bool); ok {
		p.Store(true)
	}
}

// Route is the pattern that served r, or Unmatched.
func Route(r *http.Request) string {
	if r.Pattern == "" {
		return Unmatched
	}
	return r.Pattern
}

// Middleware serves next and then gives each recorder the observation. The
// mux below must receive the very *http.Request this passes on (every layer
// between passes it on unchanged), since the mux records the pattern on it.
func Middleware(next http.Handler, recorders ...func(Observation)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &writer{ResponseWriter: w}
		// The poll mark travels in the context, since handlers below may
		// see copies of r; the mux's pattern is set on r itself.
		poll := new(atomic.Bool)
		r = r.WithContext(context.WithValue(r.Context(), pollKey{}, poll))
		next.ServeHTTP(rw, r)
		o := Observation{Request: r, Route: Route(r), Status: rw.status, Bytes: rw.bytes, Duration: time.Since(start), Poll: poll.Load()}
		if o.Status == 0 {
			// A handler that wrote nothing answered 200 (net/http's default).
			o.Status = http.StatusOK
		}
		for _, rec := range recorders {
			rec(o)
		}
	})
}

// writer notes the status and counts the body's bytes.
type writer struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *writer) WriteHeader(status int) {
	// Informational answers (103 Early Hints) precede the real status.
	if w.status == 0 && status >= 200 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *writer) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
