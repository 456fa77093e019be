// Command rtpload places G.711 calls through switchboard over real SIP and
// is both ends of every call's audio: it sends RTP from the caller and
// from the callee and receives what the relay delivers on the other side,
// so loss and one-way latency are measured per packet. SIPp's
// single-threaded echo dropped a fifth of the packets at 800 calls and
// could not say where; this generator shares a few sockets between all
// calls and sends and receives in batches, and it reports its own
// sockets' kernel drops, so a loss it reports is switchboard's.
//
// The caller side is either a trunk (switchboard knows it by its address:
// -caller) or an extension with digest credentials (-caller-user,
// -caller-pass). The callee registers as an extension (-callee-user,
// -callee-pass) and answers every call.
//
//	go run ./bench/rtpload -sip 127.0.0.1:15060 -domain bench.local \
//	    -caller 127.0.0.1:15070 -callee-user 1001 -callee-pass secret \
//	    -to 1001 -calls 800 -rate 50 -hold 60s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/media"
)

type config struct {
	sipAddr    string // switchboard's SIP address
	domain     string
	ip         netip.Addr
	caller     string // caller's SIP address (a trunk's address), port 0 for any
	callee     string // callee's SIP address
	callerUser string
	callerPass string
	calleeUser string
	calleePass string
	to         string
	calls      int
	rate       float64
	hold       time.Duration
	sockets    int
	setupWait  time.Duration
}

