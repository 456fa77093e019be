package sipengine

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Session liveness: a BYE lost on the way (a phone that lost power or
// network, a NAT that forgot the mapping) must not leave a call up and
// billed forever. Two independent checks end such calls with both legs
// hung up and the reason in the CDR's hangup_by:
//
//   - RTP inactivity (hangup_by "rtp_timeout"): a bridged call where a
//     party sent no RTP for Config.RTPTimeout. Not applied while either
//     party holds (a holding phone may rightly send nothing) nor before
//     the call is bridged (ringing, a transfer target ringing).
//   - SIP session timers, RFC 4028 (hangup_by "session_timeout"): each
//     leg negotiates a session interval; the refresher re-INVITEs or
//     UPDATEs before it runs out. A leg whose refresher is the phone and
//     that sees no refresh, or whose refresh we sent fails with 408, 481
//     or no answer, ends the call.

const (
	// DefaultMinSE is the smallest session interval accepted when the
	// configuration names none: RFC 4028 §4 forbids less than 90 s.
	DefaultMinSE = 90 * time.Second
	// maxLivenessTick bounds how late a timeout is noticed.
	maxLivenessTick = time.Second
	// refreshTimeout bounds one session refresh we send.
	refreshTimeout = 10 * time.Second
)

// sessionTimer is one leg's negotiated session timer.
type sessionTimer struct {
	mu        sync.Mutex
	interval  time.Duration
	weRefresh bool      // switchboard sends the refreshes
	last      time.Time // the last refresh (zero until the dialog is answered)
	inFlight  bool      // a refresh of ours is under way
	retryAt   time.Time // after a failed refresh of ours, not before this
	useUpdate bool      // the peer allows UPDATE: refresh with it, not re-INVITE
}

// touch records a refresh at now.
func (st *sessionTimer) touch(now time.Time) {
	st.mu.Lock()
	st.last = now
	st.mu.Unlock()
}

// due tells what the timer wants at now: a refresh from us (at half the
// interval, RFC 4028 §10), or the end of the session (the non-refresher
// waits until the interval minus min(32 s, a third of it); a refresher
// whose refreshes keep failing gives up at the full interval).
func (st *sessionTimer) due(now time.Time) (refresh, expired bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.last.IsZero() {
		return false, false
	}
	age := now.Sub(st.last)
	if st.weRefresh {
		if age >= st.interval {
			return false, true
		}
		if age >= st.interval/2 && !st.inFlight && !now.Before(st.retryAt) {
			st.inFlight = true
			return true, false
		}
		return false, false
	}
	return false, age >= st.interval-min(32*time.Second, st.interval/3)
}

// headered is a request or a response.
type headered interface {
	GetHeader(name string) sip.Header
	GetHeaders(name string) []sip.Header
}

// headerDelta reads a header whose value starts with delta-seconds
// (Session-Expires, Min-SE) and its refresher parameter.
func headerDelta(m headered, name, compact string) (time.Duration, string, bool) {
	h := m.GetHeader(name)
	if h == nil && compact != "" {
		h = m.GetHeader(compact)
	}
	if h == nil {
		return 0, "", false
	}
	parts := strings.Split(h.Value(), ";")
	n, err := strconv.ParseUint(strings.TrimSpace(parts[0]), 10, 32)
	if err != nil {
		return 0, "", false
	}
	refresher := ""
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "refresher") {
			refresher = strings.ToLower(strings.TrimSpace(v))
		}
	}
	return time.Duration(n) * time.Second, refresher, true
}

// hasOption reports whether a Supported or Require header (all of its
// occurrences, comma lists) names opt.
func hasOption(m headered, name, compact, opt string) bool {
	hs := m.GetHeaders(name)
	if compact != "" {
		hs = append(hs, m.GetHeaders(compact)...)
	}
	for _, h := range hs {
		for _, v := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(v), opt) {
				return true
			}
		}
	}
	return false
}

// allows reports whether a message's Allow lists method.
func allows(m headered, method string) bool {
	return hasOption(m, "Allow", "", method)
}

func seconds(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }

