package logging

import (
	"log/slog"

	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/httpobs"
	"github.com/gatehouse-id/gatehouse/internal/reqid"
)

// quietRoutes are polled by machines every few seconds: load balancers'
// and orchestrators' probes and Prometheus' scrapes.
var quietRoutes = map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true}

// AccessLevel is the level a request's access line is written at: debug for
// probes, scrapes and pending device-code polls, which would otherwise bury
// the lines people read; info for everything else.
func AccessLevel(o httpobs.Observation) slog.Level {
	if o.Poll || quietRoutes[o.Route] {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// AccessLog returns a recorder writing one line per request to l. It names
// the route pattern, never the path or query (which carry codes, tokens and
// user codes) and no header but the client's request id; reqid's ids tie the
// line to error bodies, pages and other log lines of the request.
func AccessLog(l *slog.Logger) func(httpobs.Observation) {
	return func(o httpobs.Observation) {
		r := o.Request
		level := AccessLevel(o)
		if !l.Enabled(r.Context(), level) {
			return
		}
		ids := reqid.From(r.Context())
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("route", o.Route),
			slog.Int("status", o.Status),
			slog.Int64("bytes", o.Bytes),
			slog.Duration("duration", o.Duration),
			slog.String("request_id", ids.Request),
			slog.String("remote", caller.Address(r)),
		}
		if ids.Client != "" {
			attrs = append(attrs, slog.String("client_request_id", ids.Client))
		}
		l.LogAttrs(r.Context(), level, "request", attrs...)
	}
}
