package sipengine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"github.com/switchboard-pbx/switchboard/internal/media"
)

// testPhone is an in-process SIP phone for engine tests that need control
// the demo bots do not give: one transport only (a TCP-only phone has no
// UDP socket at all), strict use of the remote target's transport, and
// access to every message it received.
type testPhone struct {
	t         *testing.T
	number    string
	transport string // UDP or TCP
	addr      string // our listening host:port
	pbx       string
	ua        *sipgo.UserAgent
	srv       *sipgo.Server
	client    *sipgo.Client
	contact   sip.ContactHeader
	servers   *sipgo.DialogServerCache
	ports     *media.PortAllocator

	mu      sync.Mutex
	invites []*sip.Request // INVITEs received (new calls and re-INVITEs)
	acks    []*sip.Request
	byes    []*sip.Request
	inbound chan *phoneCall // answered incoming calls
	// onNotify, if set, runs for each NOTIFY before it is answered 200:
	// the engine sends the next NOTIFY only after that answer, so the
	// callbacks see them in the order they were sent.
	onNotify func(req *sip.Request)
	calls    map[string]*phoneCall
	// ringDelay is how long the phone waits before its 180 (its
	// post-dial delay as the caller measures it).
	ringDelay time.Duration
	// dialHeaders go into the phone's INVITEs, answerHeaders into its 200
	// OK to an INVITE (name, value pairs); refuseReinvite answers
	// re-INVITEs with that code (481: a phone that lost the dialog).
	dialHeaders, answerHeaders [][2]string
	refuseReinvite             int
	// minSE, when set, answers 422 to an INVITE asking for a shorter
	// session interval (RFC 4028).
	minSE int
}

// phoneCall is one dialog of a testPhone with its RTP socket.
type phoneCall struct {
	cli *sipgo.DialogClientSession
	srv *sipgo.DialogServerSession
	rtp *media.Leg
}

func (pc *phoneCall) ctx() context.Context {
	if pc.cli != nil {
		return pc.cli.Context()
	}
	return pc.srv.Context()
}

// newTestPhone starts a phone listening only on transport and registers
// it as number with the rig's engine.
func newTestPhone(t *testing.T, r *rig, number, transport string) *testPhone {
	t.Helper()
	return newTestPhoneTLS(t, r, number, transport, nil, nil)
}

// newTestPhoneTLS is newTestPhone; for transport "tls" the phone serves
// cert and trusts pool for the PBX's certificate.
func newTestPhoneTLS(t *testing.T, r *rig, number, transport string, cert *tls.Certificate, pool *x509.CertPool) *testPhone {
	t.Helper()
	opts := []sipgo.UserAgentOption{sipgo.WithUserAgent("testphone-" + number)}
	if pool != nil {
		opts = append(opts, sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}))
	}
	ua, err := sipgo.NewUA(opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua)
	p := &testPhone{t: t, number: number, transport: strings.ToUpper(transport), ua: ua, srv: srv,
		pbx: r.eng.Addr().String(), inbound: make(chan *phoneCall, 4), calls: map[string]*phoneCall{}}
	var port int
	var sock interface{ Close() error }
	done := make(chan struct{})
	switch p.transport {
	case "TLS":
		ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		sock = ln
		p.pbx = r.eng.TLSAddr().String()
		go func() { defer close(done); _ = srv.ServeTLS(ln) }()
	case "TCP":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		sock = ln
		go func() { defer close(done); _ = srv.ServeTCP(ln) }()
	default:
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = pc.LocalAddr().(*net.UDPAddr).Port
		sock = pc
		go func() { defer close(done); _ = srv.ServeUDP(pc) }()
	}
	p.addr = fmt.Sprintf("127.0.0.1:%d", port)
	p.client, _ = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(port))
	u := sip.Uri{Scheme: "sip", User: number, Host: "127.0.0.1", Port: port}
	if p.transport != "UDP" {
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", strings.ToLower(p.transport))
	}
	p.contact = sip.ContactHeader{Address: u}
	p.servers = sipgo.NewDialogServerCache(p.client, p.contact)
	p.ports, _ = media.NewPortAllocator(lo, 36000, 36998, 0)
	srv.OnInvite(p.onInvite)
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		p.mu.Lock()
		p.acks = append(p.acks, req)
		p.mu.Unlock()
		_ = p.servers.ReadAck(req, tx)
	})
	srv.OnBye(p.onBye)
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		p.mu.Lock()
		f := p.onNotify
		p.mu.Unlock()
		if f != nil {
			f(req)
		}
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	t.Cleanup(func() {
		p.mu.Lock()
		calls := make([]*phoneCall, 0, len(p.calls))
		for _, c := range p.calls {
			calls = append(calls, c)
		}
		p.mu.Unlock()
		for _, c := range calls {
			c.rtp.Close()
		}
		ua.Close()
		sock.Close()
		<-done
	})
	p.register(r)
	return p
}

