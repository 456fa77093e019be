package sipengine

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/capture"
	"github.com/switchboard-pbx/switchboard/internal/media"
)

// Per-call capture. SIP is captured on the wire, through sipgo's trace
// hook, so the PCAP holds exactly what was sent and received —
// retransmissions, 100 Trying, ACK, CANCEL and BYE included — rather than
// what the call logic chose to note. The hook is process-wide in sipgo;
// wireTracer fans it out to the engines that asked, and each engine keeps
// only messages on its own listening socket (so demo bots living in the
// same process are not captured twice).

// CaptureConfig enables per-call PCAP files under Dir/<tenant>/<call id>.pcap.
type CaptureConfig struct {
	Dir string
	// RTP also captures media packets; SIP alone is much smaller.
	RTP bool
}

type wireTracer struct {
	mu      sync.RWMutex
	engines map[*Engine]struct{}
}

// tracer is sipgo's one process-wide hook for raw messages (sipgo offers
// no per-transport one). It is installed before any transport can run:
// switching sip.SIPDebug on later raced with the readers of engines
// already serving. With no capturing engine registered it costs a read
// lock per message.
var tracer = &wireTracer{engines: map[*Engine]struct{}{}}

func init() {
	sip.SIPDebugTracer(tracer)
	sip.SIPDebug = true
}

func (w *wireTracer) add(e *Engine) {
	w.mu.Lock()
	w.engines[e] = struct{}{}
	w.mu.Unlock()
}

func (w *wireTracer) remove(e *Engine) {
	w.mu.Lock()
	delete(w.engines, e)
	w.mu.Unlock()
}

func (w *wireTracer) dispatch(transport, laddr, raddr string, msg []byte, out bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	for e := range w.engines {
		e.caps.traced(transport, laddr, raddr, msg, out)
	}
}

func (w *wireTracer) SIPTraceRead(transport, laddr, raddr string, msg []byte) {
	w.dispatch(transport, laddr, raddr, msg, false)
}

func (w *wireTracer) SIPTraceWrite(transport, laddr, raddr string, msg []byte) {
	w.dispatch(transport, laddr, raddr, msg, true)
}

// pendingTTL bounds how long a message whose call does not exist yet (the
// INVITE that creates it, its 100 Trying) waits to be claimed.
const (
	pendingTTL = 5 * time.Second
	maxPending = 4096
	// prunePendingEvery bounds how often a full pending table is scanned.
	prunePendingEvery = 250 * time.Millisecond
)

type pendingMsg struct {
	t        time.Time
	proto    capture.Proto
	src, dst netip.AddrPort
	msg      []byte
}

// captures routes traced messages and RTP packets to per-call files.
type captures struct {
	cfg       CaptureConfig
	writer    *capture.Writer
	listen    string         // our socket as sipgo prints it
	advertise netip.AddrPort // what to write when we listen on 0.0.0.0

	mu      sync.Mutex
	byCall  map[string]*callCapture // by SIP Call-ID
	pending map[string][]pendingMsg
	npend   int
	pruned  time.Time // last scan of pending for expired entries
}

type callCapture struct {
	f    *capture.File
	path string
	// paused: RTP is written as empty frames (the header, no audio), so
	// the file keeps the timing but not what was said (VoIPmonitor's
	// pausecall).
	paused atomic.Bool
	// ids are the SIP Call-IDs routed here (guarded by captures.mu), so
	// closing does not scan every call's routes.
	ids []string
}

func (cs *captures) enabled() bool { return cs != nil && cs.cfg.Dir != "" }

func (cs *captures) traced(transport, laddr, raddr string, msg []byte, out bool) {
	if !cs.enabled() || laddr != cs.listen {
		return
	}
	id := sipCallID(msg)
	if id == "" {
		return
	}
	local := cs.advertise
	remote, err := netip.ParseAddrPort(raddr)
	if err != nil {
		return
	}
	src, dst := remote, local
	if out {
		src, dst = local, remote
	}
	proto := capture.UDP
	if strings.EqualFold(transport, "tcp") {
		proto = capture.TCP
	}
	now := time.Now()
	cs.mu.Lock()
	cc := cs.byCall[id]
	if cc == nil {
		cseq := header(msg, "CSeq", "")
		invite := bytes.Contains(cseq, []byte("INVITE"))
		if !invite && (!bytes.Contains(cseq, []byte("ACK")) || cs.pending[id] == nil) {
			// Only an INVITE's first messages come before its call; an ACK
			// with nothing before it acknowledges a refusal (a 503 shed
			// under overload), whose call will never exist.
			cs.mu.Unlock()
			return
		}
		if cs.npend >= maxPending && now.Sub(cs.pruned) >= prunePendingEvery {
			// At most a scan per interval: under a flood every message
			// found the table full, and scanning it each time cost more
			// than the calls.
			cs.pruned = now
			cs.prunePendingLocked(now)
		}
		if cs.npend < maxPending {
			cs.pending[id] = append(cs.pending[id], pendingMsg{t: now, proto: proto, src: src, dst: dst, msg: bytes.Clone(msg)})
			cs.npend++
		}
		cs.mu.Unlock()
		return
	}
	cs.mu.Unlock()
	_ = cc.f.WritePacket(now, proto, src, dst, msg)
}

