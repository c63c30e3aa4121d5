// Package metrics counts what tokengate does, for Prometheus: requests by route and status,
// logins by outcome, token verifications by outcome, revocations, gateway decisions by outcome,
// introspections by outcome,
// users-file reloads and users loaded. *Metrics satisfies routes.Observer; it uses its own
// registry (no global state).
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds tokengate's collectors and the registry that serves them.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	logins    *prometheus.CounterVec
	verifies  *prometheus.CounterVec
	revokes   *prometheus.CounterVec
	decisions *prometheus.CounterVec
	intros    *prometheus.CounterVec
	reloads   *prometheus.CounterVec
	usersGage prometheus.Gauge

	// The label children used on every request, kept as client_golang's docs advise for hot paths:
	// WithLabelValues hashes the labels and takes the vector's lock each time.
	requestSeries sync.Map // requestKey → requestSeries
	// The children of decisions and verifies for their fixed outcomes, made once: Gateway and
	// Verify run on every /auth and every guarded request.
	decisionSeries map[string]prometheus.Counter
	verifySeries   map[string]prometheus.Counter
}

// VerifyOutcomes are the outcomes of a token verification: valid, or why not.
var VerifyOutcomes = []string{"valid", "invalid", "revoked", "expired", "unavailable"}

// GatewayOutcomes are the outcomes of a forward-auth decision (/auth): the request is allowed with
// an identity, allowed on a public rule, or refused with the error code of the answer.
var GatewayOutcomes = []string{
	"allowed", "public", "missing_token", "invalid_token", "insufficient_scope", "access_denied",
	"invalid_request", "unavailable",
}

type requestKey struct {
	route, method string
	status        int
}

type requestSeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// New registers tokengate's collectors, plus the Go runtime and process collectors, on a new
// registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokengate_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tokengate_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and status.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "status"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokengate_logins_total", Help: "Login attempts by outcome.",
		}, []string{"outcome"}),
		verifies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokengate_token_verifications_total", Help: "Access-token verifications by outcome.",
		}, []string{"outcome"}),
		revokes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokengate_revocations_total", Help: "Revocations by kind (access, refresh_family, reuse).",
		}, []string{"kind"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokengate_gateway_decisions_total", Help: "Forward-auth (/auth) decisions by outcome.",
		}, []string{"outcome"}),
		intros: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokengate_introspections_total", Help: "Token introspection requests (POST /introspect) by outcome.",
		}, []string{"outcome"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokengate_store_reloads_total", Help: "Users-file loads by result (ok, error).",
		}, []string{"result"}),
		usersGage: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tokengate_users_loaded", Help: "Users in the credential store now in force.",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.logins, m.verifies, m.revokes, m.decisions, m.intros, m.reloads, m.usersGage,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.decisionSeries = children(m.decisions, GatewayOutcomes)
	m.verifySeries = children(m.verifies, VerifyOutcomes)
	return m
}

// children makes the child of vec for each of a fixed list of label values.
func children(vec *prometheus.CounterVec, values []string) map[string]prometheus.Counter {
	m := make(map[string]prometheus.Counter, len(values))
	for _, v := range values {
		m[v] = vec.WithLabelValues(v)
	}
	return m
}

// inc counts one event with label value v on its child in series, or on vec's "other" child when v
// is not one of the fixed values, so that the label space stays fixed.
func inc(series map[string]prometheus.Counter, vec *prometheus.CounterVec, v string) {
	c, ok := series[v]
	if !ok {
		c = vec.WithLabelValues("other")
	}
	c.Inc()
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Request counts one HTTP request. route is the matched pattern ("" is reported as "unmatched", so
// scanners cannot blow up the label space with random paths); for the same reason a method other
// than the nine of RFC 9110 and RFC 5789 is reported as "other".
func (m *Metrics) Request(route, method string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	k := requestKey{route, knownMethod(method), status}
	v, ok := m.requestSeries.Load(k)
	if !ok {
		code := strconv.Itoa(status)
		v, _ = m.requestSeries.LoadOrStore(k, requestSeries{
			count:   m.requests.WithLabelValues(k.route, k.method, code),
			latency: m.latency.WithLabelValues(k.route, code),
		})
	}
	s := v.(requestSeries)
	s.count.Inc()
	s.latency.Observe(d.Seconds())
}

func knownMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "other"
}

// Login counts one login attempt by outcome.
func (m *Metrics) Login(outcome string) { m.logins.WithLabelValues(outcome).Inc() }

// Verify counts one token verification by outcome (one of VerifyOutcomes; any other as "other").
func (m *Metrics) Verify(outcome string) { inc(m.verifySeries, m.verifies, outcome) }

// Revoke counts one revocation by kind.
func (m *Metrics) Revoke(kind string) { m.revokes.WithLabelValues(kind).Inc() }

// Gateway counts one forward-auth decision by outcome (one of GatewayOutcomes; any other is
// counted as "other", so the label space stays fixed).
func (m *Metrics) Gateway(outcome string) { inc(m.decisionSeries, m.decisions, outcome) }

// Introspect counts one introspection request by outcome.
func (m *Metrics) Introspect(outcome string) { m.intros.WithLabelValues(outcome).Inc() }

// Reload records a users-file load: its result and, when it succeeded, the number of users.
func (m *Metrics) Reload(ok bool, users int) {
	if !ok {
		m.reloads.WithLabelValues("error").Inc()
		return
	}
	m.reloads.WithLabelValues("ok").Inc()
	m.usersGage.Set(float64(users))
}
