package media

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// relatchAfter is how long the latched source must be silent before
// packets from another source may take the stream over. A single stray
// packet (a scanner, a late packet of an old call) can therefore never
// steal a live stream, while a phone that moved ports recovers quickly.
const relatchAfter = time.Second

// Leg is one RTP socket facing one remote party. It is driven either by a
// Relay (which runs its read loop and forwards to the other leg) or, for
// endpoints such as bots and tests, by StartReceiving. Methods are safe for
// concurrent use.
type Leg struct {
	alloc *PortAllocator
	port  int
	conn  *net.UDPConn
	local netip.AddrPort
	// dropEvery > 0 drops every nth generated audio packet after
	// numbering it (a lossy link: fault injection for tests and demos).
	dropEvery atomic.Int32

	mu         sync.Mutex
	remote     netip.AddrPort
	latched    bool
	unverified bool // remote came from an SDP we do not trust: send only once latched
	lastFromRm time.Time
	codec      Codec
	dtmfPT     uint8
	rx         rxStats
	bytesRecv  uint64
	onDTMF     func(rune, time.Duration)
	onAudio    func([]int16)
	lastDTMFTS uint32
	haveDTMFTS bool
	reading    bool

	// Sending state for locally generated packets (tones, digits).
	sendMu sync.Mutex
	ssrc   uint32
	seq    uint16
	ts     uint32
	marker bool
	out    outStream // relayed packets joined into this stream

	// taps receive decoded audio from the remote (recording, spy,
	// conference); copy-on-write so the read loop takes no lock for them.
	tapMu  sync.Mutex
	taps   atomic.Pointer[[]*tap]
	nextID uint64

	// capture, when set, sees every RTP packet received and sent (per-call
	// PCAP).
	capture atomic.Pointer[PacketTap]

	// fwd is where a Relay wants received packets; swappable so a leg can
	// be re-bridged to a new party (transfer) without restarting its loop.
	fwd atomic.Pointer[forwardFunc]

	sent      atomic.Uint64
	sentBytes atomic.Uint64
	start     time.Time

	closeOnce sync.Once
	wg        sync.WaitGroup
}

// NewLeg binds a socket from the range. No goroutine runs until a Relay
// or StartReceiving starts one.
func (a *PortAllocator) NewLeg() (*Leg, error) {
	conn, port, err := a.acquire()
	if err != nil {
		return nil, err
	}
	_ = conn.SetReadBuffer(256 << 10)
	_ = conn.SetWriteBuffer(256 << 10)
	return &Leg{alloc: a, port: port, conn: conn, local: netip.AddrPortFrom(a.ip, uint16(port)),
		codec: PCMU, ssrc: rand.Uint32(), seq: uint16(rand.Uint32()), ts: rand.Uint32(), marker: true, start: time.Now()}, nil
}

// LocalAddr is the address to put in our SDP.
func (l *Leg) LocalAddr() netip.AddrPort { return l.local }

// SetRemote sets where to send, from the peer's SDP. A later call (a
// re-INVITE) moves the stream and clears the latch.
func (l *Leg) SetRemote(addr netip.AddrPort, codec Codec, dtmfPT uint8) {
	l.setRemote(addr, codec, dtmfPT, false)
}

// SetRemoteUnverified is SetRemote for an SDP address that need not be
// the peer's: nothing is sent until RTP arrives, and then it goes to where
// that RTP came from (symmetric RTP). An SDP can otherwise aim our RTP
// (hold music, a relayed stream) at any third party's socket.
func (l *Leg) SetRemoteUnverified(addr netip.AddrPort, codec Codec, dtmfPT uint8) {
	l.setRemote(addr, codec, dtmfPT, true)
}

func (l *Leg) setRemote(addr netip.AddrPort, codec Codec, dtmfPT uint8, unverified bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.remote = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	l.unverified = unverified
	l.latched = false
	l.codec = codec
	l.dtmfPT = dtmfPT
}