func (cs *captures) prunePendingLocked(now time.Time) {
	for id, ms := range cs.pending {
		if now.Sub(ms[len(ms)-1].t) > pendingTTL {
			cs.takePendingLocked(id)
		}
	}
}

// takePendingLocked removes and returns the early messages of a Call-ID.
func (cs *captures) takePendingLocked(sipCallID string) []pendingMsg {
	ms := cs.pending[sipCallID]
	delete(cs.pending, sipCallID)
	cs.npend -= len(ms)
	return ms
}

// forget drops the early messages of an INVITE that was refused before a
// call existed: they would wait for a call that never comes.
func (cs *captures) forget(sipCallID string) {
	if !cs.enabled() {
		return
	}
	cs.mu.Lock()
	cs.takePendingLocked(sipCallID)
	cs.mu.Unlock()
}

// open creates the call's capture file; it is idempotent per call.
func (cs *captures) open(c *call) *callCapture {
	if !cs.enabled() || c.id == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.capture != nil {
		return c.capture
	}
	dir := filepath.Join(cs.cfg.Dir, c.t.Name)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		c.e.log.Warn("capture dir", "err", err)
		return nil
	}
	path := filepath.Join(dir, c.id+".pcap")
	f, err := cs.writer.Create(path)
	if err != nil {
		c.e.log.Warn("capture file", "call_id", c.id, "err", err)
		return nil
	}
	c.capture = &callCapture{f: f, path: path}
	return c.capture
}

// attach routes a leg's SIP dialog (and, when configured, its RTP) into
// the call's capture, flushing what arrived before the call existed.
func (cs *captures) attach(c *call, l *leg) {
	cc := cs.open(c)
	if cc == nil {
		return
	}
	// The early messages are written before the call is routable to
	// traced, under the same lock: a response arriving meanwhile (the
	// callee's 180) must not land in the file before the INVITE it answers.
	cs.mu.Lock()
	for _, m := range cs.takePendingLocked(l.sipCallID) {
		_ = cc.f.WritePacket(m.t, m.proto, m.src, m.dst, m.msg)
	}
	if cs.byCall[l.sipCallID] != cc {
		cs.byCall[l.sipCallID] = cc
		cc.ids = append(cc.ids, l.sipCallID)
	}
	cs.mu.Unlock()
	if cs.cfg.RTP && l.rtp != nil {
		l.rtp.SetPacketTap(media.PacketTap(func(src, dst netip.AddrPort, pkt []byte) {
			if dst.Addr().IsUnspecified() {
				dst = netip.AddrPortFrom(cs.advertise.Addr(), dst.Port())
			}
			if src.Addr().IsUnspecified() {
				src = netip.AddrPortFrom(cs.advertise.Addr(), src.Port())
			}
			if cc.paused.Load() {
				pkt = rtpHeaderOnly(pkt)
			}
			_ = cc.f.WritePacket(time.Now(), capture.UDP, src, dst, pkt)
		}))
	}
}

// close ends the call's capture. Messages after this (a late BYE
// retransmission) are not kept.
func (cs *captures) close(c *call) {
	c.mu.Lock()
	cc := c.capture
	c.mu.Unlock()
	if cc == nil {
		return
	}
	cs.mu.Lock()
	for _, id := range cc.ids {
		if cs.byCall[id] == cc {
			delete(cs.byCall, id)
		}
	}
	cc.ids = nil
	cs.mu.Unlock()
	if err := cc.f.Close(); err != nil {
		c.e.log.Warn("capture close", "call_id", c.id, "err", err)
	}
	if n := cc.f.Dropped(); n > 0 {
		c.e.counts.captureDropped.Add(uint64(n))
		c.e.log.Warn("capture incomplete: the disk was behind", "call_id", c.id, "dropped_packets", n)
	}
}

// sipCallID finds the Call-ID header (or its compact form i) in a raw
// message without parsing the rest.
func sipCallID(msg []byte) string { return string(header(msg, "Call-ID", "i")) }

// header returns the value of the first header named name (or its compact
// form) in a raw message's header section.
func header(msg []byte, name, compact string) []byte {
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(msg)
	}
	head := msg[:end]
	for len(head) > 0 {
		line := head
		if i := bytes.Index(head, []byte("\r\n")); i >= 0 {
			line, head = head[:i], head[i+2:]
		} else {
			head = nil
		}
		n, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		n = bytes.TrimSpace(n)
		if bytes.EqualFold(n, []byte(name)) || (compact != "" && bytes.EqualFold(n, []byte(compact))) {
			return bytes.TrimSpace(val)
		}
	}
	return nil
}

func (cs *captures) String() string { return fmt.Sprintf("captures(%s)", cs.cfg.Dir) }
