package viptel

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// specFile is one of the spec's own example messages, verbatim
// (testdata/spec: the translation's ASCII quotes, its whitespace).
func specFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "spec", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return out.String()
}

// TestSpecExampleEvents: with the clock and id sequence the spec's
// examples imply, switchboard sends the spec's example events byte for
// byte (after whitespace): call.begin, call.create_response, call.end and
// the 503 restart notice.
func TestSpecExampleEvents(t *testing.T) {
	t.Run("call.begin", func(t *testing.T) {
		f := newFixture(t, Options{}, time.Unix(1453467797, 0), 684)
		cl := dial(t, f, "/")
		cl.login("viptel", "viptel")
		if _, _, err := f.core.NewCall("a", "42", "43", false, pbx.ChannelSpec{Peer: "42", Exten: "42", Dir: pbx.Inbound}); err != nil {
			t.Fatal(err)
		}
		got, err := cl.readRaw()
		if err != nil {
			t.Fatal(err)
		}
		if want := compact(t, specFile(t, "call.begin.json")); string(got) != want {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	})
	lines := strings.Split(strings.TrimSpace(string(specFile(t, "unique-id-change.jsonl"))), "\n")
	t.Run("call.create_response", func(t *testing.T) {
		f := newFixture(t, Options{}, time.Unix(14549, 0), 678)
		cl := dial(t, f, "/")
		cl.login("viptel", "viptel")
		cl.sendRaw(`{"action":"call.create","from":"12","to":"13","call_random_id":"1236"}`)
		got, err := cl.readRaw()
		if err != nil {
			t.Fatal(err)
		}
		if want := compact(t, []byte(lines[0])); string(got) != want {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("call.end", func(t *testing.T) {
		f := newFixture(t, Options{}, time.Unix(1453466550, 0), 679)
		cl := dial(t, f, "/")
		cl.login("viptel", "viptel")
		_, call, err := f.core.NewCall("a", "12", "13", false, pbx.ChannelSpec{Peer: "12", Exten: "12", Dir: pbx.Inbound})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.core.EndCall(context.Background(), "a", call.ID, pbx.EndChanUnavail, pbx.Quality{}); err != nil {
			t.Fatal(err)
		}
		if got, want := cl.readEvent("call.end"), compact(t, []byte(lines[2])); mustJSON(t, got) != want {
			t.Fatalf("got  %s\nwant %s", mustJSON(t, got), want)
		}
	})
	t.Run("restart", func(t *testing.T) {
		f := defaultFixture(t)
		cl := dial(t, f, "/")
		cl.login("viptel", "viptel")
		f.core.AnnounceShutdown()
		got, err := cl.readRaw()
		if err != nil {
			t.Fatal(err)
		}
		if want := compact(t, specFile(t, "restart.json")); string(got) != want {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	})
}

// mustJSON re-encodes a decoded event in the wire's key order (call.end's
// keys sort the way the spec lists them).
func mustJSON(t *testing.T, m map[string]any) string {
	t.Helper()
	b, err := json.Marshal(callEnd{Event: m["event"].(string), UniqueID: m["unique_id"].(string), Status: m["status"].(string)})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestGoldenSession replays the spec's example requests verbatim and pins
// every byte the server answers (testdata/golden/session.txt; -update
// rewrites it). The clock and sequence make the spec's call.create
// example create call 1453223070.4, the id its hangup and redirect
// examples name, so those run against a real call.
func TestGoldenSession(t *testing.T) {
	f := newFixture(t, Options{}, time.Unix(1453223070, 0), 4)
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	var cl *client
	recv := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			b, err := cl.readRaw()
			if err != nil {
				t.Fatalf("read %d of %d: %v", i+1, n, err)
			}
			w.WriteString("< " + strings.ReplaceAll(string(b), cl.nonce, "NONCE") + "\n")
		}
	}
	sendSpec := func(name string, answers int) {
		t.Helper()
		b := specFile(t, name)
		w.WriteString("> " + name + "\n")
		cl.sendRaw(string(b))
		recv(answers)
	}
	connect := func() {
		t.Helper()
		w.WriteString("-- connect\n")
		cl = dial(t, f, "/")
		w.WriteString(`< {"code":100,"message":"` + msgHello + `","nonce":"NONCE"}` + "\n")
	}
	closed := func() {
		t.Helper()
		cl.expectClosed()
		w.WriteString("-- closed\n")
	}

	connect()
	sendSpec("user.login.json", 2) // the spec's hash is for another nonce
	closed()
	connect()
	sendSpec("login.json", 2) // no such user
	closed()
	connect()
	sendSpec("request-structure.json", 1) // before login
	w.WriteString("> user.login with SHA1(SHA1(viptel:viptel):NONCE)\n")
	cl.send(map[string]any{"action": "user.login", "username": "viptel", "password": hash("viptel", "viptel", cl.nonce)})
	recv(1)
	sendSpec("call.create.json", 2)   // call.create_response, call.begin
	sendSpec("call.redirect.json", 0) // success has no answer
	sendSpec("call.hangup.json", 1)   // call.end
	sendSpec("call.hangup.json", 1)   // the call is gone
	sendSpec("request-structure.json", 1)
	sendSpec("user.logout.json", 1)
	closed()
	w.Flush()
	golden(t, "session.txt", out.Bytes())

	f.eng.mu.Lock()
	defer f.eng.mu.Unlock()
	if len(f.eng.redi) != 1 || f.eng.redi[0] != "1453223070.4>13" {
		t.Fatalf("redirects %v", f.eng.redi)
	}
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
		t.Errorf("%s differs from the golden file:\n got:\n%s\nwant:\n%s", name, got, want)
	}
}
