package media

import (
	"testing"
	"time"
)

// feed drives a monitor with one sample a second: rate packets a second
// arrive, of which lossPct percent are lost, at jitter ms.
type feeder struct {
	m    *AlarmMonitor
	now  time.Time
	recv uint64
	lost int64
}

func (f *feeder) second(rate int, lossPct float64, jitter float64, quiet bool) []AlarmChange {
	f.now = f.now.Add(time.Second)
	lost := int64(float64(rate) * lossPct / 100)
	f.recv += uint64(rate) - uint64(lost)
	f.lost += lost
	return f.m.Add(AlarmSample{At: f.now, Received: f.recv, Lost: f.lost, JitterMs: jitter, Quiet: quiet})
}

func kinds(cs []AlarmChange) map[AlarmKind]bool {
	out := map[AlarmKind]bool{}
	for _, c := range cs {
		out[c.Kind] = c.Raised
	}
	return out
}

// TestAlarmLossRaisesAndRecovers: 5 % loss raises loss and MOS alarms
// once a window holds it; a clean window clears them, once each.
func TestAlarmLossRaisesAndRecovers(t *testing.T) {
	f := &feeder{m: NewAlarmMonitor(AlarmThresholds{}), now: time.Unix(1e9, 0)}
	for range 6 {
		if cs := f.second(50, 0, 2, false); len(cs) != 0 {
			t.Fatalf("clean audio raised %+v", cs)
		}
	}
	var raised map[AlarmKind]bool
	for i := 0; i < 8 && raised == nil; i++ {
		if cs := f.second(50, 10, 2, false); len(cs) > 0 {
			raised = kinds(cs)
		}
	}
	if !raised[AlarmLoss] {
		t.Fatalf("10 %% loss: %v", raised)
	}
	// Still lossy: no repeats.
	for range 5 {
		for _, c := range f.second(50, 10, 2, false) {
			if c.Kind == AlarmLoss {
				t.Fatalf("loss alarm repeated: %+v", c)
			}
		}
	}
	cleared := false
	for range 12 {
		for _, c := range f.second(50, 0, 2, false) {
			if c.Kind == AlarmLoss && !c.Raised {
				cleared = true
			}
		}
	}
	if !cleared || f.m.Raised(AlarmLoss) {
		t.Fatal("loss alarm not cleared after clean audio")
	}
}

// TestAlarmHysteresis: loss hovering just around the threshold raises
// once and does not flap.
func TestAlarmHysteresis(t *testing.T) {
	f := &feeder{m: NewAlarmMonitor(AlarmThresholds{MaxLoss: 0.02}), now: time.Unix(1e9, 0)}
	changes := 0
	for i := range 60 {
		loss := 1.5
		if i%2 == 0 {
			loss = 3
		}
		for _, c := range f.second(100, loss, 2, false) {
			if c.Kind == AlarmLoss {
				changes++
			}
		}
	}
	if changes > 1 {
		t.Fatalf("%d loss alarm changes for a link hovering at the threshold", changes)
	}
}

// TestAlarmOneWay: no packets for OneWayAfter raises one-way audio; the
// first packets clear it; hold (quiet) never raises it.
func TestAlarmOneWay(t *testing.T) {
	f := &feeder{m: NewAlarmMonitor(AlarmThresholds{OneWayAfter: 4 * time.Second}), now: time.Unix(1e9, 0)}
	for range 3 {
		f.second(50, 0, 2, false)
	}
	var at int
	for i := 1; i <= 6 && at == 0; i++ {
		if kinds(f.second(0, 0, 2, false))[AlarmOneWay] {
			at = i
		}
	}
	if at != 4 {
		t.Fatalf("one-way audio raised after %d silent seconds, want 4", at)
	}
	if cs := f.second(50, 0, 2, false); len(cs) != 1 || cs[0].Kind != AlarmOneWay || cs[0].Raised {
		t.Fatalf("packets again: %+v", cs)
	}
	for range 10 {
		if cs := f.second(0, 0, 2, true); len(cs) != 0 {
			t.Fatalf("hold raised %+v", cs)
		}
	}
	// A leg that never sends at all is one-way too.
	g := &feeder{m: NewAlarmMonitor(AlarmThresholds{}), now: time.Unix(1e9, 0)}
	g.m.Add(AlarmSample{At: g.now})
	for range 4 {
		g.second(0, 0, 0, false)
	}
	if !g.m.Raised(AlarmOneWay) {
		t.Fatal("a leg that never sent raised nothing")
	}
}

// TestAlarmJitterAndMOS: jitter of 200 ms (a phone buffering 400 ms) raises jitter and MOS alarms.
func TestAlarmJitterAndMOS(t *testing.T) {
	f := &feeder{m: NewAlarmMonitor(AlarmThresholds{}), now: time.Unix(1e9, 0)}
	got := map[AlarmKind]bool{}
	for range 8 {
		for k, v := range kinds(f.second(50, 0, 200, false)) {
			got[k] = v
		}
	}
	if !got[AlarmJitter] || !got[AlarmMOS] {
		t.Fatalf("200 ms jitter: %v", got)
	}
}

// BenchmarkAlarmSample is the cost of one sample (taken once a second
// per leg: nothing is paid per packet).
func BenchmarkAlarmSample(b *testing.B) {
	m := NewAlarmMonitor(AlarmThresholds{})
	now := time.Unix(1e9, 0)
	var recv uint64
	for i := 0; b.Loop(); i++ {
		now = now.Add(time.Second)
		recv += 50
		m.Add(AlarmSample{At: now, Received: recv, JitterMs: 2})
	}
}
