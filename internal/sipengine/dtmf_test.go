package sipengine

import (
	"context"
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/demobot"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

func TestParseInfoDigit(t *testing.T) {
	cases := []struct {
		ct, body string
		want     rune
		ok       bool
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', true},
		{"application/dtmf-relay", "Signal= #\r\n", '#', true},
		{"application/dtmf-relay", "Signal=11\r\n", '#', true},
		{"application/dtmf-relay", "signal=a", 'A', true},
		{"application/dtmf", "7", '7', true},
		{"application/dtmf-relay", "Duration=160", 0, false},
		{"application/dtmf-relay", "Signal=X", 0, false},
		{"text/plain", "Signal=1", 0, false},
	}
	for _, tc := range cases {
		got, ok := parseInfoDigit(tc.ct, []byte(tc.body))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s %q -> %q %v", tc.ct, tc.body, got, ok)
		}
	}
}

func FuzzParseInfoDigit(f *testing.F) {
	f.Add("application/dtmf-relay", []byte("Signal=5\r\nDuration=160"))
	f.Add("application/dtmf", []byte("#"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		if d, ok := parseInfoDigit(ct, body); ok && !containsRune("0123456789*#ABCD", d) {
			t.Fatalf("accepted digit %q", d)
		}
	})
}

func containsRune(s string, r rune) bool {
	for _, c := range s {
		if c == r {
			return true
		}
	}
	return false
}

func TestDTMFEventsAndPlayback(t *testing.T) {
	r := newRig(t, 5*time.Second)
	f := r.phones(t, 100*time.Millisecond, "100", "101")
	var mu sync.Mutex
	var heard []rune
	f.OnDTMF(func(bot string, d rune) {
		if bot == "101" {
			mu.Lock()
			heard = append(heard, d)
			mu.Unlock()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = f.CallWith(ctx, "100", "101", 3*time.Second, demobot.CallOptions{SendDigits: "42#"})
	}()
	var digits []string
	var caller, callee string
	deadline := time.After(10 * time.Second)
	for len(digits) < 3 {
		select {
		case e := <-r.sub.C():
			switch e.Event.Type {
			case pbx.EvChannelNew:
				if e.Event.Channel.Exten == "101" {
					callee = e.Event.Channel.UniqueID
				}
			case pbx.EvDTMF:
				if e.Event.Via != "rfc4733" {
					t.Fatalf("via %q", e.Event.Via)
				}
				caller = e.Event.Channel.Exten
				digits = append(digits, e.Event.Digit)
			}
		case <-deadline:
			t.Fatalf("digits so far %v", digits)
		}
	}
	if caller != "100" || digits[0] != "4" || digits[1] != "2" || digits[2] != "#" {
		t.Fatalf("dtmf events %v from %s", digits, caller)
	}
	// Digits played by the API reach the callee's phone (the relay also
	// forwarded the caller's, so 101 has heard 42# already).
	if err := r.core.PlayDTMF(ctx, "t", callee, "9*"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	got := string(heard)
	mu.Unlock()
	if got != "42#9*" {
		t.Fatalf("callee heard %q, want 42#9*", got)
	}
	for _, bad := range []string{"", "12x", "1;2"} {
		if err := r.core.PlayDTMF(ctx, "t", callee, bad); err == nil {
			t.Fatalf("digits %q accepted", bad)
		}
	}
	if err := r.core.PlayDTMF(ctx, "t", "no-such-channel", "1"); err == nil {
		t.Fatal("unknown channel accepted")
	}
	<-done
}

// TestInjectedDTMFContinuesTheRelayedStream: in a bridged call, digits the
// API sends to a phone arrive in the same RTP stream as the other party's
// relayed audio (one SSRC), so phones that drop a second stream (baresip)
// get them (issue 10 item 3).
func TestInjectedDTMFContinuesTheRelayedStream(t *testing.T) {
	r := newRig(t, 5*time.Second)
	r.phones(t, 100*time.Millisecond, "101")
	p := newTestPhone(t, r, "100", "udp")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pc, err := p.dial(ctx, "101")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ssrcs := map[uint32]int{}
	var digits []rune
	pc.rtp.SetPacketTap(func(src, dst netip.AddrPort, pkt []byte) {
		if dst == pc.rtp.LocalAddr() && len(pkt) >= 12 {
			mu.Lock()
			ssrcs[binary.BigEndian.Uint32(pkt[8:12])]++
			mu.Unlock()
		}
	})
	pc.rtp.OnDTMF(func(d rune, _ time.Duration) {
		mu.Lock()
		digits = append(digits, d)
		mu.Unlock()
	})
	ev := r.waitEvent(t, pbx.EvCallAnswered)
	var mine string
	for _, ch := range ev.Call.Channels {
		if ch.Exten == "100" {
			mine = ch.UniqueID
		}
	}
	time.Sleep(200 * time.Millisecond) // relayed audio is flowing
	if err := r.core.PlayDTMF(ctx, "t", mine, "5#"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	_ = p.hangup(pc)
	r.waitEnded(t)
	mu.Lock()
	defer mu.Unlock()
	if string(digits) != "5#" {
		t.Fatalf("phone got digits %q", string(digits))
	}
	if len(ssrcs) != 1 {
		t.Fatalf("phone saw %d RTP streams %v: injected digits are a second stream", len(ssrcs), ssrcs)
	}
}
