package sipengine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// leg is one SIP dialog of a call with its anchored RTP socket.
type leg struct {
	call      *call
	ch        *pbx.Channel
	sipCallID string
	srv       *sipgo.DialogServerSession // when the remote called us
	tx        sip.ServerTransaction      // the remote's INVITE transaction
	cli       *sipgo.DialogClientSession // when we called the remote
	rtp       *media.Leg
	localSDP  []byte
	userAgent string
	ip        string
	trunk     *Trunk       // the carrier on the other end, nil for phones
	peer      dialogPeer   // who may send in-dialog requests; guarded by Engine.mu
	number    string       // the number dialled for a leg we called
	party     atomic.Int32 // 0 while the call's leg a, 1 as leg b (recording channel)
	holding   atomic.Bool  // the phone holds the call (last offer sendonly or inactive)
	// alarm watches the audio the phone sends (quality alarms); only the
	// call's liveness goroutine touches it and alarmAt.
	alarm   *media.AlarmMonitor
	alarmAt time.Time
	// The stream's quality over time: the liveness goroutine appends a
	// point per qualityEvery (qRecv, qLost and qAt are its baseline, its
	// own); series is read at the end under qmu.
	qAt    time.Time
	qRecv  uint64
	qLost  int64
	qmu    sync.Mutex
	series []pbx.QualityPoint
	// transferring is set once the leg's phone asked (REFER) to transfer its
	// partner: its BYE then ends only its own leg.
	transferring atomic.Bool
	// dialAt, ringAt and answerAt (guarded by call.mu) time a leg we
	// called: its post-dial delay runs from dialAt to its first ringing,
	// or its answer if it never rang (or the 180 came late).
	dialAt, ringAt, answerAt time.Time
	// st is the leg's SIP session timer (RFC 4028), nil when none was
	// negotiated; stRefresher is who refreshes it as our 2xx to the
	// phone's INVITE says ("uac": the phone).
	st          atomic.Pointer[sessionTimer]
	stRefresher string
}

func (l *leg) ctx() context.Context {
	if l.srv != nil {
		return l.srv.Context()
	}
	if l.cli != nil {
		return l.cli.Context()
	}
	return nil
}

// call is one B2BUA call: leg a (the caller, or the first party of a
// click-to-call) and leg b (the dialled party). One goroutine, run, owns
// the call's progress; other goroutines only signal it.
type call struct {
	e          *Engine
	t          *tenant
	id         string
	from, to   string
	originated bool

	inSetup bool // counted in Engine.setups; guarded by e.mu
	// setupStart is when the caller's INVITE arrived (zero for calls we
	// originate); the first INVITE we send reports the setup latency to
	// the overload controller, once.
	setupStart    time.Time
	setupMeasured atomic.Bool
	a, b          *leg     // written by the call's goroutine only
	chanIDs       []string // unique ids of the call's channels; guarded by e.mu

	stopOnce sync.Once
	stopCh   chan struct{}    // closed to request a hangup
	redirect chan redirectReq // transfers of the answered call
	pickup   chan target      // someone else answers the ringing call
	holdCh   chan struct{}    // a leg's hold state changed (see setHold)
	pickable bool             // in the ringing phase of an inbound call; guarded by e.mu
	stopBy   string
	done     chan struct{} // closed when the CDR is written

	mu        sync.Mutex
	status    pbx.EndStatus
	lastCode  int
	hangupBy  string
	started   time.Time
	firstRing time.Time
	codec     media.Codec
	pickedBy  *target // set when a pickup interrupted the ringing
	recs      []*callRecording
	dialedIP  string // address of the last INVITE sent for the call's other party
	capture   *callCapture
	finished  bool // no new recordings once finish started
	// transferred: the call's current CDR leg began at a transfer, so
	// its PDD is the new leg's own.
	transferred bool

	// Liveness (liveness.go): the checker starts once; bridged and
	// rtpBase say since when RTP inactivity counts.
	watchOnce sync.Once
	rtpMu     sync.Mutex
	bridged   bool
	rtpBase   time.Time
}

// hangup asks the call to end; by names who asked (api, system, ...).
func (c *call) hangup(by string) {
	c.stopOnce.Do(func() {
		c.stopBy = by
		close(c.stopCh)
	})
}

