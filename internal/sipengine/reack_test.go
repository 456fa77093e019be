package sipengine

import (
	"context"
	"testing"
	"time"
)

// TestStray2xxOfLiveDialogIsACKedAgain: a callee's 200 OK retransmitted
// after our INVITE transaction has ended (our ACK was lost; finished
// transactions linger only limits.transaction_linger) reaches the stray
// response handler; for a live dialog the ACK goes out again over the
// wire, so the callee does not hang up when its retransmissions run out.
func TestStray2xxOfLiveDialogIsACKedAgain(t *testing.T) {
	r := newRig(t, 5*time.Second)
	callee := newTestPhone(t, r, "102", "udp")
	caller := newTestPhone(t, r, "100", "udp")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	pc, err := caller.dial(ctx, "102")
	if err != nil {
		t.Fatal(err)
	}
	defer caller.hangup(pc)
	acks := func() int {
		callee.mu.Lock()
		defer callee.mu.Unlock()
		return len(callee.acks)
	}
	deadline := time.Now().Add(5 * time.Second)
	for acks() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the callee never got the first ACK")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The engine's outbound leg to 102 and the 200 OK it got.
	r.eng.mu.Lock()
	var ok200 = (*leg)(nil)
	for _, l := range r.eng.dialogs {
		if l.cli != nil && l.cli.InviteResponse != nil {
			ok200 = l
		}
	}
	r.eng.mu.Unlock()
	if ok200 == nil {
		t.Fatal("no outbound dialog")
	}
	before := acks()
	r.eng.strayResponse(ok200.cli.InviteResponse.Clone())
	for acks() == before {
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatal("a retransmitted 2xx of a live dialog was not ACKed again")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A 2xx of another CSeq (a re-INVITE's) is left alone.
	res := ok200.cli.InviteResponse.Clone()
	res.CSeq().SeqNo += 5
	n := acks()
	r.eng.strayResponse(res)
	time.Sleep(300 * time.Millisecond)
	if acks() != n {
		t.Fatal("a stray 2xx with another CSeq was ACKed")
	}
}
