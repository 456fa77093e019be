package node

import (
	"context"
	"crypto/sha1" //nolint:gosec // VIPTel's login hash
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-pbx/switchboard/internal/config"
)

// viptelClient logs in to the demo's VIPTel dialect as a VIPTel client
// would: the nonce of the 100 greeting, SHA1(SHA1(user:pass):nonce).
func viptelClient(t *testing.T, n *Node, user, pass string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+n.HTTPAddr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	hello := viptelRead(t, c)
	nonce, _ := hello["nonce"].(string)
	a := sha1.Sum([]byte(user + ":" + pass))
	h := sha1.Sum([]byte(hex.EncodeToString(a[:]) + ":" + nonce))
	viptelSend(t, c, map[string]any{"action": "user.login", "username": user, "password": hex.EncodeToString(h[:])})
	if m := viptelRead(t, c); m["code"] != 202.0 {
		t.Fatalf("login %s: %v", user, m)
	}
	return c
}

func viptelRead(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func viptelSend(t *testing.T, c *websocket.Conn, v map[string]any) {
	t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

// viptelCreate sends call.create and returns the unique id of the call,
// skipping the events that arrive meanwhile.
func viptelCreate(t *testing.T, c *websocket.Conn, from, to, rid string) string {
	t.Helper()
	viptelSend(t, c, map[string]any{"action": "call.create", "from": from, "to": to, "call_random_id": rid})
	for {
		m := viptelRead(t, c)
		if m["event"] == "call.create_response" && m["call_random_id"] == rid {
			return m["unique_id"].(string)
		}
		if _, ok := m["code"]; ok {
			t.Fatalf("call.create: %v", m)
		}
	}
}

// TestDemoServesVIPTel: serve --demo speaks VIPTel at "/" (upgrades only;
// a plain GET / is the web panel's page): viptel/viptel sees and controls
// every call over the real SIP engine, extension user 12/demo only its own.
func TestDemoServesVIPTel(t *testing.T) {
	n := startDemo(t)
	res, err := http.Get("http://" + n.HTTPAddr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("plain GET /: %d %s, want the panel's page", res.StatusCode, res.Header.Get("Content-Type"))
	}
	admin := viptelClient(t, n, "viptel", "viptel")
	user := viptelClient(t, n, "12", "demo")

	other := viptelCreate(t, admin, "42", "43", "adminCall1")
	own := viptelCreate(t, user, "12", "13", "userCall1")
	// The user's first call.begin is its own call: 42->43 is not shown.
	for {
		m := viptelRead(t, user)
		if m["unique_id"] == other {
			t.Fatalf("extension user 12 saw call %s of 42: %v", other, m)
		}
		if m["event"] == "call.begin" {
			if m["unique_id"] != own || m["caller"] != "12" {
				t.Fatalf("call.begin %v, want own call %s", m, own)
			}
			break
		}
	}
	// The admin sees both, and hangs its own call up.
	seen := map[string]bool{}
	for !seen[other] || !seen[own] {
		if m := viptelRead(t, admin); m["event"] == "call.begin" {
			seen[m["unique_id"].(string)] = true
		}
	}
	viptelSend(t, admin, map[string]any{"action": "call.hangup", "unique_id": other})
	for {
		if m := viptelRead(t, admin); m["event"] == "call.end" && m["unique_id"] == other {
			break
		}
	}
	viptelSend(t, user, map[string]any{"action": "call.hangup", "unique_id": other})
	for {
		m := viptelRead(t, user)
		if _, ok := m["code"]; ok {
			if m["code"] != 404.0 || m["message"] != "Call not found" {
				t.Fatalf("user hangs up another's call: %v", m)
			}
			break
		}
	}
}

// TestVIPTelLoginTimeoutFromConfig: dialects.viptel.options.login_timeout
// reaches the dialect (a 1 s timeout closes an idle connection); a bad
// value, or an option a dialect does not know, stops the start naming it.
func TestVIPTelLoginTimeoutFromConfig(t *testing.T) {
	yes := true
	n := startDemoWith(t, Options{}, func(c *config.Config) {
		c.Dialects["viptel"] = config.Dialect{Enabled: &yes, Options: map[string]string{"login_timeout": "1s"}}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+n.HTTPAddr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	start := time.Now()
	if m := viptelRead(t, c); m["code"] != 100.0 {
		t.Fatalf("greeting %v", m)
	}
	if m := viptelRead(t, c); m["code"] != 408.0 || m["message"] != "Login timeout" {
		t.Fatalf("want 408 Login timeout, got %v", m)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("408 after %v, want about 1s", el)
	}

	for _, tc := range []struct {
		dialect string
		opts    map[string]string
		want    string
	}{
		{"viptel", map[string]string{"login_timeout": "2h"}, "dialect viptel: viptel: option login_timeout: 2h0m0s is not between 1s and 10m0s"},
		{"viptel", map[string]string{"login_timeout": "soon"}, `option login_timeout: "soon" is not a duration`},
		{"viptel", map[string]string{"ping": "1s"}, `dialect viptel: viptel: options ["ping"]: unknown`},
		{"native", map[string]string{"login_timeout": "1s"}, `dialect native: native: options ["login_timeout"]: this dialect has no options`},
	} {
		cfg := config.Demo()
		cfg.Dialects[tc.dialect] = config.Dialect{Enabled: &yes, Options: tc.opts}
		cfg.Listen.HTTP, cfg.Listen.SIP = "127.0.0.1:0", "127.0.0.1:0"
		cfg.SetDataDir(t.TempDir())
		n, err := Start(context.Background(), cfg, Options{})
		if err == nil {
			n.Close(context.Background())
			t.Fatalf("%s %v: started", tc.dialect, tc.opts)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s %v: %v, want %q", tc.dialect, tc.opts, err, tc.want)
		}
	}
}

// TestVIPTelTenantAllowlistBeforeNonce: with every tenant's allow_from
// excluding the client, the VIPTel upgrade is refused (403) before any
// nonce; with the client listed it connects and logs in.
func TestVIPTelTenantAllowlistBeforeNonce(t *testing.T) {
	for _, tc := range []struct {
		allow string
		ok    bool
	}{{"192.0.2.0/24", false}, {"127.0.0.1", true}} {
		n := startDemoWith(t, Options{}, func(c *config.Config) {
			c.Tenant("MojaCentrala").AllowFrom = []string{tc.allow}
		})
		if tc.ok {
			viptelClient(t, n, "viptel", "viptel")
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, res, err := websocket.Dial(ctx, "ws://"+n.HTTPAddr().String()+"/", nil)
		cancel()
		if err == nil {
			c.CloseNow()
			t.Fatalf("allow_from %s: connected", tc.allow)
		}
		if res == nil || res.StatusCode != http.StatusForbidden {
			t.Fatalf("allow_from %s: want 403 to the upgrade, got %v %v", tc.allow, res, err)
		}
	}
}
