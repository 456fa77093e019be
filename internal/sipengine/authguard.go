package sipengine

import (
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// AuthGuardConfig limits password guessing over SIP digest. Zero fields
// take the defaults below; a negative AddrFailures turns the guard off.
type AuthGuardConfig struct {
	// AddrFailures failed digests from one IP address within Window block
	// that address (every REGISTER and INVITE it sends) for BlockFor.
	AddrFailures int
	// ExtFailures failed digests for one extension, from any addresses,
	// within Window put the extension under guard for BlockFor: while
	// guarded, addresses that failed for it are refused for it. Addresses
	// that never failed (the phone's own) are not, so a distributed
	// attack cannot lock the owner out.
	ExtFailures int
	Window      time.Duration
	BlockFor    time.Duration
	// MaxTracked bounds each table (addresses, extensions, pairs).
	MaxTracked int
}

// Defaults of AuthGuardConfig: a phone with a wrong password retries a few
// times a minute at most; an attacker tries hundreds per second.
const (
	DefaultAuthAddrFailures = 10
	DefaultAuthExtFailures  = 20
	DefaultAuthWindow       = time.Minute
	DefaultAuthBlockFor     = 5 * time.Minute
	DefaultAuthMaxTracked   = 65536
)

func (c AuthGuardConfig) withDefaults() AuthGuardConfig {
	if c.AddrFailures == 0 {
		c.AddrFailures = DefaultAuthAddrFailures
	}
	if c.ExtFailures <= 0 {
		c.ExtFailures = DefaultAuthExtFailures
	}
	if c.Window <= 0 {
		c.Window = DefaultAuthWindow
	}
	if c.BlockFor <= 0 {
		c.BlockFor = DefaultAuthBlockFor
	}
	if c.MaxTracked <= 0 {
		c.MaxTracked = DefaultAuthMaxTracked
	}
	return c
}

// authGuard counts failed digests per address, per extension and per
// (extension, address) in fixed windows, and blocks. Memory is bounded by
// MaxTracked per table and entries expire with their window or block.
type authGuard struct {
	cfg AuthGuardConfig
	log *slog.Logger
	// exempt names addresses never blocked (trunks: over UDP anyone can
	// fail digests in a carrier's name to cut off its inbound calls).
	exempt func(netip.Addr) bool

	mu    sync.Mutex
	addrs map[netip.Addr]*failCount
	exts  map[string]*failCount // tenant\x00number
	pairs map[string]*failCount // tenant\x00number\x00addr
}

type failCount struct {
	n            int
	windowStart  time.Time
	blockedUntil time.Time
}

func newAuthGuard(cfg AuthGuardConfig, log *slog.Logger) *authGuard {
	return &authGuard{cfg: cfg.withDefaults(), log: log, addrs: map[netip.Addr]*failCount{},
		exts: map[string]*failCount{}, pairs: map[string]*failCount{}}
}

func (g *authGuard) off() bool { return g == nil || g.cfg.AddrFailures < 0 }

// blocked reports whether a request from addr for extension ext (key()
// of tenant and number; "" when unknown) must be refused unheard.
func (g *authGuard) blocked(addr netip.Addr, ext string, now time.Time) bool {
	if g.off() {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.addrs[addr]; f != nil && now.Before(f.blockedUntil) {
		return true
	}
	if ext == "" {
		return false
	}
	if f := g.exts[ext]; f != nil && now.Before(f.blockedUntil) {
		p := g.pairs[ext+"\x00"+addr.String()]
		return p != nil && p.n > 0 && now.Sub(p.windowStart) < g.cfg.BlockFor
	}
	return false
}

// fail counts one failed digest and starts blocks; each block is logged
// once, when it starts.
func (g *authGuard) fail(addr netip.Addr, ext string, now time.Time) {
	if g.off() {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.exempt != nil && g.exempt(addr) {
		// not counted per address
	} else if bump(g, g.addrs, addr, now, g.cfg.AddrFailures) {
		g.log.Warn("sip address blocked after failed authentication", "addr", addr.String(),
			"failures", g.cfg.AddrFailures, "window", g.cfg.Window, "for", g.cfg.BlockFor)
	}
	if ext == "" {
		return
	}
	bump(g, g.pairs, ext+"\x00"+addr.String(), now, 0)
	if bump(g, g.exts, ext, now, g.cfg.ExtFailures) {
		g.log.Warn("sip extension under guard after failed authentication: addresses that failed are refused",
			"ext", ext, "failures", g.cfg.ExtFailures, "window", g.cfg.Window, "for", g.cfg.BlockFor)
	}
}

// bump counts a failure under k and reports whether it starts a block
// (limit 0: count only).
func bump[K comparable](g *authGuard, m map[K]*failCount, k K, now time.Time, limit int) bool {
	f := m[k]
	if f == nil {
		if len(m) >= g.cfg.MaxTracked {
			sweepFails(m, now, g.cfg)
		}
		if len(m) >= g.cfg.MaxTracked {
			return false // full of live entries: the address-level blocks still hold
		}
		f = &failCount{windowStart: now}
		m[k] = f
	}
	if now.Before(f.blockedUntil) {
		return false
	}
	if now.Sub(f.windowStart) > g.cfg.Window {
		f.n, f.windowStart = 0, now
	}
	f.n++
	if limit > 0 && f.n >= limit {
		f.blockedUntil = now.Add(g.cfg.BlockFor)
		return true
	}
	return false
}

func sweepFails[K comparable](m map[K]*failCount, now time.Time, cfg AuthGuardConfig) {
	for k, f := range m {
		if now.After(f.blockedUntil) && now.Sub(f.windowStart) > max(cfg.Window, cfg.BlockFor) {
			delete(m, k)
		}
	}
}

func (g *authGuard) sweep(now time.Time) {
	if g.off() {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	sweepFails(g.addrs, now, g.cfg)
	sweepFails(g.exts, now, g.cfg)
	sweepFails(g.pairs, now, g.cfg)
}

// guardedConn drops datagrams from blocked addresses before sipgo parses
// them or creates a transaction: a blocked flood then costs one map
// lookup per datagram.
type guardedConn struct {
	net.PacketConn
	g       *authGuard
	dropped *atomic.Uint64
	in, out *atomic.Uint64 // datagrams read (not dropped) and written
}

func (c guardedConn) WriteTo(p []byte, a net.Addr) (int, error) {
	c.out.Add(1)
	return c.PacketConn.WriteTo(p, a)
}

func (c guardedConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, a, err := c.PacketConn.ReadFrom(p)
		if err == nil {
			if ua, ok := a.(*net.UDPAddr); ok && c.g.blocked(ua.AddrPort().Addr().Unmap(), "", time.Now()) {
				c.dropped.Add(1)
				continue
			}
			c.in.Add(1)
		}
		return n, a, err
	}
}

// authenticate checks the digest of a REGISTER or INVITE with the
// brute-force guard around it. user is the extension the request claims
// (REGISTER: the To user; INVITE: the credentials' user, else the From
// user). blocked means the request must get no answer over UDP (a flood
// gets nothing to measure) and 403 over stream transports.
func (e *Engine) authenticate(req *sip.Request, t *tenant, hdr, user string, now time.Time, lookup func(string) string) (ar authResult, blocked bool) {
	addr := sourceAddr(req)
	if hdr != "" {
		if cr, err := digest.ParseCredentials(hdr); err == nil && cr.Username != "" {
			user = cr.Username
		}
	}
	ext := ""
	if t.exts[user] != nil {
		ext = key(t.Name, user)
	}
	if e.guard.blocked(addr, "", now) {
		return authResult{why: "blocked"}, true
	}
	if ext != "" && e.guard.blocked(addr, ext, now) {
		// Hammering a guarded extension counts against the address, so a
		// persistent sender ends up dropped at the socket.
		e.guard.fail(addr, "", now)
		return authResult{why: "blocked"}, true
	}
	ar = e.verifyDigest(hdr, string(req.Method), t.Domain, clientOf(req), now, lookup)
	if !ar.ok && !ar.stale && ar.why != "no credentials" && ar.why != "foreign nonce" {
		e.guard.fail(addr, ext, now)
	}
	return ar, false
}

// refuseBlocked answers a blocked request: nothing over UDP, 403 otherwise.
func (e *Engine) refuseBlocked(tx sip.ServerTransaction, req *sip.Request) {
	if strings.EqualFold(req.Transport(), "udp") {
		return
	}
	e.reply(tx, req, sip.StatusForbidden, "Forbidden")
}

func sourceAddr(req *sip.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
