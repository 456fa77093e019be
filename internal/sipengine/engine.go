// Package sipengine is switchboard's embedded SIP PBX on sipgo: registrar
// with digest authentication, a B2BUA that anchors every call's RTP through
// internal/media, trunks to carriers and click-to-call. It drives the domain
// core (internal/pbx) by reporting facts and implements pbx.Engine for the
// commands. Only cmd/switchboard (and tests) import it; API dialects never do.
package sipengine

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/capture"
	"github.com/switchboard-pbx/switchboard/internal/media"
)

// Defaults, named so the reason stays next to the number.
const (
	// DefaultRingTimeout bounds how long a dialled party may ring; long
	// enough for a person to reach a desk phone, short enough that a CRM's
	// click-to-call does not hang for minutes.
	DefaultRingTimeout = 30 * time.Second
	// nonceLifetime is how long a digest challenge stays valid. Phones answer
	// within milliseconds; a short lifetime limits replay.
	nonceLifetime = 5 * time.Minute
	// udpBufferBytes is the socket buffer asked of the kernel: sipgo never
	// enlarges it and the default drops packets above a few thousand calls/s.
	udpBufferBytes = 4 << 20
	// byeTimeout bounds every in-dialog request we send while ending a call.
	byeTimeout = 5 * time.Second
	// DefaultMaxSetups bounds calls being set up at once. Beyond it new
	// INVITEs get 503 at once: under overload, shedding early keeps the
	// calls already accepted working instead of letting retransmissions
	// snowball (measured: unguarded, 20,000 offered calls/s collapsed to
	// 218 completed/s).
	DefaultMaxSetups = 2000
	// DefaultMaxNonces bounds the replay table: entries exist only for
	// successful authentications within a nonce lifetime (5 min), so this
	// is about 330 authentications/s sustained; about 100 bytes each.
	DefaultMaxNonces = 100_000
)

// Config is what the engine needs; cmd/switchboard translates the config
// file into it so the engine never depends on the file format.
type Config struct {
	// Listen is the SIP address for UDP and TCP; port 0 picks a free port.
	Listen string
	// Transports to serve: "udp", "tcp". Default both.
	Transports []string
	// AdvertiseIP goes into Contact and SDP; default the listen IP.
	AdvertiseIP netip.Addr
	Tenants     []Tenant
	// Ports allocates RTP sockets; the engine does not close it.
	Ports       *media.PortAllocator
	RingTimeout time.Duration
	// MaxSetups bounds calls in setup (not yet answered); default
	// DefaultMaxSetups.
	MaxSetups int
	// SetupTarget is the setup latency the overload controller aims
	// under; default 200 ms.
	SetupTarget time.Duration
	// AuthGuard limits password guessing over SIP (zero: defaults).
	AuthGuard AuthGuardConfig
	// MaxNonces bounds the digest nonces whose nonce-count is tracked
	// against replay; default DefaultMaxNonces.
	MaxNonces int
	UserAgent string
	Logger    *slog.Logger
	// Capture, when its Dir is set, writes a PCAP per call.
	Capture CaptureConfig
	// TLSListen, with TLS, also serves SIP over TLS (sips, port 5061 by
	// convention). Phones registered over TLS are called back over their
	// TLS connection.
	TLSListen string
	TLS       *tls.Config
	// RTPTimeout ends a bridged call when a party sent no RTP for this
	// long (not while either party holds); 0 disables it.
	RTPTimeout time.Duration
	// SessionExpires is the SIP session interval (RFC 4028) asked for on
	// our INVITEs and the most granted to a phone's; 0 disables session
	// timers. MinSE is the smallest interval accepted (422 below it);
	// default DefaultMinSE.
	SessionExpires time.Duration
	MinSE          time.Duration
}

// Tenant is one PBX: its SIP domain (also the digest realm), extensions and
// trunks.
type Tenant struct {
	Name        string
	Domain      string
	Extensions  []Extension
	Trunks      []Trunk
	Conferences []Conference
	// Alarms are the thresholds of call.quality events; AlarmsOff turns
	// them off.
	Alarms    media.AlarmThresholds
	AlarmsOff bool
}

// Extension carries the SIP credentials of one extension. HA1 is
// MD5(number:domain:password); it is what we keep when the operator gave a
// password, so the plaintext need not stay in memory.
type Extension struct {
	Number string
	Name   string
	HA1    string
}

