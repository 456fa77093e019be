package sipengine

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/demobot"
	"github.com/switchboard-pbx/switchboard/internal/eventbus"
	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

var lo = netip.MustParseAddr("127.0.0.1")

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

func (m *memCDRs) all() []pbx.CDR {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]pbx.CDR(nil), m.rows...)
}

type rig struct {
	core *pbx.Core
	eng  *Engine
	cdrs *memCDRs
	sub  *eventbus.Subscription[pbx.Event]
}

const domain = "t.local"

func newRig(t *testing.T, ringTimeout time.Duration) *rig {
	return newRigWith(t, ringTimeout, pbx.Options{}, nil)
}

// recordExts marks extensions always-record in a rig's directory.
func recordExts(numbers ...string) func(*pbx.TenantEntry) {
	return func(te *pbx.TenantEntry) {
		for i := range te.Extensions {
			for _, n := range numbers {
				if te.Extensions[i].Number == n {
					te.Extensions[i].Record = true
				}
			}
		}
	}
}

// newRigWith builds a rig with core options, a change to the core's view
// of the tenant and changes to the engine's configuration.
func newRigWith(t *testing.T, ringTimeout time.Duration, opts pbx.Options, dir func(*pbx.TenantEntry), engOpts ...func(*Config)) *rig {
	t.Helper()
	cdrs := &memCDRs{}
	r := newRigCDRs(t, ringTimeout, opts, dir, cdrs, engOpts...)
	r.cdrs = cdrs
	return r
}

// newRigCDRs is newRigWith writing CDRs to w (a real store); the rig's
// cdrs is then nil.
func newRigCDRs(t *testing.T, ringTimeout time.Duration, opts pbx.Options, dir func(*pbx.TenantEntry), cdrs pbx.CDRWriter, engOpts ...func(*Config)) *rig {
	t.Helper()
	var exts []pbx.ExtensionEntry
	var sexts []Extension
	for _, n := range []string{"100", "101", "102", "103", "104"} {
		exts = append(exts, pbx.ExtensionEntry{Number: n})
		sexts = append(sexts, Extension{Number: n, Name: "Ext " + n, HA1: HA1(n, domain, "pw-"+n)})
	}
	te := pbx.TenantEntry{Name: "t", Domain: domain, Extensions: exts}
	if dir != nil {
		dir(&te)
	}
	core, err := pbx.NewCore(pbx.Directory{Tenants: []pbx.TenantEntry{te}}, cdrs, opts)
	if err != nil {
		t.Fatal(err)
	}
	ports, _ := media.NewPortAllocator(lo, 33000, 33998, 0)
	cfg := Config{Listen: "127.0.0.1:0", Ports: ports, RingTimeout: ringTimeout, Logger: testLogger(),
		Tenants: []Tenant{{Name: "t", Domain: domain, Extensions: sexts}}}
	for _, o := range engOpts {
		o(&cfg)
	}
	eng, err := New(core, cfg)
	if err != nil {
		t.Fatal(err)
	}
	core.SetEngine(eng)
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := &rig{core: core, eng: eng, sub: core.Subscribe("t", 10000)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		eng.Close(ctx)
		core.Close()
	})
	return r
}

func (r *rig) phones(t *testing.T, delay time.Duration, numbers ...string) *demobot.Farm {
	return r.phonesTone(t, delay, 440, numbers...)
}

// phonesTone starts bots that play toneHz, so tests can tell parties apart
// by ear.
func (r *rig) phonesTone(t *testing.T, delay time.Duration, toneHz float64, numbers ...string) *demobot.Farm {
	t.Helper()
	ports, _ := media.NewPortAllocator(lo, 34000, 34998, 0)
	f, err := demobot.NewFarm(demobot.FarmConfig{PBX: r.eng.Addr(), Domain: domain, ListenIP: lo, Ports: ports, AnswerDelay: delay, ToneHz: toneHz})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range numbers {
		f.Add(n, "pw-"+n)
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func (r *rig) waitEnded(t *testing.T) pbx.CDR {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case e := <-r.sub.C():
			if e.Event.Type == pbx.EvCallEnded {
				return *e.Event.CDR
			}
		case <-deadline:
			t.Fatal("no call.ended")
		}
	}
}

func (r *rig) waitEvent(t *testing.T, typ pbx.EventType) pbx.Event {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case e := <-r.sub.C():
			if e.Event.Type == typ {
				return e.Event
			}
		case <-deadline:
			t.Fatalf("no %s", typ)
		}
	}
}

