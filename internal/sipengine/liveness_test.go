package sipengine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// byeCount is how many BYEs the phone received.
func (p *testPhone) byeCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.byes)
}

// invitesWith returns the INVITEs the phone received that carry header.
func (p *testPhone) invitesWith(header string) []*sip.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*sip.Request
	for _, r := range p.invites {
		if r.GetHeader(header) != nil {
			out = append(out, r)
		}
	}
	return out
}

// waitEndedWithin waits for call.ended, failing after d.
func (r *rig) waitEndedWithin(t *testing.T, d time.Duration) (pbx.CDR, time.Time) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case e := <-r.sub.C():
			if e.Event.Type == pbx.EvCallEnded {
				return *e.Event.CDR, time.Now()
			}
		case <-deadline:
			t.Fatalf("no call.ended within %v", d)
		}
	}
}

func liveCalls(r *rig) int {
	calls, _ := r.core.Calls("t")
	return len(calls)
}

// TestRTPTimeoutEndsSilentCall (issue 10 item 2): the phone sends RTP for
// 1.5 s and then nothing (its network went away, the BYE with it). With a
// 1 s inactivity timeout the call stays up while audio flows and ends
// about a second after it stopped: both legs get BYE and the CDR says
// rtp_timeout.
func TestRTPTimeoutEndsSilentCall(t *testing.T) {
	r := newRigWith(t, 5*time.Second, pbx.Options{}, nil, func(c *Config) { c.RTPTimeout = time.Second })
	r.phones(t, 50*time.Millisecond, "101")
	p := newTestPhone(t, r, "100", "udp")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pc, err := p.dial(ctx, "101")
	if err != nil {
		t.Fatal(err)
	}
	r.waitEvent(t, pbx.EvCallAnswered)
	talk, stopTalk := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer stopTalk()
	_ = pc.rtp.PlayTone(talk, 440)
	stopped := time.Now()
	cdr, ended := r.waitEndedWithin(t, 5*time.Second)
	if cdr.HangupBy != pbx.HangupRTPTimeout || cdr.Disposition != pbx.DispAnswered {
		t.Fatalf("cdr %+v, want hangup_by %s", cdr, pbx.HangupRTPTimeout)
	}
	if silent := ended.Sub(stopped); silent < 900*time.Millisecond || silent > 3*time.Second {
		t.Fatalf("call ended %v after the phone went silent, want about the 1 s timeout", silent)
	}
	if cdr.BillSec < 2 {
		t.Fatalf("billsec %d: the call ended while audio still flowed", cdr.BillSec)
	}
	select {
	case <-pc.cli.Context().Done(): // our BYE reached the phone
	case <-time.After(3 * time.Second):
		t.Fatal("the silent phone got no BYE")
	}
}

// TestRTPTimeoutSparesHeldCall: a phone that holds (sendonly) and sends
// nothing keeps its call for well over the timeout; once it resumes and
// still sends nothing, the timeout applies again, counted from the resume.
func TestRTPTimeoutSparesHeldCall(t *testing.T) {
	r := newRigWith(t, 5*time.Second, pbx.Options{}, nil, func(c *Config) { c.RTPTimeout = time.Second })
	r.phones(t, 50*time.Millisecond, "101")
	p := newTestPhone(t, r, "100", "udp")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pc, err := p.dial(ctx, "101")
	if err != nil {
		t.Fatal(err)
	}
	r.waitEvent(t, pbx.EvCallAnswered)
	if got := p.reinvite(ctx, pc, "sendonly"); got != "recvonly" {
		t.Fatalf("hold answered %s", got)
	}
	time.Sleep(3 * time.Second)
	if n := liveCalls(r); n != 1 {
		t.Fatalf("%d live calls after 3 s on hold, want the held call still up", n)
	}
	if got := p.reinvite(ctx, pc, "sendrecv"); got != "sendrecv" {
		t.Fatalf("resume answered %s", got)
	}
	resumed := time.Now()
	cdr, ended := r.waitEndedWithin(t, 5*time.Second)
	if cdr.HangupBy != pbx.HangupRTPTimeout {
		t.Fatalf("cdr %+v", cdr)
	}
	if d := ended.Sub(resumed); d < 900*time.Millisecond {
		t.Fatalf("ended %v after the resume: the time on hold was counted", d)
	}
}

// sessionRig has session timers of 2 s with Min-SE 1 s (RFC 4028 allows
// no less than 90 s; tests shorten it) and no RTP timeout.
func sessionRig(t *testing.T) *rig {
	return newRigWith(t, 5*time.Second, pbx.Options{}, nil, func(c *Config) {
		c.SessionExpires, c.MinSE = 2*time.Second, time.Second
	})
}

