package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/httpresp"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

type verifierFunc func(ctx context.Context, raw string) (Principal, error)

func (f verifierFunc) VerifyAccessToken(ctx context.Context, raw string) (Principal, error) {
	return f(ctx, raw)
}

// TestStoreOutageIsNotTheCallersFault: a token that could not be checked
// because the store is unavailable is 503, not 401 (which makes clients
// discard a good token), and a request failing at the store is 503, not 500.
func TestStoreOutageIsNotTheCallersFault(t *testing.T) {
	outage := fmt.Errorf("reading signing keys: %w", store.ErrUnavailable)
	cases := []struct {
		name       string
		verify     error
		handler    error
		wantStatus int
		wantCode   string
	}{
		{"token check hits an outage", outage, nil, http.StatusServiceUnavailable, "serviceNotAvailable"},
		{"token refused", errors.New("signature does not verify"), nil, http.StatusUnauthorized, "InvalidAuthenticationToken"},
		{"request hits an outage", nil, outage, http.StatusServiceUnavailable, "serviceNotAvailable"},
		{"request fails otherwise", nil, errors.New("bug"), http.StatusInternalServerError, "generalException"},
	}
	for _, c := range cases {
		a := New(nil, verifierFunc(func(context.Context, string) (Principal, error) { return Principal{AppOnly: true}, c.verify }),
			Config{Logger: slog.New(slog.DiscardHandler)})
		h := a.authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.fail(w, r, c.handler) }))
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/v1.0/users", nil)
		r.Header.Set("Authorization", "Bearer x")
		h.ServeHTTP(w, r)
		var body errorBody
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != c.wantStatus || body.Error.Code != c.wantCode {
			t.Errorf("%s: %d %s, want %d %s", c.name, w.Code, body.Error.Code, c.wantStatus, c.wantCode)
		}
	}
}

// TestBatchedOutageSaysWhenToRetry: a batched request that meets a store
// outage answers 503 with Retry-After inside the batch, as it would alone
// (the node adds it only to the batch's own response).
func TestBatchedOutageSaysWhenToRetry(t *testing.T) {
	a := New(nil, nil, Config{Logger: slog.New(slog.DiscardHandler)})
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, fmt.Errorf("listing users: %w", store.ErrUnavailable))
	})
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/v1.0/$batch", strings.NewReader(`{"requests":[{"id":"1","method":"GET","url":"/users"}]}`))
	r.Header.Set("Content-Type", "application/json")
	a.batch(api).ServeHTTP(w, r)
	var out struct {
		Responses []batchResponse `json:"responses"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != http.StatusOK || len(out.Responses) != 1 {
		t.Fatalf("batch: %d %s (%v)", w.Code, w.Body, err)
	}
	if got := out.Responses[0]; got.Status != http.StatusServiceUnavailable || got.Headers["Retry-After"] != httpresp.RetryAfter {
		t.Errorf("batched request: %d, headers %v; want 503 with Retry-After %s", got.Status, got.Headers, httpresp.RetryAfter)
	}
}
