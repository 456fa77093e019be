package sipengine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// ringbackHz is the tone the first party of a click-to-call hears while the
// second rings (the European 425 Hz ringing tone).
const ringbackHz = 425

// Originate implements pbx.Engine: ring From, and once it answers dial To
// and bridge the two. It returns as soon as the first channel exists.
func (e *Engine) Originate(ctx context.Context, req pbx.OriginateRequest) (pbx.Call, error) {
	if err := ctx.Err(); err != nil { // the caller gave up: start nothing
		return pbx.Call{}, fmt.Errorf("originate: %w", err)
	}
	t := e.tenants[req.Tenant]
	if t == nil {
		return pbx.Call{}, fmt.Errorf("originate: %w", pbx.ErrUnknownTenant)
	}
	ext := t.exts[req.From]
	if ext == nil {
		return pbx.Call{}, fmt.Errorf("originate from %s: %w", req.From, pbx.ErrUnknownExten)
	}
	bind := e.reg.lookup(t.Name, req.From)
	if bind == nil {
		return pbx.Call{}, fmt.Errorf("originate from %s: %w", req.From, pbx.ErrUnavailable)
	}
	callerID := req.CallerID
	if callerID == "" {
		callerID = req.To
	}
	c := newCall(e, t, req.From, req.To, true)
	ch, snap, err := e.core.NewCall(t.Name, req.From, req.To, true, pbx.ChannelSpec{
		Peer: ext.Number, Exten: ext.Number, Dir: pbx.Outbound, CallerIDNum: callerID,
	})
	if err != nil {
		return pbx.Call{}, fmt.Errorf("originate: %w", err)
	}
	c.id = snap.ID
	c.chanIDs = []string{ch.UniqueID}
	if !e.track(c) {
		_, _ = e.core.EndCall(context.Background(), t.Name, c.id, pbx.EndCongestion, pbx.Quality{})
		return pbx.Call{}, fmt.Errorf("originate: %w", pbx.ErrShuttingDown)
	}
	go c.runOriginate(ch, target{ext: ext, bind: bind, number: ext.Number}, callerID, req.OutboundCallerID, req.RingTimeout)
	return snap, nil
}

// ringCtx is a context for one ringing phase: it ends on timeout, on a
// hangup request, or when gone (if not nil) is done.
func (c *call) ringCtx(timeout time.Duration, gone <-chan struct{}) (context.Context, func() error) {
	ctx, cancel := context.WithCancelCause(c.e.ctx)
	timer := time.AfterFunc(timeout, func() { cancel(errAnswerTimeout) })
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-gone:
			cancel(errCallerGone)
		case <-c.stopCh:
			cancel(errHangupReq)
		case tg := <-c.pickup:
			c.mu.Lock()
			c.pickedBy = &tg
			c.mu.Unlock()
			cancel(errPickedUp)
		case <-ctx.Done():
		}
	}()
	return ctx, func() error {
		timer.Stop()
		cause := context.Cause(ctx)
		cancel(nil)
		wg.Wait()
		return cause
	}
}

func (c *call) runOriginate(ch *pbx.Channel, tgtA target, callerID, outboundCID string, ringTimeout time.Duration) {
	e := c.e
	defer c.finish()

	ctxA, doneA := c.ringCtx(ringTimeout, nil)
	a, status, code := c.dial(ctxA, tgtA, ch, callerID, "", nil, nil)
	cause := doneA()
	if a == nil {
		by := "callee"
		if errors.Is(cause, errHangupReq) {
			by, status = c.stopBy, pbx.EndCancel
		}
		c.setEnd(status, code, by)
		return
	}
	c.setLeg(false, a)

	// Click-to-call to a queue number: the party that answered waits in
	// the queue like a caller, and the agents see its extension.
	if queue, ok := e.core.QueueByNumber(c.t.Name, c.to); ok && tgtA.ext != nil {
		e.core.SetCallerID(a.ch, tgtA.ext.Number, tgtA.ext.Name)
		c.runQueue(queue, a.rtp.Codec(), 0)
		return
	}
	tgtB, status, code := e.route(c.t, c.to)
	if status != "" {
		c.byeLeg(a)
		c.setEnd(status, code, "system")
		return
	}
	// B sees A's extension, or the outbound caller id the API chose (then
	// also towards a carrier, in place of the trunk's caller id).
	bNum, bName := tgtA.ext.Number, tgtA.ext.Name
	if outboundCID != "" {
		bNum, bName, tgtB.callerFixed = outboundCID, "", true
	}
	bch, err := c.addChannel(tgtB.channelSpec(bNum, bName))
	if err != nil {
		c.byeLeg(a)
		c.setEnd(pbx.EndCongestion, sip.StatusServiceUnavailable, "system")
		return
	}

	toneCtx, stopTone := context.WithCancel(context.Background())
	var toneWG sync.WaitGroup
	toneWG.Add(1)
	go func() {
		defer toneWG.Done()
		_ = a.rtp.PlayTone(toneCtx, ringbackHz)
	}()
	ctxB, doneB := c.ringCtx(ringTimeout, a.ctx().Done())
	codec := a.rtp.Codec()
	b, status, code := c.dial(ctxB, tgtB, bch, bNum, bName, &codec, nil)
	cause = doneB()
	stopTone()
	toneWG.Wait()
	if b == nil {
		by := "callee"
		switch {
		case errors.Is(cause, errCallerGone):
			by, status = "caller", pbx.EndCancel
		case errors.Is(cause, errHangupReq):
			by, status = c.stopBy, pbx.EndCancel
		}
		c.byeLeg(a)
		c.setEnd(status, code, by)
		return
	}
	c.setLeg(true, b)
	c.bridge()
}
