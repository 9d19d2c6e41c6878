package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/httpobs"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d", rec.Code)
	}
	return rec.Body.String()
}

func TestSignInOutcome(t *testing.T) {
	for code, want := range map[int]string{
		0: "success", 50126: "credentials", 50034: "credentials", 7000215: "credentials", 50053: "lockout",
		500121: "mfa", 50057: "account", 500213: "access_policy", 500212: "access_policy", 65001: "consent",
		70000: "client", 54005: "session", 12345: "other",
	} {
		if got := SignInOutcome(code); got != want {
			t.Errorf("SignInOutcome(%d) = %q, want %q", code, got, want)
		}
	}
}

func TestRequestLabelsAreRoutePatterns(t *testing.T) {
	m := New()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/users/{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "{}") })
	h := httpobs.Middleware(mux, m.ObserveRequest)
	for i := range 50 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", fmt.Sprintf("/v1.0/users/user%d@contoso.example", i), nil))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", fmt.Sprintf("/random/%d", i), nil))
	}
	out := scrape(t, m)
	for _, want := range []string{
		`gatehouse_http_requests_total{route="GET /v1.0/users/{id}",status="200"} 50`,
		`gatehouse_http_requests_total{route="unmatched",status="404"} 50`,
		`gatehouse_http_request_duration_seconds_count{route="GET /v1.0/users/{id}"} 50`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(out, "contoso") || strings.Contains(out, "/random/") {
		t.Error("a raw path became a label")
	}
}

type fakeLog struct{ got []authn.SignIn }

func (f *fakeLog) RecordSignIn(_ context.Context, s authn.SignIn) { f.got = append(f.got, s) }

// fakeStore answers every transaction with err.
type fakeStore struct {
	store.Store
	err error
}

func (f fakeStore) Update(context.Context, func(store.Tx) error) error { return f.err }
func (f fakeStore) View(context.Context, func(store.Tx) error) error   { return f.err }

func TestCountersAndStoreTimings(t *testing.T) {
	m := New()
	m.TokenIssued(context.Background(), "tenant-a", "refresh_token")
	m.TokenIssued(context.Background(), "tenant-a", "refresh_token")
	m.TokenIssued(context.Background(), "tenant-b", "authorization_code")
	next := &fakeLog{}
	log := m.SignInLog(next)
	log.RecordSignIn(context.Background(), authn.SignIn{Interactive: true})
	log.RecordSignIn(context.Background(), authn.SignIn{Interactive: true, ErrorCode: 50126})
	log.RecordSignIn(context.Background(), authn.SignIn{ErrorCode: 7000215})
	if len(next.got) != 3 {
		t.Errorf("the sign-in log got %d records", len(next.got))
	}
	unavailable := fmt.Errorf("%w: down", store.ErrUnavailable)
	for _, err := range []error{nil, nil, store.ErrNotFound, unavailable} {
		st := m.Store(fakeStore{err: err})
		if got := st.Update(context.Background(), nil); !errors.Is(got, err) {
			t.Errorf("Update error %v, want %v", got, err)
		}
		_ = st.View(context.Background(), nil)
	}
	out := scrape(t, m)
	for _, want := range []string{
		`gatehouse_tokens_issued_total{grant_type="refresh_token",tenant="tenant-a"} 2`,
		`gatehouse_tokens_issued_total{grant_type="authorization_code",tenant="tenant-b"} 1`,
		`gatehouse_sign_ins_total{interactive="true",outcome="success"} 1`,
		`gatehouse_sign_ins_total{interactive="true",outcome="credentials"} 1`,
		`gatehouse_sign_ins_total{interactive="false",outcome="credentials"} 1`,
		`gatehouse_store_transaction_duration_seconds_count{kind="update",result="ok"} 2`,
		`gatehouse_store_transaction_duration_seconds_count{kind="view",result="error"} 1`,
		`gatehouse_store_transaction_duration_seconds_count{kind="update",result="unavailable"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
}

// depthStore answers OutboxDepth with depths, or fails with err.
type depthStore struct {
	store.Store
	depths []store.TopicDepth
	err    error
}

func (s depthStore) View(_ context.Context, fn func(store.Tx) error) error {
	if s.err != nil {
		return s.err
	}
	return fn(depthTx{depths: s.depths})
}

type depthTx struct {
	store.Tx
	depths []store.TopicDepth
}

func (tx depthTx) OutboxDepth(context.Context, time.Time) ([]store.TopicDepth, error) {
	return tx.depths, nil
}

func TestOutboxDepthAtEachScrape(t *testing.T) {
	m := New()
	st := &depthStore{depths: []store.TopicDepth{{Topic: "mail", Due: 2, Leased: 1, Waiting: 3}}}
	m.WatchOutbox(st, time.Now, "mail", "sms")
	out := scrape(t, m)
	for _, want := range []string{
		`gatehouse_outbox_messages{state="due",topic="sms"} 0`,
		`gatehouse_outbox_messages{state="due",topic="mail"} 2`,
		`gatehouse_outbox_messages{state="leased",topic="mail"} 1`,
		`gatehouse_outbox_messages{state="waiting",topic="mail"} 3`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	// The store down: the scrape still answers, with everything else.
	st.err = fmt.Errorf("%w: down", store.ErrUnavailable)
	out = scrape(t, m)
	if strings.Contains(out, "gatehouse_outbox_messages{") || !strings.Contains(out, "go_goroutines") {
		t.Errorf("scrape with the store down:\n%s", out)
	}
}
