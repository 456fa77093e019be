package main

import (
	"encoding/binary"
	"errors"
	"math"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
)

// The generator's packets carry their own identity in the first bytes of
// the G.711 payload (the relay copies payloads unchanged between two PCMA
// legs): which stream, which packet, when it was sent. That is what lets a
// handful of shared sockets carry every call, so sends and receives go in
// batches (sendmmsg/recvmmsg) and the generator stays cheap beside the
// switchboard it measures.
const (
	payloadLen  = 160 // 20 ms of G.711 at 8 kHz
	stampLen    = 20  // magic, stream id, sequence, send time
	ptime       = 20 * time.Millisecond
	batchSize   = 64
	rtpHeadLen  = 12
	packetLen   = rtpHeadLen + payloadLen
	pcmaSilence = 0xD5
)

var magic = [4]byte{'S', 'B', 'L', 'G'}

// stamp is what a packet says about itself.
type stamp struct {
	stream uint32
	seq    uint32
	sentNs int64
}

// putPacket writes an RTP packet (PCMA, payload type 8) carrying st into
// b, which must hold packetLen bytes.
func putPacket(b []byte, ssrc uint32, rtpSeq uint16, ts uint32, marker bool, st stamp) {
	b[0] = 0x80
	b[1] = 8
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], rtpSeq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	p := b[rtpHeadLen:packetLen]
	copy(p, magic[:])
	binary.BigEndian.PutUint32(p[4:], st.stream)
	binary.BigEndian.PutUint32(p[8:], st.seq)
	binary.BigEndian.PutUint64(p[12:], uint64(st.sentNs))
	for i := stampLen; i < payloadLen; i++ {
		p[i] = pcmaSilence
	}
}

var errNotOurs = errors.New("not a generator packet")

// parsePacket reads the stamp of a packet the relay delivered. Packets
// that are not ours (ringback, comfort noise, RTCP muxed by mistake) are
// refused, never misread: the header's CSRC count and extension are
// honoured, so a relay that adds either still finds the payload.
func parsePacket(b []byte) (stamp, error) {
	if len(b) < rtpHeadLen || b[0]>>6 != 2 {
		return stamp{}, errNotOurs
	}
	off := rtpHeadLen + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 {
		if len(b) < off+4 {
			return stamp{}, errNotOurs
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
	}
	if len(b) < off+stampLen || [4]byte(b[off:off+4]) != magic {
		return stamp{}, errNotOurs
	}
	p := b[off:]
	return stamp{
		stream: binary.BigEndian.Uint32(p[4:]),
		seq:    binary.BigEndian.Uint32(p[8:]),
		sentNs: int64(binary.BigEndian.Uint64(p[12:])),
	}, nil
}

// stream is one direction of one call: the sender side owns the RTP
// counters; the receiving socket's reader owns seen.
type stream struct {
	id     uint32
	dst    netip.AddrPort
	ssrc   uint32
	rtpSeq uint16
	ts     uint32
	next   int64 // unix ns of the next packet
	until  int64 // unix ns: sends nothing from then on
	buf    [packetLen]byte

	sending atomic.Bool
	sent    atomic.Uint32
	recv    atomic.Uint32
	dup     atomic.Uint32
	late    atomic.Uint32 // arrived after a later packet of the stream
	maxSeq  uint32        // reader-owned
	seen    []uint64      // reader-owned bitset by stamp.seq
}

// mark records a packet's arrival; it reports false for a duplicate.
func (s *stream) mark(seq uint32) bool {
	w := int(seq / 64)
	if w >= len(s.seen) {
		n := make([]uint64, w+w/2+64)
		copy(n, s.seen)
		s.seen = n
	}
	bit := uint64(1) << (seq % 64)
	if s.seen[w]&bit != 0 {
		s.dup.Add(1)
		return false
	}
	s.seen[w] |= bit
	if seq+1 < s.maxSeq {
		s.late.Add(1)
	}
	if seq+1 > s.maxSeq {
		s.maxSeq = seq + 1
	}
	s.recv.Add(1)
	return true
}

// histogram of one-way latency in 50 µs buckets up to 1 s, then overflow.
const (
	bucketNs = 50_000
	buckets  = 20_000
)

type histogram struct {
	n     [buckets + 1]uint64
	count uint64
	maxNs int64
	sumNs float64
	negNs uint64 // clock oddities: received before sent
}

func (h *histogram) add(ns int64) {
	if ns < 0 {
		h.negNs++
		ns = 0
	}
	i := ns / bucketNs
	if i > buckets {
		i = buckets
	}
	h.n[i]++
	h.count++
	h.sumNs += float64(ns)
	if ns > h.maxNs {
		h.maxNs = ns
	}
}

func (h *histogram) merge(o *histogram) {
	for i := range h.n {
		h.n[i] += o.n[i]
	}
	h.count += o.count
	h.sumNs += o.sumNs
	h.negNs += o.negNs
	h.maxNs = max(h.maxNs, o.maxNs)
}

// quantile is the upper edge of the bucket holding quantile q.
func (h *histogram) quantile(q float64) time.Duration {
	if h.count == 0 {
		return 0
	}
	want := uint64(math.Ceil(q * float64(h.count)))
	var acc uint64
	for i, n := range h.n {
		acc += n
		if acc >= want {
			if i == buckets {
				return time.Duration(h.maxNs)
			}
			return time.Duration((int64(i) + 1) * bucketNs)
		}
	}
	return time.Duration(h.maxNs)
}

// rtpSocket is one shared UDP socket: a sender paced per stream and a
// batch reader.
type rtpSocket struct {
	conn *net.UDPConn
	pc   *ipv4.PacketConn
	port uint16

	mu      sync.Mutex
	streams []*stream // sent from this socket

	lookup func(id uint32) *stream // every stream, by id, for the reader
	hist   histogram               // reader-owned until it stops
	alien  atomic.Uint64           // packets that were not ours
}

func newRTPSocket(ip netip.Addr, lookup func(uint32) *stream) (*rtpSocket, error) {
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		return nil, err
	}
	// Big buffers: a burst of a thousand calls' packets must not be
	// dropped by the generator itself.
	_ = conn.SetReadBuffer(8 << 20)
	_ = conn.SetWriteBuffer(8 << 20)
	return &rtpSocket{conn: conn, pc: ipv4.NewPacketConn(conn), port: uint16(conn.LocalAddr().(*net.UDPAddr).Port), lookup: lookup}, nil
}

