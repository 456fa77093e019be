package capture

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

const invite = "INVITE sip:101@t.local SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n"

func readAll(t *testing.T, path string) []gopacket.Packet {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Fatalf("link type %v", r.LinkType())
	}
	var out []gopacket.Packet
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		p.Metadata().CaptureInfo = ci
		out = append(out, p)
	}
	return out
}

func TestFileFramesPacketsExactly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.pcap")
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC)
	a, b := netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("10.0.0.2:5062")
	rtp := append([]byte{0x80, 0x00, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4}, bytes.Repeat([]byte{0xff}, 160)...)
	tcpMsg := []byte("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n")
	v6a, v6b := netip.MustParseAddrPort("[2001:db8::1]:5060"), netip.MustParseAddrPort("[2001:db8::2]:5060")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.WritePacket(t0, UDP, a, b, []byte(invite)))
	must(f.WritePacket(t0.Add(time.Millisecond), UDP, netip.MustParseAddrPort("10.0.0.2:10000"), netip.MustParseAddrPort("10.0.0.1:20000"), rtp))
	must(f.WritePacket(t0.Add(2*time.Millisecond), TCP, b, a, tcpMsg))
	must(f.WritePacket(t0.Add(3*time.Millisecond), TCP, b, a, tcpMsg))
	must(f.WritePacket(t0.Add(4*time.Millisecond), UDP, v6a, v6b, []byte(invite)))
	if err := f.WritePacket(t0, UDP, a, v6b, nil); err == nil {
		t.Fatal("mixed families accepted")
	}
	must(f.Close())
	must(f.Close())
	if err := f.WritePacket(t0, UDP, a, b, nil); err != ErrClosed {
		t.Fatalf("write after close: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Size() != f.Size() {
		t.Fatalf("Size %d, file %d", f.Size(), fi.Size())
	}

	ps := readAll(t, path)
	if len(ps) != 5 {
		t.Fatalf("%d packets", len(ps))
	}
	if ts := ps[0].Metadata().Timestamp; !ts.Equal(t0) {
		t.Fatalf("timestamp %v", ts)
	}
	ip := ps[0].Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	udp := ps[0].Layer(layers.LayerTypeUDP).(*layers.UDP)
	if ip.SrcIP.String() != "10.0.0.1" || ip.DstIP.String() != "10.0.0.2" || udp.SrcPort != 5060 || udp.DstPort != 5062 || string(udp.Payload) != invite {
		t.Fatalf("sip packet %v %v %v", ip, udp.SrcPort, udp.DstPort)
	}
	if got := ps[1].Layer(layers.LayerTypeUDP).(*layers.UDP).Payload; !bytes.Equal(got, rtp) {
		t.Fatal("rtp payload changed")
	}
	t1, t2 := ps[2].Layer(layers.LayerTypeTCP).(*layers.TCP), ps[3].Layer(layers.LayerTypeTCP).(*layers.TCP)
	if t2.Seq != t1.Seq+uint32(len(tcpMsg)) || !t1.PSH || string(t1.Payload) != string(tcpMsg) {
		t.Fatalf("tcp seq %d then %d", t1.Seq, t2.Seq)
	}
	if ps[4].Layer(layers.LayerTypeIPv6) == nil {
		t.Fatal("no IPv6 layer")
	}
	// Checksums: re-serialising with computed checksums gives the same bytes.
	for i, p := range ps {
		buf := gopacket.NewSerializeBuffer()
		ls := []gopacket.SerializableLayer{}
		var nl gopacket.NetworkLayer
		for _, l := range p.Layers() {
			switch v := l.(type) {
			case *layers.IPv4:
				nl = v
			case *layers.IPv6:
				nl = v
			case *layers.UDP:
				v.SetNetworkLayerForChecksum(nl)
			case *layers.TCP:
				v.SetNetworkLayerForChecksum(nl)
			}
			if s, ok := l.(gopacket.SerializableLayer); ok {
				ls = append(ls, s)
			} else {
				ls = append(ls, gopacket.Payload(l.LayerContents()))
			}
		}
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}, ls...); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), p.Data()) {
			t.Fatalf("packet %d: checksums or lengths differ from a fresh serialisation", i)
		}
	}

	ladder, err := ReadSIP(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(ladder) != 4 || ladder[0].Method != "INVITE" || ladder[2].Status != 200 || ladder[2].Proto != "tcp" ||
		ladder[0].Src != a || ladder[0].Raw != invite || ladder[3].Src.Addr().Is4() {
		t.Fatalf("ladder %+v", ladder)
	}
}

func TestCreateRefusesExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.pcap")
	os.WriteFile(path, []byte("keep"), 0o600)
	if _, err := Create(path); err == nil {
		t.Fatal("overwrote")
	}
}

func TestTruncatesToSnaplen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.pcap")
	f, _ := Create(path)
	a, b := netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:2")
	if err := f.WritePacket(time.Now(), TCP, a, b, make([]byte, 70000)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fh, _ := os.Open(path)
	defer fh.Close()
	r, _ := pcapgo.NewReader(fh)
	_, ci, err := r.ReadPacketData()
	if err != nil || ci.CaptureLength != Snaplen || ci.Length != 70000+14+20+20 {
		t.Fatalf("%v %+v", err, ci)
	}
}

func TestConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.pcap")
	f, _ := Create(path)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(1000+g))
			for range 200 {
				f.WritePacket(time.Now(), UDP, src, netip.MustParseAddrPort("10.0.0.2:2"), make([]byte, 172))
			}
		}()
	}
	wg.Wait()
	f.Close()
	if n := len(readAll(t, path)); n != 1600 {
		t.Fatalf("%d packets", n)
	}
}