// TestSessionTimerPhoneRefresher: a phone asks for a 2 s session it
// refreshes itself (Session-Expires: 2;refresher=uac). The 200 OK grants
// it with Require: timer. A phone that keeps refreshing (re-INVITE or
// UPDATE) keeps its call; one that stops gets a BYE when the interval
// runs out (minus a third), on both legs, with hangup_by session_timeout.
func TestSessionTimerPhoneRefresher(t *testing.T) {
	for _, how := range []string{"re-INVITE", "UPDATE", "none"} {
		t.Run(how, func(t *testing.T) {
			r := sessionRig(t)
			r.phones(t, 50*time.Millisecond, "101")
			p := newTestPhone(t, r, "100", "udp")
			p.mu.Lock()
			p.dialHeaders = [][2]string{{"Supported", "timer"}, {"Session-Expires", "2;refresher=uac"}, {"Allow", "INVITE, ACK, BYE, UPDATE"}}
			p.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			pc, err := p.dial(ctx, "101")
			if err != nil {
				t.Fatal(err)
			}
			answered := time.Now()
			ok := pc.cli.InviteResponse
			if h := ok.GetHeader("Session-Expires"); h == nil || h.Value() != "2;refresher=uac" || !hasOption(ok, "Require", "", "timer") || !hasOption(ok, "Supported", "", "timer") {
				t.Fatalf("200 OK: Session-Expires %v, Require %v, Supported %v", h, ok.GetHeader("Require"), ok.GetHeader("Supported"))
			}
			r.waitEvent(t, pbx.EvCallAnswered)
			if how == "none" {
				cdr, ended := r.waitEndedWithin(t, 5*time.Second)
				if cdr.HangupBy != pbx.HangupSessionTimeout {
					t.Fatalf("cdr %+v", cdr)
				}
				if d := ended.Sub(answered); d < time.Second || d > 3*time.Second {
					t.Fatalf("ended %v after the answer, want about 2 s - 2/3 s", d)
				}
				select {
				case <-pc.cli.Context().Done():
				case <-time.After(3 * time.Second):
					t.Fatal("the phone got no BYE")
				}
				return
			}
			for i := 0; i < 5; i++ {
				time.Sleep(800 * time.Millisecond)
				method := sip.INVITE
				if how == "UPDATE" {
					method = sip.UPDATE
				}
				req := sip.NewRequest(method, ok.Contact().Address)
				req.AppendHeader(sip.NewHeader("Supported", "timer"))
				req.AppendHeader(sip.NewHeader("Session-Expires", "2;refresher=uac"))
				if method == sip.INVITE {
					req.SetBody(p.sdp(pc.rtp, "sendrecv"))
					req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
				}
				res, err := pc.cli.Do(ctx, req)
				if err != nil || res.StatusCode != 200 {
					t.Fatalf("refresh %d by %s: %v %v", i, how, res, err)
				}
				if h := res.GetHeader("Session-Expires"); h == nil || h.Value() != "2;refresher=uac" {
					t.Fatalf("refresh answer Session-Expires %v", h)
				}
				if method == sip.INVITE {
					ack := sip.NewRequest(sip.ACK, ok.Contact().Address)
					ack.AppendHeader(sip.HeaderClone(res.CSeq()))
					ack.CSeq().MethodName = sip.ACK
					if err := pc.cli.WriteRequest(ack); err != nil {
						t.Fatal(err)
					}
				}
			}
			if n := liveCalls(r); n != 1 || p.byeCount() != 0 {
				t.Fatalf("after 4 s of refreshes: %d live calls, %d BYEs", n, p.byeCount())
			}
			if err := p.hangup(pc); err != nil {
				t.Fatal(err)
			}
			if cdr, _ := r.waitEndedWithin(t, 5*time.Second); cdr.HangupBy != "caller" {
				t.Fatalf("cdr %+v", cdr)
			}
		})
	}
}

