package e2e

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

// cli runs the binary with args and stdin.
func cli(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	_ = cmd.Run()
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// TestOperatorCLI: users and keys made with the CLI on the data directory
// work against the running server; a revoked key stops at once.
func TestOperatorCLI(t *testing.T) {
	dataDir := t.TempDir()
	s := startServer(t, dataDir) // creates the database
	if out, errs, code := cli(t, "pw-for-eve-123\n", "user", "add", "--data", dataDir, "--tenant", "MojaCentrala", "--role", "supervisor", "eve"); code != 0 {
		t.Fatalf("user add: %d %s %s", code, out, errs)
	}
	if _, errs, code := cli(t, "short\n", "user", "add", "--data", dataDir, "--tenant", "MojaCentrala", "mallory"); code != 1 || !strings.Contains(errs, "at least") {
		t.Fatalf("short password accepted: %d %s", code, errs)
	}
	if code, body := s.request(t, "GET", "/api/v1/calls", "", "eve", "pw-for-eve-123"); code != 200 {
		t.Fatalf("CLI user login: %d %s", code, body)
	}
	key, errs, code := cli(t, "", "key", "create", "--data", dataDir, "--tenant", "MojaCentrala", "--role", "readonly", "reporting")
	key = strings.TrimSpace(key)
	if code != 0 || !strings.HasPrefix(key, "sbk_") {
		t.Fatalf("key create: %d %q %s", code, key, errs)
	}
	bearer := func() int {
		req, _ := newReq("GET", "http://"+s.http+"/api/v1/cdrs", key)
		return req
	}
	if c := bearer(); c != 200 {
		t.Fatalf("CLI key: %d", c)
	}
	list, _, _ := cli(t, "", "key", "list", "--data", dataDir, "--tenant", "MojaCentrala")
	if !strings.Contains(list, "reporting") || strings.Contains(list, key) {
		t.Fatalf("key list:\n%s", list)
	}
	if out, errs, code := cli(t, "", "key", "revoke", "--data", dataDir, "--tenant", "MojaCentrala", "1"); code != 0 {
		t.Fatalf("revoke: %d %s %s", code, out, errs)
	}
	if c := bearer(); c != 401 {
		t.Fatalf("revoked key: %d", c)
	}
	if _, _, code := cli(t, "", "key", "list"); code != 1 {
		t.Fatalf("no --config/--data: exit %d", code)
	}
}

func newReq(method, url, key string) (int, error) {
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}
