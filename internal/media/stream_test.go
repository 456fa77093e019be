package media

import (
	"context"
	"encoding/binary"
	"net"
	"sort"
	"testing"
	"time"
)

type rtpSeen struct {
	pt   uint8
	seq  uint16
	ts   uint32
	ssrc uint32
}

// rawPhone is a phone's RTP socket that keeps every packet's header.
func rawPhone(t *testing.T) (*net.UDPConn, <-chan rtpSeen) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan rtpSeen, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			if n >= 12 {
				out <- rtpSeen{pt: buf[1] & 0x7f, seq: binary.BigEndian.Uint16(buf[2:4]), ts: binary.BigEndian.Uint32(buf[4:8]), ssrc: binary.BigEndian.Uint32(buf[8:12])}
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return conn, out
}

// TestRelayedAndInjectedPacketsAreOneStream: the phone behind leg rb
// receives relayed audio from A, then (after a re-bridge, as a transfer
// does) from C, while digits are injected into rb. It must see a single
// SSRC with sequence numbers without gaps or repeats, and audio
// timestamps that only grow (issue 10 item 3: the old relay kept the far
// end's SSRC, so the injected digits came from a second stream).
func TestRelayedAndInjectedPacketsAreOneStream(t *testing.T) {
	al := newAlloc(t)
	legs := make([]*Leg, 5)
	for i := range legs {
		var err error
		if legs[i], err = al.NewLeg(); err != nil {
			t.Fatal(err)
		}
		defer legs[i].Close()
	}
	phoneA, ra, rb, phoneC, rc := legs[0], legs[1], legs[2], legs[3], legs[4]
	conn, seen := rawPhone(t)
	phoneAddr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	phoneA.SetRemote(ra.LocalAddr(), PCMU, 101)
	ra.SetRemote(phoneA.LocalAddr(), PCMU, 101)
	phoneC.SetRemote(rc.LocalAddr(), PCMU, 101)
	rc.SetRemote(phoneC.LocalAddr(), PCMU, 101)
	rb.SetRemote(phoneAddr, PCMU, 101)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = phoneA.PlayTone(ctx, 440) }()
	go func() { _ = phoneC.PlayTone(ctx, 1000) }()

	first := NewRelay(ra, rb)
	first.Start()
	time.Sleep(150 * time.Millisecond)
	if err := rb.SendDTMF(ctx, "1", 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	first.Stop()
	second := NewRelay(rc, rb)
	second.Start()
	time.Sleep(100 * time.Millisecond)
	if err := rb.SendDTMF(ctx, "2", 60*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	second.Stop()
	time.Sleep(50 * time.Millisecond)

	var got []rtpSeen
	for len(seen) > 0 {
		got = append(got, <-seen)
	}
	if len(got) < 30 {
		t.Fatalf("only %d packets", len(got))
	}
	ssrcs := map[uint32]int{}
	events := 0
	for _, p := range got {
		ssrcs[p.ssrc]++
		if p.pt == 101 {
			events++
		}
	}
	if len(ssrcs) != 1 {
		t.Fatalf("the phone saw %d SSRCs %v: injected digits or the new party are a second stream", len(ssrcs), ssrcs)
	}
	if events < 8 {
		t.Fatalf("only %d telephone-event packets", events)
	}
	// Sequence numbers: contiguous and unique (loopback may reorder a few).
	base := got[0].seq
	rel := make([]int, len(got))
	for i, p := range got {
		rel[i] = int(int16(p.seq - base))
	}
	sorted := append([]int(nil), rel...)
	sort.Ints(sorted)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] != sorted[i-1]+1 {
			t.Fatalf("sequence numbers not contiguous: %d then %d", sorted[i-1], sorted[i])
		}
	}
	// Audio timestamps grow with the sequence number.
	bySeq := map[int]rtpSeen{}
	for i, p := range got {
		bySeq[rel[i]] = p
	}
	var lastTS uint32
	haveTS := false
	for _, s := range sorted {
		p := bySeq[s]
		if p.pt != 0 {
			// A digit starts at the audio clock's current time.
			if haveTS && (int32(p.ts-lastTS) > 1600 || int32(lastTS-p.ts) > 1600) {
				t.Fatalf("telephone-event timestamp %d far from the audio's %d", p.ts, lastTS)
			}
			continue
		}
		if haveTS && int32(p.ts-lastTS) <= 0 {
			t.Fatalf("audio timestamp went from %d to %d at seq %d", lastTS, p.ts, s)
		}
		lastTS, haveTS = p.ts, true
	}
}

// TestInjectedPacketKeepsRelayedEventTimestamp: a digit injected between
// the repeated end packets of a relayed digit must not shift the relayed
// event's timestamp, or the phone counts the relayed digit twice and
// swallows the injected one, whose event then has the same timestamp
// (seen as "42##*" instead of "42#9*").
func TestInjectedPacketKeepsRelayedEventTimestamp(t *testing.T) {
	al := newAlloc(t)
	rb, err := al.NewLeg()
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	conn, seen := rawPhone(t)
	rb.SetRemote(conn.LocalAddr().(*net.UDPAddr).AddrPort(), PCMU, 101)
	relayed := func(pt uint8, seq uint16, ts uint32, payload []byte) {
		pkt := make([]byte, 12+len(payload))
		pkt[0], pkt[1] = 0x80, pt
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], ts)
		binary.BigEndian.PutUint32(pkt[8:], 0xfeed)
		copy(pkt[12:], payload)
		rb.writeRelayed(pkt, pt == 101)
	}
	end := []byte{11, 0x80 | 10, 0x02, 0x80} // '#', end bit, duration 640
	relayed(0, 1, 1000, make([]byte, 160))
	relayed(101, 2, 1160, end)
	// One injected telephone-event packet, as SendDTMF writes it.
	inj := make([]byte, 16)
	rb.sendMu.Lock()
	rb.header(inj, 101, true)
	rb.sendMu.Unlock()
	inj[12] = 9
	rb.write(inj)
	relayed(101, 3, 1160, end) // the relayed digit's end, repeated
	relayed(0, 4, 1320, make([]byte, 160))

	var got []rtpSeen
	deadline := time.After(2 * time.Second)
	for len(got) < 5 {
		select {
		case p := <-seen:
			got = append(got, p)
		case <-deadline:
			t.Fatalf("got %d packets", len(got))
		}
	}
	sort.Slice(got, func(i, j int) bool { return int16(got[i].seq-got[j].seq) < 0 })
	relayedEnds := []uint32{got[1].ts, got[3].ts}
	if relayedEnds[0] != relayedEnds[1] {
		t.Fatalf("the relayed digit's end packets went out with timestamps %d and %d: one event became two", relayedEnds[0], relayedEnds[1])
	}
	if got[2].ts == got[1].ts {
		t.Fatal("the injected digit has the relayed digit's timestamp")
	}
	for i := 1; i < len(got); i++ {
		if got[i].seq != got[i-1].seq+1 {
			t.Fatalf("sequence %d then %d", got[i-1].seq, got[i].seq)
		}
	}
}
