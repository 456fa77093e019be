package cloudpbx

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/artifacts"
	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/sms"
	"github.com/switchboard-pbx/switchboard/internal/store"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
)

// memCDRs is a CDR store answering the filters the dialect uses.
type memCDRs struct {
	mu   sync.Mutex
	rows []pbx.CDR
}

func (m *memCDRs) InsertCDR(_ context.Context, c *pbx.CDR) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c.ID = int64(len(m.rows) + 1)
	m.rows = append(m.rows, *c)
	return nil
}

func (m *memCDRs) QueryCDRs(_ context.Context, f pbx.CDRFilter) ([]pbx.CDR, int, error) {
	f, err := store.NormalizeFilter(f)
	if err != nil {
		return nil, 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []pbx.CDR
	for _, c := range m.rows {
		if c.Tenant == f.Tenant && (f.From.IsZero() || !c.CallDate.Before(f.From)) && (f.To.IsZero() || c.CallDate.Before(f.To)) {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CallDate.Before(out[j].CallDate) })
	total := len(out)
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, total, nil
}

func (m *memCDRs) GetCDR(_ context.Context, tenant string, id int64) (pbx.CDR, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.rows {
		if c.ID == id && c.Tenant == tenant {
			return c, nil
		}
	}
	return pbx.CDR{}, store.ErrNotFound
}

// memRecs is the recordings index.
type memRecs struct {
	mu   sync.Mutex
	rows []pbx.Recording
}

func (m *memRecs) InsertRecording(_ context.Context, r *pbx.Recording) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows = append(m.rows, *r)
	return nil
}

func (m *memRecs) UpdateRecording(_ context.Context, r *pbx.Recording) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.rows {
		if m.rows[i].ID == r.ID {
			m.rows[i] = *r
		}
	}
	return nil
}

func (m *memRecs) GetRecording(_ context.Context, tenant, id string) (pbx.Recording, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.rows {
		if r.Tenant == tenant && r.ID == id {
			return r, nil
		}
	}
	return pbx.Recording{}, pbx.ErrNotFound
}

func (m *memRecs) QueryRecordings(_ context.Context, f pbx.RecordingFilter) ([]pbx.Recording, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []pbx.Recording
	for _, r := range m.rows {
		if r.Tenant != f.Tenant || (f.CallID != "" && r.CallID != f.CallID) || (f.File != "" && r.File != f.File) ||
			(!f.From.IsZero() && r.Started.Before(f.From)) || (!f.To.IsZero() && r.Started.After(f.To)) {
			continue
		}
		out = append(out, r)
	}
	total := len(out)
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, total, nil
}

func (m *memRecs) UnfinishedRecordings(context.Context) ([]pbx.Recording, error) { return nil, nil }

// fakeEngine answers originate by creating the call in the core with the
// A party ringing, as an engine would.
type fakeEngine struct {
	core *pbx.Core
	mu   sync.Mutex
	orig []pbx.OriginateRequest
}

func (f *fakeEngine) Originate(_ context.Context, r pbx.OriginateRequest) (pbx.Call, error) {
	f.mu.Lock()
	f.orig = append(f.orig, r)
	f.mu.Unlock()
	ch, call, err := f.core.NewCall(r.Tenant, r.From, r.To, true, pbx.ChannelSpec{Peer: r.From, Exten: r.From, Dir: pbx.Outbound,
		CallerIDNum: r.To})
	if err == nil {
		f.core.SetChannelState(ch, pbx.ChanRinging)
	}
	return call, err
}

func (f *fakeEngine) Hangup(_ context.Context, tenant, id, cause string) error { return nil }

// The spec's own example values: the PBX MojaCentrala in Warsaw, the key
// MyExampleKey, and "today" the day of the spec's CDR example.
const (
	tenant  = "MojaCentrala"
	apiKey  = "MyExampleKey"
	otherPB = "Inna"
)

var specNow = time.Date(2021, 12, 15, 12, 0, 0, 0, warsaw())

func warsaw() *time.Location {
	l, err := time.LoadLocation("Europe/Warsaw")
	if err != nil {
		panic(err)
	}
	return l
}

