package media

import (
	"time"
)

// Quality alarms watch a leg's receive counters over a sliding window and
// say when the audio a party sends us turns bad (or stops) and when it is
// good again. They sample the counters the read loop keeps anyway, once a
// second, so watching costs nothing per packet.

// AlarmKind names what crossed its threshold.
type AlarmKind string

const (
	AlarmMOS    AlarmKind = "mos"     // estimated MOS below the minimum
	AlarmLoss   AlarmKind = "loss"    // packet loss above the maximum
	AlarmJitter AlarmKind = "jitter"  // interarrival jitter above the maximum
	AlarmOneWay AlarmKind = "one_way" // no RTP from the party for a while
)

// AlarmThresholds are per tenant; zero fields take the defaults.
type AlarmThresholds struct {
	MinMOS      float64       // default 3.5
	MaxLoss     float64       // fraction, default 0.02
	MaxJitterMs float64       // default 40
	OneWayAfter time.Duration // default 4 s without packets
	Window      time.Duration // default 5 s
}

// WithDefaults fills the zero fields.
func (t AlarmThresholds) WithDefaults() AlarmThresholds {
	if t.MinMOS == 0 {
		t.MinMOS = 3.5
	}
	if t.MaxLoss == 0 {
		t.MaxLoss = 0.02
	}
	if t.MaxJitterMs == 0 {
		t.MaxJitterMs = 40
	}
	if t.OneWayAfter == 0 {
		t.OneWayAfter = 4 * time.Second
	}
	if t.Window == 0 {
		t.Window = 5 * time.Second
	}
	return t
}

// AlarmSample is one reading of a leg's receive counters.
type AlarmSample struct {
	At       time.Time
	Received uint64
	Lost     int64
	JitterMs float64
	// Quiet: the party is not expected to send (on hold, inactive).
	Quiet bool
}

// SampleOf reads a leg's counters for the monitor.
func SampleOf(at time.Time, s Stats, quiet bool) AlarmSample {
	return AlarmSample{At: at, Received: s.PacketsRecv, Lost: s.PacketsLost, JitterMs: s.JitterMillis, Quiet: quiet}
}

// AlarmChange is an alarm raised or cleared.
type AlarmChange struct {
	Kind      AlarmKind
	Raised    bool    // false: cleared (recovered)
	Value     float64 // the window's figure (MOS, loss fraction, jitter ms, seconds silent)
	Threshold float64
}

// Hysteresis: an alarm clears only when its figure is clearly back on the
// good side and has stayed raised for at least a window, so a link that
// hovers at the threshold does not flood the event stream.
const (
	clearMOSMargin    = 0.3  // MOS must be above MinMOS + this
	clearLossFactor   = 0.5  // loss must be below MaxLoss * this
	clearJitterFactor = 0.75 // jitter must be below MaxJitterMs * this
)

// AlarmMonitor keeps one leg's window and alarm states. It is not safe
// for concurrent use: one sampler owns it.
type AlarmMonitor struct {
	th       AlarmThresholds
	samples  []AlarmSample // oldest first, spanning about one window
	raisedAt map[AlarmKind]time.Time
	lastRecv time.Time // when packets last arrived (or watching began)
	started  bool
}

// NewAlarmMonitor starts watching with th (defaults filled in).
func NewAlarmMonitor(th AlarmThresholds) *AlarmMonitor {
	return &AlarmMonitor{th: th.WithDefaults(), raisedAt: map[AlarmKind]time.Time{}}
}

// Raised tells whether an alarm of kind is on.
func (m *AlarmMonitor) Raised(kind AlarmKind) bool {
	_, ok := m.raisedAt[kind]
	return ok
}

// Add takes a sample and returns the alarms raised or cleared by it.
func (m *AlarmMonitor) Add(s AlarmSample) []AlarmChange {
	if !m.started {
		m.started, m.lastRecv = true, s.At
	}
	if n := len(m.samples); n > 0 && s.Received > m.samples[n-1].Received {
		m.lastRecv = s.At
	}
	if s.Quiet {
		m.lastRecv = s.At // silence on hold is expected
	}
	m.samples = append(m.samples, s)
	// Keep the newest sample at least a window older than s as the base.
	for len(m.samples) > 2 && s.At.Sub(m.samples[1].At) >= m.th.Window {
		m.samples = m.samples[1:]
	}
	var out []AlarmChange

	silent := s.At.Sub(m.lastRecv)
	out = m.judge(out, s.At, AlarmOneWay, silent >= m.th.OneWayAfter, silent == 0, silent.Seconds(), m.th.OneWayAfter.Seconds())

	base := m.samples[0]
	recv := float64(s.Received) - float64(base.Received)
	lost := float64(s.Lost - base.Lost)
	if lost < 0 {
		lost = 0 // late packets counted as lost earlier
	}
	// Window figures need audio in the window and a full window behind
	// them; a silent or quiet leg keeps its loss/jitter alarms as they are.
	if s.Quiet || recv <= 0 || s.At.Sub(base.At) < m.th.Window {
		return out
	}
	loss := lost / (recv + lost)
	q := mos(loss, s.JitterMs)
	out = m.judge(out, s.At, AlarmLoss, loss > m.th.MaxLoss, loss < m.th.MaxLoss*clearLossFactor, loss, m.th.MaxLoss)
	out = m.judge(out, s.At, AlarmJitter, s.JitterMs > m.th.MaxJitterMs, s.JitterMs < m.th.MaxJitterMs*clearJitterFactor, s.JitterMs, m.th.MaxJitterMs)
	out = m.judge(out, s.At, AlarmMOS, q < m.th.MinMOS, q > m.th.MinMOS+clearMOSMargin, q, m.th.MinMOS)
	return out
}

// judge raises an alarm when bad, and clears a raised one when good and
// it has been on for at least a window (one-way audio clears at once:
// packets flowing again is unambiguous).
func (m *AlarmMonitor) judge(out []AlarmChange, now time.Time, kind AlarmKind, bad, good bool, value, threshold float64) []AlarmChange {
	at, on := m.raisedAt[kind]
	switch {
	case !on && bad:
		m.raisedAt[kind] = now
		return append(out, AlarmChange{Kind: kind, Raised: true, Value: value, Threshold: threshold})
	case on && good && (kind == AlarmOneWay || now.Sub(at) >= m.th.Window):
		delete(m.raisedAt, kind)
		return append(out, AlarmChange{Kind: kind, Raised: false, Value: value, Threshold: threshold})
	}
	return out
}
