package auth

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestLimiterLocksAndReleases(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := NewLimiter(3, time.Minute, func() time.Time { return now })
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	for i := range 3 {
		if err := l.Check(a, "t/admin"); err != nil {
			t.Fatalf("attempt %d refused early", i)
		}
		locked := l.Failed(a, "t/admin")
		if locked != (i == 2) {
			t.Fatalf("attempt %d locked=%v", i, locked)
		}
	}
	if !errors.Is(l.Check(a, "t/other"), ErrLockedOut) {
		t.Fatal("address not locked")
	}
	// Per (account, address): failures from a do not lock the account's
	// owner out of another address (issue 9, item 5).
	if err := l.Check(b, "t/admin"); err != nil {
		t.Fatalf("account locked from another address: %v", err)
	}
	if l.Check(b, "t/other") != nil {
		t.Fatal("unrelated address and account locked")
	}
	l.Succeeded(a, "t/admin") // a success during lockout does not clear it
	if !errors.Is(l.Check(a, "t/admin"), ErrLockedOut) {
		t.Fatal("lockout cleared by a success")
	}
	now = now.Add(61 * time.Second)
	if l.Check(a, "t/admin") != nil {
		t.Fatal("not released after the window")
	}
	// Failures spread beyond the window do not add up.
	l.Failed(b, "")
	now = now.Add(2 * time.Minute)
	l.Failed(b, "")
	l.Failed(b, "")
	if l.Check(b, "") != nil {
		t.Fatal("old failure counted")
	}
}
