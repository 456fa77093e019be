package viptel

import (
	"context"
	"crypto/sha1" //nolint:gosec // the protocol's hash
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

type memCDRs struct{}

func (memCDRs) InsertCDR(context.Context, *pbx.CDR) error { return nil }

// fakeEngine creates the calling extension's channel on originate, ends
// the whole call on hangup and records redirects.
type fakeEngine struct {
	core *pbx.Core
	mu   sync.Mutex
	redi []string
	orig []pbx.OriginateRequest
}

func (f *fakeEngine) Originate(_ context.Context, r pbx.OriginateRequest) (pbx.Call, error) {
	f.mu.Lock()
	f.orig = append(f.orig, r)
	f.mu.Unlock()
	_, call, err := f.core.NewCall(r.Tenant, r.From, r.To, true, pbx.ChannelSpec{Peer: r.From, Exten: r.From, Dir: pbx.Outbound})
	return call, err
}

func (f *fakeEngine) originates() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.orig)
}

func (f *fakeEngine) lastOriginate() pbx.OriginateRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.orig) == 0 {
		return pbx.OriginateRequest{}
	}
	return f.orig[len(f.orig)-1]
}

func (f *fakeEngine) Hangup(ctx context.Context, tenant, id, _ string) error {
	c, err := f.core.FindCall(tenant, id)
	if err != nil {
		return err
	}
	_, err = f.core.EndCall(ctx, tenant, c.ID, pbx.EndCancel, pbx.Quality{})
	return err
}

func (f *fakeEngine) Redirect(_ context.Context, _, id, dest string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.redi = append(f.redi, id+">"+dest)
	return nil
}

type fixture struct {
	deps dialect.Deps // what New got (Options aside)
	srv  *httptest.Server
	core *pbx.Core
	eng  *fakeEngine
	v    *Dialect
	clk  *clock
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// newFixture: tenant "a" with the spec's example extensions (12, 13 and
// 42 Jan, 43 Robert), the admin "viptel", user "42" bound to extension
// 42, a readonly account, a disabled one and "cid", an admin with its own
// outbound caller ids (the tenant's are 0220282028 and 0220282029).
func newFixture(t testing.TB, o Options, start time.Time, firstSeq uint64) *fixture {
	t.Helper()
	clk := &clock{t: start}
	core, err := pbx.NewCore(pbx.Directory{Tenants: []pbx.TenantEntry{{Name: "a", Domain: "a.local",
		Extensions: []pbx.ExtensionEntry{{Number: "12"}, {Number: "13"}, {Number: "42", Name: "Jan"}, {Number: "43", Name: "Robert"}},
		Queues: []pbx.QueueEntry{{Name: "VMX", Number: "7777", Strategy: pbx.StrategyRingAll, JoinEmpty: true,
			Members: []pbx.QueueMemberEntry{{Number: "42"}}}},
	}}}, memCDRs{}, pbx.Options{Now: clk.now, FirstSequence: firstSeq})
	if err != nil {
		t.Fatal(err)
	}
	eng := &fakeEngine{core: core}
	core.SetEngine(eng)
	dir, err := auth.NewDirectory([]auth.User{
		{Tenant: "a", Name: "viptel", Password: "viptel", Role: "admin"},
		{Tenant: "a", Name: "42", Password: "demo", Role: "user", Extension: "42"},
		{Tenant: "a", Name: "ro", Password: "ro-pass", Role: "readonly"},
		{Tenant: "a", Name: "off", Password: "off-pass", Role: "admin", Disabled: "unpaid"},
		{Tenant: "a", Name: "cid", Password: "cid-pass", Role: "admin", CallerIDs: []string{"+421905000001"}},
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := dialect.NewService(core).WithCallerIDs(map[string][]string{"a": {"0220282028", "0220282029"}})
	deps := dialect.Deps{Service: svc, Gate: &dialect.Gate{Auth: dir}, Events: dialect.NewEvents(core, nil)}
	v, err := New(deps, o)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, r := range v.Routes() {
		mux.Handle(r, v.Handler())
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := v.Close(ctx); err != nil {
			t.Error(err)
		}
		srv.Close()
		core.Close()
	})
	return &fixture{deps: deps, srv: srv, core: core, eng: eng, v: v, clk: clk}
}

func defaultFixture(t testing.TB) *fixture {
	return newFixture(t, Options{}, time.Unix(1453467797, 0), 684)
}

// client is a VIPTel client: a real WebSocket client over TCP.
type client struct {
	t     testing.TB
	c     *websocket.Conn
	nonce string
}

func dial(t testing.TB, f *fixture, path string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.srv.URL, "http")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	cl := &client{t: t, c: c}
	hello := cl.read()
	if hello["code"] != 100.0 || hello["message"] != msgHello {
		t.Fatalf("greeting: %v", hello)
	}
	cl.nonce, _ = hello["nonce"].(string)
	if len(cl.nonce) < 16 {
		t.Fatalf("nonce %q", cl.nonce)
	}
	return cl
}

func (cl *client) readRaw() ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := cl.c.Read(ctx)
	return b, err
}

