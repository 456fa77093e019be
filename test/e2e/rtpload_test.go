package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestRTPLoadGenerator: the benchmark's RTP generator (bench/rtpload)
// places calls through the real binary as an extension with digest auth,
// answers them as another registered extension, and counts every packet
// it sent against what the relay delivered on the far side.
func TestRTPLoadGenerator(t *testing.T) {
	s := startServer(t, t.TempDir())
	bin := filepath.Join(t.TempDir(), "rtpload")
	if out, err := exec.Command("go", "build", "-o", bin, "../../bench/rtpload").CombinedOutput(); err != nil {
		t.Fatalf("build rtpload: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-sip", s.sip, "-domain", "mojacentrala.local",
		"-caller-user", "2002", "-caller-pass", "demo", "-callee-user", "2001", "-callee-pass", "demo",
		"-calls", "3", "-rate", "10", "-hold", "2s", "-setup-timeout", "10s", "-sockets", "2")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("rtpload: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`RESULT answered=(\d+) calls=(\d+) sent=(\d+) lost=(\d+) .* own_drops=(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no RESULT line:\n%s", out)
	}
	n := func(i int) int { v, _ := strconv.Atoi(string(m[i])); return v }
	answered, sent, lost := n(1), n(3), n(4)
	// 3 calls, two streams each, about 3 s of audio at 50 packets/s.
	if answered != 3 || sent < 6*100 || lost > sent/100 {
		t.Fatalf("answered %d, sent %d, lost %d:\n%s", answered, sent, lost, out)
	}
	var list struct {
		CDRs []cdr `json:"cdrs"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.getJSON(t, "/api/v1/cdrs?src=2002&limit=10", &list)
		answeredCDRs := 0
		for _, c := range list.CDRs {
			if c.Src == "2002" && c.Dst == "2001" && c.Disposition == "ANSWERED" {
				answeredCDRs++
			}
		}
		if answeredCDRs == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CDRs %+v, want 3 answered 2002 -> 2001\n%s", list.CDRs, fmt.Sprint(string(out)))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
