package capture

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// MaxMergePackets bounds the packets Merge and ReadRTP hold in memory (a
// five-minute call both ways is 30,000 RTP packets).
const MaxMergePackets = 2_000_000

type packet struct {
	ci   gopacket.CaptureInfo
	data []byte
}

// Merge writes one PCAP holding the packets of every source in time
// order (a call's legs captured separately); with sipOnly, only the SIP
// messages (VoIPmonitor's disable_rtp).
func Merge(w io.Writer, srcs []io.Reader, sipOnly bool) error {
	var all []packet
	dec := newFrameDecoder()
	for i, r := range srcs {
		pr, err := pcapgo.NewReader(r)
		if err != nil {
			return fmt.Errorf("capture: source %d: not a pcap file: %w", i, err)
		}
		for {
			data, ci, err := pr.ReadPacketData()
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("capture: source %d: read: %w", i, err)
			}
			if len(all) >= MaxMergePackets {
				return fmt.Errorf("capture: more than %d packets", MaxMergePackets)
			}
			if sipOnly {
				if _, _, body, ok := dec.l4Payload(data); !ok || !looksLikeSIP(body) {
					continue
				}
			}
			all = append(all, packet{ci, append([]byte(nil), data...)})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].ci.Timestamp.Before(all[j].ci.Timestamp) })
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(Snaplen, layers.LinkTypeEthernet); err != nil {
		return fmt.Errorf("capture: write header: %w", err)
	}
	for _, p := range all {
		if err := pw.WritePacket(p.ci, p.data); err != nil {
			return fmt.Errorf("capture: write: %w", err)
		}
	}
	return nil
}

// frameDecoder decodes frames to their UDP or TCP payload; one per
// reader, reused for every packet (a parser per packet cost more than the
// decoding).
type frameDecoder struct {
	eth     layers.Ethernet
	ip4     layers.IPv4
	ip6     layers.IPv6
	udp     layers.UDP
	tcp     layers.TCP
	parser  *gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
}

func newFrameDecoder() *frameDecoder {
	d := &frameDecoder{decoded: make([]gopacket.LayerType, 0, 4)}
	d.parser = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &d.eth, &d.ip4, &d.ip6, &d.udp, &d.tcp)
	d.parser.IgnoreUnsupported = true
	return d
}

// l4Payload decodes a frame to its UDP or TCP payload and addresses (the
// payload aliases data).
func (d *frameDecoder) l4Payload(data []byte) (src, dst netip.AddrPort, body []byte, ok bool) {
	_ = d.parser.DecodeLayers(data, &d.decoded)
	var sip, dip netip.Addr
	for _, lt := range d.decoded {
		switch lt {
		case layers.LayerTypeIPv4:
			sip, _ = netip.AddrFromSlice(d.ip4.SrcIP)
			dip, _ = netip.AddrFromSlice(d.ip4.DstIP)
		case layers.LayerTypeIPv6:
			sip, _ = netip.AddrFromSlice(d.ip6.SrcIP)
			dip, _ = netip.AddrFromSlice(d.ip6.DstIP)
		case layers.LayerTypeUDP:
			return netip.AddrPortFrom(sip, uint16(d.udp.SrcPort)), netip.AddrPortFrom(dip, uint16(d.udp.DstPort)), d.udp.Payload, true
		case layers.LayerTypeTCP:
			return netip.AddrPortFrom(sip, uint16(d.tcp.SrcPort)), netip.AddrPortFrom(dip, uint16(d.tcp.DstPort)), d.tcp.Payload, true
		}
	}
	return netip.AddrPort{}, netip.AddrPort{}, nil, false
}

// RTPStream is the G.711 audio of one RTP stream of a capture, decoded to
// 8 kHz linear PCM and laid out on the capture's timeline: sample 0 is
// Start, gaps (losses, pauses) are silence.
type RTPStream struct {
	Src, Dst netip.AddrPort
	SSRC     uint32
	PT       uint8 // 0 PCMU, 8 PCMA
	Start    time.Time
	PCM      []int16
}

