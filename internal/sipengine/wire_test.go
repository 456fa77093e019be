package sipengine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
	"github.com/icholy/digest"
)

// wirePeer is a SIP endpoint written by hand over one socket, so tests
// control every byte and the source address (a "spoofed" carrier is just a
// socket bound to the trunk's configured address).
type wirePeer struct {
	t       testing.TB
	network string // "udp" or "tcp"
	udp     *net.UDPConn
	tcp     net.Conn
	br      *bufio.Reader
	dst     netip.AddrPort
	local   netip.AddrPort
}

func newWirePeer(t testing.TB, network string, dst netip.AddrPort, local string) *wirePeer {
	t.Helper()
	p := &wirePeer{t: t, network: network, dst: dst}
	if local == "" {
		local = "127.0.0.1:0"
	}
	switch network {
	case "udp":
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(local)))
		if err != nil {
			t.Fatal(err)
		}
		p.udp, p.local = c, c.LocalAddr().(*net.UDPAddr).AddrPort()
	case "tcp":
		d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.MustParseAddrPort(local)), Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", dst.String())
		if err != nil {
			t.Fatal(err)
		}
		p.tcp, p.br, p.local = c, bufio.NewReader(c), c.LocalAddr().(*net.TCPAddr).AddrPort()
	}
	t.Cleanup(p.close)
	return p
}

func (p *wirePeer) close() {
	if p.udp != nil {
		p.udp.Close()
	}
	if p.tcp != nil {
		p.tcp.Close()
	}
}

func (p *wirePeer) sendRaw(b []byte) {
	p.t.Helper()
	var err error
	if p.udp != nil {
		_, err = p.udp.WriteToUDPAddrPort(b, p.dst)
	} else {
		_, err = p.tcp.Write(b)
	}
	if err != nil {
		p.t.Fatal(err)
	}
}

// recv reads one message; nil when nothing arrives within d.
func (p *wirePeer) recv(d time.Duration) sip.Message {
	p.t.Helper()
	deadline := time.Now().Add(d)
	if p.udp != nil {
		buf := make([]byte, 65535)
		_ = p.udp.SetReadDeadline(deadline)
		for {
			n, _, err := p.udp.ReadFromUDPAddrPort(buf)
			if err != nil {
				return nil
			}
			if m, err := sip.ParseMessage(buf[:n]); err == nil {
				return m
			}
			// not SIP (RTP aimed at this socket): skip
		}
	}
	_ = p.tcp.SetReadDeadline(deadline)
	var head strings.Builder
	clen := 0
	for {
		line, err := p.br.ReadString('\n')
		if err != nil {
			return nil
		}
		head.WriteString(line)
		if k, v, ok := strings.Cut(line, ":"); ok && (strings.EqualFold(strings.TrimSpace(k), "Content-Length") || strings.TrimSpace(k) == "l") {
			clen, _ = strconv.Atoi(strings.TrimSpace(v))
		}
		if line == "\r\n" && head.Len() > 2 {
			break
		}
	}
	body := make([]byte, clen)
	if _, err := io.ReadFull(p.br, body); err != nil {
		return nil
	}
	m, err := sip.ParseMessage(append([]byte(head.String()), body...))
	if err != nil {
		p.t.Fatalf("unparseable message from engine: %v", err)
	}
	return m
}

// final waits for the final response to the request with callID and cseq
// method, ignoring provisional responses and anything else; nil on
// timeout. Requests the engine sends meanwhile go to onReq, if set.
func (p *wirePeer) final(callID string, method sip.RequestMethod, d time.Duration) *sip.Response {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		m := p.recv(time.Until(deadline))
		res, ok := m.(*sip.Response)
		if m == nil {
			return nil
		}
		if !ok || res.CallID() == nil || res.CallID().Value() != callID || res.CSeq() == nil || res.CSeq().MethodName != method {
			continue
		}
		if res.StatusCode >= 200 {
			return res
		}
	}
	return nil
}

// wireReq is a request written by hand.
type wireReq struct {
	method             sip.RequestMethod
	ruser, rhost       string
	fromUser, fromHost string
	fromTag, toTag     string
	callID             string
	cseq               int
	extra              []string // whole header lines
	body               string
	contactUser        string
	branch             string
}