func TestRegisterWrongPasswordRefused(t *testing.T) {
	r := newRig(t, 5*time.Second)
	ports, _ := media.NewPortAllocator(lo, 35000, 35100, 0)
	f, _ := demobot.NewFarm(demobot.FarmConfig{PBX: r.eng.Addr(), Domain: domain, ListenIP: lo, Ports: ports})
	f.Add("100", "wrong")
	err := f.Start(context.Background())
	f.Close()
	if err == nil {
		t.Fatal("wrong password registered")
	}
	if x, _ := r.core.Extension("t", "100"); x.Registered {
		t.Fatal("extension marked registered")
	}
}

func TestUnauthenticatedInviteIsChallenged(t *testing.T) {
	r := newRig(t, 5*time.Second)
	ua, _ := sipgo.NewUA()
	defer ua.Close()
	cli, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "101", Host: domain})
	req.SetDestination(r.eng.Addr().String())
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "100", Host: "127.0.0.1", Port: 5999}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := cli.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 407 || res.GetHeader("Proxy-Authenticate") == nil {
		t.Fatalf("got %d", res.StatusCode)
	}
}

func TestCallCancelAndHangupPaths(t *testing.T) {
	r := newRig(t, 800*time.Millisecond)
	f := r.phones(t, 150*time.Millisecond, "100", "101")
	slow := r.phones(t, time.Hour, "102") // rings forever
	_ = slow
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("answered, callee hangs up via API", func(t *testing.T) {
		done := make(chan demobot.CallResult, 1)
		go func() {
			res, _ := f.Call(ctx, "100", "101", 20*time.Second)
			done <- res
		}()
		ev := r.waitEvent(t, pbx.EvCallAnswered)
		time.Sleep(500 * time.Millisecond) // let the caller hear the callee
		if err := r.core.Hangup(ctx, "t", ev.Call.ID); err != nil {
			t.Fatal(err)
		}
		res := <-done
		if !res.Answered || res.Frequency != 440 {
			t.Fatalf("caller saw %+v", res)
		}
		c := r.waitEnded(t)
		if c.Disposition != pbx.DispAnswered || c.HangupBy != "api" || c.DstChannel == "" {
			t.Fatalf("cdr %+v", c)
		}
	})
	t.Run("no answer times out", func(t *testing.T) {
		res, err := f.Call(ctx, "100", "102", time.Second)
		if err != nil || res.Status != 408 {
			t.Fatalf("%+v %v", res, err)
		}
		if c := r.waitEnded(t); c.Disposition != pbx.DispNoAnswer || c.EndStatus != "noanswer" {
			t.Fatalf("cdr %+v", c)
		}
	})
	t.Run("caller cancels while ringing", func(t *testing.T) {
		cctx, ccancel := context.WithCancel(ctx)
		time.AfterFunc(300*time.Millisecond, ccancel) // within the 800 ms ring timeout
		_, _ = f.Call(cctx, "100", "102", time.Second)
		if c := r.waitEnded(t); c.EndStatus != "cancel" || c.Disposition != pbx.DispNoAnswer {
			t.Fatalf("cdr %+v", c)
		}
	})
	t.Run("originate bridges two phones", func(t *testing.T) {
		call, err := r.core.Originate(ctx, pbx.OriginateRequest{Tenant: "t", From: "100", To: "101"})
		if err != nil {
			t.Fatal(err)
		}
		ev := r.waitEvent(t, pbx.EvCallAnswered)
		if ev.Call.ID != call.ID || len(ev.Call.Channels) != 2 {
			t.Fatalf("answered %+v", ev.Call)
		}
		time.Sleep(300 * time.Millisecond)
		if err := r.core.Hangup(ctx, "t", call.ID); err != nil {
			t.Fatal(err)
		}
		c := r.waitEnded(t)
		if c.LastApp != "Originate" || c.Disposition != pbx.DispAnswered || c.RTPPacketsAB == 0 || c.RTPPacketsBA == 0 {
			t.Fatalf("cdr %+v", c)
		}
		if _, err := r.core.Originate(ctx, pbx.OriginateRequest{Tenant: "t", From: "100", To: "999"}); err != nil {
			t.Fatal(err) // unknown destination: accepted, ends as congestion once 100 answers
		}
		if c := r.waitEnded(t); c.Disposition != pbx.DispFailed {
			t.Fatalf("originate to nowhere: %+v", c)
		}
	})
	t.Run("close hangs up live calls with CDRs", func(t *testing.T) {
		go f.Call(ctx, "100", "101", 30*time.Second)
		r.waitEvent(t, pbx.EvCallAnswered)
		n := len(r.cdrs.all())
		cctx, c2 := context.WithTimeout(ctx, 10*time.Second)
		defer c2()
		if err := r.eng.Close(cctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("close: %v", err)
		}
		rows := r.cdrs.all()
		if len(rows) != n+1 || rows[len(rows)-1].HangupBy != "system" {
			t.Fatalf("after close: %d rows (had %d), last %+v", len(rows), n, rows[len(rows)-1])
		}
	})
}

