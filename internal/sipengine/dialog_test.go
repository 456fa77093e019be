package sipengine

import (
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// callFrom places an authenticated call from ext 100 on p to 101 and
// returns the INVITE as sent and the 200 (the ACK is sent).
func callFrom(t *testing.T, p *wirePeer, callID string) (wireReq, *sip.Response) {
	t.Helper()
	q := wireReq{method: sip.INVITE, ruser: "101", rhost: domain, fromUser: "100", fromHost: domain, fromTag: "ft-" + callID,
		callID: callID, body: sdpOffer(netip.AddrPortFrom(lo, 40006))}
	p.sendRaw(p.build(q))
	chal := p.final(callID, sip.INVITE, 5*time.Second)
	if chal == nil || chal.StatusCode != 407 {
		t.Fatalf("challenge: %v", chal)
	}
	q.cseq = 2
	q.extra = []string{"Proxy-Authorization: " + answerDigest(t, chal, "INVITE", "sip:101@"+domain, "100", "pw-100", 1)}
	res := p.dialIn(q)
	if res == nil || res.StatusCode != 200 {
		t.Fatalf("call not answered: %v", res)
	}
	q.extra = nil
	return q, res
}

// inDialog sends method in the dialog of inv/ok from p, with the tags
// given, and returns the final status (0: none).
func inDialog(p *wirePeer, inv wireReq, method sip.RequestMethod, fromTag, toTag string, cseq int, extra ...string) int {
	q := inv
	q.method, q.fromTag, q.toTag, q.cseq, q.branch, q.body, q.extra = method, fromTag, toTag, cseq, "", "", extra
	p.sendRaw(p.build(q))
	if res := p.final(q.callID, method, 3*time.Second); res != nil {
		return res.StatusCode
	}
	return 0
}

// In-dialog requests must carry the dialog's tags and come over its
// transport from its remote party: a forged BYE with the right Call-ID
// (from CDRs, events, PCAPs) ends nothing.
func TestForgedInDialogRequests(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			r := newRig(t, 5*time.Second)
			r.phones(t, 50*time.Millisecond, "101")
			phone := newWirePeer(t, network, r.eng.Addr(), "")
			inv, ok := callFrom(t, phone, "dlg-"+network)
			r.waitEvent(t, pbx.EvCallAnswered)
			remote := toTag(ok)

			attacker := newWirePeer(t, network, r.eng.Addr(), "")
			if got := inDialog(attacker, inv, sip.BYE, "evil", "evil", 10); got != 481 {
				t.Fatalf("BYE with invented tags: %d, want 481", got)
			}
			if got := inDialog(attacker, inv, sip.BYE, inv.fromTag, remote, 11); got != 481 {
				t.Fatalf("BYE with the right tags from another socket: %d, want 481", got)
			}
			if got := inDialog(attacker, inv, sip.INFO, inv.fromTag, remote, 12, "Content-Type: application/dtmf-relay", "Content-Length: 0"); got != 481 {
				t.Fatalf("INFO from another socket: %d, want 481", got)
			}
			if got := inDialog(attacker, inv, sip.INVITE, inv.fromTag, remote, 13); got != 481 {
				t.Fatalf("re-INVITE from another socket: %d, want 481", got)
			}
			if got := inDialog(phone, inv, sip.BYE, inv.fromTag, "evil", 13); got != 481 {
				t.Fatalf("BYE from the phone's socket with a wrong tag: %d, want 481", got)
			}
			if calls, _ := r.core.Calls("t"); len(calls) != 1 {
				t.Fatalf("forged requests ended the call: %d calls", len(calls))
			}
			if got := inDialog(phone, inv, sip.BYE, inv.fromTag, remote, 14); got != 200 {
				t.Fatalf("genuine BYE: %d", got)
			}
			if c := r.waitEnded(t); c.HangupBy != "caller" {
				t.Fatalf("cdr %+v", c)
			}
		})
	}
}