func (c *call) setEnd(status pbx.EndStatus, code int, by string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status == "" {
		c.status, c.lastCode, c.hangupBy = status, code, by
	}
}

func newCall(e *Engine, t *tenant, from, to string, originated bool) *call {
	return &call{e: e, t: t, from: from, to: to, originated: originated, redirect: make(chan redirectReq, 1), pickup: make(chan target, 1), holdCh: make(chan struct{}, 1),
		stopCh: make(chan struct{}), done: make(chan struct{}), started: time.Now()}
}

// target is where leg b goes.
type target struct {
	ext     *Extension
	bind    *binding
	trunk   *Trunk
	number  string // dialled number as sent
	display string
	// replaces, when set, makes the INVITE replace that existing dialog
	// of the target's phone (RFC 3891; attended transfer).
	replaces string
	// redirected: the target came from a redirect of a ringing call, not
	// a pickup (both stop the old ringing and ring the target).
	redirected bool
	// callerFixed: the caller id was chosen (an allowed outbound caller
	// id); a trunk's caller_id does not replace it.
	callerFixed bool
}

// channelSpec describes the outbound channel towards the target, showing
// the given caller id.
func (tg target) channelSpec(callerNum, callerName string) pbx.ChannelSpec {
	spec := pbx.ChannelSpec{Dir: pbx.Outbound, CallerIDNum: callerNum, CallerIDName: callerName}
	if tg.ext != nil {
		spec.Peer, spec.Exten = tg.ext.Number, tg.ext.Number
	} else {
		spec.Peer, spec.IsTrunk = tg.trunk.Name, true
	}
	return spec
}

// route decides where a dialled number goes within tenant t.
func (e *Engine) route(t *tenant, number string) (target, pbx.EndStatus, int) {
	if x := t.exts[number]; x != nil {
		b := e.reg.lookup(t.Name, number)
		if b == nil {
			return target{ext: x}, pbx.EndChanUnavail, sip.StatusTemporarilyUnavailable
		}
		return target{ext: x, bind: b, number: number}, "", 0
	}
	for _, tr := range t.trunks {
		if len(number) >= len(tr.Prefix) && number[:len(tr.Prefix)] == tr.Prefix {
			n := number
			if tr.Strip > 0 && tr.Strip < len(n) {
				n = n[tr.Strip:]
			}
			return target{trunk: tr, number: n}, "", 0
		}
	}
	return target{}, pbx.EndCongestion, sip.StatusNotFound
}

// offer builds our SDP for a new outgoing leg, preferring pref.
func (e *Engine) offerSDP(l *media.Leg, pref *media.Codec) []byte {
	codecs := []media.Codec{media.PCMU, media.PCMA}
	if pref != nil && pref.PT == media.PCMA.PT {
		codecs = []media.Codec{media.PCMA, media.PCMU}
	}
	return media.BuildSDP(media.SessionDesc{
		Addr: netip.AddrPortFrom(e.cfg.AdvertiseIP, l.LocalAddr().Port()), Codecs: codecs,
		DTMFPT: 101, Direction: "sendrecv", Ptime: 20,
	}, rand.Uint64N(1<<62), 1)
}

func (e *Engine) answerSDP(l *media.Leg, codec media.Codec, dtmfPT uint8) []byte {
	return media.BuildSDP(media.SessionDesc{
		Addr: netip.AddrPortFrom(e.cfg.AdvertiseIP, l.LocalAddr().Port()), Codecs: []media.Codec{codec},
		DTMFPT: dtmfPT, Direction: "sendrecv", Ptime: 20,
	}, rand.Uint64N(1<<62), 1)
}

var errAnswerTimeout = errors.New("no answer")

