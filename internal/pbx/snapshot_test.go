package pbx

import (
	"context"
	"testing"
)

// TestSnapshotsSayWhoTalksToWhom: call direction from the legs, the
// application and its data, and the connected party on an extension.
func TestSnapshotsSayWhoTalksToWhom(t *testing.T) {
	c, err := NewCore(Directory{Tenants: []TenantEntry{{Name: "a", Extensions: []ExtensionEntry{{Number: "1001", Name: "Jan"}, {Number: "1002", Name: "Robert"}}}}}, &memCDRs{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, internal, _ := c.NewCall("a", "1001", "1002", false, ChannelSpec{Peer: "1001", Exten: "1001", Dir: Inbound, CallerIDNum: "1001", CallerIDName: "Jan"})
	c.AddChannel("a", internal.ID, ChannelSpec{Peer: "1002", Exten: "1002", Dir: Outbound, CallerIDNum: "1001", CallerIDName: "Jan"})
	_, in, _ := c.NewCall("a", "+420555", "1002", false, ChannelSpec{Peer: "pstn", IsTrunk: true, Dir: Inbound})
	_, out, _ := c.NewCall("a", "1001", "0555", false, ChannelSpec{Peer: "1001", Exten: "1001", Dir: Inbound})
	c.AddChannel("a", out.ID, ChannelSpec{Peer: "pstn", IsTrunk: true, Dir: Outbound})
	c.SetCallAppData("a", in.ID, "Queue", "VMX")

	for id, want := range map[string]CallDirection{internal.ID: CallInternal, in.ID: CallInbound, out.ID: CallOutbound} {
		got, err := c.FindCall("a", id)
		if err != nil || got.Direction != want {
			t.Errorf("call %s: direction %q (%v), want %q", id, got.Direction, err, want)
		}
	}
	if q, _ := c.FindCall("a", in.ID); q.App != "Queue" || q.AppData != "VMX" {
		t.Errorf("app %q data %q", q.App, q.AppData)
	}
	// 1002 was called by Jan (1001); 1001 placed the call to 0555 last.
	x2, _ := c.Extension("a", "1002")
	if x2.ConnectedNum == "" {
		t.Errorf("1002 connected to nobody: %+v", x2)
	}
	x1, _ := c.Extension("a", "1001")
	if x1.ConnectedNum != "1002" && x1.ConnectedNum != "0555" {
		t.Errorf("1001 connected %q", x1.ConnectedNum)
	}
	c.EndCall(context.Background(), "a", out.ID, EndAnswer, Quality{})
	c.EndCall(context.Background(), "a", internal.ID, EndAnswer, Quality{})
	if x1, _ := c.Extension("a", "1001"); x1.ConnectedNum != "" {
		t.Errorf("idle 1001 still connected to %q", x1.ConnectedNum)
	}
}
