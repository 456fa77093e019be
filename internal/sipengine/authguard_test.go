package sipengine

import (
	"fmt"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// register sends one REGISTER for ext 100 from p and returns the final
// response (nil: none within d).
func register(p *wirePeer, cseq int, auth string, d time.Duration) *sip.Response {
	q := wireReq{method: sip.REGISTER, ruser: "100", rhost: domain, fromUser: "100", fromHost: domain, fromTag: "r1",
		callID: "reg-" + p.local.String(), cseq: cseq, extra: []string{"Expires: 300"}}
	if auth != "" {
		q.extra = append(q.extra, "Authorization: "+auth)
	}
	p.sendRaw(p.build(q))
	return p.final(q.callID, sip.REGISTER, d)
}

// A flood of wrong passwords from one address blocks it (silently over
// UDP, logged once) even for the right password; another address with the
// right password still registers.
func TestRegisterFloodBlocksTheAddress(t *testing.T) {
	logs := newLogCapture()
	r := newRigWith(t, 5*time.Second, pbx.Options{}, nil, func(c *Config) { c.Logger = slog.New(logs) })
	attacker := newWirePeer(t, "udp", r.eng.Addr(), "")
	chal := register(attacker, 1, "", 2*time.Second)
	if chal == nil || chal.StatusCode != 401 {
		t.Fatalf("challenge: %v", chal)
	}
	uri := "sip:100@" + domain
	for i := 1; i <= DefaultAuthAddrFailures; i++ {
		res := register(attacker, 1+i, answerDigest(t, chal, "REGISTER", uri, "100", fmt.Sprint("guess", i), i), 2*time.Second)
		if res == nil || res.StatusCode != 401 {
			t.Fatalf("guess %d: %v", i, res)
		}
	}
	for i := DefaultAuthAddrFailures + 1; i <= 50; i++ {
		attacker.sendRaw(attacker.build(wireReq{method: sip.REGISTER, ruser: "100", rhost: domain, fromUser: "100", fromHost: domain,
			fromTag: "r1", callID: "reg-" + attacker.local.String(), cseq: 1 + i,
			extra: []string{"Authorization: " + answerDigest(t, chal, "REGISTER", uri, "100", fmt.Sprint("guess", i), i)}}))
	}
	// The right password from the blocked address: no answer at all.
	if res := register(attacker, 100, answerDigest(t, chal, "REGISTER", uri, "100", "pw-100", 99), 500*time.Millisecond); res != nil {
		t.Fatalf("blocked address got %d for the right password", res.StatusCode)
	}
	if x, _ := r.core.Extension("t", "100"); x.Registered {
		t.Fatal("registered from a blocked address")
	}
	// The phone elsewhere (another loopback address) is unaffected.
	phone := newWirePeer(t, "udp", r.eng.Addr(), "127.0.0.2:0")
	chal2 := register(phone, 1, "", 2*time.Second)
	if chal2 == nil || chal2.StatusCode != 401 {
		t.Fatalf("phone challenge: %v", chal2)
	}
	if res := register(phone, 2, answerDigest(t, chal2, "REGISTER", uri, "100", "pw-100", 1), 2*time.Second); res == nil || res.StatusCode != 200 {
		t.Fatalf("phone with the right password: %v", res)
	}
	if n := logs.count(slog.LevelWarn, "blocked"); n != 1 {
		t.Fatalf("block logged %d times at Warn, want once", n)
	}
	// Over TCP a blocked address is told 403.
	tcp := newWirePeer(t, "tcp", r.eng.Addr(), "")
	if res := register(tcp, 1, "", 2*time.Second); res == nil || res.StatusCode != 403 {
		t.Fatalf("blocked address over TCP: %v", res)
	}
}

// The per-extension guard refuses addresses that failed for the extension
// and never the ones that did not, so attackers cannot lock the owner out.
func TestAuthGuardPerExtension(t *testing.T) {
	g := newAuthGuard(AuthGuardConfig{}, slog.New(slog.DiscardHandler))
	now := time.Unix(1_800_000_000, 0)
	ext := key("t", "100")
	attacker := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}) }
	for i := range DefaultAuthExtFailures {
		g.fail(attacker(i), ext, now)
	}
	if !g.blocked(attacker(0), ext, now) {
		t.Fatal("an address that failed for a guarded extension is not refused")
	}
	if g.blocked(attacker(0), key("t", "101"), now) {
		t.Fatal("the guard of 100 refuses another extension")
	}
	owner := netip.MustParseAddr("192.0.2.10")
	if g.blocked(owner, ext, now) {
		t.Fatal("the owner's address is locked out by attackers elsewhere")
	}
	if g.blocked(attacker(0), ext, now.Add(DefaultAuthBlockFor+time.Second)) {
		t.Fatal("the guard outlives BlockFor")
	}
	for range DefaultAuthAddrFailures - 1 {
		g.fail(owner, "", now)
	}
	if g.blocked(owner, "", now) {
		t.Fatal("blocked below the address threshold")
	}
	g.fail(owner, "", now)
	if !g.blocked(owner, "", now) || g.blocked(owner, "", now.Add(DefaultAuthBlockFor+time.Second)) {
		t.Fatal("address block does not start at the threshold or does not end")
	}
}
