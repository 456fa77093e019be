package sipengine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// reinvite sends a re-INVITE offering dir on the phone's dialog, ACKs the
// answer and returns the answer's direction.
func (p *testPhone) reinvite(ctx context.Context, pc *phoneCall, dir string) string {
	p.t.Helper()
	req := sip.NewRequest(sip.INVITE, pc.cli.InviteResponse.Contact().Address)
	req.SetBody(p.sdp(pc.rtp, dir))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res, err := pc.cli.Do(ctx, req)
	if err != nil || res.StatusCode != 200 {
		p.t.Fatalf("re-INVITE %s: %v %v", dir, res, err)
	}
	ack := sip.NewRequest(sip.ACK, pc.cli.InviteResponse.Contact().Address)
	ack.AppendHeader(sip.HeaderClone(res.CSeq()))
	ack.CSeq().MethodName = sip.ACK
	if err := pc.cli.WriteRequest(ack); err != nil {
		p.t.Fatalf("ACK of re-INVITE: %v", err)
	}
	d, err := media.ParseSDP(res.Body())
	if err != nil {
		p.t.Fatalf("re-INVITE answer: %v\n%s", err, res.Body())
	}
	return d.Direction
}

// waitChanState waits for a channel.state event of exten reaching state.
func (r *rig) waitChanState(t *testing.T, exten string, state pbx.ChannelState) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-r.sub.C():
			if e.Event.Type == pbx.EvChannelState && e.Event.Channel.Exten == exten && e.Event.Channel.State == state {
				return
			}
		case <-deadline:
			t.Fatalf("no channel.state %s for %s", state, exten)
		}
	}
}

// TestHoldAnswersRecvonlyAndPlaysMusic: a phone holds a bridged call with
// a=sendonly. switchboard answers recvonly (RFC 3264), stops sending it
// the other party's audio, plays music on hold to that party, and shows
// the channel on hold; inactive, recvonly and resuming with sendrecv are
// answered inactive, sendonly and sendrecv (issue 10 item 4).
func TestHoldAnswersRecvonlyAndPlaysMusic(t *testing.T) {
	r := newRig(t, 5*time.Second)
	f := r.phones(t, 100*time.Millisecond, "101")
	var mu sync.Mutex
	var heard []int16
	f.OnHear(func(bot string, pcm []int16) {
		mu.Lock()
		heard = append(heard, pcm...)
		mu.Unlock()
	})
	p := newTestPhone(t, r, "100", "udp")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pc, err := p.dial(ctx, "101")
	if err != nil {
		t.Fatal(err)
	}
	r.waitEvent(t, pbx.EvCallAnswered)
	time.Sleep(300 * time.Millisecond)
	received := func() uint64 { return pc.rtp.Stats().PacketsRecv }
	if received() == 0 {
		t.Fatal("no audio before hold")
	}

	if got := p.reinvite(ctx, pc, "sendonly"); got != "recvonly" {
		t.Fatalf("hold (sendonly) answered %s, want recvonly", got)
	}
	r.waitChanState(t, "100", pbx.ChanHold)
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	heard = nil
	mu.Unlock()
	before := received()
	time.Sleep(800 * time.Millisecond)
	if n := received() - before; n > 2 {
		t.Fatalf("the holding phone still received %d packets", n)
	}
	mu.Lock()
	music := append([]int16(nil), heard...)
	mu.Unlock()
	if len(music) < 160*25 {
		t.Fatalf("the held party heard %d samples, want music on hold", len(music))
	}
	notes := []float64{261.63, 329.63, 392, 440, 1000}
	if f := media.DominantFrequency(music, 8000, notes); f == 440 || f == 1000 {
		t.Fatalf("the held party heard %v Hz, not the music", f)
	}

	for offer, want := range map[string]string{"inactive": "inactive", "recvonly": "sendonly"} {
		if got := p.reinvite(ctx, pc, offer); got != want {
			t.Fatalf("%s answered %s, want %s", offer, got, want)
		}
	}
	if got := p.reinvite(ctx, pc, "sendrecv"); got != "sendrecv" {
		t.Fatalf("resume answered %s", got)
	}
	r.waitChanState(t, "100", pbx.ChanUp)
	before = received()
	time.Sleep(400 * time.Millisecond)
	if n := received() - before; n < 10 {
		t.Fatalf("after resume the phone received only %d packets", n)
	}
	if err := p.hangup(pc); err != nil {
		t.Fatal(err)
	}
	if c := r.waitEnded(t); c.Disposition != pbx.DispAnswered || c.HangupBy != "caller" {
		t.Fatalf("cdr %+v", c)
	}
}
