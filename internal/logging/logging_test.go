package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpobs"
	"github.com/gatehouse-id/gatehouse/internal/reqid"
)

func TestParseLevel(t *testing.T) {
	for _, c := range []struct {
		in   string
		want slog.Level
		ok   bool
	}{
		{"", slog.LevelInfo, true}, {"info", slog.LevelInfo, true}, {"DEBUG", slog.LevelDebug, true},
		{"warn", slog.LevelWarn, true}, {"warning", slog.LevelWarn, true}, {"error", slog.LevelError, true},
		{"verbose", 0, false}, {"4", 0, false},
	} {
		got, err := ParseLevel(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParseLevel(%q) = %v, %v", c.in, got, err)
		}
	}
}

func TestNewFormats(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, Options{Format: "json", Level: "warn"})
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.Warn("shown", "k", "v")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["msg"] != "shown" || rec["k"] != "v" || strings.Contains(buf.String(), "hidden") {
		t.Fatalf("json at warn: %v %s", err, buf.String())
	}
	buf.Reset()
	l, _ = New(&buf, Options{})
	l.Info("plain")
	if !strings.HasPrefix(buf.String(), "time=") || !strings.Contains(buf.String(), "msg=plain") {
		t.Fatalf("text by default: %s", buf.String())
	}
	if _, err := New(&buf, Options{Format: "xml"}); err == nil || !strings.Contains(err.Error(), "text or json") {
		t.Errorf("unknown format: %v", err)
	}
	if _, err := New(&buf, Options{Level: "loud"}); err == nil {
		t.Error("unknown level accepted")
	}
}

// clock is a settable time for the rate limiter.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestRateLimitLetsTheFirstNThroughThenSummarises(t *testing.T) {
	var buf bytes.Buffer
	c := &clock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := slog.New(RateLimit(slog.NewJSONHandler(&buf, nil), 3, time.Minute, c.now))
	lines := func() []map[string]any {
		var out []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if line == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
		buf.Reset()
		return out
	}
	for range 10 {
		l.Error("store failed", "err", "connection refused", "request_id", "varies")
		l.Error("store failed", "err", "timeout")
		l.Info("request", "route", "GET /healthz")
	}
	l.With("node", "a").Error("store failed", "err", "connection refused")
	got := lines()
	count := map[string]int{}
	for _, m := range got {
		e, _ := m["err"].(string)
		count[m["msg"].(string)+"|"+e]++
	}
	if count["store failed|connection refused"] != 3 || count["store failed|timeout"] != 3 || count["request|"] != 10 || len(got) != 16 {
		t.Fatalf("want 3 of each error and all 10 info lines, got %d lines: %v", len(got), count)
	}

	// Within the minute nothing more; after it, one summary per error, then
	// the error again.
	c.t = c.t.Add(30 * time.Second)
	l.Error("store failed", "err", "timeout")
	if got := lines(); len(got) != 0 {
		t.Fatalf("still limited: %v", got)
	}
	c.t = c.t.Add(31 * time.Second)
	l.Error("store failed", "err", "connection refused")
	got = lines()
	summaries := map[string]float64{}
	for _, m := range got {
		if m["msg"] == "suppressed similar lines" {
			summaries[m["err"].(string)] = m["suppressed"].(float64)
			if m["message"] != "store failed" || m["level"] != "ERROR" {
				t.Errorf("summary %v", m)
			}
		}
	}
	if summaries["connection refused"] != 8 || summaries["timeout"] != 8 || len(got) != 3 {
		t.Fatalf("want two summaries (8 suppressed each) and the new line: %v", got)
	}
}

// libraryLine logs as a library would, from a function the demoter is told
// is the library's.
func libraryLine(l *slog.Logger, level slog.Level, msg string) {
	l.Log(context.Background(), level, msg)
}

func TestDemoteLowersALibrarysInfoAndWarnings(t *testing.T) {
	var buf bytes.Buffer
	for _, c := range []struct {
		handlerLevel slog.Level
		level        slog.Level
		library      bool
		want         string // the level written, "" for none
	}{
		{slog.LevelInfo, slog.LevelInfo, true, ""},
		{slog.LevelInfo, slog.LevelWarn, true, ""},
		{slog.LevelInfo, slog.LevelError, true, "ERROR"},
		{slog.LevelDebug, slog.LevelInfo, true, "DEBUG"},
		{slog.LevelDebug, slog.LevelWarn, true, "DEBUG"},
		{slog.LevelInfo, slog.LevelInfo, false, "INFO"},
		{slog.LevelInfo, slog.LevelWarn, false, "WARN"},
		{slog.LevelWarn, slog.LevelInfo, false, ""},
	} {
		buf.Reset()
		l := slog.New(Demote(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: c.handlerLevel}), "github.com/gatehouse-id/gatehouse/internal/logging.libraryLine"))
		if c.library {
			libraryLine(l, c.level, "registered route")
		} else {
			l.Log(context.Background(), c.level, "ours")
		}
		var m map[string]any
		_ = json.Unmarshal(buf.Bytes(), &m)
		if got, _ := m["level"].(string); got != c.want {
			t.Errorf("handler at %v, %v from library=%v: written as %q, want %q", c.handlerLevel, c.level, c.library, got, c.want)
		}
	}
}

