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
	"bytes"
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
	// ErrBehind is returned when the disk writer is too far behind and
	// the packet was dropped from the capture.
	ErrBehind = errors.New("capture: writer behind, packet dropped")
)

// File is one call's capture. Methods are safe for concurrent use: the
// SIP engine and both RTP legs write into the same file. WritePacket never
// touches the disk: frames collect in memory and a Writer's goroutine
// writes them out, so a slow disk costs captured packets (counted in
// Dropped), never a stalled media path.
type File struct {
	w *Writer

	mu      sync.Mutex
	f       *os.File
	pw      *pcapgo.Writer
	pending *bytes.Buffer // frames not yet on disk
	spare   *bytes.Buffer
	queued  bool // handed to the writer goroutine
	buf     gopacket.SerializeBuffer
	size    int64
	dropped int64
	closed  bool
	tcpSeq  map[[2]netip.AddrPort]uint32

	// Reused per packet (guarded by mu).
	eth          layers.Ethernet
	ip4          layers.IPv4
	ip6          layers.IPv6
	udp          layers.UDP
	tcp          layers.TCP
	srcIP, dstIP [16]byte

	ioMu sync.Mutex // orders disk writes between the writer goroutine and Close
}

// Buffering limits per file: frames are handed to the writer at flushAt
// bytes; beyond maxPending (the disk is behind) new packets are dropped.
const (
	flushAt    = 4 << 10
	maxPending = 128 << 10
	// keepCap: a buffer that grew past this during a disk stall is
	// released after its flush instead of being kept for the call's life.
	keepCap = 16 << 10
)

// Writer owns the goroutine that writes captures to disk. Construct with
// NewWriter, stop with Close (after the files are closed).
type Writer struct {
	ch   chan *File
	done chan struct{}
	once sync.Once
	// bufs recycles closed files' frame buffers: every call grew two
	// buffers from nothing, a fifth of the bytes the engine allocated per
	// call at 800 calls/s.
	bufs sync.Pool
}

// buffer is a frame buffer from the writer's pool (or new, without one).
func (w *Writer) buffer() *bytes.Buffer {
	if w != nil {
		if b, ok := w.bufs.Get().(*bytes.Buffer); ok {
			return b
		}
	}
	return bytes.NewBuffer(make([]byte, 0, 2*flushAt))
}

// recycle returns a drained buffer to the pool unless a stall grew it.
func (w *Writer) recycle(b *bytes.Buffer) {
	if w == nil || b == nil || b.Cap() > keepCap {
		return
	}
	b.Reset()
	w.bufs.Put(b)
}

// writers is how many goroutines write captures: several, so a loaded
// machine's scheduler or a slow write does not leave every call's buffer
// growing behind a single one. Per-file order holds (File.ioMu).
const writers = 4

// NewWriter starts the disk writers.
func NewWriter() *Writer {
	w := &Writer{ch: make(chan *File, 4096), done: make(chan struct{})}
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range w.ch {
				f.flush()
			}
		}()
	}
	go func() { wg.Wait(); close(w.done) }()
	return w
}

// Close stops the writer once everything handed to it is written.
func (w *Writer) Close() {
	w.once.Do(func() { close(w.ch) })
	<-w.done
}

// Create makes a new capture at path; an existing file is an error, so a
// capture never overwrites another.
func (w *Writer) Create(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("capture: create: %w", err)
	}
	c := &File{w: w, f: f, pending: w.buffer(), spare: w.buffer(), buf: gopacket.NewSerializeBuffer(),
		tcpSeq: map[[2]netip.AddrPort]uint32{}}
	c.pw = pcapgo.NewWriter(c.pending)
	if err := c.pw.WriteFileHeader(Snaplen, layers.LinkTypeEthernet); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("capture: header: %w", err)
	}
	c.size = 24
	return c, nil
}

// Create makes a capture written synchronously at Close and whenever its
// buffer fills (no Writer): for tools and tests.
func Create(path string) (*File, error) { return (*Writer)(nil).Create(path) }

// WritePacket frames payload as sent from src to dst at t.
func (c *File) WritePacket(t time.Time, proto Proto, src, dst netip.AddrPort, payload []byte) error {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	if src.Addr().Is4() != dst.Addr().Is4() || !src.Addr().IsValid() || !dst.Addr().IsValid() {
		return fmt.Errorf("capture: %v -> %v: mixed or invalid address families", src, dst)
	}
	c.mu.Lock()
	err := c.writeLocked(t, proto, src, dst, payload)
	sync := err == nil && c.w == nil && c.pending.Len() >= flushAt
	c.mu.Unlock()
	if sync {
		c.flush()
	}
	return err
}

