// Package e2e drives the real switchboard binary with real peers: SIPp
// over UDP and an HTTP/WebSocket client. CI installs SIPp, so these tests
// fail rather than skip when it is missing there (SWITCHBOARD_REQUIRE_SIPP
// or CI set); on a laptop without SIPp they skip.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "switchboard-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "switchboard")
	build := exec.Command("go", "build", "-race", "-o", binPath, "../../cmd/switchboard")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build switchboard:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needSIPp(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sipp")
	if err != nil {
		if os.Getenv("CI") != "" || os.Getenv("SWITCHBOARD_REQUIRE_SIPP") != "" {
			t.Fatalf("sipp is required here: %v", err)
		}
		t.Skip("sipp not installed (apt-get install sip-tester)")
	}
	return p
}

// freePort finds a port free on both UDP and TCP of 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// server is one running switchboard process.
type server struct {
	t       *testing.T
	cmd     *exec.Cmd
	http    string
	sip     string
	dataDir string
	logs    *syncBuffer
	exited  chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	s := &server{t: t, dataDir: dataDir, logs: &syncBuffer{}, exited: make(chan struct{})}
	s.http = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s.sip = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	args := append([]string{"serve", "--demo", "--http", s.http, "--sip", s.sip, "--data", dataDir}, extra...)
	s.cmd = exec.Command(binPath, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("switchboard output:\n%s", s.logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + s.http + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		select {
		case <-s.exited:
			t.Fatalf("switchboard exited during start:\n%s", s.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("switchboard not healthy after 30 s:\n%s", s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.waitRegistered(t, "12", "13", "1001", "1003", "1004")
	return s
}

// waitRegistered waits until the demo bots exts have registered: /healthz
// answers before the bots' first REGISTER has gone through.
func (s *server) waitRegistered(t *testing.T, exts ...string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for _, x := range exts {
		for {
			var ext struct {
				Registered bool `json:"registered"`
			}
			req, _ := http.NewRequest("GET", "http://"+s.http+"/api/v1/extensions/"+x, nil)
			req.SetBasicAuth("admin", "admin")
			res, err := http.DefaultClient.Do(req)
			if err == nil {
				_ = json.NewDecoder(res.Body).Decode(&ext)
				res.Body.Close()
			}
			if ext.Registered {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("demo bot %s not registered after 15 s:\n%s", x, s.logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func (s *server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func (s *server) kill9() {
	_ = s.cmd.Process.Kill() // SIGKILL
	<-s.exited
}

func (s *server) getJSON(t *testing.T, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+s.http+path, nil)
	req.SetBasicAuth("admin", "admin")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

// sipp runs one bounded SIPp scenario against the server and returns its
// exit code (0: every call succeeded) and output.
func (s *server) sipp(t *testing.T, scenario string, args ...string) (int, string) {
	t.Helper()
	bin := needSIPp(t)
	dir := t.TempDir()
	scenario, err := filepath.Abs(scenario)
	if err != nil {
		t.Fatal(err)
	}
	inf := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(inf, []byte("SEQUENTIAL\nmojacentrala.local;2001;1004;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{s.sip, "-sf", scenario, "-inf", inf, "-i", "127.0.0.1", "-mi", "127.0.0.1",
		"-p", fmt.Sprint(freePort(t)), "-m", "1", "-timeout", "30s", "-timeout_error", "-nostdin",
		"-buff_size", "4194304", "-trace_err", "-error_file", filepath.Join(dir, "errors.log")}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.Dir = dir
	out, _ := cmd.CombinedOutput()
	errs, _ := os.ReadFile(filepath.Join(dir, "errors.log"))
	code := cmd.ProcessState.ExitCode()
	return code, string(out) + "\n" + string(errs)
}

type cdr struct {
	ID          int64   `json:"id"`
	Src         string  `json:"src"`
	Dst         string  `json:"dst"`
	Disposition string  `json:"disposition"`
	EndStatus   string  `json:"endstatus"`
	UniqueID    string  `json:"uniqueid"`
	BillSec     int     `json:"billsec"`
	Channel     string  `json:"channel"`
	DstChannel  string  `json:"dstchannel"`
	LastApp     string  `json:"lastapp"`
	Codec       string  `json:"codec"`
	RTPAB       uint64  `json:"rtp_packets_ab"`
	RTPBA       uint64  `json:"rtp_packets_ba"`
	MOS         float64 `json:"mos"`
}

type cdrPage struct {
	Total int   `json:"total"`
	CDRs  []cdr `json:"cdrs"`
}

func TestSIPpRegisterCallAndOutcomes(t *testing.T) {
	needSIPp(t)
	s := startServer(t, t.TempDir())

	t.Run("register", func(t *testing.T) {
		if code, out := s.sipp(t, "testdata/register.xml", "-s", "2001", "-au", "2001", "-ap", "demo"); code != 0 {
			t.Fatalf("register with the right password failed (exit %d):\n%s", code, out)
		}
	})
	t.Run("register over tcp", func(t *testing.T) {
		if code, out := s.sipp(t, "testdata/register.xml", "-t", "t1", "-s", "2002", "-au", "2002", "-ap", "demo"); code != 0 {
			t.Fatalf("register over TCP failed (exit %d):\n%s", code, out)
		}
	})
	t.Run("wrong password refused", func(t *testing.T) {
		if code, out := s.sipp(t, "testdata/register_refused.xml", "-s", "2001", "-au", "2001", "-ap", "wrong"); code != 0 {
			t.Fatalf("wrong password was not refused with 401 (exit %d):\n%s", code, out)
		}
	})
	t.Run("call answered by bot", func(t *testing.T) {
		// call.xml also checks that the unauthenticated INVITE is challenged (407 first).
		if code, out := s.sipp(t, "testdata/call.xml", "-s", "1001", "-au", "2001", "-ap", "demo", "-d", "2000"); code != 0 {
			t.Fatalf("call 2001 -> 1001 failed (exit %d):\n%s", code, out)
		}
	})
	t.Run("re-INVITE sendonly puts the caller on hold", func(t *testing.T) {
		events := dialEvents(t, s)
		if code, out := s.sipp(t, "testdata/call_hold.xml", "-s", "1003", "-au", "2001", "-ap", "demo", "-d", "800"); code != 0 {
			t.Fatalf("call with hold failed (exit %d):\n%s", code, out)
		}
		var states []float64
		for {
			e := waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "extension.state" || e["type"] == "call.ended" }, 10*time.Second)
			if c, _ := e["call"].(map[string]any); e["type"] == "call.ended" && c["to"] == "1003" {
				break // (a call.ended of the previous subtest may still arrive first)
			}
			if e["type"] == "call.ended" {
				states = nil // states seen so far belonged to the previous call
				continue
			}
			if x, _ := e["extension"].(map[string]any); x["number"] == "2001" {
				states = append(states, x["state"].(float64))
			}
		}
		// connecting, in use, on hold, in use again, idle
		want := []float64{32, 1, 16, 1, 0}
		if fmt.Sprint(states) != fmt.Sprint(want) {
			t.Fatalf("2001 went through states %v, want %v", states, want)
		}
	})
	t.Run("REFER from the phone transfers the callee", func(t *testing.T) {
		events := dialEvents(t, s)
		// 2001 calls bot 1001 and transfers it to bot 1004 (field2 of the csv).
		if code, out := s.sipp(t, "testdata/call_refer.xml", "-s", "1001", "-au", "2001", "-ap", "demo"); code != 0 {
			t.Fatalf("REFER scenario failed (exit %d):\n%s", code, out)
		}
		e := waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "call.transferred" }, 10*time.Second)
		call, _ := e["call"].(map[string]any)
		ch, _ := e["channel"].(map[string]any)
		if call["to"] != "1004" || ch["exten"] != "1004" || e["replaces"] == "" {
			t.Fatalf("transfer event %v", e)
		}
		waitEvent(t, events, func(e map[string]any) bool {
			c, _ := e["channel"].(map[string]any)
			return e["type"] == "channel.state" && c["exten"] == "1004" && c["state"] == "up"
		}, 10*time.Second)
		// The leg 2001 -> 1001 ended at the transfer, with its own row.
		if leg, _ := e["cdr"].(map[string]any); leg["src"] != "2001" || leg["dst"] != "1001" || leg["hangup_by"] != "transfer" || leg["uniqueid"] != call["id"] {
			t.Fatalf("the transferred leg's CDR %v", leg)
		}
		// The bots would talk forever: hang up by API, then the last row
		// is of the leg 1001 -> 1004.
		s.delete(t, "/api/v1/calls/"+call["id"].(string), 204)
		ended := waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "call.ended" }, 10*time.Second)
		cdr, _ := ended["cdr"].(map[string]any)
		if cdr["dst"] != "1004" || cdr["src"] != "1001" || cdr["disposition"] != "ANSWERED" || cdr["uniqueid"] != call["id"] {
			t.Fatalf("CDR after REFER: %v", cdr)
		}
	})
	t.Run("BYE right after the final NOTIFY of a REFER ends only the transferor", func(t *testing.T) {
		events := dialEvents(t, s)
		// As above, but 2001 sends its BYE the moment it has the final
		// NOTIFY (issue 10 item 5): the transfer must still connect 1001 and
		// 1004 instead of tearing the whole call down.
		if code, out := s.sipp(t, "testdata/call_refer_bye.xml", "-s", "1001", "-au", "2001", "-ap", "demo"); code != 0 {
			t.Fatalf("REFER scenario failed (exit %d):\n%s", code, out)
		}
		e := waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "call.transferred" }, 10*time.Second)
		call, _ := e["call"].(map[string]any)
		ch, _ := e["channel"].(map[string]any)
		if call["to"] != "1004" || ch["exten"] != "1004" || e["replaces"] == "" {
			t.Fatalf("transfer event %v", e)
		}
		waitEvent(t, events, func(e map[string]any) bool {
			c, _ := e["channel"].(map[string]any)
			return e["type"] == "channel.state" && c["exten"] == "1004" && c["state"] == "up"
		}, 10*time.Second)
		// The leg 2001 -> 1001 ended at the transfer, with its own row.
		if leg, _ := e["cdr"].(map[string]any); leg["src"] != "2001" || leg["dst"] != "1001" || leg["hangup_by"] != "transfer" || leg["uniqueid"] != call["id"] {
			t.Fatalf("the transferred leg's CDR %v", leg)
		}
		// The bots would talk forever: hang up by API, then the last row
		// is of the leg 1001 -> 1004.
		s.delete(t, "/api/v1/calls/"+call["id"].(string), 204)
		ended := waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "call.ended" }, 10*time.Second)
		cdr, _ := ended["cdr"].(map[string]any)
		if cdr["dst"] != "1004" || cdr["src"] != "1001" || cdr["disposition"] != "ANSWERED" || cdr["uniqueid"] != call["id"] {
			t.Fatalf("CDR after REFER: %v", cdr)
		}
	})
	t.Run("SIP INFO digit becomes an event", func(t *testing.T) {
		events := dialEvents(t, s)
		if code, out := s.sipp(t, "testdata/call_info.xml", "-s", "1002", "-au", "2001", "-ap", "demo", "-d", "500"); code != 0 {
			t.Fatalf("call with INFO failed (exit %d):\n%s", code, out)
		}
		e := waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "channel.dtmf" }, 10*time.Second)
		if e["digit"] != "5" || e["via"] != "info" {
			t.Fatalf("dtmf event %v", e)
		}
	})
	for _, tc := range []struct {
		number string
		code   int
	}{{"555486", 486}, {"555404", 404}, {"555480", 480}, {"7777777", 0}} {
		if tc.code == 0 {
			continue
		}
		t.Run(fmt.Sprintf("carrier %d", tc.code), func(t *testing.T) {
			tmpl, err := os.ReadFile("testdata/reject.xml.tmpl")
			if err != nil {
				t.Fatal(err)
			}
			sc := filepath.Join(t.TempDir(), "reject.xml")
			os.WriteFile(sc, []byte(strings.ReplaceAll(string(tmpl), "@CODE@", fmt.Sprint(tc.code))), 0o644)
			if code, out := s.sipp(t, sc, "-s", tc.number, "-au", "2001", "-ap", "demo"); code != 0 {
				t.Fatalf("call to %s did not end with %d (exit %d):\n%s", tc.number, tc.code, code, out)
			}
		})
	}

	// Every finished call left a CDR with the right disposition (2001's
	// rows; the transfers' later legs, 1001 -> 1004, are 1001's).
	want := map[string]string{"1001": "ANSWERED", "1002": "ANSWERED", "1003": "ANSWERED", "555486": "BUSY", "555404": "FAILED", "555480": "FAILED"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var page cdrPage
		s.getJSON(t, "/api/v1/cdrs?src=2001&limit=100", &page)
		got := map[string]cdr{}
		for _, c := range page.CDRs {
			got[c.Dst] = c
		}
		missing := false
		for dst := range want {
			if _, ok := got[dst]; !ok {
				missing = true
			}
		}
		if !missing {
			for dst, disp := range want {
				if got[dst].Disposition != disp {
					t.Errorf("CDR to %s: disposition %q, want %q (%+v)", dst, got[dst].Disposition, disp, got[dst])
				}
			}
			a := got["1001"]
			if a.BillSec < 1 || a.Codec != "PCMU" || !strings.HasPrefix(a.Channel, "SIP/2001-") || !strings.HasPrefix(a.DstChannel, "SIP/1001-") {
				t.Errorf("answered CDR incomplete: %+v", a)
			}
			if a.RTPBA == 0 {
				t.Errorf("answered CDR counted no RTP from the bot: %+v", a)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("CDRs missing: have %+v", page.CDRs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCDRSurvivesKill9 ends a call, kills switchboard with SIGKILL the
// moment the call.ended event arrives, restarts it on the same data
// directory and finds the CDR.
func TestCDRSurvivesKill9(t *testing.T) {
	dataDir := t.TempDir()
	s := startServer(t, dataDir)

	events := dialEvents(t, s)
	// Click-to-call between two bots; both answer, then we hang up by API.
	var call struct {
		ID string `json:"id"`
	}
	s.postJSON(t, "/api/v1/calls", `{"from":"1003","to":"1004"}`, 201, &call)
	if call.ID == "" {
		t.Fatal("originate returned no call id")
	}
	waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "call.answered" }, 15*time.Second)
	s.delete(t, "/api/v1/calls/"+call.ID, 204)
	waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "call.ended" }, 15*time.Second)
	s.kill9()

	s2 := startServer(t, dataDir)
	var page cdrPage
	s2.getJSON(t, "/api/v1/cdrs?number=1003", &page)
	if page.Total != 1 || page.CDRs[0].UniqueID != call.ID || page.CDRs[0].Disposition != "ANSWERED" || page.CDRs[0].LastApp != "Originate" {
		t.Fatalf("after kill -9 the CDR is not there as expected: %+v", page)
	}
}

func (s *server) postJSON(t *testing.T, path, body string, want int, out any) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+s.http+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer MyExampleKey")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("POST %s: %d %s", path, res.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("POST %s: %v: %s", path, err, b)
		}
	}
}

