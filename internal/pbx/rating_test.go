package pbx

import (
	"context"
	"testing"
	"time"
)

// TestRatePrice: the longest prefix wins, billed time rounds up to whole
// increments, cost rounds up to a whole grosz; no prefix, no rate.
func TestRatePrice(t *testing.T) {
	rt := RateTable{Increment: 30 * time.Second, Rates: []Rate{
		{Prefix: "0", Zone: "krajowe", PerMinute: 10},
		{Prefix: "00", Zone: "zagranica", PerMinute: 100},
		{Prefix: "0048", Zone: "Polska", PerMinute: 12.5},
	}}
	for _, tc := range []struct {
		number  string
		billsec int
		zone    string
		cost    int64
		ok      bool
	}{
		{"0221234567", 1, "krajowe", 5, true},     // 30 s = 0.5 min × 10
		{"0221234567", 31, "krajowe", 10, true},   // 60 s
		{"0048221234567", 61, "Polska", 19, true}, // 90 s × 12.5/min = 18.75 → 19
		{"0044201234567", 60, "zagranica", 100, true},
		{"0048221234567", 0, "Polska", 0, true}, // not answered: the zone, no cost
		{"101", 60, "", 0, false},
	} {
		zone, cost, ok := rt.Price(tc.number, tc.billsec)
		if zone != tc.zone || cost != tc.cost || ok != tc.ok {
			t.Errorf("Price(%s, %d) = %q %d %v, want %q %d %v", tc.number, tc.billsec, zone, cost, ok, tc.zone, tc.cost, tc.ok)
		}
	}
	if _, cost, _ := (RateTable{Rates: []Rate{{Prefix: "", Zone: "all", PerMinute: 20}}}).Price("123", 61); cost != 40 {
		t.Errorf("default increment is a minute: cost %d", cost)
	}
}

// TestCDRIsRated: a call out through a trunk with a rate table carries the
// zone and cost in its CDR; an internal call does not.
func TestCDRIsRated(t *testing.T) {
	cdrs := &memCDRs{}
	clk := &clock{t: time.Unix(1700000000, 0).UTC()}
	c, err := NewCore(Directory{Tenants: []TenantEntry{{Name: "a", Domain: "a.local",
		Extensions: []ExtensionEntry{{Number: "1001"}, {Number: "1002"}},
		Rates:      map[string]RateTable{"pstn": {Rates: []Rate{{Prefix: "0048", Zone: "Polska", PerMinute: 12}}}}}}},
		cdrs, Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, out, err := c.NewCall("a", "1001", "0048221234567", false, ChannelSpec{Peer: "1001", Exten: "1001", Dir: Inbound})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddChannel("a", out.ID, ChannelSpec{Peer: "pstn", IsTrunk: true, Dir: Outbound}); err != nil {
		t.Fatal(err)
	}
	c.CallAnswered("a", out.ID)
	clk.t = clk.t.Add(90 * time.Second)
	cdr, err := c.EndCall(context.Background(), "a", out.ID, EndAnswer, Quality{})
	if err != nil {
		t.Fatal(err)
	}
	if !cdr.Rated || cdr.Zone != "Polska" || cdr.Cost != 24 {
		t.Fatalf("outbound CDR: rated %v zone %q cost %d", cdr.Rated, cdr.Zone, cdr.Cost)
	}
	_, in, _ := c.NewCall("a", "1001", "1002", false, ChannelSpec{Peer: "1001", Exten: "1001", Dir: Inbound})
	if cdr, _ := c.EndCall(context.Background(), "a", in.ID, EndNoAnswer, Quality{}); cdr.Rated || cdr.Zone != "" {
		t.Fatalf("internal CDR rated: %+v", cdr)
	}
}