// uasSession negotiates the session timer of a request that creates or
// refreshes a dialog (INVITE, re-INVITE, UPDATE) as its UAS (RFC 4028
// §9). It returns nil when timers are off; tooSmall when the request's
// interval is below our Min-SE (answer 422). The refresher is the
// requester's choice, else the requester when it supports timers (fewer
// requests for us), else switchboard: a phone that knows nothing of
// timers still has to answer our refreshes, which shows it is alive.
func (e *Engine) uasSession(req *sip.Request) (st *sessionTimer, refresher string, tooSmall bool) {
	if e.cfg.SessionExpires <= 0 {
		return nil, "", false
	}
	se, ref, asked := headerDelta(req, "Session-Expires", "x")
	if asked && se < e.cfg.MinSE {
		return nil, "", true
	}
	theirMin, _, _ := headerDelta(req, "Min-SE", "")
	interval := e.cfg.SessionExpires
	if asked && se < interval {
		interval = se
	}
	interval = max(interval, theirMin, e.cfg.MinSE)
	supports := hasOption(req, "Supported", "k", "timer") || hasOption(req, "Require", "", "timer")
	switch {
	case ref == "uac" || ref == "uas":
		refresher = ref
	case supports:
		refresher = "uac"
	default:
		refresher = "uas"
	}
	return &sessionTimer{interval: interval, weRefresh: refresher == "uas", useUpdate: allows(req, "UPDATE")}, refresher, false
}

// addSessionHeaders puts the negotiated timer into a 2xx (RFC 4028 §9):
// Session-Expires with the refresher, and Require: timer when the phone
// is to refresh.
func addSessionHeaders(res *sip.Response, st *sessionTimer, refresher string) {
	if st == nil {
		return
	}
	res.AppendHeader(sip.NewHeader("Session-Expires", seconds(st.interval)+";refresher="+refresher))
	if refresher == "uac" {
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
}

// refuseTooSmall answers 422 with our Min-SE (RFC 4028 §6).
func (e *Engine) refuseTooSmall(tx sip.ServerTransaction, req *sip.Request) {
	res := sip.NewResponseFromRequest(req, 422, "Session Interval Too Small", nil)
	res.AppendHeader(sip.NewHeader("Min-SE", seconds(e.cfg.MinSE)))
	_ = tx.Respond(res)
}

// addOfferSessionHeaders puts into our INVITEs what they carry when
// timers are on (RFC 4028 §7.1): our interval and Min-SE, no refresher
// (the UAS picks).
func (e *Engine) addOfferSessionHeaders(req *sip.Request) {
	if e.cfg.SessionExpires <= 0 {
		return
	}
	req.AppendHeader(sip.NewHeader("Session-Expires", seconds(e.cfg.SessionExpires)))
	req.AppendHeader(sip.NewHeader("Min-SE", seconds(e.cfg.MinSE)))
}

// retryTooSmall is the INVITE to send again after err, a 422 to req:
// the same request with the peer's Min-SE as interval and Min-SE, a new
// branch and CSeq. nil when err is no 422 with a usable, larger Min-SE.
func (e *Engine) retryTooSmall(req *sip.Request, cli *sipgo.DialogClientSession, err error) *sip.Request {
	var dr *sipgo.ErrDialogResponse
	if e.cfg.SessionExpires <= 0 || !errors.As(err, &dr) || dr.Res.StatusCode != 422 {
		return nil
	}
	m, _, ok := headerDelta(dr.Res, "Min-SE", "")
	if cur, _, _ := headerDelta(req, "Session-Expires", "x"); !ok || m <= cur || m > 24*time.Hour {
		return nil
	}
	next := req.Clone()
	for _, h := range []string{"Via", "Session-Expires", "Min-SE", "Authorization", "Proxy-Authorization"} {
		for next.RemoveHeader(h) {
		}
	}
	seq := req.CSeq().SeqNo
	if cli != nil && cli.InviteRequest != nil && cli.InviteRequest.CSeq() != nil {
		seq = max(seq, cli.InviteRequest.CSeq().SeqNo)
	}
	next.CSeq().SeqNo = seq + 1
	next.AppendHeader(sip.NewHeader("Session-Expires", seconds(m)))
	next.AppendHeader(sip.NewHeader("Min-SE", seconds(m)))
	return next
}

// uacSession reads the timer a 2xx to our INVITE or refresh agreed on
// (RFC 4028 §7.2): none without Session-Expires; we refresh unless the
// UAS took it (refresher=uas).
func (e *Engine) uacSession(res *sip.Response) *sessionTimer {
	if e.cfg.SessionExpires <= 0 {
		return nil
	}
	se, ref, ok := headerDelta(res, "Session-Expires", "x")
	if !ok || se <= 0 {
		return nil
	}
	return &sessionTimer{interval: se, weRefresh: ref != "uas", useUpdate: allows(res, "UPDATE"), last: time.Now()}
}

// watchLiveness runs the call's liveness checks until it ends; it starts
// once, when the first party is answered.
func (c *call) watchLiveness() {
	e := c.e
	if e.cfg.RTPTimeout <= 0 && e.cfg.SessionExpires <= 0 && c.t.AlarmsOff {
		return
	}
	c.watchOnce.Do(func() {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			tick := time.NewTicker(e.livenessTick())
			defer tick.Stop()
			for {
				select {
				case <-c.done:
					return
				case <-c.stopCh:
					return
				case now := <-tick.C:
					c.checkLiveness(now)
				}
			}
		}()
	})
}

