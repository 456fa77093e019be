package e2e

import (
	"fmt"
	"testing"
	"time"
)

// collect reads events until none arrives for quiet.
func collect(events <-chan map[string]any, quiet time.Duration) []map[string]any {
	var out []map[string]any
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return out
			}
			out = append(out, e)
		case <-time.After(quiet):
			return out
		}
	}
}

func seqOf(e map[string]any) uint64 {
	f, _ := e["seq"].(float64)
	return uint64(f)
}

// TestEventReplayAfterReconnectAndRestart: a client that was away gets
// every missed event exactly once and in order with since=N — after a
// plain reconnect and after switchboard itself was killed and restarted.
func TestEventReplayAfterReconnectAndRestart(t *testing.T) {
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	first := dialEvents(t, s)
	var call struct {
		ID string `json:"id"`
	}
	s.postJSON(t, "/api/v1/calls", `{"from":"1003","to":"1004"}`, 201, &call)
	ans := waitEvent(t, first, func(e map[string]any) bool { return e["type"] == "call.answered" }, 15*time.Second)
	lastSeen := seqOf(ans)
	// The client goes away; the call ends while it is gone.
	s.delete(t, "/api/v1/calls/"+call.ID, 204)
	time.Sleep(time.Second)

	back := dialEventsQuery(t, s, fmt.Sprintf("?since=%d", lastSeen))
	got := collect(back, 700*time.Millisecond)
	if len(got) == 0 {
		t.Fatal("nothing replayed")
	}
	ended := false
	for i, e := range got {
		if seqOf(e) != lastSeen+uint64(i)+1 {
			t.Fatalf("event %d has seq %d, want %d (gap or duplicate)", i, seqOf(e), lastSeen+uint64(i)+1)
		}
		if e["type"] == "call.ended" {
			ended = true
		}
	}
	if !ended {
		t.Fatalf("replay lacks call.ended: %v", got)
	}
	last := seqOf(got[len(got)-1])

	// Live events continue after the replay without a gap.
	s.postJSON(t, "/api/v1/queues/VMX/members/1002/pause", `{"paused":true}`, 200, nil)
	live := waitEvent(t, back, func(e map[string]any) bool { return e["type"] == "queue.member.paused" }, 5*time.Second)
	if seqOf(live) <= last {
		t.Fatalf("live event seq %d not after replayed %d", seqOf(live), last)
	}
	last = seqOf(live)
	time.Sleep(300 * time.Millisecond) // the log writes in batches
	s.kill9()

	s2 := startServer(t, dataDir)
	again := dialEventsQuery(t, s2, fmt.Sprintf("?since=%d", lastSeen))
	all := collect(again, 700*time.Millisecond)
	if len(all) < int(last-lastSeen) {
		t.Fatalf("after restart replayed %d events, want at least %d", len(all), last-lastSeen)
	}
	for i, e := range all {
		if seqOf(e) != lastSeen+uint64(i)+1 {
			t.Fatalf("after restart event %d has seq %d, want %d", i, seqOf(e), lastSeen+uint64(i)+1)
		}
	}
	if code, _ := s2.request(t, "GET", "/api/v1/events?since=abc", ""); code != 400 {
		t.Fatalf("bad since: %d", code)
	}
}
