package viptel

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pythonWithWebsockets finds a python3 that can import websockets: the
// one on PATH, else Debian's own (a PATH python3 may be another install,
// e.g. pyenv, without Debian's packages).
func pythonWithWebsockets() (string, bool) {
	var tried []string
	if p, err := exec.LookPath("python3"); err == nil {
		tried = append(tried, p)
	}
	tried = append(tried, "/usr/bin/python3")
	for _, p := range tried {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := exec.CommandContext(ctx, p, "-c", "import websockets").Run()
		cancel()
		if err == nil {
			return p, true
		}
	}
	return "", false
}

// TestPythonClient: a full session driven by Debian's python3-websockets
// (testdata/clients/viptel-client.py), a client outside Go: the 100 and
// its nonce, an action before the login (401), the SHA1 login (202), a
// call.create with missing fields (400 naming them), a call.create with
// its call.create_response and call.begin, call.hangup and its call.end,
// the logout (110 Bye, close 1000); then a wrong password: 401, 110,
// close 1000. CI installs python3-websockets (.ci/run), so
// there a missing one fails the test instead of skipping it.
func TestPythonClient(t *testing.T) {
	py, ok := pythonWithWebsockets()
	if !ok {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but no python3 with websockets: .ci/run installs python3-websockets")
		}
		t.Skip("no python3 with websockets (apt-get install python3-websockets)")
	}
	f := defaultFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	script, err := filepath.Abs(filepath.Join("testdata", "clients", "viptel-client.py"))
	if err != nil {
		t.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/"
	cmd := exec.CommandContext(ctx, py, script, url, "viptel", "viptel")
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("python client timed out:\n%s", out)
	}
	want := strings.Join([]string{
		"hello 100 " + msgHello + " nonce",
		"early 401 " + msgLoginFirst,
		"login 202 " + msgLoggedIn,
		"invalid 400 " + msgInvalid,
		"invalid-fields to,call_random_id",
		"create_response py1 unique_id",
		"begin 42 Jan 43 Robert 43 unique_id",
		"end unique_id cancel",
		"logout 110 " + msgBye,
		"closed 1000",
		"hello 100 " + msgHello + " nonce",
		"wrong 401 " + msgWrongLogin,
		"wrong 110 " + msgClosing,
		"closed 1000",
		"OK",
	}, "\n")
	if got := strings.TrimSpace(string(out)); err != nil || got != want {
		t.Fatalf("python client (%s): %v\ngot:\n%s\nwant:\n%s", py, err, got, want)
	}
}
