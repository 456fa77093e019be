package media

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

var lo = netip.MustParseAddr("127.0.0.1")

func newAlloc(t *testing.T) *PortAllocator {
	t.Helper()
	// A range per test process is not coordinated across packages, so the
	// allocator skipping ports held by others is part of what is exercised.
	a, err := NewPortAllocator(lo, 30000, 30998, 0)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type capture struct {
	mu     sync.Mutex
	pcm    []int16
	digits []rune
}

func (c *capture) audio(p []int16) {
	c.mu.Lock()
	c.pcm = append(c.pcm, p...)
	c.mu.Unlock()
}

func (c *capture) dtmf(r rune, _ time.Duration) {
	c.mu.Lock()
	c.digits = append(c.digits, r)
	c.mu.Unlock()
}

func (c *capture) snapshot() ([]int16, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int16(nil), c.pcm...), string(c.digits)
}

// Two endpoint legs ("phones") talk through a relay made of two more legs:
// phoneA <-> relayA ==relay== relayB <-> phoneB.
func TestRelayToneDTMFAndTranscoding(t *testing.T) {
	cases := []struct {
		name         string
		codecA       Codec
		codecB       Codec
		dtmfA, dtmfB uint8
	}{
		{"pcmu both", PCMU, PCMU, 101, 101},
		{"pcmu to pcma with dtmf pt mapping", PCMU, PCMA, 101, 96},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			al := newAlloc(t)
			phoneA, _ := al.NewLeg()
			phoneB, _ := al.NewLeg()
			ra, _ := al.NewLeg()
			rb, _ := al.NewLeg()
			for _, l := range []*Leg{phoneA, phoneB, ra, rb} {
				defer l.Close()
			}
			phoneA.SetRemote(ra.LocalAddr(), tc.codecA, tc.dtmfA)
			ra.SetRemote(phoneA.LocalAddr(), tc.codecA, tc.dtmfA)
			phoneB.SetRemote(rb.LocalAddr(), tc.codecB, tc.dtmfB)
			rb.SetRemote(phoneB.LocalAddr(), tc.codecB, tc.dtmfB)

			var atB, atA capture
			phoneB.OnAudio(atB.audio)
			phoneB.OnDTMF(atB.dtmf)
			phoneA.OnAudio(atA.audio)
			phoneA.StartReceiving()
			phoneB.StartReceiving()
			relay := NewRelay(ra, rb)
			relay.Start()
			defer relay.Stop()

			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); _ = phoneA.PlayTone(ctx, 440) }()
			go func() { defer wg.Done(); _ = phoneB.PlayTone(ctx, 1000) }()
			time.Sleep(300 * time.Millisecond)
			if err := phoneA.SendDTMF(context.Background(), "12#", 60*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			cancel()
			wg.Wait()

			cands := []float64{350, 440, 1000, 1400}
			pcmB, digits := atB.snapshot()
			if len(pcmB) < 160*10 {
				t.Fatalf("phone B heard %d samples", len(pcmB))
			}
			if f := DominantFrequency(pcmB, 8000, cands); f != 440 {
				t.Fatalf("phone B heard %v Hz, want 440", f)
			}
			pcmA, _ := atA.snapshot()
			if f := DominantFrequency(pcmA, 8000, cands); f != 1000 {
				t.Fatalf("phone A heard %v Hz, want 1000", f)
			}
			if digits != "12#" {
				t.Fatalf("digits through relay = %q, want 12#", digits)
			}
			st := ra.Stats()
			if st.PacketsRecv < 10 || st.LossFraction != 0 || st.MOS < 4.3 {
				t.Fatalf("relay leg A stats: %+v", st)
			}
		})
	}
}

func rtpPacket(seq uint16, ts uint32, ssrc uint32) []byte {
	b := make([]byte, 12+160)
	b[0], b[1] = 0x80, 0
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	return b
}