func (s *rtpSocket) add(st *stream) {
	s.mu.Lock()
	s.streams = append(s.streams, st)
	s.mu.Unlock()
}

func (s *rtpSocket) remove(st *stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.streams {
		if x == st {
			// A fresh slice: the sender may be iterating the old one.
			n := make([]*stream, 0, len(s.streams)-1)
			n = append(n, s.streams[:i]...)
			s.streams = append(n, s.streams[i+1:]...)
			return
		}
	}
}

// send paces every stream of the socket at one packet per ptime, on its
// own schedule, until stop closes; a late tick sends what is due (a
// stream never bursts more than two packets to catch up).
func (s *rtpSocket) send(stop <-chan struct{}, errs *atomic.Uint64) {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	msgs := make([]ipv4.Message, 0, batchSize)
	flush := func() {
		for len(msgs) > 0 {
			n, err := s.pc.WriteBatch(msgs, 0)
			if err != nil {
				errs.Add(uint64(len(msgs)))
				break
			}
			msgs = msgs[n:]
		}
		msgs = msgs[:0]
	}
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		s.mu.Lock()
		list := s.streams
		s.mu.Unlock()
		now := time.Now().UnixNano()
		for _, st := range list {
			if !st.sending.Load() || st.next > now || now >= st.until {
				continue
			}
			if now-st.next > int64(2*ptime) {
				st.next = now // fell behind (machine stalled): restart the clock, do not burst
			}
			seq := st.sent.Load()
			putPacket(st.buf[:], st.ssrc, st.rtpSeq, st.ts, seq == 0, stamp{stream: st.id, seq: seq, sentNs: time.Now().UnixNano()})
			st.rtpSeq++
			st.ts += payloadLen
			st.next += int64(ptime)
			msgs = append(msgs, ipv4.Message{Buffers: [][]byte{st.buf[:]}, Addr: net.UDPAddrFromAddrPort(st.dst)})
			st.sent.Add(1)
			if len(msgs) == cap(msgs) {
				flush()
			}
		}
		flush()
	}
}

// read takes packets in batches until the socket closes.
func (s *rtpSocket) read() {
	msgs := make([]ipv4.Message, batchSize)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 1500)}
	}
	for {
		n, err := s.pc.ReadBatch(msgs, 0)
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		for _, m := range msgs[:n] {
			st, err := parsePacket(m.Buffers[0][:m.N])
			if err != nil {
				s.alien.Add(1)
				continue
			}
			str := s.lookup(st.stream)
			if str == nil {
				s.alien.Add(1)
				continue
			}
			if str.mark(st.seq) {
				s.hist.add(now - st.sentNs)
			}
		}
	}
}

// kernelDrops reads the receive drops the kernel counted on our sockets
// (/proc/net/udp's last column): proof the generator itself kept up.
func kernelDrops(ports map[uint16]bool, procNetUDP string) uint64 {
	var total uint64
	for _, line := range strings.Split(procNetUDP, "\n") {
		cols := strings.Fields(line)
		if len(cols) < 13 {
			continue
		}
		_, portHex, ok := strings.Cut(cols[1], ":")
		if !ok {
			continue
		}
		port, err := strconv.ParseUint(portHex, 16, 16)
		if err != nil || !ports[uint16(port)] {
			continue
		}
		if d, err := strconv.ParseUint(cols[len(cols)-1], 10, 64); err == nil {
			total += d
		}
	}
	return total
}

// sortedDurations is for the report's per-call figures.
func sortedDurations(d []time.Duration) []time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d
}