// ReadRTP decodes every G.711 (PCMU/PCMA) RTP stream the capture holds,
// by source address and SSRC, in order of first packet. Each packet's
// place comes from its RTP timestamp relative to the stream's first (the
// sender's clock, so network jitter does not smear the audio); other
// payload types (DTMF events, comfort noise) are skipped.
func ReadRTP(r io.Reader) ([]RTPStream, error) {
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("capture: not a pcap file: %w", err)
	}
	type key struct {
		src  netip.AddrPort
		ssrc uint32
	}
	type state struct {
		s       *RTPStream
		firstTS uint32
	}
	streams := map[key]*state{}
	var order []key
	dec := newFrameDecoder()
	n := 0
	for {
		data, ci, err := pr.ReadPacketData()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("capture: read: %w", err)
		}
		if n++; n > MaxMergePackets {
			return nil, fmt.Errorf("capture: more than %d packets", MaxMergePackets)
		}
		src, dst, body, ok := dec.l4Payload(data)
		if !ok || len(body) < 12 || body[0]>>6 != 2 || looksLikeSIP(body) {
			continue
		}
		pt := body[1] & 0x7f
		if pt != 0 && pt != 8 {
			continue
		}
		start, end, ok := payloadBounds(body)
		if !ok {
			continue
		}
		ts := uint32(body[4])<<24 | uint32(body[5])<<16 | uint32(body[6])<<8 | uint32(body[7])
		ssrc := uint32(body[8])<<24 | uint32(body[9])<<16 | uint32(body[10])<<8 | uint32(body[11])
		k := key{src, ssrc}
		st := streams[k]
		if st == nil {
			st = &state{s: &RTPStream{Src: src, Dst: dst, SSRC: ssrc, PT: pt, Start: ci.Timestamp}, firstTS: ts}
			streams[k] = st
			order = append(order, k)
		}
		off := int(int32(ts - st.firstTS))
		if off < 0 || off > 8000*3600*4 { // before the start or more than 4 h in: not this stream's audio
			continue
		}
		payload := body[start:end]
		if need := off + len(payload); need > len(st.s.PCM) {
			if need > cap(st.s.PCM) { // double: a call's audio grows packet by packet
				grown := make([]int16, need, max(need, 2*cap(st.s.PCM), 8000))
				copy(grown, st.s.PCM)
				st.s.PCM = grown
			} else {
				st.s.PCM = st.s.PCM[:need] // the spare capacity is still zero
			}
		}
		for i, b := range payload {
			if pt == 0 {
				st.s.PCM[off+i] = ulaw(b)
			} else {
				st.s.PCM[off+i] = alaw(b)
			}
		}
	}
	out := make([]RTPStream, 0, len(order))
	for _, k := range order {
		out = append(out, *streams[k].s)
	}
	return out, nil
}

// payloadBounds finds an RTP payload after the header, CSRCs and
// extension, without the padding.
func payloadBounds(p []byte) (int, int, bool) {
	start := 12 + 4*int(p[0]&0x0f)
	if p[0]&0x10 != 0 {
		if len(p) < start+4 {
			return 0, 0, false
		}
		start += 4 + 4*(int(p[start+2])<<8|int(p[start+3]))
	}
	end := len(p)
	if p[0]&0x20 != 0 && end > 0 {
		end -= int(p[end-1])
	}
	if start > end {
		return 0, 0, false
	}
	return start, end, true
}

// ulaw and alaw decode G.711 (ITU-T G.711 tables in closed form).
func ulaw(b byte) int16 {
	b = ^b
	t := (int(b&0x0f) << 3) + 0x84
	t <<= (b & 0x70) >> 4
	if b&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

func alaw(b byte) int16 {
	b ^= 0x55
	t := int(b&0x0f) << 4
	seg := (b & 0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if b&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}
