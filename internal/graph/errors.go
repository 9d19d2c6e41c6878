package graph

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/reqid"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

type errorDetail struct {
	Code   string `json:"code"`
	Target string `json:"target"`
}

type errorBody struct {
	Error struct {
		Code       string        `json:"code"`
		Message    string        `json:"message"`
		Details    []errorDetail `json:"details,omitempty"`
		InnerError struct {
			Date            string `json:"date"`
			RequestID       string `json:"request-id"`
			ClientRequestID string `json:"client-request-id,omitempty"`
		} `json:"innerError"`
	} `json:"error"`
}

// writeError answers in Graph's error shape.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, message string, details ...errorDetail) {
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.Details = code, message, details
	b.Error.InnerError.Date = time.Now().UTC().Format("2006-01-02T15:04:05")
	// The node stamps request-id on every response (and $batch on each of
	// its parts); the caller's id is echoed only when reqid finds it clean.
	b.Error.InnerError.RequestID = w.Header().Get(reqid.RequestHeader)
	b.Error.InnerError.ClientRequestID = reqid.Clean(r.Header.Get(reqid.ClientHeader))
	writeJSON(w, status, b)
}

// fail reports err: user-safe errors with their status and code, anything else
// as a logged 500 that reveals nothing.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errBodyTooLarge) {
		writeError(w, r, http.StatusRequestEntityTooLarge, "Request_BadRequest", "The request body is too large.")
		return
	}
	if errors.Is(err, errEncoding) {
		writeError(w, r, http.StatusUnsupportedMediaType, "Request_BadRequest", "Request bodies must be JSON, sent plain or with Content-Encoding gzip.")
		return
	}
	if errors.Is(err, store.ErrUnavailable) {
		a.unavailable(w, r, err)
		return
	}
	ue, ok := usererr.As(err)
	if !ok {
		a.log.ErrorContext(r.Context(), "graph request failed", "method", r.Method, "path", r.URL.Path, "request_id", w.Header().Get("request-id"), "err", err)
		writeError(w, r, http.StatusInternalServerError, "generalException", "An internal server error occurred.")
		return
	}
	if ue.Kind == usererr.TooMany {
		// Whole seconds, rounded up: a client that waits exactly that long is not refused again.
		w.Header().Set("Retry-After", strconv.Itoa(int((ue.RetryAfter+time.Second-1)/time.Second)))
	}
	status, code := statusOf(ue.Kind)
	if ue.Code != "" {
		code = ue.Code
	}
	var details []errorDetail
	if ue.Target != "" {
		details = append(details, errorDetail{Code: ue.Detail, Target: ue.Target})
	}
	writeError(w, r, status, code, ue.Message, details...)
}

// unavailable answers a store outage: the server's fault and passing, so
// 503 (the node adds Retry-After) and never a status that blames the
// client or its token.
func (a *API) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	a.log.WarnContext(r.Context(), "graph: store unavailable", "method", r.Method, "path", r.URL.Path, "request_id", w.Header().Get("request-id"), "err", err)
	writeError(w, r, http.StatusServiceUnavailable, "serviceNotAvailable", "The service is temporarily unavailable. Retry the request after the interval in the Retry-After header.")
}

func statusOf(k usererr.Kind) (int, string) {
	switch k {
	case usererr.NotFound:
		return http.StatusNotFound, "Request_ResourceNotFound"
	case usererr.Conflict:
		return http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue"
	case usererr.Precondition:
		return http.StatusPreconditionFailed, "Request_PreconditionFailed"
	case usererr.Forbidden:
		return http.StatusForbidden, "Authorization_RequestDenied"
	case usererr.TooMany:
		return http.StatusTooManyRequests, "TooManyRequests"
	}
	return http.StatusBadRequest, "Request_BadRequest"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("graph: response write failed", "err", err)
	}
}
