package auth

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func addr(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}) }

// TestLimiterCountsInFlightAttempts: 100 simultaneous attempts on one
// account from one address are admitted at most max at a time, and once
// those fail every other one is refused (issue 9, item 4).
func TestLimiterCountsInFlightAttempts(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(5, 15*time.Minute, clk.now)
	var admitted, refused atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r, err := l.Reserve(ctx, addr(1), "t/admin")
			if err != nil {
				if !errors.Is(err, ErrLockedOut) {
					t.Errorf("err %v", err)
				}
				refused.Add(1)
				return
			}
			admitted.Add(1)
			time.Sleep(time.Millisecond) // the password check
			r.Fail()
		}()
	}
	close(start)
	wg.Wait()
	if admitted.Load() > 5 || admitted.Load()+refused.Load() != 100 {
		t.Fatalf("admitted %d, refused %d", admitted.Load(), refused.Load())
	}
}

// TestLimiterSuccessReleasesReservation: a right password gives its slot
// back and forgets the pair's failures.
func TestLimiterSuccessReleasesReservation(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(3, time.Minute, clk.now)
	ctx := context.Background()
	for range 2 {
		r, err := l.Reserve(ctx, addr(1), "t/admin")
		if err != nil {
			t.Fatal(err)
		}
		r.Fail()
	}
	r, err := l.Reserve(ctx, addr(1), "t/admin")
	if err != nil {
		t.Fatal(err)
	}
	r.Succeed()
	r.Fail() // a second verdict is ignored
	if s := l.byPair[pairKey{"t/admin", addr(1)}]; s != nil {
		t.Fatalf("pair failures kept after a success: %+v", s)
	}
	// The address's own count (2 failures) is not reset by a success, so a
	// valid account does not buy an address a fresh spray budget.
	if s := l.byIP[addr(1)]; s == nil || s.failed != 2 || s.inflight != 0 {
		t.Fatalf("address counters %+v", s)
	}
	// Release counts nothing.
	r, _ = l.Reserve(ctx, addr(1), "t/admin")
	r.Release()
	if err := l.Check(addr(1), "t/admin"); err != nil {
		t.Fatalf("released attempt counted: %v", err)
	}
}

// TestLimiterOthersDoNotLockOwner: failures from other addresses, however
// many per address, never refuse the owner at his own address (issue 9,
// item 5).
func TestLimiterOthersDoNotLockOwner(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(5, 15*time.Minute, clk.now)
	ctx := context.Background()
	owner := addr(1)
	r, _ := l.Reserve(ctx, owner, "t/admin")
	r.Succeed() // the owner logged in before: his address is trusted
	for i := range 50 {
		for range 5 {
			r, err := l.Reserve(ctx, addr(100+i), "t/admin")
			if err != nil {
				break
			}
			r.Fail()
		}
	}
	if r, err := l.Reserve(ctx, owner, "t/admin"); err != nil {
		t.Fatalf("owner refused at his own address: %v", err)
	} else {
		r.Succeed()
	}
}

// TestLimiterAccountBackoff: after 4×max failures across addresses an
// unknown address waits an exponentially growing delay; each refusal says
// how long.
func TestLimiterAccountBackoff(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(5, 15*time.Minute, clk.now)
	ctx := context.Background()
	for i := range 20 {
		r, err := l.Reserve(ctx, addr(100+i), "t/admin")
		if err != nil {
			t.Fatalf("failure %d refused: %v", i, err)
		}
		r.Fail()
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	for i, d := range want {
		r, err := l.Reserve(ctx, addr(500+i), "t/admin")
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		r.Fail()
		_, err = l.Reserve(ctx, addr(600+i), "t/admin")
		var le *LockedOutError
		if !errors.As(err, &le) || le.RetryAfter != d {
			t.Fatalf("attempt %d: %v, want retry after %v", i, err, d)
		}
		clk.advance(d)
	}
}

// TestLimiterRetryAfterIsRemaining: the refusal carries the real remaining
// lockout, not a fixed figure.
func TestLimiterRetryAfterIsRemaining(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(5, 15*time.Minute, clk.now)
	for range 5 {
		l.Failed(addr(1), "t/admin")
	}
	for _, tc := range []struct {
		after time.Duration
		want  int
	}{{0, 900}, {5 * time.Minute, 600}, {9*time.Minute + 59*time.Second + 500*time.Millisecond, 1}} {
		clk.advance(tc.after)
		err := l.Check(addr(1), "t/admin")
		if got := RetryAfterSeconds(err); got != tc.want {
			t.Fatalf("after %v: Retry-After %d, want %d (%v)", tc.after, got, tc.want, err)
		}
	}
	clk.advance(time.Second)
	if err := l.Check(addr(1), "t/admin"); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
}

func TestAccountKeyNormalises(t *testing.T) {
	a := AccountKey("MojaCentrala", "admin")
	for _, k := range []string{AccountKey("mojacentrala", "admin"), AccountKey("MOJACENTRALA", "Admin")} {
		if k != a {
			t.Fatalf("%q != %q", k, a)
		}
	}
	if AccountKey("a", "bc") == AccountKey("ab", "c") {
		t.Fatal("keys collide")
	}
}

// TestLimiterStartsAfreshAfterLockout: when a lockout ends the budget is
// whole again (no waiting on failures that are already paid for).
func TestLimiterStartsAfreshAfterLockout(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(5, 15*time.Minute, clk.now)
	for range 5 {
		l.Failed(addr(1), "t/admin")
	}
	clk.advance(15 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for i := range 4 {
		r, err := l.Reserve(ctx, addr(1), "t/admin")
		if err != nil {
			t.Fatalf("attempt %d after the lockout: %v", i, err)
		}
		r.Fail()
	}
}

// TestLimiterForgetsIdleEntries: a spray of addresses and names does not
// grow the limiter without bound once their windows have passed.
func TestLimiterForgetsIdleEntries(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(5, time.Minute, clk.now)
	for i := range 12000 {
		l.Failed(addr(i), "t/user"+string(rune('a'+i%26))+addr(i).String())
	}
	clk.advance(2 * time.Minute)
	l.Failed(addr(1), "t/x")
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.byIP) > 10 || len(l.byPair) > 10 || len(l.byID) > 10 {
		t.Fatalf("kept %d addresses, %d pairs, %d accounts", len(l.byIP), len(l.byPair), len(l.byID))
	}
}