func main() {
	var c config
	var ip string
	flag.StringVar(&c.sipAddr, "sip", "127.0.0.1:5060", "switchboard's SIP address (UDP)")
	flag.StringVar(&c.domain, "domain", "", "the tenant's SIP domain")
	flag.StringVar(&ip, "ip", "127.0.0.1", "local address for SIP and RTP")
	flag.StringVar(&c.caller, "caller", "", "caller's SIP address, ip:port (a trunk's configured address); empty: any port")
	flag.StringVar(&c.callee, "callee", "", "callee's SIP address, ip:port; empty: any port")
	flag.StringVar(&c.callerUser, "caller-user", "", "caller extension for digest auth (empty: the caller is a trunk)")
	flag.StringVar(&c.callerPass, "caller-pass", "", "caller extension's password")
	flag.StringVar(&c.calleeUser, "callee-user", "", "extension the callee registers as")
	flag.StringVar(&c.calleePass, "callee-pass", "", "its password")
	flag.StringVar(&c.to, "to", "", "number to dial (default: the callee's extension)")
	flag.IntVar(&c.calls, "calls", 100, "concurrent calls to place")
	flag.Float64Var(&c.rate, "rate", 50, "call setups per second while ramping up")
	flag.DurationVar(&c.hold, "hold", 30*time.Second, "how long every call carries audio once all are up")
	flag.IntVar(&c.sockets, "sockets", 4, "shared RTP sockets per side")
	flag.DurationVar(&c.setupWait, "setup-timeout", 30*time.Second, "how long a call may take to be answered")
	flag.Parse()
	a, err := netip.ParseAddr(ip)
	if err != nil || c.domain == "" || c.calleeUser == "" {
		fmt.Fprintln(os.Stderr, "rtpload: -domain, -callee-user and a valid -ip are required")
		flag.Usage()
		os.Exit(2)
	}
	c.ip = a
	if c.to == "" {
		c.to = c.calleeUser
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := run(ctx, c, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		fmt.Fprintln(os.Stderr, "rtpload:", err)
		os.Exit(1)
	}
	r.print(os.Stdout)
	if r.answered < c.calls {
		os.Exit(3)
	}
}

// result is what one run measured.
type result struct {
	calls, answered, failed int
	setup                   []time.Duration // INVITE to 200 OK of answered calls
	sent, recv, dup, late   uint64
	sendErrs, alien         uint64
	ownDrops                uint64 // the generator's own kernel receive drops
	hist                    histogram
	worstLoss               float64 // the worst single stream's loss fraction
	firstErr                error
}

// lost counts packets sent and never received (duplicates do not make up
// for them: recv counts each packet once).
func (r *result) lost() uint64 { return r.sent - min(r.recv, r.sent) }

func (r *result) loss() float64 {
	if r.sent == 0 {
		return 0
	}
	return float64(r.lost()) / float64(r.sent)
}

func (r *result) print(w io.Writer) {
	fmt.Fprintf(w, "calls answered: %d/%d (failed %d)\n", r.answered, r.calls, r.failed)
	if r.firstErr != nil {
		fmt.Fprintf(w, "first failure: %v\n", r.firstErr)
	}
	if n := len(r.setup); n > 0 {
		s := sortedDurations(r.setup)
		fmt.Fprintf(w, "setup (INVITE to 200 OK): p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
			ms(s[n/2]), ms(s[min(n-1, n*99/100)]), ms(s[n-1]))
	}
	fmt.Fprintf(w, "RTP packets sent %d, received %d, lost %d (%.4f %%; worst stream %.3f %%), duplicated %d, reordered %d\n",
		r.sent, r.recv, r.lost(), 100*r.loss(), 100*r.worstLoss, r.dup, r.late)
	fmt.Fprintf(w, "one-way latency through switchboard: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n",
		ms(r.hist.quantile(0.5)), ms(r.hist.quantile(0.99)), ms(r.hist.quantile(0.999)), ms(time.Duration(r.hist.maxNs)))
	fmt.Fprintf(w, "generator: kernel receive drops on its own sockets %d, send errors %d, foreign packets %d\n", r.ownDrops, r.sendErrs, r.alien)
	// One line for scripts.
	fmt.Fprintf(w, "RESULT answered=%d calls=%d sent=%d lost=%d loss_pct=%.4f p50_ms=%.2f p99_ms=%.2f own_drops=%d\n",
		r.answered, r.calls, r.sent, r.lost(), 100*r.loss(), ms(r.hist.quantile(0.5)), ms(r.hist.quantile(0.99)), r.ownDrops)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// agent is one SIP user agent on its own UDP socket.
type agent struct {
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	conn   net.PacketConn
	addr   netip.AddrPort
	done   chan struct{}
}

func newAgent(ip netip.Addr, addr, name string) (*agent, error) {
	if addr == "" {
		addr = netip.AddrPortFrom(ip, 0).String()
	}
	conn, err := net.ListenPacket("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	_ = conn.(*net.UDPConn).SetReadBuffer(4 << 20)
	a := &agent{conn: conn, addr: conn.LocalAddr().(*net.UDPAddr).AddrPort(), done: make(chan struct{})}
	if a.ua, err = sipgo.NewUA(sipgo.WithUserAgent("rtpload-"+name), sipgo.WithUserAgentHostname(ip.String())); err != nil {
		conn.Close()
		return nil, err
	}
	a.srv, _ = sipgo.NewServer(a.ua)
	a.client, err = sipgo.NewClient(a.ua, sipgo.WithClientAddr(a.addr.String()), sipgo.WithClientConnectionAddr(a.addr.String()))
	if err != nil {
		conn.Close()
		return nil, err
	}
	return a, nil
}

func (a *agent) contact() sip.ContactHeader {
	return sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: a.addr.Addr().String(), Port: int(a.addr.Port())}}
}

func (a *agent) serve() {
	go func() {
		defer close(a.done)
		_ = a.srv.ServeUDP(a.conn)
	}()
}

func (a *agent) close() {
	a.conn.Close()
	_ = a.ua.Close()
	<-a.done
}

// run places the calls, carries their audio for the hold time, hangs up
// and counts.
func run(ctx context.Context, c config, log *slog.Logger) (*result, error) {
	if c.sockets < 1 {
		c.sockets = 1
	}
	streams := make([]*stream, 2*c.calls)
	lookup := func(id uint32) *stream {
		if int(id) < len(streams) {
			return streams[id]
		}
		return nil
	}
	var sides [2][]*rtpSocket // 0: caller's sockets, 1: callee's
	ports := map[uint16]bool{}
	for side := range sides {
		for range c.sockets {
			s, err := newRTPSocket(c.ip, lookup)
			if err != nil {
				return nil, fmt.Errorf("rtp socket: %w", err)
			}
			defer s.conn.Close()
			sides[side] = append(sides[side], s)
			ports[s.port] = true
		}
	}
	stop := make(chan struct{})
	var sendErrs atomic.Uint64
	var readers, senders sync.WaitGroup
	for _, side := range sides {
		for _, s := range side {
			readers.Add(1)
			go func() { defer readers.Done(); s.read() }()
			senders.Add(1)
			go func() { defer senders.Done(); s.send(stop, &sendErrs) }()
		}
	}
	stopSending := sync.OnceFunc(func() { close(stop); senders.Wait() })
	defer stopSending()

	callee, err := newAgent(c.ip, c.callee, "callee")
	if err != nil {
		return nil, err
	}
	defer callee.close()
	caller, err := newAgent(c.ip, c.caller, "caller")
	if err != nil {
		return nil, err
	}
	defer caller.close()

	// The callee answers every INVITE on one of its sockets and sends its
	// own stream until the shared hang-up instant. Its streams are numbered
	// after the callers', so the two halves of a call need not know each
	// other: every packet says which stream it belongs to.
	res := &result{calls: c.calls}
	ramp := time.Duration(float64(c.calls) / c.rate * float64(time.Second))
	start := time.Now()
	hangAt := start.Add(ramp + c.setupWait/10 + c.hold)
	srvCache := sipgo.NewDialogServerCache(callee.client, callee.contact())
	var calleeStreams atomic.Uint32
	var calleeCalls sync.WaitGroup
	callee.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		if to := req.To(); to != nil {
			if _, ok := to.Params.Get("tag"); ok {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil)) // refresh: keep as is
				return
			}
		}
		n := calleeStreams.Add(1) - 1
		offer, err := media.ParseSDP(req.Body())
		if int(n) >= c.calls || err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
			return
		}
		ds, err := srvCache.ReadInvite(req, tx)
		if err != nil {
			return
		}
		calleeCalls.Add(1)
		defer calleeCalls.Done()
		sock := sides[1][int(n)%len(sides[1])]
		answer := media.BuildSDP(media.SessionDesc{Addr: netip.AddrPortFrom(c.ip, sock.port), Codecs: []media.Codec{media.PCMA}, DTMFPT: 101, Direction: "sendrecv"}, rand.Uint64N(1<<62), 1)
		st := newStream(uint32(c.calls)+n, offer.Addr, hangAt)
		streams[st.id] = st
		if err := ds.RespondSDP(answer); err != nil {
			log.Warn("answer", "stream", st.id, "err", err)
			return
		}
		sock.add(st)
		defer sock.remove(st)
		st.sending.Store(true)
		<-ds.Context().Done()
		st.sending.Store(false)
	})
	callee.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = srvCache.ReadAck(req, tx) })
	callee.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := srvCache.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		}
	})
	cliCache := sipgo.NewDialogClientCache(caller.client, caller.contact())
	caller.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := cliCache.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		}
	})
	for _, a := range []*agent{callee, caller} {
		a.srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		})
		a.serve()
	}
	if err := register(ctx, callee, c); err != nil {
		return nil, err
	}

	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		res.failed++
		if res.firstErr == nil {
			res.firstErr = err
		}
		mu.Unlock()
	}
	var calls sync.WaitGroup
	for i := range c.calls {
		at := start.Add(time.Duration(float64(i) / c.rate * float64(time.Second)))
		select {
		case <-ctx.Done():
			fail(ctx.Err())
			continue
		case <-time.After(time.Until(at)):
		}
		calls.Add(1)
		go func() {
			defer calls.Done()
			setup, err := placeCall(ctx, c, i, caller, cliCache, sides[0], streams, hangAt)
			if err != nil {
				fail(fmt.Errorf("call %d: %w", i, err))
				return
			}
			mu.Lock()
			res.answered++
			res.setup = append(res.setup, setup)
			mu.Unlock()
		}()
	}
	calls.Wait()
	calleeCalls.Wait()
	stopSending()
	time.Sleep(300 * time.Millisecond) // the last packets in flight
	if b, err := os.ReadFile("/proc/net/udp"); err == nil {
		res.ownDrops = kernelDrops(ports, string(b))
	}
	for _, side := range sides {
		for _, s := range side {
			s.conn.Close()
		}
	}
	readers.Wait()
	for _, side := range sides {
		for _, s := range side {
			res.hist.merge(&s.hist)
			res.alien += s.alien.Load()
		}
	}
	res.sendErrs = sendErrs.Load()
	for _, st := range streams {
		if st == nil {
			continue
		}
		sent, recv := uint64(st.sent.Load()), uint64(st.recv.Load())
		res.sent += sent
		res.recv += recv
		res.dup += uint64(st.dup.Load())
		res.late += uint64(st.late.Load())
		if sent > 0 {
			res.worstLoss = max(res.worstLoss, float64(sent-min(recv, sent))/float64(sent))
		}
	}
	return res, nil
}

