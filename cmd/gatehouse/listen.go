package main

import (
	"errors"
	"fmt"
	"net"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/mail"
)

// checkListen refuses to listen beyond this machine without --public-url.
// Issuers, token audiences, redirect and sign-in links are all built from
// the public URL; one guessed from a wildcard or LAN address ("http://0.0.0.0:8080")
// would be wrong for every client, and fixing it later invalidates every
// token and registered redirect.
func checkListen(addr, publicURL string) error {
	if publicURL != "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", addr, err)
	}
	if host != "" && mail.IsLoopbackHost(host) {
		return nil
	}
	shown := host
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		shown = "every interface"
	}
	return fmt.Errorf("--addr %s listens on %s, beyond this machine: also pass --public-url with the URL clients use to reach this deployment, "+
		"e.g. --public-url https://id.example.com (GATEHOUSE_PUBLIC_URL); issuers and links are built from it", addr, shown)
}

// metricsExposure is who may read /metrics, from --metrics-addr and
// --metrics-public.
func metricsExposure(addr string, public bool) (app.MetricsExposure, error) {
	switch {
	case addr != "" && public:
		return 0, errors.New("--metrics-public opens /metrics on --addr; with --metrics-addr it is served only on that listener: choose one")
	case addr != "":
		return app.MetricsSeparate, nil
	case public:
		return app.MetricsPublic, nil
	}
	return app.MetricsLocal, nil
}