// livenessTick is how often a call's timers are checked: a fraction of
// the shortest timeout, at most once a second.
func (e *Engine) livenessTick() time.Duration {
	d := maxLivenessTick
	for _, t := range []time.Duration{e.cfg.RTPTimeout, e.cfg.MinSE} {
		if t > 0 && t/8 < d {
			d = t / 8
		}
	}
	return max(d, 10*time.Millisecond)
}

// setBridged marks the call bridged (relaying between its parties) or
// not, from now: RTP inactivity counts only while bridged, and from the
// latest change on.
func (c *call) setBridged(bridged bool) {
	c.rtpMu.Lock()
	c.bridged = bridged
	c.rtpBase = time.Now()
	c.rtpMu.Unlock()
}

func (c *call) checkLiveness(now time.Time) {
	e := c.e
	e.mu.Lock()
	legs := []*leg{c.a, c.b}
	e.mu.Unlock()
	c.checkQuality(now, legs)

	if e.cfg.RTPTimeout > 0 {
		c.rtpMu.Lock()
		bridged, base := c.bridged, c.rtpBase
		c.rtpMu.Unlock()
		holding := false
		for _, l := range legs {
			if l != nil && l.holding.Load() {
				holding = true
			}
		}
		if holding {
			// The timeout counts again from the resume.
			c.rtpMu.Lock()
			c.rtpBase = now
			c.rtpMu.Unlock()
		} else if bridged {
			for _, l := range legs {
				if l == nil || l.rtp == nil {
					continue
				}
				last := l.rtp.LastReceived()
				if last.Before(base) {
					last = base
				}
				if idle := now.Sub(last); idle >= e.cfg.RTPTimeout {
					e.log.Info("rtp timeout: ending call", "call_id", c.id, "channel", l.ch.Name, "idle", idle.Round(time.Millisecond).String())
					c.hangup(pbx.HangupRTPTimeout)
					return
				}
			}
		}
	}
	for _, l := range legs {
		if l == nil {
			continue
		}
		st := l.st.Load()
		if st == nil {
			continue
		}
		refresh, expired := st.due(now)
		if expired {
			e.log.Info("session timer expired: ending call", "call_id", c.id, "channel", l.ch.Name, "we_refresh", st.weRefresh)
			c.hangup(pbx.HangupSessionTimeout)
			return
		}
		if refresh {
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				c.refreshSession(l, st)
			}()
		}
	}
}

// errRefreshFatal: the peer says the dialog is gone (481) or did not
// answer (408, timeout): RFC 4028 §10 ends the session.
var errRefreshFatal = errors.New("session refresh failed")