func (p *testPhone) register(r *rig) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	aor := sip.Uri{Scheme: "sip", User: p.number, Host: domain}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: domain})
	req.SetTransport(p.transport)
	req.SetDestination(p.pbx)
	req.AppendHeader(&sip.FromHeader{Address: aor, Params: sip.HeaderParams{{K: "tag", V: uuid.NewString()[:8]}}})
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	req.AppendHeader(sip.HeaderClone(&p.contact))
	req.AppendHeader(sip.NewHeader("Expires", "300"))
	res, err := p.client.Do(ctx, req)
	if err == nil && res.StatusCode == 401 {
		res, err = p.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: p.number, Password: "pw-" + p.number})
	}
	if err != nil || res.StatusCode != 200 {
		p.t.Fatalf("phone %s: register over %s: %v %v", p.number, p.transport, res, err)
	}
	if b := r.eng.reg.lookup("t", p.number); b == nil || !strings.EqualFold(b.transport, p.transport) {
		p.t.Fatalf("phone %s: binding %+v", p.number, b)
	}
}

func (p *testPhone) sdp(l *media.Leg, dir string) []byte {
	return media.BuildSDP(media.SessionDesc{Addr: l.LocalAddr(), Codecs: []media.Codec{media.PCMU}, DTMFPT: 101, Direction: dir}, rand.Uint64N(1<<62), 1)
}

// checkTarget fails the test when a remote target (a Contact) would make
// this phone send over another transport than its only one; a strict
// phone derives the transport from the URI (RFC 3261 §18.1.1).
func (p *testPhone) checkTarget(what string, c *sip.ContactHeader) {
	p.t.Helper()
	if c == nil {
		p.t.Errorf("phone %s: %s has no Contact", p.number, what)
		return
	}
	tp := "UDP"
	if v, ok := c.Address.UriParams.Get("transport"); ok {
		tp = strings.ToUpper(v)
	}
	if c.Address.Scheme == "sips" {
		tp = "TLS"
	}
	if tp != p.transport {
		p.t.Errorf("phone %s (%s only): %s Contact %s would send the next requests over %s", p.number, p.transport, what, c.Address.String(), tp)
	}
}

func (p *testPhone) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	p.mu.Lock()
	p.invites = append(p.invites, req)
	p.mu.Unlock()
	if to := req.To(); to != nil {
		if _, ok := to.Params.Get("tag"); ok { // re-INVITE: answer with our SDP again
			p.mu.Lock()
			pc := p.calls[req.CallID().Value()]
			refuse := p.refuseReinvite
			p.mu.Unlock()
			if pc == nil {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
				return
			}
			if refuse != 0 {
				_ = tx.Respond(sip.NewResponseFromRequest(req, refuse, "Refused", nil))
				return
			}
			res := sip.NewSDPResponseFromRequest(req, p.sdp(pc.rtp, "sendrecv"))
			res.AppendHeader(sip.HeaderClone(&p.contact))
			_ = tx.Respond(res)
			return
		}
	}
	p.checkTarget("INVITE", req.Contact())
	p.mu.Lock()
	minSE := p.minSE
	p.mu.Unlock()
	if se, _, ok := headerDelta(req, "Session-Expires", ""); minSE > 0 && ok && se < time.Duration(minSE)*time.Second {
		res := sip.NewResponseFromRequest(req, 422, "Session Interval Too Small", nil)
		res.AppendHeader(sip.NewHeader("Min-SE", fmt.Sprint(minSE)))
		_ = tx.Respond(res)
		return
	}
	ss, err := p.servers.ReadInvite(req, tx)
	if err != nil {
		return
	}
	l, err := p.ports.NewLeg()
	if err != nil {
		_ = ss.Respond(503, "No Port", nil)
		return
	}
	if offer, err := media.ParseSDP(req.Body()); err == nil {
		l.SetRemote(offer.Addr, media.PCMU, offer.DTMFPT)
	}
	l.StartReceiving()
	pc := &phoneCall{srv: ss, rtp: l}
	p.mu.Lock()
	p.calls[req.CallID().Value()] = pc
	p.mu.Unlock()
	p.mu.Lock()
	delay := p.ringDelay
	p.mu.Unlock()
	time.Sleep(delay)
	_ = ss.Respond(180, "Ringing", nil)
	res := sip.NewSDPResponseFromRequest(ss.InviteRequest, p.sdp(l, "sendrecv"))
	res.AppendHeader(sip.NewHeader("Server", "testphone-"+p.number))
	p.mu.Lock()
	for _, h := range p.answerHeaders {
		res.AppendHeader(sip.NewHeader(h[0], h[1]))
	}
	p.mu.Unlock()
	if err := ss.WriteResponse(res); err != nil {
		p.t.Logf("phone %s: answer: %v", p.number, err)
		return
	}
	if h := req.GetHeader("Replaces"); h != nil { // RFC 3891: the new dialog takes over, the old one ends
		callID, _, _ := strings.Cut(h.Value(), ";")
		p.mu.Lock()
		old := p.calls[strings.TrimSpace(callID)]
		p.mu.Unlock()
		if old != nil {
			_ = p.hangup(old)
		}
	}
	p.inbound <- pc
}

