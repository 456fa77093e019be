package pbx

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
}
