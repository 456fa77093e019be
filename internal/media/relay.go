package media

import "sync/atomic"

// Relay copies RTP between two legs without decoding, except that it maps
// the telephone-event payload type and transcodes PCMU<->PCMA when the two
// legs negotiated different codecs. Each leg's read loop forwards into the
// other leg's socket; the packet is rewritten in place, so the hot path
// allocates nothing.
type Relay struct {
	a, b    *Leg
	stopped atomic.Bool
}

// NewRelay pairs two legs. Neither may already be receiving.
func NewRelay(a, b *Leg) *Relay { return &Relay{a: a, b: b} }

// Start begins relaying in both directions.
func (r *Relay) Start() {
	r.a.startLoop(r.forwarder(r.a, r.b))
	r.b.startLoop(r.forwarder(r.b, r.a))
}

func (r *Relay) forwarder(from, to *Leg) func([]byte, bool) {
	return func(pkt []byte, isDTMF bool) {
		if r.stopped.Load() {
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
				hlen := 12 + 4*int(pkt[0]&0x0f)
				for i := hlen; i < len(pkt); i++ {
					pkt[i] = tbl[pkt[i]]
				}
			}
			if inCodec.PT != outCodec.PT {
				pkt[1] = pkt[1]&0x80 | outCodec.PT
			}
		default:
			return // comfort noise or a codec we did not negotiate
		}
		to.write(pkt)
	}
}

// Stop ends forwarding. The legs' read loops (and their statistics) go on
// until the legs are closed, so the caller can still read final stats.
func (r *Relay) Stop() {
	r.stopped.Store(true)
}