// dial creates leg b of c (or leg a of a click-to-call) towards tgt and
// waits until it answers or fails. onRing is called on the first 18x.
// It returns the leg (answered) or the final SIP code and end status.
func (c *call) dial(ctx context.Context, tgt target, ch *pbx.Channel, callerNum, callerName string, pref *media.Codec, onRing func()) (*leg, pbx.EndStatus, int) {
	e := c.e
	l := &leg{call: c, ch: ch, sipCallID: uuid.NewString(), trunk: tgt.trunk, number: tgt.number, dialAt: time.Now()}
	rtp, err := e.cfg.Ports.NewLeg()
	if err != nil {
		e.log.Error("no rtp port", "call_id", c.id, "err", err)
		e.core.HangupChannel(ch, "congestion")
		return nil, pbx.EndCongestion, sip.StatusServiceUnavailable
	}
	l.rtp = rtp
	e.watchDTMF(l)
	e.caps.attach(c, l)
	l.localSDP = e.offerSDP(rtp, pref)

	var ruri sip.Uri
	var dest, transport string
	var user, pass string
	if tgt.bind != nil {
		ruri = tgt.bind.contact
		dest, transport = tgt.bind.source, tgt.bind.transport
	} else {
		host, port, _ := sip.ParseAddr(tgt.trunk.Address)
		ruri = sip.Uri{Scheme: "sip", User: tgt.number, Host: host, Port: port}
		dest, transport = tgt.trunk.Address, tgt.trunk.Transport
		user, pass = tgt.trunk.Username, tgt.trunk.Password
		if tgt.trunk.CallerID != "" && !tgt.callerFixed {
			callerNum = tgt.trunk.CallerID
		}
	}
	req := sip.NewRequest(sip.INVITE, ruri)
	req.SetBody(l.localSDP)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	cid := sip.CallIDHeader(l.sipCallID)
	req.AppendHeader(&cid)
	fromURI := sip.Uri{Scheme: "sip", User: callerNum, Host: c.t.Domain}
	from := &sip.FromHeader{DisplayName: callerName, Address: fromURI, Params: sip.NewParams()}
	l.peer.localTag = uuid.NewString()[:8]
	from.Params.Add("tag", l.peer.localTag)
	req.AppendHeader(from)
	toURI := sip.Uri{Scheme: "sip", User: tgt.number, Host: c.t.Domain}
	if tgt.trunk != nil {
		toURI.Host = ruri.Host
		toURI.Port = ruri.Port
	}
	req.AppendHeader(&sip.ToHeader{Address: toURI, Params: sip.NewParams()})
	transport = dialTransport(transport)
	req.SetTransport(transport)
	req.AppendHeader(e.contactFor(transport, ruri.IsEncrypted()))
	req.SetDestination(dest)
	if transport == "UDP" {
		// Send from the listening socket: carriers and NATs expect replies
		// and later requests on the port we advertise.
		req.Laddr = sip.Addr{IP: net.IP(e.addr.Addr().AsSlice()), Port: int(e.addr.Port())}
	}
	req.AppendHeader(sip.NewHeader("Allow", allowMethods))
	req.AppendHeader(sip.NewHeader("Supported", supportedOptions))
	e.addOfferSessionHeaders(req)
	if tgt.replaces != "" {
		req.AppendHeader(sip.NewHeader("Replaces", tgt.replaces))
		req.AppendHeader(sip.NewHeader("Require", "replaces"))
	}

	e.addDialog(l)
	answered := false
	defer func() {
		if !answered { // a failed attempt must not stay routable
			e.mu.Lock()
			if e.dialogs[l.sipCallID] == l {
				delete(e.dialogs, l.sipCallID)
			}
			e.mu.Unlock()
		}
	}()
	e.core.SetChannelState(ch, pbx.ChanDialing)
	// The INVITE transaction must outlive ctx: cancelling ctx makes
	// WaitAnswer send a CANCEL, which needs the transaction alive.
	rang := false
	opts := sipgo.AnswerOptions{
		Username: user, Password: pass,
		OnResponse: func(res *sip.Response) error {
			c.mu.Lock()
			c.lastCode = res.StatusCode
			c.mu.Unlock()
			if (res.StatusCode == 180 || res.StatusCode == 183) && !rang {
				rang = true
				c.mu.Lock()
				if c.firstRing.IsZero() {
					c.firstRing = time.Now()
				}
				l.ringAt = time.Now()
				c.mu.Unlock()
				e.core.SetChannelState(ch, pbx.ChanRinging)
				if onRing != nil {
					onRing()
				}
			}
			return nil
		},
	}
	var cli *sipgo.DialogClientSession
	for attempt := 0; ; attempt++ {
		cli, err = e.dua.WriteInvite(context.WithoutCancel(ctx), req)
		if err != nil {
			e.log.Warn("invite failed", "call_id", c.id, "dest", dest, "err", err)
			l.rtp.Close()
			e.core.HangupChannel(ch, "congestion")
			return nil, pbx.EndCongestion, sip.StatusServiceUnavailable
		}
		if !c.setupStart.IsZero() && c.setupMeasured.CompareAndSwap(false, true) {
			e.overload.observe(time.Since(c.setupStart))
		}
		e.mu.Lock()
		l.cli = cli
		e.mu.Unlock()
		c.mu.Lock()
		c.dialedIP = hostOf(dest)
		c.mu.Unlock()
		err = cli.WaitAnswer(ctx, opts)
		// A 422 names the peer's Min-SE: ask again with it, once (RFC
		// 4028 §7.4).
		if next := e.retryTooSmall(req, cli, err); next != nil && attempt == 0 && ctx.Err() == nil {
			_ = cli.Close()
			req = next
			continue
		}
		break
	}
	if err != nil {
		code := sip.StatusServiceUnavailable
		status := pbx.EndCongestion
		var dr *sipgo.ErrDialogResponse
		switch {
		case errors.As(err, &dr):
			code = dr.Res.StatusCode
			status = pbx.EndStatusFromSIP(code)
			if code == 401 || code == 407 {
				status, code = pbx.EndCongestion, sip.StatusServiceUnavailable
			}
		case errors.Is(context.Cause(ctx), errAnswerTimeout):
			code, status = sip.StatusRequestTimeout, pbx.EndNoAnswer
		case ctx.Err() != nil:
			code, status = sip.StatusRequestTerminated, pbx.EndCancel
		}
		if dr == nil && ctx.Err() == nil {
			// No final response and not our own cancel: a transport or
			// transaction failure, worth a line (the caller sees 503).
			e.log.Warn("dial failed without a final response", "call_id", c.id, "dest", clip(tgt.number), "err", err)
		} else {
			e.log.Debug("dial failed", "call_id", c.id, "code", code, "status", status, "err", err)
		}
		if ctx.Err() != nil { // we gave up: its 2xx may have crossed our CANCEL
			e.releaseLateAnswer(c, cli)
		}
		l.rtp.Close()
		_ = cli.Close()
		e.core.HangupChannel(ch, string(status))
		return nil, status, code
	}
	res := cli.InviteResponse
	c.mu.Lock()
	l.answerAt = time.Now()
	c.mu.Unlock()
	e.mu.Lock()
	l.peer.remoteTag = toTagOf(res)
	l.peer.transport = strings.ToLower(transport)
	l.peer.addSource(dest)
	l.peer.addSource(res.Source())
	l.peer.addContact(res.Contact())
	e.mu.Unlock()
	l.userAgent = headerValue(res, "Server")
	if l.userAgent == "" {
		l.userAgent = headerValue(res, "User-Agent")
	}
	l.ip = sourceIP(res.Source())
	ackCtx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if err := cli.Ack(ackCtx); err != nil {
		e.log.Warn("ack failed", "call_id", c.id, "err", err)
	}
	answer, err := media.ParseSDP(res.Body())
	var codec media.Codec
	if err == nil {
		codec, err = media.Negotiate(answer, []media.Codec{media.PCMU, media.PCMA})
	}
	if err == nil {
		err = e.checkMedia(answer)
	}
	if err != nil {
		e.log.Warn("unusable sdp answer", "call_id", c.id, "err", err)
		c.byeLeg(l)
		l.rtp.Close()
		e.core.HangupChannel(ch, "congestion")
		return nil, pbx.EndCongestion, sip.StatusNotAcceptableHere
	}
	e.setRemote(l, answer, codec, l.ip)
	if st := e.uacSession(res); st != nil {
		l.st.Store(st)
	}
	e.core.SetChannelState(ch, pbx.ChanUp)
	answered = true
	return l, pbx.EndAnswer, res.StatusCode
}