// TestSessionTimerSwitchboardRefreshes: the calling phone leaves the
// refreshing to switchboard (refresher=uas) and the called phone's 200 OK
// makes switchboard, its UAC, the refresher (refresher=uac). switchboard
// offers timers on its INVITE (Supported: timer, Session-Expires, Min-SE)
// and re-INVITEs both phones every half interval; the call stays up. When
// the called phone then answers a refresh 481 (it lost the dialog), the
// call ends with BYE to both sides and hangup_by session_timeout.
func TestSessionTimerSwitchboardRefreshes(t *testing.T) {
	r := sessionRig(t)
	p100 := newTestPhone(t, r, "100", "udp")
	p101 := newTestPhone(t, r, "101", "udp")
	p100.mu.Lock()
	p100.dialHeaders = [][2]string{{"Supported", "timer"}, {"Session-Expires", "2;refresher=uas"}}
	p100.mu.Unlock()
	p101.mu.Lock()
	p101.answerHeaders = [][2]string{{"Supported", "timer"}, {"Session-Expires", "2;refresher=uac"}, {"Require", "timer"}}
	p101.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pc, err := p100.dial(ctx, "101")
	if err != nil {
		t.Fatal(err)
	}
	if h := pc.cli.InviteResponse.GetHeader("Session-Expires"); h == nil || h.Value() != "2;refresher=uas" || pc.cli.InviteResponse.GetHeader("Require") != nil {
		t.Fatalf("200 OK to a phone leaving refreshes to us: Session-Expires %v, Require %v", h, pc.cli.InviteResponse.GetHeader("Require"))
	}
	p101.mu.Lock()
	offer := p101.invites[0]
	p101.mu.Unlock()
	if h := offer.GetHeader("Session-Expires"); h == nil || h.Value() != "2" || !hasOption(offer, "Supported", "", "timer") || offer.GetHeader("Min-SE") == nil {
		t.Fatalf("our INVITE: Session-Expires %v, Supported %v, Min-SE %v", h, offer.GetHeader("Supported"), offer.GetHeader("Min-SE"))
	}
	r.waitEvent(t, pbx.EvCallAnswered)
	time.Sleep(3500 * time.Millisecond)
	if n := liveCalls(r); n != 1 {
		t.Fatalf("%d live calls, want the refreshed call up", n)
	}
	// Refreshes are re-INVITEs (neither phone allows UPDATE) after the
	// initial INVITE, at about 1 s each.
	if n := len(p100.invitesWith("Session-Expires")); n < 2 {
		t.Fatalf("the calling phone got %d refreshes in 3.5 s", n)
	}
	if n := len(p101.invitesWith("Session-Expires")) - 1; n < 2 {
		t.Fatalf("the called phone got %d refreshes in 3.5 s", n)
	}
	p101.mu.Lock()
	p101.refuseReinvite = 481
	p101.mu.Unlock()
	cdr, _ := r.waitEndedWithin(t, 5*time.Second)
	if cdr.HangupBy != pbx.HangupSessionTimeout {
		t.Fatalf("cdr %+v", cdr)
	}
	select {
	case <-pc.cli.Context().Done():
	case <-time.After(3 * time.Second):
		t.Fatal("the calling phone got no BYE")
	}
}

// TestSessionRefreshRefusedKeepsCall: a called phone grants a session
// timer but answers our refreshes 501 (it implements no re-INVITE). The
// call is not cut at the interval: the leg's timer is dropped and the
// call goes on until hung up.
func TestSessionRefreshRefusedKeepsCall(t *testing.T) {
	r := sessionRig(t)
	p100 := newTestPhone(t, r, "100", "udp")
	p101 := newTestPhone(t, r, "101", "udp")
	p101.mu.Lock()
	p101.answerHeaders = [][2]string{{"Session-Expires", "2;refresher=uac"}, {"Require", "timer"}}
	p101.refuseReinvite = 501
	p101.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pc, err := p100.dial(ctx, "101")
	if err != nil {
		t.Fatal(err)
	}
	r.waitEvent(t, pbx.EvCallAnswered)
	time.Sleep(3500 * time.Millisecond)
	if n := len(p101.invitesWith("Session-Expires")) - 1; n < 1 {
		t.Fatalf("101 got %d refreshes, want at least the refused one", n)
	}
	if n := liveCalls(r); n != 1 {
		t.Fatalf("%d live calls: a refused refresh cut the call", n)
	}
	if err := p100.hangup(pc); err != nil {
		t.Fatal(err)
	}
	if cdr, _ := r.waitEndedWithin(t, 5*time.Second); cdr.HangupBy != "caller" {
		t.Fatalf("cdr %+v", cdr)
	}
}