func (cl *client) read() map[string]any {
	cl.t.Helper()
	b, err := cl.readRaw()
	if err != nil {
		cl.t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		cl.t.Fatalf("%s: %v", b, err)
	}
	return m
}

func (cl *client) sendRaw(s string) {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cl.c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		cl.t.Fatal(err)
	}
}

func (cl *client) send(v map[string]any) {
	cl.t.Helper()
	b, _ := json.Marshal(v)
	cl.sendRaw(string(b))
}

// expect reads one message and checks its code and message.
func (cl *client) expect(code int, msg string) map[string]any {
	cl.t.Helper()
	m := cl.read()
	if m["code"] != float64(code) || m["message"] != msg {
		cl.t.Fatalf("got %v, want %d %q", m, code, msg)
	}
	return m
}

// expectClosed: the server closed the connection.
func (cl *client) expectClosed() {
	cl.t.Helper()
	b, err := cl.readRaw()
	if err == nil {
		cl.t.Fatalf("connection still open, got %s", b)
	}
	if s := websocket.CloseStatus(err); s != websocket.StatusNormalClosure {
		cl.t.Fatalf("closed with %v (%v), want a normal closure", s, err)
	}
}

func hash(user, pass, nonce string) string {
	a := sha1.Sum([]byte(user + ":" + pass))
	b := sha1.Sum([]byte(hex.EncodeToString(a[:]) + ":" + nonce))
	return hex.EncodeToString(b[:])
}

func (cl *client) login(user, pass string) {
	cl.t.Helper()
	cl.send(map[string]any{"action": "user.login", "username": user, "password": hash(user, pass, cl.nonce)})
	cl.expect(202, msgLoggedIn)
}

// reply reads until a response (a message with a code), skipping events.
func (cl *client) reply() map[string]any {
	cl.t.Helper()
	for {
		if m := cl.read(); m["code"] != nil {
			return m
		}
	}
}

// readEvent reads until an event named ev arrives.
func (cl *client) readEvent(ev string) map[string]any {
	cl.t.Helper()
	for {
		m := cl.read()
		if m["event"] == ev {
			return m
		}
	}
}

// TestLoginLogout: 100 with a nonce at "/" and at /viptel, 202 for the
// right hash (both action names), 110 "Bye" and a close on logout.
func TestLoginLogout(t *testing.T) {
	f := defaultFixture(t)
	for _, tc := range []struct{ path, action string }{{"/", "user.login"}, {"/viptel", "login"}} {
		cl := dial(t, f, tc.path)
		cl.send(map[string]any{"action": tc.action, "username": "viptel", "password": hash("viptel", "viptel", cl.nonce)})
		cl.expect(202, msgLoggedIn)
		cl.send(map[string]any{"action": "user.logout"})
		cl.expect(110, msgBye)
		cl.expectClosed()
	}
	a, b := dial(t, f, "/"), dial(t, f, "/")
	if a.nonce == b.nonce {
		t.Fatal("two connections got the same nonce")
	}
}

