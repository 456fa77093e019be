package sipengine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Feature codes dialled from a phone.
const (
	featureAgentLogin = "*45" // toggle dynamic queue membership; *45<queue number> for one queue
	featureAgentPause = "*46" // toggle pause in every queue
)

// music returns the PCM of a queue's music on hold, loading a configured
// file once; a file that cannot be used falls back to the generated tune.
func (e *Engine) music(path string) []int16 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if pcm, ok := e.moh[path]; ok {
		return pcm
	}
	pcm := media.DefaultMusic()
	if path != "" {
		if p, err := media.LoadMusic(path); err != nil {
			e.log.Warn("music on hold unusable, playing the generated tune", "file", path, "err", err)
		} else {
			pcm = p
		}
	}
	e.moh[path] = pcm
	return pcm
}

// holdMusic plays music (and position beeps) to l until stopped.
type holdMusic struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (e *Engine) startMusic(l *leg, cfg pbx.QueueEntry, position func() int) *holdMusic {
	ctx, cancel := context.WithCancel(e.ctx)
	m := &holdMusic{cancel: cancel}
	pcm := e.music(cfg.MusicOnHold)
	var announce func() []int16
	if position != nil {
		announce = func() []int16 { return e.announcement(cfg.AnnounceDir, position()) }
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		l.rtp.PlayLoop(ctx, pcm, cfg.AnnounceEvery, announce)
	}()
	return m
}

// announcement is the audio telling a caller its position: the recorded
// <dir>/position-<n>.wav when there is one (8 kHz 16-bit), else n beeps.
func (e *Engine) announcement(dir string, n int) []int16 {
	if n <= 0 {
		return nil
	}
	if dir != "" {
		path := filepath.Join(dir, fmt.Sprintf("position-%d.wav", n))
		e.mu.Lock()
		pcm, ok := e.moh["announce:"+path]
		e.mu.Unlock()
		if !ok {
			pcm, _ = media.LoadMusic(path) // missing or unusable: beeps
			e.mu.Lock()
			e.moh["announce:"+path] = pcm
			e.mu.Unlock()
		}
		if len(pcm) > 0 {
			return pcm
		}
	}
	return media.Beeps(n)
}

func (m *holdMusic) stop() {
	if m != nil {
		m.cancel()
		m.wg.Wait()
	}
}