// TestSessionIntervalTooSmall: an INVITE asking for a session interval
// below Min-SE (default 90 s) is refused 422 naming our Min-SE (RFC 4028
// §6); nothing rings.
func TestSessionIntervalTooSmall(t *testing.T) {
	r := newRigWith(t, 5*time.Second, pbx.Options{}, nil, func(c *Config) { c.SessionExpires = 1800 * time.Second })
	r.phones(t, 50*time.Millisecond, "101")
	p := newTestPhone(t, r, "100", "udp")
	p.mu.Lock()
	p.dialHeaders = [][2]string{{"Supported", "timer"}, {"Session-Expires", "30"}}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := p.dial(ctx, "101")
	var dr *sipgo.ErrDialogResponse
	if !errors.As(err, &dr) || dr.Res.StatusCode != 422 {
		t.Fatalf("dial with Session-Expires 30: %v, want 422", err)
	}
	if h := dr.Res.GetHeader("Min-SE"); h == nil || strings.TrimSpace(h.Value()) != "90" {
		t.Fatalf("422 Min-SE %v, want 90", h)
	}
	if n := liveCalls(r); n != 0 {
		t.Fatalf("%d live calls after a 422", n)
	}
}

// TestSessionTimerRetriesAfter422: the called phone wants at least 3 s
// and answers our 2 s offer 422 Min-SE: 3; switchboard asks again (same
// Call-ID, higher CSeq) with Session-Expires: 3 and the call connects.
func TestSessionTimerRetriesAfter422(t *testing.T) {
	r := sessionRig(t)
	p100 := newTestPhone(t, r, "100", "udp")
	p101 := newTestPhone(t, r, "101", "udp")
	p101.mu.Lock()
	p101.minSE = 3
	p101.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pc, err := p100.dial(ctx, "101")
	if err != nil {
		t.Fatal(err)
	}
	p101.mu.Lock()
	invites := append([]*sip.Request(nil), p101.invites...)
	p101.mu.Unlock()
	if len(invites) != 2 {
		t.Fatalf("101 got %d INVITEs, want the refused one and the retry", len(invites))
	}
	first, retry := invites[0], invites[1]
	if h := retry.GetHeader("Session-Expires"); h == nil || h.Value() != "3" || retry.CallID().Value() != first.CallID().Value() ||
		retry.CSeq().SeqNo <= first.CSeq().SeqNo {
		t.Fatalf("retry: Session-Expires %v, Call-ID %s (first %s), CSeq %d (first %d)", h, retry.CallID().Value(), first.CallID().Value(),
			retry.CSeq().SeqNo, first.CSeq().SeqNo)
	}
	r.waitEvent(t, pbx.EvCallAnswered)
	if err := p100.hangup(pc); err != nil {
		t.Fatal(err)
	}
	if cdr, _ := r.waitEndedWithin(t, 5*time.Second); cdr.Disposition != pbx.DispAnswered {
		t.Fatalf("cdr %+v", cdr)
	}
}

// FuzzSessionNegotiation: whatever a phone writes in Session-Expires,
// Min-SE, Supported and Allow, negotiation never panics, never grants an
// interval below our Min-SE, and refuses (422) exactly the intervals
// below it.
func FuzzSessionNegotiation(f *testing.F) {
	f.Add("1800;refresher=uac", "90", "timer, replaces", "INVITE, UPDATE")
	f.Add("30", "", "", "")
	f.Add("x;refresher=", "abc", ",,", "UPDATE")
	f.Add("4294967296", "18446744073709551615;x", "TIMER", "")
	f.Add(" 600 ; Refresher = UAS ", "120", "k", "update")
	e := &Engine{cfg: Config{SessionExpires: 1800 * time.Second, MinSE: 90 * time.Second}}
	f.Fuzz(func(t *testing.T, se, minSE, supported, allow string) {
		req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "100", Host: "t.local"})
		for name, v := range map[string]string{"Session-Expires": se, "Min-SE": minSE, "Supported": supported, "Allow": allow} {
			if v != "" && !strings.ContainsAny(v, "\r\n") {
				req.AppendHeader(sip.NewHeader(name, v))
			}
		}
		st, refresher, tooSmall := e.uasSession(req)
		asked, _, ok := headerDelta(req, "Session-Expires", "x")
		if tooSmall != (ok && asked < e.cfg.MinSE) {
			t.Fatalf("Session-Expires %q: tooSmall %v", se, tooSmall)
		}
		if tooSmall {
			return
		}
		if st == nil || st.interval < e.cfg.MinSE || (refresher != "uac" && refresher != "uas") || st.weRefresh != (refresher == "uas") {
			t.Fatalf("Session-Expires %q Min-SE %q: %+v refresher %q", se, minSE, st, refresher)
		}
	})
}

