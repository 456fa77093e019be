package sipengine

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

func TestReferTarget(t *testing.T) {
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{"<sip:1002@pbx.example>", "1002", true},
		{"sip:+421900123456@pbx.example;user=phone", "+421900123456", true},
		{`"Front desk" <sip:100@10.0.0.1:5060;transport=udp>`, "100", true},
		{"<sip:1002@pbx.example?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>", "", false},
		{"<sip:pbx.example>", "", false},
		{"<sip:alice@pbx.example>", "", false},
		{"<sip:1002@pbx.example", "", false},
		{"", "", false},
	}
	for _, tc := range cases {
		got, ok := referTarget(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q -> %q %v", tc.in, got, ok)
		}
	}
}

func FuzzReferTarget(f *testing.F) {
	f.Add("<sip:1002@pbx.example>")
	f.Add("sip:1@h;user=phone")
	f.Fuzz(func(t *testing.T, v string) {
		if n, ok := referTarget(v); ok && n == "" {
			t.Fatal("accepted an empty target")
		}
	})
}

// A REFER from a carrier's leg must not send the call back out a trunk:
// that is a paid call the tenant never asked for.
func TestReferFromTrunkLegCannotGoOut(t *testing.T) {
	carrier := newWirePeer(t, "udp", netip.AddrPort{}, "")
	r := newRigWith(t, 5*time.Second, pbx.Options{}, nil, func(c *Config) {
		c.Tenants[0].Trunks = []Trunk{{Name: "pstn", Address: carrier.local.String(), Transport: "udp", Prefix: "0"}}
	})
	r.phones(t, 50*time.Millisecond, "101", "102")
	carrier.dst = r.eng.Addr()
	host := r.eng.Addr().Addr().String()
	inv := wireReq{method: sip.INVITE, ruser: "101", rhost: host, fromUser: "0421900111222", fromHost: "carrier.example",
		fromTag: "c1", callID: "refer-trunk-1", body: sdpOffer(netip.AddrPortFrom(lo, 40002))}
	res := carrier.dialIn(inv)
	if res == nil || res.StatusCode != 200 {
		t.Fatalf("carrier call not answered: %v", res)
	}
	r.waitEvent(t, pbx.EvCallAnswered)
	refer := func(to string, cseq int) int {
		q := inv
		q.method, q.toTag, q.body, q.branch, q.cseq = sip.REFER, toTag(res), "", "", cseq
		q.extra = []string{"Refer-To: <sip:" + to + "@" + host + ">", "Referred-By: <sip:0421900111222@carrier.example>"}
		carrier.sendRaw(carrier.build(q))
		if fr := carrier.final(q.callID, sip.REFER, 5*time.Second); fr != nil {
			return fr.StatusCode
		}
		return 0
	}
	if got := refer("0900123456", 2); got != 403 {
		t.Fatalf("REFER of a trunk leg to an outside number: %d, want 403", got)
	}
	if got := refer("102", 3); got != 202 {
		t.Fatalf("REFER of a trunk leg to an extension: %d, want 202", got)
	}
	if !carrier.answerUntil(sip.BYE, 5*time.Second) {
		t.Fatal("the referring carrier leg was not hung up")
	}
	tr := r.waitEvent(t, pbx.EvCallTransferred)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if x, _ := r.core.Extension("t", "102"); x.State == pbx.StateInUse {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("102 never answered the transfer")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := r.core.Hangup(context.Background(), "t", tr.Call.ID); err != nil {
		t.Fatal(err)
	}
	r.waitEnded(t)
}

func TestReferReplaces(t *testing.T) {
	got, ok := referReplaces("<sip:1002@pbx.example?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>")
	if !ok || got != (replacesRef{callID: "abc@host", toTag: "1", fromTag: "2"}) {
		t.Fatalf("%+v %v", got, ok)
	}
	for _, bad := range []string{"<sip:1002@pbx.example>", "<sip:1002@pbx.example?Replaces=abc%40host%3Bto-tag%3D1>", "<sip:1002@pbx.example?Replaces=%zz>", "<sip:1002@pbx"} {
		if _, ok := referReplaces(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}
