package sipengine

import (
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// TestOverloadControllerShedsAndRecovers: with a fake clock, setup
// latency driven above the target shrinks the limit (INVITEs beyond it
// are refused) down to the floor at worst; once latency is back to
// normal the limit returns to the ceiling within 5 s.
func TestOverloadControllerShedsAndRecovers(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	o := newOverloadController(2000, clk.now)
	if !o.admit(1999) || o.admit(2000) {
		t.Fatal("an idle controller must admit up to the ceiling")
	}
	step := func(latency time.Duration, setups int) {
		for range setups {
			o.observe(latency)
		}
		clk.t = clk.t.Add(overloadInterval)
	}
	// Healthy load: nothing changes.
	for range 20 {
		step(2*time.Millisecond, 200)
	}
	if o.Limit() != 2000 {
		t.Fatalf("healthy load moved the limit to %d", o.Limit())
	}
	// Overload: setups take a second.
	for range 4 {
		step(time.Second, 300)
	}
	shrunk := o.Limit()
	if shrunk >= 2000*8/10*8/10 || shrunk < overloadMinLimit {
		t.Fatalf("after 1 s of slow setups the limit is %d", shrunk)
	}
	if o.admit(shrunk) {
		t.Fatal("a setup beyond the shrunk limit was admitted")
	}
	for range 100 {
		step(2*time.Second, 50)
	}
	if o.Limit() != overloadMinLimit {
		t.Fatalf("sustained overload: limit %d, want the floor %d", o.Limit(), overloadMinLimit)
	}
	if !o.admit(overloadMinLimit - 1) {
		t.Fatal("the floor must always admit")
	}
	// A few slow setups among many fast ones (p90 fast) are not overload.
	for range 4 {
		for i := range 100 {
			d := 2 * time.Millisecond
			if i%20 == 0 {
				d = time.Second
			}
			o.observe(d)
		}
		clk.t = clk.t.Add(overloadInterval)
	}
	if o.Limit() <= overloadMinLimit {
		t.Fatal("5 % slow setups kept the limit at the floor")
	}
	// Recovery: latency normal again, the limit is back within 5 s.
	for i := 0; i < 20; i++ {
		step(3*time.Millisecond, 100)
	}
	if o.Limit() != 2000 {
		t.Fatalf("5 s after the overload the limit is %d, want 2000", o.Limit())
	}
	// An idle gap (no setups at all) recovers as well.
	for range 10 {
		step(time.Second, 100)
	}
	clk.t = clk.t.Add(5 * time.Second)
	if o.Limit() != 2000 {
		t.Fatalf("after 5 idle seconds the limit is %d", o.Limit())
	}
}