// TestWrongPasswordCloses: 401, 110, close; a hash for another
// connection's nonce is wrong too.
func TestWrongPasswordCloses(t *testing.T) {
	f := defaultFixture(t)
	for _, pw := range []string{"wrong", ""} {
		cl := dial(t, f, "/")
		h := hash("viptel", "viptel", "another-nonce")
		if pw == "wrong" {
			h = hash("viptel", pw, cl.nonce)
		}
		cl.send(map[string]any{"action": "user.login", "username": "viptel", "password": h})
		cl.expect(401, msgWrongLogin)
		cl.expect(110, msgClosing)
		cl.expectClosed()
	}
	cl := dial(t, f, "/")
	cl.login("viptel", "viptel") // the server is still fine
}

// TestDisabledAccount: the right hash for a disabled account is 401 "User
// is not activated", then 110 and a close.
func TestDisabledAccount(t *testing.T) {
	f := defaultFixture(t)
	cl := dial(t, f, "/")
	cl.send(map[string]any{"action": "user.login", "username": "off", "password": hash("off", "off-pass", cl.nonce)})
	cl.expect(401, msgNotActivated)
	cl.expect(110, msgClosing)
	cl.expectClosed()
}

// TestLoginTimeout (shortened): 408, 110, close.
func TestLoginTimeout(t *testing.T) {
	f := newFixture(t, Options{LoginTimeout: 150 * time.Millisecond}, time.Unix(1453467797, 0), 1)
	cl := dial(t, f, "/")
	cl.expect(408, msgLoginTimeout)
	cl.expect(110, msgClosing)
	cl.expectClosed()
	// A client that logs in in time is not timed out later.
	cl = dial(t, f, "/")
	cl.login("viptel", "viptel")
	time.Sleep(300 * time.Millisecond)
	cl.send(map[string]any{"action": "nope"})
	cl.expect(404, msgUnknown)
}

// TestLoginTimeoutOption: the config file's login_timeout (a Go
// duration, 1s-10m) reaches the dialect through Deps.Options; anything
// else is an error naming it.
func TestLoginTimeoutOption(t *testing.T) {
	for _, tc := range []struct {
		opts dialect.Options
		want time.Duration
		err  string
	}{
		{nil, DefaultLoginTimeout, ""},
		{dialect.Options{"login_timeout": "45s"}, 45 * time.Second, ""},
		{dialect.Options{"login_timeout": "1s"}, time.Second, ""},
		{dialect.Options{"login_timeout": "10m"}, 10 * time.Minute, ""},
		{dialect.Options{"login_timeout": "500ms"}, 0, "option login_timeout: 500ms is not between 1s and 10m0s"},
		{dialect.Options{"login_timeout": "11m"}, 0, "option login_timeout: 11m0s is not between"},
		{dialect.Options{"login_timeout": "30"}, 0, `option login_timeout: "30" is not a duration`},
		{dialect.Options{"login_timout": "30s"}, 0, `options ["login_timout"]: unknown`},
	} {
		o, err := OptionsFrom(tc.opts)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "viptel: ") {
				t.Errorf("%v: %v, want an error with %q", tc.opts, err, tc.err)
			}
			continue
		}
		if err != nil || o.withDefaults().LoginTimeout != tc.want {
			t.Errorf("%v: %v %v, want %v", tc.opts, o.LoginTimeout, err, tc.want)
		}
	}

	f := defaultFixture(t)
	deps := f.deps
	deps.Options = dialect.Options{"login_timeout": "nonsense"}
	if _, err := NewDialect(deps); err == nil || !strings.Contains(err.Error(), "login_timeout") {
		t.Fatalf("NewDialect with a bad login_timeout: %v", err)
	}
	// The option takes effect: a 1 s timeout closes an idle connection
	// after about 1 s.
	deps.Options = dialect.Options{"login_timeout": "1s"}
	d, err := NewDialect(deps)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Error(err)
		}
		srv.Close()
	})
	start := time.Now()
	cl := dial(t, &fixture{srv: srv}, "/viptel")
	cl.expect(408, msgLoginTimeout)
	if el := time.Since(start); el < 900*time.Millisecond || el > 4*time.Second {
		t.Fatalf("timed out after %v, want about 1s", el)
	}
	cl.expect(110, msgClosing)
	cl.expectClosed()
}