func TestLossMOSAndLatching(t *testing.T) {
	al := newAlloc(t)
	l, err := al.NewLeg()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// The SDP names one port; packets really come from another (NAT).
	l.SetRemote(netip.MustParseAddrPort("127.0.0.1:9"), PCMU, 101)
	l.StartReceiving()
	src, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	stray, _ := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo, 0)))
	defer stray.Close()
	dst := net.UDPAddrFromAddrPort(l.LocalAddr())
	for i := 0; i < 200; i++ {
		if i%10 == 9 {
			continue // lose every 10th
		}
		src.WriteToUDP(rtpPacket(uint16(1000+i), uint32(i*160), 7), dst)
		if i == 50 {
			stray.WriteToUDP(rtpPacket(1, 1, 99), dst) // must not steal the stream
		}
		time.Sleep(time.Millisecond)
	}
	deadline := time.Now().Add(2 * time.Second)
	var st Stats
	for time.Now().Before(deadline) {
		if st = l.Stats(); st.PacketsRecv >= 180 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st.PacketsRecv != 180 {
		t.Fatalf("received %d, want 180 (stray packet counted or packets lost): %+v", st.PacketsRecv, st)
	}
	if st.RemoteAddr != src.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Fatalf("latched to %v, want %v", st.RemoteAddr, src.LocalAddr())
	}
	// 199 expected (the last sent is seq 1198; 1199 was dropped), 180 received.
	if st.PacketsLost != 19 || st.LossFraction < 0.09 || st.LossFraction > 0.1 {
		t.Fatalf("loss: %+v", st)
	}
	if clean := mos(0, 0); st.MOS >= clean || clean < 4.3 {
		t.Fatalf("MOS with 10%% loss %.2f, clean %.2f", st.MOS, clean)
	}

	// A reset (a transfer: the next CDR leg) counts only what follows,
	// without the loss before it.
	l.ResetReceiveStats()
	for i := 200; i < 250; i++ {
		src.WriteToUDP(rtpPacket(uint16(1000+i), uint32(i*160), 7), dst)
		time.Sleep(time.Millisecond)
	}
	deadline = time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if st = l.Stats(); st.PacketsRecv >= 50 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st.PacketsRecv != 50 || st.PacketsLost != 0 || st.LossFraction != 0 {
		t.Fatalf("after a reset: %+v, want 50 packets and no loss", st)
	}
}

