// Package eventbus is the typed, ordered publish/subscribe used between the
// domain core and every API adapter. Each tenant has its own monotonically
// increasing sequence number so clients can detect gaps; each subscriber has
// a bounded queue, and one that falls behind is cut off (and told why) rather
// than allowed to stall the PBX. Anything may import it; it imports nothing of
// the project.
package eventbus

import (
	"errors"
	"sync"
)

// ErrSlowConsumer is the reason given to a subscriber whose queue overflowed.
var ErrSlowConsumer = errors.New("eventbus: subscriber too slow, queue overflowed; resubscribe and resync")

// ErrClosed is the reason given when the bus or the subscription was closed.
var ErrClosed = errors.New("eventbus: closed")

// Envelope carries one event with its tenant and sequence number.
type Envelope[E any] struct {
	Seq    uint64
	Tenant string
	Event  E
}

// Bus fans events out to subscribers. The zero value is not usable; use New.
type Bus[E any] struct {
	mu     sync.Mutex
	seq    map[string]uint64
	subs   map[*Subscription[E]]struct{}
	closed bool
	// Counts for monitoring (under mu).
	published, delivered, slowDropped uint64
}

// Stats are the bus's counts for monitoring.
type Stats struct {
	Subscribers int
	// Published events; Delivered copies queued to subscribers;
	// SlowDropped subscribers cut off because their queue overflowed.
	Published, Delivered, SlowDropped uint64
}

// Stats returns the bus's counts.
func (b *Bus[E]) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Stats{Subscribers: len(b.subs), Published: b.published, Delivered: b.delivered, SlowDropped: b.slowDropped}
}

// New returns an empty bus.
func New[E any]() *Bus[E] {
	return &Bus[E]{seq: map[string]uint64{}, subs: map[*Subscription[E]]struct{}{}}
}

// Subscription receives events of one tenant ("" means every tenant).
type Subscription[E any] struct {
	bus    *Bus[E]
	tenant string
	ch     chan Envelope[E]
	done   chan struct{}
	err    error // set once, before done is closed
}

// C delivers events in publish order. It is closed when the subscription ends.
func (s *Subscription[E]) C() <-chan Envelope[E] { return s.ch }

// Done is closed when the subscription ends; Err then says why.
func (s *Subscription[E]) Done() <-chan struct{} { return s.done }

// Err is nil while the subscription is live.
func (s *Subscription[E]) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Close ends the subscription; it is safe to call more than once.
func (s *Subscription[E]) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	s.bus.dropLocked(s, ErrClosed)
}

// Subscribe registers a subscriber with a queue of buf events (minimum 1).
func (b *Bus[E]) Subscribe(tenant string, buf int) *Subscription[E] {
	if buf < 1 {
		buf = 1
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.subscribeLocked(tenant, buf)
}

func (b *Bus[E]) subscribeLocked(tenant string, buf int) *Subscription[E] {
	if buf < 1 {
		buf = 1
	}
	s := &Subscription[E]{bus: b, tenant: tenant, ch: make(chan Envelope[E], buf), done: make(chan struct{})}
	if b.closed {
		s.err = ErrClosed
		close(s.done)
		close(s.ch)
		return s
	}
	b.subs[s] = struct{}{}
	return s
}

// SubscribeAt is Subscribe that also returns the tenant's sequence number
// at the moment of subscribing, atomically: every later event reaches the
// subscription, every earlier one does not. Replaying clients use it to
// know exactly which events they must fetch from a log.
func (b *Bus[E]) SubscribeAt(tenant string, buf int) (*Subscription[E], uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.subscribeLocked(tenant, buf), b.seq[tenant]
}

// Seed raises the tenant's sequence so numbering continues after a
// restart where the durable event log left off.
func (b *Bus[E]) Seed(tenant string, seq uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if seq > b.seq[tenant] {
		b.seq[tenant] = seq
	}
}

// LastSeq is the sequence number of the tenant's latest event (0 if none).
func (b *Bus[E]) LastSeq(tenant string) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq[tenant]
}

// Publish assigns the next sequence number of tenant and delivers the event
// to every matching subscriber without blocking. It returns the sequence.
func (b *Bus[E]) Publish(tenant string, e E) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0
	}
	b.seq[tenant]++
	b.published++
	env := Envelope[E]{Seq: b.seq[tenant], Tenant: tenant, Event: e}
	for s := range b.subs {
		if s.tenant != "" && s.tenant != tenant {
			continue
		}
		select {
		case s.ch <- env:
			b.delivered++
		default:
			b.slowDropped++
			b.dropLocked(s, ErrSlowConsumer)
		}
	}
	return env.Seq
}

// Subscribers is the number of live subscriptions.
func (b *Bus[E]) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Close ends every subscription.
func (b *Bus[E]) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		b.dropLocked(s, ErrClosed)
	}
}

func (b *Bus[E]) dropLocked(s *Subscription[E], why error) {
	if _, ok := b.subs[s]; !ok {
		return
	}
	delete(b.subs, s)
	s.err = why
	close(s.done)
	close(s.ch)
}
