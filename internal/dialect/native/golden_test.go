package native

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenFixture is a deterministic API: a fixed clock, fixed id sequence,
// a queue and a fake engine, so every response is the same bytes each run.
func goldenFixture(t *testing.T) *fixture {
	t.Helper()
	clk := &testClock{t: time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)}
	cdrs := &memStore{}
	core, err := pbx.NewCore(pbx.Directory{Tenants: []pbx.TenantEntry{{
		Name: "a", Domain: "a.local",
		Extensions: []pbx.ExtensionEntry{{Number: "1001", Name: "Jan", Camera: 44}, {Number: "1002", Name: "Robert"}},
		Queues: []pbx.QueueEntry{{Name: "VMX", Number: "700", Strategy: pbx.StrategyRingAll, JoinEmpty: true,
			Members: []pbx.QueueMemberEntry{{Number: "1001"}}}},
	}}}, cdrs, pbx.Options{Now: clk.now, FirstSequence: 7})
	if err != nil {
		t.Fatal(err)
	}
	eng := &fakeEngine{core: core}
	core.SetEngine(eng)
	dir, err := auth.NewDirectory([]auth.User{{Tenant: "a", Name: "u1001", Password: "user-pass-1", Role: "user", Extension: "1001"}},
		[]auth.APIKey{{Tenant: "a", Name: "crm", Key: "key-crm", Role: "admin"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	api := New(core, cdrs, dir, nil)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(func() { srv.Close(); core.Close() })
	return &fixture{srv: srv, core: core, eng: eng, cdrs: cdrs, clk: clk, dir: dir, api: api}
}

// golden compares got with testdata/golden/name, or rewrites it (-update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to record)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n got: %s\nwant: %s", name, got, want)
	}
}

// TestGoldenResponses pins the native API's wire format byte for byte:
// status, content type and body of a scripted session, and the event
// stream it causes. A change to a domain struct must not change these.
func TestGoldenResponses(t *testing.T) {
	f := goldenFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{}
	h.Set("Authorization", "Bearer key-crm")
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.srv.URL, "http")+"/api/v1/events", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()

	var transcript bytes.Buffer
	step := func(method, path, cred, body string) string {
		t.Helper()
		req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
		switch {
		case strings.HasPrefix(cred, "Bearer "):
			req.Header.Set("Authorization", cred)
		case cred != "":
			u, p, _ := strings.Cut(cred, ":")
			req.SetBasicAuth(u, p)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Fprintf(&transcript, "### %s %s\n%d %s\n%s\n", method, path, res.StatusCode, res.Header.Get("Content-Type"), b)
		return string(b)
	}
	key := "Bearer key-crm"
	step("GET", "/api/v1/extensions", key, "")
	step("GET", "/api/v1/extensions/1001", key, "")
	var call pbx.Call
	json.Unmarshal([]byte(step("POST", "/api/v1/calls", key, `{"from":"1001","to":"1002","caller_id":"555"}`)), &call)
	f.clk.advance(2 * time.Second)
	f.core.CallAnswered("a", call.ID)
	step("GET", "/api/v1/calls", key, "")
	step("GET", "/api/v1/calls", "u1001:user-pass-1", "")
	step("POST", "/api/v1/channels/"+call.ID+"/dtmf", key, `{"digits":"12#"}`)
	step("GET", "/api/v1/queues", key, "")
	step("POST", "/api/v1/queues/VMX/members", key, `{"number":"1002"}`)
	step("POST", "/api/v1/queues/VMX/members/1002/pause", key, `{"paused":true,"reason":"lunch"}`)
	step("GET", "/api/v1/queues/VMX/calls", key, "")
	step("GET", "/api/v1/conferences", key, "")
	f.clk.advance(30 * time.Second)
	f.core.EndCall(context.Background(), "a", call.ID, pbx.EndAnswer, pbx.Quality{CallID: "abc@127.0.0.1", Codec: "PCMU", MOS: 4.3})
	step("GET", "/api/v1/cdrs", key, "")
	step("GET", "/api/v1/cdrs/1", key, "")
	// Errors, each in the API's own format.
	step("GET", "/api/v1/cdrs/999", key, "")
	step("GET", "/api/v1/nothing", key, "")
	step("PUT", "/api/v1/calls", key, "")
	step("POST", "/api/v1/calls", key, `{"from":`)
	step("POST", "/api/v1/calls", key, `{"from":"1001","to":"x"}`)
	step("GET", "/api/v1/calls", "", "")
	step("GET", "/api/v1/cdrs", "u1001:user-pass-1", "")
	golden(t, "session.txt", transcript.Bytes())

	var events bytes.Buffer
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("events so far:\n%s\n%v", events.String(), err)
		}
		events.Write(b)
		events.WriteByte('\n')
		if bytes.Contains(b, []byte(`"type":"call.ended"`)) {
			break
		}
	}
	golden(t, "events.jsonl", events.Bytes())

	// The OpenAPI document is large; its hash pins it.
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/openapi.json", nil)
	req.Header.Set("Authorization", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(res.Body)
	res.Body.Close()
	sum := sha256.Sum256(doc)
	golden(t, "openapi.sha256", []byte(hex.EncodeToString(sum[:])+"\n"))
}
