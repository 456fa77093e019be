package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needTool finds a real peer the interop tests drive. CI installs them
// (.ci/run), so there a missing one fails the test; on a laptop it skips.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" || os.Getenv("SWITCHBOARD_REQUIRE_SOFTPHONES") != "" {
			t.Fatalf("%s is required here: %v", name, err)
		}
		t.Skipf("%s not installed (apt-get install %s)", name, pkg)
	}
	return p
}

// writeTone writes an 8 kHz mono 16-bit WAV of a sine, baresip's aufile
// source.
func writeTone(t *testing.T, path string, hz float64, seconds int) {
	t.Helper()
	n := 8000 * seconds
	b := make([]byte, 44+2*n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], 8000)
	binary.LittleEndian.PutUint32(b[28:], 16000)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*n))
	for i := range n {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(int16(8000*math.Sin(2*math.Pi*hz*float64(i)/8000))))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// baresip is a headless baresip 1.0.0 registered as one demo extension,
// scripted through its standard input (recipe: shared notes on softphones).
type baresip struct {
	t     *testing.T
	stdin io.WriteCloser
	out   *syncBuffer
	done  chan struct{}
}

func startBaresip(t *testing.T, s *server, ext, transport string) *baresip {
	t.Helper()
	bin := needTool(t, "baresip", "baresip")
	dir := t.TempDir()
	writeTone(t, filepath.Join(dir, "src.wav"), 600, 20)
	if err := os.MkdirAll(filepath.Join(dir, "rec"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`poll_method epoll
sip_listen 127.0.0.1:%d
net_interface 127.0.0.1
audio_player aufile,%[2]s/rec/play.wav
audio_source aufile,%[2]s/src.wav
audio_alert aufile,%[2]s/rec/alert.wav
rtp_stats yes
jitter_buffer_delay 5-10
module_path /usr/lib/baresip/modules
module stdio.so
module g711.so
module aufile.so
module_tmp uuid.so
module_tmp account.so
module_app menu.so
`, freePort(t), dir)
	account := fmt.Sprintf("<sip:%s@mojacentrala.local;transport=%s>;auth_pass=demo;outbound=\"sip:%s;transport=%s\";answermode=auto;regint=300\n",
		ext, transport, s.sip, transport)
	for name, body := range map[string]string{"config": cfg, "accounts": account} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a bound, not a lifetime: the cleanup quits it
	cmd := exec.CommandContext(ctx, bin, "-f", dir)
	b := &baresip{t: t, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = b.out, b.out
	var err error
	if b.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(b.done) }()
	t.Cleanup(func() {
		_, _ = io.WriteString(b.stdin, "/quit\n")
		_ = b.stdin.Close()
		select {
		case <-b.done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-b.done
		}
		cancel()
		if t.Failed() {
			t.Logf("baresip output:\n%s", b.out.String())
		}
	})
	s.waitRegistered(t, ext)
	return b
}

func (b *baresip) cmd(line string) {
	if _, err := io.WriteString(b.stdin, line+"\n"); err != nil {
		b.t.Fatalf("baresip %q: %v", line, err)
	}
}

// waitFor waits until baresip has printed every one of want.
func (b *baresip) waitFor(within time.Duration, want ...string) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for {
		out := b.out.String()
		missing := ""
		for _, w := range want {
			if !strings.Contains(out, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("baresip never printed %q", missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBaresipTCPCallAndDTMF drives a real baresip registered over TCP
// (issue 10 items 1 and 3): it calls a demo bot, the call is answered,
// digits sent by the API into baresip's channel while the bot's audio is
// relayed reach baresip (same RTP stream), and baresip's BYE over TCP
// ends the call with an ANSWERED CDR hung up by the caller.
func TestBaresipTCPCallAndDTMF(t *testing.T) {
	needTool(t, "baresip", "baresip")
	s := startServer(t, t.TempDir())
	b := startBaresip(t, s, "2001", "tcp")

	b.cmd("/dial 1001")
	b.waitFor(15*time.Second, "Call established")
	var calls []struct {
		ID       string `json:"id"`
		Channels []struct {
			UniqueID string `json:"uniqueid"`
			Exten    string `json:"exten"`
		} `json:"channels"`
	}
	s.getJSON(t, "/api/v1/calls", &calls)
	chID := ""
	for _, c := range calls {
		for _, ch := range c.Channels {
			if ch.Exten == "2001" {
				chID = ch.UniqueID
			}
		}
	}
	if chID == "" {
		t.Fatalf("no channel of 2001 in %+v", calls)
	}
	time.Sleep(500 * time.Millisecond) // the bot's audio is being relayed
	s.postJSON(t, "/api/v1/channels/"+chID+"/dtmf", `{"digits":"5#"}`, 204, nil)
	b.waitFor(5*time.Second, "received event: '5' (end=1)", "received event: '#' (end=1)")

	b.cmd("/hangup") // its BYE goes to our Contact, over TCP
	deadline := time.Now().Add(10 * time.Second)
	for {
		var page struct {
			CDRs []struct {
				Src         string `json:"src"`
				Disposition string `json:"disposition"`
				HangupBy    string `json:"hangup_by"`
				RTPAB       uint64 `json:"rtp_packets_ab"`
				RTPBA       uint64 `json:"rtp_packets_ba"`
			} `json:"cdrs"`
		}
		s.getJSON(t, "/api/v1/cdrs?number=2001&limit=1", &page)
		if len(page.CDRs) == 1 {
			c := page.CDRs[0]
			if c.Disposition != "ANSWERED" || c.HangupBy != "caller" || c.RTPAB == 0 || c.RTPBA == 0 {
				t.Fatalf("cdr %+v", c)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no CDR for the baresip call")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
