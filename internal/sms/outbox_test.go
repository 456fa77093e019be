package sms_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/sms"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
)

// events records what the outbox publishes.
type events struct {
	mu  sync.Mutex
	evs []pbx.Event
}

func (e *events) Publish(tenant string, ev pbx.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	ev.Data["tenant"] = tenant
	e.evs = append(e.evs, ev)
	return nil
}

// states lists the states published for id, in order.
func (e *events) states(id string) []sms.State {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []sms.State
	for _, ev := range e.evs {
		if ev.Type == sms.EvStatus && ev.Data["id"] == id {
			out = append(out, sms.State(ev.Data["status"]))
		}
	}
	return out
}

// wait waits until the states published for id read want.
func (e *events) wait(t *testing.T, id, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for fmt.Sprint(e.states(id)) != want {
		if time.Now().After(deadline) {
			t.Fatalf("events of %s: %v, want %s", id, e.states(id), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func openStore(t *testing.T, path string) *sqlite.Store { return openStoreB(t, path) }

func openStoreB(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type rig struct {
	st  *sqlite.Store
	ev  *events
	box *sms.Outbox
}

func start(t *testing.T, path string, tc sms.TenantConfig, pricer sms.Pricer) *rig {
	t.Helper()
	st := openStore(t, path)
	ev := &events{}
	box, err := sms.New(sms.Options{Store: st, CDRs: st, Publisher: ev, Pricer: pricer, Tenants: map[string]sms.TenantConfig{"t1": tc}})
	if err != nil {
		t.Fatal(err)
	}
	if err := box.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := &rig{st: st, ev: ev, box: box}
	t.Cleanup(r.close)
	return r
}

func (r *rig) close() {
	r.box.Close()
	r.st.Close()
}

// waitState polls the stored message until it reaches want.
func waitState(t *testing.T, r *rig, id string, want sms.State) sms.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := r.box.Get(context.Background(), "t1", id)
		if err == nil && m.State == want {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s is %s (%v), want %s", id, m.State, err, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func cdrOf(t *testing.T, r *rig, id string) pbx.CDR {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rows, _, err := r.st.QueryCDRs(context.Background(), pbx.CDRFilter{Tenant: "t1", UniqueID: id, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 1 {
			return rows[0]
		}
		if len(rows) > 1 || time.Now().After(deadline) {
			t.Fatalf("CDRs of %s: %+v", id, rows)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sim() *sms.Sim {
	return &sms.Sim{SendDelay: 20 * time.Millisecond, DeliverDelay: 30 * time.Millisecond, FailSuffixes: []string{"13"}, RejectSuffixes: []string{"66"}}
}

// TestSimWalksTheStates: the sim driver takes a message through every
// progress state to DELIVERED, each change an event, with one CDR whose
// uniqueid is the message id and whose cost comes from the rate table;
// numbers ending in the fail digits end UNDELIVERED, the reject digits
// REJECTED (cost 0).
func TestSimWalksTheStates(t *testing.T) {
	pricer := func(tenant, number string) (string, int64, bool) {
		if tenant == "t1" && len(number) == 11 && number[:2] == "48" {
			return "PL mobile", 9, true
		}
		return "", 0, false
	}
	r := start(t, filepath.Join(t.TempDir(), "sms.db"), sms.TenantConfig{Driver: sim(), From: "Firma"}, pricer)
	ctx := context.Background()
	ok, err := r.box.Send(ctx, sms.Request{Tenant: "t1", Owner: "key:crm", To: "48600100200", Body: "Test"})
	if err != nil {
		t.Fatal(err)
	}
	if ok.State != sms.Queue || len(ok.ID) != 19 || ok.From != "Firma" || ok.Queued.IsZero() {
		t.Fatalf("queued: %+v", ok)
	}
	bad, _ := r.box.Send(ctx, sms.Request{Tenant: "t1", To: "48600100213", Body: "Test"})
	rej, _ := r.box.Send(ctx, sms.Request{Tenant: "t1", To: "48600100266", Body: "Test"})
	m := waitState(t, r, ok.ID, sms.Delivered)
	if m.Accepted.IsZero() || m.Sent.IsZero() || m.Done.IsZero() || m.Attempts != 1 || m.Driver != "sim" || m.Ref == "" || !m.Rated || m.Cost != 9 {
		t.Fatalf("delivered: %+v", m)
	}
	r.ev.wait(t, ok.ID, "[QUEUE ACCEPTED SENT DELIVERED]")
	waitState(t, r, bad.ID, sms.Undelivered)
	waitState(t, r, rej.ID, sms.Rejected)
	r.ev.wait(t, rej.ID, "[QUEUE REJECTED]")
	c := cdrOf(t, r, ok.ID)
	if c.Src != "Firma" || c.Dst != "48600100200" || c.LastApp != "SMS" || c.Disposition != pbx.DispAnswered || !c.Rated || c.Cost != 9 || c.Zone != "PL mobile" {
		t.Fatalf("cdr %+v", c)
	}
	if c := cdrOf(t, r, bad.ID); c.Disposition != pbx.DispNoAnswer || c.Cost != 9 {
		t.Fatalf("undelivered cdr %+v", c)
	}
	if c := cdrOf(t, r, rej.ID); c.Disposition != pbx.DispFailed || !c.Rated || c.Cost != 0 {
		t.Fatalf("rejected cdr %+v", c)
	}
}

// TestSendValidates: bad numbers and bodies, a tenant without a gateway;
// a test message gets an id but is neither stored nor sent.
func TestSendValidates(t *testing.T) {
	r := start(t, filepath.Join(t.TempDir(), "sms.db"), sms.TenantConfig{Driver: sim()}, nil)
	ctx := context.Background()
	long := make([]rune, sms.MaxBody+1)
	for i := range long {
		long[i] = 'ż'
	}
	for _, req := range []sms.Request{
		{Tenant: "t1", To: "60010020x", Body: "x"}, {Tenant: "t1", To: "12", Body: "x"}, {Tenant: "t1", To: "+", Body: "x"},
		{Tenant: "t1", To: "600100200", Body: ""}, {Tenant: "t1", To: "600100200", Body: string(long)},
		{Tenant: "t1", To: "600100200", Body: "a\x00b"}, {Tenant: "t1", To: "600100200", Body: "\xff"},
	} {
		if _, err := r.box.Send(ctx, req); !errors.Is(err, pbx.ErrInvalidArgument) {
			t.Errorf("%q %q: %v", req.To, req.Body, err)
		}
	}
	if _, err := r.box.Send(ctx, sms.Request{Tenant: "t2", To: "600100200", Body: "x"}); !errors.Is(err, pbx.ErrNotSupported) || !errors.Is(err, sms.ErrNoGateway) {
		t.Errorf("no gateway: %v", err)
	}
	m, err := r.box.Send(ctx, sms.Request{Tenant: "t1", To: "+48600100200", Body: string(long[:sms.MaxBody]), Test: true})
	if err != nil || m.ID == "" || m.State != sms.Queue {
		t.Fatalf("test: %+v %v", m, err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := r.box.Get(ctx, "t1", m.ID); err == nil {
		t.Fatal("a test message was stored")
	}
	if len(r.ev.states(m.ID)) != 0 {
		t.Fatal("a test message was published")
	}
}

// flaky fails its first n hand-overs transiently, then accepts.
type flaky struct {
	n     int32
	calls atomic.Int32
	perm  bool
}

func (f *flaky) Kind() string { return "flaky" }
func (f *flaky) Close() error { return nil }
func (f *flaky) Send(ctx context.Context, m sms.Message, _ sms.Reporter) (sms.Result, error) {
	if f.calls.Add(1) <= f.n {
		if f.perm {
			return sms.Result{}, errors.New("gateway said no")
		}
		return sms.Result{}, fmt.Errorf("gateway 503: %w", sms.ErrTransient)
	}
	return sms.Result{State: sms.Accepted, Ref: "gw-" + m.ID, Costed: true, Cost: 12}, nil
}

// TestRetriesWithBackoff: transient failures put the message in RENEWAL
// and retry it with growing delays until the gateway takes it; after
// max_attempts it FAILS; a permanent error fails at once.
func TestRetriesWithBackoff(t *testing.T) {
	ctx := context.Background()
	t.Run("recovers", func(t *testing.T) {
		d := &flaky{n: 2}
		r := start(t, filepath.Join(t.TempDir(), "sms.db"), sms.TenantConfig{Driver: d, RetryInitial: 20 * time.Millisecond, RetryMax: time.Second}, nil)
		began := time.Now()
		m, _ := r.box.Send(ctx, sms.Request{Tenant: "t1", To: "600100200", Body: "x"})
		got := waitState(t, r, m.ID, sms.Accepted)
		if took := time.Since(began); took < 60*time.Millisecond { // 20 ms, then 40 ms
			t.Fatalf("retried after %v: no backoff", took)
		}
		if got.Attempts != 3 || got.Ref != "gw-"+m.ID || !got.Rated || got.Cost != 12 {
			t.Fatalf("after retries: %+v", got)
		}
		r.ev.wait(t, m.ID, "[QUEUE RENEWAL ACCEPTED]")
		// A gateway's later report names its own reference.
		if err := r.box.Report(ctx, sms.Update{Tenant: "t1", Ref: "gw-" + m.ID, State: sms.Delivered}); err != nil {
			t.Fatal(err)
		}
		waitState(t, r, m.ID, sms.Delivered)
		// Late and backward reports change nothing.
		if err := r.box.Report(ctx, sms.Update{Tenant: "t1", ID: m.ID, State: sms.Sent}); err != nil {
			t.Fatal(err)
		}
		r.ev.wait(t, m.ID, "[QUEUE RENEWAL ACCEPTED DELIVERED]")
		if c := cdrOf(t, r, m.ID); c.Cost != 12 || !c.Rated {
			t.Fatalf("cdr %+v", c)
		}
	})
	t.Run("gives up", func(t *testing.T) {
		d := &flaky{n: 100}
		r := start(t, filepath.Join(t.TempDir(), "sms.db"), sms.TenantConfig{Driver: d, MaxAttempts: 3, RetryInitial: 5 * time.Millisecond}, nil)
		m, _ := r.box.Send(ctx, sms.Request{Tenant: "t1", To: "600100200", Body: "x"})
		got := waitState(t, r, m.ID, sms.Failed)
		if got.Attempts != 3 || d.calls.Load() != 3 || got.Error == "" {
			t.Fatalf("failed: %+v after %d calls", got, d.calls.Load())
		}
		if c := cdrOf(t, r, m.ID); c.Disposition != pbx.DispFailed {
			t.Fatalf("cdr %+v", c)
		}
	})
	t.Run("permanent", func(t *testing.T) {
		d := &flaky{n: 100, perm: true}
		r := start(t, filepath.Join(t.TempDir(), "sms.db"), sms.TenantConfig{Driver: d}, nil)
		m, _ := r.box.Send(ctx, sms.Request{Tenant: "t1", To: "600100200", Body: "x"})
		if got := waitState(t, r, m.ID, sms.Failed); got.Attempts != 1 {
			t.Fatalf("%+v", got)
		}
	})
}

// TestQueuedMessagesSurviveRestart: messages queued when the outbox
// closes (a gateway down) are sent by the next run over the same SQLite
// file; a message the sim had accepted finishes its walk.
func TestQueuedMessagesSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sms.db")
	ctx := context.Background()
	down := &flaky{n: 1000}
	r := start(t, path, sms.TenantConfig{Driver: down, RetryInitial: time.Hour}, nil)
	var ids []string
	for i := 0; i < 3; i++ {
		m, err := r.box.Send(ctx, sms.Request{Tenant: "t1", To: "600100200", Body: fmt.Sprint("msg ", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	for _, id := range ids {
		waitState(t, r, id, sms.Renewal)
	}
	r.close()
	r2 := start(t, path, sms.TenantConfig{Driver: &sms.Sim{SendDelay: time.Hour}}, nil)
	for _, id := range ids {
		if m := waitState(t, r2, id, sms.Accepted); m.Attempts != 2 {
			t.Fatalf("%+v", m)
		}
	}
	r2.close()
	// The sim resumes its walk from ACCEPTED after a restart.
	r3 := start(t, path, sms.TenantConfig{Driver: sim()}, nil)
	for _, id := range ids {
		waitState(t, r3, id, sms.Delivered)
		cdrOf(t, r3, id)
	}
}

// silent accepts every message and never reports.
type silent struct{}

func (silent) Kind() string { return "silent" }
func (silent) Close() error { return nil }
func (silent) Send(context.Context, sms.Message, sms.Reporter) (sms.Result, error) {
	return sms.Result{State: sms.Accepted}, nil
}

// TestNoReportEndsUnknown: a message the gateway accepted but never
// reported on ends UNKNOWN after the report timeout, with its CDR.
func TestNoReportEndsUnknown(t *testing.T) {
	r := start(t, filepath.Join(t.TempDir(), "sms.db"), sms.TenantConfig{Driver: silent{}, ReportTimeout: 80 * time.Millisecond}, nil)
	m, err := r.box.Send(context.Background(), sms.Request{Tenant: "t1", To: "600100200", Body: "x"})
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, r, m.ID, sms.Accepted)
	got := waitState(t, r, m.ID, sms.Unknown)
	if got.Done.Sub(got.Accepted) < 80*time.Millisecond || !strings.Contains(got.Error, "no delivery report") {
		t.Fatalf("%+v", got)
	}
	r.ev.wait(t, m.ID, "[QUEUE ACCEPTED UNKNOWN]")
	if c := cdrOf(t, r, m.ID); c.Disposition != pbx.DispAnswered || c.EndStatus != "UNKNOWN" {
		t.Fatalf("cdr %+v", c)
	}
}