// TestAllowlistBeforeNonce: an address in no tenant's allowlist gets no
// WebSocket (403 to the upgrade) and so no nonce; one a tenant lists gets
// the 100 and may log in.
func TestAllowlistBeforeNonce(t *testing.T) {
	f := defaultFixture(t)
	serve := func(allow string) *httptest.Server {
		deps := f.deps
		gate := *deps.Gate
		gate.Connectable = dialect.AnyTenantAllows(map[string][]netip.Prefix{"a": {netip.MustParsePrefix(allow)}})
		deps.Gate = &gate
		d, err := New(deps, Options{})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(d.Handler())
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := d.Close(ctx); err != nil {
				t.Error(err)
			}
			srv.Close()
		})
		return srv
	}
	refused := serve("192.0.2.0/24")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(refused.URL, "http")+"/", nil)
	if err == nil {
		c.CloseNow()
		t.Fatal("an address in no tenant's allowlist got a WebSocket")
	}
	if res == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("want 403 to the upgrade, got %v %v", res, err)
	}
	allowed := serve("127.0.0.0/8")
	cl := dial(t, &fixture{srv: allowed}, "/viptel") // checks the 100 and its nonce
	cl.login("viptel", "viptel")
}

// TestActionsBeforeLogin: 401 with the spec's text, the connection stays.
func TestActionsBeforeLogin(t *testing.T) {
	f := defaultFixture(t)
	cl := dial(t, f, "/")
	for _, a := range []string{"call.create", "user.logout", "no.such"} {
		cl.send(map[string]any{"action": a})
		cl.expect(401, msgLoginFirst)
	}
	cl.login("viptel", "viptel")
}

