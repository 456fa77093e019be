package devices

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/audit"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

type nopCDRs struct{}

func (nopCDRs) InsertCDR(context.Context, *pbx.CDR) error { return nil }

type audits struct {
	mu sync.Mutex
	es []audit.Entry
}

func (a *audits) Record(e audit.Entry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.es = append(a.es, e)
}

func (a *audits) all() []audit.Entry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]audit.Entry(nil), a.es...)
}

type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestDoorCode: the code pressed by an extension talking with the door
// phone (in either direction) pulses the relay, with relay.state events
// "1/dtmf" then "0/pulse" and an audit entry; the same code from the door
// phone itself, from a call without the door phone, typed too slowly or
// split across two channels does nothing.
func TestDoorCode(t *testing.T) {
	clk := &stepClock{t: time.Unix(1_800_000_000, 0)}
	core, err := pbx.NewCore(pbx.Directory{Tenants: []pbx.TenantEntry{{Name: "a", Domain: "a.local",
		Extensions: []pbx.ExtensionEntry{{Number: "2004"}, {Number: "2001"}, {Number: "2002"}}}}}, nopCDRs{}, pbx.Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	relays, err := NewRelays([]RelaySpec{{Tenant: "a", ID: 17, Name: "Door", Pulse: 150 * time.Millisecond,
		Driver: Virtual{Store: &memStates{m: map[string]bool{}}, Tenant: "a", ID: 17}}}, core, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer relays.Close()
	aud := &audits{}
	doors, err := StartDoorTriggers(core, relays, aud, []DoorTrigger{{Tenant: "a", Relay: 17, Digits: "*1", DoorPhones: []string{"2004"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer doors.Close()
	sub := core.Subscribe("a", 1000)
	defer sub.Close()

	// call sets up from -> to and returns both channels.
	call := func(from, to string) (*pbx.Channel, *pbx.Channel, string) {
		t.Helper()
		a, cl, err := core.NewCall("a", from, to, false, pbx.ChannelSpec{Tech: "SIP", Peer: from, Exten: from, Dir: pbx.Inbound})
		if err != nil {
			t.Fatal(err)
		}
		b, err := core.AddChannel("a", cl.ID, pbx.ChannelSpec{Tech: "SIP", Peer: to, Exten: to, Dir: pbx.Outbound})
		if err != nil {
			t.Fatal(err)
		}
		core.CallAnswered("a", cl.ID)
		return a, b, cl.ID
	}
	press := func(ch *pbx.Channel, digits string) {
		for _, d := range digits {
			core.DTMFReceived(ch, d, "rfc4733")
		}
	}
	// relayEvents waits up to d for relay.state events.
	relayEvents := func(d time.Duration, want int) []string {
		t.Helper()
		var got []string
		timeout := time.After(d)
		for len(got) < want {
			select {
			case env := <-sub.C():
				if env.Event.Type == EvRelayState {
					got = append(got, env.Event.Data["state"]+"/"+env.Event.Data["by"])
				}
			case <-timeout:
				return got
			}
		}
		return got
	}

	door, op, id := call("2004", "2001")
	press(door, "*1") // the visitor: ignored
	press(op, "*")
	clk.advance(6 * time.Second) // too slow: a new sequence
	press(op, "1")
	if got := relayEvents(300*time.Millisecond, 1); len(got) != 0 {
		t.Fatalf("door phone's own or slow digits switched the relay: %v", got)
	}
	press(op, "9*1") // the operator's code
	if got := relayEvents(3*time.Second, 2); len(got) != 2 || got[0] != "1/dtmf" || got[1] != "0/pulse" {
		t.Fatalf("relay events after the code: %v", got)
	}
	if es := aud.all(); len(es) != 1 || es[0].Principal != "2001" || es[0].Status != 200 || es[0].Target != "relay 17" || es[0].Reason != "call "+id+" with door phone 2004" {
		t.Fatalf("audit: %+v", es)
	}
	if _, err := core.EndCall(context.Background(), "a", id, pbx.EndAnswer, pbx.Quality{}); err != nil {
		t.Fatal(err)
	}

	op2, door2, id2 := call("2001", "2004") // the operator calls the door phone
	press(door2, "*")
	press(op2, "1") // split across the two channels: nothing
	if got := relayEvents(300*time.Millisecond, 1); len(got) != 0 {
		t.Fatalf("a code split across channels: %v", got)
	}
	press(op2, "*1")
	if got := relayEvents(3*time.Second, 2); len(got) != 2 || got[0] != "1/dtmf" {
		t.Fatalf("code on a call to the door phone: %v", got)
	}
	core.EndCall(context.Background(), "a", id2, pbx.EndAnswer, pbx.Quality{})

	a, _, id3 := call("2001", "2002") // no door phone in the call
	press(a, "*1")
	if got := relayEvents(300*time.Millisecond, 1); len(got) != 0 {
		t.Fatalf("code without a door phone: %v", got)
	}
	core.EndCall(context.Background(), "a", id3, pbx.EndAnswer, pbx.Quality{})
	if n := len(aud.all()); n != 2 {
		t.Fatalf("%d audit entries, want 2", n)
	}

	for _, bad := range []DoorTrigger{
		{Tenant: "a", Relay: 99, Digits: "*1", DoorPhones: []string{"2004"}},
		{Tenant: "a", Relay: 17, Digits: "*x", DoorPhones: []string{"2004"}},
		{Tenant: "a", Relay: 17, Digits: "*1"},
	} {
		if _, err := StartDoorTriggers(core, relays, nil, []DoorTrigger{bad}, nil); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}