func toTagOf(res *sip.Response) string {
	if to := res.To(); to != nil {
		tag, _ := to.Params.Get("tag")
		return tag
	}
	return ""
}

// addChannel adds a channel to the call in the core and remembers its id
// so API hangups can find the call while that channel still rings.
func (c *call) addChannel(spec pbx.ChannelSpec) (*pbx.Channel, error) {
	ch, err := c.e.core.AddChannel(c.t.Name, c.id, spec)
	if err != nil {
		return nil, err
	}
	c.e.mu.Lock()
	c.chanIDs = append(c.chanIDs, ch.UniqueID)
	c.e.mu.Unlock()
	return ch, nil
}

// setLeg publishes a or b under the engine lock (Hangup and BYE handling
// read them from other goroutines).
func (c *call) setLeg(isB bool, l *leg) {
	c.e.mu.Lock()
	var old *leg
	if isB {
		old, c.b = c.b, l
		l.party.Store(1)
	} else {
		old, c.a = c.a, l
		l.party.Store(0)
	}
	c.e.mu.Unlock()
	if old == l {
		return
	}
	c.mu.Lock()
	recs := append([]*callRecording(nil), c.recs...)
	c.mu.Unlock()
	for _, r := range recs {
		r.attach(l)
	}
}

// byeLeg ends one answered leg with a bounded wait.
func (c *call) byeLeg(l *leg) {
	if l == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	var err error
	switch {
	case l.cli != nil:
		if l.cli.LoadState() == sip.DialogStateEnded {
			return
		}
		err = l.cli.Bye(ctx)
	case l.srv != nil:
		if l.srv.LoadState() == sip.DialogStateEnded {
			return
		}
		err = l.srv.Bye(ctx)
	}
	if err != nil {
		c.e.log.Debug("bye failed", "call_id", c.id, "leg", l.ch.Name, "err", err)
	}
}

