package pbx

import (
	"errors"
	"testing"
	"time"
)

// TestPublishNonCallEvents: a relay event goes through the tenant's
// sequence; call events and unknown tenants are refused; the shutdown
// notice reaches every tenant; the tenant's time zone is kept.
func TestPublishNonCallEvents(t *testing.T) {
	warsaw, err := time.LoadLocation("Europe/Warsaw")
	if err != nil {
		t.Skip("no time zone data")
	}
	c, err := NewCore(Directory{Tenants: []TenantEntry{{Name: "a", Location: warsaw}, {Name: "b"}}}, &memCDRs{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sub := c.Subscribe("", 16)
	defer sub.Close()
	if err := c.Publish("a", Event{Type: "relay.state", Data: map[string]string{"relay": "17", "state": "on"}}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Event{{Type: EvCallEnded}, {Type: "relay.state", Call: &Call{}}, {Type: ""}, {Type: "queue.caller.join"}} {
		if err := c.Publish("a", bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%+v published: %v", bad, err)
		}
	}
	if err := c.Publish("zz", Event{Type: "relay.state"}); !errors.Is(err, ErrUnknownTenant) {
		t.Errorf("unknown tenant: %v", err)
	}
	c.AnnounceShutdown()
	got := map[string][]EventType{}
	for i := 0; i < 3; i++ {
		env := <-sub.C()
		got[env.Tenant] = append(got[env.Tenant], env.Event.Type)
	}
	if len(got["a"]) != 2 || got["a"][0] != "relay.state" || got["a"][1] != EvShutdown || len(got["b"]) != 1 || got["b"][0] != EvShutdown {
		t.Fatalf("events %v", got)
	}
	if c.TenantLocation("a") != warsaw || c.TenantLocation("b") != time.UTC {
		t.Fatalf("locations %v %v", c.TenantLocation("a"), c.TenantLocation("b"))
	}
}
