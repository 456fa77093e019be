package sipengine

import (
	"context"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

const (
	// referByeGrace is how long a transferor may take to hang up itself
	// after the final NOTIFY before switchboard sends it a BYE.
	referByeGrace = 2 * time.Second
	// referNotifyTimeout bounds each NOTIFY to the transferor.
	referNotifyTimeout = 3 * time.Second
	// referQueueWait is how long the bridge waits for the transfer of a
	// transferor that hung up: the REFER handler queues it right after
	// NOTIFY 100, which may take up to referNotifyTimeout.
	referQueueWait = referNotifyTimeout + time.Second
)

// referNotifier reports the progress of a REFER to the phone that sent it
// (RFC 3515 §2.4.4): NOTIFYs with a message/sipfrag status line, the last
// one terminating the implicit subscription.
type referNotifier struct {
	e   *Engine
	l   *leg // the transferor's leg
	req *sip.Request
}

// send delivers one NOTIFY; final ones terminate the subscription. It
// gives up quietly when the transferor's dialog is gone (it may hang up as
// soon as it has our 202).
func (n *referNotifier) send(code int, final bool) {
	e, l := n.e, n.l
	_, srv, cli := e.dialogSessions(l.sipCallID)
	if srv == nil && cli == nil {
		return
	}
	if ctx := l.ctx(); ctx != nil && ctx.Err() != nil {
		return
	}
	target := sip.Uri{Scheme: "sip", Host: sourceIP(n.req.Source())}
	if ct := n.req.Contact(); ct != nil {
		target = ct.Address
	}
	notify := sip.NewRequest(sip.NOTIFY, target)
	notify.SetDestination(n.req.Source())
	notify.SetTransport(n.req.Transport())
	notify.AppendHeader(e.legContact(l))
	notify.AppendHeader(sip.NewHeader("Event", "refer"))
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	notify.AppendHeader(sip.NewHeader("Subscription-State", state))
	notify.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	notify.SetBody(fmt.Appendf(nil, "SIP/2.0 %d %s\r\n", code, sipReason(code)))
	ctx, cancel := context.WithTimeout(context.Background(), referNotifyTimeout)
	defer cancel()
	var err error
	if srv != nil {
		_, err = srv.Do(ctx, notify)
	} else {
		_, err = cli.Do(ctx, notify)
	}
	if err != nil {
		e.log.Debug("refer notify", "call_id", l.call.id, "code", code, "err", err)
		return
	}
}

func sipReason(code int) string {
	switch code {
	case 100:
		return "Trying"
	case 200:
		return "OK"
	}
	return reason(code)
}

// referredAway tells whether l, whose dialog just ended, had asked to
// transfer its partner: its BYE (phones send it as soon as the transfer
// is accepted, or right after the final NOTIFY) then ends only its own
// leg, and the queued transfer goes on. The REFER handler queues the
// transfer right after NOTIFY 100, so it is there or about to be.
func (c *call) referredAway(l *leg) (redirectReq, bool) {
	if !l.transferring.Load() {
		return redirectReq{}, false
	}
	select {
	case r := <-c.redirect:
		return r, true
	case <-time.After(referQueueWait):
		return redirectReq{}, false
	}
}

// finishReferrer ends the transferor's leg once its transfer has an
// outcome: the final NOTIFY first, so the phone learns whether the target
// answered, then its BYE, or ours if it does not hang up by itself. The
// wait for that BYE runs on its own goroutine (counted in the engine's
// WaitGroup, bounded by referByeGrace and byeTimeout) so the transferee
// and the target are bridged at once.
func (c *call) finishReferrer(drop *leg, rd redirectReq, code int) {
	if rd.notify != nil {
		rd.notify.send(code, true)
	}
	e := c.e
	e.wg.Add(1) // the call itself still holds the group open
	go func() {
		defer e.wg.Done()
		if ctx := drop.ctx(); ctx != nil {
			select {
			case <-ctx.Done():
			case <-time.After(referByeGrace):
			}
		}
		c.byeLeg(drop)
		e.mu.Lock()
		if e.dialogs[drop.sipCallID] == drop {
			delete(e.dialogs, drop.sipCallID)
		}
		e.mu.Unlock()
		drop.rtp.Close()
	}()
}

// partyID is who the party on l is, as a transfer target should see it.
// An inbound channel's caller id is that caller; an outbound channel's
// caller id is what was shown to its party (the other side), so its own
// identity is the extension (with its name) or the number we dialled.
// Using the channel's caller id there offered the target the transferor
// instead of the transferee (issue 10 item 7).
func (c *call) partyID(l *leg) (string, string) {
	if l.ch.Dir == pbx.Inbound {
		return l.ch.CallerIDNum, l.ch.CallerIDName
	}
	if x := c.t.exts[l.ch.Exten]; x != nil {
		return x.Number, x.Name
	}
	if l.number != "" {
		return l.number, ""
	}
	return l.ch.CallerIDNum, l.ch.CallerIDName
}
