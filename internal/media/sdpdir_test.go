package media

import (
	"net/netip"
	"strings"
	"testing"
)

func TestAnswerDirectionAndWithDirection(t *testing.T) {
	for offer, want := range map[string]string{"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive", "sendrecv": "sendrecv", "": "sendrecv"} {
		if got := AnswerDirection(offer); got != want {
			t.Errorf("answer to %q = %q, want %q", offer, got, want)
		}
	}
	orig := BuildSDP(SessionDesc{Addr: netip.MustParseAddrPort("127.0.0.1:4000"), Codecs: []Codec{PCMU}, DTMFPT: 101, Direction: "sendrecv"}, 42, 1)
	held := WithDirection(orig, "recvonly")
	d, err := ParseSDP(held)
	if err != nil || d.Direction != "recvonly" || !strings.Contains(string(held), "o=switchboard 42 2 IN IP4") {
		t.Fatalf("held: %v %+v\n%s", err, d, held)
	}
	if again := WithDirection(held, "recvonly"); string(again) != string(held) {
		t.Fatal("unchanged direction bumped the version")
	}
	back := WithDirection(held, "sendrecv")
	if d, _ := ParseSDP(back); d.Direction != "sendrecv" || !strings.Contains(string(back), "o=switchboard 42 3 IN IP4") {
		t.Fatalf("resumed:\n%s", back)
	}
}
