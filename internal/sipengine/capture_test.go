package sipengine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/switchboard-pbx/switchboard/internal/capture"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

func TestSIPHeaderScan(t *testing.T) {
	msg := []byte("INVITE sip:a@b SIP/2.0\r\nVia: x\r\ni: abc@host \r\nCSeq: 1 INVITE\r\n\r\nCall-ID: body")
	if got := sipCallID(msg); got != "abc@host" {
		t.Fatalf("call-id %q", got)
	}
	if got := string(header(msg, "cseq", "")); got != "1 INVITE" {
		t.Fatalf("cseq %q", got)
	}
	if sipCallID([]byte("garbage")) != "" || sipCallID(nil) != "" {
		t.Fatal("found a call-id in garbage")
	}
}

// TestCallCapture: an answered call's PCAP opens with a pcap reader and
// holds the INVITE (with its 407 challenge), the BYE and RTP both ways.
func TestCallCapture(t *testing.T) {
	dir := t.TempDir()
	r := newRigWith(t, 5*time.Second, pbx.Options{}, nil, func(c *Config) { c.Capture = CaptureConfig{Dir: dir, RTP: true} })
	f := r.phones(t, 100*time.Millisecond, "100", "101")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := f.Call(ctx, "100", "101", time.Second)
	if err != nil || !res.Answered {
		t.Fatalf("%+v %v", res, err)
	}
	cdr := r.waitEnded(t)
	path := filepath.Join(dir, "t", cdr.UniqueID+".pcap")
	ladder, err := capture.ReadSIP(path, false)
	if err != nil {
		t.Fatal(err)
	}
	var methods []string
	for _, m := range ladder {
		if m.Method != "" {
			methods = append(methods, m.Method)
		} else {
			methods = append(methods, m.Line[8:11])
		}
	}
	// Both legs: the caller's challenged INVITE and its ACK, the retried
	// INVITE, the callee leg's INVITE, ringing, answers, ACKs, BYE on each.
	want := []string{"INVITE", "407", "ACK", "INVITE", "100", "INVITE", "180", "200", "ACK", "180", "200", "ACK", "BYE", "BYE", "200", "200"}
	seen := map[string]int{}
	for _, m := range methods {
		seen[m]++
	}
	for _, w := range want {
		if seen[w] == 0 {
			t.Fatalf("ladder lacks %s: %v", w, methods)
		}
		seen[w]--
	}
	if ladder[0].Method != "INVITE" {
		t.Fatalf("ladder starts %v", methods)
	}
	fh, _ := os.Open(path)
	defer fh.Close()
	pr, err := pcapgo.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	rtpIn, rtpOut := 0, 0
	for {
		data, _, err := pr.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if udp == nil || len(udp.Payload) < 12 || udp.Payload[0]>>6 != 2 {
			continue
		}
		if int(udp.DstPort) >= 33000 && int(udp.DstPort) < 33998 {
			rtpIn++
		} else {
			rtpOut++
		}
	}
	if rtpIn < 40 || rtpOut < 40 {
		t.Fatalf("rtp packets in %d, out %d (a 1 s call has ~50 each way per leg)", rtpIn, rtpOut)
	}
}

// FuzzSIPHeaderScan: the raw header scanner used on every traced message
// never panics and only returns bytes from the header section.
func FuzzSIPHeaderScan(f *testing.F) {
	f.Add([]byte("INVITE sip:a@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\nbody"))
	f.Add([]byte("i:\r\n\r\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		id := sipCallID(msg)
		if len(id) > len(msg) {
			t.Fatal("longer than the message")
		}
		_ = header(msg, "CSeq", "")
	})
}

// TestCapturePendingRefusals: the messages of an INVITE refused before a
// call existed (a 503 shed under overload) do not wait in the pending
// table, and the ACK of the refusal is not kept; a challenged INVITE's
// ACK is, since its call follows.
func TestCapturePendingRefusals(t *testing.T) {
	cs := &captures{cfg: CaptureConfig{Dir: t.TempDir()}, listen: "127.0.0.1:5060", byCall: map[string]*callCapture{}, pending: map[string][]pendingMsg{}}
	msg := func(first, id, cseq string) []byte {
		return []byte(first + "\r\nCall-ID: " + id + "\r\nCSeq: " + cseq + "\r\n\r\n")
	}
	in := func(m []byte) { cs.traced("udp", "127.0.0.1:5060", "127.0.0.1:6000", m, false) }
	out := func(m []byte) { cs.traced("udp", "127.0.0.1:5060", "127.0.0.1:6000", m, true) }

	in(msg("INVITE sip:1001@x SIP/2.0", "shed", "1 INVITE"))
	out(msg("SIP/2.0 503 Overloaded", "shed", "1 INVITE"))
	if len(cs.pending["shed"]) != 2 {
		t.Fatalf("pending %d messages of the refused INVITE before forget", len(cs.pending["shed"]))
	}
	cs.forget("shed")
	in(msg("ACK sip:1001@x SIP/2.0", "shed", "1 ACK"))
	in(msg("BYE sip:1001@x SIP/2.0", "stray", "2 BYE"))
	if cs.npend != 0 || len(cs.pending) != 0 {
		t.Fatalf("after the refusal: %d pending in %v", cs.npend, cs.pending)
	}

	in(msg("INVITE sip:1001@x SIP/2.0", "auth", "1 INVITE"))
	out(msg("SIP/2.0 407 Proxy Authentication Required", "auth", "1 INVITE"))
	in(msg("ACK sip:1001@x SIP/2.0", "auth", "1 ACK"))
	if len(cs.pending["auth"]) != 3 || cs.npend != 3 {
		t.Fatalf("challenged INVITE: %d pending (%d counted), want its INVITE, 407 and ACK", len(cs.pending["auth"]), cs.npend)
	}
}
