package media

import "encoding/binary"

// outStream makes everything a leg sends one RTP stream: relayed packets
// are rewritten to the leg's own SSRC, with sequence numbers and
// timestamps translated by offsets, so packets the leg generates itself
// (RFC 4733 digits, tones, music on hold) continue the stream the phone
// already receives. Phones such as baresip drop packets of a second SSRC
// (issue 10: digits injected into a bridged call were lost). The offsets
// keep the far end's gaps (loss, silence suppression) and are recomputed
// when the far end's SSRC changes (a transfer brought a new party); the
// sequence offset also after the leg sent any packet of its own, the
// timestamp offset only after it sent audio of its own (music, tones):
// injected digits must not move the clock of relayed packets, or a
// relayed digit's repeated end packets would look like a new event.
// Guarded by Leg.sendMu.
type outStream struct {
	have       bool   // offsets computed for inSSRC
	inSSRC     uint32 // the relayed source the offsets belong to
	seqOff     uint16
	tsOff      uint32
	localSeq   bool // the leg sent a packet of its own since the last relayed one
	localAudio bool // ... and it was audio
}

// writeRelayed sends a packet received on another leg as part of this
// leg's stream; pkt is rewritten in place. isDTMF packets keep their
// mapped timestamp (one per event).
func (l *Leg) writeRelayed(pkt []byte, isDTMF bool) {
	if len(pkt) < 12 {
		return
	}
	seq := binary.BigEndian.Uint16(pkt[2:4])
	ts := binary.BigEndian.Uint32(pkt[4:8])
	ssrc := binary.BigEndian.Uint32(pkt[8:12])
	l.sendMu.Lock()
	o := &l.out
	if !o.have || o.inSSRC != ssrc {
		o.have, o.inSSRC = true, ssrc
		o.seqOff = l.seq - seq
		o.tsOff = l.ts - ts
	} else {
		if o.localSeq {
			o.seqOff = l.seq - seq
		}
		if o.localAudio {
			o.tsOff = l.ts - ts
		}
	}
	o.localSeq, o.localAudio = false, false
	outSeq, outTS := seq+o.seqOff, ts+o.tsOff
	binary.BigEndian.PutUint16(pkt[2:4], outSeq)
	binary.BigEndian.PutUint32(pkt[4:8], outTS)
	binary.BigEndian.PutUint32(pkt[8:12], l.ssrc)
	if next := outSeq + 1; int16(next-l.seq) > 0 { // newer: our next own packet follows it
		l.seq = next
	}
	// Our clock moves past what was relayed, so a digit we inject starts
	// later than any relayed audio or event (same timestamp = same event).
	start, end, _ := rtpPayload(pkt)
	var next uint32
	switch n := end - start; {
	case isDTMF && n >= 4: // the event's duration so far
		next = outTS + uint32(binary.BigEndian.Uint16(pkt[start+2:start+4])) + 1
	case !isDTMF && n > 0: // G.711: one byte per sample
		next = outTS + uint32(n)
	default:
		next = l.ts
	}
	if int32(next-l.ts) > 0 {
		l.ts = next
	}
	l.sendMu.Unlock()
	l.write(pkt)
}
