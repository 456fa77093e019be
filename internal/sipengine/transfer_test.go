package sipengine

import (
	"context"
	"net/url"
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

// TestAttendedTransferWithReplaces (issue 10 item 8): 100 talks to 101,
// consults 102 in a second call, then sends REFER on the first call with
// Refer-To <sip:102@...?Replaces=<the consulting dialog>>. switchboard
// sends 102 an INVITE with Replaces for its dialog with 102; 102's phone
// swaps dialogs and hangs the old one up. 101 and 102 end up talking in
// the first call, 100 is released after a final NOTIFY 200, and the
// consulting call ends.
func TestAttendedTransferWithReplaces(t *testing.T) {
	r := newRig(t, 5*time.Second)
	r.phones(t, 100*time.Millisecond, "101")
	a := newTestPhone(t, r, "100", "udp")
	c := newTestPhone(t, r, "102", "udp")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first, err := a.dial(ctx, "101")
	if err != nil {
		t.Fatal(err)
	}
	r.waitEvent(t, pbx.EvCallAnswered)
	consult, err := a.dial(ctx, "102")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.inbound:
	case <-ctx.Done():
		t.Fatal("102 not called")
	}
	r.waitEvent(t, pbx.EvCallAnswered)
	notified := make(chan string, 4)
	a.mu.Lock()
	a.onNotify = func(req *sip.Request) { notified <- strings.TrimSpace(string(req.Body())) }
	a.mu.Unlock()

	inv := consult.cli.InviteRequest
	fromTag, _ := inv.From().Params.Get("tag")
	toTag, _ := consult.cli.InviteResponse.To().Params.Get("tag")
	replaces := url.QueryEscape(inv.CallID().Value() + ";to-tag=" + toTag + ";from-tag=" + fromTag)
	refer := sip.NewRequest(sip.REFER, first.cli.InviteResponse.Contact().Address)
	refer.AppendHeader(sip.NewHeader("Refer-To", "<sip:102@"+domain+"?Replaces="+replaces+">"))
	res, err := first.cli.Do(ctx, refer)
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER with Replaces: %v %v", res, err)
	}
	// 102 gets an INVITE with Replaces naming its dialog of the consulting call.
	select {
	case <-c.inbound:
	case <-ctx.Done():
		t.Fatal("102 never got the INVITE with Replaces")
	}
	c.mu.Lock()
	last := c.invites[len(c.invites)-1]
	firstInv := c.invites[0]
	c.mu.Unlock()
	if h := last.GetHeader("Replaces"); h == nil || !strings.HasPrefix(h.Value(), firstInv.CallID().Value()+";") {
		t.Fatalf("INVITE to 102: Replaces %v, want the consulting dialog %s", h, firstInv.CallID().Value())
	}
	if from := last.From(); from.Address.User != "101" {
		t.Fatalf("102 offered %s, want the transferee 101", from.Address.User)
	}
	var ended []pbx.CDR
	deadline := time.After(10 * time.Second)
	for len(ended) < 1 {
		select {
		case e := <-r.sub.C():
			if e.Event.Type == pbx.EvCallEnded {
				ended = append(ended, *e.Event.CDR)
			}
		case <-deadline:
			t.Fatal("the consulting call did not end")
		}
	}
	if ended[0].Dst != "102" || ended[0].Src != "100" {
		t.Fatalf("first call to end: %+v, want the consulting call 100 -> 102", ended[0])
	}
	select {
	case <-first.cli.Context().Done(): // 100 released from the first call
	case <-time.After(5 * time.Second):
		t.Fatal("the transferor was not released")
	}
	var got []string
	for len(notified) > 0 {
		got = append(got, <-notified)
	}
	if len(got) == 0 || got[len(got)-1] != "SIP/2.0 200 OK" {
		t.Fatalf("NOTIFY bodies %q", got)
	}
	calls, _ := r.core.Calls("t")
	if len(calls) != 1 || len(calls[0].Channels) < 2 {
		t.Fatalf("live calls %+v, want 101 talking to 102", calls)
	}
	exts := map[string]bool{}
	for _, ch := range calls[0].Channels {
		exts[ch.Exten] = true
	}
	if !exts["102"] || !exts["101"] {
		t.Fatalf("remaining call's channels %+v", calls[0].Channels)
	}
	if err := r.core.Hangup(ctx, "t", calls[0].ID); err != nil {
		t.Fatal(err)
	}
	cdr := r.waitEnded(t)
	if cdr.Disposition != pbx.DispAnswered || cdr.Dst != "102" {
		t.Fatalf("cdr %+v", cdr)
	}
	// The first call has a row per leg: 100 with 101 until the transfer,
	// then 101 (the transferee) with 102, with 102's user agent.
	var legs []pbx.CDR
	for _, row := range r.cdrs.all() {
		if row.UniqueID == cdr.UniqueID {
			legs = append(legs, row)
		}
	}
	if len(legs) != 2 || legs[0].Src != "100" || legs[0].Dst != "101" || legs[0].HangupBy != pbx.HangupTransfer ||
		legs[1].Src != "101" || legs[1].Dst != "102" || legs[1].DstUserAgent != "testphone-102" || !legs[1].CallDate.Equal(legs[0].EndDate) {
		t.Fatalf("rows of the transferred call %+v", legs)
	}
}
