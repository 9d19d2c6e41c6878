package federation

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/httpresp"
)

// LocalTransport sends requests for the deployment's own origin (the
// scheme and host of publicURL) to h in-process and every other request to
// next (http.DefaultTransport when nil). A node so reaches its own tenants'
// issuers (discovery, keys, token endpoint) whatever the network between
// it and its public address: behind a load balancer that does not hairpin,
// or before DNS names it.
func LocalTransport(publicURL string, h http.Handler, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return next
	}
	return localTransport{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Host), h: h, next: next}
}

type localTransport struct {
	scheme, host string
	h            http.Handler
	next         http.RoundTripper
}

func (t localTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.ToLower(req.URL.Scheme) != t.scheme || strings.ToLower(req.URL.Host) != t.host {
		return t.next.RoundTrip(req)
	}
	in := req.Clone(req.Context())
	in.RequestURI = req.URL.RequestURI()
	in.Host = req.URL.Host
	in.RemoteAddr = "127.0.0.1:0"
	if in.Body == nil {
		in.Body = http.NoBody
	}
	if t.scheme == "https" {
		// What the handler sees of a request that came over TLS.
		in.TLS = &tls.ConnectionState{HandshakeComplete: true, ServerName: req.URL.Hostname()}
	}
	w := httpresp.NewRecorder()
	t.h.ServeHTTP(w, in)
	if req.Body != nil {
		_ = req.Body.Close()
	}
	status := w.Status()
	return &http.Response{
		Status: strconv.Itoa(status) + " " + http.StatusText(status), StatusCode: status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.Header(), Body: io.NopCloser(bytes.NewReader(w.Body.Bytes())), ContentLength: int64(w.Body.Len()), Request: req,
	}, nil
}
