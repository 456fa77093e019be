package webtapi

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/name (-update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("%s:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// TestGoldenWire pins the wire format of every list reply against
// testdata/golden: the concise channel lines of an answered call, a
// ringing call and a trunk call; extension states; queues and agents;
// relays and cameras.
func TestGoldenWire(t *testing.T) {
	f := newFixture(t)
	sid := f.login(t, "admin", "admin")
	f.core.SetRegistration(tenant, "1001", &pbx.Registration{Contact: "sip:1001@127.0.0.1:5062", Expires: t0.Add(time.Hour)})
	f.core.SetRegistration(tenant, "1003", &pbx.Registration{Contact: "sip:1003@127.0.0.1:5063", Expires: t0.Add(time.Hour)})
	f.call(t, tenant, "1004", "1001", true)
	f.clock.add(534 * time.Second)
	f.call(t, tenant, "1002", "1003", false)
	// A carrier calls in on trunk sps2 for 1002 (ringing); its name has a
	// '!' that must not break the line.
	a, c, err := f.core.NewCall(tenant, "0221234567", "1002", false, pbx.ChannelSpec{Peer: "sps2", IsTrunk: true, Dir: pbx.Inbound,
		CallerIDNum: "0221234567", CallerIDName: "Hello!World"})
	if err != nil {
		t.Fatal(err)
	}
	_ = a
	if _, err := f.core.AddChannel(tenant, c.ID, pbx.ChannelSpec{Peer: "1002", Exten: "1002", Dir: pbx.Outbound, CallerIDNum: "0221234567"}); err != nil {
		t.Fatal(err)
	}
	f.clock.add(3 * time.Second)
	for _, tc := range []struct{ file, query string }{
		{"call_list_all.txt", "action=call_list_all"},
		{"call_list_1004.txt", "action=call_list&src=1004"},
		{"call_status_get.txt", "action=call_status_get"},
		{"call_status_get_filter.txt", "action=call_status_get&filter=1001,1004,9999"},
		{"q_list.txt", "action=q_list"},
		{"agent_list.txt", "action=agent_list&q_name=VMX"},
		{"relay_list.txt", "action=relay_list"},
		{"vmx_cam_list.txt", "action=vmx_cam_list"},
	} {
		code, body, e := f.get(t, tc.query+"&SID="+sid)
		if code != 200 || e != "" {
			t.Fatalf("%s: %d %q %s", tc.query, code, body, e)
		}
		golden(t, tc.file, body)
	}
	// Every concise line has the fourteen fields.
	_, body, _ := f.get(t, "action=call_list_all&SID="+sid)
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines: %q", len(lines), body)
	}
	for _, l := range lines {
		if n := len(strings.Split(l, "!")); n != conciseFields {
			t.Fatalf("%d fields: %q", n, l)
		}
	}
}
