package auth

import (
	"net/netip"
	"testing"
)

// BenchmarkArgon2idLogin is the cost of one uncached password check —
// what each distinct login (or password guess) costs the server. Run:
//
//	go test -run '^$' -bench . ./internal/auth/
func BenchmarkArgon2idLogin(b *testing.B) {
	h, _ := HashPassword("correct horse battery")
	b.ResetTimer()
	for b.Loop() {
		if !VerifyPassword(h, "correct horse battery") {
			b.Fatal("refused")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

// BenchmarkLimiterRefusal is the cost of refusing a locked-out address:
// what a password spray costs once the lockout holds.
func BenchmarkLimiterRefusal(b *testing.B) {
	l := NewLimiter(5, 0, nil)
	ip := netip.MustParseAddr("192.0.2.1")
	for range 5 {
		l.Failed(ip, "t/admin")
	}
	for b.Loop() {
		if l.Check(ip, "t/admin") == nil {
			b.Fatal("not locked")
		}
	}
}
