package media

import "encoding/binary"

// rtpPayload finds an RTP packet's payload: after the fixed header, the
// CSRC list and a header extension, before any padding. Every path that
// touches payloads (reading, transcoding on the relay, advancing the
// clock) uses this one parser, so none mistakes an extension or padding
// for audio. ok is false for packets whose lengths do not add up.
func rtpPayload(pkt []byte) (start, end int, ok bool) {
	if len(pkt) < 12 {
		return 0, 0, false
	}
	start = 12 + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 { // header extension
		if len(pkt) < start+4 {
			return 0, 0, false
		}
		start += 4 + 4*int(binary.BigEndian.Uint16(pkt[start+2:start+4]))
	}
	end = len(pkt)
	if start > end {
		return 0, 0, false
	}
	if pkt[0]&0x20 != 0 && end > start { // padding: its length is the last byte
		p := int(pkt[end-1])
		if p == 0 || p > end-start {
			return 0, 0, false
		}
		end -= p
	}
	return start, end, true
}
