package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// echoDialect is a dialect written the way a new one would be: a few lines
// over dialect.Deps. GET /echo/calls answers how many calls the caller may
// see; credentials go through the shared gate, decisions through the
// shared service, and every request is audited.
type echoDialect struct{ d dialect.Deps }

func (e echoDialect) Name() string                { return "echo" }
func (e echoDialect) Routes() []string            { return []string{"GET /echo/calls"} }
func (e echoDialect) Close(context.Context) error { return nil }
func (e echoDialect) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _, err := e.d.Gate.Check(r.Context(), dialect.Presented{Authorization: r.Header.Get("Authorization"), IP: dialect.RemoteIP(r)})
		status := http.StatusOK
		var body string
		switch {
		case err != nil:
			status, body = http.StatusUnauthorized, "ERR no auth"
		default:
			calls, err := e.d.Service.Calls(p)
			if errors.Is(err, dialect.ErrForbidden) {
				status, body = http.StatusForbidden, "ERR forbidden"
			} else {
				body = fmt.Sprintf("OK %d", len(calls))
			}
		}
		e.d.AuditRequest(r, p, "echo", "GET /echo/calls", r.URL.Path, status, "")
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
}

// TestADialectPlugsIn: a dialect registered by the node's options and
// enabled in the config is served on the shared listener under its prefix
// and on a listener of its own, authenticates like native, and is audited;
// a right denied to a key is denied in both dialects at once.
func TestADialectPlugsIn(t *testing.T) {
	yes := true
	n := startDemoWith(t, Options{Dialects: map[string]dialect.Factory{"echo": func(d dialect.Deps) (dialect.Dialect, error) {
		return echoDialect{d}, nil
	}}}, func(c *config.Config) {
		c.Dialects = map[string]config.Dialect{"echo": {Enabled: &yes, Prefix: "/x", Listen: "127.0.0.1:0"}}
		t := c.Tenant("MojaCentrala")
		t.APIKeys = append(t.APIKeys, config.APIKey{Name: "nocalls", Key: "no-calls-key-0123456789", Role: "admin", Deny: []string{auth.ReadCalls}})
	})
	get := func(base, path, key string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		return roundTrip(t, req)
	}
	shared := "http://" + n.HTTPAddr().String()
	own := "http://" + n.DialectAddr("echo").String()
	for _, base := range []struct{ url, path string }{{shared, "/x/echo/calls"}, {own, "/echo/calls"}} {
		if code, body := get(base.url, base.path, ""); code != 401 || body != "ERR no auth" {
			t.Fatalf("%s%s anonymous: %d %s", base.url, base.path, code, body)
		}
		if code, body := get(base.url, base.path, "MyExampleKey"); code != 200 || !strings.HasPrefix(body, "OK ") {
			t.Fatalf("%s%s with a key: %d %s", base.url, base.path, code, body)
		}
		if code, body := get(base.url, base.path, "no-calls-key-0123456789"); code != 403 {
			t.Fatalf("%s%s with calls.read denied: %d %s", base.url, base.path, code, body)
		}
	}
	if code, _ := get(shared, "/echo/calls", "MyExampleKey"); code != 404 {
		t.Fatalf("the prefix is not optional: %d", code)
	}
	// The same key is refused by native too: one permission path.
	if code, _ := get(shared, "/api/v1/calls", "no-calls-key-0123456789"); code != 403 {
		t.Fatalf("native with calls.read denied: %d", code)
	}
	// Audited like native: the echo requests are in the audit log.
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := get(shared, "/api/v1/audit?limit=100", "MyExampleKey")
		var page struct {
			Entries []struct {
				Dialect string `json:"dialect"`
				Status  int    `json:"status"`
			} `json:"entries"`
		}
		json.Unmarshal([]byte(body), &page)
		seen := map[int]bool{}
		for _, e := range page.Entries {
			if e.Dialect == "echo" {
				seen[e.Status] = true
			}
		}
		// Anonymous refusals are audited without a tenant, so a tenant's
		// query does not show them (as with native).
		if code == 200 && seen[200] && seen[403] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("echo requests not audited: %d %.300s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUnknownDialectIsRefused: a config naming a dialect this build does
// not have fails at start with the name.
func TestUnknownDialectIsRefused(t *testing.T) {
	cfg := config.Demo()
	yes := true
	cfg.Dialects = map[string]config.Dialect{"nosuch": {Enabled: &yes}}
	cfg.Listen.HTTP, cfg.Listen.SIP = "127.0.0.1:0", "127.0.0.1:0"
	cfg.SetDataDir(t.TempDir())
	n, err := Start(context.Background(), cfg, Options{})
	if err == nil {
		n.Close(context.Background())
		t.Fatal("started with an unknown dialect")
	}
	if !strings.Contains(err.Error(), "dialects.nosuch") {
		t.Fatalf("error %v", err)
	}
}

// TestShutdownIsAnnouncedBeforeHangups: subscribers learn the node stops
// before the calls it hangs up end.
func TestShutdownIsAnnouncedBeforeHangups(t *testing.T) {
	n := startDemo(t)
	sub := n.Core().Subscribe("MojaCentrala", 1024)
	defer sub.Close()
	svc := dialect.NewService(n.Core())
	admin := auth.Principal{Tenant: "MojaCentrala", Name: "admin", Role: "admin"}
	if _, err := svc.Originate(context.Background(), admin, pbxOriginate("1003", "1004"), false); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(15 * time.Second)
	for answered := false; !answered; {
		select {
		case env := <-sub.C():
			answered = env.Event.Type == "call.answered"
		case <-deadline:
			t.Fatal("no answer")
		}
	}
	go n.Close(context.Background())
	for {
		select {
		case env, ok := <-sub.C():
			if !ok {
				t.Fatal("stream closed before the shutdown notice")
			}
			switch env.Event.Type {
			case "system.shutdown":
				return
			case "call.ended":
				t.Fatal("a call ended before the shutdown was announced")
			}
		case <-time.After(15 * time.Second):
			t.Fatal("no shutdown notice")
		}
	}
}

func pbxOriginate(from, to string) pbx.OriginateRequest {
	return pbx.OriginateRequest{From: from, To: to}
}

// TestDemoDoorRelay: the demo's virtual relay 17 starts off, opens for a
// pulse and closes again, with relay.state events; a readonly account reads
// it but may not switch it; bad input is refused.
func TestDemoDoorRelay(t *testing.T) {
	n := startDemoWith(t, Options{}, func(c *config.Config) {
		t := c.Tenant("MojaCentrala")
		t.Users = append(t.Users, config.User{Name: "watch", Password: "watch-pass-123", Role: "readonly"})
	})
	sub := n.Core().Subscribe("MojaCentrala", 64)
	defer sub.Close()
	base := "http://" + n.HTTPAddr().String()
	do := func(method, path, user, pass, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.SetBasicAuth(user, pass)
		return roundTrip(t, req)
	}
	if code, body := do("GET", "/api/v1/relays/17", "admin", "admin", ""); code != 200 || !strings.Contains(body, `"state":0`) || !strings.Contains(body, `"driver":"virtual"`) {
		t.Fatalf("relay 17 at start: %d %s", code, body)
	}
	if code, body := do("PUT", "/api/v1/relays/17", "2001", "demo", `{"state":1,"pulse_ms":300}`); code != 200 || !strings.Contains(body, `"state":1`) {
		t.Fatalf("door open by a user: %d %s", code, body)
	}
	var states []string
	deadline := time.After(5 * time.Second)
	for len(states) < 2 {
		select {
		case env := <-sub.C():
			if env.Event.Type == "relay.state" {
				states = append(states, env.Event.Data["state"]+"/"+env.Event.Data["by"])
			}
		case <-deadline:
			t.Fatalf("relay events: %v", states)
		}
	}
	if states[0] != "1/pulse" || states[1] != "0/pulse" {
		t.Fatalf("relay events %v", states)
	}
	if code, body := do("GET", "/api/v1/relays", "watch", "watch-pass-123", ""); code != 200 || !strings.Contains(body, `"id":17`) {
		t.Fatalf("readonly list: %d %s", code, body)
	}
	if code, _ := do("PUT", "/api/v1/relays/17", "watch", "watch-pass-123", `{"state":1}`); code != 403 {
		t.Fatalf("readonly switching: %d", code)
	}
	for _, tc := range []struct {
		path, body string
		want       int
	}{
		{"/api/v1/relays/99", `{"state":1}`, 404},
		{"/api/v1/relays/17", `{"state":2}`, 400},
		{"/api/v1/relays/17", `{}`, 400},
		{"/api/v1/relays/abc", `{"state":1}`, 400},
		{"/api/v1/relays/17", `{"state":1,"pulse_ms":3600000}`, 400},
	} {
		if code, body := do("PUT", tc.path, "admin", "admin", tc.body); code != tc.want {
			t.Errorf("PUT %s %s: %d %s, want %d", tc.path, tc.body, code, body, tc.want)
		}
	}
}

// TestOutboundCallerIDThroughTheCarrier: a click-to-call out through the
// demo carrier presents the tenant's configured number to the far end
// (not the trunk's caller id, not the extension); another number is 403.
func TestOutboundCallerIDThroughTheCarrier(t *testing.T) {
	n := startDemoWith(t, Options{}, func(c *config.Config) {
		c.Tenant("MojaCentrala").CallerIDs = []string{"+48221234567"}
	})
	sub := n.Core().Subscribe("MojaCentrala", 256)
	defer sub.Close()
	post := func(body string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+n.HTTPAddr().String()+"/api/v1/calls", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer MyExampleKey")
		return roundTrip(t, req)
	}
	if code, body := post(`{"from":"1003","to":"0221112233","outbound_caller_id":"+48999"}`); code != 403 {
		t.Fatalf("unlisted outbound caller id: %d %s", code, body)
	}
	if code, body := post(`{"from":"1003","to":"0221112233","outbound_caller_id":"+48221234567"}`); code != 201 {
		t.Fatalf("listed outbound caller id: %d %s", code, body)
	}
	deadline := time.After(15 * time.Second)
	for {
		select {
		case env := <-sub.C():
			if ch := env.Event.Channel; env.Event.Type == "channel.new" && ch != nil && ch.IsTrunk {
				if ch.CallerIDNum != "+48221234567" {
					t.Fatalf("the carrier leg presents %q", ch.CallerIDNum)
				}
				return
			}
		case <-deadline:
			t.Fatal("no carrier leg")
		}
	}
}

// TestDemoCamera: the demo's synthetic camera 44 gives a JPEG snapshot and
// an MJPEG stream a real HTTP client reads part by part; a readonly
// account may not see it; an unknown camera is 404.
func TestDemoCamera(t *testing.T) {
	n := startDemoWith(t, Options{}, func(c *config.Config) {
		t := c.Tenant("MojaCentrala")
		t.Users = append(t.Users, config.User{Name: "watch", Password: "watch-pass-123", Role: "readonly"})
	})
	base := "http://" + n.HTTPAddr().String()
	get := func(ctx context.Context, path, user, pass string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		req.SetBasicAuth(user, pass)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := get(ctx, "/api/v1/cameras/44/snapshot", "2001", "demo")
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("snapshot: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
		t.Fatalf("snapshot is not a JPEG: %v", err)
	}
	res = get(ctx, "/api/v1/cameras/44/stream", "admin", "admin")
	mt, params, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/x-mixed-replace" {
		t.Fatalf("stream content type %q", res.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(res.Body, params["boundary"])
	for i := 0; i < 3; i++ {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if _, err := jpeg.Decode(p); err != nil {
			t.Fatalf("part %d is not a JPEG: %v", i, err)
		}
	}
	res.Body.Close()
	for _, tc := range []struct {
		path, user, pass string
		want             int
	}{
		{"/api/v1/cameras/44/snapshot", "watch", "watch-pass-123", 403},
		{"/api/v1/cameras/45/snapshot", "admin", "admin", 404},
		{"/api/v1/cameras/x/snapshot", "admin", "admin", 400},
		{"/api/v1/cameras", "2001", "demo", 200},
	} {
		res := get(ctx, tc.path, tc.user, tc.pass)
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s as %s: %d, want %d", tc.path, tc.user, res.StatusCode, tc.want)
		}
	}
}
