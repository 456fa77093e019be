package sipengine

import (
	"context"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// abandonedFor is how long an INVITE we gave up on (CANCELled, or timed
// out) can still be answered: a UAS retransmits its 2xx for 64*T1, 32 s
// with the default T1 of 500 ms (RFC 3261 §13.3.1.4).
const abandonedFor = 32 * time.Second

// abandonedInvite is a client dialog switchboard stopped waiting for.
type abandonedInvite struct {
	cli     *sipgo.DialogClientSession
	callID  string // switchboard call id, for logs
	expires time.Time
}

// releaseLateAnswer handles an INVITE we gave up on (ringall: another
// agent answered first; the caller hung up; ring timeout). When its 2xx
// already arrived (it crossed our CANCEL) it is ACKed and BYEd at once, as
// RFC 3261 §15 and §9.1 want; otherwise the dialog is remembered so a 2xx
// arriving later (after the INVITE transaction ended, e.g. when the phone
// answered our CANCEL with 481 because it had just answered) is released
// by strayResponse. Without this the phone retransmits its 200 OK for
// 32 s and believes it is in a call nobody hears.
func (e *Engine) releaseLateAnswer(c *call, cli *sipgo.DialogClientSession) {
	if cli == nil {
		return
	}
	if res := cli.InviteResponse; res != nil && res.IsSuccess() {
		e.ackAndBye(c.id, cli, "crossed our CANCEL")
		return
	}
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, a := range e.abandoned {
		if now.After(a.expires) {
			delete(e.abandoned, id)
		}
	}
	e.abandoned[cli.InviteRequest.CallID().Value()] = &abandonedInvite{cli: cli, callID: c.id, expires: now.Add(abandonedFor)}
}

// ackAndBye confirms a dialog nobody wants and ends it at once.
func (e *Engine) ackAndBye(callID string, cli *sipgo.DialogClientSession, how string) {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if err := cli.Ack(ctx); err != nil {
		e.log.Warn("ack of a late answer failed", "call_id", callID, "sip_call_id", cli.InviteRequest.CallID().Value(), "err", err)
		return
	}
	if err := cli.Bye(ctx); err != nil {
		e.log.Warn("bye of a late answer failed", "call_id", callID, "sip_call_id", cli.InviteRequest.CallID().Value(), "err", err)
		return
	}
	e.log.Info("late answer released", "call_id", callID, "sip_call_id", cli.InviteRequest.CallID().Value(), "how", how)
}

// strayResponse receives responses that match no client transaction. A
// 2xx to an INVITE we abandoned is ACKed and BYEd (once); anything else is
// a harmless retransmission.
func (e *Engine) strayResponse(res *sip.Response) {
	e.counts.strayResponses.Add(1)
	cseq := res.CSeq()
	if !res.IsSuccess() || cseq == nil || cseq.MethodName != sip.INVITE || res.CallID() == nil {
		return
	}
	id := res.CallID().Value()
	e.mu.Lock()
	a := e.abandoned[id]
	if a != nil {
		delete(e.abandoned, id)
	}
	var live *sipgo.DialogClientSession
	if l := e.dialogs[id]; a == nil && l != nil && l.cli != nil {
		live = l.cli
	}
	running := a != nil && e.ctx != nil && e.ctx.Err() == nil
	if running {
		e.wg.Add(1)
	}
	e.mu.Unlock()
	if live != nil {
		e.reack(live, res)
		return
	}
	if !running {
		return
	}
	a.cli.InviteResponse = res
	go func() { // not on the transport's goroutine: the BYE waits for its 200
		defer e.wg.Done()
		e.ackAndBye(a.callID, a.cli, "retransmitted after the INVITE transaction ended")
	}()
}

// reack answers a 2xx retransmitted for a live dialog we called out on
// (our ACK was lost) after its INVITE transaction ended (finished
// transactions linger only limits.transaction_linger): the ACK goes again,
// or the callee would hang up when its retransmissions run out. Only the
// dialog's initial INVITE is ACKed this way; a stray 2xx of a re-INVITE
// is left alone.
func (e *Engine) reack(cli *sipgo.DialogClientSession, res *sip.Response) {
	inv := cli.InviteRequest
	if inv == nil || inv.CSeq() == nil || res.CSeq().SeqNo != inv.CSeq().SeqNo || cli.InviteResponse == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := cli.Ack(ctx); err != nil {
		e.log.Debug("re-ACK of a retransmitted 2xx", "sip_call_id", res.CallID().Value(), "err", err)
	}
}