// errRefreshRefused: the peer cannot take our refreshes at all (it
// challenges in-dialog requests, or does not implement them). Ending
// every such call at the interval would cut live calls, so the leg's
// timer is dropped; the RTP timeout still watches it.
var errRefreshRefused = errors.New("session refresh refused")

// refreshSession sends one refresh on l (UPDATE when the peer allows it,
// else a re-INVITE with our current SDP, ACKed) and applies the answer.
func (c *call) refreshSession(l *leg, st *sessionTimer) {
	e := c.e
	err := c.sendRefresh(l, st)
	st.mu.Lock()
	st.inFlight = false
	st.mu.Unlock()
	if errors.Is(err, errRefreshFatal) {
		e.log.Info("session refresh failed: ending call", "call_id", c.id, "channel", l.ch.Name, "err", err)
		c.hangup(pbx.HangupSessionTimeout)
		return
	}
	if errors.Is(err, errRefreshRefused) {
		e.log.Info("session refresh refused: no session timer on this leg", "call_id", c.id, "channel", l.ch.Name, "err", err)
		l.st.CompareAndSwap(st, nil)
		return
	}
	if err != nil { // glare (491), a transient error: retry until the interval runs out
		e.log.Debug("session refresh", "call_id", c.id, "channel", l.ch.Name, "err", err)
		st.mu.Lock()
		st.retryAt = time.Now().Add(st.interval / 8)
		st.mu.Unlock()
	}
}