// TestBadInput: every malformed message is answered in the spec's format
// and the connection survives; the third oversized message closes it.
func TestBadInput(t *testing.T) {
	f := newFixture(t, Options{MaxMessage: 1024}, time.Unix(1453467797, 0), 1)
	cl := dial(t, f, "/")
	cl.login("viptel", "viptel")
	for _, tc := range []struct {
		in     string
		code   int
		msg    string
		fields []string
	}{
		{`not json`, 400, msgInvalid, []string{"message"}},
		{`[1,2]`, 400, msgInvalid, []string{"message"}},
		{`"call.create"`, 400, msgInvalid, []string{"message"}},
		{`null`, 400, msgInvalid, []string{"message"}},
		{`{"action": 5}`, 400, msgActionType, nil},
		{`{"action": ["call.create"]}`, 400, msgActionType, nil},
		{`{}`, 404, msgMissing, nil},
		{`{"action": ""}`, 404, msgMissing, nil},
		{`{"action": null}`, 404, msgMissing, nil},
		{`{"action": "call.teleport"}`, 404, msgUnknown, nil},
		{`{"action": "call.create"}`, 400, msgInvalid, []string{"from", "to", "call_random_id"}},
		{`{"action": "call.create", "from": 12, "to": 13, "call_random_id": "no spaces allowed"}`, 400, msgInvalid, []string{"call_random_id"}},
		{`{"action": "call.create", "from": {}, "to": 1.5, "call_random_id": "` + strings.Repeat("a", 65) + `"}`, 400, msgInvalid, []string{"from", "to", "call_random_id"}},
		{`{"action": "call.hangup", "unique_id": 7}`, 400, msgInvalid, []string{"unique_id"}},
		{`{"action": "call.redirect", "unique_id": "1.1"}`, 400, msgInvalid, []string{"destination"}},
		{`{"action": "call.hangup", "unique_id": "1.1", "unknown_field": true}`, 404, msgNoCall, nil},
		{`{"action": "user.login", "username": "x", "password": "y"}`, 400, msgInvalid, []string{"action"}},
		{"{\"action\": \"\xff\"}", 400, msgInvalid, []string{"message"}},
		{`{"action": "call.hangup", "pad": "` + strings.Repeat("x", 2000) + `"}`, 400, msgInvalid, []string{"message"}},
	} {
		cl.sendRaw(tc.in)
		m := cl.read()
		if m["code"] != float64(tc.code) || m["message"] != tc.msg {
			t.Fatalf("%.60s: got %v, want %d %s", tc.in, m, tc.code, tc.msg)
		}
		var got []string
		errs, _ := m["errors"].([]any)
		for _, e := range errs {
			got = append(got, e.(map[string]any)["field"].(string))
		}
		if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
			t.Fatalf("%.60s: errors %v, want fields %v", tc.in, m["errors"], tc.fields)
		}
	}
	big := `{"action":"x","pad":"` + strings.Repeat("x", 4000) + `"}`
	cl.sendRaw(big)
	cl.expect(400, msgInvalid)
	cl.sendRaw(big) // the third oversized message: abuse
	cl.expect(400, msgInvalid)
	cl.expect(110, msgClosing)
	cl.expectClosed()
}

// TestCreateEventsHangup: call.create answers call.create_response with
// the client's call_random_id, the call's events arrive, a repeated id
// returns the same call, and call.hangup ends it with call.end.
func TestCreateEventsHangup(t *testing.T) {
	f := defaultFixture(t)
	cl := dial(t, f, "/")
	cl.login("viptel", "viptel")
	cl.sendRaw(`{"action":"call.create","from":42,"to":"43","call_random_id":"abc123"}`)
	var created, begin map[string]any
	for created == nil || begin == nil {
		m := cl.read()
		switch m["event"] {
		case "call.create_response":
			created = m
		case "call.begin":
			begin = m
		}
	}
	id, _ := created["unique_id"].(string)
	if created["call_random_id"] != "abc123" || id == "" {
		t.Fatalf("create response %v", created)
	}
	want := map[string]any{"event": "call.begin", "caller": "42", "caller_name": "Jan", "callee": "43", "callee_name": "Robert", "called_number": "43", "unique_id": id}
	for k, v := range want {
		if begin[k] != v {
			t.Fatalf("call.begin %v, want %v", begin, want)
		}
	}
	if _, err := f.core.FindCall("a", id); err != nil {
		t.Fatalf("no call in the core: %v", err)
	}
	cl.sendRaw(`{"action":"call.create","from":"42","to":"43","call_random_id":"abc123"}`)
	if again := cl.readEvent("call.create_response"); again["unique_id"] != id {
		t.Fatalf("a repeated call_random_id made another call: %v", again)
	}
	if n := len(mustCalls(t, f)); n != 1 {
		t.Fatalf("%d calls", n)
	}
	cl.send(map[string]any{"action": "call.redirect", "unique_id": id, "destination": 13})
	cl.send(map[string]any{"action": "call.hangup", "unique_id": id})
	end := cl.readEvent("call.end")
	if end["unique_id"] != id || end["status"] != "cancel" {
		t.Fatalf("call.end %v", end)
	}
	f.eng.mu.Lock()
	redi := strings.Join(f.eng.redi, ",")
	f.eng.mu.Unlock()
	if redi != id+">13" {
		t.Fatalf("redirects %q", redi)
	}
	cl.send(map[string]any{"action": "call.hangup", "unique_id": id})
	cl.expect(404, msgNoCall)
}

