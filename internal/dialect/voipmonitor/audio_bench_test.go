package voipmonitor

import (
	"bytes"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/capture"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// fiveMinuteCapture writes the PCAP of a five-minute G.711 call as the
// engine captures it: both phones' streams (20 ms packets) and SIP.
func fiveMinuteCapture(b *testing.B) ([]byte, pbx.CDR) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "call.pcap")
	f, err := capture.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	a, pb := netip.MustParseAddrPort("192.0.2.10:4000"), netip.MustParseAddrPort("192.0.2.20:4002")
	sa, sb := netip.MustParseAddrPort("198.51.100.1:21000"), netip.MustParseAddrPort("198.51.100.1:21002")
	t0 := time.Unix(1_800_000_000, 0)
	_ = f.WritePacket(t0, capture.UDP, a, netip.MustParseAddrPort("198.51.100.1:5060"), []byte("INVITE sip:1001@x SIP/2.0\r\nCall-ID: c\r\n\r\n"))
	const packets = 5 * 60 * 50
	for i := range packets {
		for _, s := range []struct {
			src, dst netip.AddrPort
			hz       float64
			ssrc     byte
		}{{a, sa, 1000, 1}, {pb, sb, 440, 2}} {
			pkt := []byte{0x80, 0, byte(i >> 8), byte(i), byte(i * 160 >> 24), byte(i * 160 >> 16), byte(i * 160 >> 8), byte(i * 160), 0, 0, 0, s.ssrc}
			for n := range 160 {
				v := int16(8000 * math.Sin(2*math.Pi*s.hz*float64(i*160+n)/8000))
				pkt = append(pkt, linearToUlaw(v))
			}
			if err := f.WritePacket(t0.Add(time.Duration(i)*20*time.Millisecond), capture.UDP, s.src, s.dst, pkt); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	c := pbx.CDR{CallDate: t0, AnswerDate: t0, Detail: pbx.CallDetail{A: pbx.RTPStream{SrcIP: "192.0.2.10", SrcPort: 4000}, B: pbx.RTPStream{SrcIP: "192.0.2.20", SrcPort: 4002}}}
	return data, c
}

// linearToUlaw is G.711 µ-law encoding (the benchmark's tone source).
func linearToUlaw(s int16) byte {
	const bias, clip = 0x84, 32635
	sign := byte(0)
	v := int(s)
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, clip) + bias
	exp := byte(7)
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := byte(v>>(exp+3)) & 0x0f
	return ^(sign | exp<<4 | mant)
}

// BenchmarkDecodeFiveMinuteCall: getVoiceRecording's work for a call
// without a recording: read a five-minute call's PCAP (30,000 RTP
// packets) and render the stereo WAV.
//
//	go test -run XXX -bench DecodeFiveMinute -benchtime 5x ./internal/dialect/voipmonitor/
func BenchmarkDecodeFiveMinuteCall(b *testing.B) {
	data, c := fiveMinuteCapture(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		streams, err := capture.ReadRTP(bytes.NewReader(data))
		if err != nil || len(streams) != 2 {
			b.Fatalf("%d streams, %v", len(streams), err)
		}
		wav, err := decodeCall(c, streams, false, true)
		if err != nil || len(wav) < 44+5*60*8000*4 {
			b.Fatalf("%d bytes, %v", len(wav), err)
		}
	}
}
