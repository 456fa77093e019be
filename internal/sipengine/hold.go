package sipengine

import (
	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// holds reports whether an offer's direction puts the call on hold: the
// phone will not listen (sendonly) or neither send nor listen (inactive).
func holds(dir string) bool { return dir == "sendonly" || dir == "inactive" }

// reinviteAnswer is our SDP answering a re-INVITE offer with direction
// offerDir: our session with the direction RFC 3264 §6.1 asks for
// (sendonly -> recvonly, recvonly -> sendonly, inactive -> inactive) and a
// new version when it changed. It becomes the leg's current description.
func (e *Engine) reinviteAnswer(l *leg, offerDir string) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	l.localSDP = media.WithDirection(l.localSDP, media.AnswerDirection(offerDir))
	return l.localSDP
}

// currentSDP is the leg's current session description.
func (e *Engine) currentSDP(l *leg) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return l.localSDP
}

// setHold records whether l's phone holds the call, from the direction of
// its latest offer. A change shows in the channel's state (hold / up, with
// its channel.state event) and is handed to the goroutine bridging the
// call, which stops relaying and plays music on hold to the other party.
func (e *Engine) setHold(l *leg, offerDir string) {
	on := holds(offerDir)
	if l.holding.Swap(on) == on {
		return
	}
	if on {
		e.core.SetChannelState(l.ch, pbx.ChanHold)
	} else {
		e.core.SetChannelState(l.ch, pbx.ChanUp)
	}
	e.log.Info("hold", "call_id", l.call.id, "channel", l.ch.Name, "on", on, "direction", offerDir)
	select {
	case l.call.holdCh <- struct{}{}:
	default: // a change is already pending; the bridge reads the latest state
	}
}

// onHold applies the hold state of a bridged call's legs: while either
// holds, nothing is relayed (the holder must not receive the other's
// audio, RFC 3264 §8.4), and a party whose peer alone holds hears the
// generated music on hold (the queues' source) instead of silence.
type onHold struct {
	c     *call
	relay *media.Relay
	music map[*leg]*holdMusic // the party hearing it -> its music
}

func (c *call) newOnHold(relay *media.Relay) *onHold {
	h := &onHold{c: c, relay: relay, music: map[*leg]*holdMusic{}}
	h.update()
	return h
}

// update follows the legs' current hold flags; only the bridging
// goroutine calls it.
func (h *onHold) update() {
	a, b := h.c.a, h.c.b
	ah, bh := a.holding.Load(), b.holding.Load()
	h.relay.SetPaused(ah || bh)
	want := map[*leg]bool{}
	if ah && !bh {
		want[b] = true
	}
	if bh && !ah {
		want[a] = true
	}
	for l, m := range h.music {
		if !want[l] {
			m.stop()
			delete(h.music, l)
		}
	}
	for l := range want {
		if h.music[l] == nil {
			h.music[l] = h.c.e.startMusic(l, pbx.QueueEntry{}, nil)
		}
	}
}

// stop ends any music; the relay is stopped by its owner.
func (h *onHold) stop() {
	for l, m := range h.music {
		m.stop()
		delete(h.music, l)
	}
}
