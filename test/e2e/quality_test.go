package e2e

import (
	"testing"
	"time"
)

// TestSIPpAudioGapRaisesOneWayAlarm: against the real binary, a SIPp
// caller (2001) that stops sending RTP for 12 s in the middle of a call to
// a demo bot gets a call.quality one_way alarm on its channel, and a
// recovery when its audio comes back.
func TestSIPpAudioGapRaisesOneWayAlarm(t *testing.T) {
	needSIPp(t)
	s := startServer(t, t.TempDir())
	events := dialEvents(t, s)
	done := make(chan string, 1)
	go func() {
		code, out := s.sipp(t, "testdata/call_rtp_gap.xml", "-s", "1001", "-au", "2001", "-ap", "demo")
		if code != 0 {
			done <- out
			return
		}
		done <- ""
	}()
	alarm := func(raised bool) map[string]any {
		return waitEvent(t, events, func(e map[string]any) bool {
			q, _ := e["quality"].(map[string]any)
			ch, _ := e["channel"].(map[string]any)
			return e["type"] == "call.quality" && q != nil && q["kind"] == "one_way" && q["raised"] == raised && ch != nil && ch["exten"] == "2001"
		}, 25*time.Second)
	}
	up := alarm(true)
	if q := up["quality"].(map[string]any); q["threshold"].(float64) != 4 {
		t.Fatalf("one_way alarm %v, want the 4 s default threshold", q)
	}
	alarm(false)
	if out := <-done; out != "" {
		t.Fatalf("sipp failed:\n%s", out)
	}
}