func (c *File) writeLocked(t time.Time, proto Proto, src, dst netip.AddrPort, payload []byte) error {
	if c.closed {
		return ErrClosed
	}
	if c.pending.Len() >= maxPending {
		c.dropped++
		return ErrBehind
	}
	// The layers live in the File and are serialised payload first
	// (SerializeLayers' order), so the hot RTP path allocates nothing.
	c.srcIP, c.dstIP = src.Addr().As16(), dst.Addr().As16()
	c.eth = layers.Ethernet{SrcMAC: macA, DstMAC: macB}
	var ip gopacket.NetworkLayer
	var ipLayer gopacket.SerializableLayer
	ipProto := layers.IPProtocolUDP
	if proto == TCP {
		ipProto = layers.IPProtocolTCP
	}
	if src.Addr().Is4() {
		c.eth.EthernetType = layers.EthernetTypeIPv4
		c.ip4 = layers.IPv4{Version: 4, TTL: 64, Flags: layers.IPv4DontFragment, Protocol: ipProto, SrcIP: c.srcIP[12:], DstIP: c.dstIP[12:]}
		ip, ipLayer = &c.ip4, &c.ip4
	} else {
		c.eth.EthernetType = layers.EthernetTypeIPv6
		c.ip6 = layers.IPv6{Version: 6, HopLimit: 64, NextHeader: ipProto, SrcIP: c.srcIP[:], DstIP: c.dstIP[:]}
		ip, ipLayer = &c.ip6, &c.ip6
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
		c.tcp = layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), Seq: seq,
			Ack: max(c.tcpSeq[[2]netip.AddrPort{dst, src}], 1), PSH: true, ACK: true, Window: 65535}
		_ = c.tcp.SetNetworkLayerForChecksum(ip)
		l4 = &c.tcp
	default:
		c.udp = layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
		_ = c.udp.SetNetworkLayerForChecksum(ip)
		l4 = &c.udp
	}
	if err := c.buf.Clear(); err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	b, err := c.buf.AppendBytes(len(payload))
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	copy(b, payload)
	for _, l := range []gopacket.SerializableLayer{l4, ipLayer, &c.eth} {
		if err := l.SerializeTo(c.buf, serializeOpts); err != nil {
			return fmt.Errorf("capture: frame %v -> %v: %w", src, dst, err)
		}
	}
	data := c.buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: t, Length: len(data), CaptureLength: min(len(data), Snaplen)}
	if err := c.pw.WritePacket(ci, data[:ci.CaptureLength]); err != nil {
		return fmt.Errorf("capture: write: %w", err)
	}
	c.size += 16 + int64(ci.CaptureLength)
	if c.pending.Len() >= flushAt && !c.queued && c.w != nil {
		select {
		case c.w.ch <- c:
			c.queued = true
		default: // the writer's queue is full; a later packet retries
		}
	}
	return nil
}

// flush writes what is pending. The buffers swap under mu so writers
// keep appending while the disk write runs.
func (c *File) flush() {
	c.ioMu.Lock()
	defer c.ioMu.Unlock()
	c.mu.Lock()
	data := c.pending
	if data == nil { // closed and recycled; a stale queue entry
		c.mu.Unlock()
		return
	}
	c.pending, c.spare = c.spare, data
	c.pw = pcapgo.NewWriter(c.pending) // the header is written; a writer only formats records
	c.queued = false
	closedFile := c.f == nil
	c.mu.Unlock()
	if !closedFile && data.Len() > 0 {
		if _, err := c.f.Write(data.Bytes()); err != nil {
			c.mu.Lock()
			c.dropped++
			c.mu.Unlock()
		}
	}
	data.Reset()
	if data.Cap() > keepCap {
		c.mu.Lock()
		if c.spare == data {
			c.spare = new(bytes.Buffer)
		}
		c.mu.Unlock()
	}
}

// Dropped counts packets not captured because the disk was behind.
func (c *File) Dropped() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

var serializeOpts = gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}

// Size is the file's size so far.
func (c *File) Size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

// Close flushes and closes the file; it is idempotent.
func (c *File) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.flush() // whatever the writer has not taken yet
	c.ioMu.Lock()
	defer c.ioMu.Unlock()
	c.mu.Lock()
	f := c.f
	c.f = nil
	pending, spare := c.pending, c.spare
	c.pending, c.spare, c.pw = nil, nil, nil
	c.mu.Unlock()
	c.w.recycle(pending)
	c.w.recycle(spare)
	if err := f.Close(); err != nil {
		return fmt.Errorf("capture: close: %w", err)
	}
	return nil
}
