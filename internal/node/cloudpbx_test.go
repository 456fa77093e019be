package node

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-pbx/switchboard/internal/config"
)

// TestCloudPBXOnTheDemo: the demo serves the CloudPBX dialect as the spec
// prints it: the WebSocket /ws/pbx_MojaCentrala?pbxkey=MyExampleKey shows
// a /dial call as subscriber events (busy with the other party, then
// idle), and the call's CDR is in GET /cdr afterwards. A key of the
// database that was revoked, and a PBX name that is not the key's, get
// 401.
func TestCloudPBXOnTheDemo(t *testing.T) {
	n := startDemo(t)
	base := "http://" + n.HTTPAddr().String()
	do := func(method, path, key, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		return roundTrip(t, req)
	}
	if code, body := do("GET", "/cdr", "", ""); code != 401 || body != "Unauthorized" {
		t.Fatalf("anonymous /cdr: %d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws := "ws://" + n.HTTPAddr().String() + "/ws/pbx_MojaCentrala?pbxkey=MyExampleKey"
	if _, res, err := websocket.Dial(ctx, strings.Replace(ws, "pbx_MojaCentrala", "pbx_Other", 1), nil); err == nil || res == nil || res.StatusCode != 401 {
		t.Fatalf("another PBX's channel: %v %v", res, err)
	}
	c, _, err := websocket.Dial(ctx, ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if code, body := do("GET", "/dial?cpa=1003&cpb=1004", "MyExampleKey", ""); code != 200 || body != "OK" {
		t.Fatalf("dial: %d %s", code, body)
	}
	var busy, idle bool
	for !(busy && idle) {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read (busy %v idle %v): %v", busy, idle, err)
		}
		var m struct {
			ID      uint64 `json:"id"`
			Channel string `json:"channel"`
			Text    struct {
				Subscriber *struct {
					Peer              string `json:"peer"`
					StatusValue       int    `json:"statusValue"`
					ConnectPeerNumber string `json:"connectPeerNumber"`
				} `json:"subscriber"`
			} `json:"text"`
		}
		if err := json.Unmarshal(b, &m); err != nil || m.ID == 0 || m.Channel != "pbx_MojaCentrala" {
			t.Fatalf("message %s: %v", b, err)
		}
		s := m.Text.Subscriber
		if s == nil || s.Peer != "MojaCentrala-1003" {
			continue
		}
		if s.StatusValue == 1 && s.ConnectPeerNumber == "1004" {
			busy = true
			// The bots answer; end the call from the API so the test
			// does not wait for them.
			hangupAll(t, base)
		}
		if busy && s.StatusValue == 0 {
			idle = true
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := do("GET", "/cdr", "MyExampleKey", "")
		if code == 200 && strings.Contains(body, `"src":"1003"`) && strings.Contains(body, `"dst":"1004"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the call's CDR: %d %.500s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A database key works until it is revoked.
	code, body := do("POST", "/api/v1/keys", "MyExampleKey", `{"name":"crm","role":"admin"}`)
	var created struct {
		Key     string `json:"key"`
		Details struct {
			ID int64 `json:"id"`
		} `json:"details"`
	}
	if code != 201 || json.Unmarshal([]byte(body), &created) != nil {
		t.Fatalf("create key: %d %s", code, body)
	}
	if code, body := do("GET", "/cdr", created.Key, ""); code != 200 {
		t.Fatalf("new key: %d %s", code, body)
	}
	if code, body := do("DELETE", fmt.Sprintf("/api/v1/keys/%d", created.Details.ID), "MyExampleKey", ""); code/100 != 2 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	if code, body := do("GET", "/cdr", created.Key, ""); code != 401 || body != "Unauthorized" {
		t.Fatalf("revoked key: %d %s", code, body)
	}
}

// hangupAll ends every live call of the demo tenant through the native API.
func hangupAll(t *testing.T, base string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/calls", nil)
	req.Header.Set("Authorization", "Bearer MyExampleKey")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var calls []struct {
		ID string `json:"id"`
	}
	json.NewDecoder(res.Body).Decode(&calls)
	res.Body.Close()
	for _, c := range calls {
		req, _ := http.NewRequest("DELETE", base+"/api/v1/calls/"+c.ID, nil)
		req.Header.Set("Authorization", "Bearer MyExampleKey")
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}
}

// TestCloudPBXCostFromTrunkRates: a call out through a trunk with a rate
// table shows its zone and cost in CloudPBX's /cdr, from the config
// through the core and the SQLite CDR store.
func TestCloudPBXCostFromTrunkRates(t *testing.T) {
	n := startDemoWith(t, Options{}, func(c *config.Config) {
		tn := c.Tenant("MojaCentrala")
		tn.Trunks[0].Rates = []config.Rate{{Prefix: "0048", Zone: "Polska", PerMinute: 12}, {Prefix: "00", Zone: "Zagranica", PerMinute: 150}}
	})
	base := "http://" + n.HTTPAddr().String()
	get := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer MyExampleKey")
		return roundTrip(t, req)
	}
	if code, body := get("/dial?cpa=1003&cpb=0048221234567"); code != 200 {
		t.Fatalf("dial: %d %s", code, body)
	}
	deadline := time.Now().Add(20 * time.Second)
	hungUp := false
	for {
		code, body := get("/cdr")
		if code == 200 && strings.Contains(body, `"dst":"0048221234567"`) {
			var rows []map[string]any
			if err := json.Unmarshal([]byte(body), &rows); err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if r["dst"] == "0048221234567" {
					if r["zone"] != "Polska" || (r["cost"] != "0" && r["cost"] != "12") {
						t.Fatalf("rated CDR %v", r)
					}
					if r["billsec"].(float64) > 0 && r["cost"] != "12" {
						t.Fatalf("answered call cost %v", r)
					}
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no CDR for the outside call: %d %.500s", code, body)
		}
		if !hungUp && time.Now().After(deadline.Add(-18*time.Second)) {
			hangupAll(t, base)
			hungUp = true
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCloudPBXQueueAndConferenceOnTheDemo: a real WebSocket client on the
// demo sees a call into Kolejka1 as queue and qmember events, and a call
// into the room SesjaRady as cmember with the member's own caller id.
func TestCloudPBXQueueAndConferenceOnTheDemo(t *testing.T) {
	n := startDemo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+n.HTTPAddr().String()+"/ws/pbx_MojaCentrala?pbxkey=MyExampleKey", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	// wait reads until an event named name whose body has every want.
	wait := func(name string, want ...string) string {
		t.Helper()
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("waiting for %s %v: %v", name, want, err)
			}
			var m struct {
				Text map[string]json.RawMessage `json:"text"`
			}
			if json.Unmarshal(b, &m) != nil {
				t.Fatalf("not JSON: %s", b)
			}
			if testing.Verbose() {
				t.Logf("%s", b)
			}
			body, ok := m.Text[name]
			if !ok {
				continue
			}
			all := true
			for _, w := range want {
				all = all && strings.Contains(string(body), w)
			}
			if all {
				return string(body)
			}
		}
	}
	p := phone(t, n, "2001", "2002")
	var calls sync.WaitGroup
	defer calls.Wait()
	call := func(from, to string) {
		calls.Add(1)
		go func() {
			defer calls.Done()
			if _, err := p.Call(ctx, from, to, 1500*time.Millisecond); err != nil {
				t.Errorf("call %s -> %s: %v", from, to, err)
			}
		}()
	}
	call("2001", "7000") // Kolejka1, served by agent 101 (a bot)
	wait("queue", `"peer":"Kolejka1"`, `"calls":"1"`)
	wait("qmember", `"peer":"MojaCentrala-101"`, `"queue":"Kolejka1"`, `"m_name":"Sekretariat 3"`)
	call("2002", "8000") // the room SesjaRady
	wait("cmember", `"action":"add"`, `"conference":"SesjaRady"`, `"callerIDNum":"2002"`, `"callerIDName":"Phone 2002"`)
	wait("cmember", `"action":"remove"`, `"callerIDNum":"2002"`)
}

// TestCloudPBXUnderAPrefix: with prefix: /cp the dialect's routes, the
// WebSocket included, live under it only.
func TestCloudPBXUnderAPrefix(t *testing.T) {
	yes := true
	n := startDemoWith(t, Options{}, func(c *config.Config) {
		c.Dialects = map[string]config.Dialect{"native": {Enabled: &yes}, "cloudpbx": {Enabled: &yes, Prefix: "/cp"}}
	})
	base := "http://" + n.HTTPAddr().String()
	for path, want := range map[string]int{"/cp/cdr": 200, "/cp/record": 200, "/cdr": 404} {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer MyExampleKey")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, res.StatusCode, want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+n.HTTPAddr().String()+"/cp/ws/pbx_MojaCentrala?pbxkey=MyExampleKey", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.CloseNow()
}
