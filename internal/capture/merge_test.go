package capture_test

import (
	"bytes"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/capture"
	"github.com/switchboard-pbx/switchboard/internal/media"
)

// TestG711DecodeMatchesMedia: the capture's decoders agree with the media
// path's for every byte.
func TestG711DecodeMatchesMedia(t *testing.T) {
	for b := 0; b < 256; b++ {
		var buf bytes.Buffer
		write(t, &buf, 0, byte(b))
		streams, err := capture.ReadRTP(&buf)
		if err != nil || len(streams) != 1 {
			t.Fatal(err)
		}
		if got, want := streams[0].PCM[0], media.DecodeUlaw(byte(b)); got != want {
			t.Fatalf("ulaw %#x: %d want %d", b, got, want)
		}
		buf.Reset()
		write(t, &buf, 8, byte(b))
		streams, _ = capture.ReadRTP(&buf)
		if got, want := streams[0].PCM[0], media.DecodeAlaw(byte(b)); got != want {
			t.Fatalf("alaw %#x: %d want %d", b, got, want)
		}
	}
}

// write puts one RTP packet of 160 equal bytes in a fresh capture.
func write(t *testing.T, buf *bytes.Buffer, pt byte, v byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.pcap")
	f, err := capture.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	pkt := append([]byte{0x80, pt, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7}, bytes.Repeat([]byte{v}, 160)...)
	a, b := netip.MustParseAddrPort("10.0.0.1:4000"), netip.MustParseAddrPort("10.0.0.2:20000")
	if err := f.WritePacket(time.Now(), capture.UDP, a, b, pkt); err != nil {
		t.Fatal(err)
	}
	f.Close()
	data, _ := os.ReadFile(path)
	buf.Write(data)
}

// TestReadRTPAndMerge: two streams of a tone with a lost packet decode to
// their timelines (the loss is silence), SIP survives a sipOnly merge and
// RTP does not.
func TestReadRTPAndMerge(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.pcap")
	f, err := capture.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := netip.MustParseAddrPort("10.0.0.1:4000"), netip.MustParseAddrPort("10.0.0.2:20000")
	t0 := time.Unix(1700000000, 0)
	invite := []byte("INVITE sip:1@x SIP/2.0\r\nCall-ID: c1\r\n\r\n")
	if err := f.WritePacket(t0, capture.UDP, a, b, invite); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if i == 10 {
			continue // lost
		}
		for _, dir := range []struct {
			src, dst netip.AddrPort
			ssrc     byte
			hz       float64
		}{{a, b, 1, 440}, {b, a, 2, 1000}} {
			pkt := []byte{0x80, 0, 0, byte(i), byte(i * 160 >> 24), byte(i * 160 >> 16), byte(i * 160 >> 8), byte(i * 160), 0, 0, 0, dir.ssrc}
			for s := range 160 {
				n := i*160 + s
				pkt = append(pkt, media.EncodeUlaw(int16(8000*math.Sin(2*math.Pi*dir.hz*float64(n)/8000))))
			}
			if err := f.WritePacket(t0.Add(time.Duration(i)*20*time.Millisecond), capture.UDP, dir.src, dir.dst, pkt); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.Close()
	data, _ := os.ReadFile(path)
	streams, err := capture.ReadRTP(bytes.NewReader(data))
	if err != nil || len(streams) != 2 {
		t.Fatalf("%d streams, %v", len(streams), err)
	}
	if s := streams[0]; s.Src != a || len(s.PCM) != 50*160 || s.PCM[10*160+80] != 0 || s.PCM[9*160+20] == 0 {
		t.Fatalf("stream a: src %v len %d", s.Src, len(s.PCM))
	}
	var out bytes.Buffer
	if err := capture.Merge(&out, []io.Reader{bytes.NewReader(data), bytes.NewReader(data)}, true); err != nil {
		t.Fatal(err)
	}
	msgs, err := capture.ReadSIPFrom(bytes.NewReader(out.Bytes()), false)
	if err != nil || len(msgs) != 2 || msgs[0].Method != "INVITE" {
		t.Fatalf("merged SIP: %+v %v", msgs, err)
	}
	if streams, err := capture.ReadRTP(bytes.NewReader(out.Bytes())); err != nil || len(streams) != 0 {
		t.Fatalf("sipOnly kept RTP: %d %v", len(streams), err)
	}
	out.Reset()
	if err := capture.Merge(&out, []io.Reader{bytes.NewReader(data)}, false); err != nil || out.Len() != len(data) {
		t.Fatalf("full merge: %d bytes of %d, %v", out.Len(), len(data), err)
	}
}
