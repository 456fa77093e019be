package media

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readSDP(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	// Files are stored with LF; real SDP uses CRLF. Accepting both is the point.
	return b
}

func TestParseSDPFixtures(t *testing.T) {
	cases := []struct {
		file    string
		addr    string
		codecs  []string
		dtmf    uint8
		dir     string
		ptime   int
		wantErr error
	}{
		{file: "linphone.sdp", addr: "127.0.0.1:7078", codecs: []string{"PCMU", "PCMA"}, dtmf: 101, dir: "sendrecv", ptime: 20},
		{file: "pcma_only.sdp", addr: "127.0.0.1:40000", codecs: []string{"PCMA"}, dir: "sendrecv", ptime: 30},
		{file: "inactive.sdp", addr: "127.0.0.1:8000", codecs: []string{"PCMU"}, dtmf: 101, dir: "inactive", ptime: 20},
		{file: "video_only.sdp", wantErr: ErrNoAudio},
		{file: "g729_only.sdp", wantErr: ErrNoCodec},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			d, err := ParseSDP(readSDP(t, tc.file))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range d.Codecs {
				names = append(names, c.Name)
			}
			if d.Addr.String() != tc.addr || strings.Join(names, ",") != strings.Join(tc.codecs, ",") ||
				d.DTMFPT != tc.dtmf || d.Direction != tc.dir || d.Ptime != tc.ptime {
				t.Fatalf("got %+v", d)
			}
		})
	}
}

func TestBuildParseRoundTrip(t *testing.T) {
	in := SessionDesc{Addr: netip.MustParseAddrPort("127.0.0.1:12000"), Codecs: []Codec{PCMA, PCMU}, DTMFPT: 101, Direction: "sendonly", Ptime: 20}
	body := BuildSDP(in, 42, 1)
	if !strings.Contains(string(body), "\r\n") {
		t.Fatal("SDP lines must end with CRLF")
	}
	out, err := ParseSDP(body)
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if out.Addr != in.Addr || len(out.Codecs) != 2 || out.Codecs[0] != PCMA || out.DTMFPT != 101 || out.Direction != "sendonly" {
		t.Fatalf("round trip: %+v", out)
	}
	c, err := Negotiate(out, []Codec{PCMU, PCMA})
	if err != nil || c != PCMA {
		t.Fatalf("negotiate = %v %v, want the offer's first (PCMA)", c, err)
	}
}

func FuzzParseSDP(f *testing.F) {
	for _, n := range []string{"linphone.sdp", "pcma_only.sdp", "inactive.sdp", "video_only.sdp", "g729_only.sdp"} {
		f.Add(readSDP(f, n))
	}
	f.Add([]byte("v=0\r\nc=IN IP4 999.1.1.1\r\nm=audio 70000 RTP/AVP 0\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseSDP(b)
		if err != nil {
			return
		}
		if len(d.Codecs) == 0 || !d.Addr.IsValid() {
			t.Fatalf("accepted an unusable description: %+v", d)
		}
		// What we accept we must be able to answer, and read back.
		if _, err := ParseSDP(BuildSDP(d, 1, 1)); err != nil {
			t.Fatalf("our own answer does not parse: %v", err)
		}
	})
}

func TestCheckAddr(t *testing.T) {
	ap := netip.MustParseAddrPort
	cases := []struct {
		addr string
		dir  string
		ok   bool
	}{
		{"192.0.2.10:4000", "sendrecv", true},
		{"[2001:db8::1]:4000", "sendrecv", true},
		{"0.0.0.0:4000", "sendonly", true}, // RFC 2543 hold
		{"0.0.0.0:4000", "inactive", true},
		{"0.0.0.0:4000", "recvonly", false},
		{"224.0.0.1:4000", "sendrecv", false},
		{"239.1.2.3:4000", "sendrecv", false},
		{"[ff02::1]:4000", "sendrecv", false},
		{"255.255.255.255:4000", "sendrecv", false},
		{"192.0.2.10:53", "sendrecv", false},
	}
	for _, tc := range cases {
		err := SessionDesc{Addr: ap(tc.addr), Direction: tc.dir}.CheckAddr()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBadAddress)) {
			t.Errorf("%s %s: %v", tc.addr, tc.dir, err)
		}
	}
}
