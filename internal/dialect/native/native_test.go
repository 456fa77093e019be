package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

type memStore struct {
	mu   sync.Mutex
	rows []pbx.CDR
}

func (m *memStore) InsertCDR(_ context.Context, c *pbx.CDR) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c.ID = int64(len(m.rows) + 1)
	m.rows = append(m.rows, *c)
	return nil
}

func (m *memStore) QueryCDRs(_ context.Context, f pbx.CDRFilter) ([]pbx.CDR, int, error) {
	f, err := store.NormalizeFilter(f)
	if err != nil {
		return nil, 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []pbx.CDR
	for _, c := range m.rows {
		if c.Tenant == f.Tenant && (f.Number == "" || c.Src == f.Number || c.Dst == f.Number) &&
			(f.CallID == "" || c.CallID == f.CallID || c.Detail.CallIDB == f.CallID) {
			out = append(out, c)
		}
	}
	return out, len(out), nil
}

func (m *memStore) GetCDR(_ context.Context, tenant string, id int64) (pbx.CDR, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.rows {
		if c.ID == id && c.Tenant == tenant {
			return c, nil
		}
	}
	return pbx.CDR{}, store.ErrNotFound
}

// fakeEngine answers commands the way an engine would: Originate creates
// the call in the core.
type fakeEngine struct {
	core *pbx.Core
	mu   sync.Mutex
	hung []string
}

func (f *fakeEngine) Originate(_ context.Context, r pbx.OriginateRequest) (pbx.Call, error) {
	_, call, err := f.core.NewCall(r.Tenant, r.From, r.To, true, pbx.ChannelSpec{Peer: r.From, Exten: r.From, Dir: pbx.Outbound})
	return call, err
}

func (f *fakeEngine) Hangup(_ context.Context, tenant, id, cause string) error {
	f.mu.Lock()
	f.hung = append(f.hung, id)
	f.mu.Unlock()
	return nil
}

type fixture struct {
	srv  *httptest.Server
	core *pbx.Core
	eng  *fakeEngine
	cdrs *memStore
	clk  *testClock
	dir  *auth.Directory
	api  *API
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cdrs := &memStore{}
	core, err := pbx.NewCore(pbx.Directory{Tenants: []pbx.TenantEntry{
		{Name: "a", Domain: "a.local", Extensions: []pbx.ExtensionEntry{{Number: "1001", Name: "Jan"}, {Number: "1002"}}},
		{Name: "b", Domain: "b.local", Extensions: []pbx.ExtensionEntry{{Number: "500"}}},
	}}, cdrs, pbx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := &fakeEngine{core: core}
	core.SetEngine(eng)
	dir, err := auth.NewDirectory([]auth.User{
		{Tenant: "a", Name: "admin", Password: "admin-pass", Role: "admin"},
		{Tenant: "a", Name: "1001", Password: "user-pass", Role: "user", Extension: "1001"},
		{Tenant: "a", Name: "ro", Password: "ro-pass", Role: "readonly"},
		{Tenant: "b", Name: "badmin", Password: "b-pass", Role: "admin"},
		{Tenant: "a", Name: "norights", Password: "nr-pass", Role: "admin", Rights: map[string]bool{}},
	}, []auth.APIKey{{Tenant: "a", Name: "k", Key: "key-a", Role: "admin"},
		{Tenant: "a", Name: "office-only", Key: "key-office", Role: "admin", AllowFrom: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	api := New(core, cdrs, dir, nil)
	clk := &testClock{t: time.Unix(1_800_000_000, 0)}
	api.SetLimiter(auth.NewLimiter(3, time.Minute, clk.now))
	api.SetSessions(auth.NewSessions(0, 0, nil, clk.now))
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(func() { srv.Close(); core.Close() })
	return &fixture{srv: srv, core: core, eng: eng, cdrs: cdrs, clk: clk, dir: dir, api: api}
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (f *fixture) do(t *testing.T, method, path, cred, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if strings.HasPrefix(cred, "Bearer ") {
		req.Header.Set("Authorization", cred)
	} else if cred != "" {
		u, p, _ := strings.Cut(cred, ":")
		req.SetBasicAuth(u, p)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestAuthAndTenancy(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name, cred string
		status     int
		contains   string
	}{
		{"no credentials", "", 401, `"code":"unauthorized"`},
		{"wrong password", "admin:nope", 401, "unauthorized"},
		{"wrong key", "Bearer nope", 401, "unauthorized"},
		{"basic", "admin:admin-pass", 200, `"number":"1001"`},
		{"bearer", "Bearer key-a", 200, `"number":"1002"`},
		{"other tenant sees only its own", "badmin:b-pass", 200, `"number":"500"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, body := f.do(t, "GET", "/api/v1/extensions", tc.cred, "")
			if st != tc.status || !strings.Contains(body, tc.contains) {
				t.Fatalf("%d %s", st, body)
			}
			if tc.cred == "badmin:b-pass" && strings.Contains(body, "1001") {
				t.Fatal("tenant b sees tenant a's extensions")
			}
		})
	}
	if st, body := f.do(t, "GET", "/api/v1/extensions/9999", "admin:admin-pass", ""); st != 404 || !strings.Contains(body, "not_found") {
		t.Fatalf("unknown extension: %d %s", st, body)
	}
	if st, _ := f.do(t, "GET", "/api/v1/cdrs", "1001:user-pass", ""); st != 403 {
		t.Fatalf("user role read CDRs: %d", st)
	}
	if st, _ := f.do(t, "GET", "/api/v1/nothing", "admin:admin-pass", ""); st != 404 {
		t.Fatalf("unknown path: %d", st)
	}
	if st, _ := f.do(t, "PUT", "/api/v1/calls", "admin:admin-pass", ""); st != 405 {
		t.Fatalf("wrong method: %d", st)
	}
}

func TestOriginateHangupAndCDRs(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name, cred, body string
		status           int
		contains         string
	}{
		{"ok", "Bearer key-a", `{"from":"1001","to":"1002"}`, 201, `"originated":true`},
		{"unknown field", "Bearer key-a", `{"from":"1001","to":"1002","x":1}`, 400, "invalid_argument"},
		{"bad json", "Bearer key-a", `{`, 400, "invalid_argument"},
		{"bad number", "Bearer key-a", `{"from":"1001","to":"10;02"}`, 400, "invalid_argument"},
		{"unknown from", "Bearer key-a", `{"from":"999","to":"1002"}`, 404, "not_found"},
		{"bad timeout", "Bearer key-a", `{"from":"1001","to":"1002","timeout":-1}`, 400, "timeout"},
		{"user from own extension", "1001:user-pass", `{"from":"1001","to":"1002"}`, 201, "1001"},
		{"user from another extension", "1001:user-pass", `{"from":"1002","to":"1001"}`, 403, "own extension"},
		{"readonly", "ro:ro-pass", `{"from":"1001","to":"1002"}`, 403, "forbidden"},
		{"priority by user role", "1001:user-pass", `{"from":"1001","to":"1002","priority":true}`, 403, "break other calls"},
		{"priority", "Bearer key-a", `{"from":"1001","to":"1002","priority":true}`, 201, `"to":"1002"`},
		{"priority to a non-extension", "Bearer key-a", `{"from":"1001","to":"0900","priority":true}`, 404, "not_found"},
	}
	var callID string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, body := f.do(t, "POST", "/api/v1/calls", tc.cred, tc.body)
			if st != tc.status || !strings.Contains(body, tc.contains) {
				t.Fatalf("%d %s", st, body)
			}
			if tc.name == "ok" {
				var c pbx.Call
				json.Unmarshal([]byte(body), &c)
				callID = c.ID
			}
		})
	}
	st, body := f.do(t, "GET", "/api/v1/calls", "admin:admin-pass", "")
	if st != 200 || !strings.Contains(body, callID) {
		t.Fatalf("calls: %d %s", st, body)
	}
	if st, body := f.do(t, "DELETE", "/api/v1/calls/"+callID, "admin:admin-pass", ""); st != 204 {
		t.Fatalf("hangup %q: %d %s", callID, st, body)
	}
	if st, _ := f.do(t, "DELETE", "/api/v1/calls/"+callID, "badmin:b-pass", ""); st != 404 {
		t.Fatalf("cross-tenant hangup: %d", st)
	}
	if _, err := f.core.EndCall(context.Background(), "a", callID, pbx.EndAnswer, pbx.Quality{}); err != nil {
		t.Fatal(err)
	}
	st, body = f.do(t, "GET", "/api/v1/cdrs?number=1001&from=2000-01-01&limit=10", "ro:ro-pass", "")
	if st != 200 || !strings.Contains(body, `"total":1`) || !strings.Contains(body, callID) {
		t.Fatalf("cdrs: %d %s", st, body)
	}
	st, body = f.do(t, "GET", "/api/v1/cdrs/1", "admin:admin-pass", "")
	if st != 200 || !strings.Contains(body, `"lastapp":"Originate"`) {
		t.Fatalf("cdr 1: %d %s", st, body)
	}
	// call_id: the SIP Call-ID of either leg, exact.
	if err := f.cdrs.InsertCDR(context.Background(), &pbx.CDR{Tenant: "a", UniqueID: "sip", CallID: "caller+1@h", Detail: pbx.CallDetail{CallIDB: "dialled@h"}}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"caller+1@h", "dialled@h"} {
		if st, body := f.do(t, "GET", "/api/v1/cdrs?call_id="+url.QueryEscape(q), "ro:ro-pass", ""); st != 200 || !strings.Contains(body, `"total":1`) || !strings.Contains(body, `"uniqueid":"sip"`) {
			t.Errorf("cdrs?call_id=%s: %d %s", q, st, body)
		}
	}
	if st, body := f.do(t, "GET", "/api/v1/cdrs?call_id=nope", "ro:ro-pass", ""); st != 200 || !strings.Contains(body, `"total":0`) {
		t.Errorf("cdrs?call_id=nope: %d %s", st, body)
	}
	for _, q := range []string{"' OR '1'='1", "x\" OR 1=1 --", "sip%", "a\r\nX-Injected: 1", "a\x00b"} {
		if st, body := f.do(t, "GET", "/api/v1/cdrs?call_id="+url.QueryEscape(q), "ro:ro-pass", ""); st != 200 || !strings.Contains(body, `"total":0`) {
			t.Errorf("cdrs?call_id=%q: %d %s, want no match", q, st, body)
		}
	}
	if st, _ := f.do(t, "GET", "/api/v1/cdrs?call_id="+strings.Repeat("x", 257), "ro:ro-pass", ""); st != 400 {
		t.Errorf("a 257-character call_id: %d, want 400", st)
	}
	if st, _ := f.do(t, "GET", "/api/v1/cdrs/1", "badmin:b-pass", ""); st != 404 {
		t.Fatalf("cross-tenant cdr: %d", st)
	}
	_, ccall, _ := f.core.NewCall("a", "1002", "1001", false, pbx.ChannelSpec{Peer: "1002", Exten: "1002", Dir: pbx.Inbound})
	for _, tc := range []struct {
		cred, path, body string
		status           int
	}{
		{"admin:admin-pass", "/api/v1/channels/" + ccall.ID + "/dtmf", `{"digits":"12x"}`, 400},
		{"admin:admin-pass", "/api/v1/channels/" + ccall.ID + "/dtmf", `{"digits":"1","x":1}`, 400},
		{"admin:admin-pass", "/api/v1/channels/nope/dtmf", `{"digits":"1"}`, 404},
		{"1001:user-pass", "/api/v1/channels/" + ccall.ID + "/dtmf", `{"digits":"1"}`, 403},
		{"admin:admin-pass", "/api/v1/channels/" + ccall.ID + "/dtmf", `{"digits":"1"}`, 501}, // the fake engine cannot play digits
		{"admin:admin-pass", "/api/v1/channels/" + ccall.ID + "/redirect", `{"to":"1;2"}`, 400},
		{"admin:admin-pass", "/api/v1/channels/nope/redirect", `{"to":"1001"}`, 404},
		{"1001:user-pass", "/api/v1/channels/" + ccall.ID + "/redirect", `{"to":"1001"}`, 403},
		{"admin:admin-pass", "/api/v1/channels/" + ccall.ID + "/redirect", `{"to":"1001"}`, 501}, // nor redirect
		{"1001:user-pass", "/api/v1/channels/" + ccall.ID + "/pickup", `{"by":"1002"}`, 403},
		{"admin:admin-pass", "/api/v1/channels/" + ccall.ID + "/pickup", `{"by":"999"}`, 404},
		{"admin:admin-pass", "/api/v1/channels/" + ccall.ID + "/pickup", `{"by":"1001"}`, 501}, // nor pickup
	} {
		if st, body := f.do(t, "POST", tc.path, tc.cred, tc.body); st != tc.status {
			t.Errorf("dtmf %s as %s: %d %s", tc.body, tc.cred, st, body)
		}
	}
	for _, q := range []string{"from=yesterday", "limit=-1", "disposition=MAYBE", "order=up", "limit=x"} {
		if st, body := f.do(t, "GET", "/api/v1/cdrs?"+q, "admin:admin-pass", ""); st != 400 {
			t.Errorf("%s: %d %s", q, st, body)
		}
	}
}

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{pbx.ErrNotFound, 404, "not_found"}, {store.ErrNotFound, 404, "not_found"}, {pbx.ErrUnknownExten, 404, "not_found"},
		{pbx.ErrInvalidArgument, 400, "invalid_argument"}, {store.ErrInvalidFilter, 400, "invalid_argument"},
		{pbx.ErrUnavailable, 409, "unavailable"}, {pbx.ErrBusy, 409, "busy"}, {pbx.ErrNotSupported, 501, "not_supported"},
		{pbx.ErrShuttingDown, 503, "shutting_down"}, {pbx.ErrUnknownTenant, 403, "forbidden"},
		{auth.ErrBadCredentials, 401, "unauthorized"}, {context.DeadlineExceeded, 504, "timeout"},
		{errors.New("boom"), 500, "internal"}, {fmt.Errorf("wrapped: %w", pbx.ErrNotFound), 404, "not_found"},
		{dialect.ErrKeyReused, 422, "idempotency_key_reused"}, {dialect.ErrKeyInFlight, 409, "idempotency_in_progress"},
	}
	for _, tc := range cases {
		st, code := errorStatus(tc.err)
		if st != tc.status || code != tc.code {
			t.Errorf("%v -> %d %s, want %d %s", tc.err, st, code, tc.status, tc.code)
		}
	}
}

func dialWS(t *testing.T, f *fixture, key string) *websocket.Conn {
	t.Helper()
	h := http.Header{}
	h.Set("Authorization", "Bearer "+key)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.srv.URL, "http")+"/api/v1/events", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func TestEventsWebSocket(t *testing.T) {
	f := newFixture(t)
	c := dialWS(t, f, "key-a") // subscribed before the handshake completes: no wait needed
	ch, call, _ := f.core.NewCall("a", "1001", "1002", false, pbx.ChannelSpec{Peer: "1001", Exten: "1001", Dir: pbx.Inbound})
	f.core.NewCall("b", "500", "1", false, pbx.ChannelSpec{Peer: "500", Exten: "500", Dir: pbx.Inbound}) // other tenant: not seen
	f.core.SetChannelState(ch, pbx.ChanUp)
	f.core.EndCall(context.Background(), "a", call.ID, pbx.EndAnswer, pbx.Quality{})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var types []string
	var last uint64
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read after %v: %v", types, err)
		}
		var e struct {
			Seq    uint64 `json:"seq"`
			Tenant string `json:"tenant"`
			Type   string `json:"type"`
		}
		json.Unmarshal(b, &e)
		if e.Tenant != "a" || e.Seq != last+1 {
			t.Fatalf("event %s after seq %d", b, last)
		}
		last = e.Seq
		types = append(types, e.Type)
		if e.Type == "call.ended" {
			break
		}
	}
	if types[0] != "call.new" {
		t.Fatalf("events %v", types)
	}
	if _, err := url.Parse(f.srv.URL); err != nil {
		t.Fatal(err)
	}
}

func TestSlowWebSocketIsCutOffWithReason(t *testing.T) {
	f := newFixture(t)
	c := dialWS(t, f, "key-a")
	// Never read while far more events than the buffer are published.
	for i := 0; i < eventBuffer*20; i++ {
		f.core.SetRegistration("a", "1001", &pbx.Registration{Contact: fmt.Sprint("sip:x@", i)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusTryAgainLater || !strings.Contains(err.Error(), "too slow") {
				t.Fatalf("closed with %v", err)
			}
			return
		}
	}
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	api := New(nil, nil, nil, nil)
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	for _, r := range api.paths {
		if !documented[r] {
			t.Errorf("route %s is not in openapi.json", r)
		}
		delete(documented, r)
	}
	for r := range documented {
		t.Errorf("openapi.json documents %s, which is not served", r)
	}
}

func FuzzCDRQuery(f *testing.F) {
	f.Add("from=2026-01-01&to=2026-01-02T00:00:00Z&number=1001&limit=5&offset=1&order=asc&disposition=busy")
	f.Add("limit=-1")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		fl, err := parseCDRQuery(q, "t")
		if err == nil && (fl.Limit < 0 || fl.Offset < 0 || fl.Tenant != "t") {
			t.Fatalf("accepted %+v", fl)
		}
	})
}

// TestLockoutAndAllowlist: three bad passwords lock the account and the
// address (429, even with the right password) until the window passes; a
// key limited to 10.0.0.0/8 is refused from 127.0.0.1.
func TestLockoutAndAllowlist(t *testing.T) {
	f := newFixture(t)
	for range 3 {
		if code, _ := f.do(t, "GET", "/api/v1/extensions", "admin:wrong", ""); code != 401 {
			t.Fatalf("bad password: %d", code)
		}
	}
	code, body := f.do(t, "GET", "/api/v1/extensions", "admin:admin-pass", "")
	if code != 429 || !strings.Contains(body, "locked_out") {
		t.Fatalf("right password during lockout: %d %s", code, body)
	}
	if code, _ := f.do(t, "GET", "/api/v1/extensions", "Bearer key-a", ""); code != 429 {
		t.Fatalf("a key from the locked address: %d", code)
	}
	f.clk.advance(61 * time.Second)
	if code, body := f.do(t, "GET", "/api/v1/extensions", "admin:admin-pass", ""); code != 200 {
		t.Fatalf("after the window: %d %s", code, body)
	}
	code, body = f.do(t, "GET", "/api/v1/extensions", "Bearer key-office", "")
	if code != 403 || !strings.Contains(body, "address_not_allowed") {
		t.Fatalf("allowlisted key from loopback: %d %s", code, body)
	}
}

// TestEveryDocumentedRouteRefusesAnonymous walks the OpenAPI document and
// calls each operation without credentials, then with bad ones: every
// route but the document itself must answer 401 before doing anything.
func TestEveryDocumentedRouteRefusesAnonymous(t *testing.T) {
	f := newFixture(t)
	b, _ := os.ReadFile("openapi.json")
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for p, ops := range doc.Paths {
		if p == "/api/v1/openapi.json" {
			continue
		}
		path := p
		for _, name := range []string{"{id}", "{number}", "{name}", "{channel}"} {
			path = strings.ReplaceAll(path, name, "1")
		}
		for m := range ops {
			for _, cred := range []string{"", "nobody:wrong"} {
				code, body := f.do(t, strings.ToUpper(m), path, cred, `{}`)
				if code != http.StatusUnauthorized || !strings.Contains(body, `"unauthorized"`) {
					t.Errorf("%s %s with %q: %d %s", strings.ToUpper(m), path, cred, code, body)
				}
				n++
			}
			f.clk.advance(2 * time.Minute) // keep the lockout out of this test
		}
	}
	if n < 70 {
		t.Fatalf("only %d requests made; is the document complete?", n)
	}
}

// memAccounts is an in-memory auth.Accounts for the API tests; the SQLite
// one runs the same operations in its own tests and the CLI test.
type memAccounts struct {
	mu    sync.Mutex
	users map[string]auth.StoredUser
	keys  []auth.StoredKey
}

func (m *memAccounts) CreateUser(_ context.Context, u auth.StoredUser) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[u.Tenant+"/"+u.Name]; ok {
		return auth.ErrExists
	}
	m.users[u.Tenant+"/"+u.Name] = u
	return nil
}
func (m *memAccounts) GetUser(_ context.Context, t, n string) (auth.StoredUser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[t+"/"+n]
	if !ok {
		return u, auth.ErrNotFound
	}
	return u, nil
}
func (m *memAccounts) FindUsers(_ context.Context, n string) ([]auth.StoredUser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []auth.StoredUser
	for _, u := range m.users {
		if u.Name == n {
			out = append(out, u)
		}
	}
	return out, nil
}
func (m *memAccounts) ListUsers(_ context.Context, t string) ([]auth.StoredUser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []auth.StoredUser
	for _, u := range m.users {
		if u.Tenant == t {
			out = append(out, u)
		}
	}
	return out, nil
}
func (m *memAccounts) SetDisabled(_ context.Context, t, n, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, u := range m.users {
		if u.Tenant == t && u.Name == n {
			u.Disabled = reason
			m.users[k] = u
			return nil
		}
	}
	return auth.ErrNotFound
}

func (m *memAccounts) SetPassword(_ context.Context, t, n, h, _ string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[t+"/"+n]
	if !ok {
		return auth.ErrNotFound
	}
	u.PasswordHash, u.Changed = h, at
	m.users[t+"/"+n] = u
	return nil
}
func (m *memAccounts) CreateKey(_ context.Context, k *auth.StoredKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k.ID = int64(len(m.keys) + 1)
	m.keys = append(m.keys, *k)
	return nil
}
func (m *memAccounts) KeyBySHA256(_ context.Context, sum string) (auth.StoredKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range m.keys {
		if k.SHA256 == sum {
			return k, nil
		}
	}
	return auth.StoredKey{}, auth.ErrNotFound
}
func (m *memAccounts) ListKeys(_ context.Context, t string) ([]auth.StoredKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []auth.StoredKey
	for _, k := range m.keys {
		if k.Tenant == t {
			out = append(out, k)
		}
	}
	return out, nil
}
func (m *memAccounts) RevokeKey(_ context.Context, t string, id int64, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, k := range m.keys {
		if k.ID == id && k.Tenant == t && k.Revoked.IsZero() {
			m.keys[i].Revoked = at
			return nil
		}
	}
	return auth.ErrNotFound
}
func (m *memAccounts) TouchKey(_ context.Context, _ string, id int64, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.keys {
		if m.keys[i].ID == id {
			m.keys[i].LastUsed = at
		}
	}
	return nil
}

// TestKeysAndUsersThroughTheAPI: a key created over the API works at
// once with its role, is listed without its secret, and stops working when
// revoked; a created user logs in, changes its password, and the old one
// stops working.
func TestKeysAndUsersThroughTheAPI(t *testing.T) {
	f := newFixture(t)
	acc := &memAccounts{users: map[string]auth.StoredUser{}}
	f.dir.SetAccounts(acc)
	f.api.SetAccounts(acc)
	code, body := f.do(t, "POST", "/api/v1/keys", "admin:admin-pass", `{"name":"crm","role":"readonly","expires_in":3600}`)
	if code != 201 {
		t.Fatalf("create key: %d %s", code, body)
	}
	var created struct {
		Key     string `json:"key"`
		Details struct {
			ID     int64  `json:"id"`
			Prefix string `json:"prefix"`
		} `json:"details"`
	}
	_ = json.Unmarshal([]byte(body), &created)
	if !strings.HasPrefix(created.Key, "sbk_") || created.Details.Prefix != created.Key[:8] {
		t.Fatalf("created %s", body)
	}
	if code, _ := f.do(t, "GET", "/api/v1/cdrs", "Bearer "+created.Key, ""); code != 200 {
		t.Fatalf("readonly key reading CDRs: %d", code)
	}
	if code, _ := f.do(t, "POST", "/api/v1/calls", "Bearer "+created.Key, `{"from":"1001","to":"1002"}`); code != 403 {
		t.Fatalf("readonly key originating: %d", code)
	}
	_, list := f.do(t, "GET", "/api/v1/keys", "admin:admin-pass", "")
	if strings.Contains(list, created.Key) || !strings.Contains(list, created.Details.Prefix) {
		t.Fatalf("key list leaks the key or lacks it: %s", list)
	}
	if code, _ := f.do(t, "POST", "/api/v1/keys", "ro:ro-pass", `{"name":"x"}`); code != 403 {
		t.Fatalf("readonly creating a key: %d", code)
	}
	if code, _ := f.do(t, "DELETE", fmt.Sprintf("/api/v1/keys/%d", created.Details.ID), "admin:admin-pass", ""); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	if code, _ := f.do(t, "GET", "/api/v1/cdrs", "Bearer "+created.Key, ""); code != 401 {
		t.Fatalf("revoked key: %d", code)
	}

	if code, body := f.do(t, "POST", "/api/v1/users", "admin:admin-pass", `{"name":"eve","password":"short","role":"user"}`); code != 400 {
		t.Fatalf("short password: %d %s", code, body)
	}
	if code, body := f.do(t, "POST", "/api/v1/users", "admin:admin-pass", `{"name":"eve","password":"long-enough-1","role":"supervisor"}`); code != 201 {
		t.Fatalf("create user: %d %s", code, body)
	}
	if code, _ := f.do(t, "GET", "/api/v1/calls", "eve:long-enough-1", ""); code != 200 {
		t.Fatalf("new user login: %d", code)
	}
	if code, _ := f.do(t, "PUT", "/api/v1/users/eve/password", "eve:long-enough-1", `{"password":"even-longer-2","current_password":"long-enough-1"}`); code != 204 {
		t.Fatalf("own password change: %d", code)
	}
	if code, _ := f.do(t, "GET", "/api/v1/calls", "eve:long-enough-1", ""); code != 401 {
		t.Fatalf("old password after change: %d", code)
	}
	if code, _ := f.do(t, "GET", "/api/v1/calls", "eve:even-longer-2", ""); code != 200 {
		t.Fatalf("new password: %d", code)
	}
	if code, _ := f.do(t, "PUT", "/api/v1/users/admin/password", "eve:even-longer-2", `{"password":"takeover-123"}`); code != 403 {
		t.Fatalf("changing another user's password: %d", code)
	}
}

// TestSessions: a login yields a session usable by header or cookie; it
// ends on logout, after the idle time, and when the password changes.
func TestSessions(t *testing.T) {
	f := newFixture(t)
	acc := &memAccounts{users: map[string]auth.StoredUser{}}
	f.dir.SetAccounts(acc)
	f.api.SetAccounts(acc)
	f.api.SetSessions(auth.NewSessions(10*time.Minute, time.Hour, acc, f.clk.now))
	login := func(user, pw string) (int, string, []*http.Cookie) {
		res, err := http.Post(f.srv.URL+"/api/v1/sessions", "application/json", strings.NewReader(fmt.Sprintf(`{"user":%q,"password":%q}`, user, pw)))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var out struct {
			SID string `json:"sid"`
		}
		_ = json.Unmarshal(b, &out)
		return res.StatusCode, out.SID, res.Cookies()
	}
	code, sid, cookies := login("admin", "admin-pass")
	if code != 201 || len(sid) < 40 || len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].Value != sid {
		t.Fatalf("login: %d %q %+v", code, sid, cookies)
	}
	if c, _ := f.do(t, "GET", "/api/v1/calls", "", ""); c != 401 {
		t.Fatalf("no credentials: %d", c)
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/calls", nil)
	req.Header.Set("Authorization", "Session "+sid)
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 200 {
		t.Fatalf("session header: %d", res.StatusCode)
	}
	req, _ = http.NewRequest("GET", f.srv.URL+"/api/v1/calls", nil)
	req.AddCookie(cookies[0])
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 200 {
		t.Fatalf("session cookie: %d", res.StatusCode)
	}
	f.clk.advance(11 * time.Minute)
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 401 {
		t.Fatalf("idle session: %d", res.StatusCode)
	}
	if c, _, _ := login("admin", "wrong"); c != 401 {
		t.Fatalf("bad login: %d", c)
	}

	// Logout ends it; a password change ends the user's sessions.
	_, sid, _ = login("admin", "admin-pass")
	del, _ := http.NewRequest("DELETE", f.srv.URL+"/api/v1/sessions/current", nil)
	del.Header.Set("Authorization", "Session "+sid)
	if res, _ := http.DefaultClient.Do(del); res.StatusCode != 204 {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	req.Header.Set("Authorization", "Session "+sid)
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 401 {
		t.Fatalf("after logout: %d", res.StatusCode)
	}
	if c, b := f.do(t, "POST", "/api/v1/users", "admin:admin-pass", `{"name":"eve","password":"long-enough-1"}`); c != 201 {
		t.Fatalf("create: %d %s", c, b)
	}
	_, eveSID, _ := login("eve", "long-enough-1")
	if c, _ := f.do(t, "PUT", "/api/v1/users/eve/password", "admin:admin-pass", `{"password":"changed-pass-2"}`); c != 204 {
		t.Fatalf("password change: %d", c)
	}
	req.Header.Set("Authorization", "Session "+eveSID)
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 401 {
		t.Fatalf("session after password change: %d", res.StatusCode)
	}
}

// TestEveryRouteChecksItsRight: an authenticated account holding no
// rights gets 403 from every route that requires one — so removing a
// right from a user removes that operation everywhere.
func TestEveryRouteChecksItsRight(t *testing.T) {
	f := newFixture(t)
	n := 0
	for _, rt := range f.api.routes {
		if rt.right == "" {
			continue
		}
		method, path, _ := strings.Cut(rt.pattern, " ")
		for _, name := range []string{"{id}", "{number}", "{name}", "{channel}"} {
			path = strings.ReplaceAll(path, name, "1")
		}
		code, body := f.do(t, method, path, "norights:nr-pass", `{}`)
		if code != http.StatusForbidden || !strings.Contains(body, `"forbidden"`) {
			t.Errorf("%s: %d %s", rt.pattern, code, body)
		}
		n++
	}
	if n != len(f.api.routes)-2 { // all but openapi.json and the login
		t.Fatalf("checked %d of %d routes", n, len(f.api.routes))
	}
}
