// Package capture writes per-call PCAP files — every SIP message and RTP
// packet of a call framed as Ethernet/IP/UDP (or TCP) around the real
// payloads, so Wireshark and sngrep open them as they would a tcpdump —
// reads their SIP back for the ladder view, and bounds the disk they use.
//
// switchboard sees payloads, not frames: the IP and UDP headers are
// synthesised from the socket addresses, with correct lengths and
// checksums. MAC addresses are fixed placeholders.
package capture

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Snaplen is the largest frame kept whole.
const Snaplen = 65535

// Proto is the transport a payload travelled on.
type Proto int

const (
	UDP Proto = iota
	TCP
)

var (
	macA = net.HardwareAddr{0x02, 0x53, 0x42, 0, 0, 1} // locally administered
	macB = net.HardwareAddr{0x02, 0x53, 0x42, 0, 0, 2}

	// ErrClosed is returned by WritePacket after Close.
	ErrClosed = errors.New("capture: file closed")
)

// File is one call's capture. Methods are safe for concurrent use: the
// SIP engine and both RTP legs write into the same file.
type File struct {
	mu     sync.Mutex
	f      *os.File
	bw     *bufio.Writer
	w      *pcapgo.Writer
	buf    gopacket.SerializeBuffer
	size   int64
	closed bool
	tcpSeq map[[2]netip.AddrPort]uint32
}

// Create makes a new capture at path; an existing file is an error, so a
// capture never overwrites another.
func Create(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("capture: create: %w", err)
	}
	bw := bufio.NewWriterSize(f, 8<<10) // small: a call rate of thousands per second must not mean as many large buffers
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(Snaplen, layers.LinkTypeEthernet); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("capture: header: %w", err)
	}
	return &File{f: f, bw: bw, w: w, buf: gopacket.NewSerializeBuffer(), size: 24, tcpSeq: map[[2]netip.AddrPort]uint32{}}, nil
}

// WritePacket frames payload as sent from src to dst at t.
func (c *File) WritePacket(t time.Time, proto Proto, src, dst netip.AddrPort, payload []byte) error {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	if src.Addr().Is4() != dst.Addr().Is4() || !src.Addr().IsValid() || !dst.Addr().IsValid() {
		return fmt.Errorf("capture: %v -> %v: mixed or invalid address families", src, dst)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB}
	var ip gopacket.NetworkLayer
	var ipLayer gopacket.SerializableLayer
	if src.Addr().Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		v4 := &layers.IPv4{Version: 4, TTL: 64, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice(), Flags: layers.IPv4DontFragment}
		ip, ipLayer = v4, v4
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		v6 := &layers.IPv6{Version: 6, HopLimit: 64, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		ip, ipLayer = v6, v6
	}
	var l4 gopacket.SerializableLayer
	switch proto {
	case TCP:
		key := [2]netip.AddrPort{src, dst}
		seq := c.tcpSeq[key]
		if seq == 0 {
			seq = 1
		}
		c.tcpSeq[key] = seq + uint32(len(payload))
		tcp := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), Seq: seq,
			Ack: max(c.tcpSeq[[2]netip.AddrPort{dst, src}], 1), PSH: true, ACK: true, Window: 65535}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		setProto(ipLayer, layers.IPProtocolTCP)
		l4 = tcp
	default:
		udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
		_ = udp.SetNetworkLayerForChecksum(ip)
		setProto(ipLayer, layers.IPProtocolUDP)
		l4 = udp
	}
	if err := c.buf.Clear(); err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(c.buf, opts, eth, ipLayer, l4, gopacket.Payload(payload)); err != nil {
		return fmt.Errorf("capture: frame %v -> %v: %w", src, dst, err)
	}
	data := c.buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: t, Length: len(data), CaptureLength: min(len(data), Snaplen)}
	if err := c.w.WritePacket(ci, data[:ci.CaptureLength]); err != nil {
		return fmt.Errorf("capture: write: %w", err)
	}
	c.size += 16 + int64(ci.CaptureLength)
	return nil
}

func setProto(l gopacket.SerializableLayer, p layers.IPProtocol) {
	switch ip := l.(type) {
	case *layers.IPv4:
		ip.Protocol = p
	case *layers.IPv6:
		ip.NextHeader = p
	}
}

// Size is the file's size so far.
func (c *File) Size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

// Close flushes and closes the file; it is idempotent.
func (c *File) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	err := c.bw.Flush()
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("capture: close: %w", err)
	}
	return nil
}