// Trunk is a SIP peer that carries calls to numbers outside the tenant.
type Trunk struct {
	Name      string
	Address   string // host:port
	Transport string // udp or tcp
	Username  string
	Password  string
	// Prefix selects the numbers this trunk carries ("" = any external).
	Prefix string
	// Strip removes that many leading digits before dialling.
	Strip int
	// CallerID replaces the caller's number towards the carrier, if set.
	CallerID string
	// DIDs are the numbers callers on this trunk may reach; empty means
	// every extension, queue and conference of the tenant. See the inbound
	// trust model in trunk.go.
	DIDs []string
	// AllowTransit lets calls from this trunk go back out a trunk (and a
	// REFER from its leg send a call out). Off by default: it is how
	// spoofed carrier INVITEs turn into free calls.
	AllowTransit bool
	// InboundSecretHeader, when set, names a header that INVITEs from this
	// trunk must carry with the value InboundSecret.
	InboundSecretHeader string
	InboundSecret       string
}

// Engine is the SIP PBX. Build it with New, run it with Start, stop it
// with Close.
type Engine struct {
	cfg      Config
	log      *slog.Logger
	core     Core
	counts   counters
	overload *overloadController

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	dua    *sipgo.DialogUA

	udpConn net.PacketConn
	tcpLn   net.Listener
	addr    netip.AddrPort

	tenants    map[string]*tenant // by name
	tenantList []*tenant          // in configuration order, for deterministic matching
	byDomain   map[string]*tenant
	nonceKey   []byte
	nonces     *nonceTracker
	guard      *authGuard
	ownIPs     []netip.Addr
	// warnLog is for warnings remote peers can trigger at will (refused
	// trunk calls): at most one per message per sipLogEvery.
	warnLog *slog.Logger

	reg *registrar

	mu      sync.Mutex
	setups  int                // calls not yet answered or ended
	calls   map[string]*call   // by call id (linked id)
	dialogs map[string]*leg    // by SIP Call-ID of each leg
	caps    *captures          // nil: no per-call PCAP
	tlsLn   net.Listener       // SIP over TLS, when configured
	rooms   map[string]*room   // live conference mixers by tenant + "/" + name
	moh     map[string][]int16 // music on hold by file ("" = generated)
	closing bool

	// abandoned INVITEs (by SIP Call-ID) whose late 2xx must be ACKed and
	// BYEd; see releaseLateAnswer. Guarded by mu.
	abandoned map[string]*abandonedInvite

	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

type tenant struct {
	Tenant
	exts   map[string]*Extension
	trunks []*Trunk
	rooms  map[string]string // conference dial-in number -> room name
}

// Conference is a room reachable by dialling its number.
type Conference struct {
	Name   string
	Number string
}

// New builds the engine and binds its sockets (so Addr is known before
// Start); nothing is served until Start.
func New(core Core, cfg Config) (*Engine, error) {
	if cfg.Ports == nil {
		return nil, errors.New("sipengine: no RTP port allocator")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = DefaultRingTimeout
	}
	if cfg.MaxSetups <= 0 {
		cfg.MaxSetups = DefaultMaxSetups
	}
	if cfg.MaxNonces <= 0 {
		cfg.MaxNonces = DefaultMaxNonces
	}
	if cfg.SessionExpires > 0 {
		if cfg.MinSE <= 0 {
			cfg.MinSE = DefaultMinSE
		}
		cfg.SessionExpires = max(cfg.SessionExpires, cfg.MinSE)
	}
	if len(cfg.Transports) == 0 {
		cfg.Transports = []string{"udp", "tcp"}
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "switchboard"
	}
	e := &Engine{
		cfg: cfg, log: cfg.Logger.With("component", "sipengine"), core: core,
		tenants: map[string]*tenant{}, byDomain: map[string]*tenant{},
		calls: map[string]*call{}, dialogs: map[string]*leg{}, rooms: map[string]*room{}, moh: map[string][]int16{},
		nonceKey: make([]byte, 32), nonces: newNonceTracker(cfg.MaxNonces),
	}
	e.guard = newAuthGuard(cfg.AuthGuard, e.log)
	e.guard.exempt = e.isTrunkIP
	e.overload = newOverloadController(cfg.MaxSetups, nil)
	if cfg.SetupTarget > 0 {
		e.overload.target = cfg.SetupTarget
	}
	e.warnLog = slog.New(newThrottleHandler(e.log.Handler(), sipLogEvery))
	e.abandoned = map[string]*abandonedInvite{}
	if _, err := rand.Read(e.nonceKey); err != nil {
		return nil, fmt.Errorf("sipengine: nonce key: %w", err)
	}
	for i := range cfg.Tenants {
		t := &tenant{Tenant: cfg.Tenants[i], exts: map[string]*Extension{}, rooms: map[string]string{}}
		for _, cf := range t.Conferences {
			if cf.Number != "" {
				t.rooms[cf.Number] = cf.Name
			}
		}
		for j := range t.Extensions {
			x := &t.Extensions[j]
			t.exts[x.Number] = x
		}
		for j := range t.Trunks {
			t.trunks = append(t.trunks, &t.Trunks[j])
		}
		e.tenants[t.Name] = t
		e.tenantList = append(e.tenantList, t)
		e.byDomain[t.Domain] = t
	}
	if err := e.bind(); err != nil {
		return nil, err
	}
	if !cfg.AdvertiseIP.IsValid() || cfg.AdvertiseIP.IsUnspecified() {
		e.cfg.AdvertiseIP = e.addr.Addr()
	}
	if e.cfg.AdvertiseIP.IsUnspecified() {
		e.closeSockets()
		return nil, errors.New("sipengine: listening on a wildcard address needs an advertise IP")
	}
	e.collectOwnIPs()

	if cfg.Capture.Dir != "" {
		e.caps = &captures{cfg: cfg.Capture, listen: e.addr.String(),
			advertise: netip.AddrPortFrom(e.cfg.AdvertiseIP, e.addr.Port()),
			byCall:    map[string]*callCapture{}, pending: map[string][]pendingMsg{}}
	}

	var err error
	// sipgo logs what remote peers send (unparseable datagrams in full, at
	// ERROR): its loggers go through a limiter.
	sipLog := slog.New(newThrottleHandler(e.log.Handler(), sipLogEvery))
	e.ua, err = sipgo.NewUA(sipgo.WithUserAgent(cfg.UserAgent), sipgo.WithUserAgentHostname(e.cfg.AdvertiseIP.String()),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(sipLog)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(sipLog),
			sip.WithTransactionLayerUnhandledResponseHandler(e.strayResponse)))
	if err != nil {
		e.closeSockets()
		return nil, fmt.Errorf("sipengine: user agent: %w", err)
	}
	e.srv, err = sipgo.NewServer(e.ua, sipgo.WithServerLogger(sipLog))
	if err != nil {
		e.closeSockets()
		return nil, fmt.Errorf("sipengine: server: %w", err)
	}
	e.client, err = sipgo.NewClient(e.ua, sipgo.WithClientHostname(e.cfg.AdvertiseIP.String()), sipgo.WithClientPort(int(e.addr.Port())),
		sipgo.WithClientLogger(sipLog))
	if err != nil {
		e.closeSockets()
		return nil, fmt.Errorf("sipengine: client: %w", err)
	}
	e.dua = &sipgo.DialogUA{
		Client: e.client,
		ContactHDR: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "switchboard",
			Host: e.cfg.AdvertiseIP.String(), Port: int(e.addr.Port())}},
	}
	e.reg = newRegistrar(e)
	e.srv.OnRegister(e.count(e.handleRegister))
	e.srv.OnInvite(e.count(e.handleInvite))
	e.srv.OnAck(e.count(e.handleAck))
	e.srv.OnBye(e.count(e.handleBye))
	e.srv.OnInfo(e.count(e.handleInfo))
	e.srv.OnRefer(e.count(e.handleRefer))
	e.srv.OnUpdate(e.count(e.handleUpdate))
	e.srv.OnCancel(e.count(func(req *sip.Request, tx sip.ServerTransaction) {
		// A CANCEL matching a live INVITE is answered by the transaction layer;
		// one that reaches us matched nothing.
		e.log.Debug("cancel matched no transaction", "sip_call_id", req.CallID().Value(), "cseq", headerValue(req, "CSeq"), "via", headerValue(req, "Via"))
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
	}))
	e.srv.OnOptions(e.count(func(req *sip.Request, tx sip.ServerTransaction) {
		res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
		res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, REFER, NOTIFY, UPDATE"))
		_ = tx.Respond(res)
	}))
	e.srv.OnNoRoute(e.count(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusMethodNotAllowed, "Method Not Allowed", nil))
	}))
	return e, nil
}

