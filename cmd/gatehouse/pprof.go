package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// startPprof serves Go's profiler on addr, which must be a loopback
// address: profiles show secrets in memory and the profiler can be made to
// burn CPU, so it is never reachable from another machine. close stops it.
func startPprof(addr string) (close func(), bound string, err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", fmt.Errorf("--pprof-addr: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, "", fmt.Errorf("--pprof-addr %s: the profiler listens on a loopback address only (127.0.0.1:6060, [::1]:6060)", addr)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	closeSide, bound, err := startSide(addr, mux)
	if err != nil {
		return nil, "", fmt.Errorf("--pprof-addr: %w", err)
	}
	return closeSide, bound, nil
}

// startSide serves h on a listener of its own beside the node's (the
// profiler, the metrics). close stops it.
func startSide(addr string, h http.Handler) (close func(), bound string, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	// Serve ends with ErrServerClosed when close shuts it down.
	go func() { _ = srv.Serve(ln) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, ln.Addr().String(), nil
}
