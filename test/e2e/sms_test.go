package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSMSThroughSIPpCarrier: the real binary with the sip SMS driver
// sends a message as a SIP MESSAGE to SIPp playing the operator (its
// scenario checks the text and answers 200); the native API shows the
// message DELIVERED and its CDR.
func TestSMSThroughSIPpCarrier(t *testing.T) {
	bin := needSIPp(t)
	dir := t.TempDir()
	sippPort := freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	scenario, _ := filepath.Abs("testdata/message_uas.xml")
	uas := exec.CommandContext(ctx, bin, "-sf", scenario, "-i", "127.0.0.1", "-p", fmt.Sprint(sippPort), "-m", "1",
		"-timeout", "60s", "-timeout_error", "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "errors.log"))
	uas.Dir = dir
	out := &syncBuffer{}
	uas.Stdout, uas.Stderr = out, out
	if err := uas.Start(); err != nil {
		t.Fatal(err)
	}
	uasDone := make(chan error, 1)
	go func() { uasDone <- uas.Wait() }()
	defer func() {
		if uas.ProcessState == nil {
			uas.Process.Kill()
			<-uasDone
		}
	}()

	httpAddr, sipAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := fmt.Sprintf(`listen: {http: %q, sip: %q}
rtp: {ip: 127.0.0.1, port_min: 30000, port_max: 30998}
data_dir: %q
tenants:
  - name: Acme
    extensions:
      - {number: "100", password: "a-strong-sip-secret"}
    api_keys:
      - {name: crm, key: "crm-key-0123456789abcdef", role: admin}
    trunks:
      - name: gsm
        address: "127.0.0.1:%d"
        prefix: "99999"
        rates: [{prefix: "48", zone: PL, per_minute: 10, per_message: 8}]
    sms: {driver: sip, from: "48221234567", sip: {trunk: gsm}}
`, httpAddr, sipAddr, dir, sippPort)
	path := filepath.Join(dir, "switchboard.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, dataDir: dir, logs: &syncBuffer{}, exited: make(chan struct{}), http: httpAddr, sip: sipAddr}
	s.cmd = exec.Command(binPath, "serve", "--config", path)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("switchboard output:\n%s\nsipp:\n%s", s.logs.String(), out.String())
		}
	})
	key := "Bearer crm-key-0123456789abcdef"
	var code int
	var body []byte
	for deadline := time.Now().Add(30 * time.Second); ; {
		code, body = s.bearer(t, "POST", "/api/v1/sms", key, `{"to":"48600100200","body":"Zażółć gęślą jaźń"}`)
		if code != 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code != 202 {
		t.Fatalf("send: %d %s", code, body)
	}
	id := between(string(body), `"id":"`, `"`)
	for deadline := time.Now().Add(30 * time.Second); ; {
		_, body = s.bearer(t, "GET", "/api/v1/sms/"+id, key, "")
		if strings.Contains(string(body), `"state":"DELIVERED"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not delivered: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(string(body), `"cost":8`) || !strings.Contains(string(body), `"zone":"PL"`) {
		t.Fatalf("message %s", body)
	}
	select {
	case err := <-uasDone:
		if err != nil {
			errs, _ := os.ReadFile(filepath.Join(dir, "errors.log"))
			t.Fatalf("sipp: %v\n%s\n%s", err, out.String(), errs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sipp did not finish")
	}
	// The CDR follows the stored state by moments (it precedes the event).
	for deadline := time.Now().Add(10 * time.Second); ; {
		code, body := s.bearer(t, "GET", "/api/v1/cdrs?uniqueid="+id, key, "")
		if code == 200 && strings.Contains(string(body), `"lastapp":"SMS"`) && strings.Contains(string(body), `"disposition":"ANSWERED"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cdr: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// bearer sends a request with a key; code 0 when the server is not up yet.
func (s *server) bearer(t *testing.T, method, path, key, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+s.http+path, strings.NewReader(body))
	req.Header.Set("Authorization", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func between(s, a, b string) string {
	_, rest, _ := strings.Cut(s, a)
	v, _, _ := strings.Cut(rest, b)
	return v
}
