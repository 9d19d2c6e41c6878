// Package metrics owns a node's Prometheus metrics: requests by route
// pattern and status with their durations, tokens issued by grant type and
// tenant, sign-in outcomes by class of error, the latency of store
// transactions, and the depth of the outbox. Labels come from bounded sets only (route patterns, status
// codes, grant types, tenants, classes), never from what a caller sends.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-id/gatehouse/internal/authn"
	"github.com/gatehouse-id/gatehouse/internal/httpobs"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Metrics are one node's collectors and the registry that serves them.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	tokens   *prometheus.CounterVec
	signIns  *prometheus.CounterVec
	store    *prometheus.HistogramVec
}

// New registers a node's metrics, with the Go runtime's and the process's.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_tokens_issued_total",
			Help: "Token responses issued, by grant type and tenant id.",
		}, []string{"grant_type", "tenant"}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_sign_ins_total",
			Help: "Sign-ins recorded in the sign-in log, by outcome class (success or the kind of failure) and whether a person signed in at the pages (interactive) or a client at the token endpoint.",
		}, []string{"outcome", "interactive"}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_store_transaction_duration_seconds",
			Help:    "Time a store transaction took, by kind (update or view) and result (ok, error: the transaction's own answer, or unavailable: the database failed).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"kind", "result"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.tokens, m.signIns, m.store,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus' exposition formats. A
// collector that fails (the outbox's, when the store is down) is left out
// of the answer rather than failing it: the other metrics say why.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// WatchOutbox reports, at each scrape, the messages waiting in st's
// outbox, read at now(): every topic found there, and the topics named
// here even when none of theirs wait (a 0, so that alerts see the series).
func (m *Metrics) WatchOutbox(st store.Store, now func() time.Time, topics ...string) {
	m.reg.MustRegister(outboxDepth{st: st, now: now, topics: topics, desc: prometheus.NewDesc("gatehouse_outbox_messages",
		"Messages waiting in the outbox, by topic and state: due (deliverable now), leased (being delivered) or waiting (a retry's backoff).",
		[]string{"topic", "state"}, nil)})
}

// outboxScrapeTimeout bounds the store read a scrape makes.
const outboxScrapeTimeout = 2 * time.Second

type outboxDepth struct {
	st     store.Store
	now    func() time.Time
	topics []string
	desc   *prometheus.Desc
}

func (c outboxDepth) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c outboxDepth) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), outboxScrapeTimeout)
	defer cancel()
	var depths []store.TopicDepth
	err := c.st.View(ctx, func(tx store.Tx) (err error) {
		depths, err = tx.OutboxDepth(ctx, c.now())
		return err
	})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, topic := range c.topics {
		if !slices.ContainsFunc(depths, func(d store.TopicDepth) bool { return d.Topic == topic }) {
			depths = append(depths, store.TopicDepth{Topic: topic})
		}
	}
	for _, d := range depths {
		for state, n := range map[string]int64{"due": d.Due, "leased": d.Leased, "waiting": d.Waiting} {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), d.Topic, state)
		}
	}
}

// ObserveRequest counts a served request (an httpobs recorder).
func (m *Metrics) ObserveRequest(o httpobs.Observation) {
	m.requests.WithLabelValues(o.Route, strconv.Itoa(o.Status)).Inc()
	m.duration.WithLabelValues(o.Route).Observe(o.Duration.Seconds())
}

// TokenIssued counts a token response (the OpenID provider's TokenIssued).
func (m *Metrics) TokenIssued(_ context.Context, tenantID, grantType string) {
	m.tokens.WithLabelValues(grantType, tenantID).Inc()
}

// SignInLog returns next, counting each sign-in it records.
func (m *Metrics) SignInLog(next authn.SignInLog) authn.SignInLog {
	return signInCounter{m: m, next: next}
}

type signInCounter struct {
	m    *Metrics
	next authn.SignInLog
}

func (c signInCounter) RecordSignIn(ctx context.Context, s authn.SignIn) {
	c.m.signIns.WithLabelValues(SignInOutcome(s.ErrorCode), strconv.FormatBool(s.Interactive)).Inc()
	c.next.RecordSignIn(ctx, s)
}

// Store returns st with the duration of every transaction observed.
func (m *Metrics) Store(st store.Store) store.Store {
	return timedStore{Store: st, m: m}
}

type timedStore struct {
	store.Store
	m *Metrics
}

func (s timedStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	start := time.Now()
	err := s.Store.Update(ctx, fn)
	s.m.store.WithLabelValues("update", resultOf(err)).Observe(time.Since(start).Seconds())
	return err
}

func (s timedStore) View(ctx context.Context, fn func(store.Tx) error) error {
	start := time.Now()
	err := s.Store.View(ctx, fn)
	s.m.store.WithLabelValues("view", resultOf(err)).Observe(time.Since(start).Seconds())
	return err
}

func resultOf(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, store.ErrUnavailable):
		return "unavailable"
	}
	return "error"
}
