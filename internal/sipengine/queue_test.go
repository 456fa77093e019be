package sipengine

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/demobot"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

func withQueue(q pbx.QueueEntry) func(*pbx.TenantEntry) {
	return func(te *pbx.TenantEntry) { te.Queues = append(te.Queues, q) }
}

// served collects queue.caller.leave events until n callers have left,
// returning "callerid:reason" in order.
func (r *rig) queueLeaves(t *testing.T, n int, within time.Duration) []string {
	t.Helper()
	var out []string
	deadline := time.After(within)
	for len(out) < n {
		select {
		case e := <-r.sub.C():
			if e.Event.Type == pbx.EvQueueLeave {
				out = append(out, e.Event.Caller.CallerIDNum+":"+e.Event.Cause)
			}
		case <-deadline:
			t.Fatalf("only %d queue leaves: %v", len(out), out)
		}
	}
	return out
}

// TestQueueServesCallersInOrder: the only agent is busy when three
// callers arrive; as it frees up they are served first come, first
// served, and each hears music, then the agent.
func TestQueueServesCallersInOrder(t *testing.T) {
	r := newRigWith(t, 5*time.Second, pbx.Options{}, withQueue(pbx.QueueEntry{Name: "VMX", Number: "7777", Strategy: pbx.StrategyLinear,
		Members: []pbx.QueueMemberEntry{{Number: "101"}}, JoinEmpty: true}))
	r.phonesTone(t, 100*time.Millisecond, 440, "101")
	callers := r.phonesTone(t, 100*time.Millisecond, 1000, "100", "102", "103", "104")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	go callers.Call(ctx, "102", "101", 1500*time.Millisecond) // the agent is busy first
	r.waitEvent(t, pbx.EvCallAnswered)
	type res struct {
		from string
		freq float64
	}
	results := make(chan res, 3)
	for i, from := range []string{"100", "103", "104"} {
		go func() {
			rr, _ := callers.Call(ctx, from, "7777", time.Duration(2+2*i)*time.Second+500*time.Millisecond)
			results <- res{from, rr.Frequency}
		}()
		time.Sleep(150 * time.Millisecond)
	}
	got := r.queueLeaves(t, 3, 30*time.Second)
	if want := []string{"100:answered", "103:answered", "104:answered"}; !slices.Equal(got, want) {
		t.Fatalf("served %v, want %v", got, want)
	}
	for range 3 {
		if x := <-results; x.freq != 440 {
			t.Fatalf("caller %s heard %v Hz, want the agent's 440", x.from, x.freq)
		}
	}
}

// TestQueueShiftAndFeatureCodes: a shifted caller is served first; an
// extension logs in with *45<queue> and is offered the next caller; *46
// pauses it so the next caller waits.
func TestQueueShiftAndFeatureCodes(t *testing.T) {
	r := newRigWith(t, 5*time.Second, pbx.Options{}, withQueue(pbx.QueueEntry{Name: "Q", Number: "7000", Strategy: pbx.StrategyRingAll,
		JoinEmpty: true, RingTimeout: 3 * time.Second}))
	agent := r.phonesTone(t, 100*time.Millisecond, 440, "101")
	callers := r.phonesTone(t, 100*time.Millisecond, 1000, "100", "103", "104")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	// Nobody is logged in: callers wait in order 100, 103, 104.
	for _, from := range []string{"100", "103", "104"} {
		go callers.Call(ctx, from, "7000", 6*time.Second)
		for {
			e := r.waitEvent(t, pbx.EvQueueJoin)
			if e.Caller.CallerIDNum == from {
				break
			}
		}
	}
	calls, _ := r.core.QueueCalls("t", "Q")
	if len(calls) != 3 || calls[2].CallerIDNum != "104" || calls[2].Position != 3 {
		t.Fatalf("waiting %+v", calls)
	}
	if _, err := r.core.QueueShift("t", "Q", calls[2].CallID, 1); err != nil {
		t.Fatal(err)
	}
	// 101 logs in from its phone with *45 and the queue number.
	res, err := agent.Call(ctx, "101", "*457000", 3*time.Second)
	if err != nil || !res.Answered || res.Frequency != 1000 && res.Frequency != 440 {
		t.Logf("feature call %+v %v", res, err)
	}
	if !res.Answered {
		t.Fatalf("feature code not answered: %+v %v", res, err)
	}
	got := r.queueLeaves(t, 1, 15*time.Second)
	if got[0] != "104:answered" {
		t.Fatalf("first served %v, want the shifted 104", got)
	}
	qs, _ := r.core.Queues("t")
	if len(qs[0].Members) != 1 || qs[0].Members[0].Number != "101" || !qs[0].Members[0].Dynamic {
		t.Fatalf("members after *45: %+v", qs[0].Members)
	}
	if _, err := r.core.QueuePause("t", "", "101", true, "break"); err != nil {
		t.Fatal(err)
	}
	// Paused: the other two callers give up unserved.
	got = r.queueLeaves(t, 2, 15*time.Second)
	for _, g := range got {
		if g != "100:abandoned" && g != "103:abandoned" {
			t.Fatalf("while the only agent was paused: %v", got)
		}
	}
}

// writeToneWAV writes an 8 kHz 16-bit mono WAV of a tone.
func writeToneWAV(t *testing.T, path string, freq float64, d time.Duration) {
	t.Helper()
	n := int(d.Seconds() * 8000)
	b := make([]byte, 44+2*n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], 8000)
	binary.LittleEndian.PutUint32(b[28:], 16000)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*n))
	for i := range n {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(int16(6000*math.Sin(2*math.Pi*freq*float64(i)/8000))))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestQueueMusicAndPositionAnnouncement: a lone waiting caller hears the
// configured music and, every 700 ms, the recorded "you are first".
func TestQueueMusicAndPositionAnnouncement(t *testing.T) {
	dir := t.TempDir()
	writeToneWAV(t, filepath.Join(dir, "music.wav"), 600, 2*time.Second)
	writeToneWAV(t, filepath.Join(dir, "position-1.wav"), 1700, 300*time.Millisecond)
	r := newRigWith(t, 5*time.Second, pbx.Options{}, withQueue(pbx.QueueEntry{Name: "Q", Number: "7000", JoinEmpty: true,
		MusicOnHold: filepath.Join(dir, "music.wav"), AnnounceEvery: 700 * time.Millisecond, AnnounceDir: dir}))
	callers := r.phonesTone(t, 100*time.Millisecond, 1000, "100")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := callers.CallWith(ctx, "100", "7000", 2*time.Second, demobot.CallOptions{KeepAudio: true})
	if err != nil || !res.Answered || len(res.Audio) < 8000 {
		t.Fatalf("%+v %v", res.Status, err)
	}
	music, announce, other := power(res.Audio, 600), power(res.Audio, 1700), power(res.Audio, 1000)
	if music < 100*other || announce < 100*other {
		t.Fatalf("caller heard music %g, announcement %g, nothing else %g", music, announce, other)
	}
	if got := r.queueLeaves(t, 1, 5*time.Second); got[0] != "100:abandoned" {
		t.Fatalf("left %v", got)
	}
}
