package sipengine

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

var (
	errCallerGone = errors.New("caller hung up")
	errHangupReq  = errors.New("hangup requested")
	errPickedUp   = errors.New("picked up by another extension")
)

var reasons = map[int]string{
	100: "Trying", 180: "Ringing", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
	407: "Proxy Authentication Required", 408: "Request Timeout", 480: "Temporarily Unavailable",
	481: "Call/Transaction Does Not Exist", 484: "Address Incomplete", 486: "Busy Here",
	487: "Request Terminated", 488: "Not Acceptable Here", 500: "Server Internal Error",
	503: "Service Unavailable", 600: "Busy Everywhere", 603: "Decline",
}

func reason(code int) string {
	if r, ok := reasons[code]; ok {
		return r
	}
	return "Error"
}

func (e *Engine) handleInvite(req *sip.Request, tx sip.ServerTransaction) {
	arrived := time.Now()
	if to := req.To(); to != nil {
		if _, ok := to.Params.Get("tag"); ok {
			e.handleReInvite(req, tx)
			return
		}
	}
	e.mu.Lock()
	closing := e.closing
	e.mu.Unlock()
	if closing {
		e.reply(tx, req, sip.StatusServiceUnavailable, "Shutting Down")
		return
	}
	if e.overloaded() {
		e.counts.shed.Add(1)
		res := sip.NewResponseFromRequest(req, sip.StatusServiceUnavailable, "Overloaded", nil)
		res.AppendHeader(sip.NewHeader("Retry-After", "5"))
		_ = tx.Respond(res)
		if id := req.CallID(); id != nil {
			e.caps.forget(id.Value())
		}
		return
	}
	t, trunk, fromTrunk, code := e.inboundTrunk(req)
	// (Over UDP blocked addresses are already dropped by guardedConn; a
	// carrier's address is never blocked, see authGuard.exempt.)
	if !fromTrunk && e.guard.blocked(sourceAddr(req), "", time.Now()) {
		e.refuseBlocked(tx, req) // before 100 Trying: a blocked flood gets nothing
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusTrying, "Trying", nil))

	from := req.From()
	if from == nil || req.CallID() == nil || req.Contact() == nil {
		e.reply(tx, req, sip.StatusBadRequest, "Missing From, Call-ID or Contact")
		return
	}
	if fromTrunk && trunk == nil {
		e.warnLog.Warn("trunk invite refused", "source", req.Source(), "to", clip(req.Recipient.User), "code", code)
		e.reply(tx, req, code, reason(code))
		return
	}
	var callerExt *Extension
	if trunk == nil {
		t = e.tenantFor(from.Address.Host)
		if t == nil {
			e.reply(tx, req, sip.StatusNotFound, "Unknown Domain")
			return
		}
		now := time.Now()
		hdr := headerValue(req, "Proxy-Authorization")
		if hdr == "" {
			hdr = headerValue(req, "Authorization")
		}
		ar, blocked := e.authenticate(req, t, hdr, from.Address.User, now, func(u string) string {
			if x := t.exts[u]; x != nil {
				return x.HA1
			}
			return ""
		})
		if blocked {
			e.refuseBlocked(tx, req)
			return
		}
		if !ar.ok {
			if ar.why != "no credentials" && !ar.stale {
				e.log.Info("invite refused", "tenant", t.Name, "user", clip(ar.user), "source", req.Source(), "reason", ar.why)
			}
			res := sip.NewResponseFromRequest(req, sip.StatusProxyAuthRequired, "Proxy Authentication Required", nil)
			res.AppendHeader(sip.NewHeader("Proxy-Authenticate", e.challenge(t.Domain, clientOf(req), ar.stale, now)))
			_ = tx.Respond(res)
			return
		}
		callerExt = t.exts[ar.user]
	}

	offer, err := media.ParseSDP(req.Body())
	var codec media.Codec
	if err == nil {
		codec, err = media.Negotiate(offer, []media.Codec{media.PCMU, media.PCMA})
	}
	if err == nil {
		err = e.checkMedia(offer)
	}
	if err != nil {
		res := sip.NewResponseFromRequest(req, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
		res.AppendHeader(sip.NewHeader("Warning", sdpWarning(err)))
		_ = tx.Respond(res)
		return
	}
	dst := req.Recipient.User
	if !pbx.ValidNumber(dst) {
		e.reply(tx, req, sip.StatusAddressIncomplete, "Address Incomplete")
		return
	}
	st, refresher, tooSmall := e.uasSession(req)
	if tooSmall {
		e.refuseTooSmall(tx, req)
		return
	}
	if trunk != nil {
		if code := e.trunkMayReach(t, trunk, dst); code != 0 {
			e.warnLog.Warn("trunk call refused", "tenant", t.Name, "trunk", trunk.Name, "to", dst, "code", code)
			e.reply(tx, req, code, reason(code))
			return
		}
	}

	c := newCall(e, t, "", dst, false)
	c.setupStart = arrived
	spec := pbx.ChannelSpec{Dir: pbx.Inbound}
	if callerExt != nil {
		c.from = callerExt.Number
		spec.Peer, spec.Exten, spec.CallerIDNum, spec.CallerIDName = callerExt.Number, callerExt.Number, callerExt.Number, callerExt.Name
	} else {
		c.from = from.Address.User
		spec.Peer, spec.IsTrunk, spec.CallerIDNum, spec.CallerIDName = trunk.Name, true, from.Address.User, from.DisplayName
	}
	srv, err := e.dua.ReadInvite(req, tx)
	if err != nil {
		e.log.Warn("read invite", "err", err)
		e.reply(tx, req, sip.StatusBadRequest, "Bad Request")
		return
	}
	ch, snap, err := e.core.NewCall(t.Name, c.from, dst, false, spec)
	if err != nil {
		if errors.Is(err, pbx.ErrLimit) {
			// The tenant's concurrent-call limit: retry later, and say why.
			e.warnLog.Warn("call refused: tenant call limit", "tenant", t.Name)
			_ = srv.Respond(sip.StatusServiceUnavailable, "Tenant Call Limit", nil, sip.NewHeader("Retry-After", "5"))
			return
		}
		_ = srv.Respond(sip.StatusServiceUnavailable, "Service Unavailable", nil)
		return
	}
	c.id = snap.ID
	c.chanIDs = []string{ch.UniqueID}
	a := &leg{call: c, ch: ch, sipCallID: req.CallID().Value(), srv: srv, tx: tx, userAgent: headerValue(req, "User-Agent"), ip: sourceIP(req.Source()), trunk: trunk}
	// ReadInvite put our tag into its copy of the request's To.
	a.peer.localTag, _ = srv.InviteRequest.To().Params.Get("tag")
	a.peer.remoteTag, _ = from.Params.Get("tag")
	a.peer.transport = strings.ToLower(req.Transport())
	a.peer.addSource(req.Source())
	a.peer.addContact(req.Contact())
	if st != nil {
		a.st.Store(st)
		a.stRefresher = refresher
	}
	c.setLeg(false, a)
	if !e.track(c) {
		_ = srv.Respond(sip.StatusServiceUnavailable, "Shutting Down", nil)
		_, _ = e.core.EndCall(context.Background(), t.Name, c.id, pbx.EndCongestion, pbx.Quality{CallID: a.sipCallID})
		return
	}
	e.addDialog(a)
	c.runInbound(offer, codec)
}

