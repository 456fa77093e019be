package webtapi

import (
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/audit"
	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/devices"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

const (
	tenant = "MojaCentrala"
	other  = "Inna"
)

// clock is a settable time for sessions and the core.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeEngine creates originated calls in the core (the A party ringing)
// and records what it was asked, as an engine would.
type fakeEngine struct {
	core  *pbx.Core
	mu    sync.Mutex
	orig  []pbx.OriginateRequest
	hung  []string
	redir []string
	dtmf  []string
}

func (f *fakeEngine) Originate(_ context.Context, r pbx.OriginateRequest) (pbx.Call, error) {
	f.mu.Lock()
	f.orig = append(f.orig, r)
	f.mu.Unlock()
	ch, call, err := f.core.NewCall(r.Tenant, r.From, r.To, true, pbx.ChannelSpec{Peer: r.From, Exten: r.From, Dir: pbx.Outbound, CallerIDNum: r.To})
	if err == nil {
		f.core.SetChannelState(ch, pbx.ChanRinging)
	}
	return call, err
}

func (f *fakeEngine) Hangup(_ context.Context, tenant, id, cause string) error {
	f.mu.Lock()
	f.hung = append(f.hung, id)
	f.mu.Unlock()
	return nil
}

func (f *fakeEngine) Redirect(_ context.Context, tenant, id, dest string) error {
	f.mu.Lock()
	f.redir = append(f.redir, id+">"+dest)
	f.mu.Unlock()
	return nil
}

func (f *fakeEngine) PlayDTMF(_ context.Context, tenant, id, digits string) error {
	f.mu.Lock()
	f.dtmf = append(f.dtmf, id+":"+digits)
	f.mu.Unlock()
	return nil
}

func (f *fakeEngine) Pickup(_ context.Context, tenant, id, by string) error {
	f.mu.Lock()
	f.redir = append(f.redir, "pickup:"+id+">"+by)
	f.mu.Unlock()
	return nil
}

func (f *fakeEngine) actions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.orig) + len(f.hung) + len(f.redir) + len(f.dtmf)
}

type nopCDRs struct{}

func (nopCDRs) InsertCDR(context.Context, *pbx.CDR) error { return nil }

// memRelays is the virtual relays' store.
type memRelays struct {
	mu sync.Mutex
	on map[int]bool
}

func (m *memRelays) RelayState(_ context.Context, _ string, id int) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.on[id], nil
}

func (m *memRelays) SetRelayState(_ context.Context, _ string, id int, on bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.on[id] = on
	return nil
}

// memAudit is the audit log's store.
type memAudit struct {
	mu sync.Mutex
	es []audit.Entry
}

func (m *memAudit) InsertAudit(_ context.Context, es []audit.Entry) error {
	m.mu.Lock()
	m.es = append(m.es, es...)
	m.mu.Unlock()
	return nil
}

func (m *memAudit) QueryAudit(context.Context, audit.Filter) ([]audit.Entry, int, error) {
	return nil, 0, nil
}

// wait returns the entries once one matches ok (5 s at most).
func (m *memAudit) wait(t testing.TB, ok func(audit.Entry) bool) audit.Entry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		m.mu.Lock()
		for _, e := range m.es {
			if ok(e) {
				m.mu.Unlock()
				return e
			}
		}
		m.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no such audit entry among %+v", m.es)
	return audit.Entry{}
}

type fixture struct {
	audit *memAudit
	srv   *httptest.Server
	api   *API
	core  *pbx.Core
	eng   *fakeEngine
	clock *clock
	rel   *memRelays
}

var t0 = time.Date(2013, 1, 20, 17, 55, 1, 0, time.UTC) // the spec's example unique id 1358704647 is near

