package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/config"
)

// startDemoAt starts the demo on the data directory dir (so a test can
// stop it and start it again on the same database). The caller closes it.
func startDemoAt(t *testing.T, dir string) *Node {
	t.Helper()
	cfg := config.Demo()
	cfg.Listen.HTTP = "127.0.0.1:0"
	cfg.Listen.SIP = "127.0.0.1:0"
	cfg.RTP.PortMin, cfg.RTP.PortMax = 21000, 22998
	cfg.SetDataDir(dir)
	n, err := Start(context.Background(), cfg, Options{DemoAnswerDelay: 300 * time.Millisecond, PSTNNoAnswerAfter: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func closeNode(t *testing.T, n *Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}

type originateResult struct {
	code     int
	body     string
	replayed string
}

func originateWithKey(t *testing.T, n *Node, auth, key, body string) originateResult {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+n.HTTPAddr().String()+"/api/v1/calls", strings.NewReader(body))
	req.Header.Set("Authorization", auth)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return originateResult{}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return originateResult{res.StatusCode, string(b), res.Header.Get("Idempotent-Replayed")}
}

// TestIdempotentOriginate: the same click-to-call sent three times in
// parallel and once more after a restart rings the demo bot once; every
// answer carries the one call (201 first, 200 after, the same body). A
// key reused with another body is 422, an over-long key 400, and another
// principal's key is a different key.
func TestIdempotentOriginate(t *testing.T) {
	dir := t.TempDir()
	n := startDemoAt(t, dir)
	const tenant = "MojaCentrala"
	sub := n.Core().Subscribe(tenant, 1024)
	const body = `{"from":"1001","to":"1002"}`
	const admin = "Bearer MyExampleKey"
	var wg sync.WaitGroup
	results := make([]originateResult, 3)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = originateWithKey(t, n, admin, "order-4711", body)
		}()
	}
	wg.Wait()
	created := 0
	for _, r := range results {
		switch r.code {
		case 201:
			created++
		case 200:
			if r.replayed != "true" {
				t.Errorf("a replay without Idempotent-Replayed: %+v", r)
			}
		default:
			t.Fatalf("parallel originate: %+v", r)
		}
		if r.body != results[0].body {
			t.Fatalf("bodies differ: %q vs %q", r.body, results[0].body)
		}
	}
	if created != 1 {
		t.Fatalf("%d requests created a call, want 1: %+v", created, results)
	}
	var call struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(results[0].body), &call); err != nil || call.ID == "" {
		t.Fatalf("body %q: %v", results[0].body, err)
	}
	// The call rings 1001 (a bot, which answers), then 1002: wait until
	// it is over, counting the calls begun meanwhile.
	calls := map[string]bool{}
	deadline := time.After(20 * time.Second)
	for ended := false; !ended; {
		select {
		case env := <-sub.C():
			if env.Event.Call != nil && env.Event.Type == "call.new" {
				calls[env.Event.Call.ID] = true
			}
			if env.Event.Type == "call.answered" && env.Event.Call != nil && env.Event.Call.ID == call.ID {
				if err := n.Core().Hangup(context.Background(), tenant, call.ID); err != nil {
					t.Fatal(err)
				}
			}
			if env.Event.Type == "call.ended" && env.Event.Call != nil && env.Event.Call.ID == call.ID {
				ended = true
			}
		case <-deadline:
			t.Fatal("the originated call never ended")
		}
	}
	sub.Close()
	if len(calls) != 1 || !calls[call.ID] {
		t.Fatalf("calls begun: %v, want only %s", calls, call.ID)
	}

	// Misuse: another body with the key, an over-long key.
	if r := originateWithKey(t, n, admin, "order-4711", `{"from":"1001","to":"1003"}`); r.code != 422 || !strings.Contains(r.body, "idempotency_key_reused") {
		t.Fatalf("key reused with another body: %+v", r)
	}
	if r := originateWithKey(t, n, admin, strings.Repeat("k", 256), body); r.code != 400 {
		t.Fatalf("256-character key: %+v", r)
	}
	closeNode(t, n)

	// After a restart the key still answers with the first call, and
	// nothing rings.
	n = startDemoAt(t, dir)
	defer closeNode(t, n)
	sub = n.Core().Subscribe(tenant, 1024)
	defer sub.Close()
	r := originateWithKey(t, n, admin, "order-4711", body)
	if r.code != 200 || r.body != results[0].body || r.replayed != "true" {
		t.Fatalf("after a restart: %+v, want 200 with %q", r, results[0].body)
	}
	// Another principal's key of the same name is its own: admin/admin
	// (a user, not the cloudpbx key) gets a new call.
	r2 := originateWithKey(t, n, "Basic YWRtaW46YWRtaW4=", "order-4711", body)
	if r2.code != 201 || r2.body == results[0].body {
		t.Fatalf("another principal's key: %+v", r2)
	}
	select {
	case env := <-sub.C():
		if env.Event.Type != "call.new" && env.Event.Type != "channel.new" {
			t.Fatalf("first event after restart: %s", env.Event.Type)
		}
		if env.Event.Call != nil && env.Event.Call.ID == call.ID {
			t.Fatal("the replay rang again")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the other principal's originate did not start a call")
	}
}

// TestVIPTelRandomIDAcrossConnections: VIPTel's call_random_id is the
// same idempotency key: a client that reconnects and retries gets the
// first call's unique id, and the id reused for another call is refused.
func TestVIPTelRandomIDAcrossConnections(t *testing.T) {
	n := startDemo(t)
	first := viptelClient(t, n, "viptel", "viptel")
	id := viptelCreate(t, first, "42", "43", "retry7")
	_ = first.CloseNow()
	again := viptelClient(t, n, "viptel", "viptel")
	if got := viptelCreate(t, again, "42", "43", "retry7"); got != id {
		t.Fatalf("the retry on a new connection made call %s, want %s", got, id)
	}
	calls, _ := n.Core().Calls("MojaCentrala")
	if len(calls) != 1 {
		t.Fatalf("%d live calls, want 1", len(calls))
	}
	viptelSend(t, again, map[string]any{"action": "call.create", "from": "42", "to": "13", "call_random_id": "retry7"})
	for {
		m := viptelRead(t, again)
		if _, ok := m["code"]; ok {
			if m["code"] != 400.0 {
				t.Fatalf("call_random_id reused for another call: %v", m)
			}
			break
		}
	}
}
