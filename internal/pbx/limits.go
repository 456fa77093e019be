package pbx

import (
	"fmt"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/time/rate"
)

// Limits bound what one tenant, or one API principal, may do at once. A
// leaked API key or a runaway script must not be able to place hundreds of
// carrier calls; a limit hit is ErrLimit, which every dialect reports as
// its own "too many" error. Zero means the default; a negative value means
// no limit.
type Limits struct {
	// MaxCallsPerTenant bounds a tenant's live calls, however they started
	// (phones, trunks, API). New ones are refused: SIP answers 503.
	MaxCallsPerTenant int
	// MaxCallsPerOwner bounds the live calls one API principal originated.
	MaxCallsPerOwner int
	// OriginatesPerMinuteTenant and OriginatesPerMinuteOwner bound how
	// often calls are originated (a token bucket refilling per minute, with
	// that many in reserve).
	OriginatesPerMinuteTenant int
	OriginatesPerMinuteOwner  int
}

// Default limits: far above what a person clicking or a CRM dialling for
// an office needs, far below what toll fraud with a leaked key wants.
const (
	DefaultMaxCallsPerTenant         = 10000
	DefaultMaxCallsPerOwner          = 20
	DefaultOriginatesPerMinuteTenant = 600
	DefaultOriginatesPerMinuteOwner  = 60
)

func (l Limits) withDefaults() Limits {
	def := func(v, d int) int {
		if v == 0 {
			return d
		}
		return v
	}
	l.MaxCallsPerTenant = def(l.MaxCallsPerTenant, DefaultMaxCallsPerTenant)
	l.MaxCallsPerOwner = def(l.MaxCallsPerOwner, DefaultMaxCallsPerOwner)
	l.OriginatesPerMinuteTenant = def(l.OriginatesPerMinuteTenant, DefaultOriginatesPerMinuteTenant)
	l.OriginatesPerMinuteOwner = def(l.OriginatesPerMinuteOwner, DefaultOriginatesPerMinuteOwner)
	return l
}

// LimitHits counts refusals per limit, for metrics and the health check.
type LimitHits struct {
	TenantCalls, OwnerCalls, TenantOriginateRate, OwnerOriginateRate uint64
}

// rates holds the originate token buckets; buckets of owners idle for a
// while are dropped so a spray of principals cannot grow it without bound.
type rates struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	used time.Time
}

// allow takes one token from key's bucket of perMinute tokens.
func (r *rates) allow(key string, perMinute int, now time.Time) bool {
	if perMinute < 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.buckets == nil {
		r.buckets = map[string]*bucket{}
	}
	if now.Sub(r.sweep) > 10*time.Minute {
		for k, b := range r.buckets {
			if now.Sub(b.used) > 10*time.Minute {
				delete(r.buckets, k)
			}
		}
		r.sweep = now
	}
	b := r.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(float64(perMinute)/60), max(perMinute, 1))}
		r.buckets[key] = b
	}
	b.used = now
	return b.lim.AllowN(now, 1)
}

// MaxCallerIDLen bounds a caller id given through an API: it ends up in a
// SIP header and in CDRs.
const MaxCallerIDLen = 64

// ValidCallerID accepts what may stand in the user part of a SIP URI and a
// CDR's src without escaping: letters, digits and + * # . _ -, at most
// MaxCallerIDLen bytes. Anything else (CR/LF above all) could write
// headers into the INVITE a phone receives.
func ValidCallerID(s string) bool {
	if s == "" || len(s) > MaxCallerIDLen {
		return false
	}
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r == '+', r == '*', r == '#', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// ValidText accepts free text (a pause reason, a display name) that ends up
// in events, logs and queue logs: valid UTF-8, printable, no control
// characters (CR, LF, NUL, ...), at most maxLen bytes.
func ValidText(s string, maxLen int) bool {
	if len(s) > maxLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || !unicode.IsPrint(r) && r != ' ' {
			return false
		}
	}
	return true
}

// checkText is ValidText as an ErrInvalidArgument naming the field.
func checkText(field, s string, maxLen int) error {
	if !ValidText(s, maxLen) {
		return fmt.Errorf("%s must be at most %d bytes of printable text: %w", field, maxLen, ErrInvalidArgument)
	}
	return nil
}