func (c *call) sendRefresh(l *leg, st *sessionTimer) error {
	e := c.e
	e.mu.Lock()
	srv, cli := l.srv, l.cli
	e.mu.Unlock()
	var target sip.Uri
	var transport string
	switch {
	case srv != nil && srv.InviteRequest.Contact() != nil:
		target, transport = srv.InviteRequest.Contact().Address, srv.InviteRequest.Transport()
	case cli != nil && cli.InviteResponse != nil && cli.InviteResponse.Contact() != nil:
		target, transport = cli.InviteResponse.Contact().Address, cli.InviteRequest.Transport()
	default:
		return errors.New("no remote target")
	}
	method := sip.INVITE
	if st.useUpdate {
		method = sip.UPDATE
	}
	req := sip.NewRequest(method, target)
	req.SetTransport(transport)
	req.AppendHeader(e.legContact(l))
	req.AppendHeader(sip.NewHeader("Supported", supportedOptions))
	st.mu.Lock()
	interval := st.interval
	st.mu.Unlock()
	req.AppendHeader(sip.NewHeader("Session-Expires", seconds(interval)+";refresher=uac"))
	req.AppendHeader(sip.NewHeader("Min-SE", seconds(e.cfg.MinSE)))
	if method == sip.INVITE {
		req.SetBody(e.currentSDP(l))
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	// Close cancels a refresh under way (its calls are hung up first).
	ctx, cancel := context.WithTimeout(e.ctx, refreshTimeout)
	defer cancel()
	var res *sip.Response
	var err error
	if srv != nil {
		res, err = srv.Do(ctx, req)
	} else {
		res, err = cli.Do(ctx, req)
	}
	if err != nil {
		return errors.Join(errRefreshFatal, err) // no answer at all
	}
	if method == sip.INVITE && res.IsSuccess() {
		ack := sip.NewRequest(sip.ACK, target)
		ack.SetTransport(transport)
		ack.AppendHeader(sip.HeaderClone(res.CSeq()))
		ack.CSeq().MethodName = sip.ACK
		if srv != nil {
			err = srv.WriteRequest(ack)
		} else {
			err = cli.WriteRequest(ack)
		}
		if err != nil {
			e.log.Debug("ack of session refresh", "call_id", c.id, "err", err)
		}
	}
	switch {
	case res.IsSuccess():
		if agreed := e.uacSession(res); agreed != nil {
			st.mu.Lock()
			st.interval, st.weRefresh = agreed.interval, agreed.weRefresh
			st.mu.Unlock()
		}
		// A 2xx without Session-Expires keeps our interval: we go on
		// refreshing, which is what tells us the peer is alive.
		st.touch(time.Now())
		return nil
	case res.StatusCode == 422:
		if m, _, ok := headerDelta(res, "Min-SE", ""); ok && m > interval {
			st.mu.Lock()
			st.interval = m
			st.mu.Unlock()
		}
		return errors.New("422: retry with a larger interval")
	case res.StatusCode == 481 || res.StatusCode == 408:
		return errors.Join(errRefreshFatal, errors.New(res.StartLine()))
	case res.StatusCode == 401 || res.StatusCode == 407 || res.StatusCode == 405 || res.StatusCode == 501 || res.StatusCode == 420:
		return errors.Join(errRefreshRefused, errors.New(res.StartLine()))
	}
	return errors.New(res.StartLine())
}

// alarmEvery is how often a leg's receive counters are sampled for the
// quality alarms: the window is seconds long, and nothing is paid per
// packet.
const alarmEvery = time.Second

// checkQuality samples each leg's receive counters once a second and
// reports quality alarms raised and cleared. While a party holds or the
// call is not bridged (ringing, music, queue), silence is expected.
func (c *call) checkQuality(now time.Time, legs []*leg) {
	if c.t.AlarmsOff {
		return
	}
	c.rtpMu.Lock()
	bridged := c.bridged
	c.rtpMu.Unlock()
	quiet := !bridged
	for _, l := range legs {
		if l != nil && l.holding.Load() {
			quiet = true
		}
	}
	for _, l := range legs {
		if l == nil || l.rtp == nil || l.ch == nil {
			continue
		}
		if l.alarm == nil {
			l.alarm = media.NewAlarmMonitor(c.t.Alarms)
		} else if now.Sub(l.alarmAt) < alarmEvery {
			continue
		}
		l.alarmAt = now
		st := l.rtp.Stats()
		l.sampleQuality(now, st, quiet)
		for _, ch := range l.alarm.Add(media.SampleOf(now, st, quiet)) {
			c.e.log.Info("call quality", "call_id", c.id, "channel", l.ch.Name, "alarm", string(ch.Kind), "raised", ch.Raised, "value", ch.Value)
			c.e.core.QualityChanged(l.ch, pbx.QualityAlarm{Kind: string(ch.Kind), Raised: ch.Raised, Value: ch.Value, Threshold: ch.Threshold})
		}
	}
}

// qualityEvery is the resolution of a stream's quality-over-time series.
const qualityEvery = 5 * time.Second

// sampleQuality adds a point to the leg's quality series once per
// qualityEvery: the interval's packets and losses, the jitter at its end
// and the MOS they give. Quiet intervals (hold, not bridged) and
// intervals without audio add nothing; a reset of the counters (a
// transfer) starts a new baseline.
func (l *leg) sampleQuality(now time.Time, st media.Stats, quiet bool) {
	if l.qAt.IsZero() || st.PacketsRecv < l.qRecv {
		l.qAt, l.qRecv, l.qLost = now, st.PacketsRecv, st.PacketsLost
		return
	}
	if now.Sub(l.qAt) < qualityEvery {
		return
	}
	recv, lost := int64(st.PacketsRecv-l.qRecv), max(st.PacketsLost-l.qLost, 0)
	l.qAt, l.qRecv, l.qLost = now, st.PacketsRecv, st.PacketsLost
	if quiet || recv+lost == 0 {
		return
	}
	p := pbx.QualityPoint{At: now, Packets: recv, Lost: lost, JitterMs: st.JitterMillis,
		MOS: media.EstimateMOS(float64(lost)/float64(recv+lost), st.JitterMillis)}
	l.qmu.Lock()
	l.series = pbx.AppendQualityPoint(l.series, p)
	l.qmu.Unlock()
}

// qualitySeries is a copy of the leg's series so far.
func (l *leg) qualitySeries() []pbx.QualityPoint {
	if l == nil {
		return nil
	}
	l.qmu.Lock()
	defer l.qmu.Unlock()
	return append([]pbx.QualityPoint(nil), l.series...)
}
