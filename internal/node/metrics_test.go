package node

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/eventbus"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// scrape reads /metrics into "name{labels}" -> value.
func scrape(t *testing.T, url, token string) map[string]float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsDuringACall: the demo serves /metrics behind its token (401
// without it); scraped during and after a real SIP call through the
// demo bots, the call, SIP, RTP, event, stream and store metrics are
// there and have moved.
func TestMetricsDuringACall(t *testing.T) {
	n := startDemo(t)
	url := "http://" + n.HTTPAddr().String() + "/metrics"
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("/metrics without the token: %d", res.StatusCode)
	}
	before := scrape(t, url, "demo-metrics")
	for _, name := range []string{"switchboard_calls_active", "switchboard_registrations", "switchboard_rtp_ports_in_use",
		"switchboard_sip_shed_total", "switchboard_sip_guard_dropped_total", "switchboard_sip_stray_responses_total",
		"switchboard_capture_dropped_packets_total", "switchboard_recording_dropped_samples_total",
		"switchboard_event_subscribers", "switchboard_events_published_total", "switchboard_events_delivered_total",
		"switchboard_event_subscribers_dropped_total", "switchboard_api_streams", "switchboard_cdr_commit_seconds_count",
		"switchboard_cdr_rows_total", `switchboard_limit_hits_total{limit="calls_per_tenant"}`, "process_resident_memory_bytes",
		"go_goroutines"} {
		if _, ok := before[name]; !ok {
			t.Errorf("metric %s missing", name)
		}
	}
	if before["switchboard_registrations"] == 0 || before[`switchboard_sip_requests_total{method="REGISTER"}`] == 0 {
		t.Errorf("the bots' registrations are not counted: %v %v", before["switchboard_registrations"], before[`switchboard_sip_requests_total{method="REGISTER"}`])
	}

	// An event stream (counted in api_streams) and a click-to-call that
	// the bots answer.
	wsCtx, wsCancel := context.WithCancel(context.Background())
	defer wsCancel()
	ws := dialNativeEvents(t, wsCtx, n)
	defer ws.CloseNow()
	sub := n.Core().Subscribe("MojaCentrala", 256)
	defer sub.Close()
	id := originate(t, n, `{"from":"1001","to":"1002"}`)
	waitCallEvent(t, sub, "call.answered", id)
	time.Sleep(time.Second) // some RTP flows
	during := scrape(t, url, "demo-metrics")
	if during["switchboard_calls_active"] < 1 || during["switchboard_api_streams"] < 1 || during["switchboard_rtp_ports_in_use"] < 2 {
		t.Errorf("during the call: active %v, streams %v, rtp ports %v", during["switchboard_calls_active"],
			during["switchboard_api_streams"], during["switchboard_rtp_ports_in_use"])
	}
	if during[`switchboard_call_setups_total{tenant="MojaCentrala"}`] < 1 {
		t.Errorf("call setups: %v", during[`switchboard_call_setups_total{tenant="MojaCentrala"}`])
	}
	if err := n.Core().Hangup(context.Background(), "MojaCentrala", id); err != nil {
		t.Fatal(err)
	}
	waitCallEvent(t, sub, "call.ended", id)
	var after map[string]float64
	deadline := time.Now().Add(5 * time.Second)
	for { // the CDR commit and the follower run just after call.ended
		after = scrape(t, url, "demo-metrics")
		if after[`switchboard_calls_total{disposition="ANSWERED",tenant="MojaCentrala"}`] >= 1 && after["switchboard_cdr_rows_total"] > before["switchboard_cdr_rows_total"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the call: calls_total %v, cdr rows %v", after[`switchboard_calls_total{disposition="ANSWERED",tenant="MojaCentrala"}`], after["switchboard_cdr_rows_total"])
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, moved := range []string{"switchboard_events_published_total", "switchboard_events_delivered_total",
		"switchboard_cdr_commit_seconds_count", `switchboard_sip_udp_datagrams_total{direction="in"}`, `switchboard_sip_udp_datagrams_total{direction="out"}`} {
		if after[moved] <= before[moved] {
			t.Errorf("%s did not move: %v -> %v", moved, before[moved], after[moved])
		}
	}
	if after[`switchboard_rtp_packets_total{direction="ab"}`] == 0 || after[`switchboard_rtp_packets_total{direction="ba"}`] == 0 {
		t.Errorf("rtp packets: %v %v", after[`switchboard_rtp_packets_total{direction="ab"}`], after[`switchboard_rtp_packets_total{direction="ba"}`])
	}
	if after[`switchboard_call_billsec_seconds_count{tenant="MojaCentrala"}`] != 1 {
		t.Errorf("billsec histogram count %v", after[`switchboard_call_billsec_seconds_count{tenant="MojaCentrala"}`])
	}
}

// TestMetricsOwnListener: metrics.listen serves /metrics without a token
// on its own address only; the shared listener has no /metrics then.
func TestMetricsOwnListener(t *testing.T) {
	n := startDemoWith(t, Options{}, func(c *config.Config) {
		c.Metrics = config.Metrics{Listen: "127.0.0.1:0"}
	})
	m := scrape(t, "http://"+n.MetricsAddr().String()+"/metrics", "")
	if _, ok := m["switchboard_calls_active"]; !ok {
		t.Fatal("no switchboard_calls_active on the metrics listener")
	}
	res, err := http.Get("http://" + n.HTTPAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == 200 {
		t.Fatal("/metrics served on the API listener without a token configured")
	}
}

// dialNativeEvents opens the native event stream as the demo's API key.
func dialNativeEvents(t *testing.T, ctx context.Context, n *Node) *websocket.Conn {
	t.Helper()
	h := http.Header{"Authorization": {"Bearer MyExampleKey"}}
	c, _, err := websocket.Dial(ctx, "ws://"+n.HTTPAddr().String()+"/api/v1/events", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// originate starts a click-to-call through the native API and returns
// the call id.
func originate(t *testing.T, n *Node, body string) string {
	t.Helper()
	r := originateWithKey(t, n, "Bearer MyExampleKey", "", body)
	if r.code != 201 {
		t.Fatalf("originate %s: %+v", body, r)
	}
	var call struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(r.body), &call); err != nil {
		t.Fatal(err)
	}
	return call.ID
}

// waitCallEvent waits for an event of type typ about call id.
func waitCallEvent(t *testing.T, sub *eventbus.Subscription[pbx.Event], typ, id string) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case env := <-sub.C():
			if string(env.Event.Type) == typ && env.Event.Call != nil && env.Event.Call.ID == id {
				return
			}
		case <-deadline:
			t.Fatalf("no %s for call %s", typ, id)
		}
	}
}

// TestMetricsDocumented: every switchboard_ metric the docs and the
// Grafana dashboard name is exported by a running demo, and every one
// exported is in the docs.
func TestMetricsDocumented(t *testing.T) {
	n := startDemo(t)
	got := scrape(t, "http://"+n.HTTPAddr().String()+"/metrics", "demo-metrics")
	families := map[string]bool{}
	for k := range got {
		name, _, _ := strings.Cut(k, "{")
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suf); ok && strings.HasPrefix(base, "switchboard_") &&
				(strings.HasSuffix(base, "_seconds") || strings.HasSuffix(base, "_mos") || strings.HasSuffix(base, "_ratio") || strings.HasSuffix(base, "_milliseconds")) {
				name = base
			}
		}
		families[name] = true
	}
	re := regexp.MustCompile(`switchboard_[a-z_]+`)
	docs, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	dash, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range re.FindAllString(string(docs), -1) {
		documented[m] = true
	}
	// Series that appear only once something happened (labels per
	// tenant, queue, direction) are checked by name in the docs only.
	lazy := map[string]bool{"switchboard_calls_total": true, "switchboard_call_setups_total": true, "switchboard_call_billsec_seconds": true,
		"switchboard_call_mos": true, "switchboard_rtp_packets_total": true, "switchboard_rtp_loss_ratio": true,
		"switchboard_rtp_jitter_milliseconds": true, "switchboard_recordings_total": true, "switchboard_queue_waiting": true,
		"switchboard_queue_callers_total": true, "switchboard_quality_alarms_total": true}
	for m := range documented {
		if !families[m] && !lazy[m] {
			t.Errorf("docs/metrics.md names %s, which is not exported", m)
		}
	}
	for _, m := range re.FindAllString(string(dash), -1) {
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(m, suf); ok && documented[base] {
				m = base
			}
		}
		if !documented[m] {
			t.Errorf("the Grafana dashboard uses %s, which docs/metrics.md does not list", m)
		}
	}
	for m := range families {
		if strings.HasPrefix(m, "switchboard_") && !documented[m] {
			t.Errorf("%s is exported but not in docs/metrics.md", m)
		}
	}
}
