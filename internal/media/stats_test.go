package media

import "testing"

// TestRxStatsBurstsDelaysMaxJitter: gaps in the sequence count as loss
// bursts by length, late packets land in the delay bucket of their
// variation, and the highest jitter is kept after it settles again.
func TestRxStatsBurstsDelaysMaxJitter(t *testing.T) {
	var s rxStats
	ts := uint32(0)
	arrive := int64(0)
	seq := uint16(100)
	send := func(skip uint16, lateMs int64) {
		seq += skip + 1
		ts += 160 * uint32(skip+1)
		arrive += 160 * int64(skip+1)
		s.update(1, seq, ts, arrive+lateMs*8)
	}
	s.update(1, seq, ts, arrive)
	for range 10 {
		send(0, 0)
	}
	send(1, 0)  // one lost
	send(3, 0)  // three lost
	send(15, 0) // sixteen lost: the last bucket
	send(0, 60) // 60 ms late: 50-70
	send(0, 0)  // back: its variation is 60 ms too
	send(0, 400)
	if s.bursts[0] != 1 || s.bursts[2] != 1 || s.bursts[9] != 1 {
		t.Errorf("bursts %v", s.bursts)
	}
	if s.delays[0] != 2 || s.delays[6] != 1 {
		t.Errorf("delays %v", s.delays)
	}
	send(0, 0) // the return from 400 ms late is as large a variation
	peak := s.maxJit
	for range 200 {
		send(0, 0)
	}
	if s.maxJit != peak || s.jitter >= peak/10 || peak < 8*20 {
		t.Errorf("max jitter %.1f, jitter now %.1f", s.maxJit, s.jitter)
	}
	if lost, _ := s.lost(); lost != 1+3+15 {
		t.Errorf("lost %d", lost)
	}
}
