// Package logging owns a node's one log stream: the slog handler chosen by
// --log-format and --log-level, the OpenID library's lines routed into it a
// level lower, repeated warnings and errors rate-limited, every line a
// request causes marked with its request id, and the access log of every
// request.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Options choose how a node logs.
type Options struct {
	Format string // "text" (the default) or "json"
	Level  string // "debug", "info" (the default), "warn" or "error"
	// Repeats bounds identical warnings and errors (see RateLimit); zero:
	// DefaultRepeats per minute.
	Repeats int
	// Now is the rate limiter's clock; nil: time.Now.
	Now func() time.Time
}

// DefaultRepeats is how many identical warnings or errors a minute are
// written before the rest are counted instead.
const DefaultRepeats = 10

// New returns the logger a node writes to w with.
func New(w io.Writer, o Options) (*slog.Logger, error) {
	level, err := ParseLevel(o.Level)
	if err != nil {
		return nil, err
	}
	ho := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch strings.ToLower(o.Format) {
	case "", "text":
		h = slog.NewTextHandler(w, ho)
	case "json":
		h = slog.NewJSONHandler(w, ho)
	default:
		return nil, fmt.Errorf("log format %q: use text or json", o.Format)
	}
	if o.Repeats <= 0 {
		o.Repeats = DefaultRepeats
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return slog.New(WithRequestIDs(Demote(RateLimit(h, o.Repeats, time.Minute, o.Now), LibraryPrefixes...))), nil
}

// ParseLevel reads a --log-level value; "" is info.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: use debug, info, warn or error", s)
}
