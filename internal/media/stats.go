package media

import (
	"math"
	"net/netip"
)

// Stats describes one leg: what it received from its remote (RFC 3550
// counters) and what it sent.
type Stats struct {
	PacketsRecv, PacketsSent uint64
	BytesRecv, BytesSent     uint64
	PacketsLost              int64
	LossFraction             float64
	JitterMillis             float64
	MOS                      float64
	RemoteAddr               netip.AddrPort
	// MaxJitterMillis is the highest interarrival jitter seen during the
	// call (JitterMillis is the last value): quality reports filter by it.
	MaxJitterMillis float64
	// LossBursts counts runs of consecutive lost packets by length:
	// [0] one packet, [1] two, ... [9] ten or more (VoIPmonitor's sl1-sl10).
	LossBursts [10]uint32
	// DelayBuckets counts packets by how far their arrival strayed from
	// the previous packet's transit time (packet delay variation), in ms:
	// 50-70, 70-90, 90-120, 120-150, 150-200, 200-300, 300 and more
	// (VoIPmonitor's d50 ... d300).
	DelayBuckets [7]uint32
}

// delayEdges are the lower edges of DelayBuckets, in milliseconds.
var delayEdges = [7]int64{50, 70, 90, 120, 150, 200, 300}

// rxStats follows RFC 3550 appendix A.1 and A.8 for one source.
type rxStats struct {
	started  bool
	ssrc     uint32
	baseSeq  uint32
	maxSeq   uint16
	cycles   uint32
	received uint64
	transit  int64
	jitter   float64 // in timestamp units
	maxJit   float64 // highest jitter, timestamp units
	bursts   [10]uint32
	delays   [7]uint32
}

func (s *rxStats) update(ssrc uint32, seq uint16, ts uint32, arrivalUnits int64) {
	if !s.started || ssrc != s.ssrc {
		*s = rxStats{started: true, ssrc: ssrc, baseSeq: uint32(seq), maxSeq: seq, transit: arrivalUnits - int64(ts)}
		s.received = 1
		return
	}
	s.received++
	delta := seq - s.maxSeq
	if delta > 0 && delta < 0x8000 {
		if seq < s.maxSeq {
			s.cycles += 1 << 16
		}
		s.maxSeq = seq
		if gap := int(delta) - 1; gap > 0 {
			s.bursts[min(gap, len(s.bursts))-1]++
		}
	}
	transit := arrivalUnits - int64(ts)
	d := transit - s.transit
	s.transit = transit
	if d < 0 {
		d = -d
	}
	s.jitter += (float64(d) - s.jitter) / 16
	s.maxJit = max(s.maxJit, s.jitter)
	if ms := d / 8; ms >= delayEdges[0] { // 8 kHz clock, as the jitter
		i := len(delayEdges) - 1
		for ms < delayEdges[i] {
			i--
		}
		s.delays[i]++
	}
}

func (s *rxStats) lost() (int64, float64) {
	if !s.started {
		return 0, 0
	}
	expected := int64(s.cycles+uint32(s.maxSeq)) - int64(s.baseSeq) + 1
	lost := expected - int64(s.received)
	if lost < 0 {
		lost = 0
	}
	if expected <= 0 {
		return 0, 0
	}
	return lost, float64(lost) / float64(expected)
}

// mos estimates a MOS with the ITU-T G.107 E-model for G.711 (Ie = 0,
// Bpl = 25.1 with packet loss concealment) and a one-way delay guessed
// from the jitter buffer a phone would need (twice the jitter plus one
// frame of 20 ms plus 20 ms of network).
// EstimateMOS is the MOS the stream statistics report, for a loss
// fraction and jitter measured over some interval.
func EstimateMOS(loss, jitterMs float64) float64 { return mos(loss, jitterMs) }

func mos(loss float64, jitterMs float64) float64 {
	ppl := loss * 100
	ie := (95 - 0) * ppl / (ppl + 25.1)
	d := 2*jitterMs + 40
	id := 0.024 * d
	if d > 177.3 {
		id += 0.11 * (d - 177.3)
	}
	r := 93.2 - id - ie
	switch {
	case r < 0:
		return 1
	case r > 100:
		return 4.5
	}
	m := 1 + 0.035*r + 7e-6*r*(r-60)*(100-r)
	return math.Round(m*100) / 100
}
