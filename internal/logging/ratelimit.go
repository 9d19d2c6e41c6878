package logging

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// maxKeys bounds the lines a rate limiter remembers; past it, lines it has
// not seen this window go through unlimited rather than grow the map.
const maxKeys = 1024

// RateLimit returns a handler that writes at most n warnings or errors with
// the same level, message and error ("err" or "error" attribute) per
// window, counts the rest, and writes one "suppressed similar lines" record
// (naming the message and how many) with the first record after the window
// ends. Lower levels all pass: the access log is never thinned.
func RateLimit(h slog.Handler, n int, window time.Duration, now func() time.Time) slog.Handler {
	return &limiter{h: h, s: &limitState{n: n, window: window, now: now, seen: map[limitKey]*limitCount{}}}
}

type limiter struct {
	h slog.Handler
	s *limitState // shared by the handlers WithAttrs and WithGroup derive
}

type limitKey struct {
	level    slog.Level
	msg, err string
}

type limitCount struct {
	start      time.Time
	written    int
	suppressed int
	// h is the handler that suppressed the lines, which writes the summary.
	h slog.Handler
}

type limitState struct {
	n      int
	window time.Duration
	now    func() time.Time
	mu     sync.Mutex
	seen   map[limitKey]*limitCount
	// sweep is when the ended windows are next looked for (Unix
	// nanoseconds), read without the lock so that lines that are never
	// limited (the access log) do not queue for it in between.
	sweep atomic.Int64
}

// summary is a record due for lines suppressed in an ended window.
type summary struct {
	h   slog.Handler
	rec slog.Record
}

func (l *limiter) Enabled(ctx context.Context, level slog.Level) bool { return l.h.Enabled(ctx, level) }

func (l *limiter) Handle(ctx context.Context, r slog.Record) error {
	write, due := l.s.admit(l.h, r)
	for _, d := range due {
		_ = d.h.Handle(ctx, d.rec)
	}
	if !write {
		return nil
	}
	return l.h.Handle(ctx, r)
}

// admit decides whether r is written and returns the summaries of windows
// that have ended.
func (s *limitState) admit(h slog.Handler, r slog.Record) (bool, []summary) {
	now := s.now()
	if r.Level < slog.LevelWarn && now.UnixNano() < s.sweep.Load() {
		return true, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []summary
	if now.UnixNano() >= s.sweep.Load() {
		for k, c := range s.seen {
			if now.Sub(c.start) >= s.window {
				if c.suppressed > 0 {
					due = append(due, summary{c.h, suppressedRecord(now, k, c.suppressed)})
				}
				delete(s.seen, k)
			}
		}
		s.sweep.Store(now.Add(s.window / 4).UnixNano())
	}
	if r.Level < slog.LevelWarn {
		return true, due
	}
	k := limitKey{level: r.Level, msg: r.Message, err: errorOf(r)}
	c, ok := s.seen[k]
	switch {
	case !ok && len(s.seen) >= maxKeys:
		return true, due
	case !ok:
		c = &limitCount{start: now}
		s.seen[k] = c
	case now.Sub(c.start) >= s.window:
		if c.suppressed > 0 {
			due = append(due, summary{c.h, suppressedRecord(now, k, c.suppressed)})
		}
		*c = limitCount{start: now}
	}
	if c.written < s.n {
		c.written++
		return true, due
	}
	c.suppressed++
	c.h = h
	return false, due
}

func suppressedRecord(now time.Time, k limitKey, n int) slog.Record {
	r := slog.NewRecord(now, k.level, "suppressed similar lines", 0)
	r.AddAttrs(slog.String("message", k.msg), slog.Int("suppressed", n))
	if k.err != "" {
		r.AddAttrs(slog.String("err", k.err))
	}
	return r
}

// errorOf is the record's error attribute, which tells one failure from
// another under the same message.
func errorOf(r slog.Record) string {
	var e string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" || a.Key == "error" {
			e = a.Value.String()
			return false
		}
		return true
	})
	return e
}

func (l *limiter) WithAttrs(as []slog.Attr) slog.Handler {
	return &limiter{h: l.h.WithAttrs(as), s: l.s}
}

func (l *limiter) WithGroup(name string) slog.Handler {
	return &limiter{h: l.h.WithGroup(name), s: l.s}
}
