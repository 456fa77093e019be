package main

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

func TestPacketRoundTrip(t *testing.T) {
	var b [packetLen]byte
	want := stamp{stream: 7, seq: 4242, sentNs: 1_700_000_000_123_456_789}
	putPacket(b[:], 0xdeadbeef, 65535, 160, true, want)
	if b[0] != 0x80 || b[1] != 0x88 || binary.BigEndian.Uint32(b[8:]) != 0xdeadbeef {
		t.Fatalf("header % x", b[:12])
	}
	got, err := parsePacket(b[:])
	if err != nil || got != want {
		t.Fatalf("parse = %+v, %v; want %+v", got, err, want)
	}
	if b[packetLen-1] != pcmaSilence {
		t.Fatalf("payload tail %x, want PCMA silence", b[packetLen-1])
	}

	// A relay that adds a CSRC and a header extension still finds the stamp.
	ext := make([]byte, 0, packetLen+12)
	ext = append(ext, b[:12]...)
	ext[0] |= 0x10 | 1                              // X bit, one CSRC
	ext = append(ext, 1, 2, 3, 4)                   // CSRC
	ext = append(ext, 0xbe, 0xde, 0, 1, 9, 9, 9, 9) // extension, one word
	ext = append(ext, b[12:]...)
	if got, err := parsePacket(ext); err != nil || got != want {
		t.Fatalf("with CSRC and extension: %+v, %v", got, err)
	}
}

func TestParseRefusesForeignPackets(t *testing.T) {
	var b [packetLen]byte
	putPacket(b[:], 1, 1, 1, false, stamp{stream: 1, seq: 1, sentNs: 1})
	cases := map[string][]byte{
		"empty":               nil,
		"short header":        b[:11],
		"RTP version 1":       append([]byte{0x40}, b[1:]...),
		"no stamp":            b[:12+stampLen-1],
		"ringback (no magic)": append(append([]byte{}, b[:12]...), make([]byte, 160)...),
		"extension past end":  {0x90, 8, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe},
		"CSRC past end":       {0x8f, 8, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1},
	}
	for name, p := range cases {
		if _, err := parsePacket(p); !errors.Is(err, errNotOurs) {
			t.Errorf("%s: err %v, want errNotOurs", name, err)
		}
	}
}

func FuzzParsePacket(f *testing.F) {
	var b [packetLen]byte
	putPacket(b[:], 1, 2, 3, true, stamp{stream: 4, seq: 5, sentNs: 6})
	f.Add(b[:])
	f.Add([]byte{0x9f, 8, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		st, err := parsePacket(p)
		if err == nil && len(p) < rtpHeadLen+stampLen {
			t.Fatalf("accepted %d bytes as %+v", len(p), st)
		}
	})
}

func TestStreamCountsDuplicatesAndLatePackets(t *testing.T) {
	var s stream
	for _, seq := range []uint32{0, 1, 3, 2, 3, 5000, 4} {
		s.mark(seq)
	}
	if s.recv.Load() != 6 || s.dup.Load() != 1 || s.late.Load() != 2 {
		t.Fatalf("recv %d dup %d late %d, want 6 1 2", s.recv.Load(), s.dup.Load(), s.late.Load())
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := range 100 {
		h.add(int64(i+1) * int64(time.Millisecond) / 10) // 0.1 .. 10 ms
	}
	h.add(-5) // a clock oddity counts as zero
	h.add(int64(5 * time.Second))
	if got := h.quantile(0.5); got < 4900*time.Microsecond || got > 5100*time.Microsecond {
		t.Fatalf("p50 %v", got)
	}
	if got := h.quantile(1); got != 5*time.Second {
		t.Fatalf("max quantile %v, want the overflow's max 5s", got)
	}
	var m histogram
	m.merge(&h)
	if m.count != 102 || m.negNs != 1 || m.quantile(0.5) != h.quantile(0.5) {
		t.Fatalf("merged count %d neg %d", m.count, m.negNs)
	}
}

func TestKernelDrops(t *testing.T) {
	procNetUDP := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 0100007F:3A98 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 12345 2 0000000000000000 17
  101: 0100007F:3A99 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 12346 2 0000000000000000 5
  102: 0100007F:1F90 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 12347 2 0000000000000000 1000
`
	if got := kernelDrops(map[uint16]bool{15000: true, 15001: true}, procNetUDP); got != 22 {
		t.Fatalf("drops %d, want 22 (ports 15000 and 15001 only)", got)
	}
}
