package sipengine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/demobot"
	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestHeadersAndOneWayAudio (issue 10 item 9): our 200 OK carries Allow
// and Supported; our INVITE's Via names the transport upper case; a call
// where one side never sent RTP has no MOS (0) rather than a perfect one.
func TestHeadersAndOneWayAudio(t *testing.T) {
	r := newRig(t, 5*time.Second)
	f := r.phones(t, 100*time.Millisecond, "101")
	p := newTestPhone(t, r, "100", "udp") // sends no RTP at all
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	pc, err := p.dial(ctx, "101")
	if err != nil {
		t.Fatal(err)
	}
	ok := pc.cli.InviteResponse
	if h := ok.GetHeader("Allow"); h == nil || !strings.Contains(h.Value(), "REFER") || !strings.Contains(h.Value(), "BYE") {
		t.Fatalf("200 OK Allow: %v", h)
	}
	if ok.GetHeader("Supported") == nil {
		t.Fatal("200 OK has no Supported header")
	}
	r.waitEvent(t, pbx.EvCallAnswered)
	time.Sleep(400 * time.Millisecond)
	if err := p.hangup(pc); err != nil {
		t.Fatal(err)
	}
	c := r.waitEnded(t)
	if c.RTPPacketsAB != 0 || c.RTPPacketsBA == 0 {
		t.Fatalf("expected one-way audio: %+v", c)
	}
	if c.MOS != 0 {
		t.Fatalf("MOS %.2f for a call with one silent direction, want 0 (none)", c.MOS)
	}

	go f.Call(ctx, "101", "100", 500*time.Millisecond)
	select {
	case <-p.inbound:
	case <-ctx.Done():
		t.Fatal("no call to the phone")
	}
	p.mu.Lock()
	inv := p.invites[len(p.invites)-1]
	p.mu.Unlock()
	if via := inv.Via(); via == nil || via.Transport != "UDP" || !strings.Contains(inv.String(), "SIP/2.0/UDP ") {
		t.Fatalf("INVITE Via: %v", inv.Via())
	}
	if h := inv.GetHeader("Allow"); h == nil || !strings.Contains(h.Value(), "REFER") {
		t.Fatalf("INVITE Allow: %v", h)
	}
	r.waitEnded(t)
}

// TestFailedCarrierCallHasDstIP: a carrier call that fails (busy) still
// says in dst_ip where it was sent (issue 10 item 9).
func TestFailedCarrierCallHasDstIP(t *testing.T) {
	ports, _ := media.NewPortAllocator(lo, 37000, 37998, 0)
	carrier, err := demobot.NewPSTN(demobot.PSTNConfig{ListenIP: lo, Ports: ports, AnswerDelay: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := carrier.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { carrier.Close() })
	r := newRigWith(t, 5*time.Second, pbx.Options{}, nil, func(c *Config) {
		c.Tenants[0].Trunks = []Trunk{{Name: "carrier", Address: carrier.Addr().String(), Transport: "udp", Prefix: "0"}}
	})
	f := r.phones(t, 100*time.Millisecond, "100")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := f.Call(ctx, "100", "0900486", time.Second)
	if err != nil || res.Status != 486 {
		t.Fatalf("%+v %v", res, err)
	}
	c := r.waitEnded(t)
	if c.Disposition != pbx.DispBusy || c.DstIP != "127.0.0.1" {
		t.Fatalf("cdr %+v", c)
	}
}