func (p *testPhone) onBye(req *sip.Request, tx sip.ServerTransaction) {
	p.mu.Lock()
	p.byes = append(p.byes, req)
	pc := p.calls[req.CallID().Value()]
	p.mu.Unlock()
	if pc != nil && pc.cli != nil {
		_ = pc.cli.ReadBye(req, tx)
		return
	}
	if err := p.servers.ReadBye(req, tx); err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	}
}

// dial calls number through the PBX and returns the answered call (ACKed).
func (p *testPhone) dial(ctx context.Context, number string) (*phoneCall, error) {
	l, err := p.ports.NewLeg()
	if err != nil {
		return nil, err
	}
	host, port, _ := sip.ParseAddr(p.pbx)
	ruri := sip.Uri{Scheme: "sip", User: number, Host: host, Port: port}
	if p.transport != "UDP" {
		ruri.UriParams = sip.NewParams()
		ruri.UriParams.Add("transport", strings.ToLower(p.transport))
	}
	req := sip.NewRequest(sip.INVITE, ruri)
	req.SetTransport(p.transport)
	req.SetBody(p.sdp(l, "sendrecv"))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: p.number, Host: domain}, Params: sip.HeaderParams{{K: "tag", V: uuid.NewString()[:8]}}})
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: number, Host: domain}, Params: sip.NewParams()})
	req.AppendHeader(sip.HeaderClone(&p.contact))
	cid := sip.CallIDHeader(uuid.NewString())
	req.AppendHeader(&cid)
	req.AppendHeader(sip.NewHeader("User-Agent", "testphone-"+p.number))
	p.mu.Lock()
	for _, h := range p.dialHeaders {
		req.AppendHeader(sip.NewHeader(h[0], h[1]))
	}
	p.mu.Unlock()
	dua := &sipgo.DialogUA{Client: p.client, ContactHDR: p.contact}
	cs, err := dua.WriteInvite(context.WithoutCancel(ctx), req)
	if err != nil {
		l.Close()
		return nil, err
	}
	pc := &phoneCall{cli: cs, rtp: l}
	p.mu.Lock()
	p.calls[string(cid)] = pc
	p.mu.Unlock()
	if err := cs.WaitAnswer(ctx, sipgo.AnswerOptions{Username: p.number, Password: "pw-" + p.number}); err != nil {
		return nil, err
	}
	p.checkTarget("200 OK", cs.InviteResponse.Contact())
	if err := cs.Ack(ctx); err != nil {
		return nil, err
	}
	if answer, err := media.ParseSDP(cs.InviteResponse.Body()); err == nil {
		l.SetRemote(answer.Addr, media.PCMU, answer.DTMFPT)
	}
	l.StartReceiving()
	return pc, nil
}

// hangup sends BYE on the phone's dialog.
func (p *testPhone) hangup(pc *phoneCall) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if pc.cli != nil {
		return pc.cli.Bye(ctx)
	}
	return pc.srv.Bye(ctx)
}

// refer asks the PBX to transfer the phone's partner in pc to number, on
// a dialog the phone placed or answered.
func (p *testPhone) refer(ctx context.Context, pc *phoneCall, number string) (*sip.Response, error) {
	if pc.cli == nil {
		req := sip.NewRequest(sip.REFER, pc.srv.InviteRequest.Contact().Address)
		req.AppendHeader(sip.NewHeader("Refer-To", "<sip:"+number+"@"+domain+">"))
		req.AppendHeader(sip.NewHeader("Referred-By", "<sip:"+p.number+"@"+domain+">"))
		return pc.srv.Do(ctx, req)
	}
	req := sip.NewRequest(sip.REFER, pc.cli.InviteResponse.Contact().Address)
	req.AppendHeader(sip.NewHeader("Refer-To", "<sip:"+number+"@"+domain+">"))
	req.AppendHeader(sip.NewHeader("Referred-By", "<sip:"+p.number+"@"+domain+">"))
	return pc.cli.Do(ctx, req)
}