func (p *wirePeer) build(r wireReq) []byte {
	if r.callID == "" {
		r.callID = uuid.NewString()
	}
	if r.cseq == 0 {
		r.cseq = 1
	}
	if r.branch == "" {
		r.branch = sip.GenerateBranch()
	}
	if r.contactUser == "" {
		r.contactUser = r.fromUser
	}
	tr := strings.ToUpper(p.network)
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:%s@%s SIP/2.0\r\n", r.method, r.ruser, r.rhost)
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=%s;rport\r\n", tr, p.local, r.branch)
	fmt.Fprintf(&b, "Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=%s\r\n", r.fromUser, r.fromHost, r.fromTag)
	to := fmt.Sprintf("To: <sip:%s@%s>", r.ruser, r.rhost)
	if r.toTag != "" {
		to += ";tag=" + r.toTag
	}
	b.WriteString(to + "\r\n")
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d %s\r\n", r.callID, r.cseq, r.method)
	fmt.Fprintf(&b, "Contact: <sip:%s@%s;transport=%s>\r\n", r.contactUser, p.local, p.network)
	for _, h := range r.extra {
		b.WriteString(h + "\r\n")
	}
	if r.body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(r.body), r.body)
	return []byte(b.String())
}

// sdpOffer is a minimal PCMU offer for media at addr.
func sdpOffer(addr netip.AddrPort) string {
	return fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
		addr.Addr(), addr.Addr(), addr.Port())
}

// answerDigest computes the credentials answering a 401/407 challenge.
func answerDigest(t testing.TB, res *sip.Response, method, uri, user, password string, nc int) string {
	t.Helper()
	h := res.GetHeader("Proxy-Authenticate")
	if h == nil {
		h = res.GetHeader("WWW-Authenticate")
	}
	if h == nil {
		t.Fatalf("no challenge in %d", res.StatusCode)
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: method, URI: uri, Username: user, Password: password, Count: nc, Cnonce: "c0ffee"})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

// dialIn sends an INVITE and, when it is answered, the ACK; it returns the
// 200 (nil if the call was not answered).
func (p *wirePeer) dialIn(r wireReq) *sip.Response {
	p.t.Helper()
	p.sendRaw(p.build(r))
	res := p.final(r.callID, sip.INVITE, 10*time.Second)
	if res == nil || res.StatusCode != 200 {
		return res
	}
	tag, _ := res.To().Params.Get("tag")
	ack := r
	ack.method, ack.toTag, ack.body, ack.branch, ack.extra = sip.ACK, tag, "", "", nil
	p.sendRaw(p.build(ack))
	return res
}

// toTag is the remote tag a response carries.
func toTag(res *sip.Response) string {
	tag, _ := res.To().Params.Get("tag")
	return tag
}

// answerUntil answers every request the engine sends with 200 OK until one
// of method has been answered (or d passes).
func (p *wirePeer) answerUntil(method sip.RequestMethod, d time.Duration) bool {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		req, ok := p.recv(time.Until(deadline)).(*sip.Request)
		if !ok {
			continue
		}
		if req.Method != sip.ACK {
			p.sendRaw([]byte(sip.NewResponseFromRequest(req, 200, "OK", nil).String()))
		}
		if req.Method == method {
			return true
		}
	}
	return false
}

// logCapture is a slog handler that keeps every record, so tests can count
// what an engine logged.
type logCapture struct {
	mu   *sync.Mutex
	recs *[]slog.Record
}

func newLogCapture() logCapture {
	return logCapture{mu: &sync.Mutex{}, recs: &[]slog.Record{}}
}

func (c logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (c logCapture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	*c.recs = append(*c.recs, r.Clone())
	c.mu.Unlock()
	return nil
}
func (c logCapture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c logCapture) WithGroup(string) slog.Handler      { return c }

// count returns how many records at level or above have msg containing sub.
func (c logCapture) count(level slog.Level, sub string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range *c.recs {
		if r.Level >= level && strings.Contains(r.Message, sub) {
			n++
		}
	}
	return n
}

// all returns a copy of the records.
func (c logCapture) all() []slog.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]slog.Record(nil), *c.recs...)
}
