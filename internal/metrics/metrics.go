// Package metrics exposes switchboard's state to Prometheus. The packages
// it watches know nothing of Prometheus: the node passes their plain
// counters as functions read at scrape time, and the call, queue and
// recording counts come from the core's event stream, which one owned
// goroutine follows. Everything lives in the Metrics value's own registry
// (no global registry), so two nodes in one process never share counts.
package metrics

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-pbx/switchboard/internal/eventbus"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Engine is what the SIP engine reports.
type Engine struct {
	ActiveCalls, Registrations, RTPPortsInUse int
	// Requests by SIP method; Shed INVITEs refused 503 under overload;
	// GuardDropped datagrams of blocked addresses; StrayResponses matching
	// no transaction (retransmissions); media left out of captures and
	// recordings because the disk was behind.
	Requests                                       map[string]uint64
	Shed, GuardDropped, StrayResponses             uint64
	DatagramsIn, DatagramsOut                      uint64
	InSetup, SetupLimit                            int
	CaptureDroppedPackets, RecordingDroppedSamples uint64
}

// Commits describe the CDR store's group commits.
type Commits struct {
	Commits, Rows uint64
	Seconds       float64
	// Bounds are the buckets' upper bounds in seconds; Buckets holds one
	// count more (the +Inf bucket), not cumulative.
	Bounds  []float64
	Buckets []uint64
}

// Sources are the functions read at each scrape; nil ones are skipped.
type Sources struct {
	Engine func() Engine
	Events func() eventbus.Stats
	// Streams is the number of API event streams (WebSocket, SSE) open.
	Streams func() int
	Commits func() Commits
	// LimitHits counts refusals by the configured limits, by limit name.
	LimitHits func() map[string]uint64
}

// EventSource is the core's event stream.
type EventSource interface {
	Subscribe(tenant string, buf int) *eventbus.Subscription[pbx.Event]
}

// Metrics is the registry and the event follower.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	calls       *prometheus.CounterVec
	setups      *prometheus.CounterVec
	billsec     *prometheus.HistogramVec
	mos         *prometheus.HistogramVec
	jitter      *prometheus.HistogramVec
	loss        *prometheus.HistogramVec
	rtpPackets  *prometheus.CounterVec
	recordings  *prometheus.CounterVec
	queueWait   *prometheus.GaugeVec
	queueLeft   *prometheus.CounterVec
	alarms      *prometheus.CounterVec
	resubscribe prometheus.Counter

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds the registry and starts following events until Close.
func New(ctx context.Context, events EventSource, src Sources, log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{reg: prometheus.NewRegistry(), log: log}
	f := factory{m.reg}
	m.calls = f.counterVec("switchboard_calls_total", "Finished calls by disposition (a CDR each).", "tenant", "disposition")
	m.setups = f.counterVec("switchboard_call_setups_total", "Calls begun (rate() gives setups per second).", "tenant")
	m.billsec = f.histogramVec("switchboard_call_billsec_seconds", "Billed duration of answered calls.",
		[]float64{5, 15, 30, 60, 120, 300, 600, 1800, 3600}, "tenant")
	m.mos = f.histogramVec("switchboard_call_mos", "Estimated MOS of answered calls (worse direction).",
		[]float64{1, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.4}, "tenant")
	m.jitter = f.histogramVec("switchboard_rtp_jitter_milliseconds", "RFC 3550 interarrival jitter per call and direction.",
		[]float64{1, 5, 10, 20, 40, 80, 160}, "direction")
	m.loss = f.histogramVec("switchboard_rtp_loss_ratio", "RTP loss per call and direction (0-1).",
		[]float64{0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2}, "direction")
	m.rtpPackets = f.counterVec("switchboard_rtp_packets_total", "RTP packets relayed, by direction (ab: caller to callee).", "direction")
	m.recordings = f.counterVec("switchboard_recordings_total", "Recordings started and stopped.", "tenant", "event")
	m.queueWait = f.gaugeVec("switchboard_queue_waiting", "Callers waiting in a queue.", "tenant", "queue")
	m.queueLeft = f.counterVec("switchboard_queue_callers_total", "Callers who left a queue, by outcome (answered, abandoned, timeout, ...).",
		"tenant", "queue", "outcome")
	m.alarms = f.counterVec("switchboard_quality_alarms_total", "call.quality alarms raised, by kind (mos, loss, jitter, one_way).", "tenant", "kind")
	m.resubscribe = prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_metrics_event_resubscribes_total",
		Help: "Times the metrics follower fell behind the event stream and resubscribed (events in between are not counted)."})
	m.reg.MustRegister(m.resubscribe, sourceCollector{src},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.follow(fctx, events)
	}()
	return m
}

