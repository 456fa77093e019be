package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"

	"github.com/switchboard-pbx/switchboard/internal/metrics"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
)

// startMetrics follows the core for Prometheus and serves /metrics where
// the config asks: behind a bearer token on the shared listener, and/or
// without authentication on an address of its own.
func (n *Node) startMetrics(ctx context.Context, mux *http.ServeMux) error {
	m := n.cfg.Metrics
	if m.Token == "" && m.Listen == "" {
		return nil
	}
	n.metrics = metrics.New(ctx, n.core, metrics.Sources{
		Engine: func() metrics.Engine {
			st, c := n.eng.Stats(), n.eng.Counters()
			return metrics.Engine{ActiveCalls: st.ActiveCalls, Registrations: st.Registrations, RTPPortsInUse: st.RTPPortsInUse,
				Requests: c.Requests, Shed: c.Shed, DatagramsIn: c.DatagramsIn, DatagramsOut: c.DatagramsOut, InSetup: c.InSetup, SetupLimit: c.SetupLimit, GuardDropped: c.GuardDropped, StrayResponses: c.StrayResponses,
				CaptureDroppedPackets: c.CaptureDroppedPackets, RecordingDroppedSamples: c.RecordingDroppedSamples}
		},
		Events:  n.core.EventStats,
		Streams: n.openStreams,
		Commits: func() metrics.Commits {
			c := n.store.CommitStats()
			return metrics.Commits{Commits: c.Commits, Rows: c.Rows, Seconds: c.Seconds, Bounds: sqlite.CommitBuckets, Buckets: c.Buckets}
		},
		LimitHits: func() map[string]uint64 {
			h := n.core.LimitHits()
			return map[string]uint64{"calls_per_tenant": h.TenantCalls, "calls_per_user": h.OwnerCalls,
				"originates_per_minute_tenant": h.TenantOriginateRate, "originates_per_minute_user": h.OwnerOriginateRate,
				"streams_per_user": n.streamLimitHits(), "sms_per_minute": n.svc.SMSLimitHits()}
		},
	}, n.log.With("component", "metrics"))
	if m.Token != "" {
		mux.Handle("GET /metrics", n.metrics.Handler(m.Token))
	}
	if m.Listen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", m.Listen)
	if err != nil {
		return fmt.Errorf("listen metrics: %w", err)
	}
	own := http.NewServeMux()
	own.Handle("GET /metrics", n.metrics.Handler(""))
	n.metricsSrv = n.httpServer(own)
	n.metricsLn = ln
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.metricsSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("metrics serve ended", "err", err)
		}
	}()
	return nil
}

// MetricsAddr is the address of the metrics listener, if configured.
func (n *Node) MetricsAddr() netip.AddrPort {
	if n.metricsLn == nil {
		return netip.AddrPort{}
	}
	return n.metricsLn.Addr().(*net.TCPAddr).AddrPort()
}

// openStreams sums the event streams open in the dialects that count them.
func (n *Node) openStreams() int {
	sum := 0
	for _, d := range n.dialects {
		if c, ok := d.(interface{ OpenStreams() int }); ok {
			sum += c.OpenStreams()
		}
	}
	return sum
}

// closeMetrics stops the metrics listener and the event follower.
func (n *Node) closeMetrics(ctx context.Context) error {
	var err error
	if n.metricsSrv != nil {
		err = n.metricsSrv.Shutdown(ctx)
	}
	if n.metrics != nil {
		n.metrics.Close()
	}
	return err
}
