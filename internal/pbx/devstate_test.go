package pbx

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// scanDeviceState is the definition the counted state must agree with: a
// scan of the extension's live channels.
func scanDeviceState(e *extState) DeviceState {
	var k [numChanKinds]int
	for _, ch := range e.channels {
		k[kindOf(ch.State, ch.Dir)]++
	}
	return deviceState(&extState{kinds: k, reg: e.reg})
}

// TestDeviceStateCountsAgreeWithChannels drives random calls, state
// changes, holds and hangups through the core and checks after every step
// that each extension's counted device state is what a scan of its
// channels says.
func TestDeviceStateCountsAgreeWithChannels(t *testing.T) {
	c, _ := newTestCore(t, &memCDRs{})
	c.SetRegistration("a", "1001", &Registration{Contact: "sip:1001@127.0.0.1:5070"})
	rng := rand.New(rand.NewPCG(1, 2))
	type leg struct {
		ch   *Channel
		call string
	}
	var legs []leg
	exts := []string{"1001", "1002"}
	states := []ChannelState{ChanRinging, ChanUp, ChanHold, ChanUp}
	check := func(step int) {
		t.Helper()
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, n := range exts {
			e := c.tenants["a"].exts[n]
			if got, want := deviceState(e), scanDeviceState(e); got != want || e.state != want {
				t.Fatalf("step %d: ext %s counted %v, stored %v, scan %v (kinds %v)", step, n, got, e.state, want, e.kinds)
			}
			for k, v := range e.kinds {
				if v < 0 {
					t.Fatalf("step %d: ext %s kind %d count %d", step, n, k, v)
				}
			}
		}
	}
	for step := range 2000 {
		switch op := rng.IntN(10); {
		case op < 2 || len(legs) == 0:
			from := exts[rng.IntN(2)]
			ch, call, err := c.NewCall("a", from, "x", false, ChannelSpec{Peer: from, Exten: from, Dir: Inbound})
			if err != nil {
				t.Fatal(err)
			}
			legs = append(legs, leg{ch, call.ID})
		case op < 4:
			l := legs[rng.IntN(len(legs))]
			to := exts[rng.IntN(2)]
			ch, err := c.AddChannel("a", l.call, ChannelSpec{Peer: to, Exten: to, Dir: Outbound})
			if err == nil {
				legs = append(legs, leg{ch, l.call})
			}
		case op < 8:
			c.SetChannelState(legs[rng.IntN(len(legs))].ch, states[rng.IntN(len(states))])
		case op < 9:
			i := rng.IntN(len(legs))
			c.HangupChannel(legs[i].ch, "16")
			c.SetChannelState(legs[i].ch, ChanUp) // late news of a hung-up channel changes nothing
			legs = append(legs[:i], legs[i+1:]...)
		default:
			l := legs[rng.IntN(len(legs))]
			if _, err := c.EndCall(context.Background(), "a", l.call, EndAnswer, Quality{}); err != nil {
				t.Fatal(err)
			}
			kept := legs[:0]
			for _, x := range legs {
				if x.call != l.call {
					kept = append(kept, x)
				}
			}
			legs = kept
		}
		check(step)
	}
}

// TestAppendQualityPointMergesWhenFull: a series never grows past
// MaxQualityPoints; a full one is merged in pairs (packets and losses
// summed, the worse jitter and MOS kept) and keeps every packet counted.
func TestAppendQualityPointMergesWhenFull(t *testing.T) {
	var s []QualityPoint
	base := time.Unix(1e9, 0)
	for i := range 3 * MaxQualityPoints {
		s = AppendQualityPoint(s, QualityPoint{At: base.Add(time.Duration(i) * 5 * time.Second), Packets: 250, Lost: int64(i % 2),
			JitterMs: float64(i % 7), MOS: 4.4 - float64(i%3)/10})
		if len(s) > MaxQualityPoints {
			t.Fatalf("after %d points the series holds %d", i+1, len(s))
		}
	}
	var packets, lost int64
	for i, p := range s {
		packets += p.Packets
		lost += p.Lost
		if i > 0 && !p.At.After(s[i-1].At) {
			t.Fatalf("point %d at %v not after %v", i, p.At, s[i-1].At)
		}
	}
	if packets != 250*3*MaxQualityPoints || lost != 3*MaxQualityPoints/2 {
		t.Fatalf("merged series counts %d packets, %d lost; want every one", packets, lost)
	}
	if last := s[len(s)-1]; !last.At.Equal(base.Add(time.Duration(3*MaxQualityPoints-1) * 5 * time.Second)) {
		t.Fatalf("last point at %v", last.At)
	}
}
