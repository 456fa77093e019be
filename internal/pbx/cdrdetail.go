package pbx

import "time"

// CallDetail is what a call-quality monitor (VoIPmonitor's CDR) knows of a
// call beyond the Asterisk fields: names and domains, both legs' SIP
// Call-IDs, each RTP stream's addresses and quality, and the distribution
// of its losses and delays. The engine measures it and hands it over in
// Quality.Detail; the core copies it into CDR.Detail unchanged. Zero
// values mean "not known" (a call that never had media has no streams).
type CallDetail struct {
	CallerName   string // the caller's display name
	CallerDomain string // host part of the caller's From URI
	CalledDomain string // host part of the called party's To URI
	// CallIDB is the SIP Call-ID of the dialled leg (CDR.CallID is the
	// caller's).
	CallIDB string
	// A is the caller's RTP stream (caller -> switchboard), B the called
	// party's (called -> switchboard).
	A, B RTPStream
	// Trunk is set when a leg of the call went through a trunk (a
	// carrier), VoIPmonitor's direction-by-trunk flag.
	Trunk bool
	// NodeID is the node that handled the call (VoIPmonitor's sensor id);
	// 0 on a single node.
	NodeID int
}

// RTPStream is one direction of a call's audio as switchboard received it.
type RTPStream struct {
	SrcIP   string // where the stream came from (the phone or carrier)
	SrcPort int
	DstIP   string // switchboard's socket it arrived at
	DstPort int
	// PayloadType is the RTP payload number of the codec (0 PCMU, 8 PCMA,
	// 9 G722), -1 when no stream was set up.
	PayloadType     int
	Lost            int64
	MaxJitterMillis float64
	MOS             float64
	// LossBursts counts runs of 1..10+ consecutive lost packets;
	// DelayBuckets counts packets whose delay variation fell in 50-70,
	// 70-90, 90-120, 120-150, 150-200, 200-300 and 300+ ms.
	LossBursts   [10]uint32
	DelayBuckets [7]uint32
	// Series is the stream's quality over time, a point per interval
	// while the call was bridged (the panel's quality chart).
	Series []QualityPoint
}

// QualityPoint is one interval of a stream's quality.
type QualityPoint struct {
	At       time.Time // the interval's end
	Packets  int64     // received in the interval
	Lost     int64     // lost in the interval
	JitterMs float64   // interarrival jitter at its end
	MOS      float64   // estimated from the interval's loss and jitter
}

// MaxQualityPoints bounds a stream's series: a longer call's points are
// merged in pairs (halving the resolution), so a day-long call costs
// what an hour costs.
const MaxQualityPoints = 720

// AppendQualityPoint adds p to s, merging pairs once s is full.
func AppendQualityPoint(s []QualityPoint, p QualityPoint) []QualityPoint {
	if len(s) >= MaxQualityPoints {
		n := 0
		for i := 0; i+1 < len(s); i += 2 {
			a, b := s[i], s[i+1]
			s[n] = QualityPoint{At: b.At, Packets: a.Packets + b.Packets, Lost: a.Lost + b.Lost,
				JitterMs: max(a.JitterMs, b.JitterMs), MOS: min(a.MOS, b.MOS)}
			n++
		}
		if len(s)%2 == 1 {
			s[n] = s[len(s)-1]
			n++
		}
		s = s[:n]
	}
	return append(s, p)
}
