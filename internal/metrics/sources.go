package metrics

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
)

// sourceCollector reads the node's plain counters at scrape time, so the
// hot paths that keep them pay an atomic add and nothing else.
type sourceCollector struct{ src Sources }

var (
	descActive       = prometheus.NewDesc("switchboard_calls_active", "Calls up now (ringing or talking).", nil, nil)
	descRegs         = prometheus.NewDesc("switchboard_registrations", "Registered phone contacts.", nil, nil)
	descPorts        = prometheus.NewDesc("switchboard_rtp_ports_in_use", "RTP ports held by calls (and draining).", nil, nil)
	descRequests     = prometheus.NewDesc("switchboard_sip_requests_total", "SIP requests handled, by method (retransmissions absorbed by transactions are not counted).", []string{"method"}, nil)
	descDatagrams    = prometheus.NewDesc("switchboard_sip_udp_datagrams_total", "SIP messages over UDP by direction, retransmissions included (TCP and TLS not counted).", []string{"direction"}, nil)
	descInSetup      = prometheus.NewDesc("switchboard_calls_in_setup", "Calls being set up now (not yet answered or ended).", nil, nil)
	descSetupLimit   = prometheus.NewDesc("switchboard_setup_limit", "The overload controller's current bound on calls in setup (INVITEs beyond it get 503 Overloaded).", nil, nil)
	descShed         = prometheus.NewDesc("switchboard_sip_shed_total", "INVITEs refused 503 with Retry-After because too many calls were being set up.", nil, nil)
	descGuard        = prometheus.NewDesc("switchboard_sip_guard_dropped_total", "SIP datagrams from addresses blocked for failed authentication, dropped unparsed.", nil, nil)
	descStray        = prometheus.NewDesc("switchboard_sip_stray_responses_total", "SIP responses matching no transaction, mostly retransmitted final responses.", nil, nil)
	descCapDrop      = prometheus.NewDesc("switchboard_capture_dropped_packets_total", "Packets left out of call captures because the disk was behind.", nil, nil)
	descRecDrop      = prometheus.NewDesc("switchboard_recording_dropped_samples_total", "Audio samples recordings threw away because the writer was behind (8000 a second).", nil, nil)
	descSubscribers  = prometheus.NewDesc("switchboard_event_subscribers", "Subscriptions to the event bus (API streams, webhooks, the event log, metrics).", nil, nil)
	descPublished    = prometheus.NewDesc("switchboard_events_published_total", "Events published by the core.", nil, nil)
	descDelivered    = prometheus.NewDesc("switchboard_events_delivered_total", "Event copies queued to subscribers.", nil, nil)
	descSlow         = prometheus.NewDesc("switchboard_event_subscribers_dropped_total", "Subscribers cut off because they fell behind (their clients must resync).", nil, nil)
	descStreams      = prometheus.NewDesc("switchboard_api_streams", "API event streams (WebSocket, SSE) open now.", nil, nil)
	descCommit       = prometheus.NewDesc("switchboard_cdr_commit_seconds", "Latency of CDR group commits (fsync included).", nil, nil)
	descCommitRows   = prometheus.NewDesc("switchboard_cdr_rows_total", "CDRs committed.", nil, nil)
	descLimitHits    = prometheus.NewDesc("switchboard_limit_hits_total", "Requests refused by a configured limit, by limit.", []string{"limit"}, nil)
	sourceCollectors = []*prometheus.Desc{descActive, descRegs, descPorts, descRequests, descDatagrams, descInSetup, descSetupLimit, descShed, descGuard, descStray,
		descCapDrop, descRecDrop, descSubscribers, descPublished, descDelivered, descSlow, descStreams, descCommit,
		descCommitRows, descLimitHits}
)

func (c sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range sourceCollectors {
		ch <- d
	}
}

func (c sourceCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	if c.src.Engine != nil {
		e := c.src.Engine()
		gauge(descActive, float64(e.ActiveCalls))
		gauge(descRegs, float64(e.Registrations))
		gauge(descPorts, float64(e.RTPPortsInUse))
		for _, m := range sortedKeys(e.Requests) {
			counter(descRequests, e.Requests[m], m)
		}
		counter(descDatagrams, e.DatagramsIn, "in")
		counter(descDatagrams, e.DatagramsOut, "out")
		gauge(descInSetup, float64(e.InSetup))
		gauge(descSetupLimit, float64(e.SetupLimit))
		counter(descShed, e.Shed)
		counter(descGuard, e.GuardDropped)
		counter(descStray, e.StrayResponses)
		counter(descCapDrop, e.CaptureDroppedPackets)
		counter(descRecDrop, e.RecordingDroppedSamples)
	}
	if c.src.Events != nil {
		s := c.src.Events()
		gauge(descSubscribers, float64(s.Subscribers))
		counter(descPublished, s.Published)
		counter(descDelivered, s.Delivered)
		counter(descSlow, s.SlowDropped)
	}
	if c.src.Streams != nil {
		gauge(descStreams, float64(c.src.Streams()))
	}
	if c.src.Commits != nil {
		s := c.src.Commits()
		buckets := make(map[float64]uint64, len(s.Bounds))
		var cum uint64
		for i, b := range s.Bounds {
			if i < len(s.Buckets) {
				cum += s.Buckets[i]
			}
			buckets[b] = cum
		}
		ch <- prometheus.MustNewConstHistogram(descCommit, s.Commits, s.Seconds, buckets)
		counter(descCommitRows, s.Rows)
	}
	if c.src.LimitHits != nil {
		hits := c.src.LimitHits()
		for _, k := range sortedKeys(hits) {
			counter(descLimitHits, hits[k], k)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