func newFixture(t testing.TB) *fixture {
	t.Helper()
	clk := &clock{t: t0}
	core, err := pbx.NewCore(pbx.Directory{Tenants: []pbx.TenantEntry{
		{Name: tenant, Domain: "mojacentrala.local",
			Extensions: []pbx.ExtensionEntry{{Number: "1001"}, {Number: "1002"}, {Number: "1003"}, {Number: "1004", Name: "Lukas"}, {Number: "2001"}},
			Queues:     []pbx.QueueEntry{{Name: "VMX", Number: "7777", Members: []pbx.QueueMemberEntry{{Number: "1001"}, {Number: "1002"}}, JoinEmpty: true}}},
		{Name: other, Domain: "inna.local", Extensions: []pbx.ExtensionEntry{{Number: "1004"}}},
	}}, nopCDRs{}, pbx.Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	eng := &fakeEngine{core: core}
	core.SetEngine(eng)
	dir, err := auth.NewDirectory([]auth.User{
		{Tenant: tenant, Name: "admin", Password: "admin", Role: "admin"},
		{Tenant: tenant, Name: "1004", Password: "demo", Role: "user", Extension: "1004"},
		{Tenant: tenant, Name: "ro", Password: "readonly", Role: "readonly"},
		{Tenant: other, Name: "inna", Password: "inna-pass", Role: "admin"},
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rel := &memRelays{on: map[int]bool{}}
	relays, err := devices.NewRelays([]devices.RelaySpec{{Tenant: tenant, ID: 17, Name: "Door", Driver: devices.Virtual{Store: rel, Tenant: tenant, ID: 17}}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cams, err := devices.NewCameras([]devices.CameraSpec{{Tenant: tenant, ID: 44, Name: "Entrance", Driver: devices.Synthetic{Width: 64, Height: 48, FPS: 20}}})
	if err != nil {
		t.Fatal(err)
	}
	svc := dialect.NewService(core).WithRelays(relays).WithCameras(cams)
	gate := &dialect.Gate{Auth: dir, Sessions: auth.NewSessions(30*time.Minute, 12*time.Hour, nil, clk.now)}
	aud := &memAudit{}
	alog := audit.Start(aud, nil)
	api, err := New(dialect.Deps{Service: svc, Gate: gate, Now: clk.now, Audit: alog})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(func() {
		srv.Close()
		_ = api.Close(context.Background())
		core.Close()
		alog.Close()
	})
	return &fixture{audit: aud, srv: srv, api: api, core: core, eng: eng, clock: clk, rel: rel}
}

// get sends a GET with the query q and returns the status, body and
// X-Webtapi-Error.
func (f *fixture) get(t testing.TB, q string) (int, string, string) {
	t.Helper()
	res, err := f.srv.Client().Get(f.srv.URL + Path + "?" + q)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, res)
}

// post sends a form-encoded POST.
func (f *fixture) post(t testing.TB, q string, form url.Values) (int, string, string) {
	t.Helper()
	u := f.srv.URL + Path
	if q != "" {
		u += "?" + q
	}
	res, err := f.srv.Client().Post(u, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	return read(t, res)
}

// postMultipart sends a multipart/form-data POST.
func (f *fixture) postMultipart(t testing.TB, q string, fields [][2]string) (int, string, string) {
	t.Helper()
	var b strings.Builder
	mw := multipart.NewWriter(&b)
	for _, kv := range fields {
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	mw.Close()
	u := f.srv.URL + Path
	if q != "" {
		u += "?" + q
	}
	res, err := f.srv.Client().Post(u, mw.FormDataContentType(), strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return read(t, res)
}

func read(t testing.TB, res *http.Response) (int, string, string) {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b), res.Header.Get("X-Webtapi-Error")
}

// login returns a session id for user/pass.
func (f *fixture) login(t testing.TB, user, pass string) string {
	t.Helper()
	code, body, e := f.post(t, "action=login", url.Values{"AUTH[user]": {user}, "AUTH[pass]": {pass}})
	if code != 200 || body == "0" || e != "" || len(body) < 32 {
		t.Fatalf("login %s: %d %q %s", user, code, body, e)
	}
	return body
}

// call creates a two-party call in the core: from's channel inbound (it
// dialled), to's channel outbound; answered when up.
func (f *fixture) call(t testing.TB, ten, from, to string, up bool) (pbx.Call, *pbx.Channel, *pbx.Channel) {
	t.Helper()
	a, c, err := f.core.NewCall(ten, from, to, false, pbx.ChannelSpec{Peer: from, Exten: from, Dir: pbx.Inbound, CallerIDNum: from})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.core.AddChannel(ten, c.ID, pbx.ChannelSpec{Peer: to, Exten: to, Dir: pbx.Outbound, CallerIDNum: from})
	if err != nil {
		t.Fatal(err)
	}
	if up {
		f.core.SetChannelState(a, pbx.ChanUp)
		f.core.SetChannelState(b, pbx.ChanUp)
		f.core.CallAnswered(ten, c.ID)
	} else {
		f.core.SetChannelState(b, pbx.ChanRinging)
	}
	c, err = f.core.FindCall(ten, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c, a, b
}