func testLogger() *slog.Logger {
	if os.Getenv("SB_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestOverloadSheds503(t *testing.T) {
	// Set before Start: writing the config of a running engine races with
	// INVITEs still arriving from earlier tests' phones.
	r := newRigWith(t, 5*time.Second, pbx.Options{}, nil, func(c *Config) { c.MaxSetups = 1 })
	f := r.phones(t, time.Hour, "100", "101") // 101 never answers: the first call stays in setup
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first := make(chan demobot.CallResult, 1)
	go func() {
		res, _ := f.Call(ctx, "100", "101", time.Second)
		first <- res
	}()
	r.waitEvent(t, pbx.EvChannelNew)
	time.Sleep(200 * time.Millisecond)
	res, err := f.Call(ctx, "101", "100", time.Second)
	if err != nil || res.Status != 503 {
		t.Fatalf("second call during overload: %+v %v", res, err)
	}
	if res := <-first; res.Status != 408 {
		t.Fatalf("first call: %+v", res)
	}
}

func TestPriorityCallClearsTheTarget(t *testing.T) {
	r := newRig(t, 5*time.Second)
	f := r.phones(t, 100*time.Millisecond, "100", "101", "102")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// 101 is busy talking to 102.
	old, err := r.core.Originate(ctx, pbx.OriginateRequest{Tenant: "t", From: "102", To: "101"})
	if err != nil {
		t.Fatal(err)
	}
	r.waitEvent(t, pbx.EvCallAnswered)
	if x, _ := r.core.Extension("t", "101"); x.State != pbx.StateInUse {
		t.Fatalf("101 before: %v", x.State)
	}
	call, err := r.core.PriorityCall(ctx, pbx.OriginateRequest{Tenant: "t", From: "100", To: "101"})
	if err != nil {
		t.Fatal(err)
	}
	ended := r.waitEnded(t)
	if ended.UniqueID != old.ID || ended.HangupBy != "priority" {
		t.Fatalf("cleared call: %+v", ended)
	}
	ev := r.waitEvent(t, pbx.EvCallAnswered)
	if ev.Call.ID != call.ID || ev.Call.To != "101" {
		t.Fatalf("priority call answered: %+v", ev.Call)
	}
	if err := r.core.Hangup(ctx, "t", call.ID); err != nil {
		t.Fatal(err)
	}
	if c := r.waitEnded(t); c.Disposition != pbx.DispAnswered {
		t.Fatalf("priority call cdr: %+v", c)
	}
	if _, err := r.core.PriorityCall(ctx, pbx.OriginateRequest{Tenant: "t", From: "100", To: "0900123"}); !errors.Is(err, pbx.ErrUnknownExten) {
		t.Fatalf("priority call to a non-extension: %v", err)
	}
	_ = f
}

func TestRedirectAnsweredCall(t *testing.T) {
	r := newRig(t, 5*time.Second)
	f := r.phones(t, 100*time.Millisecond, "100", "101", "102")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res := make(chan demobot.CallResult, 1)
	go func() {
		cr, _ := f.Call(ctx, "100", "101", 2500*time.Millisecond)
		res <- cr
	}()
	ev := r.waitEvent(t, pbx.EvCallAnswered)
	var caller, callee pbx.Channel
	for _, ch := range ev.Call.Channels {
		if ch.Exten == "100" {
			caller = ch
		} else {
			callee = ch
		}
	}
	if err := r.core.Redirect(ctx, "t", caller.UniqueID, "555"); err == nil {
		t.Fatal("redirect to an unroutable number accepted")
	}
	if err := r.core.Redirect(ctx, "t", caller.Name, "102"); err != nil {
		t.Fatal(err)
	}
	tr := r.waitEvent(t, pbx.EvCallTransferred)
	if tr.Replaces != callee.UniqueID || tr.Channel.Exten != "102" || tr.Call.ID != ev.Call.ID || tr.Call.To != "102" {
		t.Fatalf("transfer event: replaces %s channel %+v call %+v", tr.Replaces, tr.Channel, tr.Call)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if x, _ := r.core.Extension("t", "102"); x.State == pbx.StateInUse {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("102 never in use")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if x, _ := r.core.Extension("t", "101"); x.State != pbx.StateIdle {
		t.Fatalf("101 after transfer: %v", x.State)
	}
	cr := <-res
	if !cr.Answered || cr.Frequency != 440 {
		t.Fatalf("caller: %+v", cr)
	}
	c := r.waitEnded(t)
	if c.Dst != "102" || c.Disposition != pbx.DispAnswered || !strings.HasPrefix(c.DstChannel, "SIP/102-") || c.HangupBy != "caller" {
		t.Fatalf("cdr %+v", c)
	}
	// An API redirect of an answered call closes the leg like a REFER.
	if rows := r.cdrs.all(); len(rows) != 2 || rows[0].Src != "100" || rows[0].Dst != "101" || rows[0].HangupBy != pbx.HangupTransfer ||
		rows[1].Src != "100" || rows[1].ID != c.ID || !rows[1].CallDate.Equal(rows[0].EndDate) {
		t.Fatalf("rows after a redirect %+v", rows)
	}
}

func TestPickupRingingCall(t *testing.T) {
	r := newRig(t, 5*time.Second)
	f := r.phones(t, 100*time.Millisecond, "100", "101")
	r.phones(t, time.Hour, "102") // rings until cancelled
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res := make(chan demobot.CallResult, 1)
	go func() {
		cr, _ := f.Call(ctx, "100", "102", time.Second)
		res <- cr
	}()
	var ringing pbx.Channel
	for ringing.UniqueID == "" {
		ev := r.waitEvent(t, pbx.EvChannelState)
		if ev.Channel.Exten == "102" && ev.Channel.State == pbx.ChanRinging {
			ringing = *ev.Channel
		}
	}
	if err := r.core.Pickup(ctx, "t", ringing.UniqueID, "999"); !errors.Is(err, pbx.ErrUnknownExten) {
		t.Fatalf("pickup by a non-extension: %v", err)
	}
	if err := r.core.Pickup(ctx, "t", ringing.Name, "101"); err != nil {
		t.Fatal(err)
	}
	tr := r.waitEvent(t, pbx.EvCallTransferred)
	if tr.Replaces != ringing.UniqueID || tr.Channel.Exten != "101" || !tr.Pickup || tr.CDR != nil {
		t.Fatalf("pickup event: %+v (no leg was answered: no row to close)", tr)
	}
	cr := <-res
	if !cr.Answered || cr.Frequency != 440 {
		t.Fatalf("caller after pickup: %+v", cr)
	}
	c := r.waitEnded(t)
	if c.Dst != "101" || !strings.HasPrefix(c.DstChannel, "SIP/101-") || c.Disposition != pbx.DispAnswered {
		t.Fatalf("cdr %+v", c)
	}
	// A pickup happens before any answer: the call has one row.
	if rows := r.cdrs.all(); len(rows) != 1 || rows[0].UniqueID != c.UniqueID || rows[0].Src != "100" {
		t.Fatalf("rows after a pickup %+v, want one", rows)
	}
	if x, _ := r.core.Extension("t", "102"); x.State != pbx.StateIdle {
		t.Fatalf("102 still %v after the pickup", x.State)
	}
	if err := r.core.Pickup(ctx, "t", c.UniqueID, "101"); !errors.Is(err, pbx.ErrNotFound) {
		t.Fatalf("pickup of an ended call: %v", err)
	}
}

func TestRedirectRingingCall(t *testing.T) {
	r := newRig(t, 5*time.Second)
	f := r.phones(t, 100*time.Millisecond, "100", "101")
	r.phones(t, time.Hour, "102")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res := make(chan demobot.CallResult, 1)
	go func() {
		cr, _ := f.Call(ctx, "100", "102", time.Second)
		res <- cr
	}()
	var caller pbx.Channel
	for {
		ev := r.waitEvent(t, pbx.EvChannelState)
		if ev.Channel.Exten == "102" && ev.Channel.State == pbx.ChanRinging {
			break
		}
	}
	calls, _ := r.core.Calls("t")
	caller = calls[0].Channels[0]
	if err := r.core.Redirect(ctx, "t", calls[0].Channels[1].UniqueID, "101"); !errors.Is(err, pbx.ErrInvalidArgument) {
		t.Fatalf("redirecting the ringing side: %v", err)
	}
	if err := r.core.Redirect(ctx, "t", caller.UniqueID, "101"); err != nil {
		t.Fatal(err)
	}
	if cr := <-res; !cr.Answered {
		t.Fatalf("caller after redirect: %+v", cr)
	}
	if c := r.waitEnded(t); c.Dst != "101" || c.Disposition != pbx.DispAnswered {
		t.Fatalf("cdr %+v", c)
	}
}
