package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Message is one SIP message found in a capture: a rung of the ladder.
type Message struct {
	Time   time.Time      `json:"time"`
	Src    netip.AddrPort `json:"src"`
	Dst    netip.AddrPort `json:"dst"`
	Proto  string         `json:"proto"` // "udp" or "tcp"
	Line   string         `json:"line"`  // request line or status line
	Method string         `json:"method,omitempty"`
	Status int            `json:"status,omitempty"`
	Length int            `json:"length"`
	Raw    string         `json:"raw,omitempty"`
}

// MaxLadder bounds how many messages ReadSIP returns.
const MaxLadder = 10000

// ReadSIP returns the SIP messages of a capture in file order, skipping
// RTP and anything else. withRaw includes each message's text.
func ReadSIP(path string, withRaw bool) ([]Message, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capture: open: %w", err)
	}
	defer f.Close()
	return readSIP(f, withRaw)
}

// ReadSIPFrom is ReadSIP on an opened capture.
func ReadSIPFrom(r io.Reader, withRaw bool) ([]Message, error) { return readSIP(r, withRaw) }

func readSIP(r io.Reader, withRaw bool) ([]Message, error) {
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("capture: not a pcap file: %w", err)
	}
	var eth layers.Ethernet
	var ip4 layers.IPv4
	var ip6 layers.IPv6
	var udp layers.UDP
	var tcp layers.TCP
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &udp, &tcp)
	parser.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 6)
	out := []Message{}
	for len(out) < MaxLadder {
		data, ci, err := pr.ReadPacketData()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break // a file still being written ends mid-record
		}
		if err != nil {
			return out, fmt.Errorf("capture: read: %w", err)
		}
		if err := parser.DecodeLayers(data, &decoded); err != nil && len(decoded) == 0 {
			continue
		}
		var m Message
		var body []byte
		var srcIP, dstIP netip.Addr
		for _, lt := range decoded {
			switch lt {
			case layers.LayerTypeIPv4:
				srcIP, _ = netip.AddrFromSlice(ip4.SrcIP)
				dstIP, _ = netip.AddrFromSlice(ip4.DstIP)
			case layers.LayerTypeIPv6:
				srcIP, _ = netip.AddrFromSlice(ip6.SrcIP)
				dstIP, _ = netip.AddrFromSlice(ip6.DstIP)
			case layers.LayerTypeUDP:
				m.Proto, body = "udp", udp.Payload
				m.Src, m.Dst = netip.AddrPortFrom(srcIP, uint16(udp.SrcPort)), netip.AddrPortFrom(dstIP, uint16(udp.DstPort))
			case layers.LayerTypeTCP:
				m.Proto, body = "tcp", tcp.Payload
				m.Src, m.Dst = netip.AddrPortFrom(srcIP, uint16(tcp.SrcPort)), netip.AddrPortFrom(dstIP, uint16(tcp.DstPort))
			}
		}
		if m.Proto == "" || !looksLikeSIP(body) {
			continue
		}
		line := body
		if i := bytes.Index(body, []byte("\r\n")); i >= 0 {
			line = body[:i]
		}
		m.Time, m.Line, m.Length = ci.Timestamp, string(line), len(body)
		if bytes.HasPrefix(line, []byte("SIP/2.0 ")) && len(line) >= 11 {
			fmt.Sscanf(string(line[8:11]), "%d", &m.Status)
		} else if i := bytes.IndexByte(line, ' '); i > 0 {
			m.Method = string(line[:i])
		}
		if withRaw {
			m.Raw = string(body)
		}
		out = append(out, m)
	}
	return out, nil
}

// looksLikeSIP tells SIP from RTP: RTP starts with version bits 10, SIP
// with an upper-case method or "SIP/2.0".
func looksLikeSIP(b []byte) bool {
	if bytes.HasPrefix(b, []byte("SIP/2.0 ")) {
		return true
	}
	i := bytes.IndexByte(b, ' ')
	if i < 3 || i > 16 {
		return false
	}
	for _, c := range b[:i] {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return bytes.Contains(b[:min(len(b), 512)], []byte(" SIP/2.0\r\n"))
}