// bridge relays media between the answered legs until one side hangs up or
// a hangup is requested; then it tears everything down. A redirect swaps
// one leg for a new one and bridges again.
func (c *call) bridge() {
	e := c.e
	e.setupDone(c)
	c.mu.Lock()
	c.codec = c.a.rtp.Codec()
	c.mu.Unlock()
	e.core.CallAnswered(c.t.Name, c.id)
	c.watchLiveness()

	for {
		relay := media.NewRelay(c.a.rtp, c.b.rtp)
		relay.Start()
		c.setBridged(true)
		hold := c.newOnHold(relay)
		var by string
		var rd *redirectReq
	wait:
		for {
			select {
			case <-c.holdCh:
				hold.update()
				continue
			case <-c.a.ctx().Done():
				if r, ok := c.referredAway(c.a); ok {
					rd = &r
					break wait
				}
				by = "caller"
				hold.stop()
				c.byeLeg(c.b)
			case <-c.b.ctx().Done():
				if r, ok := c.referredAway(c.b); ok {
					rd = &r
					break wait
				}
				by = "callee"
				hold.stop()
				c.byeLeg(c.a)
			case <-c.stopCh:
				by = c.stopBy
				hold.stop()
				var wg sync.WaitGroup
				for _, l := range []*leg{c.a, c.b} {
					wg.Add(1)
					go func() { defer wg.Done(); c.byeLeg(l) }()
				}
				wg.Wait()
			case r := <-c.redirect:
				rd = &r
			}
			break wait
		}
		hold.stop()
		relay.Stop()
		c.setBridged(false)
		if rd != nil {
			if c.transfer(*rd) {
				continue
			}
			return
		}
		c.setEnd(pbx.EndAnswer, 200, by)
		return
	}
}

// redirectReq asks an answered call to connect keep (a channel unique id)
// to a new target.
type redirectReq struct {
	keep string
	tgt  target
	dest string
	// referrer is the leg whose REFER asked for this transfer (nil for the
	// API); it stays up until the outcome is reported to it by notify.
	referrer *leg
	notify   *referNotifier
}