func (s *server) delete(t *testing.T, path string, want int) {
	t.Helper()
	req, _ := http.NewRequest("DELETE", "http://"+s.http+path, nil)
	req.SetBasicAuth("admin", "admin")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("DELETE %s: %d %s", path, res.StatusCode, b)
	}
}

// TestSIGTERMHangsUpAndWritesCDRs: a graceful stop ends live calls with a
// BYE and a CDR each.
func TestSIGTERMHangsUpAndWritesCDRs(t *testing.T) {
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	events := dialEvents(t, s)
	var call struct {
		ID string `json:"id"`
	}
	s.postJSON(t, "/api/v1/calls", `{"from":"12","to":"13"}`, 201, &call)
	waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "call.answered" }, 15*time.Second)
	s.stop() // SIGINT, then wait for exit
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("graceful stop exited %d:\n%s", code, s.logs.String())
	}
	s2 := startServer(t, dataDir)
	var page struct {
		Total int `json:"total"`
		CDRs  []struct {
			UniqueID string `json:"uniqueid"`
			HangupBy string `json:"hangup_by"`
			Disp     string `json:"disposition"`
		} `json:"cdrs"`
	}
	s2.getJSON(t, "/api/v1/cdrs?number=12", &page)
	if page.Total != 1 || page.CDRs[0].UniqueID != call.ID || page.CDRs[0].HangupBy != "system" || page.CDRs[0].Disp != "ANSWERED" {
		t.Fatalf("CDR after graceful stop: %+v", page)
	}
}
