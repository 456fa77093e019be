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
}

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
	}
	transit := arrivalUnits - int64(ts)
	d := transit - s.transit
	s.transit = transit
	if d < 0 {
		d = -d
	}
	s.jitter += (float64(d) - s.jitter) / 16
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