// Codec is the negotiated codec.
func (l *Leg) Codec() Codec {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.codec
}

// OnDTMF registers a callback for RFC 4733 digits from the remote, called
// once per event when its end arrives.
func (l *Leg) OnDTMF(f func(digit rune, duration time.Duration)) {
	l.mu.Lock()
	l.onDTMF = f
	l.mu.Unlock()
}

// OnAudio registers a callback receiving each decoded audio frame.
func (l *Leg) OnAudio(f func(pcm []int16)) {
	l.mu.Lock()
	l.onAudio = f
	l.mu.Unlock()
}

// PacketTap receives a copy-free view of one RTP packet and the socket
// addresses it travelled between; it must not keep pkt.
type PacketTap func(src, dst netip.AddrPort, pkt []byte)

// SetPacketTap installs (or with nil removes) the leg's packet tap.
func (l *Leg) SetPacketTap(f PacketTap) {
	if f == nil {
		l.capture.Store(nil)
		return
	}
	l.capture.Store(&f)
}

type tap struct {
	id uint64
	f  func([]int16)
}

// AddTap registers f to receive every decoded audio frame from the remote
// party (8 kHz linear PCM, usually 160 samples). f runs on the leg's read
// loop and must not block or keep pcm. The returned function removes it.
func (l *Leg) AddTap(f func(pcm []int16)) (remove func()) {
	l.tapMu.Lock()
	defer l.tapMu.Unlock()
	l.nextID++
	id := l.nextID
	var cur []*tap
	if p := l.taps.Load(); p != nil {
		cur = *p
	}
	next := append(append([]*tap(nil), cur...), &tap{id: id, f: f})
	l.taps.Store(&next)
	return func() {
		l.tapMu.Lock()
		defer l.tapMu.Unlock()
		var cur []*tap
		if p := l.taps.Load(); p != nil {
			cur = *p
		}
		next := make([]*tap, 0, len(cur))
		for _, t := range cur {
			if t.id != id {
				next = append(next, t)
			}
		}
		l.taps.Store(&next)
	}
}

// DropGenerated makes the leg lose every nth audio packet it generates
// (tones, music, mixes) as a lossy network would: numbered, never sent.
// 0 stops it. Relayed packets are not affected.
func (l *Leg) DropGenerated(n int) { l.dropEvery.Store(int32(max(n, 0))) }

// Stats returns the leg's counters.
func (l *Leg) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	lost, frac := l.rx.lost()
	j := l.rx.jitter / 8 // 8 kHz clock: units to ms
	s := Stats{PacketsRecv: l.rx.received, BytesRecv: l.bytesRecv, PacketsLost: lost, LossFraction: frac,
		JitterMillis: math.Round(j*100) / 100, RemoteAddr: l.remote,
		PacketsSent: l.sent.Load(), BytesSent: l.sentBytes.Load(),
		MaxJitterMillis: math.Round(l.rx.maxJit/8*100) / 100, LossBursts: l.rx.bursts, DelayBuckets: l.rx.delays}
	if l.rx.received > 0 { // no packets, no score (not a perfect one)
		s.MOS = mos(frac, j)
	}
	return s
}

// ResetReceiveStats starts the leg's receive statistics (packets, bytes,
// loss, jitter) afresh: a call transferred to a new party reports each
// leg's quality separately while the transferee's stream goes on.
func (l *Leg) ResetReceiveStats() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rx = rxStats{}
	l.bytesRecv = 0
}

// LastReceived is when the last RTP packet from the remote party arrived
// (zero before the first): the engine's inactivity timeout reads it.
func (l *Leg) LastReceived() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastFromRm
}

// Close stops the leg's goroutines and returns its port (to drain). It is
// idempotent.
func (l *Leg) Close() error {
	var err error
	l.closeOnce.Do(func() {
		err = l.conn.Close()
		l.wg.Wait()
		l.alloc.release(l.port)
	})
	return err
}