// transfer drops the partner of rd.keep, dials rd.tgt and makes the result
// the call's other leg. It reports whether the call goes on.
func (c *call) transfer(rd redirectReq) bool {
	e := c.e
	keep, drop := c.a, c.b
	if c.b.ch.UniqueID == rd.keep {
		keep, drop = c.b, c.a
	}
	// A transferor (REFER) keeps its dialog until it has heard the outcome;
	// a party dropped by the API goes at once.
	referred := rd.referrer != nil && rd.referrer == drop
	// The leg that ends gets its own CDR row, with its own signalling and
	// media facts, before anything changes.
	q := c.quality()
	rowCtx, rowCancel := context.WithTimeout(context.Background(), 30*time.Second)
	if _, err := e.core.TransferLeg(rowCtx, c.t.Name, c.id, keep.ch, drop.ch, q); err != nil {
		e.log.Error("transfer leg cdr", "call_id", c.id, "err", err)
	}
	rowCancel()
	c.mu.Lock()
	c.transferred, c.lastCode = true, 0
	c.dialedIP = ""
	c.mu.Unlock()
	// The transferee's stream goes on; its statistics from here on are
	// the next leg's.
	keep.rtp.ResetReceiveStats()
	if !referred {
		c.byeLeg(drop)
	}
	e.core.HangupChannel(drop.ch, "transferred")
	if !referred {
		e.mu.Lock()
		delete(e.dialogs, drop.sipCallID)
		e.mu.Unlock()
		drop.rtp.Close()
	}

	idNum, idName := c.partyID(keep)
	ch, err := c.addChannel(rd.tgt.channelSpec(idNum, idName))
	if err != nil {
		if referred {
			c.finishReferrer(drop, rd, sip.StatusServiceUnavailable)
		}
		c.byeLeg(keep)
		c.setEnd(pbx.EndCongestion, sip.StatusServiceUnavailable, "system")
		return false
	}
	e.core.CallTransferred(c.t.Name, c.id, drop.ch, ch, rd.dest)
	ctx, done := c.ringCtx(e.cfg.RingTimeout, keep.ctx().Done())
	codec := keep.rtp.Codec()
	nb, status, code := c.dial(ctx, rd.tgt, ch, idNum, idName, &codec, nil)
	cause := done()
	if referred {
		c.finishReferrer(drop, rd, code)
	}
	if nb == nil {
		by := "callee"
		if errors.Is(cause, errCallerGone) {
			by = "caller"
		} else if errors.Is(cause, errHangupReq) {
			by = c.stopBy
		}
		c.byeLeg(keep)
		// The last row is of keep and the target that failed: no answer,
		// so no user agent or media of the dropped party in it.
		e.mu.Lock()
		c.a, c.b = keep, nil
		e.mu.Unlock()
		keep.party.Store(0)
		c.setEnd(status, code, by)
		return false
	}
	c.setLeg(false, keep)
	c.setLeg(true, nb)
	return true
}

// Redirect implements pbx.Redirector: the channel uniqueID stays and is
// connected to dest; its partner is hung up (answered call) or stops
// ringing (the caller's channel of a ringing inbound call).
func (e *Engine) Redirect(ctx context.Context, tenant, uniqueID, dest string) error {
	return e.redirect(ctx, tenant, uniqueID, dest, nil, nil, "")
}

// redirect is Redirect, optionally on behalf of a REFER from referrer, who
// is told the outcome through notify.
func (e *Engine) redirect(ctx context.Context, tenant, uniqueID, dest string, referrer *leg, notify *referNotifier, replaces string) error {
	if err := ctx.Err(); err != nil { // the caller gave up: start nothing
		return fmt.Errorf("redirect: %w", err)
	}
	e.mu.Lock()
	var found *call
	answered, ringingCaller := false, false
	for _, c := range e.calls {
		if c.t.Name != tenant {
			continue
		}
		for _, id := range c.chanIDs {
			if id == uniqueID {
				found = c // a channel of the call, maybe still ringing
			}
		}
		for _, l := range []*leg{c.a, c.b} {
			if l != nil && l.ch.UniqueID == uniqueID {
				answered = c.a != nil && c.b != nil && !c.inSetup
				ringingCaller = c.pickable && l == c.a
			}
		}
	}
	e.mu.Unlock()
	if found == nil {
		return fmt.Errorf("redirect %s: %w", uniqueID, pbx.ErrNotFound)
	}
	tgt, status, _ := e.route(found.t, dest)
	if status != "" {
		return fmt.Errorf("redirect to %s: %s: %w", dest, status, pbx.ErrUnavailable)
	}
	tgt.replaces = replaces
	if ringingCaller {
		// A caller still hearing ringback: stop ringing the old target and
		// ring the new one, as a pickup does.
		tgt.redirected = true
		select {
		case found.pickup <- tgt:
			return nil
		default:
			return fmt.Errorf("redirect %s: already being redirected: %w", uniqueID, pbx.ErrBusy)
		}
	}
	if !answered {
		return fmt.Errorf("redirect %s: only the caller's channel of a ringing call, or an answered call, can be redirected: %w", uniqueID, pbx.ErrInvalidArgument)
	}
	select {
	case found.redirect <- redirectReq{keep: uniqueID, tgt: tgt, dest: dest, referrer: referrer, notify: notify}:
		return nil
	default:
		return fmt.Errorf("redirect %s: a redirect is already in progress: %w", uniqueID, pbx.ErrBusy)
	}
}

