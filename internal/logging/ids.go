package logging

import (
	"context"
	"log/slog"

	"github.com/gatehouse-id/gatehouse/internal/reqid"
)

// WithRequestIDs returns a handler that adds the request_id (and
// client_request_id) of the request a record was logged in, when it was
// logged with that request's context and does not name them itself: any
// line a request causes, the OpenID library's included, can be found from
// the id its caller was given.
func WithRequestIDs(h slog.Handler) slog.Handler { return idHandler{h} }

type idHandler struct{ h slog.Handler }

func (d idHandler) Enabled(ctx context.Context, l slog.Level) bool { return d.h.Enabled(ctx, l) }

func (d idHandler) Handle(ctx context.Context, r slog.Record) error {
	ids := reqid.From(ctx)
	if ids.Request == "" {
		return d.h.Handle(ctx, r)
	}
	named := false
	r.Attrs(func(a slog.Attr) bool {
		named = a.Key == "request_id"
		return !named
	})
	if !named {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", ids.Request))
		if ids.Client != "" {
			r.AddAttrs(slog.String("client_request_id", ids.Client))
		}
	}
	return d.h.Handle(ctx, r)
}

func (d idHandler) WithAttrs(as []slog.Attr) slog.Handler { return idHandler{d.h.WithAttrs(as)} }
func (d idHandler) WithGroup(name string) slog.Handler    { return idHandler{d.h.WithGroup(name)} }