func TestPortAllocatorEvenExhaustDrain(t *testing.T) {
	a, err := NewPortAllocator(lo, 31001, 31006, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	a.now = func() time.Time { return now }
	var legs []*Leg
	for {
		l, err := a.NewLeg()
		if err != nil {
			break
		}
		if l.LocalAddr().Port()%2 != 0 {
			t.Fatalf("odd port %d", l.LocalAddr().Port())
		}
		legs = append(legs, l)
	}
	if len(legs) == 0 || len(legs) > 3 {
		t.Fatalf("got %d legs from 3 even ports", len(legs))
	}
	if _, err := a.NewLeg(); err != ErrNoPorts {
		t.Fatalf("exhausted: %v", err)
	}
	legs[0].Close()
	if _, err := a.NewLeg(); err != ErrNoPorts {
		t.Fatalf("a draining port was reused: %v", err)
	}
	now = now.Add(2 * time.Hour)
	l, err := a.NewLeg()
	if err != nil {
		t.Fatalf("after drain: %v", err)
	}
	l.Close()
	for _, l := range legs[1:] {
		l.Close()
	}
	if _, err := NewPortAllocator(lo, 100, 50, 0); err == nil {
		t.Fatal("bad range accepted")
	}
}

func BenchmarkRelayPacket(b *testing.B) {
	a, _ := NewPortAllocator(lo, 32000, 32998, 0)
	ra, _ := a.NewLeg()
	rb, _ := a.NewLeg()
	sink, _ := a.NewLeg()
	defer ra.Close()
	defer rb.Close()
	defer sink.Close()
	src, _ := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo, 0)))
	defer src.Close()
	ra.SetRemote(src.LocalAddr().(*net.UDPAddr).AddrPort(), PCMU, 101)
	rb.SetRemote(sink.LocalAddr(), PCMU, 101)
	sink.StartReceiving()
	r := NewRelay(ra, rb)
	r.Start()
	defer r.Stop()
	dst := net.UDPAddrFromAddrPort(ra.LocalAddr())
	pkt := rtpPacket(0, 0, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		src.WriteToUDP(pkt, dst)
		if i%64 == 63 {
			for sink.Stats().PacketsRecv < uint64(i)-32 && rb.Stats().PacketsSent < uint64(i)-32 {
				time.Sleep(50 * time.Microsecond) // keep the socket buffers from overflowing
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(rb.Stats().PacketsSent)/float64(b.N), "relayed/sent")
}

// TestRelayRebridge moves one leg from one partner to another, as a
// transfer does: the leg's read loop keeps running and its packets go to
// the new partner only.
func TestRelayRebridge(t *testing.T) {
	al := newAlloc(t)
	legs := make([]*Leg, 6)
	for i := range legs {
		var err error
		if legs[i], err = al.NewLeg(); err != nil {
			t.Fatal(err)
		}
		defer legs[i].Close()
	}
	phoneA, ra, rb, phoneB, rc, phoneC := legs[0], legs[1], legs[2], legs[3], legs[4], legs[5]
	pair := func(phone, relay *Leg) {
		phone.SetRemote(relay.LocalAddr(), PCMU, 101)
		relay.SetRemote(phone.LocalAddr(), PCMU, 101)
	}
	pair(phoneA, ra)
	pair(phoneB, rb)
	pair(phoneC, rc)
	var atB, atC capture
	phoneB.OnAudio(atB.audio)
	phoneC.OnAudio(atC.audio)
	for _, p := range []*Leg{phoneA, phoneB, phoneC} {
		p.StartReceiving()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = phoneA.PlayTone(ctx, 440) }()

	first := NewRelay(ra, rb)
	first.Start()
	time.Sleep(200 * time.Millisecond)
	first.Stop()
	second := NewRelay(ra, rc)
	second.Start()
	defer second.Stop()
	time.Sleep(100 * time.Millisecond)
	pcmB1, _ := atB.snapshot()
	time.Sleep(200 * time.Millisecond)
	pcmB2, _ := atB.snapshot()
	pcmC, _ := atC.snapshot()
	if len(pcmB1) == 0 || len(pcmB2) != len(pcmB1) {
		t.Fatalf("old partner heard %d then %d samples: forwarding did not stop", len(pcmB1), len(pcmB2))
	}
	if len(pcmC) < 160*5 || DominantFrequency(pcmC, 8000, []float64{440, 1000}) != 440 {
		t.Fatalf("new partner heard %d samples", len(pcmC))
	}
}

// An SDP address we do not trust gets no RTP until the peer's own RTP
// arrives, and then RTP goes where it came from, never to the SDP's
// (third-party) socket.
func TestUnverifiedRemoteWaitsForLatch(t *testing.T) {
	a := newAlloc(t)
	l, err := a.NewLeg()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	victim, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer victim.Close()
	peer, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer peer.Close()
	l.SetRemoteUnverified(victim.LocalAddr().(*net.UDPAddr).AddrPort(), PCMU, 101)
	l.StartReceiving()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_ = l.SendDTMF(ctx, "1", 40*time.Millisecond)
	cancel()
	if s := l.Stats(); s.PacketsSent != 0 {
		t.Fatalf("sent %d packets to an unverified SDP address", s.PacketsSent)
	}
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1] = 0x80, 0
	if _, err := peer.WriteToUDPAddrPort(pkt, l.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for l.Stats().PacketsRecv == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	_ = l.SendDTMF(context.Background(), "2", 40*time.Millisecond)
	_ = peer.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 1500)
	if _, _, err := peer.ReadFromUDPAddrPort(buf); err != nil {
		t.Fatalf("the latched peer got nothing: %v", err)
	}
	_ = victim.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, _, err := victim.ReadFromUDPAddrPort(buf); err == nil {
		t.Fatal("RTP reached the SDP's third-party address")
	}
}
