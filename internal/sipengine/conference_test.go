package sipengine

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/demobot"
	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

func power(pcm []int16, f float64) float64 { return media.TonePower(pcm, 8000, f) }

func withRoom(name, number string) (func(*pbx.TenantEntry), func(*Config)) {
	return func(te *pbx.TenantEntry) {
			te.Conferences = append(te.Conferences, pbx.ConferenceEntry{Name: name, Number: number})
		}, func(c *Config) {
			c.Tenants[0].Conferences = append(c.Tenants[0].Conferences, Conference{Name: name, Number: number})
		}
}

// TestConferenceOfThree: two phones are called into a room by the API, a
// third dials in; the dialler hears both others mixed and not itself, and
// join/leave events name each member.
func TestConferenceOfThree(t *testing.T) {
	dirOpt, engOpt := withRoom("Rada", "8000")
	r := newRigWith(t, 5*time.Second, pbx.Options{}, dirOpt, engOpt)
	caller := r.phonesTone(t, 100*time.Millisecond, 440, "100")
	r.phonesTone(t, 100*time.Millisecond, 1000, "101")
	r.phonesTone(t, 100*time.Millisecond, 1700, "102")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	calls, err := r.core.ConferenceInvite(ctx, "t", "Rada", []string{"101", "102"}, false)
	if err != nil || len(calls) != 2 {
		t.Fatalf("invite: %v %d", err, len(calls))
	}
	for range 2 {
		ev := r.waitEvent(t, pbx.EvConfJoin)
		if ev.Conference.Name != "Rada" || ev.Channel == nil {
			t.Fatalf("join %+v", ev)
		}
	}
	res, err := caller.CallWith(ctx, "100", "8000", 2*time.Second, demobot.CallOptions{KeepAudio: true})
	if err != nil || !res.Answered || len(res.Audio) < 8000 {
		t.Fatalf("dial-in: %+v %v", res.Status, err)
	}
	seg := res.Audio[len(res.Audio)-8000:]
	own, p1000, p1700 := power(seg, 440), power(seg, 1000), power(seg, 1700)
	if p1000 < 100*own || p1700 < 100*own {
		t.Fatalf("dial-in hears 1000 Hz %g, 1700 Hz %g, its own 440 Hz %g", p1000, p1700, own)
	}
	for { // the engine reports the leave once the BYE is through
		ev := r.waitEvent(t, pbx.EvConfLeave)
		if ev.Channel.Exten == "100" {
			break
		}
	}
	confs, _ := r.core.Conferences("t")
	if len(confs) != 1 || len(confs[0].Members) != 2 {
		t.Fatalf("after the dial-in left: %+v", confs)
	}
	var cdr pbx.CDR
	for cdr.Src != "100" {
		cdr = r.waitEnded(t)
	}
	if cdr.Dst != "8000" || cdr.LastApp != "ConfBridge" || cdr.Disposition != pbx.DispAnswered {
		t.Fatalf("dial-in cdr %+v", cdr)
	}
	// Kicking a member is hanging up its channel.
	if err := r.core.Hangup(ctx, "t", calls[0].ID); err != nil {
		t.Fatal(err)
	}
	for {
		ev := r.waitEvent(t, pbx.EvConfLeave)
		if ev.Channel.UniqueID == calls[0].Channels[0].UniqueID {
			break
		}
	}
	if _, err := r.core.ConferenceInvite(ctx, "t", "Nope", []string{"101"}, false); !errors.Is(err, pbx.ErrNotFound) {
		t.Fatalf("unknown room: %v", err)
	}
	if _, err := r.core.ConferenceInvite(ctx, "t", "Rada", []string{"../x"}, false); !errors.Is(err, pbx.ErrInvalidArgument) {
		t.Fatalf("bad number: %v", err)
	}
}

// TestCreateConferenceBreaksCalls: call_create_conf with break ends the
// stations' running call and puts them in a new room that disappears
// after the last member.
func TestCreateConferenceBreaksCalls(t *testing.T) {
	r := newRig(t, 5*time.Second)
	f := r.phones(t, 100*time.Millisecond, "100", "101", "102")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go f.Call(ctx, "100", "101", 20*time.Second)
	r.waitEvent(t, pbx.EvCallAnswered)
	conf, calls, err := r.core.CreateConference(ctx, "t", []string{"101", "102"}, true)
	if err != nil || len(calls) != 2 || !conf.Dynamic {
		t.Fatalf("create: %v %+v", err, conf)
	}
	broken := r.waitEnded(t)
	if broken.Src != "100" || broken.Dst != "101" {
		t.Fatalf("first ended call %+v, want the broken 100->101", broken)
	}
	joined := map[string]bool{}
	for len(joined) < 2 {
		ev := r.waitEvent(t, pbx.EvConfJoin)
		if ev.Conference.Name != conf.Name {
			t.Fatalf("joined %s, want %s", ev.Conference.Name, conf.Name)
		}
		joined[ev.Channel.Exten] = true
	}
	for _, c := range calls {
		if err := r.core.Hangup(ctx, "t", c.ID); err != nil {
			t.Fatal(err)
		}
	}
	r.waitEnded(t)
	r.waitEnded(t)
	if confs, _ := r.core.Conferences("t"); len(confs) != 0 {
		t.Fatalf("dynamic room outlived its members: %+v", confs)
	}
}

// TestMonitorHearsBothParties: a listener called by Monitor hears the
// 1000 Hz caller and the 440 Hz callee; the spy call ends with the call.
func TestMonitorHearsBothParties(t *testing.T) {
	r := newRig(t, 5*time.Second)
	a := r.phonesTone(t, 100*time.Millisecond, 1000, "100")
	r.phonesTone(t, 100*time.Millisecond, 440, "101")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	callerHeard := make(chan demobot.CallResult, 1)
	go func() {
		res, _ := a.CallWith(ctx, "100", "101", 3*time.Second, demobot.CallOptions{KeepAudio: true})
		callerHeard <- res
	}()
	ans := r.waitEvent(t, pbx.EvCallAnswered)
	spyFarm := r.phonesTone(t, 50*time.Millisecond, 1700, "102")
	var mu sync.Mutex
	var heard []int16
	spyFarm.OnHear(func(_ string, pcm []int16) {
		mu.Lock()
		heard = append(heard, pcm...)
		mu.Unlock()
	})
	spy, err := r.core.Monitor(ctx, "t", ans.Call.Channels[0].UniqueID, "102")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.core.Monitor(ctx, "t", "nope", "102"); !errors.Is(err, pbx.ErrNotFound) {
		t.Fatalf("monitor unknown: %v", err)
	}
	var spyCDR pbx.CDR
	for spyCDR.UniqueID != spy.ID {
		spyCDR = r.waitEnded(t)
	}
	if spyCDR.LastApp != "ChanSpy" || spyCDR.Disposition != pbx.DispAnswered || spyCDR.HangupBy != "system" {
		t.Fatalf("spy cdr %+v", spyCDR)
	}
	res := <-callerHeard
	if tail := res.Audio[len(res.Audio)-8000:]; power(tail, 1700) > power(tail, 440)/100 {
		t.Fatal("the monitored caller hears the listener")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(heard) < 8000 {
		t.Fatalf("listener heard %d samples", len(heard))
	}
	seg := heard[len(heard)-6000:]
	if p440, p1000, own := power(seg, 440), power(seg, 1000), power(seg, 1700); p440 < 100*own || p1000 < 100*own {
		t.Fatalf("listener hears 440 Hz %g, 1000 Hz %g, its own 1700 Hz %g", p440, p1000, own)
	}
}
