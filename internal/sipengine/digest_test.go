package sipengine

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func TestDigestVerification(t *testing.T) {
	e := &Engine{nonceKey: []byte("0123456789abcdef0123456789abcdef"), nonces: newNonceTracker(100), log: slog.New(slog.DiscardHandler)}
	const client = "udp:192.0.2.1:5060"
	now := time.Unix(1_800_000_000, 0)
	realm := "pbx.example"
	ha1 := HA1("1001", realm, "pw")
	lookup := func(u string) string {
		if u == "1001" {
			return ha1
		}
		return ""
	}
	nonce := e.newNonce(realm, client, now)
	nonce2 := e.newNonce(realm, client, now.Add(time.Nanosecond))
	uri := "sip:1002@pbx.example"
	var respNC func(user, nonce, qop string, nc int) string
	resp := func(user, nonce, qop string) string { return respNC(user, nonce, qop, 1) }
	respNC = func(user, nonce, qop string, nc int) string {
		ha2 := md5hex("INVITE:" + uri)
		r := md5hex(ha1 + ":" + nonce + ":" + ha2)
		if qop != "" {
			r = md5hex(fmt.Sprintf("%s:%s:%08x:%s:%s:%s", ha1, nonce, nc, "abc", qop, ha2))
		}
		h := fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5`, user, realm, nonce, uri, r)
		if qop != "" {
			h += fmt.Sprintf(`, qop=%s, nc=%08x, cnonce="abc"`, qop, nc)
		}
		return h
	}
	cases := []struct {
		name  string
		hdr   string
		at    time.Time
		realm string
		ok    bool
		stale bool
	}{
		{"qop auth", resp("1001", nonce, "auth"), now, realm, true, false},
		{"same nc again is a replay", resp("1001", nonce, "auth"), now, realm, false, true},
		{"next nc", respNC("1001", nonce, "auth", 2), now, realm, true, false},
		{"older nc", resp("1001", nonce, "auth"), now, realm, false, true},
		{"no qop (RFC 2069 phones)", resp("1001", nonce2, ""), now, realm, true, false},
		{"no qop nonce is single-use", resp("1001", nonce2, ""), now, realm, false, true},
		{"nonce of another client", resp("1001", e.newNonce(realm, "udp:192.0.2.1:5062", now), "auth"), now, realm, false, true},
		{"expired nonce is stale", resp("1001", nonce, "auth"), now.Add(nonceLifetime + time.Second), realm, false, true},
		{"nonce of another realm", resp("1001", e.newNonce("other", client, now), "auth"), now, realm, false, false},
		{"forged nonce", resp("1001", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "auth"), now, realm, false, false},
		{"unknown user", resp("1002", nonce, "auth"), now, realm, false, false},
		{"wrong realm", resp("1001", nonce, "auth"), now, "x", false, false},
		{"empty", "", now, realm, false, false},
		{"garbage", "Digest ,,,=", now, realm, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.verifyDigest(tc.hdr, "INVITE", tc.realm, client, tc.at, lookup)
			if r.ok != tc.ok || r.stale != tc.stale {
				t.Fatalf("got %+v", r)
			}
		})
	}
	// A right response for another method fails: the method is in HA2.
	if r := e.verifyDigest(respNC("1001", nonce, "auth", 9), "REGISTER", realm, client, now, lookup); r.ok {
		t.Fatal("response for INVITE accepted for REGISTER")
	}
}

func FuzzVerifyDigest(f *testing.F) {
	e := &Engine{nonceKey: []byte("k"), nonces: newNonceTracker(10)}
	f.Add(`Digest username="1001", realm="r", nonce="n", uri="sip:x", response="0", qop=auth, nc=00000001, cnonce="c"`)
	f.Add(`Digest username=`)
	f.Fuzz(func(t *testing.T, hdr string) {
		if r := e.verifyDigest(hdr, "INVITE", "r", "udp:x", time.Now(), func(string) string { return md5hex("x") }); r.ok {
			t.Fatalf("fuzzed header authenticated: %q", hdr)
		}
	})
}

// A Proxy-Authorization captured from a successful INVITE is useless in a
// new dialog, from the same socket or any other: 407 with stale=true, and
// no call.
func TestDigestReplayRefused(t *testing.T) {
	r := newRig(t, 5*time.Second)
	phone := newWirePeer(t, "udp", r.eng.Addr(), "")
	inv := func(p *wirePeer, callID string, auth string) *sip.Response {
		q := wireReq{method: sip.INVITE, ruser: "101", rhost: domain, fromUser: "100", fromHost: domain, fromTag: "f-" + callID,
			callID: callID, body: sdpOffer(netip.AddrPortFrom(lo, 40004))}
		if auth != "" {
			q.cseq, q.extra = 2, []string{"Proxy-Authorization: " + auth}
		}
		p.sendRaw(p.build(q))
		res := p.final(callID, sip.INVITE, 5*time.Second)
		if res == nil {
			t.Fatalf("%s: no final response", callID)
		}
		return res
	}
	chal := inv(phone, "replay-1", "")
	if chal.StatusCode != 407 {
		t.Fatalf("first INVITE: %d", chal.StatusCode)
	}
	auth := answerDigest(t, chal, "INVITE", "sip:101@"+domain, "100", "pw-100", 1)
	if res := inv(phone, "replay-1", auth); res.StatusCode != 480 {
		t.Fatalf("authenticated INVITE: %d, want 480 (101 is not registered)", res.StatusCode)
	}
	r.waitEnded(t)
	stale := func(res *sip.Response) bool {
		h := res.GetHeader("Proxy-Authenticate")
		return h != nil && strings.Contains(strings.ToLower(h.Value()), "stale=true")
	}
	if res := inv(phone, "replay-2", auth); res.StatusCode != 407 || !stale(res) {
		t.Fatalf("replay in a new dialog from the same socket: %d %v", res.StatusCode, res.GetHeader("Proxy-Authenticate"))
	}
	other := newWirePeer(t, "udp", r.eng.Addr(), "")
	if res := inv(other, "replay-3", auth); res.StatusCode != 407 || !stale(res) {
		t.Fatalf("replay from another socket: %d", res.StatusCode)
	}
	// The honest phone answers the fresh challenge and gets through.
	chal = inv(phone, "replay-4", "")
	if res := inv(phone, "replay-4", answerDigest(t, chal, "INVITE", "sip:101@"+domain, "100", "pw-100", 1)); res.StatusCode != 480 {
		t.Fatalf("fresh credentials: %d", res.StatusCode)
	}
	r.waitEnded(t)
	if n := len(r.cdrs.all()); n != 2 {
		t.Fatalf("%d calls were placed, want 2 (the replays must not be calls)", n)
	}
}

// The replay table never holds more than its bound, and forgets nonces
// once they could no longer be used anyway.
func TestNonceTrackerBounded(t *testing.T) {
	n := newNonceTracker(3)
	log := slog.New(slog.DiscardHandler)
	now := time.Unix(1_800_000_000, 0)
	for i := range 10 {
		if !n.use(fmt.Sprint("nonce", i), 1, now, log) {
			t.Fatalf("fresh nonce %d refused", i)
		}
		if len(n.seen) > 3 {
			t.Fatalf("%d entries, bound 3", len(n.seen))
		}
	}
	if n.use("nonce9", 1, now, log) {
		t.Fatal("replayed nc accepted")
	}
	n.sweep(now.Add(nonceLifetime + 2*time.Minute))
	if len(n.seen) != 0 {
		t.Fatalf("%d entries after their lifetime", len(n.seen))
	}
}
