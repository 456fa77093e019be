package dialect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Idempotency errors; each dialect renders them in its own format.
var (
	// ErrKeyReused: the key was first used with a different request
	// (native 422).
	ErrKeyReused = errors.New("idempotency key already used with a different request")
	// ErrKeyInFlight: the first request with the key has not finished
	// within the wait, or was interrupted by a restart before it could
	// record its answer (native 409).
	ErrKeyInFlight = errors.New("a request with this idempotency key is still in progress or was interrupted")
)

const (
	// MaxIdempotencyKey bounds a key (native 400 beyond it).
	MaxIdempotencyKey = 255
	// IdempotencyTTL is how long a key keeps its answer.
	IdempotencyTTL = 24 * time.Hour
	// idemPendingStale is when a claim that never completed (the process
	// died between claiming and answering) may be taken over: an
	// originate answers within seconds, so an older pending claim is a
	// crash's leftover, not a request still running.
	idemPendingStale = time.Minute
	// idemWait bounds how long a duplicate waits for the first request.
	idemWait = 15 * time.Second
)

// IdemKey names one key: per tenant, principal and scope, so another
// principal's key is a different key and two dialects never share one.
type IdemKey struct {
	Tenant, Owner, Scope, Key string
}

// IdemRecord is what the store holds for a key.
type IdemRecord struct {
	Fingerprint string
	Done        bool
	Body        []byte
	Created     time.Time
}

// IdempotencyStore keeps keys durably (internal/store/sqlite).
type IdempotencyStore interface {
	// ClaimKey inserts a pending claim unless a live record exists: a
	// record older than ttl is replaced, and so is a pending one older
	// than stale. It returns the record now stored and whether this call
	// made the claim.
	ClaimKey(ctx context.Context, k IdemKey, fingerprint string, now time.Time, ttl, stale time.Duration) (IdemRecord, bool, error)
	// CompleteKey stores the answer of a claimed key.
	CompleteKey(ctx context.Context, k IdemKey, body []byte) error
	// ReleaseKey drops a claim whose request failed, so a retry runs anew.
	ReleaseKey(ctx context.Context, k IdemKey) error
}

// idempotency serialises requests with one key inside the process; the
// store makes the outcome durable and shared across restarts.
type idempotency struct {
	store IdempotencyStore
	mu    sync.Mutex
	busy  map[IdemKey]chan struct{}
}

// WithIdempotency makes Once durable (NewService keeps keys in memory).
func (s *Service) WithIdempotency(st IdempotencyStore) *Service {
	s.idem = &idempotency{store: st, busy: map[IdemKey]chan struct{}{}}
	return s
}

// Fingerprint hashes the parts of a request that must match when a key
// is reused.
func Fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\x00", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ValidIdempotencyKey: 1-255 printable ASCII characters.
func ValidIdempotencyKey(k string) bool {
	if k == "" || len(k) > MaxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// Once runs do at most once per key within IdempotencyTTL and returns its
// answer; replayed is true when the answer is the stored one of an
// earlier request. A request with the key already used for a different
// fingerprint gets ErrKeyReused; concurrent duplicates wait for the first
// one and share its answer. A failed do leaves no record, so the client
// may retry. The key names the principal's own key: scope tells which
// dialect's meaning it has.
func (s *Service) Once(ctx context.Context, p auth.Principal, scope, key, fingerprint string, do func(context.Context) ([]byte, error)) (body []byte, replayed bool, err error) {
	if !ValidIdempotencyKey(key) {
		return nil, false, fmt.Errorf("idempotency key must be 1-%d printable characters: %w", MaxIdempotencyKey, pbx.ErrInvalidArgument)
	}
	k := IdemKey{Tenant: p.Tenant, Owner: OwnerKey(p), Scope: scope, Key: key}
	id := s.idem
	wait, cancel := context.WithTimeout(ctx, idemWait)
	defer cancel()
	for {
		id.mu.Lock()
		ch, running := id.busy[k]
		if !running {
			ch = make(chan struct{})
			id.busy[k] = ch
		}
		id.mu.Unlock()
		if running { // a duplicate in this process: wait for the first
			select {
			case <-ch:
				continue
			case <-wait.Done():
				return nil, false, fmt.Errorf("idempotency key %q: %w", key, ErrKeyInFlight)
			}
		}
		body, replayed, err = id.run(ctx, k, fingerprint, do, time.Now())
		id.mu.Lock()
		delete(id.busy, k)
		id.mu.Unlock()
		close(ch)
		return body, replayed, err
	}
}

func (id *idempotency) run(ctx context.Context, k IdemKey, fingerprint string, do func(context.Context) ([]byte, error), now time.Time) ([]byte, bool, error) {
	rec, claimed, err := id.store.ClaimKey(ctx, k, fingerprint, now, IdempotencyTTL, idemPendingStale)
	if err != nil {
		return nil, false, fmt.Errorf("idempotency key: %w", err)
	}
	if !claimed {
		switch {
		case rec.Fingerprint != fingerprint:
			return nil, false, fmt.Errorf("idempotency key %q: %w", k.Key, ErrKeyReused)
		case !rec.Done:
			return nil, false, fmt.Errorf("idempotency key %q: %w", k.Key, ErrKeyInFlight)
		}
		return rec.Body, true, nil
	}
	body, err := do(ctx)
	// The answer is recorded even when the client went away meanwhile:
	// its retry must find it.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err != nil {
		if rerr := id.store.ReleaseKey(sctx, k); rerr != nil {
			return nil, false, errors.Join(err, fmt.Errorf("idempotency key release: %w", rerr))
		}
		return nil, false, err
	}
	if err := id.store.CompleteKey(sctx, k, body); err != nil {
		return nil, false, fmt.Errorf("idempotency key record: %w", err)
	}
	return body, false, nil
}

// memoryIdempotency keeps keys in the process: a service built without a
// database (tests, tools) still never runs a key twice while it lives.
type memoryIdempotency struct {
	mu    sync.Mutex
	keys  map[IdemKey]IdemRecord
	swept time.Time
}

// NewMemoryIdempotency is an IdempotencyStore without durability.
func NewMemoryIdempotency() IdempotencyStore {
	return &memoryIdempotency{keys: map[IdemKey]IdemRecord{}}
}

func (m *memoryIdempotency) ClaimKey(_ context.Context, k IdemKey, fingerprint string, now time.Time, ttl, stale time.Duration) (IdemRecord, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rec, ok := m.keys[k]; ok && now.Sub(rec.Created) < ttl && (rec.Done || now.Sub(rec.Created) < stale) {
		return rec, false, nil
	}
	if now.Sub(m.swept) > time.Minute { // expired keys go as new ones come
		m.swept = now
		for key, rec := range m.keys {
			if now.Sub(rec.Created) >= ttl {
				delete(m.keys, key)
			}
		}
	}
	rec := IdemRecord{Fingerprint: fingerprint, Created: now}
	m.keys[k] = rec
	return rec, true, nil
}

func (m *memoryIdempotency) CompleteKey(_ context.Context, k IdemKey, body []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rec, ok := m.keys[k]; ok {
		rec.Done, rec.Body = true, append([]byte(nil), body...)
		m.keys[k] = rec
	}
	return nil
}

func (m *memoryIdempotency) ReleaseKey(_ context.Context, k IdemKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rec, ok := m.keys[k]; ok && !rec.Done {
		delete(m.keys, k)
	}
	return nil
}