// bind opens the UDP socket and a TCP listener on the same port.
func (e *Engine) bind() error {
	ap, err := netip.ParseAddrPort(e.cfg.Listen)
	if err != nil {
		return fmt.Errorf("sipengine: listen address %q: %w", e.cfg.Listen, err)
	}
	want := map[string]bool{}
	for _, t := range e.cfg.Transports {
		want[t] = true
	}
	if !want["udp"] {
		return errors.New("sipengine: udp transport is required")
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		_ = c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, udpBufferBytes)
			if serr == nil {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, udpBufferBytes)
			}
		})
		return serr
	}}
	for attempt := 0; ; attempt++ {
		pc, err := lc.ListenPacket(context.Background(), "udp", ap.String())
		if err != nil {
			return fmt.Errorf("sipengine: listen udp %s: %w", ap, err)
		}
		local := pc.LocalAddr().(*net.UDPAddr).AddrPort()
		if want["tcp"] {
			ln, err := net.Listen("tcp", netip.AddrPortFrom(ap.Addr(), local.Port()).String())
			if err != nil {
				pc.Close()
				if ap.Port() == 0 && attempt < 10 {
					continue // the random UDP port was taken on TCP; try another
				}
				return fmt.Errorf("sipengine: listen tcp %s: %w", local, err)
			}
			e.tcpLn = ln
		}
		e.udpConn = pc
		e.addr = netip.AddrPortFrom(ap.Addr().Unmap(), local.Port())
		if e.cfg.TLS != nil && e.cfg.TLSListen != "" {
			ln, err := tls.Listen("tcp", e.cfg.TLSListen, e.cfg.TLS)
			if err != nil {
				pc.Close()
				if e.tcpLn != nil {
					e.tcpLn.Close()
				}
				return fmt.Errorf("sipengine: listen tls %s: %w", e.cfg.TLSListen, err)
			}
			e.tlsLn = ln
		}
		return nil
	}
}

