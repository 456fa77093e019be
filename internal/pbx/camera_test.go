package pbx

import (
	"context"
	"testing"
)

// TestDoorPhoneCameraOnEvents: every call and channel event of a call
// from a door phone with a camera carries the camera id, also a call to
// it; other calls' events, and events of other kinds, carry none.
func TestDoorPhoneCameraOnEvents(t *testing.T) {
	c, err := NewCore(Directory{Tenants: []TenantEntry{{Name: "a", Domain: "a.local",
		Extensions: []ExtensionEntry{{Number: "2004", Camera: 44}, {Number: "2001"}, {Number: "2002"}}}}}, &memCDRs{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sub := c.Subscribe("a", 1000)
	defer sub.Close()
	call := func(from, to string) {
		t.Helper()
		ch, cl, err := c.NewCall("a", from, to, false, ChannelSpec{Tech: "SIP", Peer: from, Exten: from, Dir: Inbound})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.AddChannel("a", cl.ID, ChannelSpec{Tech: "SIP", Peer: to, Exten: to, Dir: Outbound}); err != nil {
			t.Fatal(err)
		}
		c.CallAnswered("a", cl.ID)
		c.DTMFReceived(ch, '5', "rfc4733")
		if _, err := c.EndCall(context.Background(), "a", cl.ID, EndAnswer, Quality{}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(name string, want int) {
		t.Helper()
		seen := map[EventType]bool{}
		for {
			env := <-sub.C()
			e := env.Event
			callish := e.Call != nil || e.Channel != nil
			if callish && e.Camera != want {
				t.Errorf("%s: %s carries camera %d, want %d", name, e.Type, e.Camera, want)
			}
			if !callish && e.Camera != 0 {
				t.Errorf("%s: %s carries camera %d", name, e.Type, e.Camera)
			}
			if e.Call != nil && e.Call.Camera != want {
				t.Errorf("%s: %s call.camera %d", name, e.Type, e.Call.Camera)
			}
			seen[e.Type] = true
			if e.Type == EvCallEnded {
				break
			}
		}
		for _, typ := range []EventType{EvCallNew, EvChannelNew, EvCallAnswered, EvDTMF, EvChannelHangup, EvCallEnded} {
			if !seen[typ] {
				t.Errorf("%s: no %s", name, typ)
			}
		}
	}
	call("2004", "2001")
	check("from the door phone", 44)
	call("2001", "2004")
	check("to the door phone", 44)
	call("2001", "2002")
	check("between other phones", 0)
}