// Close stops following events.
func (m *Metrics) Close() {
	m.cancel()
	m.wg.Wait()
}

// Registry is for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the text exposition format. With a token, requests must
// carry "Authorization: Bearer TOKEN" (401 otherwise).
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelWarn)})
	if token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics: a bearer token is required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// followBuffer is the event queue of the follower; it only increments
// counters, so it keeps up with any realistic event rate.
const followBuffer = 4096

func (m *Metrics) follow(ctx context.Context, events EventSource) {
	for ctx.Err() == nil {
		sub := events.Subscribe("", followBuffer)
		m.consume(ctx, sub)
		sub.Close()
		if errors.Is(sub.Err(), eventbus.ErrClosed) {
			return // the core is closing
		}
		if ctx.Err() == nil {
			m.resubscribe.Inc()
		}
	}
}

func (m *Metrics) consume(ctx context.Context, sub *eventbus.Subscription[pbx.Event]) {
	for {
		select {
		case <-ctx.Done():
			return
		case env, ok := <-sub.C():
			if !ok {
				return
			}
			m.observe(env.Tenant, env.Event)
		}
	}
}

// observe turns one event into counts.
func (m *Metrics) observe(tenant string, e pbx.Event) {
	switch e.Type {
	case pbx.EvCallNew:
		m.setups.WithLabelValues(tenant).Inc()
	case pbx.EvCallEnded:
		if e.CDR == nil {
			return
		}
		c := e.CDR
		m.calls.WithLabelValues(tenant, string(c.Disposition)).Inc()
		if c.Disposition != pbx.DispAnswered {
			return
		}
		m.billsec.WithLabelValues(tenant).Observe(float64(c.BillSec))
		if c.MOS > 0 {
			m.mos.WithLabelValues(tenant).Observe(c.MOS)
		}
		for _, d := range []struct {
			dir     string
			packets uint64
			loss    float64
			jitter  float64
		}{{"ab", c.RTPPacketsAB, c.LossAB, c.JitterABMillis}, {"ba", c.RTPPacketsBA, c.LossBA, c.JitterBAMillis}} {
			m.rtpPackets.WithLabelValues(d.dir).Add(float64(d.packets))
			if d.packets > 0 {
				m.loss.WithLabelValues(d.dir).Observe(d.loss)
				m.jitter.WithLabelValues(d.dir).Observe(d.jitter)
			}
		}
	case pbx.EvCallQuality:
		if e.Quality != nil && e.Quality.Raised {
			m.alarms.WithLabelValues(tenant, e.Quality.Kind).Inc()
		}
	case pbx.EvRecordingStarted:
		m.recordings.WithLabelValues(tenant, "started").Inc()
	case pbx.EvRecordingStopped:
		m.recordings.WithLabelValues(tenant, "stopped").Inc()
	case pbx.EvQueueJoin, pbx.EvQueueLeave, pbx.EvQueueShift:
		if e.Queue == nil {
			return
		}
		m.queueWait.WithLabelValues(tenant, e.Queue.Name).Set(float64(e.Queue.Waiting))
		if e.Type == pbx.EvQueueLeave && e.Cause != "" {
			m.queueLeft.WithLabelValues(tenant, e.Queue.Name, e.Cause).Inc()
		}
	}
}

type factory struct{ reg *prometheus.Registry }

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(v)
	return v
}

func (f factory) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(v)
	return v
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(v)
	return v
}
