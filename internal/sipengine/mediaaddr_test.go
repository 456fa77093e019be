package sipengine

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Offers whose media address would aim our RTP at a multicast group, a
// broadcast, a well-known port, our own SIP port or our own RTP ports are
// refused with 488 and a Warning.
func TestUnusableMediaAddressRefused(t *testing.T) {
	r := newRig(t, 5*time.Second)
	phone := newWirePeer(t, "udp", r.eng.Addr(), "")
	q := wireReq{method: sip.INVITE, ruser: "101", rhost: domain, fromUser: "100", fromHost: domain, fromTag: "m0", callID: "media-0",
		body: sdpOffer(netip.AddrPortFrom(lo, 40008))}
	phone.sendRaw(phone.build(q))
	chal := phone.final(q.callID, sip.INVITE, 5*time.Second)
	if chal == nil || chal.StatusCode != 407 {
		t.Fatalf("challenge: %v", chal)
	}
	own := r.eng.Addr()
	held, err := r.eng.cfg.Ports.NewLeg() // a port switchboard holds right now
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	cases := []struct {
		name string
		sdp  string
	}{
		{"multicast", sdpOffer(netip.MustParseAddrPort("239.1.2.3:4000"))},
		{"broadcast", sdpOffer(netip.MustParseAddrPort("255.255.255.255:4000"))},
		{"well-known port", sdpOffer(netip.AddrPortFrom(lo, 53))},
		{"our SIP port", sdpOffer(own)},
		{"one of our RTP sockets", sdpOffer(held.LocalAddr())},
		{"0.0.0.0 not as hold", strings.Replace(sdpOffer(netip.MustParseAddrPort("0.0.0.0:4000")), "a=sendrecv", "a=recvonly", 1)},
	}
	for i, tc := range cases {
		q := wireReq{method: sip.INVITE, ruser: "101", rhost: domain, fromUser: "100", fromHost: domain, fromTag: fmt.Sprint("m", i+1),
			callID: fmt.Sprint("media-", i+1), body: tc.sdp,
			extra: []string{"Proxy-Authorization: " + answerDigest(t, chal, "INVITE", "sip:101@"+domain, "100", "pw-100", i+1)}}
		phone.sendRaw(phone.build(q))
		res := phone.final(q.callID, sip.INVITE, 5*time.Second)
		if res == nil || res.StatusCode != 488 {
			t.Fatalf("%s: %v, want 488", tc.name, res)
		}
		if w := res.GetHeader("Warning"); w == nil || !strings.HasPrefix(w.Value(), "301 ") {
			t.Fatalf("%s: Warning %v", tc.name, w)
		}
	}
	if n := len(r.cdrs.all()); n != 0 {
		t.Fatalf("refused offers made %d CDRs", n)
	}
}

// An SDP address that is not the caller's signalling IP gets no RTP until
// the caller's own RTP arrives; then RTP goes where it came from.
func TestSDPCannotAimRTPAtThirdParty(t *testing.T) {
	r := newRig(t, 5*time.Second)
	r.phones(t, 50*time.Millisecond, "101") // answers and plays a tone
	victim, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	media1, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer media1.Close()
	phone := newWirePeer(t, "udp", r.eng.Addr(), "")
	q := wireReq{method: sip.INVITE, ruser: "101", rhost: domain, fromUser: "100", fromHost: domain, fromTag: "v0", callID: "victim-1",
		body: sdpOffer(victim.LocalAddr().(*net.UDPAddr).AddrPort())}
	phone.sendRaw(phone.build(q))
	chal := phone.final(q.callID, sip.INVITE, 5*time.Second)
	if chal == nil || chal.StatusCode != 407 {
		t.Fatalf("challenge: %v", chal)
	}
	q.cseq, q.extra = 2, []string{"Proxy-Authorization: " + answerDigest(t, chal, "INVITE", "sip:101@"+domain, "100", "pw-100", 1)}
	ok := phone.dialIn(q)
	if ok == nil || ok.StatusCode != 200 {
		t.Fatalf("call: %v", ok)
	}
	r.waitEvent(t, pbx.EvCallAnswered)
	buf := make([]byte, 1500)
	_ = victim.SetReadDeadline(time.Now().Add(300 * time.Millisecond)) // the bot's tone flows every 20 ms
	if _, _, err := victim.ReadFromUDPAddrPort(buf); err == nil {
		t.Fatal("RTP reached the SDP's third-party address before the caller sent any")
	}
	ans, err := media.ParseSDP(ok.Body())
	if err != nil {
		t.Fatal(err)
	}
	pkt := make([]byte, 12+160)
	pkt[0] = 0x80
	if _, err := media1.WriteToUDPAddrPort(pkt, ans.Addr); err != nil {
		t.Fatal(err)
	}
	_ = media1.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, _, err := media1.ReadFromUDPAddrPort(buf); err != nil {
		t.Fatalf("no RTP after the caller's first packet: %v", err)
	}
	calls, _ := r.core.Calls("t")
	for _, c := range calls {
		_ = r.core.Hangup(t.Context(), "t", c.ID)
	}
	phone.answerUntil(sip.BYE, 5*time.Second)
	r.waitEnded(t)
}
