package viptel

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNodeClient: a client in another language's WebSocket stack (the
// JavaScript WebSocket of Node, as a browser page of a VIPTel customer
// would use it) logs in, creates a call, sees its events, hangs up and
// logs out. Skipped where no Node with a WebSocket is installed.
func TestNodeClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	// Node 22 has WebSocket built in; 20 behind a flag a later Node may
	// refuse: use whichever works.
	var flags []string
	for _, try := range [][]string{nil, {"--experimental-websocket"}} {
		probe := exec.Command(node, append(try, "-e", "if (typeof WebSocket !== 'function') process.exit(3)")...)
		if probe.Run() == nil {
			flags = append([]string{"--no-warnings"}, try...)
			break
		}
	}
	if flags == nil {
		t.Skip("this node has no WebSocket")
	}
	f := defaultFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	script, _ := filepath.Abs(filepath.Join("testdata", "clients", "viptel-client.mjs"))
	out, err := exec.CommandContext(ctx, node, append(flags, script,
		"ws"+strings.TrimPrefix(f.srv.URL, "http")+"/", "viptel", "viptel")...).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "OK" {
		t.Fatalf("node client: %v\n%s", err, out)
	}
}
