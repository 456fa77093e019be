package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-pbx/switchboard/internal/eventbus"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

type busSource struct{ b *eventbus.Bus[pbx.Event] }

func (s busSource) Subscribe(tenant string, buf int) *eventbus.Subscription[pbx.Event] {
	return s.b.Subscribe(tenant, buf)
}

// TestEventsBecomeCounts: queue, recording and call events published on
// a real bus move their metrics; the follower stops on Close.
func TestEventsBecomeCounts(t *testing.T) {
	bus := eventbus.New[pbx.Event]()
	m := New(context.Background(), busSource{bus}, Sources{}, nil)
	defer m.Close()
	time.Sleep(50 * time.Millisecond) // the follower subscribes
	q := &pbx.Queue{Name: "sales", Waiting: 2}
	bus.Publish("t", pbx.Event{Type: pbx.EvQueueJoin, Queue: q})
	bus.Publish("t", pbx.Event{Type: pbx.EvQueueLeave, Queue: &pbx.Queue{Name: "sales", Waiting: 1}, Cause: pbx.LeaveAbandoned})
	bus.Publish("t", pbx.Event{Type: pbx.EvRecordingStarted})
	bus.Publish("t", pbx.Event{Type: pbx.EvCallNew, Call: &pbx.Call{ID: "1"}})
	bus.Publish("t", pbx.Event{Type: pbx.EvCallEnded, Call: &pbx.Call{ID: "1"}, CDR: &pbx.CDR{Disposition: pbx.DispAnswered,
		BillSec: 42, MOS: 4.1, RTPPacketsAB: 100, RTPPacketsBA: 0, LossAB: 0.02, JitterABMillis: 3}})
	bus.Publish("t", pbx.Event{Type: pbx.EvCallEnded, Call: &pbx.Call{ID: "2"}, CDR: &pbx.CDR{Disposition: pbx.DispBusy}})
	deadline := time.Now().Add(2 * time.Second)
	for testutil.ToFloat64(m.calls.WithLabelValues("t", "BUSY")) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("events not counted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"waiting", testutil.ToFloat64(m.queueWait.WithLabelValues("t", "sales")), 1},
		{"abandoned", testutil.ToFloat64(m.queueLeft.WithLabelValues("t", "sales", "abandoned")), 1},
		{"recordings", testutil.ToFloat64(m.recordings.WithLabelValues("t", "started")), 1},
		{"setups", testutil.ToFloat64(m.setups.WithLabelValues("t")), 1},
		{"answered", testutil.ToFloat64(m.calls.WithLabelValues("t", "ANSWERED")), 1},
		{"rtp ab", testutil.ToFloat64(m.rtpPackets.WithLabelValues("ab")), 100},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// No loss or jitter sample for a direction that carried nothing.
	if n := testutil.CollectAndCount(m.loss); n != 1 {
		t.Errorf("%d loss series, want 1 (ab only)", n)
	}
}

// TestHandlerToken: with a token, only "Bearer TOKEN" reads the metrics.
func TestHandlerToken(t *testing.T) {
	bus := eventbus.New[pbx.Event]()
	m := New(context.Background(), busSource{bus}, Sources{}, nil)
	defer m.Close()
	srv := httptest.NewServer(m.Handler("s3cret-token-0123456789"))
	defer srv.Close()
	for _, tc := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer wrong", 401}, {"Basic s3cret-token-0123456789", 401}, {"Bearer s3cret-token-0123456789", 200}} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%q: %d, want %d", tc.auth, res.StatusCode, tc.want)
		}
	}
}