// runQueue serves an inbound caller through queue: answer with music on
// hold, ring the agents the core offers, bridge the one who answers.
// runQueue puts the call's first party in queue. An inbound caller is
// answered first; a party we called (click-to-call to a queue number) is
// already answered, and a failure hangs it up instead of answering it.
func (c *call) runQueue(queue string, codec media.Codec, dtmfPT uint8) {
	e, a := c.e, c.a
	fail := func(code int, status pbx.EndStatus) {
		if a.srv == nil {
			c.byeLeg(a)
		} else {
			c.respondA(code)
		}
		c.setEnd(status, code, "system")
	}
	cfg, err := e.core.QueueConfig(c.t.Name, queue)
	if err != nil {
		fail(sip.StatusServiceUnavailable, pbx.EndCongestion)
		return
	}
	e.core.SetCallAppData(c.t.Name, c.id, "Queue", queue)
	w, exit, err := e.core.QueueJoin(c.t.Name, queue, a.ch)
	if err != nil {
		fail(sip.StatusServiceUnavailable, pbx.EndCongestion)
		return
	}
	if exit != nil && exit.Dest == "" {
		fail(sip.StatusBusyHere, pbx.EndBusy)
		return
	}
	if a.srv != nil && !c.answerInbound(codec, dtmfPT) {
		if w != nil {
			w.Leave("caller")
		}
		return
	}
	e.setupDone(c) // waiting in a queue is not call setup (overload guard)
	var music *holdMusic
	if w != nil {
		position := func() int {
			calls, _ := e.core.QueueCalls(c.t.Name, queue)
			for _, qc := range calls {
				if qc.CallID == c.id {
					return qc.Position
				}
			}
			return 0
		}
		music = e.startMusic(a, cfg, position)
	} else {
		music = e.startMusic(a, pbx.QueueEntry{MusicOnHold: cfg.MusicOnHold}, nil)
	}
	defer music.stop()
	if exit != nil {
		c.queueOut(*exit, music)
		return
	}
	c.setPickable(true)
	for {
		select {
		case o := <-w.Offers():
			if o.Exit != nil {
				c.setPickable(false)
				c.queueOut(*o.Exit, music)
				return
			}
			b, agent, noAnswer, cause := c.ringAgents(o.Agents, o.Timeout)
			chName := ""
			if b != nil {
				chName = b.ch.Name
			}
			if !w.RingResult(agent, chName, noAnswer) {
				if b != nil { // taken out of the queue while the agent answered
					c.byeLeg(b)
					e.core.HangupChannel(b.ch, "queue")
					b.rtp.Close()
				}
				continue // the exit offer follows
			}
			switch {
			case b != nil:
				c.setPickable(false)
				music.stop()
				c.setLeg(true, b)
				c.bridge()
				c.mu.Lock()
				by := c.hangupBy
				c.mu.Unlock()
				w.Leave(by)
				return
			case errors.Is(cause, errCallerGone):
				w.Leave("caller")
				c.setEnd(pbx.EndCancel, sip.StatusRequestTerminated, "caller")
				return
			case errors.Is(cause, errHangupReq):
				c.byeLeg(a)
				w.Leave("caller")
				c.setEnd(pbx.EndCancel, sip.StatusRequestTerminated, c.stopBy)
				return
			case errors.Is(cause, errPickedUp):
				c.setPickable(false)
				w.Redirected()
				c.mu.Lock()
				tg := *c.pickedBy
				c.mu.Unlock()
				c.connectTo(tg, tg.number, music)
				return
			}
		case tg := <-c.pickup:
			c.setPickable(false)
			w.Redirected()
			c.connectTo(tg, tg.number, music)
			return
		case <-a.ctx().Done():
			w.Leave("caller")
			c.setEnd(pbx.EndCancel, sip.StatusRequestTerminated, "caller")
			return
		case <-c.stopCh:
			c.byeLeg(a)
			w.Leave("caller")
			c.setEnd(pbx.EndCancel, sip.StatusRequestTerminated, c.stopBy)
			return
		}
	}
}

// queueOut sends a caller leaving the queue to its destination, or hangs
// it up.
func (c *call) queueOut(x pbx.QueueExit, music *holdMusic) {
	if x.Dest == "" {
		c.byeLeg(c.a)
		c.setEnd(pbx.EndCancel, sip.StatusRequestTerminated, "system")
		return
	}
	tgt, status, code := c.e.route(c.t, x.Dest)
	if status != "" {
		c.byeLeg(c.a)
		c.setEnd(status, code, "system")
		return
	}
	c.connectTo(tgt, x.Dest, music)
}

// connectTo dials tgt for the answered caller (music keeps playing while
// it rings) and bridges them.
func (c *call) connectTo(tgt target, dest string, music *holdMusic) {
	e, a := c.e, c.a
	ch, err := c.addChannel(tgt.channelSpec(a.ch.CallerIDNum, a.ch.CallerIDName))
	if err != nil {
		c.byeLeg(a)
		c.setEnd(pbx.EndCongestion, sip.StatusServiceUnavailable, "system")
		return
	}
	ctx, done := c.ringCtx(e.cfg.RingTimeout, a.ctx().Done())
	codec := a.rtp.Codec()
	b, status, code := c.dial(ctx, tgt, ch, a.ch.CallerIDNum, a.ch.CallerIDName, &codec, nil)
	cause := done()
	if b == nil {
		by := "callee"
		if errors.Is(cause, errCallerGone) {
			by = "caller"
		} else {
			c.byeLeg(a)
		}
		c.setEnd(status, code, by)
		return
	}
	music.stop()
	c.setLeg(true, b)
	c.bridge()
}

