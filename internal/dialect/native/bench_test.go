package native

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// BenchmarkEventFanout1000: 1,000 WebSocket clients on the native event
// stream; b.N events are published by the core (extension state changes)
// and every client must receive every one. Reports events delivered per
// second (all clients together) and the core-to-client latency. Run:
//
//	go test -run '^$' -bench BenchmarkEventFanout1000 -benchtime 500x ./internal/dialect/native/
func BenchmarkEventFanout1000(b *testing.B) {
	b.Run("burst", func(b *testing.B) { eventFanout(b, 0) })
	// 100 events/s is a busy tenant (each call makes 6-10 events); latency
	// here is the path, not a backlog.
	b.Run("paced-100/s", func(b *testing.B) { eventFanout(b, 10*time.Millisecond) })
}

func eventFanout(b *testing.B, gap time.Duration) {
	const clients = 1000
	t := &testing.T{}
	f := newFixture(t)
	defer f.srv.Close()
	url := strings.Replace(f.srv.URL, "http://", "ws://", 1) + "/api/v1/events"
	h := http.Header{}
	h.Set("Authorization", "Bearer key-a")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var wg, ready sync.WaitGroup
	for range clients {
		conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
		if err != nil {
			b.Fatal(err)
		}
		conn.SetReadLimit(1 << 20)
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			defer conn.CloseNow()
			ready.Done()
			got := 0
			local := make([]time.Duration, 0, b.N)
			for got < b.N {
				_, data, err := conn.Read(ctx)
				if err != nil {
					return
				}
				var e struct {
					Type pbx.EventType `json:"type"`
					Time time.Time     `json:"time"`
				}
				if json.Unmarshal(data, &e) != nil || e.Type != pbx.EvExtensionState {
					continue
				}
				local = append(local, time.Since(e.Time))
				got++
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	ready.Wait()
	time.Sleep(200 * time.Millisecond) // every subscription is registered
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		reg := &pbx.Registration{Contact: fmt.Sprint("sip:x@", i)}
		if i%2 == 1 {
			reg = nil
		}
		f.core.SetRegistration("a", "1001", reg)
		switch {
		case gap > 0:
			time.Sleep(gap)
		case i%100 == 99:
			time.Sleep(time.Millisecond) // bursts of 100
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) != clients*b.N {
		b.Fatalf("delivered %d of %d", len(lat), clients*b.N)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
