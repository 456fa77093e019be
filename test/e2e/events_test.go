package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// dialEvents opens the native event stream and returns decoded events.
func dialEvents(t *testing.T, s *server) <-chan map[string]any {
	t.Helper()
	return dialEventsQuery(t, s, "")
}

// dialEventsQuery is dialEvents with a query string (e.g. "?since=42").
func dialEventsQuery(t *testing.T, s *server, query string) <-chan map[string]any {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := http.Header{}
	h.Set("Authorization", "Bearer MyExampleKey")
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	defer dcancel()
	conn, _, err := websocket.Dial(dctx, "ws://"+s.http+"/api/v1/events"+query, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		cancel()
		t.Fatalf("dial events: %v", err)
	}
	out := make(chan map[string]any, 1000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			var e map[string]any
			if json.Unmarshal(data, &e) == nil {
				out <- e
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		conn.CloseNow()
		<-done
	})
	return out
}

func waitEvent(t *testing.T, events <-chan map[string]any, match func(map[string]any) bool, within time.Duration) map[string]any {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("event stream closed")
			}
			if match(e) {
				return e
			}
		case <-timer.C:
			t.Fatalf("no matching event within %s", within)
		}
	}
}