var _ pbx.Redirector = (*Engine)(nil)

// finish closes media, writes the CDR and forgets the call.
func (c *call) finish() {
	e := c.e
	defer close(c.done)
	defer e.untrack(c)
	c.stopRecordings()
	q := c.quality()
	q.Detail = c.detail()
	for _, l := range []*leg{c.a, c.b} {
		if l != nil && l.rtp != nil {
			l.rtp.Close()
		}
	}
	c.mu.Lock()
	status := c.status
	c.mu.Unlock()
	if status == "" {
		status = pbx.EndCongestion
	}
	// The capture is complete before call.ended, so a client reacting to
	// the event finds the whole file.
	e.caps.close(c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.core.EndCall(ctx, c.t.Name, c.id, status, q); err != nil {
		e.log.Error("end call", "call_id", c.id, "err", err)
	}
}

func (c *call) quality() pbx.Quality {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := pbx.Quality{LastSIPResponse: c.lastCode, HangupBy: c.hangupBy, Codec: c.codec.Name}
	switch {
	case c.transferred: // the current leg's target
		if b := c.b; b != nil {
			switch {
			case !b.ringAt.IsZero():
				q.PDD = b.ringAt.Sub(b.dialAt)
			case !b.answerAt.IsZero():
				q.PDD = b.answerAt.Sub(b.dialAt)
			}
		}
	case !c.firstRing.IsZero():
		q.PDD = c.firstRing.Sub(c.started)
	}
	if c.a != nil {
		q.CallID, q.SrcUserAgent, q.SrcIP = c.a.sipCallID, c.a.userAgent, c.a.ip
	}
	if c.b != nil {
		q.DstUserAgent, q.DstIP = c.b.userAgent, c.b.ip
	} else if c.dialedIP != "" {
		q.DstIP = c.dialedIP // a failed attempt: where we sent the INVITE
	}
	if c.a != nil && c.b != nil && c.a.rtp != nil && c.b.rtp != nil {
		sa, sb := c.a.rtp.Stats(), c.b.rtp.Stats()
		q.PacketsAB, q.LossAB, q.JitterABMillis = sa.PacketsRecv, sa.LossFraction, sa.JitterMillis
		q.PacketsBA, q.LossBA, q.JitterBAMillis = sb.PacketsRecv, sb.LossFraction, sb.JitterMillis
		q.MOS = c.callMOS(sa, sb)
	}
	return q
}

// Hangup implements pbx.Engine.
func (e *Engine) Hangup(ctx context.Context, tenant, uniqueID, cause string) error {
	if err := ctx.Err(); err != nil { // the caller gave up: start nothing
		return fmt.Errorf("hangup: %w", err)
	}
	e.mu.Lock()
	var found *call
	for _, c := range e.calls {
		if c.t.Name != tenant {
			continue
		}
		if c.id == uniqueID {
			found = c
		}
		for _, id := range c.chanIDs {
			if id == uniqueID {
				found = c
			}
		}
	}
	e.mu.Unlock()
	if found == nil {
		return fmt.Errorf("hangup %s: %w", uniqueID, pbx.ErrNotFound)
	}
	found.hangup(cause)
	return nil
}
