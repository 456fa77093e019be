package sipengine

import (
	"context"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// room is a live conference: one mixer shared by its members' calls. It
// exists while it has members.
type room struct {
	mixer   *media.Mixer
	members int
}

// joinRoom puts l's audio into the tenant's room; leave undoes it and
// closes the mixer after the last member.
func (e *Engine) joinRoom(tenant, name string, l *leg) (leave func()) {
	key := tenant + "/" + name
	e.mu.Lock()
	r := e.rooms[key]
	if r == nil {
		r = &room{mixer: media.NewMixer()}
		e.rooms[key] = r
	}
	r.members++
	mm := r.mixer.Add(l.rtp, true, true)
	e.mu.Unlock()
	return func() {
		mm.Remove()
		e.mu.Lock()
		r.members--
		last := r.members == 0
		if last {
			delete(e.rooms, key)
		}
		e.mu.Unlock()
		if last {
			r.mixer.Close()
		}
	}
}

// inConference keeps the answered leg l in room until it hangs up or is
// hung up, then ends the call.
func (c *call) inConference(room string, l *leg, gone string) {
	e := c.e
	e.setupDone(c)
	e.core.SetCallAppData(c.t.Name, c.id, "ConfBridge", room)
	e.core.CallAnswered(c.t.Name, c.id)
	leave := e.joinRoom(c.t.Name, room, l)
	e.core.ConferenceJoined(c.t.Name, room, l.ch)
	by := gone
	select {
	case <-l.ctx().Done():
	case <-c.stopCh:
		by = c.stopBy
		c.byeLeg(l)
	}
	leave()
	e.core.ConferenceLeft(c.t.Name, room, l.ch)
	c.setEnd(pbx.EndAnswer, sip.StatusOK, by)
}

// answerInbound answers the caller's INVITE with our SDP: the call ends in
// switchboard itself (a conference room) rather than at another phone.
func (c *call) answerInbound(codec media.Codec, dtmfPT uint8) bool {
	e, a := c.e, c.a
	if dtmfPT == 0 {
		dtmfPT = 101
	}
	a.localSDP = e.answerSDP(a.rtp, codec, dtmfPT)
	res := sip.NewSDPResponseFromRequest(a.srv.InviteRequest, a.localSDP)
	res.AppendHeader(e.legContact(a))
	addCapabilities(res)
	st := a.st.Load()
	addSessionHeaders(res, st, a.stRefresher)
	// Up before the 200 OK leaves: a phone may ACK and hold (re-INVITE
	// sendonly) at once, and its hold must come after this state, not be
	// overwritten by it.
	e.core.SetChannelState(a.ch, pbx.ChanUp)
	if err := a.srv.WriteResponse(res); err != nil {
		e.log.Debug("answer caller", "call_id", c.id, "err", err)
		c.setEnd(pbx.EndCancel, sip.StatusRequestTerminated, "caller")
		return false
	}
	if st != nil {
		st.touch(time.Now())
	}
	c.watchLiveness()
	return true
}

// ConferenceDial implements pbx.Conferencer.
func (e *Engine) ConferenceDial(ctx context.Context, tenant, roomName, number string) (pbx.Call, error) {
	if err := ctx.Err(); err != nil { // the caller gave up: start nothing
		return pbx.Call{}, fmt.Errorf("conference dial: %w", err)
	}
	t := e.tenants[tenant]
	if t == nil {
		return pbx.Call{}, fmt.Errorf("conference dial: %w", pbx.ErrUnknownTenant)
	}
	tgt, status, _ := e.route(t, number)
	if status != "" {
		return pbx.Call{}, fmt.Errorf("conference dial %s: %s: %w", number, status, pbx.ErrUnavailable)
	}
	callerNum := roomName
	for num, name := range t.rooms {
		if name == roomName {
			callerNum = num
		}
	}
	c := newCall(e, t, callerNum, number, true)
	ch, snap, err := e.core.NewCall(t.Name, callerNum, number, true, tgt.channelSpec(callerNum, "Conference "+roomName))
	if err != nil {
		return pbx.Call{}, fmt.Errorf("conference dial: %w", err)
	}
	c.id = snap.ID
	c.chanIDs = []string{ch.UniqueID}
	if !e.track(c) {
		_, _ = e.core.EndCall(context.Background(), t.Name, c.id, pbx.EndCongestion, pbx.Quality{})
		return pbx.Call{}, fmt.Errorf("conference dial: %w", pbx.ErrShuttingDown)
	}
	go func() {
		defer c.finish()
		ctx, done := c.ringCtx(e.cfg.RingTimeout, nil)
		a, status, code := c.dial(ctx, tgt, ch, callerNum, "Conference "+roomName, nil, nil)
		cause := done()
		if a == nil {
			by := "callee"
			if cause == errHangupReq {
				by, status = c.stopBy, pbx.EndCancel
			}
			c.setEnd(status, code, by)
			return
		}
		c.setLeg(false, a)
		c.inConference(roomName, a, "callee")
	}()
	return snap, nil
}

// Monitor implements pbx.Conferencer: listener is called and, once it
// answers, hears a mix of what both parties of the target call send. The
// spy call ends when the listener hangs up or the target call ends.
func (e *Engine) Monitor(ctx context.Context, tenant, targetCallID, listener string) (pbx.Call, error) {
	if err := ctx.Err(); err != nil { // the caller gave up: start nothing
		return pbx.Call{}, fmt.Errorf("monitor: %w", err)
	}
	t := e.tenants[tenant]
	if t == nil {
		return pbx.Call{}, fmt.Errorf("monitor: %w", pbx.ErrUnknownTenant)
	}
	e.mu.Lock()
	tc := e.calls[targetCallID]
	if tc != nil && tc.t != t {
		tc = nil
	}
	e.mu.Unlock()
	if tc == nil {
		return pbx.Call{}, fmt.Errorf("monitor %s: %w", targetCallID, pbx.ErrNotFound)
	}
	tgt, status, _ := e.route(t, listener)
	if status != "" || tgt.ext == nil {
		return pbx.Call{}, fmt.Errorf("monitor: listener %s: %w", listener, pbx.ErrUnavailable)
	}
	to := "ChanSpy/" + targetCallID
	c := newCall(e, t, listener, to, true)
	ch, snap, err := e.core.NewCall(t.Name, listener, to, true, tgt.channelSpec(tc.from, "Monitor "+tc.from))
	if err != nil {
		return pbx.Call{}, fmt.Errorf("monitor: %w", err)
	}
	c.id = snap.ID
	c.chanIDs = []string{ch.UniqueID}
	if !e.track(c) {
		_, _ = e.core.EndCall(context.Background(), t.Name, c.id, pbx.EndCongestion, pbx.Quality{})
		return pbx.Call{}, fmt.Errorf("monitor: %w", pbx.ErrShuttingDown)
	}
	go c.runMonitor(tc, tgt, ch)
	return snap, nil
}

func (c *call) runMonitor(tc *call, tgt target, ch *pbx.Channel) {
	e := c.e
	defer c.finish()
	ctx, done := c.ringCtx(e.cfg.RingTimeout, tc.done)
	l, status, code := c.dial(ctx, tgt, ch, tc.from, "Monitor "+tc.from, nil, nil)
	cause := done()
	if l == nil {
		by := "callee"
		switch cause {
		case errHangupReq:
			by, status = c.stopBy, pbx.EndCancel
		case errCallerGone:
			by, status = "system", pbx.EndCancel // the watched call ended first
		}
		c.setEnd(status, code, by)
		return
	}
	c.setLeg(false, l)
	e.setupDone(c)
	e.core.SetCallAppData(c.t.Name, c.id, "ChanSpy", tc.id)
	e.core.CallAnswered(c.t.Name, c.id)

	m := media.NewMixer()
	e.mu.Lock()
	for _, x := range []*leg{tc.a, tc.b} {
		if x != nil && x.rtp != nil {
			m.Add(x.rtp, true, false)
		}
	}
	e.mu.Unlock()
	m.Add(l.rtp, false, true)
	l.rtp.StartReceiving() // statistics and DTMF from the listener
	by := "callee"
	select {
	case <-l.ctx().Done():
	case <-c.stopCh:
		by = c.stopBy
		c.byeLeg(l)
	case <-tc.done:
		by = "system"
		c.byeLeg(l)
	}
	m.Close()
	c.setEnd(pbx.EndAnswer, sip.StatusOK, by)
}

var _ pbx.Conferencer = (*Engine)(nil)
