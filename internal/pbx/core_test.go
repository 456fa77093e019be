package pbx

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

type memCDRs struct {
	mu   sync.Mutex
	rows []CDR
	err  error
}

func (m *memCDRs) InsertCDR(_ context.Context, c *CDR) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	c.ID = int64(len(m.rows) + 1)
	m.rows = append(m.rows, *c)
	return nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestCore(t *testing.T, cdrs CDRWriter) (*Core, *clock) {
	t.Helper()
	clk := &clock{t: time.Unix(1700000000, 0).UTC()}
	c, err := NewCore(Directory{Tenants: []TenantEntry{
		{Name: "a", Domain: "a.local", Extensions: []ExtensionEntry{{Number: "1001", Name: "Jan"}, {Number: "1002"}}},
		{Name: "b", Domain: "b.local", Extensions: []ExtensionEntry{{Number: "1001"}}},
	}}, cdrs, Options{Now: clk.now, FirstSequence: 7})
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

func TestCallLifecycleStatesEventsAndCDR(t *testing.T) {
	cdrs := &memCDRs{}
	c, clk := newTestCore(t, cdrs)
	sub := c.Subscribe("a", 100)
	other := c.Subscribe("b", 100)

	c.SetRegistration("a", "1001", &Registration{Contact: "sip:1001@127.0.0.1:5070"})
	c.SetRegistration("a", "1002", &Registration{Contact: "sip:1002@127.0.0.1:5071"})
	if x, _ := c.Extension("a", "1001"); x.State != StateIdle {
		t.Fatalf("registered ext state %v", x.State)
	}
	if x, _ := c.Extension("b", "1001"); x.State != StateUnavailable {
		t.Fatalf("tenant b ext affected: %v", x.State)
	}

	a, call, err := c.NewCall("a", "1001", "1002", false, ChannelSpec{Peer: "1001", Exten: "1001", Dir: Inbound, CallerIDNum: "1001", CallerIDName: "Jan"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "SIP/1001-00000001" || a.UniqueID != "1700000000.7" || call.ID != a.UniqueID {
		t.Fatalf("ids: %s %s %s", a.Name, a.UniqueID, call.ID)
	}
	if x, _ := c.Extension("a", "1001"); x.State != StateConnecting {
		t.Fatalf("caller state %v, want connecting", x.State)
	}
	b, err := c.AddChannel("a", call.ID, ChannelSpec{Peer: "1002", Exten: "1002", Dir: Outbound, CallerIDNum: "1001"})
	if err != nil {
		t.Fatal(err)
	}
	c.SetChannelState(b, ChanRinging)
	if x, _ := c.Extension("a", "1002"); x.State != StateRinging {
		t.Fatalf("callee state %v, want ringing", x.State)
	}
	clk.t = clk.t.Add(2 * time.Second)
	c.SetChannelState(b, ChanUp)
	c.SetChannelState(a, ChanUp)
	c.CallAnswered("a", call.ID)
	for _, n := range []string{"1001", "1002"} {
		if x, _ := c.Extension("a", n); x.State != StateInUse {
			t.Fatalf("%s state %v, want in use", n, x.State)
		}
	}
	calls, _ := c.Calls("a")
	if len(calls) != 1 || len(calls[0].Channels) != 2 {
		t.Fatalf("calls = %+v", calls)
	}
	if calls, _ := c.Calls("b"); len(calls) != 0 {
		t.Fatal("call leaked into tenant b")
	}
	clk.t = clk.t.Add(10 * time.Second)
	cdr, err := c.EndCall(context.Background(), "a", call.ID, EndAnswer, Quality{CallID: "x@y", Codec: "PCMU", MOS: 4.4})
	if err != nil {
		t.Fatal(err)
	}
	if cdr.Duration != 12 || cdr.BillSec != 10 || cdr.Disposition != DispAnswered || cdr.Channel != a.Name ||
		cdr.DstChannel != b.Name || cdr.CLID != `"Jan" <1001>` || cdr.Codec != "PCMU" || cdr.ID != 1 {
		t.Fatalf("cdr = %+v", cdr)
	}
	if x, _ := c.Extension("a", "1001"); x.State != StateIdle {
		t.Fatalf("after hangup state %v", x.State)
	}

	var types []EventType
	var last uint64
	for len(sub.C()) > 0 {
		e := <-sub.C()
		if e.Seq != last+1 {
			t.Fatalf("seq gap: %d after %d", e.Seq, last)
		}
		last = e.Seq
		types = append(types, e.Event.Type)
	}
	if types[len(types)-1] != EvCallEnded {
		t.Fatalf("last event %s, want call.ended; all %v", types[len(types)-1], types)
	}
	if len(other.C()) != 0 {
		t.Fatalf("tenant b saw %d events of tenant a", len(other.C()))
	}
}

func TestEndCallWithoutAnswerAndFailingStore(t *testing.T) {
	cdrs := &memCDRs{err: errors.New("disk full")}
	c, _ := newTestCore(t, cdrs)
	_, call, _ := c.NewCall("a", "1001", "555486", false, ChannelSpec{Peer: "1001", Exten: "1001", Dir: Inbound})
	cdr, err := c.EndCall(context.Background(), "a", call.ID, EndBusy, Quality{LastSIPResponse: 486})
	if err == nil {
		t.Fatal("store failure not reported")
	}
	if cdr.Disposition != DispBusy || cdr.BillSec != 0 {
		t.Fatalf("cdr %+v", cdr)
	}
	if _, err := c.EndCall(context.Background(), "a", call.ID, EndBusy, Quality{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second EndCall: %v", err)
	}
}

func TestEndStatusMapping(t *testing.T) {
	cases := []struct {
		code int
		want EndStatus
		disp Disposition
	}{
		{200, EndAnswer, DispAnswered}, {486, EndBusy, DispBusy}, {600, EndBusy, DispBusy},
		{408, EndNoAnswer, DispNoAnswer}, {487, EndCancel, DispNoAnswer}, {480, EndChanUnavail, DispFailed},
		{404, EndCongestion, DispFailed}, {503, EndCongestion, DispFailed}, {603, EndDontCall, DispFailed},
		{484, EndInvalidArgs, DispFailed},
	}
	for _, tc := range cases {
		got := EndStatusFromSIP(tc.code)
		if got != tc.want || got.Disposition() != tc.disp {
			t.Errorf("%d -> %s/%s, want %s/%s", tc.code, got, got.Disposition(), tc.want, tc.disp)
		}
	}
}

type fakeEngine struct {
	orig    []OriginateRequest
	hangups []string
}

func (f *fakeEngine) Originate(_ context.Context, r OriginateRequest) (Call, error) {
	f.orig = append(f.orig, r)
	return Call{ID: "x"}, nil
}
func (f *fakeEngine) Hangup(_ context.Context, tenant, u, cause string) error {
	f.hangups = append(f.hangups, tenant+"/"+u)
	return nil
}

func TestServiceValidation(t *testing.T) {
	c, _ := newTestCore(t, &memCDRs{})
	ctx := context.Background()
	if _, err := c.Originate(ctx, OriginateRequest{Tenant: "a", From: "1001", To: "1002"}); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("no engine: %v", err)
	}
	eng := &fakeEngine{}
	c.SetEngine(eng)
	cases := []struct {
		name string
		req  OriginateRequest
		want error
	}{
		{"unknown tenant", OriginateRequest{Tenant: "zz", From: "1001", To: "1002"}, ErrUnknownTenant},
		{"unknown from", OriginateRequest{Tenant: "a", From: "999", To: "1002"}, ErrUnknownExten},
		{"bad to", OriginateRequest{Tenant: "a", From: "1001", To: "10;02"}, ErrInvalidArgument},
		{"empty", OriginateRequest{Tenant: "a"}, ErrInvalidArgument},
		{"ok", OriginateRequest{Tenant: "a", From: "1001", To: "+421900123456"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Originate(ctx, tc.req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if len(eng.orig) != 1 || eng.orig[0].RingTimeout != 30*time.Second {
		t.Fatalf("engine got %+v", eng.orig)
	}

	_, call, _ := c.NewCall("a", "1001", "1002", false, ChannelSpec{Peer: "1001", Exten: "1001", Dir: Inbound})
	ch2, _ := c.AddChannel("a", call.ID, ChannelSpec{Peer: "1002", Exten: "1002", Dir: Outbound})
	if err := c.Hangup(ctx, "b", call.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cross-tenant hangup: %v", err)
	}
	if err := c.Hangup(ctx, "a", ch2.Name); err != nil || eng.hangups[0] != "a/"+ch2.UniqueID {
		t.Fatalf("hangup by name: %v %v", err, eng.hangups)
	}
	if err := c.Hangup(ctx, "a", call.ID); err != nil || len(eng.hangups) != 3 {
		t.Fatalf("hangup call: %v %v", err, eng.hangups)
	}
}

func TestPlayDTMFValidationAndEvent(t *testing.T) {
	c, _ := newTestCore(t, &memCDRs{})
	c.SetEngine(&fakeEngine{}) // no DTMFPlayer capability
	ctx := context.Background()
	ch, _, _ := c.NewCall("a", "1001", "1002", false, ChannelSpec{Peer: "1001", Exten: "1001", Dir: Inbound})
	cases := []struct {
		name, id, digits string
		want             error
	}{
		{"bad digit", ch.UniqueID, "12x", ErrInvalidArgument},
		{"empty", ch.UniqueID, "", ErrInvalidArgument},
		{"too long", ch.UniqueID, strings.Repeat("1", MaxDTMFDigits+1), ErrInvalidArgument},
		{"unknown channel", "nope", "1", ErrNotFound},
		{"engine cannot", ch.Name, "1", ErrNotSupported},
	}
	for _, tc := range cases {
		if err := c.PlayDTMF(ctx, "a", tc.id, tc.digits); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := c.PlayDTMF(ctx, "b", ch.UniqueID, "1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("other tenant's channel: %v", err)
	}
	sub := c.Subscribe("a", 10)
	c.DTMFReceived(ch, '#', "info")
	e := <-sub.C()
	if e.Event.Type != EvDTMF || e.Event.Digit != "#" || e.Event.Via != "info" || e.Event.Channel.UniqueID != ch.UniqueID {
		t.Fatalf("event %+v", e.Event)
	}
}