func (e *Engine) closeSockets() {
	if e.udpConn != nil {
		e.udpConn.Close()
	}
	if e.tcpLn != nil {
		e.tcpLn.Close()
	}
	if e.tlsLn != nil {
		e.tlsLn.Close()
	}
}

// TLSAddr is the SIP-over-TLS listening address, if any.
func (e *Engine) TLSAddr() netip.AddrPort {
	if e.tlsLn == nil {
		return netip.AddrPort{}
	}
	return e.tlsLn.Addr().(*net.TCPAddr).AddrPort()
}

// Addr is the bound SIP address (UDP, and TCP when enabled).
func (e *Engine) Addr() netip.AddrPort { return e.addr }

// Start serves SIP until Close. It returns once the listeners run.
func (e *Engine) Start(ctx context.Context) error {
	e.ctx, e.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if e.caps.enabled() {
		e.caps.writer = capture.NewWriter()
		tracer.add(e)
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if err := e.srv.ServeUDP(guardedConn{PacketConn: e.udpConn, g: e.guard, dropped: &e.counts.guardDropped,
			in: &e.counts.datagramsIn, out: &e.counts.datagramsOut}); err != nil && !errors.Is(err, net.ErrClosed) {
			e.log.Error("udp serve ended", "err", err)
		}
	}()
	if e.tcpLn != nil {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			if err := e.srv.ServeTCP(e.tcpLn); err != nil && !errors.Is(err, net.ErrClosed) {
				e.log.Error("tcp serve ended", "err", err)
			}
		}()
	}
	if e.tlsLn != nil {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			if err := e.srv.ServeTLS(e.tlsLn); err != nil && !errors.Is(err, net.ErrClosed) {
				e.log.Error("tls serve ended", "err", err)
			}
		}()
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.reg.expireLoop(e.ctx)
	}()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.housekeeping(e.ctx)
	}()
	e.log.Info("sip listening", "addr", e.addr.String(), "transports", e.cfg.Transports)
	return nil
}

