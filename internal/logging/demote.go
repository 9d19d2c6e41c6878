package logging

import (
	"context"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// LibraryPrefixes name the packages whose lines a node logs a level lower:
// zitadel/oidc (v3.49.2) logs through slog's default logger (its logger
// options are deprecated and do nothing) every route it registers and every client error it
// answers, at info and warn. Gatehouse reports those outcomes itself (the
// access log, the sign-in log), so the library's copies are detail.
var LibraryPrefixes = []string{"github.com/zitadel/oidc/"}

// Demote returns a handler that writes the info and warning records logged
// from code in the packages of prefixes as debug records, and everything
// else (the libraries' errors included: a server error stays one) as it is.
func Demote(h slog.Handler, prefixes ...string) slog.Handler {
	return &demoter{h: h, prefixes: prefixes, library: &sync.Map{}}
}

type demoter struct {
	h        slog.Handler
	prefixes []string
	// library caches fromLibrary by call site: a node logs from a few
	// hundred, and resolving one costs more than writing an access line.
	library *sync.Map // uintptr → bool
}

// Enabled cannot know the caller yet; a demoted record is only ever less
// likely to be written, which Handle checks.
func (d *demoter) Enabled(ctx context.Context, l slog.Level) bool { return d.h.Enabled(ctx, l) }

func (d *demoter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelError && d.fromLibrary(r.PC) {
		r.Level = slog.LevelDebug
	}
	if !d.h.Enabled(ctx, r.Level) {
		return nil
	}
	return d.h.Handle(ctx, r)
}

func (d *demoter) fromLibrary(pc uintptr) bool {
	if pc == 0 {
		return false
	}
	if v, ok := d.library.Load(pc); ok {
		return v.(bool)
	}
	f, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	lib := slices.ContainsFunc(d.prefixes, func(p string) bool { return strings.HasPrefix(f.Function, p) })
	d.library.Store(pc, lib)
	return lib
}

func (d *demoter) WithAttrs(as []slog.Attr) slog.Handler {
	return &demoter{h: d.h.WithAttrs(as), prefixes: d.prefixes, library: d.library}
}

func (d *demoter) WithGroup(name string) slog.Handler {
	return &demoter{h: d.h.WithGroup(name), prefixes: d.prefixes, library: d.library}
}
