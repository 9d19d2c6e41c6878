// Package httpresp holds what more than one surface does to an HTTP
// response: keeping it in memory (a $batch's requests, the in-process
// transport between tenants of one deployment) and telling a client when
// to come back after a 503.
package httpresp

import (
	"bytes"
	"net/http"
)

// RetryAfter is what a 503 tells clients: a store outage or a draining node
// passes, so come back after this many seconds rather than give up (or
// throw away a good token).
const RetryAfter = "5"

// RetryLater adds Retry-After to every 503 next answers.
func RetryLater(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(RetryLaterWriter(w), r)
	})
}

// RetryLaterWriter is w with Retry-After added to a 503 that lacks one.
func RetryLaterWriter(w http.ResponseWriter) http.ResponseWriter { return retryAfterWriter{w} }

type retryAfterWriter struct{ http.ResponseWriter }

func (w retryAfterWriter) WriteHeader(status int) {
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", RetryAfter)
	}
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w retryAfterWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Recorder keeps a response in memory.
type Recorder struct {
	header http.Header
	status int
	Body   bytes.Buffer
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{header: http.Header{}} }

func (r *Recorder) Header() http.Header { return r.header }

// WriteHeader keeps the first status, as a connection would.
func (r *Recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *Recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.Body.Write(b)
}

// Status is the response's status: 200 when the handler wrote none.
func (r *Recorder) Status() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
