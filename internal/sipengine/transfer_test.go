package sipengine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestReferThenImmediateBye: the transferor hangs up the moment it gets a
// final NOTIFY (or, harsher, any NOTIFY). Its BYE must end only its own
// leg: the target is called and connected to the transferee, who was not
// hung up (issue 10 item 5: the whole call used to be torn down, the
// target never called). The final NOTIFY carries the target's answer.
func TestReferThenImmediateBye(t *testing.T) {
	for _, when := range []string{"final NOTIFY", "first NOTIFY"} {
		t.Run(when, func(t *testing.T) {
			r := newRig(t, 5*time.Second)
			r.phonesTone(t, 100*time.Millisecond, 440, "101")
			r.phonesTone(t, 300*time.Millisecond, 1000, "102")
			p := newTestPhone(t, r, "100", "udp")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			pc, err := p.dial(ctx, "101")
			if err != nil {
				t.Fatal(err)
			}
			r.waitEvent(t, pbx.EvCallAnswered)
			notified := make(chan string, 4)
			byed := make(chan error, 1)
			p.mu.Lock()
			p.onNotify = func(req *sip.Request) {
				body := string(req.Body())
				notified <- strings.TrimSpace(body)
				final := strings.Contains(headerValue(req, "Subscription-State"), "terminated")
				if final || when == "first NOTIFY" {
					p.mu.Lock()
					p.onNotify = func(req *sip.Request) { notified <- strings.TrimSpace(string(req.Body())) }
					p.mu.Unlock()
					go func() { byed <- p.hangup(pc) }()
				}
			}
			p.mu.Unlock()
			res, err := p.refer(ctx, pc, "102")
			if err != nil || res.StatusCode != 202 {
				t.Fatalf("REFER: %v %v", res, err)
			}
			tr := r.waitEvent(t, pbx.EvCallTransferred)
			if tr.Channel.Exten != "102" {
				t.Fatalf("transferred to %+v", tr.Channel)
			}
			if err := <-byed; err != nil {
				t.Fatalf("transferor's BYE: %v", err)
			}
			r.waitChanState(t, "102", pbx.ChanUp)
			time.Sleep(500 * time.Millisecond)
			calls, _ := r.core.Calls("t")
			if len(calls) != 1 {
				t.Fatalf("%d live calls after the transfer, want 101 talking to 102", len(calls))
			}
			if when == "final NOTIFY" {
				var got []string
				for len(notified) > 0 {
					got = append(got, <-notified)
				}
				if len(got) != 2 || got[0] != "SIP/2.0 100 Trying" || got[1] != "SIP/2.0 200 OK" {
					t.Fatalf("NOTIFY bodies %q", got)
				}
			}
			if err := r.core.Hangup(ctx, "t", calls[0].ID); err != nil {
				t.Fatal(err)
			}
			if c := r.waitEnded(t); c.Disposition != pbx.DispAnswered || c.Dst != "102" {
				t.Fatalf("cdr %+v", c)
			}
		})
	}
}

// TestTransferTargetSeesTransferee: the caller (100) transfers the callee
// (101) to 102; 102 is offered 101's identity, the party it will talk to,
// not the transferor's (issue 10 item 7).
func TestTransferTargetSeesTransferee(t *testing.T) {
	r := newRig(t, 5*time.Second)
	r.phones(t, 100*time.Millisecond, "101")
	p := newTestPhone(t, r, "100", "udp")
	target := newTestPhone(t, r, "102", "udp")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pc, err := p.dial(ctx, "101")
	if err != nil {
		t.Fatal(err)
	}
	r.waitEvent(t, pbx.EvCallAnswered)
	if res, err := p.refer(ctx, pc, "102"); err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER: %v %v", res, err)
	}
	var tc *phoneCall
	select {
	case tc = <-target.inbound:
	case <-ctx.Done():
		t.Fatal("target never called")
	}
	target.mu.Lock()
	inv := target.invites[len(target.invites)-1]
	target.mu.Unlock()
	if from := inv.From(); from.Address.User != "101" || from.DisplayName != "Ext 101" {
		t.Fatalf("target offered %q <%s>, want the transferee \"Ext 101\" <101>", from.DisplayName, from.Address.User)
	}
	if err := target.hangup(tc); err != nil {
		t.Fatal(err)
	}
	if c := r.waitEnded(t); c.Disposition != pbx.DispAnswered || c.Dst != "102" {
		t.Fatalf("cdr %+v", c)
	}
}