// TestQualityAlarmOneWayAudio: a phone that stops sending audio in a
// bridged call raises a one_way call.quality alarm for its channel after
// the tenant's one_way_after, and a recovery when its audio is back.
func TestQualityAlarmOneWayAudio(t *testing.T) {
	ctx, r, pc := alarmCall(t, media.AlarmThresholds{OneWayAfter: 2 * time.Second, Window: 2 * time.Second})
	talk, stopTalk := context.WithTimeout(ctx, 1500*time.Millisecond)
	_ = pc.rtp.PlayTone(talk, 440)
	stopTalk()
	quality := func(within time.Duration) pbx.Event {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case e := <-r.sub.C():
				if e.Event.Type == pbx.EvCallQuality {
					return e.Event
				}
			case <-deadline:
				t.Fatalf("no call.quality within %v", within)
			}
		}
	}
	raised := quality(6 * time.Second)
	if q := raised.Quality; q == nil || q.Kind != "one_way" || !q.Raised || raised.Channel == nil || raised.Channel.Exten != "100" {
		t.Fatalf("alarm %+v on %+v, want one_way raised on 100's channel", raised.Quality, raised.Channel)
	}
	go func() { _ = pc.rtp.PlayTone(ctx, 440) }()
	cleared := quality(5 * time.Second)
	if q := cleared.Quality; q == nil || q.Kind != "one_way" || q.Raised {
		t.Fatalf("recovery %+v", cleared.Quality)
	}
}

// TestQualityAlarmLoss: a phone whose audio loses 5 % of its packets on
// the way (every 20th dropped) raises a loss alarm for its channel.
func TestQualityAlarmLoss(t *testing.T) {
	ctx, r, pc := alarmCall(t, media.AlarmThresholds{Window: 2 * time.Second, OneWayAfter: time.Minute})
	pc.rtp.DropGenerated(20)
	go func() { _ = pc.rtp.PlayTone(ctx, 440) }()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-r.sub.C():
			q := e.Event.Quality
			if e.Event.Type != pbx.EvCallQuality || q == nil || !q.Raised {
				continue
			}
			if e.Event.Channel == nil || e.Event.Channel.Exten != "100" {
				t.Fatalf("alarm on %+v, want 100's channel", e.Event.Channel)
			}
			if q.Kind == "loss" {
				if q.Value < 0.03 || q.Value > 0.07 || q.Threshold != 0.02 {
					t.Fatalf("loss alarm %+v, want about 5 %% over 2 %%", q)
				}
				return
			}
		case <-deadline:
			t.Fatal("no loss alarm for 5 % loss")
		}
	}
}

// alarmCall is an answered call 100 -> 101 in a rig whose tenants use th
// for quality alarms (no RTP timeout); the context lasts the test.
func alarmCall(t *testing.T, th media.AlarmThresholds) (context.Context, *rig, *phoneCall) {
	t.Helper()
	r := newRigWith(t, 5*time.Second, pbx.Options{}, nil, func(c *Config) {
		c.RTPTimeout = 0
		for i := range c.Tenants {
			c.Tenants[i].Alarms = th
		}
	})
	r.phones(t, 50*time.Millisecond, "101")
	p := newTestPhone(t, r, "100", "udp")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	pc, err := p.dial(ctx, "101")
	if err != nil {
		t.Fatal(err)
	}
	r.waitEvent(t, pbx.EvCallAnswered)
	return ctx, r, pc
}

// TestQualitySeriesInCDR: a call whose caller loses every 20th packet for
// about 12 s ends with a CDR whose caller stream has a quality point per
// 5 s, each counting the interval's packets and about 5 % of them lost,
// with a MOS below a clean stream's; the bot's stream is clean.
func TestQualitySeriesInCDR(t *testing.T) {
	ctx, r, pc := alarmCall(t, media.AlarmThresholds{OneWayAfter: time.Minute})
	pc.rtp.DropGenerated(20)
	tone, stop := context.WithCancel(ctx)
	go func() { _ = pc.rtp.PlayTone(tone, 440) }()
	time.Sleep(12 * time.Second)
	stop()
	if err := pc.cli.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	cdr := r.waitEnded(t)
	a, b := cdr.Detail.A.Series, cdr.Detail.B.Series
	if len(a) < 1 || len(a) > 3 || len(b) < 1 {
		t.Fatalf("series: caller %d points, bot %d; want 1-3 and some", len(a), len(b))
	}
	for _, p := range a {
		loss := float64(p.Lost) / float64(p.Packets+p.Lost)
		if p.Packets < 150 || loss < 0.03 || loss > 0.07 || p.MOS >= 4.3 || p.At.IsZero() {
			t.Fatalf("caller point %+v (loss %.3f): want ~250 packets, ~5 %% lost, MOS below clean", p, loss)
		}
	}
	for _, p := range b {
		if p.Lost != 0 || p.MOS < 4.3 {
			t.Fatalf("bot point %+v: want a clean stream", p)
		}
	}
}