// register binds the callee's extension to its socket, with digest auth.
func register(ctx context.Context, a *agent, c config) error {
	uri := sip.Uri{Scheme: "sip", User: c.calleeUser, Host: c.domain}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: c.domain})
	req.SetDestination(c.sipAddr)
	req.AppendHeader(&sip.FromHeader{Address: uri, Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(12)}}})
	req.AppendHeader(&sip.ToHeader{Address: uri})
	ct := a.contact()
	ct.Address.User = c.calleeUser
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Expires", "3600"))
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := a.client.Do(rctx, req)
	// The agent's socket reaches sipgo's transport a moment after serve
	// starts; until then the client tries to open its own and collides.
	for i := 0; err != nil && strings.Contains(err.Error(), "address already in use") && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
		req.RemoveHeader("Via")
		res, err = a.client.Do(rctx, req)
	}
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		res, err = a.client.DoDigestAuth(rctx, req, res, sipgo.DigestAuth{Username: c.calleeUser, Password: c.calleePass})
		if err != nil {
			return fmt.Errorf("register: %w", err)
		}
	}
	if !res.IsSuccess() {
		return fmt.Errorf("register: %s", res.StartLine())
	}
	return nil
}

// placeCall runs call i: INVITE, answer, audio until hangAt, BYE. It
// returns the setup time.
func placeCall(ctx context.Context, c config, i int, caller *agent, cli *sipgo.DialogClientCache, socks []*rtpSocket,
	streams []*stream, hangAt time.Time) (time.Duration, error) {
	out := socks[i%len(socks)]
	offer := media.BuildSDP(media.SessionDesc{Addr: netip.AddrPortFrom(c.ip, out.port), Codecs: []media.Codec{media.PCMA}, DTMFPT: 101, Direction: "sendrecv"}, rand.Uint64N(1<<62), 1)
	user := c.callerUser
	if user == "" {
		user = fmt.Sprintf("9%06d", i) // a trunk's caller number, one per call
	}
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: c.to, Host: c.domain})
	req.SetDestination(c.sipAddr)
	req.SetBody(offer)
	req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: c.domain}, Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(12)}}})
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: c.to, Host: c.domain}})
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	t0 := time.Now()
	sctx, cancel := context.WithTimeout(ctx, c.setupWait)
	defer cancel()
	sess, err := cli.WriteInvite(sctx, req)
	if err != nil {
		return 0, fmt.Errorf("invite: %w", err)
	}
	defer sess.Close()
	if err := sess.WaitAnswer(sctx, sipgo.AnswerOptions{Username: c.callerUser, Password: c.callerPass}); err != nil {
		return 0, fmt.Errorf("answer: %w", err)
	}
	setup := time.Since(t0)
	if err := sess.Ack(sctx); err != nil {
		return 0, fmt.Errorf("ack: %w", err)
	}
	ans, err := media.ParseSDP(sess.InviteResponse.Body())
	if err != nil {
		return 0, fmt.Errorf("answer sdp: %w", err)
	}
	st := newStream(uint32(i), ans.Addr, hangAt)
	streams[st.id] = st
	out.add(st)
	defer out.remove(st)
	st.sending.Store(true)

	select {
	case <-time.After(time.Until(hangAt)):
	case <-ctx.Done():
	case <-sess.Context().Done():
		return setup, errors.New("hung up by switchboard before the hold time")
	}
	st.sending.Store(false)
	// Every stream stops at hangAt; let the last packets arrive before the
	// legs close.
	time.Sleep(300 * time.Millisecond)
	bctx, bcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer bcancel()
	if err := sess.Bye(bctx); err != nil {
		return setup, fmt.Errorf("bye: %w", err)
	}
	return setup, nil
}

func newStream(id uint32, dst netip.AddrPort, until time.Time) *stream {
	now := time.Now().UnixNano()
	return &stream{id: id, dst: dst, ssrc: rand.Uint32(), rtpSeq: uint16(rand.Uint32()), ts: rand.Uint32(),
		next: now + rand.Int64N(int64(ptime)), until: until.UnixNano()}
}