type forwardFunc func(pkt []byte, isDTMF bool)

// StartReceiving runs the read loop for endpoint use (no relay).
func (l *Leg) StartReceiving() {
	l.startLoop()
}

func (l *Leg) startLoop() {
	l.mu.Lock()
	if l.reading {
		l.mu.Unlock()
		return
	}
	l.reading = true
	l.mu.Unlock()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.readLoop()
	}()
}

func (l *Leg) readLoop() {
	buf := make([]byte, 1500)
	var pcm []int16
	for {
		n, src, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if n < 12 || buf[0]>>6 != 2 {
			continue // not RTP version 2 (RTCP muxing, STUN, junk)
		}
		pkt := buf[:n]
		pt := pkt[1] & 0x7f
		if pt >= 72 && pt <= 76 {
			continue // RTCP on the RTP port
		}
		seq := binary.BigEndian.Uint16(pkt[2:4])
		ts := binary.BigEndian.Uint32(pkt[4:8])
		ssrc := binary.BigEndian.Uint32(pkt[8:12])
		start, end, ok := rtpPayload(pkt)
		if !ok {
			continue
		}
		payload := pkt[start:end]
		now := time.Now()
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		if c := l.capture.Load(); c != nil {
			(*c)(src, l.local, pkt)
		}

		l.mu.Lock()
		if src != l.remote {
			if !l.latched || now.Sub(l.lastFromRm) > relatchAfter {
				l.remote = src
				l.latched = true
			} else {
				l.mu.Unlock()
				continue // not our party
			}
		}
		l.latched = true
		l.lastFromRm = now
		l.rx.update(ssrc, seq, ts, int64(now.Sub(l.start)/time.Microsecond)*8/1000)
		l.bytesRecv += uint64(n)
		isDTMF := l.dtmfPT != 0 && pt == l.dtmfPT
		var dtmfCB func(rune, time.Duration)
		var digit rune
		var dur time.Duration
		if isDTMF && len(payload) >= 4 && payload[1]&0x80 != 0 {
			if !l.haveDTMFTS || l.lastDTMFTS != ts {
				l.haveDTMFTS, l.lastDTMFTS = true, ts
				if d, ok := eventDigit(payload[0]); ok {
					dtmfCB, digit = l.onDTMF, d
					dur = time.Duration(binary.BigEndian.Uint16(payload[2:4])) * time.Second / 8000
				}
			}
		}
		audioCB := l.onAudio
		codec := l.codec
		l.mu.Unlock()

		if dtmfCB != nil {
			dtmfCB(digit, dur)
		}
		var taps []*tap
		if p := l.taps.Load(); p != nil {
			taps = *p
		}
		if (audioCB != nil || len(taps) > 0) && !isDTMF && pt == codec.PT {
			pcm = pcm[:0]
			dec := decoder(codec)
			for _, b := range payload {
				pcm = append(pcm, dec(b))
			}
			if audioCB != nil {
				audioCB(pcm)
			}
			for _, t := range taps {
				t.f(pcm)
			}
		}
		if f := l.fwd.Load(); f != nil {
			(*f)(pkt, isDTMF)
		}
	}
}

// write sends one packet to the remote.
func (l *Leg) write(pkt []byte) {
	l.mu.Lock()
	dst := l.remote
	hold := l.unverified && !l.latched
	l.mu.Unlock()
	if hold || !dst.IsValid() || dst.Port() == 0 || dst.Addr().IsUnspecified() {
		return
	}
	if _, err := l.conn.WriteToUDPAddrPort(pkt, dst); err == nil {
		l.sent.Add(1)
		l.sentBytes.Add(uint64(len(pkt)))
		if c := l.capture.Load(); c != nil {
			(*c)(l.local, dst, pkt)
		}
	}
}

const dtmfDigits = "0123456789*#ABCD"

