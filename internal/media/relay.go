package media

import "sync/atomic"

// Relay copies RTP between two legs without decoding, except that it maps
// the telephone-event payload type, transcodes PCMU<->PCMA when the two
// legs negotiated different codecs, and rewrites SSRC, sequence and
// timestamp into the receiving leg's own stream (see outStream). Each leg's read loop forwards into the
// other leg's socket; the packet is rewritten in place, so the hot path
// allocates nothing.
type Relay struct {
	a, b       *Leg
	stopped    atomic.Bool
	paused     atomic.Bool // on hold: nothing forwarded, the legs stay bridged
	fwdA, fwdB *forwardFunc
}

// NewRelay pairs two legs. A leg may have been in an earlier relay (a
// transfer re-bridges it); that relay must be stopped first.
func NewRelay(a, b *Leg) *Relay { return &Relay{a: a, b: b} }

// Start begins relaying in both directions.
func (r *Relay) Start() {
	r.fwdA, r.fwdB = r.forwarder(r.a, r.b), r.forwarder(r.b, r.a)
	r.a.fwd.Store(r.fwdA)
	r.b.fwd.Store(r.fwdB)
	r.a.startLoop()
	r.b.startLoop()
}

func (r *Relay) forwarder(from, to *Leg) *forwardFunc {
	f := forwardFunc(func(pkt []byte, isDTMF bool) {
		if r.stopped.Load() || r.paused.Load() {
			return
		}
		from.mu.Lock()
		inCodec, inDTMF := from.codec, from.dtmfPT
		from.mu.Unlock()
		to.mu.Lock()
		outCodec, outDTMF := to.codec, to.dtmfPT
		to.mu.Unlock()
		pt := pkt[1] & 0x7f
		switch {
		case isDTMF:
			if outDTMF == 0 {
				return // the other side cannot take RFC 4733
			}
			if inDTMF != outDTMF {
				pkt[1] = pkt[1]&0x80 | outDTMF
			}
		case pt == inCodec.PT:
			if inCodec.Name != outCodec.Name {
				tbl := &ulawToAlaw
				if inCodec.Name == PCMA.Name {
					tbl = &alawToUlaw
				}
				start, end, ok := rtpPayload(pkt)
				if !ok {
					return
				}
				for i := start; i < end; i++ {
					pkt[i] = tbl[pkt[i]]
				}
			}
			if inCodec.PT != outCodec.PT {
				pkt[1] = pkt[1]&0x80 | outCodec.PT
			}
		default:
			return // comfort noise or a codec we did not negotiate
		}
		to.writeRelayed(pkt, isDTMF)
	})
	return &f
}

// Stop ends forwarding. The legs' read loops (and their statistics) go on
// until the legs are closed, so the caller can still read final stats.
func (r *Relay) Stop() {
	r.stopped.Store(true)
	r.a.fwd.CompareAndSwap(r.fwdA, nil)
	r.b.fwd.CompareAndSwap(r.fwdB, nil)
}

// SetPaused stops (true) or resumes forwarding in both directions without
// unbridging: while a party holds the call, neither its audio nor its
// peer's is relayed (the peer hears music on hold instead).
func (r *Relay) SetPaused(p bool) { r.paused.Store(p) }
