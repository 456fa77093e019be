package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// ErrLockedOut is returned while a source address or an account is locked
// out after too many failed logins. It says nothing about whether the
// credentials were right. The error returned is a *LockedOutError, which
// carries the remaining time; errors.Is(err, ErrLockedOut) holds for it.
var ErrLockedOut = errors.New("auth: too many failed logins; try again later")

// LockedOutError says how long a lockout still lasts, so a client's
// Retry-After is the real remaining time and not a guess.
type LockedOutError struct {
	RetryAfter time.Duration
}

func (e *LockedOutError) Error() string {
	return fmt.Sprintf("%v (retry in %s)", ErrLockedOut, e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrLockedOut) true.
func (e *LockedOutError) Is(target error) bool { return target == ErrLockedOut }

// RetryAfterSeconds is the Retry-After header value for err: the remaining
// lockout rounded up to whole seconds, at least 1; 0 when err carries no
// lockout.
func RetryAfterSeconds(err error) int {
	var le *LockedOutError
	if !errors.As(err, &le) {
		return 0
	}
	s := int((le.RetryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}

// AccountKey is the one normalised key an account is counted under:
// tenant and name compared without case, so "admin", "admin@MojaCentrala"
// and "mojacentrala/admin" (once resolved to their tenant) share one
// budget of failures. Callers pass the resolved tenant when they know it.
func AccountKey(tenant, name string) string {
	return strings.ToLower(tenant) + "/" + strings.ToLower(name)
}

// Limiter defaults (see NewLimiter and docs/security.md).
const (
	DefaultMaxFailures = 5
	DefaultLockout     = 15 * time.Minute
	// DefaultAccountBackoffFactor: failures of one account, counted across
	// all addresses, start the per-account backoff after this many times
	// the per-pair maximum (4 × 5 = 20 by default).
	DefaultAccountBackoffFactor = 4
	// DefaultAccountBackoffBase is the first per-account delay; it doubles
	// with every further failure, up to the lockout length.
	DefaultAccountBackoffBase = time.Second
	// trustedFor is how long an address that logged in successfully stays
	// exempt from its account's backoff (not from its own pair lockout).
	trustedFor = 30 * 24 * time.Hour
	// maxTrusted bounds the trusted addresses remembered per account.
	maxTrusted = 8
	// inflightRetry is the Retry-After given when a caller gave up waiting
	// for attempts still being checked.
	inflightRetry = time.Second
)

// Limiter counts failed logins and refuses attempts before any password
// is hashed:
//
//   - per (account, address) pair: MaxFailures within Window lock that pair
//     for Window. An attacker elsewhere therefore never locks the owner out
//     of his own address.
//   - per address: MaxFailures within Window (any accounts) lock the
//     address for Window, so one address cannot spray many accounts.
//   - per account, across addresses: after AccountBackoffAfter failures
//     within Window, attempts from addresses that have not logged in to the
//     account successfully before are spaced by an exponential delay
//     (Base, 2·Base, … up to Window), so a distributed guesser gets few
//     guesses while the owner's known addresses are unaffected.
//
// Attempts are reserved (Reserve) before the password is checked: in-flight
// attempts count against the budgets, so 100 simultaneous guesses are at
// most MaxFailures. The zero value is not usable; use NewLimiter.
type Limiter struct {
	max          int
	window       time.Duration
	accountAfter int
	backoffBase  time.Duration
	now          func() time.Time

	mu     sync.Mutex
	byIP   map[netip.Addr]*strikes
	byPair map[pairKey]*strikes
	byID   map[string]*accountStrikes
	// wake is closed (and replaced) whenever a reservation ends, so
	// attempts waiting for budget held by in-flight ones look again.
	wake chan struct{}
	// lastGC: a sweep of large maps runs at most once a second.
	lastGC time.Time
}

type pairKey struct {
	account string
	ip      netip.Addr
}

type strikes struct {
	failed, inflight int
	first            time.Time
	lockedUntil      time.Time
}

type accountStrikes struct {
	failed, inflight int
	first            time.Time
	nextAllowed      time.Time
	trusted          map[netip.Addr]time.Time // addresses that logged in successfully
}

// NewLimiter builds a limiter; maxFailures <= 0 means 5, window <= 0 means
// 15 minutes (the window failures are counted in and the lockout length).
// The per-account backoff starts after 4×maxFailures failures with 1 s.
// now may be nil (time.Now).
func NewLimiter(maxFailures int, window time.Duration, now func() time.Time) *Limiter {
	if maxFailures <= 0 {
		maxFailures = DefaultMaxFailures
	}
	if window <= 0 {
		window = DefaultLockout
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{max: maxFailures, window: window, accountAfter: DefaultAccountBackoffFactor * maxFailures,
		backoffBase: DefaultAccountBackoffBase, now: now, byIP: map[netip.Addr]*strikes{}, byPair: map[pairKey]*strikes{},
		byID: map[string]*accountStrikes{}, wake: make(chan struct{})}
}

// SetAccountBackoff changes when the per-account backoff starts (failures
// across addresses within the window) and its first delay. Call it before
// the limiter is used.
func (l *Limiter) SetAccountBackoff(after int, base time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if after > 0 {
		l.accountAfter = after
	}
	if base > 0 {
		l.backoffBase = base
	}
}

// Reservation is one attempt admitted by Reserve. Exactly one of Fail,
// Succeed or Release must be called when the check is over.
type Reservation struct {
	l       *Limiter
	ip      netip.Addr
	account string
	done    bool
}

// Reserve admits one password check for account (an AccountKey) from ip,
// or says why not: a *LockedOutError while a lockout or backoff holds. When
// the budget is only taken by attempts still in flight it waits for them
// (they either fail, and lock, or succeed) until ctx ends, then returns a
// *LockedOutError with a short retry. ip may be the zero Addr when the
// caller has no address (no per-address accounting then).
func (l *Limiter) Reserve(ctx context.Context, ip netip.Addr, account string) (*Reservation, error) {
	for {
		l.mu.Lock()
		now := l.now()
		if err := l.lockedLocked(ip, account, now); err != nil {
			if !l.backoffPendingLocked(ip, account, now) {
				l.mu.Unlock()
				return nil, err
			}
			// The account's backoff was taken by attempts still in flight,
			// not by failures: wait for their verdict (a burst of right
			// logins from a new address must not lock itself out).
			wake := l.wake
			l.mu.Unlock()
			select {
			case <-wake:
				continue
			case <-ctx.Done():
				return nil, &LockedOutError{RetryAfter: inflightRetry}
			}
		}
		pair, byIP := l.pairLocked(account, ip, now), l.ipLocked(ip, now)
		full := pair.failed+pair.inflight >= l.max || (byIP != nil && byIP.failed+byIP.inflight >= l.max)
		if !full {
			pair.inflight++
			if byIP != nil {
				byIP.inflight++
			}
			acc := l.accountLocked(account, now)
			if !acc.trustedLocked(ip, now) && acc.failed+acc.inflight >= l.accountAfter {
				// The backoff slot is taken now, so concurrent attempts from
				// elsewhere cannot all slip through before the first fails.
				acc.nextAllowed = now.Add(l.backoffLocked(acc.failed + acc.inflight - l.accountAfter + 1))
			}
			acc.inflight++
			l.mu.Unlock()
			return &Reservation{l: l, ip: ip, account: account}, nil
		}
		wake := l.wake
		l.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, &LockedOutError{RetryAfter: inflightRetry}
		}
	}
}

// backoffLocked is the per-account delay after the k-th failure past the
// threshold: base·2^(k-1), capped at the window.
func (l *Limiter) backoffLocked(k int) time.Duration {
	d := l.backoffBase
	for i := 1; i < k && d < l.window; i++ {
		d *= 2
	}
	return min(d, l.window)
}

// Fail ends the attempt as a wrong password and reports whether it started
// a lockout (of the pair or the address).
func (r *Reservation) Fail() (locked bool) {
	if r == nil || r.done {
		return false
	}
	r.done = true
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	locked = l.strikeLocked(l.byPair[pairKey{r.account, r.ip}], now, true)
	if r.ip.IsValid() {
		locked = l.strikeLocked(l.byIP[r.ip], now, true) || locked
	}
	if acc := l.byID[r.account]; acc != nil {
		acc.inflight = max(acc.inflight-1, 0)
		acc.failed++
	}
	l.gcLocked(now)
	l.wakeLocked()
	return locked
}

// Succeed ends the attempt as a right password: the pair's failures are
// forgotten and ip becomes trusted for the account (exempt from its
// backoff). The address's failures for other accounts stay counted, so a
// valid account of its own does not let an address reset its spray budget.
func (r *Reservation) Succeed() { r.end(true) }

// Release ends the attempt without a verdict (the check could not be made:
// the server was busy or a directory was down); nothing is counted.
func (r *Reservation) Release() { r.end(false) }

// end returns the attempt's in-flight slot, and on success trusts ip.
func (r *Reservation) end(succeeded bool) {
	if r == nil || r.done {
		return
	}
	r.done = true
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.strikeLocked(l.byPair[pairKey{r.account, r.ip}], now, false)
	l.strikeLocked(l.byIP[r.ip], now, false)
	if acc := l.byID[r.account]; acc != nil {
		acc.inflight = max(acc.inflight-1, 0)
	}
	if succeeded {
		l.succeededLocked(r.ip, r.account, now)
	}
	l.wakeLocked()
}

// strikeLocked ends one in-flight attempt of s, counting it as a failure
// when failed, and reports a new lockout.
func (l *Limiter) strikeLocked(s *strikes, now time.Time, failed bool) bool {
	if s == nil {
		return false
	}
	s.inflight = max(s.inflight-1, 0)
	if !failed {
		return false
	}
	if s.failed == 0 {
		s.first = now
	}
	s.failed++
	if s.failed >= l.max && !now.Before(s.lockedUntil) {
		s.lockedUntil = now.Add(l.window)
		return true
	}
	return false
}

func (l *Limiter) wakeLocked() {
	close(l.wake)
	l.wake = make(chan struct{})
}

// Check reports a *LockedOutError when ip, or account from ip, may not try
// now. It reserves nothing: use it where no password is hashed (a cached
// login, an API key).
func (l *Limiter) Check(ip netip.Addr, account string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lockedLocked(ip, account, l.now())
}

// lockedLocked: the longest of the lockouts and backoffs that apply.
func (l *Limiter) lockedLocked(ip netip.Addr, account string, now time.Time) error {
	var until time.Time
	if s := l.byIP[ip]; ip.IsValid() && s != nil && s.lockedUntil.After(until) {
		until = s.lockedUntil
	}
	if account != "" {
		if s := l.byPair[pairKey{account, ip}]; s != nil && s.lockedUntil.After(until) {
			until = s.lockedUntil
		}
		if a := l.byID[account]; a != nil && !a.trustedLocked(ip, now) && a.nextAllowed.After(until) {
			until = a.nextAllowed
		}
	}
	if now.Before(until) {
		return &LockedOutError{RetryAfter: until.Sub(now)}
	}
	return nil
}

// backoffPendingLocked tells whether only the account backoff refuses
// ip, and only because of attempts in flight (its failures alone are
// below the backoff threshold): their outcome decides.
func (l *Limiter) backoffPendingLocked(ip netip.Addr, account string, now time.Time) bool {
	if account == "" {
		return false
	}
	if s := l.byIP[ip]; ip.IsValid() && s != nil && now.Before(s.lockedUntil) {
		return false
	}
	if s := l.byPair[pairKey{account, ip}]; s != nil && now.Before(s.lockedUntil) {
		return false
	}
	a := l.byID[account]
	return a != nil && a.inflight > 0 && a.failed < l.accountAfter
}

// Failed records a failed attempt made without a reservation (an API key)
// and reports whether it caused a lockout.
func (l *Limiter) Failed(ip netip.Addr, account string) (locked bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if ip.IsValid() {
		s := l.ipLocked(ip, now)
		s.inflight++
		locked = l.strikeLocked(s, now, true)
	}
	if account != "" {
		s := l.pairLocked(account, ip, now)
		s.inflight++
		locked = l.strikeLocked(s, now, true) || locked
		l.accountLocked(account, now).failed++
	}
	l.gcLocked(now)
	l.wakeLocked()
	return locked
}

// Succeeded records a successful login made without a reservation (a
// cached one): the pair's failures are forgotten and ip becomes trusted
// for the account. A success during a lockout does not end it.
func (l *Limiter) Succeeded(ip netip.Addr, account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if account != "" {
		l.succeededLocked(ip, account, l.now())
	}
}

func (l *Limiter) succeededLocked(ip netip.Addr, account string, now time.Time) {
	k := pairKey{account, ip}
	if s := l.byPair[k]; s != nil && !now.Before(s.lockedUntil) {
		if s.inflight == 0 {
			delete(l.byPair, k)
		} else {
			s.failed = 0
		}
	}
	if !ip.IsValid() {
		return
	}
	acc := l.accountLocked(account, now)
	if acc.trusted == nil {
		acc.trusted = map[netip.Addr]time.Time{}
	}
	if _, ok := acc.trusted[ip]; !ok && len(acc.trusted) >= maxTrusted {
		var oldest netip.Addr
		for a, t := range acc.trusted {
			if !oldest.IsValid() || t.Before(acc.trusted[oldest]) {
				oldest = a
			}
		}
		delete(acc.trusted, oldest)
	}
	acc.trusted[ip] = now
}

func (a *accountStrikes) trustedLocked(ip netip.Addr, now time.Time) bool {
	t, ok := a.trusted[ip]
	return ok && ip.IsValid() && now.Sub(t) < trustedFor
}

// pairLocked returns the pair's counters, starting a new window when the
// old one passed.
func (l *Limiter) pairLocked(account string, ip netip.Addr, now time.Time) *strikes {
	k := pairKey{account, ip}
	s := l.byPair[k]
	if s == nil {
		s = &strikes{}
		l.byPair[k] = s
	}
	l.expireLocked(s, now)
	return s
}

// ipLocked is the address's counters (nil for the zero address).
func (l *Limiter) ipLocked(ip netip.Addr, now time.Time) *strikes {
	if !ip.IsValid() {
		return nil
	}
	s := l.byIP[ip]
	if s == nil {
		s = &strikes{}
		l.byIP[ip] = s
	}
	l.expireLocked(s, now)
	return s
}

// expireLocked starts afresh once a lockout is over or the window of the
// failures counted has passed.
func (l *Limiter) expireLocked(s *strikes, now time.Time) {
	if now.Before(s.lockedUntil) {
		return
	}
	if !s.lockedUntil.IsZero() || (s.failed > 0 && now.Sub(s.first) > l.window) {
		s.failed, s.lockedUntil = 0, time.Time{}
	}
}

func (l *Limiter) accountLocked(account string, now time.Time) *accountStrikes {
	a := l.byID[account]
	if a == nil {
		a = &accountStrikes{first: now}
		l.byID[account] = a
	}
	if now.Sub(a.first) > l.window && !now.Before(a.nextAllowed) {
		a.failed, a.first = 0, now
	}
	return a
}

// gcLocked bounds memory under a spray of addresses and names: entries
// with nothing in flight whose window and lockout have both passed are
// dropped once a map grows (at most one sweep a second, so a spray does
// not make every failure walk the maps).
func (l *Limiter) gcLocked(now time.Time) {
	if len(l.byIP) < 10000 && len(l.byPair) < 10000 && len(l.byID) < 10000 || now.Sub(l.lastGC) < time.Second {
		return
	}
	l.lastGC = now
	idle := func(s *strikes) bool {
		return s.inflight == 0 && now.Sub(s.first) > l.window && !now.Before(s.lockedUntil)
	}
	if len(l.byIP) >= 10000 {
		for k, s := range l.byIP {
			if idle(s) {
				delete(l.byIP, k)
			}
		}
	}
	if len(l.byPair) >= 10000 {
		for k, s := range l.byPair {
			if idle(s) {
				delete(l.byPair, k)
			}
		}
	}
	if len(l.byID) >= 10000 {
		for k, a := range l.byID {
			if a.inflight == 0 && now.Sub(a.first) > l.window && !now.Before(a.nextAllowed) && len(a.trusted) == 0 {
				delete(l.byID, k)
			}
		}
	}
}