func eventDigit(ev byte) (rune, bool) {
	if int(ev) < len(dtmfDigits) {
		return rune(dtmfDigits[ev]), true
	}
	return 0, false
}

// header writes an RTP header for a locally generated packet. Callers hold
// sendMu.
func (l *Leg) header(b []byte, pt uint8, marker bool) {
	b[0] = 0x80
	b[1] = pt
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:4], l.seq)
	binary.BigEndian.PutUint32(b[4:8], l.ts)
	binary.BigEndian.PutUint32(b[8:12], l.ssrc)
	l.seq++
	l.out.localSeq = true
}

// PlayTone sends a sine tone as 20 ms G.711 frames until ctx ends.
func (l *Leg) PlayTone(ctx context.Context, freqHz float64) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	pkt := make([]byte, 12+frameSamples)
	pcm := make([]int16, frameSamples)
	phase := 0.0
	step := 2 * math.Pi * freqHz / 8000
	for {
		for i := range pcm {
			pcm[i] = int16(8000 * math.Sin(phase))
			phase += step
		}
		phase = math.Mod(phase, 2*math.Pi)
		l.sendPCM(pcm, pkt)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// SendDTMF plays digits as RFC 4733 events: marker on the first packet, one
// timestamp per event, the end packet three times. Each digit lasts dur
// (minimum 40 ms) followed by 60 ms of pause.
func (l *Leg) SendDTMF(ctx context.Context, digits string, dur time.Duration) error {
	l.mu.Lock()
	pt := l.dtmfPT
	l.mu.Unlock()
	if pt == 0 {
		pt = 101
	}
	if dur < 40*time.Millisecond {
		dur = 40 * time.Millisecond
	}
	steps := int(dur / (20 * time.Millisecond))
	for _, r := range digits {
		ev := -1
		for i, d := range dtmfDigits {
			if d == r {
				ev = i
			}
		}
		if ev < 0 {
			return errors.New("media: not a DTMF digit: " + string(r))
		}
		l.sendMu.Lock()
		startTS := l.ts
		l.sendMu.Unlock()
		pkt := make([]byte, 16)
		for i := 1; i <= steps+3; i++ {
			end := i > steps
			d := min(i, steps) * 160
			l.sendMu.Lock()
			saved := l.ts
			l.ts = startTS
			l.header(pkt, pt, i == 1)
			l.ts = saved
			l.sendMu.Unlock()
			pkt[12] = byte(ev)
			pkt[13] = 10 // volume -10 dBm0
			if end {
				pkt[13] |= 0x80
			}
			binary.BigEndian.PutUint16(pkt[14:16], uint16(d))
			l.write(pkt)
			if !end || i == steps+3 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
		l.sendMu.Lock()
		// Leave room for the event on the audio clock, but never move it
		// back: relayed audio may have advanced it meanwhile.
		if next := startTS + uint32(steps*160) + 480; int32(next-l.ts) > 0 {
			l.ts = next
		}
		l.sendMu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(60 * time.Millisecond):
		}
	}
	return nil
}

// DominantFrequency returns the candidate with the most energy in pcm
// (Goertzel), so tests can assert what was heard, not only that bytes
// arrived.
func DominantFrequency(pcm []int16, sampleRate int, candidates []float64) float64 {
	best, bestP := 0.0, -1.0
	for _, f := range candidates {
		if p := TonePower(pcm, sampleRate, f); p > bestP {
			best, bestP = f, p
		}
	}
	return best
}

// TonePower is the Goertzel power of frequency f in pcm: tests compare it
// across frequencies to tell which parties are audible in a mix.
func TonePower(pcm []int16, sampleRate int, f float64) float64 {
	k := 2 * math.Cos(2*math.Pi*f/float64(sampleRate))
	var s1, s2 float64
	for _, x := range pcm {
		s0 := float64(x) + k*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - k*s1*s2
}
