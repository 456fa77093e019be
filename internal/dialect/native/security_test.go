package native

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/eventbus"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// secFixture is a tenant with a trunk, a user bound to extension 1001, a
// user-role account with no extension and a readonly account.
func secFixture(t *testing.T, limits pbx.Limits) *fixture {
	t.Helper()
	cdrs := &memStore{}
	core, err := pbx.NewCore(pbx.Directory{Tenants: []pbx.TenantEntry{
		{Name: "a", Domain: "a.local", Extensions: []pbx.ExtensionEntry{{Number: "1001"}, {Number: "1002"}, {Number: "1003"}}},
	}}, cdrs, pbx.Options{Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	eng := &fakeEngine{core: core}
	core.SetEngine(eng)
	dir, err := auth.NewDirectory([]auth.User{
		{Tenant: "a", Name: "u1001", Password: "user-pass-1", Role: "user", Extension: "1001"},
		{Tenant: "a", Name: "noext", Password: "user-pass-2", Role: "user"},
		{Tenant: "a", Name: "ro", Password: "ro-pass-123", Role: "readonly"},
	}, []auth.APIKey{{Tenant: "a", Name: "crm", Key: "key-crm", Role: "admin"}, {Tenant: "a", Name: "crm2", Key: "key-crm2", Role: "admin"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	api := New(core, cdrs, dir, nil)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(func() { srv.Close(); core.Close() })
	return &fixture{srv: srv, core: core, eng: eng, cdrs: cdrs, dir: dir, api: api}
}

// trunkCall is a carrier call answered by 1002: no channel has 1001 and
// the first has no extension at all.
func trunkCall(t *testing.T, f *fixture) (pbx.Call, *pbx.Channel) {
	t.Helper()
	ch, call, err := f.core.NewCall("a", "+15550100", "1002", false, pbx.ChannelSpec{Peer: "carrier", IsTrunk: true, Dir: pbx.Inbound})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.core.AddChannel("a", call.ID, pbx.ChannelSpec{Peer: "1002", Exten: "1002", Dir: pbx.Outbound}); err != nil {
		t.Fatal(err)
	}
	return call, ch
}

// TestNoExtensionOwnsNothing: a user-role account without an extension
// used to "own" every trunk call (its empty extension matched the trunk
// channel's); now it may touch none of them.
func TestNoExtensionOwnsNothing(t *testing.T) {
	f := secFixture(t, pbx.Limits{})
	call, ch := trunkCall(t, f)
	for _, tc := range []struct{ method, path, body string }{
		{"DELETE", "/api/v1/calls/" + call.ID, ""},
		{"DELETE", "/api/v1/calls/" + ch.UniqueID, ""},
		{"POST", "/api/v1/channels/" + ch.UniqueID + "/dtmf", `{"digits":"1"}`},
		{"POST", "/api/v1/channels/" + ch.UniqueID + "/redirect", `{"to":"1003"}`},
		{"POST", "/api/v1/recordings", `{"call":"` + call.ID + `"}`},
	} {
		if code, body := f.do(t, tc.method, tc.path, "noext:user-pass-2", tc.body); code != http.StatusForbidden {
			t.Errorf("%s %s by a user without extension: %d %s, want 403", tc.method, tc.path, code, body)
		}
	}
	code, body := f.do(t, "GET", "/api/v1/calls", "noext:user-pass-2", "")
	if code != 200 || strings.Contains(body, call.ID) {
		t.Fatalf("list calls by a user without extension: %d %s", code, body)
	}
	if len(f.eng.hung) != 0 {
		t.Fatalf("engine hung up %v", f.eng.hung)
	}
	// The owner of a call still controls it.
	_, own, _ := f.core.NewCall("a", "1001", "1002", false, pbx.ChannelSpec{Peer: "1001", Exten: "1001", Dir: pbx.Inbound})
	if code, body := f.do(t, "DELETE", "/api/v1/calls/"+own.ID, "u1001:user-pass-1", ""); code != http.StatusNoContent {
		t.Fatalf("owner hangs up own call: %d %s", code, body)
	}
}

// memEventLog replays what the test stored, as the durable log would.
type memEventLog struct {
	mu sync.Mutex
	es []eventbus.Envelope[pbx.Event]
}

func (m *memEventLog) Replay(_ context.Context, tenant string, since, upTo uint64, fn func(eventbus.Envelope[pbx.Event]) error) (uint64, uint64, error) {
	m.mu.Lock()
	es := append([]eventbus.Envelope[pbx.Event](nil), m.es...)
	m.mu.Unlock()
	last := since
	for _, e := range es {
		if e.Tenant == tenant && e.Seq > since && e.Seq <= upTo {
			if err := fn(e); err != nil {
				return last, 0, err
			}
			last = e.Seq
		}
	}
	return last, 0, nil
}

func dialAs(t *testing.T, f *fixture, user, pass, query string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	h.Set("Authorization", "Basic "+basic(user, pass))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.srv.URL, "http")+"/api/v1/events"+query, &websocket.DialOptions{HTTPHeader: h})
	if err == nil {
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, res, err
}

// readUntil collects events until one of type last arrives.
func readUntil(t *testing.T, c *websocket.Conn, last string, n int) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []map[string]any
	for seen := 0; seen < n; {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read after %d events: %v", len(out), err)
		}
		var e map[string]any
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
		if e["type"] == last {
			seen++
		}
	}
	return out
}

// TestEventsFollowRights: a user without cdr.read gets call.ended without
// the CDR, and a restricted role sees only its own extension's calls, live
// and in a replay; a readonly account with cdr.read gets the CDR.
func TestEventsFollowRights(t *testing.T) {
	f := secFixture(t, pbx.Limits{})
	logged := &memEventLog{}
	f.api.SetEventLog(logged)
	sub := f.core.Subscribe("a", 1000)
	defer sub.Close()

	user, _, err := dialAs(t, f, "u1001", "user-pass-1", "")
	if err != nil {
		t.Fatal(err)
	}
	ro, _, err := dialAs(t, f, "ro", "ro-pass-123", "")
	if err != nil {
		t.Fatal(err)
	}
	// Someone else's call, then one of 1001.
	other, _ := trunkCall(t, f)
	f.core.EndCall(context.Background(), "a", other.ID, pbx.EndAnswer, pbx.Quality{})
	_, mine, _ := f.core.NewCall("a", "1001", "1003", false, pbx.ChannelSpec{Peer: "1001", Exten: "1001", Dir: pbx.Inbound})
	f.core.EndCall(context.Background(), "a", mine.ID, pbx.EndAnswer, pbx.Quality{})
	// Feed the fake log what the core published.
	for n := 0; ; n++ {
		env := <-sub.C()
		logged.mu.Lock()
		logged.es = append(logged.es, env)
		logged.mu.Unlock()
		if env.Event.Type == pbx.EvCallEnded && env.Event.Call.ID == mine.ID {
			break
		}
	}

	check := func(name string, evs []map[string]any, wantCDR bool, wantOther bool) {
		t.Helper()
		sawOther := false
		for _, e := range evs {
			raw, _ := json.Marshal(e)
			if strings.Contains(string(raw), other.ID) {
				sawOther = true
			}
			if e["type"] == "call.ended" {
				if _, has := e["cdr"]; has != wantCDR {
					t.Errorf("%s: call.ended has cdr=%v, want %v: %s", name, has, wantCDR, raw)
				}
			}
		}
		if sawOther != wantOther {
			t.Errorf("%s: saw the other extension's call = %v, want %v", name, sawOther, wantOther)
		}
	}
	check("user live", readUntil(t, user, "call.ended", 1), false, false)
	check("readonly live", readUntil(t, ro, "call.ended", 2), true, true)

	replay, _, err := dialAs(t, f, "u1001", "user-pass-1", "?since=0")
	if err != nil {
		t.Fatal(err)
	}
	check("user replay", readUntil(t, replay, "call.ended", 1), false, false)
}

// TestOriginateLimits: an API principal may not hold more than its
// concurrent calls or originate faster than its rate; each refusal is 429
// limit_exceeded, counted, and another principal is not affected.
func TestOriginateLimits(t *testing.T) {
	f := secFixture(t, pbx.Limits{MaxCallsPerOwner: 2, OriginatesPerMinuteOwner: 3, MaxCallsPerTenant: 3, OriginatesPerMinuteTenant: -1})
	orig := func(key string) (int, string) {
		return f.do(t, "POST", "/api/v1/calls", "Bearer "+key, `{"from":"1001","to":"1002"}`)
	}
	for i := 0; i < 2; i++ {
		if code, body := orig("key-crm"); code != http.StatusCreated {
			t.Fatalf("call %d: %d %s", i, code, body)
		}
	}
	code, body := orig("key-crm")
	if code != http.StatusTooManyRequests || !strings.Contains(body, "limit_exceeded") {
		t.Fatalf("third concurrent call: %d %s", code, body)
	}
	// Another key still may, up to the tenant's 3 live calls.
	if code, body := orig("key-crm2"); code != http.StatusCreated {
		t.Fatalf("other key: %d %s", code, body)
	}
	if code, body := orig("key-crm2"); code != http.StatusTooManyRequests {
		t.Fatalf("fourth call in the tenant: %d %s", code, body)
	}
	// End crm's calls: its rate (3 a minute, 2 used, 1 refused earlier did
	// not spend one) allows one more, then refuses.
	calls, _ := f.core.Calls("a")
	for _, c := range calls {
		f.core.EndCall(context.Background(), "a", c.ID, pbx.EndAnswer, pbx.Quality{})
	}
	if code, body := orig("key-crm"); code != http.StatusCreated {
		t.Fatalf("after hangup: %d %s", code, body)
	}
	if code, body := orig("key-crm"); code != http.StatusTooManyRequests || !strings.Contains(body, "a minute") {
		t.Fatalf("over the rate: %d %s", code, body)
	}
	h := f.core.LimitHits()
	if h.OwnerCalls != 1 || h.TenantCalls != 1 || h.OwnerOriginateRate != 1 {
		t.Fatalf("limit hits %+v", h)
	}
}

// TestCallerIDInjectionRefused: a caller id with CR/LF, NUL or over 64
// bytes never reaches the engine.
func TestCallerIDInjectionRefused(t *testing.T) {
	f := secFixture(t, pbx.Limits{})
	for _, cid := range []string{"1\r\nX-Evil: 1", "1\nVia: x", "a\x00b", "<sip:x>", `"q"`, strings.Repeat("9", 65), "a b"} {
		b, _ := json.Marshal(map[string]string{"from": "1001", "to": "1002", "caller_id": cid})
		if code, body := f.do(t, "POST", "/api/v1/calls", "Bearer key-crm", string(b)); code != http.StatusBadRequest {
			t.Errorf("caller id %q: %d %s", cid, code, body)
		}
	}
	if calls, _ := f.core.Calls("a"); len(calls) != 0 {
		t.Fatalf("calls were placed: %v", calls)
	}
	if code, body := f.do(t, "POST", "/api/v1/calls", "Bearer key-crm", `{"from":"1001","to":"1002","caller_id":"+420-555.1234"}`); code != http.StatusCreated {
		t.Fatalf("a plain caller id: %d %s", code, body)
	}
}

// TestEventStreamsPerPrincipal: the 3rd stream of one account is refused
// with 429 while another account still connects.
func TestEventStreamsPerPrincipal(t *testing.T) {
	f := secFixture(t, pbx.Limits{})
	f.api.SetMaxStreams(2)
	for i := 0; i < 2; i++ {
		if _, _, err := dialAs(t, f, "ro", "ro-pass-123", ""); err != nil {
			t.Fatal(err)
		}
	}
	_, res, err := dialAs(t, f, "ro", "ro-pass-123", "")
	if err == nil || res == nil || res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third stream: %v %v", res, err)
	}
	if _, _, err := dialAs(t, f, "u1001", "user-pass-1", ""); err != nil {
		t.Fatalf("another account: %v", err)
	}
	if f.api.StreamLimitHits() != 1 {
		t.Fatalf("hits %d", f.api.StreamLimitHits())
	}
}

func basic(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}