type fixture struct {
	srv  *httptest.Server
	api  *API
	core *pbx.Core
	eng  *fakeEngine
	cdrs *memCDRs
	recs *memRecs
	dir  string
	box  *sms.Outbox
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	cdrs, recs := &memCDRs{}, &memRecs{}
	recDir := t.TempDir()
	arts := artifacts.New(recDir, "")
	core, err := pbx.NewCore(pbx.Directory{Tenants: []pbx.TenantEntry{
		{Name: tenant, Domain: "mojacentrala.local", Location: warsaw(),
			Extensions:  []pbx.ExtensionEntry{{Number: "101", Name: "Sekretariat 3"}, {Number: "105", Name: "Jan Nowak"}, {Number: "130"}, {Number: "200"}},
			Queues:      []pbx.QueueEntry{{Name: "Kolejka1", Number: "7000", Members: []pbx.QueueMemberEntry{{Number: "101"}}, JoinEmpty: true}},
			Conferences: []pbx.ConferenceEntry{{Name: "SesjaRady", Number: "8000"}}},
		{Name: otherPB, Domain: "inna.local", Extensions: []pbx.ExtensionEntry{{Number: "101"}}},
	}}, cdrs, pbx.Options{Recordings: recs, Artifacts: arts})
	if err != nil {
		t.Fatal(err)
	}
	eng := &fakeEngine{core: core}
	core.SetEngine(eng)
	dir, err := auth.NewDirectory(nil, []auth.APIKey{
		{Tenant: tenant, Name: "cloudpbx", Key: apiKey, Role: "admin"},
		{Tenant: tenant, Name: "ro", Key: "ReadOnlyKey0123", Role: "readonly"},
		{Tenant: tenant, Name: "nocdr", Key: "NoCDRKey0123456", Role: "admin", Rights: map[string]bool{auth.ReadEvents: true, auth.ReadRecordings: true}},
		{Tenant: otherPB, Name: "inna", Key: "OtherKey0123456", Role: "admin"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Text messages: the sim gateway over a SQLite file (numbers ending
	// 13 end UNDELIVERED), ids counting from the spec's example.
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "sms.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids atomic.Int64
	box, err := sms.New(sms.Options{Store: st, CDRs: cdrs, Publisher: core,
		NewID: func() string { return strconv.FormatInt(3421756012963258480+ids.Add(1), 10) },
		Tenants: map[string]sms.TenantConfig{tenant: {From: tenant, Driver: &sms.Sim{SendDelay: 20 * time.Millisecond,
			DeliverDelay: 20 * time.Millisecond, FailSuffixes: []string{"13"}, Cost: 9}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := box.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	api, err := New(dialect.Deps{Service: dialect.NewService(core).WithSMS(box), Gate: &dialect.Gate{Auth: dir}, Events: dialect.NewEvents(core, nil),
		CDRs: cdrs, Artifacts: arts, Now: func() time.Time { return specNow }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(func() {
		srv.Close()
		api.Close(context.Background())
		box.Close()
		st.Close()
		core.Close()
	})
	return &fixture{srv: srv, api: api, core: core, eng: eng, cdrs: cdrs, recs: recs, dir: recDir, box: box}
}

// seed puts the spec's examples in the stores: its CDR (today), one more
// in the spec's example range, and recordings with their files.
func (f *fixture) seed(t *testing.T) {
	t.Helper()
	loc := warsaw()
	ctx := context.Background()
	for _, c := range []pbx.CDR{
		{Tenant: tenant, CallDate: time.Date(2021, 12, 15, 11, 25, 2, 0, loc), CLID: `"Sekretariat 3" <101>`, Src: "101", Dst: "105",
			Channel: "SIP/PBX-101-00000028", DstChannel: "SIP/PBX-105-00000029", LastApp: "Queue", Duration: 13, BillSec: 13,
			Disposition: pbx.DispAnswered, UniqueID: "1639563902.75"},
		{Tenant: tenant, CallDate: time.Date(2021, 10, 3, 8, 0, 0, 0, loc), CLID: `"Jan Nowak" <105>`, Src: "105", Dst: "200",
			Channel: "SIP/MojaCentrala-105-00000001", DstChannel: "", LastApp: "Dial", Duration: 30, BillSec: 0,
			Disposition: pbx.DispNoAnswer, UniqueID: "1633240800.1"},
		// 2021-10-07 23:30 in Warsaw is 21:30 UTC: inside datestop=2021-10-07.
		{Tenant: tenant, CallDate: time.Date(2021, 10, 7, 23, 30, 0, 0, loc), CLID: `"Bot" <130>`, Src: "130", Dst: "0048221234567",
			Channel: "SIP/MojaCentrala-130-00000002", DstChannel: "SIP/pstn-00000003", LastApp: "Dial", Duration: 65, BillSec: 60,
			Disposition: pbx.DispAnswered, UniqueID: "1633642200.2", Rated: true, Zone: "Polska", Cost: 12},
		// 2021-10-08 00:30 in Warsaw is still 10-07 in UTC: outside.
		{Tenant: tenant, CallDate: time.Date(2021, 10, 8, 0, 30, 0, 0, loc), Src: "101", Dst: "105", Disposition: pbx.DispBusy, UniqueID: "1633645800.3"},
		{Tenant: otherPB, CallDate: time.Date(2021, 12, 15, 10, 0, 0, 0, loc), Src: "101", Dst: "102", Disposition: pbx.DispFailed, UniqueID: "other.1"},
	} {
		c := c
		if err := f.cdrs.InsertCDR(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []pbx.Recording{
		{ID: "r1", Tenant: tenant, CallID: "1639563902.75", Src: "101", Dst: "105", File: "1639563902.75.wav", State: pbx.RecDone,
			Started: time.Date(2021, 12, 15, 11, 25, 4, 0, loc)},
		{ID: "r2", Tenant: tenant, CallID: "1633642200.2", Src: "130", Dst: "0048221234567", File: "1633642200.2.wav", State: pbx.RecDone,
			Started: time.Date(2021, 10, 7, 23, 30, 5, 0, loc)},
		{ID: "r3", Tenant: otherPB, CallID: "other.1", Src: "101", Dst: "102", File: "other.1.wav", State: pbx.RecDone,
			Started: time.Date(2021, 12, 15, 10, 0, 0, 0, loc)},
	} {
		r := r
		if err := f.recs.InsertRecording(ctx, &r); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(f.dir, r.Tenant)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, r.File), []byte("RIFF....WAVEfmt "+r.CallID), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// do sends one request with a real HTTP client.
func (f *fixture) do(t *testing.T, method, path, authz, contentType, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func registered() *pbx.Registration {
	return &pbx.Registration{Contact: "sip:101@127.0.0.1:5062", Expires: time.Now().Add(time.Hour)}
}
