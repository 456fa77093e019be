package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-pbx/switchboard/internal/demobot"
)

// wsEvents opens the native event stream as admin with a real WebSocket
// client; the returned func reads the next event (its raw JSON too).
func wsEvents(t *testing.T, n *Node) func(ctx context.Context) (map[string]any, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	h := http.Header{}
	h.Set("Authorization", "Basic YWRtaW46YWRtaW4=") // admin:admin
	ws, _, err := websocket.Dial(ctx, "ws://"+n.HTTPAddr().String()+"/api/v1/events", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	return func(ctx context.Context) (map[string]any, string) {
		t.Helper()
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("event stream: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("event %s: %v", b, err)
		}
		return m, string(b)
	}
}

// TestDoorPhoneCallCarriesCamera: the demo's door phone 2004 (bound to
// camera 44) calls 1001 over real SIP; every call and channel event of
// that call on the native WebSocket carries "camera":44, and the camera
// list names the door phone. A call between other phones carries none.
func TestDoorPhoneCallCarriesCamera(t *testing.T) {
	n := startDemo(t)
	next := wsEvents(t, n)
	p := phone(t, n, "2004", "2001")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		from, to string
		camera   float64
	}{{"2004", "1001", 44}, {"2001", "1002", 0}} {
		done := make(chan error, 1)
		go func() {
			res, err := p.Call(ctx, tc.from, tc.to, 500*time.Millisecond)
			if err == nil && !res.Answered {
				err = errString("not answered")
			}
			done <- err
		}()
		types := map[string]bool{}
		for {
			ev, raw := next(ctx)
			typ, _ := ev["type"].(string)
			if !strings.HasPrefix(typ, "call.") && !strings.HasPrefix(typ, "channel.") {
				continue
			}
			types[typ] = true
			cam, _ := ev["camera"].(float64)
			if cam != tc.camera {
				t.Errorf("%s -> %s: %s carries camera %v: %s", tc.from, tc.to, typ, ev["camera"], raw)
			}
			if call, ok := ev["call"].(map[string]any); ok {
				if c, _ := call["camera"].(float64); c != tc.camera {
					t.Errorf("%s -> %s: %s call.camera %v", tc.from, tc.to, typ, call["camera"])
				}
			}
			if typ == "call.ended" {
				break
			}
		}
		if err := <-done; err != nil {
			t.Fatalf("%s -> %s: %v", tc.from, tc.to, err)
		}
		for _, typ := range []string{"call.new", "channel.new", "call.answered", "channel.hangup", "call.ended"} {
			if !types[typ] {
				t.Errorf("%s -> %s: no %s", tc.from, tc.to, typ)
			}
		}
	}
	req, _ := http.NewRequest("GET", "http://"+n.HTTPAddr().String()+"/api/v1/cameras", nil)
	req.SetBasicAuth("admin", "admin")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var list struct {
		Cameras []struct {
			ID        int    `json:"id"`
			Extension string `json:"extension"`
		} `json:"cameras"`
	}
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil || len(list.Cameras) != 1 || list.Cameras[0].Extension != "2004" {
		t.Fatalf("camera list: %+v %v", list, err)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestDoorCodeOverSIP: the demo's relay 17 opens with *1 pressed (RFC 4733
// over real RTP) by an extension that called the door phone 2004: the
// native WebSocket shows relay.state 1 by dtmf, then 0 by pulse after the
// default 3 s, and the audit log has the entry. The same code pressed by
// the door phone itself, calling 2001, opens nothing.
func TestDoorCodeOverSIP(t *testing.T) {
	n := startDemo(t)
	next := wsEvents(t, n)
	p := phone(t, n, "2004", "2001")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	callErr := make(chan error, 2)
	call := func(from, to string) {
		res, err := p.CallWith(ctx, from, to, 1500*time.Millisecond, demobot.CallOptions{SendDigits: "*1"})
		if err == nil && !res.Answered {
			err = fmt.Errorf("%s -> %s not answered: %+v", from, to, res)
		}
		callErr <- err
	}
	// relayOrEnd reads events until call.ended, collecting relay states
	// and the digits the PBX saw.
	relayOrEnd := func(stopAt string, want int) (relays []string, digits string) {
		t.Helper()
		for {
			ev, _ := next(ctx)
			switch ev["type"] {
			case "relay.state":
				data, _ := ev["data"].(map[string]any)
				relays = append(relays, fmt.Sprint(data["relay"], "=", data["state"], "/", data["by"]))
			case "channel.dtmf":
				d, _ := ev["digit"].(string)
				digits += d
			}
			if ev["type"] == stopAt && len(relays) >= want {
				return relays, digits
			}
		}
	}

	go call("2004", "2001") // the door phone presses the code: nothing opens
	if relays, digits := relayOrEnd("call.ended", 0); len(relays) != 0 || digits != "*1" {
		t.Fatalf("the door phone's own code: relays %v, digits %q", relays, digits)
	}
	if err := <-callErr; err != nil {
		t.Fatal(err)
	}
	go call("2001", "2004")
	relays, digits := relayOrEnd("relay.state", 2)
	if err := <-callErr; err != nil {
		t.Fatal(err)
	}
	if digits != "*1" || len(relays) != 2 || relays[0] != "17=1/dtmf" || relays[1] != "17=0/pulse" {
		t.Fatalf("operator's code: relays %v, digits %q", relays, digits)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, _ := http.NewRequest("GET", "http://"+n.HTTPAddr().String()+"/api/v1/audit?action=DTMF", nil)
		req.SetBasicAuth("admin", "admin")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(b), `"principal":"2001"`) && strings.Contains(string(b), `"target":"relay 17"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit entry: %s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