func sanitizeWarning(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(out) < 120; i++ {
		if b := s[i]; b >= 0x20 && b < 0x7f && b != '"' && b != '\\' {
			out = append(out, b)
		}
	}
	return string(out)
}

// respondA sends a provisional or failure response on the caller's leg.
// Failures go straight to the transaction, which retransmits them and
// absorbs the ACK: the call's CDR must not wait up to 32 s for a phone
// that never ACKs.
func (c *call) respondA(code int) {
	res := sip.NewResponseFromRequest(c.a.srv.InviteRequest, code, reason(code), nil)
	if res.Contact() == nil {
		res.AppendHeader(c.e.legContact(c.a))
	}
	var err error
	if code < 200 {
		err = c.a.srv.WriteResponse(res)
	} else {
		err = c.a.tx.Respond(res)
	}
	if err != nil {
		c.e.log.Debug("respond to caller", "call_id", c.id, "code", code, "err", err)
	}
}

func (c *call) runInbound(offer media.SessionDesc, codec media.Codec) {
	e := c.e
	a := c.a
	defer c.finish()

	rtp, err := e.cfg.Ports.NewLeg()
	if err != nil {
		e.log.Error("no rtp port", "call_id", c.id, "err", err)
		c.respondA(sip.StatusServiceUnavailable)
		c.setEnd(pbx.EndCongestion, sip.StatusServiceUnavailable, "system")
		return
	}
	e.mu.Lock() // PlayDTMF reads legs under e.mu
	a.rtp = rtp
	e.mu.Unlock()
	e.watchDTMF(a)
	e.caps.attach(c, a)
	e.setRemote(a, offer, codec, a.ip)
	dtmfPT := offer.DTMFPT

	if c.a.ch.Exten != "" && c.runFeature(c.a.ch.Exten, codec, dtmfPT) {
		return
	}
	if queue, ok := e.core.QueueByNumber(c.t.Name, c.to); ok {
		c.runQueue(queue, codec, dtmfPT)
		return
	}
	if room, ok := c.t.rooms[c.to]; ok {
		if c.answerInbound(codec, dtmfPT) {
			c.inConference(room, a, "caller")
		}
		return
	}
	// Transit was refused when the INVITE arrived; routeFrom applies it
	// again so no path skips it.
	tgt, status, code := e.routeFrom(c.t, a.trunk, c.to)
	if status != "" {
		c.respondA(code)
		c.setEnd(status, code, "system")
		return
	}
	bch, err := c.addChannel(tgt.channelSpec(a.ch.CallerIDNum, a.ch.CallerIDName))
	if err != nil {
		c.respondA(sip.StatusServiceUnavailable)
		c.setEnd(pbx.EndCongestion, sip.StatusServiceUnavailable, "system")
		return
	}

	c.setPickable(true)
	ringCtx, ringDone := c.ringCtx(e.cfg.RingTimeout, a.srv.Context().Done())
	b, status, code := c.dial(ringCtx, tgt, bch, a.ch.CallerIDNum, a.ch.CallerIDName, &codec, func() { c.respondA(sip.StatusRinging) })
	cause := ringDone()
	for errors.Is(cause, errPickedUp) {
		// Someone else takes the call: ring them instead (a phone that
		// picks up answers at once).
		c.mu.Lock()
		tg := *c.pickedBy
		c.mu.Unlock()
		pch, err := c.addChannel(tg.channelSpec(a.ch.CallerIDNum, a.ch.CallerIDName))
		if err != nil {
			break
		}
		if tg.redirected {
			e.core.CallTransferred(c.t.Name, c.id, bch, pch, tg.number)
		} else {
			e.core.CallPickedUp(c.t.Name, c.id, bch, pch, tg.number)
		}
		bch = pch
		ringCtx, ringDone = c.ringCtx(e.cfg.RingTimeout, a.srv.Context().Done())
		b, status, code = c.dial(ringCtx, tg, pch, a.ch.CallerIDNum, a.ch.CallerIDName, &codec, nil)
		cause = ringDone()
	}
	c.setPickable(false)

	if b == nil {
		switch {
		case errors.Is(cause, errCallerGone):
			c.setEnd(pbx.EndCancel, sip.StatusRequestTerminated, "caller")
		case errors.Is(cause, errHangupReq):
			c.respondA(sip.StatusRequestTerminated)
			c.setEnd(pbx.EndCancel, sip.StatusRequestTerminated, c.stopBy)
		default:
			c.respondA(code)
			c.setEnd(status, code, "callee")
		}
		return
	}
	c.setLeg(true, b)
	if !c.answerInbound(codec, dtmfPT) {
		c.byeLeg(b) // the caller went away while we connected the callee
		return
	}
	c.bridge()
}