func TestAccessLevel(t *testing.T) {
	for _, c := range []struct {
		o    httpobs.Observation
		want slog.Level
	}{
		{httpobs.Observation{Route: "GET /healthz", Status: 200}, slog.LevelDebug},
		{httpobs.Observation{Route: "GET /readyz", Status: 503}, slog.LevelDebug},
		{httpobs.Observation{Route: "GET /metrics", Status: 200}, slog.LevelDebug},
		{httpobs.Observation{Route: "POST /{tenant}/oauth2/v2.0/token", Status: 400, Poll: true}, slog.LevelDebug},
		{httpobs.Observation{Route: "POST /{tenant}/oauth2/v2.0/token", Status: 400}, slog.LevelInfo},
		{httpobs.Observation{Route: "GET /v1.0/users", Status: 200}, slog.LevelInfo},
		{httpobs.Observation{Route: httpobs.Unmatched, Status: 404}, slog.LevelInfo},
	} {
		if got := AccessLevel(c.o); got != c.want {
			t.Errorf("AccessLevel(%+v) = %v, want %v", c.o, got, c.want)
		}
	}
}

func TestAccessLogOmitsQueriesAndCredentials(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/login", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("page")) })
	h := reqid.Middleware(httpobs.Middleware(mux, AccessLog(l)))
	req := httptest.NewRequest("GET", "/contoso.example/login?code=SECRET-CODE&access_token=SECRET-TOKEN", nil)
	req.Header.Set("Authorization", "Bearer SECRET-BEARER")
	req.Header.Set("Cookie", "session=SECRET-COOKIE")
	req.Header.Set(reqid.ClientHeader, "client-7")
	req.RemoteAddr = "192.0.2.7:5555"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	line := buf.String()
	for _, secret := range []string{"SECRET", "Bearer", "code=", "contoso.example"} {
		if strings.Contains(line, secret) {
			t.Errorf("access log holds %q: %s", secret, line)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"msg": "request", "method": "GET", "route": "GET /{tenant}/login", "status": float64(200), "bytes": float64(4),
		"request_id": rec.Header().Get(reqid.RequestHeader), "client_request_id": "client-7", "remote": "192.0.2.7"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if _, ok := m["duration"]; !ok {
		t.Error("no duration")
	}

	buf.Reset()
	mux.HandleFunc("GET /healthz", func(http.ResponseWriter, *http.Request) {})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))
	if buf.Len() != 0 {
		t.Errorf("a probe logged at info: %s", buf.String())
	}
}

func TestLinesCarryTheirRequestsIDs(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, Options{Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := reqid.With(context.Background(), reqid.IDs{Request: "r-1", Client: "c-1"})
	l.ErrorContext(ctx, "store failed", "err", "x")
	l.InfoContext(ctx, "named", "request_id", "own")
	l.Info("no request")
	var got []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if len(got) != 3 || got[0]["request_id"] != "r-1" || got[0]["client_request_id"] != "c-1" ||
		got[1]["request_id"] != "own" || got[1]["client_request_id"] != nil || got[2]["request_id"] != nil {
		t.Errorf("lines: %v", got)
	}
}

// BenchmarkAccessLine is the cost the access log adds to a request: one
// JSON line through the node's whole handler chain.
func BenchmarkAccessLine(b *testing.B) {
	l, err := New(io.Discard, Options{Format: "json"})
	if err != nil {
		b.Fatal(err)
	}
	rec := AccessLog(l)
	req := httptest.NewRequest("POST", "/contoso.example/oauth2/v2.0/token", nil)
	req = req.WithContext(reqid.With(req.Context(), reqid.IDs{Request: "6f1c0c5e-4b8a-4a59-9d3e-0f2b7f3f4a11"}))
	o := httpobs.Observation{Request: req, Route: "POST /{tenant}/oauth2/v2.0/token", Status: 200, Bytes: 1500, Duration: time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		rec(o)
	}
}