func mustCalls(t *testing.T, f *fixture) []pbx.Call {
	t.Helper()
	c, err := f.core.Calls("a")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOnlyCallsStartedDuringTheConnection: a call begun before the login
// cannot be hung up or redirected (404 "Call not found", spec); one begun
// after it, by anyone, can.
func TestOnlyCallsStartedDuringTheConnection(t *testing.T) {
	f := defaultFixture(t)
	_, before, err := f.core.NewCall("a", "12", "13", false, pbx.ChannelSpec{Peer: "12", Exten: "12", Dir: pbx.Inbound})
	if err != nil {
		t.Fatal(err)
	}
	cl := dial(t, f, "/")
	cl.login("viptel", "viptel")
	for _, a := range []string{"call.hangup", "call.redirect"} {
		cl.send(map[string]any{"action": a, "unique_id": before.ID, "destination": "43"})
		cl.expect(404, msgNoCall)
	}
	_, after, err := f.core.NewCall("a", "13", "12", false, pbx.ChannelSpec{Peer: "13", Exten: "13", Dir: pbx.Inbound})
	if err != nil {
		t.Fatal(err)
	}
	cl.readEvent("call.begin")
	cl.send(map[string]any{"action": "call.hangup", "unique_id": after.ID})
	if end := cl.readEvent("call.end"); end["unique_id"] != after.ID {
		t.Fatalf("call.end %v", end)
	}
}

// TestRestrictedUserSeesOwnCalls: extension user 42 gets the events of
// its own calls only, may not call from another extension (403), and
// cannot touch another extension's call (404: for it, it does not exist).
func TestRestrictedUserSeesOwnCalls(t *testing.T) {
	f := defaultFixture(t)
	cl := dial(t, f, "/")
	cl.login("42", "demo")
	_, other, err := f.core.NewCall("a", "12", "13", false, pbx.ChannelSpec{Peer: "12", Exten: "12", Dir: pbx.Inbound})
	if err != nil {
		t.Fatal(err)
	}
	_, own, err := f.core.NewCall("a", "43", "42", false, pbx.ChannelSpec{Peer: "43", Exten: "43", Dir: pbx.Inbound})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.core.AddChannel("a", own.ID, pbx.ChannelSpec{Peer: "42", Exten: "42", Dir: pbx.Outbound}); err != nil {
		t.Fatal(err)
	}
	// 42's channel is added after call.new, but the call is to 42: its
	// call.begin is visible (the call that is about to ring it), and so is
	// its end; 12 -> 13 is not.
	if _, err := f.core.EndCall(context.Background(), "a", other.ID, pbx.EndAnswer, pbx.Quality{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.core.EndCall(context.Background(), "a", own.ID, pbx.EndBusy, pbx.Quality{}); err != nil {
		t.Fatal(err)
	}
	if m := cl.read(); m["event"] != "call.begin" || m["unique_id"] != own.ID || m["callee"] != "42" {
		t.Fatalf("first event %v, want the begin of the call to 42", m)
	}
	m := cl.read()
	if m["event"] != "call.end" || m["unique_id"] != own.ID || m["status"] != "busy" {
		t.Fatalf("first event %v, want the end of its own call %s", m, own.ID)
	}
	cl.send(map[string]any{"action": "call.create", "from": "12", "to": "13", "call_random_id": "x1"})
	cl.expect(403, msgForbidden)
	cl.send(map[string]any{"action": "call.create", "from": "42", "to": "13", "call_random_id": "x2"})
	begin := cl.readEvent("call.begin")
	if begin["caller"] != "42" {
		t.Fatalf("%v", begin)
	}
	_, other2, err := f.core.NewCall("a", "12", "13", false, pbx.ChannelSpec{Peer: "12", Exten: "12", Dir: pbx.Inbound})
	if err != nil {
		t.Fatal(err)
	}
	cl.send(map[string]any{"action": "call.hangup", "unique_id": other2.ID})
	cl.expect(404, msgNoCall)
}

// TestReadonlyMayNotCreate: a right the role lacks is 403.
func TestReadonlyMayNotCreate(t *testing.T) {
	f := defaultFixture(t)
	cl := dial(t, f, "/")
	cl.login("ro", "ro-pass")
	cl.send(map[string]any{"action": "call.create", "from": "12", "to": "13", "call_random_id": "r1"})
	cl.expect(403, msgForbidden)
	cl.send(map[string]any{"action": "call.hangup", "unique_id": "1.1"})
	cl.expect(403, msgForbidden)
	cl.send(map[string]any{"action": "call.create", "from": "12", "to": "13", "call_random_id": "r1", "caller_id": "999"})
	cl.expect(403, msgForbidden)
}

// TestCallerID: caller_id is the outbound caller id, allowed only from
// the account's own numbers, else the tenant's (403 otherwise); one that
// is no number at all is 400 naming caller_id.
func TestCallerID(t *testing.T) {
	f := defaultFixture(t)
	cl := dial(t, f, "/")
	cl.login("viptel", "viptel") // no own list: the tenant's numbers
	for i, tc := range []struct {
		cid  any
		code int // 0: created
		want string
	}{
		{"0220282028", 0, "0220282028"},
		{"", 0, ""},
		{nil, 0, ""},
		{220282029, 403, ""}, // an integer, but not the tenant's (no leading 0)
		{"0220282099", 403, ""},
		{"12", 403, ""}, // the calling extension itself is not in the list either
		{"022 028", 400, ""},
		{"<script>", 400, ""},
		{strings.Repeat("1", pbx.MaxCallerIDLen+1), 400, ""},
		{true, 400, ""},
	} {
		rid := fmt.Sprintf("c%d", i)
		req := map[string]any{"action": "call.create", "from": "12", "to": "0905123456", "call_random_id": rid}
		if tc.cid != nil {
			req["caller_id"] = tc.cid
		}
		n := f.eng.originates()
		cl.send(req)
		switch tc.code {
		case 0:
			m := cl.readEvent("call.create_response")
			if m["call_random_id"] != rid {
				t.Fatalf("%v: %v", tc.cid, m)
			}
			got := f.eng.lastOriginate()
			if f.eng.originates() != n+1 || got.OutboundCallerID != tc.want {
				t.Fatalf("%v: engine got %+v, want outbound caller id %q", tc.cid, got, tc.want)
			}
		case 400:
			m := cl.reply()
			errs, _ := m["errors"].([]any)
			if m["code"] != 400.0 || m["message"] != msgInvalid || len(errs) != 1 || errs[0].(map[string]any)["field"] != "caller_id" {
				t.Fatalf("%v: %v", tc.cid, m)
			}
		default:
			if m := cl.reply(); m["code"] != float64(tc.code) || m["message"] != msgForbidden {
				t.Fatalf("%v: %v", tc.cid, m)
			}
		}
		if tc.code != 0 && f.eng.originates() != n {
			t.Fatalf("%v: refused, but the engine was asked to call", tc.cid)
		}
	}

	// An account with its own list: only those, not the tenant's.
	own := dial(t, f, "/viptel")
	own.login("cid", "cid-pass")
	own.send(map[string]any{"action": "call.create", "from": "13", "to": "0905123456", "call_random_id": "o1", "caller_id": "0220282028"})
	own.expect(403, msgForbidden)
	own.send(map[string]any{"action": "call.create", "from": "13", "to": "0905123456", "call_random_id": "o2", "caller_id": "+421905000001"})
	if m := own.readEvent("call.create_response"); m["call_random_id"] != "o2" {
		t.Fatal(m)
	}
	if got := f.eng.lastOriginate().OutboundCallerID; got != "+421905000001" {
		t.Fatalf("outbound caller id %q", got)
	}
}

// TestQueueEvents: member pause and caller join/leave become the spec's
// queue.* messages with the queue's number as an integer.
func TestQueueEvents(t *testing.T) {
	f := defaultFixture(t)
	cl := dial(t, f, "/")
	cl.login("viptel", "viptel")
	if _, err := f.core.QueuePause("a", "VMX", "42", true, ""); err != nil {
		t.Fatal(err)
	}
	m := cl.readEvent("queue.pause")
	if m["queue"] != 7777.0 || m["member"] != "42" {
		t.Fatalf("%v", m)
	}
	if _, err := f.core.QueuePause("a", "VMX", "42", false, ""); err != nil {
		t.Fatal(err)
	}
	cl.readEvent("queue.unpause")
}

// TestShutdown: closing the dialect tells logged-in and waiting clients
// 503 "Server is restarting, please reconnect", then 110, and closes;
// the core's shutdown announcement does the same.
func TestShutdown(t *testing.T) {
	f := defaultFixture(t)
	a := dial(t, f, "/")
	a.login("viptel", "viptel")
	f.core.AnnounceShutdown()
	a.expect(503, msgRestarting)
	a.expect(110, msgClosing)
	a.expectClosed()
	b := dial(t, f, "/")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.v.Close(ctx) }()
	b.expect(503, msgRestarting)
	b.expect(110, msgClosing)
	b.expectClosed()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(f.srv.URL + "/viptel")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUpgradeRequired {
		t.Fatalf("%d", res.StatusCode)
	}
}

// TestPlainGetOfRoot: "/" without an upgrade is not ours (404).
func TestPlainGetOfRoot(t *testing.T) {
	f := defaultFixture(t)
	res, err := http.Get(f.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("GET / = %d", res.StatusCode)
	}
}

// TestDeadClientDropped: a client that stops answering pings is dropped.
func TestDeadClientDropped(t *testing.T) {
	f := newFixture(t, Options{PingInterval: 50 * time.Millisecond}, time.Unix(1453467797, 0), 1)
	cl := dial(t, f, "/")
	cl.login("viptel", "viptel")
	// The client never reads again, so it never answers a ping; the
	// server must end the session on its own.
	deadline := time.Now().Add(5 * time.Second)
	for f.v.Connections() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a client that answers no pings is still connected")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCloseWithSpentContext: with no connection open, Close succeeds even
// when the node's shutdown has used up its context before reaching it.
func TestCloseWithSpentContext(t *testing.T) {
	f := defaultFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 50; i++ {
		if err := f.v.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPickupAndQueueMembers: an answered call is call.pickup; a member
// logging into and out of a queue is queue.add and queue.remove with the
// member's name.
func TestPickupAndQueueMembers(t *testing.T) {
	f := defaultFixture(t)
	cl := dial(t, f, "/")
	cl.login("viptel", "viptel")
	_, call, err := f.core.NewCall("a", "42", "43", false, pbx.ChannelSpec{Peer: "42", Exten: "42", Dir: pbx.Inbound})
	if err != nil {
		t.Fatal(err)
	}
	f.core.CallAnswered("a", call.ID)
	if m := cl.readEvent("call.pickup"); m["unique_id"] != call.ID {
		t.Fatalf("%v", m)
	}
	if _, err := f.core.QueueLogin("a", "VMX", "43", true, 0); err != nil {
		t.Fatal(err)
	}
	if m := cl.readEvent("queue.add"); m["queue"] != 7777.0 || m["member"] != "43" || m["member_name"] != "Robert" {
		t.Fatalf("%v", m)
	}
	if _, err := f.core.QueueLogin("a", "VMX", "43", false, 0); err != nil {
		t.Fatal(err)
	}
	if m := cl.readEvent("queue.remove"); m["member"] != "43" {
		t.Fatalf("%v", m)
	}
}