func (e *Engine) handleReInvite(req *sip.Request, tx sip.ServerTransaction) {
	e.handleInDialogOffer(req, tx, true)
}

// handleUpdate answers an UPDATE (RFC 3311): phones refresh session timers
// with it, and may carry a new offer in it as in a re-INVITE.
func (e *Engine) handleUpdate(req *sip.Request, tx sip.ServerTransaction) {
	e.handleInDialogOffer(req, tx, false)
}

// handleInDialogOffer answers a re-INVITE or UPDATE: a new offer (hold,
// resume, a moved stream) if it carries one, and always a session refresh
// (RFC 4028): the timer is negotiated again and restarts.
func (e *Engine) handleInDialogOffer(req *sip.Request, tx sip.ServerTransaction, invite bool) {
	l, _, _ := e.dialogFor(req)
	if l == nil || len(l.localSDP) == 0 {
		e.reply(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	st, refresher, tooSmall := e.uasSession(req)
	if tooSmall {
		e.refuseTooSmall(tx, req)
		return
	}
	answer := e.currentSDP(l)
	body := req.Body()
	if len(body) > 0 {
		d, err := media.ParseSDP(body)
		if err == nil {
			err = e.checkMedia(d)
		}
		if err != nil {
			res := sip.NewResponseFromRequest(req, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
			res.AppendHeader(sip.NewHeader("Warning", sdpWarning(err)))
			_ = tx.Respond(res)
			return
		}
		if c, err := media.Negotiate(d, []media.Codec{l.rtp.Codec()}); err == nil {
			e.setRemote(l, d, c, sourceIP(req.Source()))
		}
		e.setHold(l, d.Direction)
		answer = e.reinviteAnswer(l, d.Direction)
	}
	var res *sip.Response
	if invite || len(body) > 0 {
		res = sip.NewSDPResponseFromRequest(req, answer)
	} else {
		res = sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	}
	res.AppendHeader(e.legContact(l))
	addCapabilities(res)
	if st != nil {
		st.touch(time.Now())
		l.st.Store(st)
	}
	addSessionHeaders(res, st, refresher)
	_ = tx.Respond(res)
}

func (e *Engine) handleAck(req *sip.Request, tx sip.ServerTransaction) {
	l, srv, _ := e.dialogFor(req)
	if l == nil {
		return
	}
	if srv != nil {
		_ = srv.ReadAck(req, tx) // an ACK of a re-INVITE has a later CSeq: not an error for us
	}
}

func (e *Engine) handleBye(req *sip.Request, tx sip.ServerTransaction) {
	l, srv, cli := e.dialogFor(req)
	if l == nil || (srv == nil && cli == nil) {
		e.reply(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	var err error
	if srv != nil {
		err = srv.ReadBye(req, tx)
	} else {
		err = cli.ReadBye(req, tx)
	}
	if err != nil {
		e.log.Debug("bye", "call_id", l.call.id, "err", err)
		e.reply(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	}
}