func TestReadSIPJunk(t *testing.T) {
	p := filepath.Join(t.TempDir(), "junk.pcap")
	os.WriteFile(p, []byte("not a pcap"), 0o600)
	if _, err := ReadSIP(p, false); err == nil {
		t.Fatal("junk accepted")
	}
}

func FuzzReadSIP(f *testing.F) {
	path := filepath.Join(f.TempDir(), "seed.pcap")
	c, _ := Create(path)
	c.WritePacket(time.Now(), UDP, netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:2"), []byte(invite))
	c.Close()
	seed, _ := os.ReadFile(path)
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, _ := readSIP(bytes.NewReader(b), true)
		if len(ms) > MaxLadder {
			t.Fatal("unbounded")
		}
	})
}

func TestRetention(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "cap")
	os.MkdirAll(filepath.Join(dir, "t1"), 0o755)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	mk := func(name string, size int, age time.Duration) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, make([]byte, size), 0o644)
		os.Chtimes(p, now.Add(-age), now.Add(-age))
		return p
	}
	old := mk("t1/old.pcap", 100, 48*time.Hour)
	mid := mk("t1/mid.wav", 100, 5*time.Hour)
	recent := mk("t1/new.pcap", 100, time.Hour)
	other := mk("t1/keep.txt", 100, 100*time.Hour)
	outside := filepath.Join(root, "outside.pcap")
	os.WriteFile(outside, []byte("x"), 0o644)
	os.Chtimes(outside, now.Add(-100*time.Hour), now.Add(-100*time.Hour))
	os.Symlink(outside, filepath.Join(dir, "t1", "link.pcap"))

	var told []string
	r := Retention{Dir: dir, Exts: []string{".pcap", ".wav"}, MaxAge: 24 * time.Hour, Now: func() time.Time { return now },
		OnDelete: func(p string) { told = append(told, p) }}
	del, err := r.Sweep()
	if err != nil || len(del) != 1 || del[0] != old || len(told) != 1 {
		t.Fatalf("age sweep: %v %v", del, err)
	}
	r.MaxAge, r.MaxBytes = 0, 150
	del, _ = r.Sweep()
	if len(del) != 1 || del[0] != mid {
		t.Fatalf("size sweep deleted %v, want the oldest (%s)", del, mid)
	}
	for _, p := range []string{recent, other, outside} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s deleted", p)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx, time.Millisecond); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}

func BenchmarkWritePacketRTP(b *testing.B) {
	f, _ := Create(filepath.Join(b.TempDir(), "b.pcap"))
	defer f.Close()
	src, dst := netip.MustParseAddrPort("10.0.0.1:10000"), netip.MustParseAddrPort("10.0.0.2:20000")
	pkt := make([]byte, 172)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if err := f.WritePacket(now, UDP, src, dst, pkt); err != nil {
			b.Fatal(err)
		}
	}
}

func TestWriterWritesInBackgroundAndDropsWhenBehind(t *testing.T) {
	w := NewWriter()
	path := filepath.Join(t.TempDir(), "bg.pcap")
	f, err := w.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	src, dst := netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:2")
	behind0 := 0
	for i := range 5000 {
		if err := f.WritePacket(time.Now(), UDP, src, dst, make([]byte, 172)); err == ErrBehind {
			behind0++
		} else if err != nil {
			t.Fatal(err)
		}
		if i%50 == 49 {
			time.Sleep(time.Millisecond) // about a thousand calls' worth of RTP, not a tight loop
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if n := len(readAll(t, path)); n+behind0 != 5000 || behind0 > 0 && f.Dropped() != int64(behind0) {
		t.Fatalf("%d packets on disk, %d dropped", n, behind0)
	}

	// A writer that never drains: memory stays bounded, packets drop.
	stalled := &Writer{ch: make(chan *File)}
	p2 := filepath.Join(t.TempDir(), "stalled.pcap")
	g, _ := stalled.Create(p2)
	var behind int
	for range 10000 {
		if err := g.WritePacket(time.Now(), UDP, src, dst, make([]byte, 172)); err == ErrBehind {
			behind++
		}
	}
	if behind == 0 || g.Dropped() != int64(behind) {
		t.Fatalf("behind %d, dropped %d", behind, g.Dropped())
	}
	g.Close()
	if n := len(readAll(t, p2)); n+behind != 10000 {
		t.Fatalf("%d on disk + %d dropped != 10000", n, behind)
	}
}

// TestRecycledBuffersStayWithTheirFile: a closed file's buffers go to
// the next file, and a stale flush of the closed one (its entry still in
// the writer's queue) touches nothing of the new file.
func TestRecycledBuffersStayWithTheirFile(t *testing.T) {
	w := NewWriter()
	defer w.Close()
	dir := t.TempDir()
	src, dst := netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("10.0.0.2:5060")
	a, err := w.Create(filepath.Join(dir, "a.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.WritePacket(time.Now(), UDP, src, dst, []byte(invite)); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := w.Create(filepath.Join(dir, "b.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := b.WritePacket(time.Now(), UDP, src, dst, []byte(invite)); err != nil {
			t.Fatal(err)
		}
	}
	a.flush() // stale
	if err := a.WritePacket(time.Now(), UDP, src, dst, []byte(invite)); err != ErrClosed {
		t.Fatalf("write after close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(readAll(t, filepath.Join(dir, "a.pcap"))); n != 1 {
		t.Fatalf("a holds %d packets, want 1", n)
	}
	if n := len(readAll(t, filepath.Join(dir, "b.pcap"))); n != 3 {
		t.Fatalf("b holds %d packets, want 3", n)
	}
}