type ringOutcome struct {
	agent string
	leg   *leg
	code  int
}

// ringAgents rings every agent at once for timeout; the first to answer
// wins and the others stop ringing (CANCEL). It returns the answered leg
// (nil if none), who it is, who rang in vain, and why ringing ended.
func (c *call) ringAgents(agents []string, timeout time.Duration) (*leg, string, []string, error) {
	e, a := c.e, c.a
	ctx, done := c.ringCtx(timeout, a.ctx().Done())
	results := make(chan ringOutcome, len(agents))
	var won sync.Once
	var winner ringOutcome
	var wg sync.WaitGroup
	winCtx, stopOthers := context.WithCancelCause(ctx)
	defer stopOthers(nil)
	for _, ag := range agents {
		tgt, status, _ := e.route(c.t, ag)
		if status != "" || tgt.ext == nil {
			results <- ringOutcome{agent: ag}
			continue
		}
		ch, err := c.addChannel(tgt.channelSpec(a.ch.CallerIDNum, a.ch.CallerIDName))
		if err != nil {
			results <- ringOutcome{agent: ag}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			codec := a.rtp.Codec()
			l, _, code := c.dial(winCtx, tgt, ch, a.ch.CallerIDNum, a.ch.CallerIDName, &codec, nil)
			results <- ringOutcome{agent: ag, leg: l, code: code}
		}()
	}
	var noAnswer []string
	for range agents {
		r := <-results
		if r.leg == nil {
			noAnswer = append(noAnswer, r.agent)
			continue
		}
		first := false
		won.Do(func() { winner, first = r, true })
		if first {
			stopOthers(errors.New("answered elsewhere"))
			continue
		}
		// Answered at the same moment as the winner: release it.
		c.byeLeg(r.leg)
		e.core.HangupChannel(r.leg.ch, "answered elsewhere")
		r.leg.rtp.Close()
		noAnswer = append(noAnswer, r.agent)
	}
	wg.Wait()
	cause := done()
	if winner.leg != nil {
		return winner.leg, winner.agent, noAnswer, nil
	}
	return nil, "", noAnswer, cause
}

// runFeature serves a feature code dialled by an extension: answer, act,
// confirm with a tone (high: now logged in / working, low: logged out /
// paused), hang up.
func (c *call) runFeature(callerExt string, codec media.Codec, dtmfPT uint8) bool {
	e := c.e
	var on bool
	var err error
	switch {
	case strings.HasPrefix(c.to, featureAgentLogin):
		e.core.SetCallApp(c.t.Name, c.id, "AgentLogin")
		on, err = e.core.QueueToggleLogin(c.t.Name, callerExt, strings.TrimPrefix(c.to, featureAgentLogin))
	case c.to == featureAgentPause:
		e.core.SetCallApp(c.t.Name, c.id, "PauseMember")
		paused := false
		if qs, qerr := e.core.Queues(c.t.Name); qerr == nil {
			for _, q := range qs {
				for _, m := range q.Members {
					if m.Number == callerExt && m.Paused {
						paused = true
					}
				}
			}
		}
		_, err = e.core.QueuePause(c.t.Name, "", callerExt, !paused, "feature code")
		on = paused // unpaused now: working
	default:
		return false
	}
	if err != nil {
		e.log.Info("feature code refused", "ext", callerExt, "code", c.to, "err", err)
		c.respondA(sip.StatusNotFound)
		c.setEnd(pbx.EndCongestion, sip.StatusNotFound, "system")
		return true
	}
	if !c.answerInbound(codec, dtmfPT) {
		return true
	}
	e.setupDone(c)
	e.core.CallAnswered(c.t.Name, c.id)
	freq := 400.0
	if on {
		freq = 800
	}
	ctx, cancel := context.WithTimeout(e.ctx, time.Second)
	_ = c.a.rtp.PlayTone(ctx, freq)
	cancel()
	c.byeLeg(c.a)
	c.setEnd(pbx.EndAnswer, sip.StatusOK, "system")
	return true
}
