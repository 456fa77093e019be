package auth

import (
	"errors"
	"net/netip"
	"sync"
	"time"
)

// ErrLockedOut is returned while a source address or an account is locked
// out after too many failed logins. It says nothing about whether the
// credentials were right.
var ErrLockedOut = errors.New("auth: too many failed logins; try again later")

// Limiter counts failed logins per source address and per account and
// locks either out after MaxFailures within Window, for Window. Counting
// both stops one address guessing many accounts and many addresses
// guessing one. The zero value is not usable; use NewLimiter.
type Limiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	byIP map[netip.Addr]*strikes
	byID map[string]*strikes
}

type strikes struct {
	n           int
	first       time.Time
	lockedUntil time.Time
}

// NewLimiter builds a limiter; maxFailures <= 0 means 5, window <= 0 means
// 15 minutes. now may be nil (time.Now).
func NewLimiter(maxFailures int, window time.Duration, now func() time.Time) *Limiter {
	if maxFailures <= 0 {
		maxFailures = 5
	}
	if window <= 0 {
		window = 15 * time.Minute
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{max: maxFailures, window: window, now: now, byIP: map[netip.Addr]*strikes{}, byID: map[string]*strikes{}}
}

// Check reports ErrLockedOut when ip or account (tenant/user, "" when not
// known) may not try now.
func (l *Limiter) Check(ip netip.Addr, account string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if s := l.byIP[ip]; s != nil && now.Before(s.lockedUntil) {
		return ErrLockedOut
	}
	if s := l.byID[account]; account != "" && s != nil && now.Before(s.lockedUntil) {
		return ErrLockedOut
	}
	return nil
}

// Failed records a failed attempt and reports whether it caused a lockout.
func (l *Limiter) Failed(ip netip.Addr, account string) (locked bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	locked = strike(l.byIP, ip, now, l.max, l.window)
	if account != "" {
		locked = strike(l.byID, account, now, l.max, l.window) || locked
	}
	l.gcLocked(now)
	return locked
}

// strike counts one failure for k and reports a new lockout.
func strike[K comparable](m map[K]*strikes, k K, now time.Time, max int, window time.Duration) bool {
	s := m[k]
	if s == nil || now.Sub(s.first) > window {
		s = &strikes{first: now}
		m[k] = s
	}
	s.n++
	if s.n >= max && !now.Before(s.lockedUntil) {
		s.lockedUntil = now.Add(window)
		return true
	}
	return false
}

// Succeeded clears the account's and the address's failures.
func (l *Limiter) Succeeded(ip netip.Addr, account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.byIP[ip]; s != nil && !l.now().Before(s.lockedUntil) {
		delete(l.byIP, ip)
	}
	if s := l.byID[account]; s != nil && !l.now().Before(s.lockedUntil) {
		delete(l.byID, account)
	}
}

// gcLocked bounds memory under a spray of addresses: entries whose window
// and lockout have both passed are dropped once the maps grow.
func (l *Limiter) gcLocked(now time.Time) {
	if len(l.byIP)+len(l.byID) < 10000 {
		return
	}
	for k, s := range l.byIP {
		if now.Sub(s.first) > l.window && !now.Before(s.lockedUntil) {
			delete(l.byIP, k)
		}
	}
	for k, s := range l.byID {
		if now.Sub(s.first) > l.window && !now.Before(s.lockedUntil) {
			delete(l.byID, k)
		}
	}
}