// Close hangs up every call (each gets its CDR), then stops serving.
func (e *Engine) Close(ctx context.Context) error {
	e.HangupAll(ctx)
	tracer.remove(e)
	defer func() {
		if e.caps != nil && e.caps.writer != nil {
			e.caps.writer.Close() // after the calls' captures are closed
		}
	}()
	if e.cancel != nil {
		e.cancel()
	}
	e.closeSockets()
	err := e.ua.Close()
	e.wg.Wait()
	return err
}

// HangupAll refuses new calls and ends every live one with a BYE to both
// sides, waiting (within ctx) until their CDRs are written. SIP keeps
// serving, so devices can still unregister.
func (e *Engine) HangupAll(ctx context.Context) {
	e.mu.Lock()
	e.closing = true
	calls := make([]*call, 0, len(e.calls))
	for _, c := range e.calls {
		calls = append(calls, c)
	}
	e.mu.Unlock()
	for _, c := range calls {
		c.hangup("system")
	}
	for _, c := range calls {
		select {
		case <-c.done:
		case <-ctx.Done():
		}
	}
}

// Stats is a snapshot for health checks and benchmarks.
type Stats struct {
	ActiveCalls   int
	Registrations int
	RTPPortsInUse int
}

// Stats returns live counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	n := len(e.calls)
	e.mu.Unlock()
	return Stats{ActiveCalls: n, Registrations: e.reg.count(), RTPPortsInUse: e.cfg.Ports.InUse()}
}

// tenantFor picks the tenant of a request from its domain; a PBX with a
// single tenant also accepts phones configured with its IP address.
func (e *Engine) tenantFor(host string) *tenant {
	if t := e.byDomain[host]; t != nil {
		return t
	}
	if len(e.tenants) == 1 {
		for _, t := range e.tenants {
			return t
		}
	}
	return nil
}

func (e *Engine) track(c *call) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing {
		return false
	}
	e.calls[c.id] = c
	e.setups++
	c.inSetup = true
	e.wg.Add(1)
	return true
}

// SetTransactionLinger sets how long finished SIP transactions stay to
// absorb retransmissions (timers D, J, L, M of RFC 3261 and 6026; 32 s
// there). The timers are sipgo's process-wide settings, so this is for
// the process's owner (cmd/switchboard) to call once, before any engine
// starts; engines built without it keep the RFC's values.
func SetTransactionLinger(d time.Duration) {
	if d <= 0 {
		return
	}
	sip.Timer_D, sip.Timer_J, sip.Timer_L, sip.Timer_M = d, d, d, d
}

// setupDone marks a call as out of its setup phase (answered or ended).
func (e *Engine) setupDone(c *call) {
	e.mu.Lock()
	if c.inSetup {
		c.inSetup = false
		e.setups--
	}
	e.mu.Unlock()
}

// overloaded reports whether new calls should be refused.
func (e *Engine) overloaded() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.setups >= e.cfg.MaxSetups || !e.overload.admit(e.setups)
}

func (e *Engine) untrack(c *call) {
	e.setupDone(c)
	e.mu.Lock()
	delete(e.calls, c.id)
	for _, l := range []*leg{c.a, c.b} {
		if l != nil && e.dialogs[l.sipCallID] == l {
			delete(e.dialogs, l.sipCallID)
		}
	}
	e.mu.Unlock()
	e.wg.Done()
}

func (e *Engine) addDialog(l *leg) {
	e.mu.Lock()
	e.dialogs[l.sipCallID] = l
	e.mu.Unlock()
}

func (e *Engine) contactURI() string {
	return "sip:switchboard@" + netip.AddrPortFrom(e.cfg.AdvertiseIP, e.addr.Port()).String()
}

// isTrunkIP reports whether ip is the address of a configured trunk.
func (e *Engine) isTrunkIP(ip netip.Addr) bool {
	for _, t := range e.tenantList {
		for _, tr := range t.trunks {
			if ap, err := netip.ParseAddrPort(tr.Address); err == nil && ap.Addr().Unmap() == ip {
				return true
			}
		}
	}
	return false
}

// housekeeping expires the security tables (digest nonces, failed-login
// counters and blocks) so their memory follows the lifetime of what they
// protect.
func (e *Engine) housekeeping(ctx context.Context) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			e.nonces.sweep(now)
			e.guard.sweep(now)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
